"""Pilot tests for `sml chat` (the Textual UI): every role, --join, the start screen, errors.

Models are replaced by scripted participants (`sml_cli.chat.make_model` is monkeypatched) and
the background litellm import is a no-op, so nothing here touches litellm or the network.
Each test drives the real app (`ChatApp`) in a headless Textual pilot against a tmp database.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from sml_cli import chat, models
from sml_cli.chat import ChatOptions, GuestSession, HostSession
from sml_cli.errors import UsageError
from sml_cli.participants import Message, ParticipantError, Reply, TokenCallback
from sml_cli.store import Store
from sml_cli.testing import ScriptedParticipant, hint_following_student, hinting_teacher
from sml_cli.tui import app as tui_app
from sml_cli.tui.app import ChatApp, exit_report, run_chat
from sml_cli.tui.modals import HelpScreen, LeakWarning
from sml_cli.tui.screens import StudentScreen, TeacherScreen, WatchScreen
from sml_cli.tui.start import StartScreen
from sml_cli.tui.widgets import Composer, Transcript
from sml_cli.views import student_view

SIZE = (110, 40)

NUM_ANSWER = "913757"
TEXT_ANSWER = "CANARY-9137-TEXT"
SOLUTION = "Multiply the boxes by the pens per box, then add the loose pens. CANARY-SOLUTION-4471"
NOTES = "Students forget the loose pens. CANARY-NOTES-8812"
PROBLEM_ROWS = [
    {"id": "num", "question": "A warehouse counts its pens: how many pens are there in all?",
     "answer": NUM_ANSWER, "solution": SOLUTION, "notes": NOTES},
    {"id": "text", "question": "What is the code word printed on the warehouse door?",
     "answer": TEXT_ANSWER, "verifier": "exact", "solution": SOLUTION, "notes": NOTES},
]
ANSWERS = {"num": NUM_ANSWER, "text": TEXT_ANSWER}
HINT = f"Think again: the result is one more than {int(NUM_ANSWER) - 1}."


def canaries_in(text: str, answer: str = NUM_ANSWER) -> list[str]:
    """The private strings (answer, solution, notes) that occur in `text`."""
    found = [c for c in {answer, NUM_ANSWER, "CANARY"} if c.lower() in text.lower()]
    if re.search(r"913[,\s]?757", text):
        found.append("913,757")
    return found


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def problems_file(tmp_path: Path) -> Path:
    path = tmp_path / "canary.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in PROBLEM_ROWS), encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "sml.db")


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Model string → participant. `make_model` hands out these instead of litellm models."""
    registry: dict[str, Any] = {}

    def make_model(model: str, settings: object) -> Any:
        if model not in registry:
            raise AssertionError(f"the test registered no participant for model {model!r}")
        return registry[model]

    monkeypatch.setattr(chat, "make_model", make_model)
    monkeypatch.setattr(models, "_import_litellm", lambda: None)
    return registry


def opened_against(monkeypatch: pytest.MonkeyPatch, fake_models: dict[str, Any],
                   problems_file: Path, db: str, role: str, opponent: Any,
                   **options: Any) -> ChatApp:
    """`sml chat --role ROLE` on the canary problem 'num', the other side played by
    `opponent` (registered as the model of the other seat)."""
    other = "teacher" if role == "student" else "student"
    fake_models[opponent.name] = opponent
    return launch(monkeypatch, ChatOptions(role=role, **{other: opponent.name},
                                           problems=str(problems_file), problem_id="num",
                                           db=db, **options))


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def launch(monkeypatch: pytest.MonkeyPatch, options: ChatOptions, **kwargs: Any) -> ChatApp:
    """What `sml chat …` builds (via `run_chat`, flags and all), without running it."""
    apps: list[ChatApp] = []
    with monkeypatch.context() as m:
        m.setattr(ChatApp, "run", lambda self, *a, **k: apps.append(self))
        m.setattr(tui_app, "need_a_terminal", lambda: None)  # (as if in a terminal)
        run_chat(options, **kwargs)
    assert len(apps) == 1
    return apps[0]


