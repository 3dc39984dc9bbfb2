"""Chat sessions: the logic behind `sml chat`, kept out of the Textual widgets.

A `HostSession` runs the engine in this process with any mix of participants: a person at
this terminal (`HumanParticipant`), a person at another terminal (`RemoteParticipant`, who
joined with `sml chat --join ID`), or models. A `GuestSession` is that other terminal: it
runs no engine, reads the shared database, and posts its messages to an inbox table the
host consumes. Screens talk to either through the same small interface and render only
through `views`, so each side sees exactly its own view.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import random
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sml_cli import guard as leak_guard
from sml_cli.engine import Session, check_prompts, next_speaker
from sml_cli.errors import SmlError, UsageError
from sml_cli.mapping import FieldMap
from sml_cli.models import (
    HUMAN,
    LiteLLMModel,
    MadeOnFirstCall,
    ModelSettings,
    check_openai_key,
    make_model,
    validate_endpoint_variables,
    validate_model_name,
)
from sml_cli.participants import Message, Participant, Reply, TokenCallback
from sml_cli.problems import (
    Problem,
    find_problem,
    load_problems,
    loading_notes,
    make_problem,
)
from sml_cli.prompts import Prompts
from sml_cli.records import (
    CONDITIONS,
    GUARD_POLICIES,
    TEACHERLESS_CONDITIONS,
    SessionInfo,
    Turn,
    new_session_id,
)
from sml_cli.store import Store
from sml_cli.views import TeacherPanel, student_view, teacher_panel, teacher_view

ROLES = ("student", "teacher", "watch")
POLL_S = 0.25  # how often a guest or a waiting host looks at the shared database
HEARTBEAT_S = 1.0  # how often a guest terminal says it is there
GONE_AFTER_S = 5.0  # a guest unheard of for this long has gone (killed, its terminal closed)


@dataclass
class ChatOptions:
    role: str | None = None
    student: str | None = None
    teacher: str | None = None
    problems: str = "arithmetic"
    fields: FieldMap = field(default_factory=FieldMap)
    problem_id: str | None = None
    question: str | None = None
    answer: str | None = None
    condition: str = "answer"
    max_turns: int = 6
    guard: str = "redact"
    db: str | None = None
    prompts_dir: str | None = None
    seed: int | None = None
    student_settings: ModelSettings = field(default_factory=ModelSettings)
    teacher_settings: ModelSettings = field(default_factory=ModelSettings)

    def models(self) -> tuple[str, str | None]:
        """(student, teacher) model strings for this role; `human` marks a person."""
        teacher: str | None
        if self.role == "student":
            student, teacher = HUMAN, self.teacher or "local"
        elif self.role == "teacher":
            student, teacher = self.student or "local", HUMAN
        else:
            student, teacher = self.student or "local", self.teacher or "local"
        if self.condition in TEACHERLESS_CONDITIONS:
            teacher = None
        return student, teacher


def validate(options: ChatOptions) -> None:
    if options.role not in ROLES:
        raise UsageError(f"--role {options.role!r}: choose student, teacher or watch")
    if options.condition not in CONDITIONS:
        raise UsageError(f"--condition {options.condition!r}: choose from {', '.join(CONDITIONS)}")
    if options.role == "teacher" and options.condition in TEACHERLESS_CONDITIONS:
        raise UsageError(
            f"--role teacher: the {options.condition!r} condition has no teacher; "
            "choose answer, verifier or symmetric"
        )
    if options.max_turns < 1:
        raise UsageError(f"--max-turns {options.max_turns}: must be at least 1")
    if options.guard not in GUARD_POLICIES:
        raise UsageError(f"--guard {options.guard!r}: choose from {', '.join(GUARD_POLICIES)}")
    if (options.question is None) != (options.answer is None):
        raise UsageError("--question and --answer go together: your own question needs its "
                         "answer (the teacher may be told it, and attempts are checked "
                         "against it)")
    for seat, model in (("student", options.student), ("teacher", options.teacher)):
        if options.role == seat and model is not None:
            other = "teacher" if seat == "student" else "student"
            raise UsageError(f"--{seat} {model}: with --role {seat} you are the {seat}; "
                             f"name the other side with --{other}")
    student, teacher = options.models()
    if options.role == "watch" and HUMAN in (student, teacher):
        raise UsageError("--role watch shows two models; use --role student/teacher to play")
    validate_model_name(student, "--student", allow_human=True)
    if teacher is not None:
        validate_model_name(teacher, "--teacher", allow_human=True)
    validate_endpoint_variables(student, options.student_settings)
    validate_endpoint_variables(teacher, options.teacher_settings)
    check_openai_keys(student, teacher, options)


def check_openai_keys(student: str, teacher: str | None, options: ChatOptions) -> None:
    """An `openai/…` model in either seat has a key, or an endpoint that takes none."""
    check_openai_key(student, options.student_settings, "--student")
    if teacher is not None:
        check_openai_key(teacher, options.teacher_settings, "--teacher")


def check_start_screen_prompts(options: ChatOptions) -> None:
    """The start screen lets the person pick any condition and guard, and the session opens
    only then: check every template now, before the window opens (a broken `--prompts`
    template cannot be fixed from inside it). The problem is a stand-in: it is not chosen
    yet either."""
    stand_in = Problem(id="check", question="What is 2 + 3?", answer="5", verifier="numeric",
                       source="chat")
    check_prompts(stand_in, CONDITIONS, options.max_turns, "regenerate",
                  Prompts(options.prompts_dir))


def choose_problem(options: ChatOptions) -> Problem:
    if options.question is not None:
        return make_problem(options.question, options.answer or "", source="chat",
                            flag="--question/--answer")
    problems = load_problems(options.problems, options.fields)
    if options.problem_id is not None:
        return find_problem(problems, options.problem_id)
    return random.Random(options.seed).choice(problems)


class Listener(Protocol):
    """What a screen hears from a session. All calls arrive on the app's event loop."""

    def turn_added(self, turn: Turn) -> None: ...
    def token(self, role: str, text: str) -> None: ...
    def waiting_for(self, role: str | None) -> None: ...
    def finished(self, info: SessionInfo) -> None: ...


