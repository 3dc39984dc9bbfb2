"""The session protocol (SPEC §3) as one async loop.

student speaks (sees `student_view`) → an attempt is verified → the teacher replies (sees
`teacher_view`) → the leak guard inspects the reply → the student sees the public version.
Every row is handed to the recorder the moment it exists. The loop is resumable: given the
rows stored so far it continues where they stop, so a session cut off by a crash continues
rather than restarts.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sml_cli import guard as leak_guard
from sml_cli.metrics import session_scores
from sml_cli.participants import Participant, ParticipantError, Reply
from sml_cli.problems import Problem
from sml_cli.prompts import Prompts
from sml_cli.records import (
    ASKED,
    ATTEMPT,
    DRAFT,
    FEEDBACK,
    MESSAGE,
    QUESTION,
    STUDENT_PROMPT,
    TEACHER_PROMPT,
    TEACHERLESS_CONDITIONS,
    VERDICT,
    SessionInfo,
    Turn,
    now,
)
from sml_cli.verification import Verdict, check, extract_attempt, is_question
from sml_cli.views import (
    student_prompt,
    student_view,
    teacher_grant,
    teacher_prompt,
    teacher_view,
)

BINARY_CORRECT = "Correct."
BINARY_INCORRECT = "Incorrect."
NEUTRAL = "Please continue."
MAX_REGENERATIONS = 2


# (role, visibility, kind, content) of each opening row
Opening = list[tuple[str, str, str, str]]


def opening_rows(problem: Problem, condition: str, max_turns: int,
                 prompts: Prompts) -> Opening:
    """A session's opening as (role, visibility, kind, content): the student's prompt and the
    question (public), then the teacher's prompt with what its condition grants (private)."""
    rows = [("system", "public", STUDENT_PROMPT, student_prompt(problem, max_turns, prompts)),
            ("system", "public", QUESTION, problem.public_question())]
    if condition not in TEACHERLESS_CONDITIONS:
        rows.append(("system", "teacher", TEACHER_PROMPT,
                     teacher_prompt(problem, condition, prompts)))
    return rows


def check_prompts(problem: Problem, conditions: Sequence[str], max_turns: int, guard: str,
                  prompts: Prompts) -> dict[str, Opening]:
    """Render every template that sessions under `conditions` and `guard` will render, for
    `problem`: a template that cannot render (a syntax error, an unknown variable) is then
    a usage error naming its file and line before any session starts, instead of the error
    of every session. Returns each condition's opening rows (what `--dry-run` shows)."""
    openings = {c: opening_rows(problem, c, max_turns, prompts) for c in conditions}
    teachers = [c for c in conditions if c not in TEACHERLESS_CONDITIONS]
    if any(teacher_grant(problem, c).verdicts for c in teachers):
        prompts.render("verdict.j2", summary="'42' → incorrect")
    if teachers and guard == "regenerate":
        prompts.render("teacher_reminder.j2", reason="it states the answer")
    return openings


def _verdict_for(turns: list[Turn], student_turn: Turn) -> Turn | None:
    for t in turns:
        if t.kind == VERDICT and t.turn == student_turn.turn:
            return t
    return None


def next_speaker(turns: list[Turn], max_turns: int) -> str | None:
    """Who acts next — "student", "verifier" or "teacher" — or None once the session is over,
    from the rows alone. That is what lets a cut-off session continue, and a second terminal
    know whose turn it is."""
    students = [t for t in turns if t.role == "student"]
    for t in reversed(turns):
        if t.role == "student":
            verdict = _verdict_for(turns, t)
            if t.kind == ATTEMPT and verdict is None:
                return "verifier"
            if (verdict is not None and verdict.correct) or len(students) >= max_turns:
                return None
            return "teacher"
        if t.role == "teacher" and t.is_public:
            break
    return "student" if len(students) < max_turns else None


class Recorder(Protocol):
    def add_turn(self, turn: Turn) -> None: ...
    def update_session(self, session_id: str, fields: dict[str, object]) -> None: ...