async def until(pilot: Pilot, predicate: Callable[[], object], what: str = "",
                timeout: float = 3.0) -> float:
    """Wait (keeping the app running) until `predicate()` holds; returns the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.01)  # the app runs on this loop; pilot.pause is much slower
    return time.monotonic() - start


async def enter(pilot: Pilot, text: str, selector: str = "#message") -> None:
    """Fill an input and submit it, as Enter does. (`pilot.press` waits for the whole process
    to go idle after every key: seconds per test. One test types key by key for real.)"""
    box = pilot.app.screen.query_one(selector)
    assert isinstance(box, Input | Composer) and not box.disabled, f"{selector} is disabled"
    box.value = text
    await box.action_submit()
    await asyncio.sleep(0.01)


async def send(pilot: Pilot, text: str) -> None:
    """Send a chat message and wait until the session has recorded it."""
    session = pilot.app.screen.session
    before = len(session.turns)
    await enter(pilot, text)
    await until(pilot, lambda: len(session.turns) > before, f"{text!r} to be recorded")


async def focused_message_box(pilot: Pilot, what: str = "focus on the message box"
                              ) -> Composer:
    """The session screen's message box, once it has the focus (this side's turn)."""
    box = pilot.app.screen.query_one("#message", Composer)
    await until(pilot, lambda: pilot.app.focused is box, what)
    return box


def transcript(app: ChatApp, selector: str = "#conversation") -> list[str]:
    return app.screen.query_one(selector, Transcript).texts


def status(app: ChatApp) -> str:
    return str(app.screen.query_one("#status", Static).content)


def svg_lines(svg: str) -> list[str]:
    """The text of a Textual SVG screenshot, line by line."""
    cells: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text[^>]*\bx="([\d.]+)"[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>',
                         svg, re.S):
        text = html.unescape(m.group(3)).replace("\xa0", " ")
        cells.setdefault(float(m.group(2)), []).append((float(m.group(1)), text))
    return ["".join(t for _, t in sorted(row)) for _, row in sorted(cells.items())]


def everything_on_screen(app: ChatApp) -> str:
    """Every string the current screen could show: transcripts (with live text), statics,
    titles, inputs, notifications, and the rendered screenshot itself."""
    screen = app.screen
    parts: list[str] = [str(app.title), str(app.sub_title), str(screen.title or ""),
                        str(screen.sub_title or "")]
    for t in screen.query(Transcript):
        parts += t.texts
    for widget in screen.query("*"):
        parts += [str(widget.border_title or ""), str(widget.border_subtitle or "")]
        if isinstance(widget, Static):
            parts.append(str(widget.content))
        if isinstance(widget, Input | Composer):
            parts += [widget.value, str(widget.placeholder)]
    parts += [f"{n.title} {n.message}" for n in app._notifications]
    parts += svg_lines(app.export_screenshot())
    return "\n".join(parts)


class HeldParticipant:
    """Streams its scripted reply token by token, then holds it until `release()`, so a test
    can look at every screen while the tokens (but not the finished turn) have arrived."""

    def __init__(self, script: Any, name: str) -> None:
        self.name = name
        self.scripted = ScriptedParticipant(script, name)
        self.requests = self.scripted.requests
        self.tokens: list[str] = []
        self.holding = False
        self._release = asyncio.Event()

    async def respond(self, messages: list[Message],
                      on_token: TokenCallback | None = None) -> Reply:
        def tap(piece: str) -> None:
            self.tokens.append(piece)
            if on_token is not None:
                on_token(piece)

        reply = await self.scripted.respond(messages, tap)
        self.holding = True
        try:
            await self._release.wait()
        finally:
            self._release.clear()
            self.holding = False
        return reply

    def release(self) -> None:
        self._release.set()


class BrokenModel:
    name = "broken"

    async def respond(self, messages: list[Message],
                      on_token: TokenCallback | None = None) -> Reply:
        raise ParticipantError("broken: RateLimitError: slow down (after 4 retries)")


# ----------------------------------------------------------------------------- student role


def test_student_plays_against_a_model_teacher(monkeypatch, fake_models, problems_file, db):
    teacher = ScriptedParticipant(hinting_teacher, "scripted-teacher")
    app = opened_against(monkeypatch, fake_models, problems_file, db, "student", teacher,
                         max_turns=4)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, StudentScreen)
            box = screen.query_one("#message", Composer)
            await until(pilot, lambda: app.focused is box, "focus on the message box")
            assert not box.disabled and "your turn" in status(app)
            assert transcript(app) == [PROBLEM_ROWS[0]["question"]]
            assert PROBLEM_ROWS[0]["question"][:40] in everything_on_screen(app)

            # Typed for real, key by key: a wrong attempt gets the teacher's reply.
            await pilot.press(*"Final answer: 5")
            await pilot.press("enter")
            await until(pilot, lambda: HINT in transcript(app), "the teacher's hint")
            assert transcript(app) == [PROBLEM_ROWS[0]["question"], "Final answer: 5", HINT]
            assert box.value == ""
            assert teacher.requests and NUM_ANSWER in teacher.requests[0][0]["content"]
            host = app.initial
            assert isinstance(host, HostSession)
            # Every turn is logged as it happens.
            with Store(db) as store:
                stored = store.turns(host.info.id)
                assert [t.content for t in stored] == [t.content for t in host.turns]
                assert store.session(host.info.id).status == "running"
                # The screen is the student view of the stored rows: the model's function.
                assert transcript(app) == [m["content"] for m in student_view(stored)
                                           if m["role"] != "system"]
            await until(pilot, lambda: "your turn" in status(app) and app.focused is box)

            await send(pilot, f"So it is one more. Final answer: {NUM_ANSWER}")
            await until(pilot, lambda: host.info.status != "running", "the session to end")
            assert "Solved at turn 2" in status(app)
            assert "attempts 2" in status(app) and "teacher leaks 0" in status(app)
            assert box.disabled
            assert any(n.title == "Solved" and "Solved at turn 2" in n.message
                       for n in app._notifications)
            assert len(teacher.requests) == 1  # a right answer ends the session

        with Store(db) as store:
            info = store.session(host.info.id)
            assert (info.status, info.solved, info.solved_at_turn, info.attempts) == (
                "done", True, 2, 2)
            kinds = [(t.role, t.kind) for t in store.turns(info.id)]
            assert kinds == [
                ("system", "student_prompt"), ("system", "question"),
                ("system", "teacher_prompt"), ("student", "attempt"), ("verifier", "verdict"),
                ("teacher", "message"), ("student", "attempt"), ("verifier", "verdict"),
            ]

    run(main())


# ----------------------------------------------------------------------------- canary


@pytest.mark.parametrize("problem_id", ["num", "text"])
@pytest.mark.parametrize("condition", ["answer", "verifier", "symmetric", "binary"])
def test_student_screen_never_shows_private_fields(monkeypatch, fake_models, problems_file, db,
                                                   condition, problem_id):
    answer = ANSWERS[problem_id]
    # A teacher that states the answer (twice) in every reply, streamed token by token.
    teacher = HeldParticipant(lambda messages: f"The answer is {answer}. Yes: {answer}!",
                              "telling-teacher")
    fake_models["telling-teacher"] = teacher
    options = ChatOptions(role="student", teacher="telling-teacher",
                          problems=str(problems_file), problem_id=problem_id,
                          condition=condition, max_turns=3, db=db)
    app = launch(monkeypatch, options)
    has_teacher = condition != "binary"

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            offered: list[tuple[str, str]] = []
            listen = screen.token
            screen.token = lambda role, text: (offered.append((role, text)), listen(role, text))

            def check() -> str:
                seen = everything_on_screen(app)
                assert not canaries_in(seen, answer), (condition, problem_id, seen)
                return seen

            assert PROBLEM_ROWS[0 if problem_id == "num" else 1]["question"] in check()
            for message in ("Is the answer 12?", "Final answer: 12", "I give up. Final answer: 7"):
                await until(pilot, lambda: "your turn" in status(app), "the student's turn")
                check()
                await send(pilot, message)
                if has_teacher and app.initial.info.status == "running":
                    if message.startswith("I give up"):
                        break  # the last turn: no teacher reply
                    await until(pilot, lambda: teacher.holding, "the teacher mid-reply")
                    # The tokens reached the screen's listener, and the screen dropped them.
                    assert answer in "".join(teacher.tokens)
                    assert any(role == "teacher" for role, _ in offered)
                    check()
                    teacher.release()
                    await until(pilot, lambda: "[redacted]" in "".join(transcript(app)[-1:]),
                                "the redacted reply")
            await until(pilot, lambda: app.initial.info.status != "running", "the end")
            seen = check()
            assert "Not solved in 3 turns" in seen
            if has_teacher:
                assert "The answer is [redacted]. Yes: [redacted]!" in transcript(app)
                assert app.initial.info.leaks == 2
            else:
                assert transcript(app)[-2:] == ["Incorrect.", "I give up. Final answer: 7"]
                assert "Please continue." in transcript(app)

    run(main())


# ----------------------------------------------------------------------------- teacher role


def test_teacher_panel_hint_and_solve(monkeypatch, fake_models, problems_file, db):
    student = ScriptedParticipant(hint_following_student, "scripted-student")
    app = opened_against(monkeypatch, fake_models, problems_file, db, "teacher", student)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, TeacherScreen)
            box = screen.query_one("#message", Composer)
            await until(pilot, lambda: app.focused is box, "the teacher's turn")
            panel = screen.query_one("#private", Static)
            assert str(panel.border_title) == "Private"
            text = str(panel.content)
            assert "Hidden from the student" in text
            assert f"Answer: {NUM_ANSWER}" in text and SOLUTION in text and NOTES in text
            assert "turn 1: '0' ✗ incorrect" in text  # the verifier's verdict on the attempt
            # The problem heads the teacher's conversation, as it heads the student's.
            assert transcript(app) == [PROBLEM_ROWS[0]["question"],
                                       "Is it a trick question? Final answer: 0"]
            assert "your turn" in status(app)

            await send(pilot, HINT)
            await until(pilot, lambda: app.initial.info.status != "running", "the solve")
            assert student.requests[-1][-1] == {"role": "user", "content": HINT}
            assert transcript(app)[-1] == f"Thanks! Then Final answer: {NUM_ANSWER}"
            assert "turn 2: '913757' ✓ correct" in str(panel.content)
            assert "Solved at turn 2" in status(app) and box.disabled

        assert len(student.requests) == 2
        for request in student.requests:  # the student model never saw a private field
            assert not canaries_in(json.dumps(request)), request
        with Store(db) as store:
            info = store.session(app.initial.info.id)
            assert (info.status, info.solved, info.leaks) == ("done", True, 0)

    run(main())


@pytest.mark.parametrize("width", [60, 80, 110])
def test_a_narrow_terminal_stacks_the_private_panel_above_the_dialogue(
        monkeypatch, fake_models, problems_file, db, width):
    # Side by side on 80 columns the dialogue had ~45 of them; stacked, it has them all.
    student = ScriptedParticipant(hint_following_student, "scripted-student")
    app = opened_against(monkeypatch, fake_models, problems_file, db, "teacher", student)

    async def main() -> None:
        async with app.run_test(size=(width, 30)) as pilot:
            screen = app.screen
            box = screen.query_one("#message", Composer)
            await until(pilot, lambda: app.focused is box, "the teacher's turn")
            panel = screen.query_one("#private", Static).region
            dialogue = screen.query_one("#conversation").region
            if width < 90:
                assert panel.bottom <= dialogue.y and dialogue.width >= width - 2
                assert panel.width >= width - 2 and panel.height <= 30 * 0.35 + 1
            else:
                assert panel.x >= dialogue.right and panel.y <= dialogue.y
            assert f"Answer: {NUM_ANSWER}" in str(screen.query_one("#private", Static).content)

    run(main())


def test_teacher_leak_warning(monkeypatch, fake_models, problems_file, db):
    student = ScriptedParticipant(hint_following_student, "scripted-student")
    app = opened_against(monkeypatch, fake_models, problems_file, db, "teacher", student,
                         max_turns=3)
    leaking = f"It is {NUM_ANSWER}, write that down."

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            box = await focused_message_box(pilot, "the teacher's turn")
            await enter(pilot, leaking)
            await until(pilot, lambda: isinstance(app.screen, LeakWarning), "the leak warning")
            await pilot.pause()  # laid out, so that the click lands on the button
            modal = app.screen
            shown = everything_on_screen(app)
            assert "This message states the answer" in shown
            assert "“It is [redacted], write that down.”" in shown

            await pilot.click("#edit")  # "Edit message": back, nothing sent
            await until(pilot, lambda: isinstance(app.screen, TeacherScreen))
            await asyncio.sleep(0.1)
            assert len(student.requests) == 1 and app.focused is box
            assert box.value == leaking

            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, LeakWarning) and app.screen
                        is not modal, "the leak warning again")
            await pilot.pause()
            await pilot.click("#send")  # "Send anyway"
            await until(pilot, lambda: len(student.requests) == 2, "the student's reply")
            assert student.requests[1][-1] == {"role": "user",
                                               "content": "It is [redacted], write that down."}
            await until(pilot, lambda: "your turn" in status(app))
            panel = str(app.screen.query_one("#private", Static).content)
            assert "Kept from the student by the guard" in panel and leaking in panel
            # The teacher's own transcript shows what the student received.
            assert "It is [redacted], write that down." in transcript(app)

            await send(pilot, HINT)
            await until(pilot, lambda: app.initial.info.status != "running")

        for request in student.requests:
            assert not canaries_in(json.dumps(request)), request
        with Store(db) as store:
            info = store.session(app.initial.info.id)
            assert (info.status, info.solved, info.leaks) == ("done", True, 1)
            drafts = [t for t in store.turns(info.id) if t.kind == "draft"]
            assert [(d.content, d.leak, d.visibility) for d in drafts] == [
                (leaking, True, "teacher")]

    run(main())


# ----------------------------------------------------------------------------- watch


def test_watch_streams_both_views_with_pause_and_step(monkeypatch, fake_models, problems_file,
                                                      db):
    student = ScriptedParticipant(
        ["Is it about pens?", "Final answer: 10", "Final answer: 11", "Final answer: 12",
         f"Final answer: {NUM_ANSWER}"], "scripted-student", delay=0.03)
    teacher = HeldParticipant(lambda m: f"Count again; not {NUM_ANSWER} yet? Think.",
                              "held-teacher")
    fake_models.update({"scripted-student": student, "held-teacher": teacher})
    options = ChatOptions(role="watch", student="scripted-student", teacher="held-teacher",
                          problems=str(problems_file), problem_id="num", max_turns=6, db=db)
    app = launch(monkeypatch, options)
    host = app.initial
    assert isinstance(host, HostSession)

    def calls() -> int:
        return len(student.requests) + len(teacher.requests)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            assert isinstance(app.screen, WatchScreen)
            assert {"space", "s", "ctrl+n"} <= set(app.screen.active_bindings)
            # Streaming: the teacher's tokens show in the teacher's pane only.
            await until(pilot, lambda: teacher.holding, "the teacher mid-reply")
            assert any(NUM_ANSWER in t for t in transcript(app, "#teacher-view"))
            student_pane = "\n".join(transcript(app, "#student-view"))
            assert "Is it about pens?" in student_pane and not canaries_in(student_pane)
            private = str(app.screen.query_one("#private", Static).content)
            assert f"Answer: {NUM_ANSWER}" in private
            teacher.release()
            await until(pilot, lambda: "[redacted]" in "\n".join(transcript(app, "#student-view")))

            # Pause: whatever call is in flight completes, then nothing moves.
            await pilot.press("space")
            assert host.gate.paused
            await asyncio.sleep(0.15)
            if teacher.holding:
                teacher.release()
            await asyncio.sleep(0.15)
            before = (calls(), len(host.turns))
            assert "paused" in status(app)
            assert "thinking" not in status(app) and "replies next" in status(app)  # no one is
            await asyncio.sleep(0.3)
            assert (calls(), len(host.turns)) == before

            # Step: exactly one participant call.
            await pilot.press("s")
            await until(pilot, lambda: calls() == before[0] + 1, "one step")
            if teacher.holding:
                teacher.release()
            await asyncio.sleep(0.3)
            assert calls() == before[0] + 1
            assert len(host.turns) > before[1]
            assert host.gate.paused and "paused" in status(app)

            # Resume: it runs to the end.
            await pilot.press("space")
            assert not host.gate.paused
            while host.info.status == "running":
                if teacher.holding:
                    teacher.release()
                await asyncio.sleep(0.02)
            assert "Solved at turn 5" in status(app) and "paused" not in status(app)
            # Over: nothing left to pause or step, and the footer no longer offers it.
            await pilot.pause()
            assert not {"space", "s"} & set(app.screen.active_bindings)
            assert "ctrl+n" in app.screen.active_bindings
            # Both panes, built from the views; the student's is exactly `student_view`.
            pane = transcript(app, "#student-view")
            assert pane == [m["content"] for m in student_view(host.turns)
                            if m["role"] != "system"]
            # …and what the student model was last sent is that view, minus its final reply.
            assert student.requests[-1] == student_view(host.turns)[:-1]
            assert not canaries_in("\n".join(pane[:-1]))  # only the student's own answer
            assert "Count again; not [redacted] yet? Think." in pane
            teacher_pane = transcript(app, "#teacher-view")
            assert f"Count again; not {NUM_ANSWER} yet? Think." not in teacher_pane
            assert "Count again; not [redacted] yet? Think." in teacher_pane

    run(main())


class Thinking:
    """A reasoning model: each reply comes with the thought it had before it."""

    def __init__(self, name: str, replies: list[tuple[str, str]]) -> None:
        self.name, self.replies, self.requests = name, list(replies), []

    async def respond(self, messages: list[dict[str, str]], on_token: Any = None) -> Reply:
        self.requests.append(messages)
        thought, text = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return Reply(text, reasoning=thought)


def test_watch_shows_each_side_its_own_thoughts(monkeypatch, fake_models, problems_file, db):
    """Watching two reasoning models, a pane shows what its speaker thought before each
    message, dimmed: the student's thoughts in the student's pane, the teacher's (which
    state the answer) in the teacher's only; no model is ever sent either."""
    student = Thinking("thinking-student", [
        ("STUDENT-THOUGHT pens per box times boxes", "Is it about pens?"),
        ("STUDENT-THOUGHT the hint says one more", f"Final answer: {NUM_ANSWER}")])
    teacher = Thinking("thinking-teacher", [
        (f"TEACHER-THOUGHT the answer is {NUM_ANSWER}; hint without saying it", HINT
         .replace(str(int(NUM_ANSWER) - 1), "the count you had"))])
    fake_models.update({"thinking-student": student, "thinking-teacher": teacher})
    options = ChatOptions(role="watch", student="thinking-student", teacher="thinking-teacher",
                          problems=str(problems_file), problem_id="num", max_turns=3, db=db)
    app = launch(monkeypatch, options)
    host = app.initial

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: host.info.status != "running", "the session to end")
            await pilot.pause()
            student_pane = transcript(app, "#student-view")
            teacher_pane = transcript(app, "#teacher-view")
            assert [t for t in student_pane if "STUDENT-THOUGHT" in t] == [
                "STUDENT-THOUGHT pens per box times boxes",
                "STUDENT-THOUGHT the hint says one more"]
            assert not any("TEACHER-THOUGHT" in t for t in student_pane)
            assert not canaries_in("\n".join(t for t in student_pane
                                              if "Final answer" not in t
                                              and "the hint says" not in t))
            assert [t for t in teacher_pane if "THOUGHT" in t] == [
                f"TEACHER-THOUGHT the answer is {NUM_ANSWER}; hint without saying it"]
            boxes = [b for b in app.screen.query("#student-view MessageBox")
                     if b.bubble.thought]
            assert len(boxes) == 2 and "thinking (sent to no one)" in str(boxes[0].content)

    run(main())
    sent = json.dumps(student.requests + teacher.requests)
    assert "THOUGHT" not in sent


