"""One screen per mode: a person as student, a person as teacher, or watching two models.

Each screen renders through `views` only (via the session's `student_messages`,
`teacher_messages` and `panel`). The student's screen never shows teacher text before the
leak guard has passed it: teacher tokens are not streamed to it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState

from sml_cli.chat import ChatSession, session_summary, sml_command
from sml_cli.records import TEACHERLESS_CONDITIONS, SessionInfo, Turn
from sml_cli.tui.widgets import Bubble, Composer, StatusLine, Transcript
from sml_cli.views import (
    public_question,
    student_thoughts,
    student_view_sources,
    teacher_thoughts,
)


def student_bubbles(messages: list[dict[str, str]], *, me: str, other: str,
                    thoughts: list[str | None] | None = None) -> list[Bubble]:
    """The student's view as bubbles: the first user message is the problem itself.
    `thoughts`, per message: the student's own reasoning (watch mode)."""
    bubbles: list[Bubble] = []
    seen_problem = False
    for m, thought in zip(messages, thoughts or [None] * len(messages), strict=True):
        if m["role"] == "system":
            continue
        if m["role"] == "user" and not seen_problem:
            bubbles.append(Bubble("Problem", m["content"], "problem"))
            seen_problem = True
        elif m["role"] == "assistant":
            bubbles.append(Bubble(me, m["content"], "mine", thought))
        else:
            bubbles.append(Bubble(other, m["content"], "theirs"))
    return bubbles


def teacher_bubbles(messages: list[dict[str, str]], *, me: str, other: str,
                    question: str | None, thoughts: list[str | None] | None = None
                    ) -> list[Bubble]:
    """The teacher's view as bubbles, under the problem (which the teacher's messages hold
    only inside its system prompt, not shown: `question` is the public one)."""
    problem = [Bubble("Problem", question, "problem")] if question else []
    return problem + [
        Bubble(me if m["role"] == "assistant" else other, m["content"],
               "mine" if m["role"] == "assistant" else "theirs",
               thought if m["role"] == "assistant" else None)
        for m, thought in zip(messages, thoughts or [None] * len(messages), strict=True)
        if m["role"] != "system"
    ]


def panel_text(session: ChatSession) -> Text:
    """The teacher's private panel: what this condition grants, and the verdicts."""
    panel = session.panel()
    grant = panel.grant
    out = Text()
    out.append("Hidden from the student\n\n", style="bold magenta")
    if grant.answer is not None:
        out.append("Answer: ", style="bold")
        out.append(grant.answer + "\n", style="bold green")
        if grant.aliases:
            out.append("Also accepted: ", style="bold")
            out.append("; ".join(grant.aliases) + "\n", style="green")
    elif session.problem.tests and session.info.condition == "answer":
        out.append("Answer: decided by the tests\n", style="bold")
    # What changes during the session (verdicts, guarded drafts) comes before the long,
    # fixed reference text, so that a short panel (watch mode) still shows it.
    if not grant.anything:
        out.append("You have no private information in this condition: you see only the "
                   "public conversation.\n", style="italic")
    elif grant.verdicts and not panel.verdicts:
        out.append("The verifier's result of each attempt will appear here.\n", style="italic")
    if panel.verdicts:
        out.append("\nAttempts\n", style="bold")
        for turn, attempt, correct in panel.verdicts:
            mark, style = ("✓ correct", "green") if correct else ("✗ incorrect", "red")
            shown = attempt if len(attempt) < 60 else attempt[:57] + "…"
            out.append(f" turn {turn}: {shown!r} ")
            out.append(mark + "\n", style=style)
    if panel.drafts:
        out.append("\nKept from the student by the guard\n", style="bold red")
        for draft in panel.drafts:
            out.append(f" turn {draft.turn} ({draft.guard_action}): ", style="red")
            out.append(draft.content[:200] + "\n")
    if grant.solution:
        out.append("\nSolution:\n", style="bold")
        out.append(grant.solution + "\n")
    if grant.notes:
        out.append("\nNotes:\n", style="bold")
        out.append(grant.notes + "\n")
    return out