class HumanParticipant:
    """A person at this terminal: `respond` waits until the screen calls `submit`."""

    def __init__(self, role: str, on_waiting: Callable[[str | None], None]) -> None:
        self.name = HUMAN
        self.role = role
        self._on_waiting = on_waiting
        self._pending: asyncio.Future[str] | None = None

    @property
    def waiting(self) -> bool:
        return self._pending is not None and not self._pending.done()

    async def respond(self, messages: list[Message],
                      on_token: TokenCallback | None = None) -> Reply:
        self._pending = asyncio.get_running_loop().create_future()
        self._on_waiting(self.role)
        try:
            text = await self._pending
        finally:
            self._on_waiting(None)
        return Reply(text, model=HUMAN)

    def submit(self, text: str) -> bool:
        if not self.waiting:
            return False
        assert self._pending is not None
        self._pending.set_result(text)
        return True


class RemoteParticipant:
    """A person at another terminal: their messages arrive through the `inbox` table."""

    def __init__(self, role: str, store: Store, session_id: str,
                 on_waiting: Callable[[str | None], None]) -> None:
        self.name = HUMAN
        self.role = role
        self._store = store
        self._session_id = session_id
        self._on_waiting = on_waiting

    async def respond(self, messages: list[Message],
                      on_token: TokenCallback | None = None) -> Reply:
        self._on_waiting(self.role)
        try:
            while True:
                text = self._store.take_inbox(self._session_id, self.role)
                if text is not None:
                    return Reply(text, model=HUMAN)
                await asyncio.sleep(POLL_S)
        finally:
            self._on_waiting(None)