# ----------------------------------------------------------------------------- join


def test_two_people_two_terminals(monkeypatch, capsys, fake_models, problems_file, db):
    options = ChatOptions(role="teacher", student="human", problems=str(problems_file),
                          problem_id="num", db=db)
    host_app = launch(monkeypatch, options)  # `sml chat --role teacher --student human`
    host = host_app.initial
    assert isinstance(host, HostSession) and host.remote_role == "student"
    # It prints the session id and the command for the other terminal.
    assert f"sml chat --join {host.info.id} --role student --db {db}" in capsys.readouterr().err

    async def main() -> None:
        async with host_app.run_test(size=SIZE) as hp:
            await until(hp, lambda: host.waiting == "student", "the host to wait for the guest")
            assert f"sml chat --join {host.info.id} --role student" in status(host_app)
            guest = GuestSession(host.info.id, "student", None, db)
            guest_app = ChatApp(replace(options, role="student"), session=guest)
            async with guest_app.run_test(size=SIZE) as gp:
                assert isinstance(guest_app.screen, StudentScreen)
                await focused_message_box(gp, "the guest's turn")
                # The host sees the other person arrive (its status line no longer tells
                # how to join, but who it waits for), within its 1 s refresh.
                await until(hp, lambda: "waiting for the student at the other terminal"
                            in status(host_app), "the host to see the guest")
                assert transcript(guest_app) == [PROBLEM_ROWS[0]["question"]]
                assert not canaries_in(everything_on_screen(guest_app))

                await enter(gp, "Is it 12? Final answer: 12")
                took = await until(hp, lambda: "Is it 12? Final answer: 12" in
                                   transcript(host_app), "the host to receive it")
                assert took < 1.0
                assert "'12' ✗ incorrect" in str(host_app.screen.query_one("#private",
                                                                           Static).content)
                # Only the person whose turn it is may send.
                assert guest.submit("out of turn") is False

                await until(hp, lambda: host_app.screen.my_turn, "the host teacher's turn")
                await enter(hp, HINT)
                took = await until(gp, lambda: HINT in transcript(guest_app), "the hint")
                assert took < 1.0
                assert not canaries_in(everything_on_screen(guest_app))
                assert not any("Answer:" in s for s in [everything_on_screen(guest_app)])

                await until(gp, lambda: guest_app.screen.my_turn, "the guest's turn again")
                await send(gp, f"Final answer: {NUM_ANSWER}")
                await until(gp, lambda: guest.info.status == "done", "the guest to see the end")
                await until(hp, lambda: host.info.status == "done", "the host to see the end")
                assert "Solved at turn 2" in status(guest_app)
                assert "Solved at turn 2" in status(host_app)
                assert "CANARY" not in everything_on_screen(guest_app)

    run(main())
    with Store(db) as store:
        info = store.session(host.info.id)
        assert (info.status, info.solved, info.student_model) == ("done", True, "human")
        consumed = [r["consumed"] for r in store.db["inbox"].rows]
        assert consumed == [1, 1]