class Observer(Protocol):
    """Optional live view of a session (the TUI): rows as they are recorded, tokens as they
    stream. Observers get public and private rows alike and must filter through the views."""

    def turn_added(self, turn: Turn) -> None: ...
    def token(self, role: str, text: str) -> None: ...


@dataclass
class Session:
    info: SessionInfo
    problem: Problem
    student: Participant
    teacher: Participant | None
    prompts: Prompts
    recorder: Recorder
    turns: list[Turn] = field(default_factory=list)
    observer: Observer | None = None
    # The participant error the session ended with, if it did. When it is `.fatal` (every
    # session of the run would fail alike) the eval runner stops instead of failing the rest.
    failure: ParticipantError | None = field(default=None, init=False)

    # ----------------------------------------------------------------- bookkeeping

    def _add(self, turn: Turn) -> Turn:
        self.turns.append(turn)
        self.recorder.add_turn(turn)
        if self.observer is not None:
            self.observer.turn_added(turn)
        return turn

    def _row(self, role: str, visibility: str, kind: str, content: str, turn: int,
             reply: Reply | None = None, **extra: object) -> Turn:
        row = Turn(
            session_id=self.info.id, seq=len(self.turns), turn=turn, role=role,
            visibility=visibility, kind=kind, content=content, **extra,  # type: ignore[arg-type]
        )
        if reply is not None:
            row.model = reply.model
            row.prompt_tokens = reply.prompt_tokens
            row.completion_tokens = reply.completion_tokens
            row.cost_usd = reply.cost_usd
            row.latency_ms = reply.latency_ms
            row.reasoning = reply.reasoning
            row.truncated = reply.truncated
        return self._add(row)

    def _stream(self, role: str) -> Callable[[str], None] | None:
        if self.observer is None:
            return None
        observer = self.observer
        return lambda text: observer.token(role, text)

    @property
    def condition(self) -> str:
        return self.info.condition

    def student_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == "student"]

    # ----------------------------------------------------------------- the loop

    def _start(self) -> None:
        """Record the opening rows that are not stored yet. A session cut off while writing
        them (kill -9 between two commits) gets the missing ones, not a teacher without its
        prompt."""
        have = {t.kind for t in self.turns}
        if any(t.turn > 0 for t in self.turns):
            return  # the conversation has begun: its opening is complete
        for role, visibility, kind, content in opening_rows(
                self.problem, self.condition, self.info.max_turns, self.prompts):
            if kind not in have:
                self._row(role, visibility, kind, content, 0)

    async def run(self) -> SessionInfo:
        try:
            self._start()
            while True:
                speaker = next_speaker(self.turns, self.info.max_turns)
                if speaker is None:
                    break
                k = len(self.student_turns())
                if speaker == "student":
                    await self._student_turn(k + 1)
                elif speaker == "verifier":
                    last = self.student_turns()[-1]
                    self._record_verdict(last.turn, await self._verify(last.attempt or ""))
                else:
                    last = self.student_turns()[-1]
                    await self._teacher_turn(k, _verdict_for(self.turns, last))
            return self._finish("done")
        except asyncio.CancelledError:
            raise  # interrupted: the session stays `running` and a resume continues it
        except ParticipantError as exc:
            self.failure = exc
            return self._finish("error", str(exc))
        except Exception as exc:
            if os.environ.get("SML_DEBUG"):
                raise
            return self._finish("error", f"internal error: {type(exc).__name__}: {exc}")

    async def _student_turn(self, k: int) -> None:
        reply = await self.student.respond(student_view(self.turns), self._stream("student"))
        content = reply.content
        attempt = extract_attempt(content, code=self.problem.verifier == "python")
        kind = ATTEMPT if attempt else (ASKED if is_question(content) else MESSAGE)
        row = self._row("student", "public", kind, content, k, reply,
                        attempt=attempt.text if attempt else None)
        if attempt is not None:
            verdict = await self._verify(attempt.text)
            self._record_verdict(row.turn, verdict)

    async def _verify(self, attempt: str) -> Verdict:
        if self.problem.verifier in ("python", "math"):
            # Subprocesses and sympy would stall every other session on the event loop.
            return await asyncio.to_thread(check, self.problem, attempt)
        return check(self.problem, attempt)

    def _record_verdict(self, k: int, verdict: Verdict) -> None:
        self._row("verifier", "teacher", VERDICT, verdict.summary, k,
                  attempt=verdict.attempt, correct=verdict.correct)

    async def _teacher_turn(self, k: int, verdict: Turn | None) -> None:
        if self.teacher is None or self.condition in TEACHERLESS_CONDITIONS:
            if self.condition == "binary" and verdict is not None:
                line = BINARY_CORRECT if verdict.correct else BINARY_INCORRECT
            else:
                line = NEUTRAL
            self._row("teacher", "public", FEEDBACK, line, k)
            return
        await self._model_teacher_turn(k)

    async def _model_teacher_turn(self, k: int) -> None:
        assert self.teacher is not None
        policy = self.info.guard
        messages = teacher_view(self.turns, self.condition, self.prompts)
        # Drafts of this turn exist only when a previous run was cut off inside the guard
        # (they are written before what the student gets). Continue from them rather than
        # asking the teacher afresh, so a resumed session is the session an uncut run gives.
        drafts = [t for t in self.turns if t.kind == DRAFT and t.turn == k]
        if drafts and (policy != "regenerate" or len(drafts) > MAX_REGENERATIONS):
            last = drafts[-1]  # the draft being redacted: write the message the student gets
            leaks = leak_guard.find_leaks(last.content, self.problem)
            self._row("teacher", "public", MESSAGE, leak_guard.redact(last.content, leaks), k,
                      guard_action="redact")
            return
        if drafts:  # regenerate: the retry after the last stored draft was never answered
            regenerations = len(drafts)
            reply = await self._regenerate(messages, drafts[-1].content)
        else:
            regenerations = 0
            reply = await self.teacher.respond(messages, self._stream("teacher"))
        leaks = leak_guard.find_leaks(reply.content, self.problem)
        while leaks and policy == "regenerate" and regenerations < MAX_REGENERATIONS:
            self._row("teacher", "teacher", DRAFT, reply.content, k, reply, leak=True,
                      leak_spans=[(x.start, x.end) for x in leaks], guard_action="regenerate")
            regenerations += 1
            reply = await self._regenerate(messages, reply.content, leaks[0].reason)
            leaks = leak_guard.find_leaks(reply.content, self.problem)
        spans = [(x.start, x.end) for x in leaks]
        if not leaks:
            self._row("teacher", "public", MESSAGE, reply.content, k, reply,
                      guard_action="regenerate" if regenerations else None)
        elif policy == "flag":
            self._row("teacher", "public", MESSAGE, reply.content, k, reply, leak=True,
                      leak_spans=spans, guard_action="flag")
        else:  # redact, or regenerate that ran out of tries
            self._row("teacher", "teacher", DRAFT, reply.content, k, reply, leak=True,
                      leak_spans=spans, guard_action=policy)
            self._row("teacher", "public", MESSAGE, leak_guard.redact(reply.content, leaks), k,
                      guard_action="redact")

    async def _regenerate(self, messages: list[dict[str, str]], leaked: str,
                          reason: str | None = None) -> Reply:
        """Ask the teacher again, showing it the reply that leaked and why."""
        assert self.teacher is not None
        if reason is None:
            found = leak_guard.find_leaks(leaked, self.problem)
            reason = found[0].reason if found else "it states the answer"
        reminder = self.prompts.render("teacher_reminder.j2", reason=reason)
        retry = [*messages, {"role": "assistant", "content": leaked},
                 {"role": "user", "content": reminder}]
        return await self.teacher.respond(retry, self._stream("teacher"))

    def _finish(self, status: str, error: str | None = None) -> SessionInfo:
        scores = session_scores(self.turns)
        finished = now()
        self.recorder.update_session(self.info.id, {**scores.as_fields(), "status": status,
                                                    "error": error, "finished": finished})
        scores.apply_to(self.info)
        self.info.status, self.info.error, self.info.finished = status, error, finished
        return self.info