class Gate:
    """Pause / step control for watch mode, wrapped around each participant call."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._steps = 0

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    def pause(self) -> None:
        self._open.clear()

    def resume(self) -> None:
        self._steps = 0
        self._open.set()

    def step(self) -> None:
        self._steps += 1
        self._open.set()

    async def wait(self) -> None:
        await self._open.wait()
        if self._steps:
            self._steps -= 1
            if self._steps == 0:
                self._open.clear()


def _seen(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # (retrieved, so asyncio does not log it as never retrieved)


class GatedParticipant:
    def __init__(self, inner: Participant, gate: Gate) -> None:
        self.inner, self.gate, self.name = inner, gate, inner.name

    async def respond(self, messages: list[Message],
                      on_token: TokenCallback | None = None) -> Reply:
        await self.gate.wait()
        return await self.inner.respond(messages, on_token)


# ----------------------------------------------------------------------------- sessions


class ChatSession(Protocol):
    """What a screen uses of a session, host or guest."""

    info: SessionInfo
    problem: Problem
    prompts: Prompts
    turns: list[Turn]
    db: str | None
    local_role: str  # student | teacher | watch
    remote_role: str | None  # the seat a person at another terminal takes, if any
    notes: list[str]  # about the problem's file, shown once when the session opens

    @property
    def gate(self) -> Gate | None:
        """Pause / step for the models this terminal runs (a host's)."""

    @property
    def host_left(self) -> bool:
        """(A guest's) the host's terminal quit: nothing moves until it resumes."""

    def attach(self, listener: Listener) -> None: ...
    async def run(self) -> None: ...
    def submit(self, text: str) -> bool: ...
    def close(self) -> None: ...
    def join_command(self) -> str | None: ...
    def guest_presence(self) -> str | None:
        """(A host's, with a seat for another person) "not joined", "here" or "gone"."""
    def student_messages(self) -> list[Message]: ...
    def teacher_messages(self) -> list[Message]: ...
    def panel(self) -> TeacherPanel: ...
    def leaks_in(self, text: str) -> list[leak_guard.Leak]: ...
    def next_speaker(self) -> str | None: ...


class _Views:
    """Rendering helpers shared by host and guest: every screen goes through `views`."""

    info: SessionInfo
    problem: Problem
    prompts: Prompts
    turns: list[Turn]

    def student_messages(self) -> list[Message]:
        return student_view(self.turns)

    def teacher_messages(self) -> list[Message]:
        return teacher_view(self.turns, self.info.condition, self.prompts)

    def panel(self) -> TeacherPanel:
        return teacher_panel(self.turns, self.problem, self.info.condition)

    def leaks_in(self, text: str) -> list[leak_guard.Leak]:
        return leak_guard.find_leaks(text, self.problem)

    def next_speaker(self) -> str | None:
        if self.info.status != "running":
            return None
        return next_speaker(self.turns, self.info.max_turns)


class HostSession(_Views):
    """Runs the engine here. Local people type through `submit`; remote ones via the inbox."""

    host_left = False  # (this is the host)

    def __init__(self, options: ChatOptions, listener: Listener | None = None, *,
                 resume: SessionInfo | None = None, store: Store | None = None,
                 problem: Problem | None = None) -> None:
        self.options = options
        self.listener: Listener | None = listener
        self.store = store or Store(options.db)
        with self.store.closed_on_error():
            self.prompts = Prompts(options.prompts_dir)
            self.gate = Gate()
            self.local_role = options.role or "watch"
            self.db = options.db
            self.notes: list[str] = []
            if resume is not None:
                self.info = resume
                self.problem = self.store.problem(resume.problem_key)
                check_prompts(self.problem, [resume.condition], resume.max_turns, resume.guard,
                              self.prompts)
                self.turns = self.store.turns(resume.id)
                # (its models as they were; the key may be gone from this shell since)
                check_openai_keys(resume.student_model, resume.teacher_model, options)
            else:
                self.problem = problem or choose_problem(options)
                check_prompts(self.problem, [options.condition], options.max_turns, options.guard,
                              self.prompts)
                self.notes = loading_notes([self.problem], options.fields)
                student, teacher = options.models()
                remote = [r for r, m in (("student", student), ("teacher", teacher))
                          if m == HUMAN and r != options.role]
                self.info = SessionInfo(
                    id=new_session_id(), problem_key=self.problem.key, problem_id=self.problem.id,
                    condition=options.condition, student_model=student, teacher_model=teacher,
                    max_turns=options.max_turns, guard=options.guard, origin="chat",
                    meta={"host_role": options.role, "remote_role": remote[0] if remote else None},
                )
                self.turns = []
            self.remote_role: str | None = self.info.meta.get("remote_role")
            self._humans: dict[str, HumanParticipant] = {}
            self._to_prepare: list[MadeOnFirstCall | LiteLLMModel] = []
            student_p = self._participant("student", self.info.student_model,
                                          options.student_settings)
            teacher_p = (self._participant("teacher", self.info.teacher_model,
                                           options.teacher_settings)
                         if self.info.teacher_model else None)
            # Written once everything that can refuse has had its say (a model file that is
            # not there, say): a refused chat leaves no session behind, nor changes one.
            if resume is None:
                self.store.save_problems([self.problem])
                self.store.create_session(self.info)
            else:
                if resume.status != "running":
                    self.store.update_session(resume.id, {"status": "running", "error": None})
                    resume.status = "running"
                if resume.meta.get("host_left"):
                    self._mark_host_left(False)
            self.waiting: str | None = None
            self.session = Session(self.info, self.problem, student_p, teacher_p, self.prompts,
                                   self.store, turns=self.turns, observer=self)

    def attach(self, listener: Listener) -> None:
        """Connect a screen (sessions can be created before the UI, to print their id)."""
        self.listener = listener

    # Observer / participant callbacks, forwarded to whichever screen is attached.
    def turn_added(self, turn: Turn) -> None:
        if self.listener is not None:
            self.listener.turn_added(turn)

    def token(self, role: str, text: str) -> None:
        if self.listener is not None:
            self.listener.token(role, text)

    def waiting_for(self, role: str | None) -> None:
        self.waiting = role
        if self.listener is not None:
            self.listener.waiting_for(role)

    def _participant(self, role: str, model: str | None, settings: ModelSettings) -> Participant:
        assert model is not None
        if model == HUMAN:
            if role == self.remote_role:
                return RemoteParticipant(role, self.store, self.info.id, self.waiting_for)
            human = HumanParticipant(role, self.waiting_for)
            self._humans[role] = human
            return human
        participant = make_model(model, replace(settings, role=role))
        if isinstance(participant, MadeOnFirstCall | LiteLLMModel):
            self._to_prepare.append(participant)
        return GatedParticipant(participant, self.gate)

    async def run(self) -> None:
        # Weights load and litellm imports while the person reads the problem, not after
        # their first message; a failure surfaces from that model's first call.
        warming = [asyncio.ensure_future(model.prepare()) for model in self._to_prepare]
        for task in warming:
            task.add_done_callback(_seen)
        info = await self.session.run()
        if self.listener is not None:
            self.listener.finished(info)

    def submit(self, text: str) -> bool:
        human = self._humans.get(self.local_role)
        return human.submit(text) if human is not None else False

    def _mark_host_left(self, left: bool) -> None:
        kept = {k: v for k, v in self.info.meta.items() if k != "host_left"}
        self.info.meta = {**kept, "host_left": True} if left else kept
        # (encoded as the session row was: one JSON form for meta in the database)
        self.store.update_session(self.info.id, {"meta": self.info.to_row()["meta"]})

    def guest_presence(self) -> str | None:
        if not self.remote_role:
            return None
        seen = self.store.presence(self.info.id)
        if seen is None:
            return "not joined"
        at, left = seen
        quiet = (datetime.datetime.now(datetime.UTC) - at).total_seconds()
        return "gone" if left or quiet > GONE_AFTER_S else "here"

    def join_command(self) -> str | None:
        """What the other person runs to take the free seat, if there is one."""
        if not self.remote_role:
            return None
        return sml_command("chat", "--join", self.info.id, "--role", self.remote_role,
                           db=self.db)

    def close(self) -> None:
        if self.remote_role and self.info.status == "running":
            # The other terminal waits on this one's engine: tell it why nothing comes.
            with contextlib.suppress(SmlError):
                self._mark_host_left(True)
        self.store.close()


def sml_command(*words: str, db: str | None) -> str:
    """A command line to show the user, naming the database unless it is the default one."""
    return " ".join(["sml", *map(shlex.quote, words), *(["--db", shlex.quote(db)] if db else [])])


class GuestSession(_Views):
    """The second terminal of a two-person session: reads rows, posts to the inbox."""

    def __init__(self, session_id: str, role: str, listener: Listener | None, db: str | None,
                 prompts_dir: str | None = None) -> None:
        if role and role not in ("student", "teacher"):
            raise UsageError(f"--role {role!r}: joining takes --role student or --role teacher")
        self.store = Store(db)
        with self.store.closed_on_error():
            self.db = db
            self.info = self.store.session(session_id)
            expected = self.info.meta.get("remote_role")
            if expected is None:
                raise UsageError(
                    f"--join {session_id}: that session has no seat for another person "
                    "(start one with e.g. `sml chat --role teacher --student human`)"
                )
            role = role or expected  # (without --role: the seat that is free)
            if role != expected:
                raise UsageError(f"--join {session_id}: the free seat is {expected!r}, not "
                                 f"{role!r}")
            if self.info.status != "running":
                raise UsageError(f"--join {session_id}: the session is already "
                                 f"{self.info.status}")
            self.problem = self.store.problem(self.info.problem_key)
            self.prompts = Prompts(prompts_dir)
            check_prompts(self.problem, [self.info.condition], self.info.max_turns, self.info.guard,
                          self.prompts)
            self.turns = self.store.turns(self.info.id)
            self.listener: Listener | None = listener
            self.local_role = role
            self.notes: list[str] = []
            self.remote_role: str | None = None
            self.gate = None  # (the host's models wait at the host's gate)
            self._closed = False
            # The host's terminal quit while the session runs: nothing moves until it resumes.
            self.host_left = bool(self.info.meta.get("host_left"))
            # Posted to the inbox but not yet recorded by the host: until it is, this side may
            # not send again (its rows lag the host's by up to a poll, so `next_speaker` would
            # still say "you", and a second message would be taken as the next turn).
            self._posted = False
            self._announced = False  # (told the host it is here: so it says goodbye too)

    def attach(self, listener: Listener) -> None:
        self.listener = listener

    async def run(self) -> None:
        assert self.listener is not None, "attach a listener before running"
        self.listener.waiting_for(self.next_speaker())
        beat = 0.0
        while not self._closed:
            if time.monotonic() - beat >= HEARTBEAT_S:  # (the host shows who is there)
                self.store.mark_present(self.info.id, self.local_role)
                beat, self._announced = time.monotonic(), True
            await asyncio.sleep(POLL_S)
            for turn in self.store.turns(self.info.id, since=len(self.turns)):
                self.turns.append(turn)
                if turn.role == self.local_role:
                    self._posted = False
                self.listener.turn_added(turn)
            info = self.store.session(self.info.id)
            self.host_left = bool(info.meta.get("host_left"))
            if info.status != "running":
                self.info = info
                self.listener.finished(info)
                return
            self.listener.waiting_for(None if self._posted else self.next_speaker())

    def join_command(self) -> str | None:
        return None  # (the free seat is this one's)

    def guest_presence(self) -> str | None:
        return None  # (this is the guest)

    def submit(self, text: str) -> bool:
        if self._posted or self.next_speaker() != self.local_role:
            return False
        self.store.post_inbox(self.info.id, self.local_role, text)
        self._posted = True
        if self.listener is not None:
            self.listener.waiting_for(None)
        return True

    def close(self) -> None:
        if self._announced and not self._closed and self.info.status == "running":
            with contextlib.suppress(SmlError):  # (gone all the same: by its silence)
                self.store.mark_present(self.info.id, self.local_role, left=True)
        self._closed = True
        self.store.close()


def session_summary(info: SessionInfo) -> str:
    if info.status == "error":
        return f"Session ended with an error: {info.error}"
    if info.solved:
        return (f"Solved at turn {info.solved_at_turn} · attempts {info.attempts} · "
                f"questions {info.questions} · teacher leaks {info.leaks}")
    return (f"Not solved in {info.student_turns} turns · attempts {info.attempts} · "
            f"questions {info.questions} · teacher leaks {info.leaks}")