class Ear:
    """A listener without a screen: records what a session tells it."""

    def __init__(self) -> None:
        self.turns: list[Any] = []
        self.waiting: str | None = None
        self.finished_info: Any = None

    def turn_added(self, turn: Any) -> None:
        self.turns.append(turn)

    def token(self, role: str, text: str) -> None:
        pass

    def waiting_for(self, role: str | None) -> None:
        self.waiting = role

    def finished(self, info: Any) -> None:
        self.finished_info = info


def test_guest_teacher_without_textual(problems_file, db):
    """`sml chat --role student --teacher human` + `sml chat --join ID --role teacher`."""
    host = HostSession(ChatOptions(role="student", teacher="human",
                                   problems=str(problems_file), problem_id="num", db=db))
    assert host.remote_role == "teacher"

    async def wait(predicate: Callable[[], object], what: str) -> None:
        for _ in range(200):
            if predicate():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}")

    async def main() -> None:
        host.attach(Ear())
        host_task = asyncio.create_task(host.run())
        await wait(lambda: host.waiting == "student", "the host student's turn")
        guest, ear = GuestSession(host.info.id, "teacher", None, db), Ear()
        guest.attach(ear)
        guest_task = asyncio.create_task(guest.run())
        assert guest.submit("too early") is False  # the student has not spoken yet
        host.submit("Final answer: 3")
        await wait(lambda: ear.waiting == "teacher", "the guest teacher's turn")
        panel = guest.panel()
        assert panel.grant.answer == NUM_ANSWER and panel.verdicts == [(1, "3", False)]
        assert guest.leaks_in(f"It is {NUM_ANSWER}.")  # what the TUI's leak warning uses
        assert guest.submit(HINT) is True
        assert guest.submit("a second message before the first is recorded") is False
        assert ear.waiting is None
        await wait(lambda: host.waiting == "student", "the hint to reach the host")
        assert host.student_messages()[-1] == {"role": "user", "content": HINT}
        host.submit(f"Final answer: {NUM_ANSWER}")
        await asyncio.wait_for(asyncio.gather(host_task, guest_task), 3)
        assert ear.finished_info.solved and ear.finished_info.status == "done"
        # The guest's rows are the host's rows (the guest got each one once, in order).
        assert [t.seq for t in guest.turns] == [t.seq for t in host.turns]
        assert [t.content for t in guest.turns] == [t.content for t in host.turns]

    run(main())
    with Store(db) as store:
        assert [r["content"] for r in store.db["inbox"].rows] == [HINT]


def test_an_embedded_teacher_loads_while_the_person_reads_the_problem(
        monkeypatch, problems_file, db):
    """Opening a session makes no model (the window would freeze for the seconds weights
    take to load); the session's start loads them in the background, so they are ready by
    the time the person's first message needs the teacher."""
    import threading

    from sml_cli import embedded

    loads: list[bool] = []

    def get_server(path: Any, settings: Any) -> Any:
        loads.append(threading.current_thread() is threading.main_thread())
        time.sleep(0.1)
        loaded = embedded._servers[path] = embedded.EmbeddedServer(
            path, "http://127.0.0.1:9/v1", 1, 512, None)
        return loaded

    monkeypatch.setattr(embedded, "_servers", {})
    monkeypatch.setattr(embedded, "resolve_gguf", lambda model: Path("/models/tiny.gguf"))
    monkeypatch.setattr(embedded, "get_server", get_server)
    host = HostSession(ChatOptions(role="student", teacher="local",
                                   problems=str(problems_file), problem_id="num", db=db))
    assert loads == []

    async def main() -> None:
        host.attach(Ear())
        task = asyncio.create_task(host.run())
        deadline = time.monotonic() + 10  # (a busy machine is slow to start threads)
        while not (host.waiting == "student" and embedded._servers):
            assert time.monotonic() < deadline, "the teacher's weights never loaded"
            await asyncio.sleep(0.01)
        assert host.waiting == "student", "the person's turn came at once"
        assert loads == [False], "the teacher's weights loaded, off the event loop"
        host.submit(f"Final answer: {NUM_ANSWER}")
        await asyncio.wait_for(task, 3)

    run(main())
    host.close()
    assert host.info.solved


def test_the_host_knows_whether_the_guest_is_there(problems_file, db):
    """Not joined yet, there (a heartbeat each second), gone (it quit, or went silent:
    killed, its terminal closed) — and there again when it rejoins."""
    from datetime import UTC, datetime, timedelta

    host = HostSession(ChatOptions(role="teacher", student="human",
                                   problems=str(problems_file), problem_id="num", db=db))
    assert host.guest_presence() == "not joined"

    async def visit() -> GuestSession:
        guest = GuestSession(host.info.id, "student", None, db)
        guest.attach(Ear())
        task = asyncio.create_task(guest.run())
        for _ in range(100):
            if host.guest_presence() == "here":
                break
            await asyncio.sleep(0.01)
        assert host.guest_presence() == "here"
        task.cancel()
        return guest

    guest = asyncio.run(visit())
    guest.close()  # it quits: it says so
    assert host.guest_presence() == "gone"
    guest = asyncio.run(visit())  # it rejoins
    with Store(db) as store:  # …and then goes silent, as a killed process does
        old = (datetime.now(UTC) - timedelta(seconds=30)).isoformat(timespec="milliseconds")
        store.db.execute("UPDATE presence SET seen = ?", [old])
        store.db.conn.commit()
    assert host.guest_presence() == "gone"
    guest.store.close()
    host.close()


def test_a_chat_imports_litellm_while_the_person_reads_the_problem(
        monkeypatch, problems_file, db):
    """A teacher called through litellm: litellm (seconds to import) is imported as the
    session opens, off the event loop, not on the person's first message; a model called
    over plain HTTP needs no litellm and does not import it."""
    import threading

    imports: list[bool] = []
    monkeypatch.setattr(models, "_litellm", None)
    monkeypatch.setattr(models, "_import_litellm", lambda: imports.append(
        threading.current_thread() is threading.main_thread()))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL", "SML_VIA_LITELLM"):
        monkeypatch.delenv(name, raising=False)

    def opened(**teacher: Any) -> list[bool]:
        imports.clear()
        host = HostSession(ChatOptions(role="student", problems=str(problems_file),
                                       problem_id="num", db=db, **teacher))
        assert imports == []

        async def main() -> None:
            host.attach(Ear())
            task = asyncio.create_task(host.run())
            deadline = time.monotonic() + 10
            while host.waiting != "student":
                assert time.monotonic() < deadline, "the person's turn never came"
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            task.cancel()

        run(main())
        host.close()
        return list(imports)

    assert opened(teacher="openai/gpt-4o-mini") == [False]
    assert opened(teacher="openai/qwen", teacher_settings=models.ModelSettings(
        api_base="http://127.0.0.1:9/v1")) == []