class SessionScreen(Screen[None]):
    """Shared behaviour: run the session in a worker, listen, keep the status line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "app.new_session", "New session"),
        Binding("f1", "app.help", "Help"),
        Binding("ctrl+q", "app.quit", "Quit"),
    ]
    ROLE = "watch"
    PLACEHOLDER = ""

    def __init__(self, session: ChatSession) -> None:
        super().__init__()
        self.session = session
        self.waiting: str | None = None
        self._live: dict[str, str] = {}

    # ----------------------------------------------------------------- lifecycle

    def on_mount(self) -> None:
        # Textual calls every on_mount up the class hierarchy, so subclasses use `setup`.
        self.setup()
        self.session.attach(self)
        self.refresh_view()
        self.update_status()
        self.run_worker(self.session.run(), name="session", group="session", exclusive=True,
                        exit_on_error=False)
        if self.session.remote_role:  # (whether the other person is there changes unasked)
            self.set_interval(1.0, self.show_status)
        for note in self.session.notes:
            self.notify(note, title="Note", severity="warning", timeout=15, markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notify(f"Session stopped: {event.worker.error}", severity="error", timeout=10,
                        markup=False)

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "session")
        self.session.close()

    # ----------------------------------------------------------------- listener

    def turn_added(self, turn: Turn) -> None:
        self._live.pop(turn.role, None)
        self.clear_live(turn.role)
        self.refresh_view()
        self.update_status()
        if turn.truncated and turn.is_public:
            self.notify(f"The {turn.role}'s reply stopped at its token limit (raise "
                        f"--{turn.role}-max-tokens for longer ones).", severity="warning",
                        timeout=8)

    def token(self, role: str, text: str) -> None:
        if not self.sees_tokens(role):
            return
        self._live[role] = self._live.get(role, "") + text
        self.show_live(role, self._live[role])

    def waiting_for(self, role: str | None) -> None:
        self.waiting = role
        self.update_status()

    def finished(self, info: SessionInfo) -> None:
        self.waiting = None
        self.update_status()
        if info.status == "error":
            self.notify(self.error_text(info), title="Model error", severity="error", timeout=15,
                        markup=False)
        elif info.status == "done":
            self.notify(session_summary(info), title="Solved" if info.solved else "Session over",
                        severity="information" if info.solved else "warning", timeout=10,
                        markup=False)

    # ----------------------------------------------------------------- per screen

    def setup(self) -> None: ...

    def error_text(self, info: SessionInfo) -> str:
        return info.error or "error"

    def sees_tokens(self, role: str) -> bool:
        return False

    def show_live(self, role: str, text: str) -> None: ...

    def clear_live(self, role: str) -> None: ...

    def refresh_view(self) -> None: ...

    def status_text(self) -> tuple[str, str]:
        info = self.session.info
        if info.status != "running":
            style = "bold green" if info.solved else ("bold red" if info.status == "error"
                                                       else "bold yellow")
            summary = (session_summary(info) if info.status != "error"
                       else f"Session ended with an error: {self.error_text(info)}")
            return summary + " · Ctrl+N for a new session", style
        k = sum(1 for t in self.session.turns if t.role == "student")
        if self.session.host_left:
            resume = sml_command("chat", "--resume", info.id, db=self.session.db)
            # (numbered as "your turn" was: the turn this side may still write)
            shown = k + (self.ROLE == "student" and self.session.next_speaker() == "student")
            return (f"Turn {shown}/{info.max_turns} · the other terminal has left this "
                    f"session; it goes on when they run {resume}"), "bold yellow"
        who = self.waiting
        if who is None:
            # A model (or the verifier) is working; say who, so the wait has a reason.
            nxt = self.session.next_speaker()
            if nxt == self.ROLE:  # a guest's message on its way through the database
                return f"Turn {k + (nxt == 'student')}/{info.max_turns} · sending…", "italic"
            if nxt == "student":
                return f"Turn {k + 1}/{info.max_turns} · the student is thinking…", "italic"
            if nxt == "teacher":
                return f"Turn {k}/{info.max_turns} · the teacher is thinking…", "italic"
            return f"Turn {k}/{info.max_turns}", ""
        if who == self.ROLE:
            return f"Turn {k + (who == 'student')}/{info.max_turns} · your turn", "bold"
        waiting_on = "student" if who == "student" else "teacher"
        join = self.session.join_command()
        if join is not None and self.session.remote_role == who:
            presence = self.session.guest_presence()
            if presence == "here":
                return (f"Turn {k}/{info.max_turns} · waiting for the {waiting_on} at the other "
                        "terminal"), "italic"
            if presence == "gone":
                return (f"Turn {k}/{info.max_turns} · the {waiting_on}'s terminal has left; "
                        f"they can come back with {join}"), "bold yellow"
            return (f"Turn {k}/{info.max_turns} · waiting for the {waiting_on} "
                    f"(at another terminal: {join})"), "italic"
        return f"Turn {k}/{info.max_turns} · waiting for the {waiting_on}", "italic"

    @property
    def my_turn(self) -> bool:
        return self.waiting == self.ROLE and self.session.info.status == "running"

    def show_status(self) -> None:
        text, style = self.status_text()
        for status in self.query(StatusLine):
            status.set(text, style)

    def update_status(self) -> None:
        self.show_status()
        # Open while the session runs, so the next message can be written while the other
        # side replies; Enter delivers it only on this side's turn.
        for box in self.query(Composer):
            box.disabled = self.session.info.status != "running"
            box.placeholder = ("This session is over: Ctrl+N starts a new one" if box.disabled
                               else self.PLACEHOLDER if self.my_turn
                               else "Not your turn yet: you can write ahead")
            if self.my_turn:
                box.focus()

    def send(self, text: str) -> None:
        if not text.strip():
            return
        if not self.session.submit(text):
            self.notify("Not your turn yet: your message is kept here; press Enter again "
                        "when it is.", severity="warning")
            return
        for box in self.query(Composer):
            box.value = ""
        if self.session.host_left:
            self.notify("Sent. The other terminal has left: your message waits and is taken "
                        "when the session goes on there.", severity="information")

    def _title(self, mode: str) -> str:
        # (short enough for an 80-column header, which cuts it at about 60)
        info = self.session.info
        return f"{mode} · problem {info.problem_id} · {info.condition} · session {info.id}"


class StudentScreen(SessionScreen):
    """A person plays the student. Built from `student_view` alone."""

    ROLE = "student"
    PLACEHOLDER = "Type a message ('Final answer: …' in it makes it an attempt)"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Transcript(id="conversation")
        yield StatusLine(id="status")
        yield Composer(placeholder=self.PLACEHOLDER, id="message")
        yield Footer()

    def setup(self) -> None:
        self.title = self._title("student")

    def refresh_view(self) -> None:
        other = "Feedback" if self.session.info.condition in TEACHERLESS_CONDITIONS else "Teacher"
        bubbles = student_bubbles(self.session.student_messages(),
                                  me="You", other=other)
        self.query_one("#conversation", Transcript).show(bubbles)

    def on_composer_submitted(self, event: Composer.Submitted) -> None:
        self.send(event.value)

    def error_text(self, info: SessionInfo) -> str:
        # A provider's error can quote the request it refused, and the teacher's request holds
        # the answer: the student's screen gets no error text, only where to find it.
        return f"a model call failed (details: sml sessions show {info.id})"


class TeacherScreen(SessionScreen):
    """A person plays the teacher: the conversation, and a private panel."""

    ROLE = "teacher"
    PLACEHOLDER = "Write a hint for the student"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="columns"):
            with Vertical(id="main"):
                yield Transcript(id="conversation")
                yield StatusLine(id="status")
                yield Composer(placeholder=self.PLACEHOLDER, id="message")
            yield Static(id="private", classes="private")
        yield Footer()

    def setup(self) -> None:
        self.title = self._title("teacher")
        self.query_one("#private").border_title = "Private"

    def sees_tokens(self, role: str) -> bool:
        return role == "student"

    def show_live(self, role: str, text: str) -> None:
        self.query_one("#conversation", Transcript).live("Student (typing…)", text)

    def clear_live(self, role: str) -> None:
        self.query_one("#conversation", Transcript).clear_live()

    def refresh_view(self) -> None:
        bubbles = teacher_bubbles(self.session.teacher_messages(),
                                  me="You", other="Student",
                                  question=public_question(self.session.turns))
        self.query_one("#conversation", Transcript).show(bubbles)
        self.query_one("#private", Static).update(panel_text(self.session))
        drafts = self.session.panel().drafts
        if drafts and self.waiting == "teacher" and drafts[-1].guard_action == "regenerate":
            self.notify("Your last message stated the answer and was not delivered. "
                        "Please rephrase.", severity="warning")

    def on_composer_submitted(self, event: Composer.Submitted) -> None:
        text = event.value
        if not text.strip():
            return
        if not self.my_turn:  # (before the leak check: no warning about a message not sent)
            self.send(text)
            return
        leaks = self.session.leaks_in(text)
        if not leaks:
            self.send(text)
            return
        from sml_cli.tui.modals import LeakWarning

        def decided(send_anyway: bool | None) -> None:
            if send_anyway:
                self.send(text)
            else:
                self.query_one("#message", Composer).focus()

        self.app.push_screen(LeakWarning(text, leaks, self.session.info.guard), decided)


class WatchScreen(SessionScreen):
    """Two models: the student's view and the teacher's view side by side, with pause/step."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *SessionScreen.BINDINGS,
        Binding("space", "toggle_pause", "Pause/resume"),
        Binding("s", "step", "Step"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="columns"):
            with Vertical(id="student-side"):
                yield Static(Text("Student's view", style="bold"), classes="pane-title")
                yield Transcript(id="student-view")
            with Vertical(id="teacher-side"):
                yield Static(Text("Teacher's view", style="bold"), classes="pane-title")
                yield Transcript(id="teacher-view")
                yield Static(id="private", classes="private")
        yield StatusLine(id="status")
        yield Footer()

    def setup(self) -> None:
        self.title = self._title("watch")
        self.query_one("#private").border_title = "Private"

    def sees_tokens(self, role: str) -> bool:
        return True

    def show_live(self, role: str, text: str) -> None:
        # Teacher text streams only into the teacher's pane: the student's pane shows it once
        # the guard has passed it.
        target = "#student-view" if role == "student" else "#teacher-view"
        self.query_one(target, Transcript).live(f"{role.capitalize()} (typing…)", text)

    def clear_live(self, role: str) -> None:
        target = "#student-view" if role == "student" else "#teacher-view"
        self.query_one(target, Transcript).clear_live()

    def refresh_view(self) -> None:
        # Watching two models, each pane also shows what its speaker thought before a
        # message (a reasoning model's thoughts, sent to no one), and only its own.
        s = self.session
        other = "Feedback" if s.info.condition in TEACHERLESS_CONDITIONS else "Teacher"
        sources = student_view_sources(s.turns)
        messages = [m for m, _ in sources]
        student = student_bubbles(messages, me="Student", other=other,
                                  thoughts=student_thoughts(messages, [r for _, r in sources]))
        self.query_one("#student-view", Transcript).show(student)
        if s.info.condition in TEACHERLESS_CONDITIONS:
            teacher = student
        else:
            messages = s.teacher_messages()
            teacher = teacher_bubbles(messages, me="Teacher", other="Student",
                                      question=public_question(s.turns),
                                      thoughts=teacher_thoughts(s.turns, messages))
        self.query_one("#teacher-view", Transcript).show(teacher)
        self.query_one("#private", Static).update(panel_text(s))

    def status_text(self) -> tuple[str, str]:
        text, style = super().status_text()
        gate = self.session.gate
        if gate is not None and gate.paused and self.session.info.status == "running":
            # (paused, nobody is thinking: the next call waits at the gate)
            text = text.replace(" is thinking…", " replies next")
            return text + " · paused (Space resumes, S steps)", "bold yellow"
        return text, style

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_pause", "step"):  # (nothing left to pause once it is over)
            return self.session.info.status == "running"
        return True

    def finished(self, info: SessionInfo) -> None:
        super().finished(info)
        self.refresh_bindings()

    def action_toggle_pause(self) -> None:
        gate = self.session.gate
        if gate is not None:
            gate.resume() if gate.paused else gate.pause()
        self.update_status()

    def action_step(self) -> None:
        if self.session.gate is not None:
            self.session.gate.step()
        self.update_status()