def test_a_guest_is_told_when_the_host_leaves_and_a_resume_brings_it_back(
        monkeypatch, problems_file, db):
    """The host's terminal runs the session: when it quits mid-session, the guest is told
    why nothing comes (and how it goes on), instead of waiting on a message that sits in
    the inbox. `--join` without `--role` takes the free seat."""
    host = HostSession(ChatOptions(role="student", teacher="human",
                                   problems=str(problems_file), problem_id="num", db=db))
    guest = GuestSession(host.info.id, "", None, db)
    assert guest.local_role == "teacher" and not guest.host_left
    guest_app = ChatApp(ChatOptions(db=db), session=guest)

    async def main() -> None:
        async with guest_app.run_test(size=SIZE) as pilot:
            assert isinstance(guest_app.screen, TeacherScreen)
            assert "waiting for the student" in status(guest_app)
            host.close()  # Ctrl+Q at the host's terminal
            await until(pilot, lambda: "has left" in status(guest_app), "the notice", 3)
            assert f"sml chat --resume {host.info.id} --db {db}" in status(guest_app)
            resumed = HostSession(ChatOptions(role="student", db=db),
                                  resume=Store(db).session(host.info.id))
            await until(pilot, lambda: "has left" not in status(guest_app), "the return", 3)
            assert "waiting for the student" in status(guest_app)
            assert not resumed.info.meta.get("host_left")
            resumed.close()

    run(main())


def test_a_guest_writing_while_the_host_is_away_is_told_where_the_message_is(
        problems_file, db):
    """While the host's terminal is away, the guest's turn keeps its number (it said
    "Turn 1/6 · your turn", then "Turn 0/6 · … has left"), and a message sent waits in the
    inbox: the guest is told so, not left with an emptied box and no word."""
    host = HostSession(ChatOptions(role="teacher", student="human",
                                   problems=str(problems_file), problem_id="num", db=db))
    guest = GuestSession(host.info.id, "student", None, db)
    guest_app = ChatApp(ChatOptions(db=db), session=guest)

    async def main() -> None:
        async with guest_app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: "Turn 1/6 · your turn" in status(guest_app), "its turn")
            host.close()
            await until(pilot, lambda: "has left" in status(guest_app), "the notice", 3)
            assert status(guest_app).startswith("Turn 1/6 ·")
            await enter(pilot, "Final answer: 3")  # (nobody records it: the host is away)
            await until(pilot, lambda: any("your message waits" in n.message
                                           for n in guest_app._notifications), "the word")
        with Store(db) as store:
            assert store.take_inbox(host.info.id, "student") == "Final answer: 3"

    run(main())


def test_a_refused_chat_leaves_no_session_behind_nor_changes_one(
        monkeypatch, problems_file, db):
    """A chat refused while it is being set up — a GGUF file that is not there, an OpenAI
    model whose key has gone from this shell by the resume — writes nothing: no orphan
    session left `running`, no stopped one marked running again."""
    with pytest.raises(UsageError, match="no such GGUF file"):
        HostSession(ChatOptions(role="student", teacher="gguf:/nowhere/model.gguf",
                                problems=str(problems_file), problem_id="num", db=db))
    with Store(db) as store:
        assert list(store.sessions()) == []
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    host = HostSession(ChatOptions(role="student", teacher="openai/gpt-4o-mini",
                                   problems=str(problems_file), problem_id="num", db=db))
    host.close()
    with Store(db) as store:
        store.update_session(host.info.id, {"status": "error", "error": "stopped"})
        stored = store.session(host.info.id)
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(UsageError, match="OPENAI_API_KEY is not set"):
        HostSession(ChatOptions(role="student", db=db), resume=stored)
    with Store(db) as store:
        assert [(s.id, s.status) for s in store.sessions()] == [(host.info.id, "error")]
        assert store.session(host.info.id).error == "stopped"


def test_join_refuses_wrong_seat_unknown_and_finished_sessions(fake_models, problems_file, db):
    fake_models["scripted-teacher"] = ScriptedParticipant(hinting_teacher, "scripted-teacher")
    remote = HostSession(ChatOptions(role="teacher", student="human",
                                     problems=str(problems_file), problem_id="num", db=db))
    with pytest.raises(UsageError, match="free seat is 'student'"):
        GuestSession(remote.info.id, "teacher", None, db)
    with pytest.raises(UsageError, match="student or --role teacher"):
        GuestSession(remote.info.id, "watch", None, db)
    with pytest.raises(UsageError, match="no session"):
        GuestSession("nosuchsession", "student", None, db)
    solo = HostSession(ChatOptions(role="student", teacher="scripted-teacher",
                                   problems=str(problems_file), problem_id="num", db=db))
    with pytest.raises(UsageError, match="no seat for another person"):
        GuestSession(solo.info.id, "teacher", None, db)
    remote.store.update_session(remote.info.id, {"status": "done"})
    with pytest.raises(UsageError, match="already done"):
        GuestSession(remote.info.id, "student", None, db)
    # The host's own status line names the command, database included.
    assert remote.join_command() == f"sml chat --join {remote.info.id} --role student --db {db}"
    # The CLI path: `sml chat --join ID --role student` fails before any UI.
    with pytest.raises(UsageError, match="already done"):
        run_chat(ChatOptions(role="student", db=db), join=remote.info.id)


def test_chat_refuses_to_run_without_a_terminal_and_writes_nothing(problems_file, db):
    """A Textual app on a pipe never returns; `sml chat` says so before any session exists
    (after what can be checked without one: a wrong flag is still named first)."""
    from typer.testing import CliRunner

    from sml_cli.cli import app

    args = ["chat", "--role", "student", "--teacher", "local", "--problems", str(problems_file),
            "--db", db]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "terminal UI" in " ".join(result.output.split())
    assert not Path(db).exists() or Store(db).db["sessions"].count == 0
    wrong = CliRunner().invoke(app, [*args, "--problem", "nope"])
    assert wrong.exit_code == 2 and "nope" in wrong.output


def test_a_model_for_the_person_s_own_seat_is_refused(problems_file, db):
    """`--role student --student local` would be ignored without a word: the person is the
    student. Said, and the flag for the other side named."""
    for role, flags in [("student", ["--student", "local"]), ("teacher", ["--teacher", "x"])]:
        options = ChatOptions(role=role, problems=str(problems_file), db=db,
                              **{flags[0][2:]: flags[1]})
        with pytest.raises(UsageError, match=f"{flags[0]} {flags[1]}: with --role {role} you "
                                             f"are the {role}"):
            chat.validate(options)


def test_a_broken_prompt_template_is_refused_before_the_window_opens(
        monkeypatch, fake_models, problems_file, db, tmp_path):
    """`--prompts DIR` with a template that cannot render: a usage error naming its file and
    line before the UI (every path: the start screen, a role, --resume, --join), and no
    session is created; a session would otherwise fail at its first turn."""
    fake_models["scripted-teacher"] = ScriptedParticipant(hinting_teacher, "scripted-teacher")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "teacher_symmetric.j2").write_text("{{ question }}\n{{ nope.x }}\n")
    opened: list[ChatApp] = []
    monkeypatch.setattr(ChatApp, "run", lambda self, *a, **k: opened.append(self))
    monkeypatch.setattr(tui_app, "need_a_terminal", lambda: None)  # (as if in a terminal)
    where = f"prompt template {bad / 'teacher_symmetric.j2'}:2: 'nope' is undefined"
    # The start screen offers every condition: all templates are checked up front.
    with pytest.raises(UsageError, match=re.escape(where)):
        run_chat(ChatOptions(db=db, prompts_dir=str(bad)))
    symmetric = ChatOptions(role="student", teacher="scripted-teacher", condition="symmetric",
                            problems=str(problems_file), problem_id="num", db=db)
    with pytest.raises(UsageError, match=re.escape(where)):
        run_chat(replace(symmetric, prompts_dir=str(bad)))
    assert not opened
    with Store(db) as store:
        assert list(store.sessions()) == []
    # A condition that does not use the broken template opens as before.
    run_chat(replace(symmetric, condition="answer", prompts_dir=str(bad)))
    assert len(opened) == 1
    # Going on with a session (either terminal) renders the templates too.
    remote = HostSession(replace(symmetric, role="teacher", student="human"))
    with pytest.raises(UsageError, match=re.escape(where)):
        run_chat(ChatOptions(db=db, prompts_dir=str(bad)), resume=remote.info.id)
    with pytest.raises(UsageError, match=re.escape(where)):
        run_chat(ChatOptions(role="student", db=db, prompts_dir=str(bad)), join=remote.info.id)
    assert len(opened) == 1


def test_a_misspelt_template_file_is_warned_about_before_the_window_opens(
        monkeypatch, capsys, db, tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "teacher_answr.j2").write_text("{{ question }}")
    launch(monkeypatch, ChatOptions(db=db, prompts_dir=str(prompts)))
    err = " ".join(capsys.readouterr().err.split())
    assert "teacher_answr.j2 is not a template sml reads (did you mean teacher_answer.j2?)" in err


@pytest.mark.parametrize("flags", [["--max-turns", "0"], ["--student-temperature", "-1"],
                                   ["--teacher-temperature", "2.1"], ["--retries", "-1"],
                                   ["--timeout", "0"]])
def test_chat_refuses_nonsense_numbers_before_the_window_opens(monkeypatch, db, flags):
    from typer.testing import CliRunner

    from sml_cli.cli import app

    opened: list[ChatApp] = []
    monkeypatch.setattr(ChatApp, "run", lambda self, *a, **k: opened.append(self))
    result = CliRunner().invoke(app, ["chat", "--db", db, *flags])
    assert result.exit_code == 2 and flags[0] in result.output, result.output
    assert not opened


def test_chat_takes_the_model_call_options_of_eval(monkeypatch, db):
    """--timeout and --retries reach both roles' model settings, as in `sml eval`."""
    from typer.testing import CliRunner

    from sml_cli import cli

    given: list[ChatOptions] = []
    monkeypatch.setattr(tui_app, "run_chat", lambda options, **_: given.append(options))
    result = CliRunner().invoke(cli.app, ["chat", "--db", db, "--timeout", "30",
                                          "--retries", "0"])
    assert result.exit_code == 0, result.output
    settings = (given[0].student_settings, given[0].teacher_settings)
    assert [(s.timeout, s.retries) for s in settings] == [(30.0, 0), (30.0, 0)]


def test_chat_resume_of_an_eval_session_says_how_an_eval_resumes(monkeypatch, db):
    """`sml eval --run-id RUN` alone is refused (a resume needs the run's options): the
    advice is the command that made the run, re-run with its id."""
    from typer.testing import CliRunner

    from sml_cli.cli import app
    from sml_cli.problems import make_problem
    from sml_cli.records import SessionInfo

    problem = make_problem("What is 2 + 3?", "5")
    with Store(db) as store:
        store.save_problems([problem])
        store.create_run("r9", "eval", {})
        store.create_session(SessionInfo(
            id="evalsess0001", problem_key=problem.key, problem_id=problem.id,
            condition="answer", student_model="local", teacher_model="local", max_turns=3,
            run_id="r9"))
    monkeypatch.setattr(ChatApp, "run", lambda self, *a, **k: None)
    result = CliRunner().invoke(app, ["chat", "--resume", "evalsess0001", "--db", db])
    assert result.exit_code == 2
    assert ("re-run the eval command that made it with --run-id r9 (same options)"
            in " ".join(result.output.split())), result.output


# ----------------------------------------------------------------------------- start screen


def test_start_screen_opens_the_chosen_session(fake_models, problems_file, db):
    student = ScriptedParticipant(hint_following_student, "scripted-student")
    fake_models["scripted-student"] = student
    app = ChatApp(ChatOptions(db=db))

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            assert isinstance(app.screen, StartScreen)
            start = app.screen
            # (Ctrl+N makes a new session: on this screen it is not offered, Ctrl+Q and F1 are)
            assert "ctrl+n" not in start.active_bindings
            assert {"ctrl+q", "f1"} <= set(start.active_bindings)
            await pilot.click("#role-teacher")
            assert start.query_one("#teacher", Input).disabled
            assert not start.query_one("#student", Input).disabled

            # A problem file that does not exist: an error on the start screen, no crash.
            start.query_one("#problems", Input).value = str(problems_file.with_name("nope.jsonl"))
            await pilot.click("#start-button")
            await until(pilot, lambda: str(start.query_one("#start-error", Static).content))
            assert app.screen is start
            assert "nope.jsonl" in str(start.query_one("#start-error", Static).content)

            # Your own question without its answer: said why it is needed (the field's
            # placeholder says so too), no session.
            await enter(pilot, "Why is the sky blue?", "#question")
            await until(pilot, lambda: "your own question needs its answer" in str(
                start.query_one("#start-error", Static).content))
            assert app.screen is start
            # (the error names this form's fields, not the command line's flags)
            shown = str(start.query_one("#start-error", Static).content)
            assert shown.startswith("Your own question and its answer go together")
            assert "--" not in shown
            assert start.query_one("#answer", Input).placeholder == \
                "needed with your own question"
            start.query_one("#question", Input).value = ""

            # A malformed file names the file and line.
            bad = problems_file.with_name("bad.jsonl")
            bad.write_text('{"question": "ok", "answer": "1"}\n{"question": \n', encoding="utf-8")
            await enter(pilot, str(bad), "#problems")  # Enter in any field starts too
            await until(pilot, lambda: "bad.jsonl:2" in str(start.query_one("#start-error",
                                                                            Static).content))
            assert app.screen is start

            # A file that needs column mappings: the error says which, as chat options.
            mapped = problems_file.with_name("mapped.jsonl")
            mapped.write_text('{"query": "2 + 2?", "target": "4"}\n', encoding="utf-8")
            await enter(pilot, str(mapped), "#problems")
            await until(pilot, lambda: "mapped.jsonl:1" in str(start.query_one("#start-error",
                                                                               Static).content))
            shown = " ".join(str(start.query_one("#start-error", Static).content).split())
            assert (f"quit with Ctrl+Q and run sml chat --problems {mapped} "
                    "--question-field query --answer-field target)") in shown

            start.query_one("#problems", Input).value = str(problems_file)
            start.query_one("#problem-id", Input).value = "nope"
            await enter(pilot, "3", "#max-turns")
            await until(pilot, lambda: "Problem id 'nope'" in str(
                start.query_one("#start-error", Static).content))

            # Each condition says what it grants; a teacherless one has no teacher to pick.
            await pilot.click("#role-watch")
            start.query_one("#condition", Select).value = "none"
            await until(pilot, lambda: start.query_one("#teacher", Input).disabled)
            assert "No teacher" in str(start.query_one("#condition-help", Static).content)
            start.query_one("#condition", Select).value = "verifier"
            await until(pilot, lambda: not start.query_one("#teacher", Input).disabled)
            assert "never the answer" in str(start.query_one("#condition-help", Static).content)
            start.query_one("#condition", Select).value = "answer"
            await pilot.click("#role-teacher")

            # Tab goes from field to field: the form itself is no stop of its own.
            start.query_one("#start-button").focus()
            await pilot.press("tab")
            assert app.focused is start.query_one("#role")

            start.query_one("#problem-id", Input).value = "num"
            start.query_one("#student", Input).value = "scripted-student"
            await enter(pilot, "3", "#max-turns")
            await until(pilot, lambda: isinstance(app.screen, TeacherScreen), "the session")
            host = app.screen.session
            assert isinstance(host, HostSession)
            assert (host.info.problem_id, host.info.max_turns, host.info.student_model,
                    host.info.teacher_model, host.info.condition) == (
                "num", 3, "scripted-student", "human", "answer")
            await until(pilot, lambda: student.requests and "your turn" in status(app))
            assert len(app.screen_stack) == 2  # the default screen and the session

    run(main())


def test_start_screen_student_role_with_own_question(fake_models, db):
    fake_models["scripted-teacher"] = ScriptedParticipant(["Close. Try again."],
                                                          "scripted-teacher")
    app = ChatApp(ChatOptions(db=db, teacher="scripted-teacher"))

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            start = app.screen
            assert isinstance(start, StartScreen)
            assert start.query_one("#student", Input).disabled  # student is the default role
            start.query_one("#question", Input).value = "What is 6 times 7?"
            await enter(pilot, "42", "#answer")
            await until(pilot, lambda: isinstance(app.screen, StudentScreen), "the session")
            await focused_message_box(pilot)
            assert transcript(app) == ["What is 6 times 7?"]
            await send(pilot, "Final answer: 42")
            await until(pilot, lambda: "Solved at turn 1" in status(app))

    run(main())


# ----------------------------------------------------------------------------- errors, quit


def test_model_error_is_a_notification_not_a_crash(monkeypatch, fake_models, problems_file, db):
    fake_models["broken"] = BrokenModel()
    options = ChatOptions(role="student", teacher="broken", problems=str(problems_file),
                          problem_id="num", db=db)
    app = launch(monkeypatch, options)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            box = await focused_message_box(pilot)
            await send(pilot, "Final answer: 3")
            await until(pilot, lambda: app.initial.info.status == "error", "the error")
            await asyncio.sleep(0.05)
            notes = list(app._notifications)
            # The student's screen names no error text (a provider error may quote the
            # teacher's request, which holds the answer), only where to read it.
            errors = [n for n in notes if n.severity == "error"]
            assert errors and all("sml sessions show" in n.message for n in errors)
            assert not any("RateLimitError" in n.message for n in errors)
            assert "Session ended with an error" in status(app)
            assert app.is_running and isinstance(app.screen, StudentScreen)
            assert box.disabled
            # The app still answers keys.
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)

    run(main())
    with Store(db) as store:
        info = store.session(app.initial.info.id)
        assert info.status == "error" and "RateLimitError" in (info.error or "")


def test_a_model_error_with_brackets_is_shown_as_written(monkeypatch, fake_models,
                                                        problems_file, db):
    """A provider's error is text: "[/INST]" in it (chat templates' tags) is shown as written
    on the teacher's screen; Textual read it as markup, and a closing tag that matches no
    opening one raised MarkupError out of the notification."""
    error = "broken: BadRequestError: prompt must end with [/INST]"

    class BracketedError(BrokenModel):
        async def respond(self, messages, on_token=None):
            raise ParticipantError(error)

    fake_models["broken"] = BracketedError()
    options = ChatOptions(role="teacher", student="broken", problems=str(problems_file),
                          problem_id="num", db=db)
    app = launch(monkeypatch, options)

    async def main() -> None:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: app.initial.info.status == "error", "the error")
            await asyncio.sleep(0.05)
            await pilot.pause()
            assert any(n.message == error for n in app._notifications)
            await until(pilot, lambda: "Model error" in " ".join(
                svg_lines(app.export_screenshot())), "the notification on screen")
            assert app.is_running and isinstance(app.screen, TeacherScreen)

    run(main())


def test_quit_mid_session_then_resume(monkeypatch, fake_models, problems_file, db):
    teacher = ScriptedParticipant(hinting_teacher, "scripted-teacher")
    app = opened_against(monkeypatch, fake_models, problems_file, db, "student", teacher)
    session_id = app.initial.info.id

    async def first() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await focused_message_box(pilot)
            await send(pilot, "Final answer: 1")
            await until(pilot, lambda: HINT in transcript(app) and app.screen.my_turn)
            await pilot.press("ctrl+q")
            await asyncio.sleep(0.05)
            assert not app.is_running

    run(first())
    with Store(db) as store:
        info = store.session(session_id)
        assert info.status == "running"
        assert [t.content for t in store.turns(session_id)][-1] == HINT

    # `sml chat --resume ID`: the role, problem and conversation come from the database.
    resumed = launch(monkeypatch, ChatOptions(db=db), resume=session_id)

    async def second() -> None:
        async with resumed.run_test(size=SIZE) as pilot:
            assert isinstance(resumed.screen, StudentScreen)
            await focused_message_box(pilot)
            assert transcript(resumed) == [PROBLEM_ROWS[0]["question"], "Final answer: 1", HINT]
            assert "Turn 2/6 · your turn" in status(resumed)
            await send(pilot, f"Final answer: {NUM_ANSWER}")
            await until(pilot, lambda: "Solved at turn 2" in status(resumed))

    run(second())
    with Store(db) as store:
        info = store.session(session_id)
        assert (info.status, info.solved, info.solved_at_turn) == ("done", True, 2)
        seqs = [t.seq for t in store.turns(session_id)]
        assert seqs == list(range(len(seqs)))  # continued, nothing duplicated
    assert len(teacher.requests) == 1


def test_messages_span_lines_and_can_be_written_ahead(monkeypatch, fake_models,
                                                     problems_file, db):
    """Code and worked steps need several lines: Ctrl+J starts one and a paste keeps its own;
    Enter sends all of it. While the teacher replies, the next message can be written; Enter
    then keeps it (and says why) until it is this side's turn."""
    teacher = HeldParticipant(hinting_teacher, "scripted-teacher")
    app = opened_against(monkeypatch, fake_models, problems_file, db, "student", teacher)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            box = await focused_message_box(pilot)
            await pilot.press("W", "o", "r", "k", ":", "ctrl+j", "2", "x", "3")
            app.post_message(events.Paste("\nthen one more\nFinal answer: 7"))  # as a terminal does
            await until(pilot, lambda: box.value.endswith("Final answer: 7"), "the paste")
            assert box.value == "Work:\n2x3\nthen one more\nFinal answer: 7"
            await pilot.press("enter")
            await until(pilot, lambda: teacher.holding, "the teacher to be replying")
            sent = [t for t in app.initial.turns if t.role == "student"]
            assert [t.content for t in sent] == ["Work:\n2x3\nthen one more\nFinal answer: 7"]
            assert sent[0].attempt == "7"  # the last line is the attempt
            assert box.value == ""

            # Not this side's turn: the box is open, Enter keeps the draft and says why.
            assert not box.disabled and not app.screen.my_turn
            assert "write ahead" in str(box.placeholder)
            box.value = f"So one more: Final answer: {NUM_ANSWER}"
            await pilot.press("enter")
            await until(pilot, lambda: any("Not your turn" in n.message
                                           for n in app._notifications), "the notice")
            assert box.value == f"So one more: Final answer: {NUM_ANSWER}"
            assert len([t for t in app.initial.turns if t.role == "student"]) == 1

            teacher.release()
            await until(pilot, lambda: HINT in transcript(app) and app.screen.my_turn)
            assert box.value == f"So one more: Final answer: {NUM_ANSWER}"  # still there
            await pilot.press("enter")
            await until(pilot, lambda: app.initial.info.status == "done", "the solve")
            assert app.initial.info.solved and box.disabled
            assert "session is over" in str(box.placeholder)

    run(main())


# ----------------------------------------------------------------------------- keys


def test_help_and_new_session_keys(monkeypatch, fake_models, problems_file, db):
    fake_models["scripted-teacher"] = ScriptedParticipant(hinting_teacher, "scripted-teacher")
    options = ChatOptions(role="student", teacher="scripted-teacher",
                          problems=str(problems_file), problem_id="num", db=db)
    app = launch(monkeypatch, options)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            box = await focused_message_box(pilot)
            await pilot.press("f1")  # from inside the focused input
            assert isinstance(app.screen, HelpScreen)
            assert "Ctrl+N" in everything_on_screen(app)
            await pilot.press("escape")
            assert isinstance(app.screen, StudentScreen) and app.focused is box

            session_screen = app.screen
            await pilot.press("ctrl+n")
            assert isinstance(app.screen, StartScreen)
            # The start screen is prefilled from the flags of the running session.
            assert app.screen.query_one("#problem-id", Input).value == "num"
            await pilot.press("escape")  # changed my mind: back to the running session
            assert app.screen is session_screen and app.focused is box

            await pilot.press("ctrl+n")
            first = app.initial.info.id
            await enter(pilot, "num", "#problem-id")  # Enter starts a new session
            await until(pilot, lambda: isinstance(app.screen, StudentScreen)
                        and app.screen is not session_screen, "the new session")
            assert app.screen.session.info.id != first
            assert len(app.screen_stack) == 2  # one session at a time
            box = await focused_message_box(pilot)

        with Store(db) as store:
            assert store.session(first).status == "running"  # left, not lost: resumable

    run(main())
    # On quit, every session opened in the app is named, with commands that find it in this
    # database; the one left running says how to go on with it.
    report = exit_report(app)
    first_id, second_id = (opened.info.id for opened in app.sessions)
    assert len(report) == 2
    assert f"Session {first_id} (running)" in report[0]
    # (the person played the student: pointed at the student's view, not the answer)
    assert f"sml sessions show {first_id} --view student --db {db}" in report[0]
    assert f"sml chat --resume {first_id} --db {db}" in report[0]
    assert f"Session {second_id} (running)" in report[1]


def test_a_thinking_model_s_thoughts_reach_no_screen(monkeypatch, fake_models, problems_file,
                                                      db):
    """A model student served by a real HTTP adapter that thinks inline: the teacher's screen
    shows what it says — streamed and recorded — never what it thought."""
    from sml_cli.models import ModelSettings, make_model
    from sml_cli.testing import StubReply, StubServer

    thought = "PRIVATE-THOUGHT: maybe guess zero"

    def thinker(request: dict[str, Any]) -> StubReply:
        said = hint_following_student(request["messages"])
        return StubReply(f"<think>{thought}</think>\n{said}")

    with StubServer(thinker) as server:
        monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
        fake_models["openai/thinker"] = make_model(
            "openai/thinker", ModelSettings(api_base=server.url, retries=0))
        options = ChatOptions(role="teacher", student="openai/thinker",
                              student_settings=ModelSettings(api_base=server.url),
                              problems=str(problems_file), problem_id="num", db=db)
        app = launch(monkeypatch, options)
        live: list[str] = []
        original = TeacherScreen.show_live
        monkeypatch.setattr(TeacherScreen, "show_live",
                            lambda self, role, text: (live.append(text),
                                                      original(self, role, text))[1])

        async def main() -> None:
            async with app.run_test(size=SIZE) as pilot:
                box = app.screen.query_one("#message", Composer)
                await until(pilot, lambda: app.focused is box, "the teacher's turn", 10)
                assert transcript(app) == [PROBLEM_ROWS[0]["question"],
                                           "Is it a trick question? Final answer: 0"]
                await send(pilot, HINT)
                await until(pilot, lambda: app.initial.info.status != "running", "the solve",
                            10)
                assert transcript(app)[-1] == f"Thanks! Then Final answer: {NUM_ANSWER}"

        run(main())
        assert live and not any("PRIVATE-THOUGHT" in t or "think>" in t for t in live)
        assert all("PRIVATE-THOUGHT" not in json.dumps(r) for r in server.requests)
    with Store(db) as store:
        turns = store.turns(app.initial.info.id)
        students = [t for t in turns if t.role == "student"]
        assert len(students) == 2 and all(thought in (t.reasoning or "") for t in students)


class _CutOffTeacher:
    """A model teacher whose replies stop at the token limit."""

    name = "cut-teacher"

    async def respond(self, messages: list[Message],
                      on_token: TokenCallback | None = None) -> Reply:
        return Reply("Count the crates, then multiply by", model=self.name, truncated=True)


def test_a_reply_cut_off_at_the_token_limit_is_pointed_out(monkeypatch, fake_models,
                                                           problems_file, db):
    fake_models["cut-teacher"] = _CutOffTeacher()
    options = ChatOptions(role="student", teacher="cut-teacher", problems=str(problems_file),
                          problem_id="num", max_turns=3, db=db)
    app = launch(monkeypatch, options)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await focused_message_box(pilot)
            await send(pilot, "Final answer: 5")
            await until(pilot, lambda: any("token limit" in n.message
                                           for n in app._notifications), "the warning")
            assert any("--teacher-max-tokens" in n.message for n in app._notifications)

    asyncio.run(main())


def test_a_passage_the_student_is_not_shown_is_noted_when_the_session_opens(
        monkeypatch, fake_models, tmp_path, db):
    path = tmp_path / "squad.jsonl"
    path.write_text(json.dumps({
        "id": "p1", "context": "The Broncos beat the Panthers 24-10 to win the final game.",
        "question": "Who won the final game?", "answer": "the Broncos"}) + "\n",
        encoding="utf-8")
    fake_models["scripted-teacher"] = ScriptedParticipant(hinting_teacher, "scripted-teacher")
    options = ChatOptions(role="student", teacher="scripted-teacher", problems=str(path),
                          max_turns=2, db=db)
    app = launch(monkeypatch, options)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: any("--question-field context,question" in n.message
                                           for n in app._notifications), "the note")
            assert "Broncos" not in " ".join(n.message for n in app._notifications)

    asyncio.run(main())


def test_a_long_thought_is_cut_with_what_is_left_said() -> None:
    from sml_cli.tui.widgets import THOUGHT_SHOWN_CHARS, Bubble, MessageBox

    box = MessageBox(Bubble("Teacher", "Try again.", "mine", "x" * (THOUGHT_SHOWN_CHARS + 500)))
    shown = str(box.content)
    assert "x" * THOUGHT_SHOWN_CHARS + "… (500 more characters: `sml sessions show`)" in shown
    assert shown.endswith("Try again.")


def test_a_new_line_typed_in_a_burst_lands_where_it_was_typed(monkeypatch, fake_models,
                                                              problems_file, db):
    """Keys that arrive together (typed fast, or pasted by a terminal without bracketed
    paste) are applied in order: Ctrl+J's new line is not left behind the text after it,
    which ran two lines together ("…+ 1Final answer: 7") and made the attempt no attempt."""
    teacher = HeldParticipant(hinting_teacher, "scripted-teacher")
    app = opened_against(monkeypatch, fake_models, problems_file, db, "student", teacher)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            box = await focused_message_box(pilot)
            keys = [*"so 6 + 1", "ctrl+j", *"Final answer: 7"]
            for key in keys:  # (all queued at once, as a terminal's burst arrives)
                char = {"ctrl+j": "\n", "space": " "}.get(key, key)
                app.post_message(events.Key(key if key != " " else "space", char))
            await until(pilot, lambda: "7" in box.value, "the burst")
            await asyncio.sleep(0.05)
            assert box.value == "so 6 + 1\nFinal answer: 7"

    run(main())


def test_an_openai_model_without_a_key_is_refused_before_the_session(monkeypatch, problems_file,
                                                                     db):
    """`--teacher openai/gpt-4o-mini` with no OPENAI_API_KEY can only fail: said before the
    window opens (and on the start screen, naming its field), as `sml eval` says it before a
    run. The session used to open, retry every call for some twenty seconds, and end in a
    "Model error" whose reason the student's screen does not show."""
    for name in ("OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL", "SML_DB"):
        monkeypatch.delenv(name, raising=False)
    options = ChatOptions(role="student", teacher="openai/gpt-4o-mini",
                          problems=str(problems_file), problem_id="num", db=db)
    with pytest.raises(UsageError, match="--teacher openai/gpt-4o-mini: OPENAI_API_KEY is not set"):
        launch(monkeypatch, options)
    assert not Path(db).exists() or Store(db).db["sessions"].count == 0
    # A key for the role, or an endpoint of one's own (called without a key), is enough.
    keyed = replace(options, teacher_settings=models.ModelSettings(api_key="sk-test"))
    chat.validate(keyed)
    local = replace(options, teacher_settings=models.ModelSettings(
        api_base="http://127.0.0.1:8000/v1"))
    chat.validate(local)

    app = ChatApp(ChatOptions(db=db, problems=str(problems_file)))

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            start = app.screen
            assert isinstance(start, StartScreen)
            await enter(pilot, "openai/gpt-4o-mini", "#teacher")
            await until(pilot, lambda: str(start.query_one("#start-error", Static).content))
            shown = str(start.query_one("#start-error", Static).content)
            assert shown.startswith("Teacher model openai/gpt-4o-mini: OPENAI_API_KEY is not set")
            assert app.screen is start

    run(main())


def test_a_guest_who_quits_is_told_how_to_rejoin(fake_models, problems_file, db):
    """The person who joined leaves a running session: the host's terminal waits for them,
    and the way back is to join again (a resume is the host's), which the exit report says."""
    host = HostSession(ChatOptions(role="student", teacher="human", problems=str(problems_file),
                                   problem_id="num", db=db))
    guest = GuestSession(host.info.id, "", None, db)
    app = ChatApp(ChatOptions(db=db))
    app.sessions.append(guest)
    try:
        [line] = exit_report(app)
    finally:
        guest.close()
        host.close()
    assert f"Session {host.info.id} (running)" in line
    assert f"to rejoin: sml chat --join {host.info.id} --role teacher --db {db}" in line
    assert "--resume" not in line
