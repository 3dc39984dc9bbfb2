"""The records a session is made of: turns (each with a visibility) and session metadata.

Everything downstream — the student's and teacher's views, scores, exports, the TUI — is
computed from these rows, so a session run live, replayed from the database, or imported
from elsewhere is handled by one code path.
"""

from __future__ import annotations

import datetime
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "student", "teacher", "verifier"]
Visibility = Literal["public", "teacher"]
CONDITIONS = ("answer", "verifier", "symmetric", "binary", "none")
TEACHERLESS_CONDITIONS = ("binary", "none")
GUARD_POLICIES = ("flag", "redact", "regenerate")
HUMAN = "human"  # the model string of a person's turns (and of the seat a person takes)

# Kinds of rows. Public: what both sides see. Teacher: the private channel.
STUDENT_PROMPT = "student_prompt"  # system, public: the student's system prompt
QUESTION = "question"  # system, public: the task as the student receives it
TEACHER_PROMPT = "teacher_prompt"  # system, teacher: the teacher's prompt with its private info
ATTEMPT, ASKED, MESSAGE = "attempt", "question_asked", "message"  # student rows
FEEDBACK = "feedback"  # teacher-side fixed line in the binary / none conditions
VERDICT = "verdict"  # verifier, teacher: the result of an attempt
DRAFT = "draft"  # teacher, teacher: a teacher message the guard kept from the student


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def new_session_id() -> str:
    return secrets.token_hex(6)


def new_run_id(prefix: str) -> str:
    """`PREFIX-YYYYmmdd-HHMMSS-xxxx`: run ids sort by when they were made."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{prefix}-{stamp}-{secrets.token_hex(2)}"


def shallow_dict(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, values as they are: `dataclasses.asdict` deep-copies
    every value, which dominated the cost of writing turns."""
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


@dataclass(slots=True)
class Turn:
    session_id: str
    seq: int
    turn: int
    role: str
    visibility: str
    kind: str
    content: str
    attempt: str | None = None
    correct: bool | None = None
    leak: bool = False
    leak_spans: list[tuple[int, int]] | None = None
    guard_action: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    created: str = field(default_factory=now)
    # A reasoning model's thoughts before this message: kept for the record, in no view.
    reasoning: str | None = None
    # The model stopped at its token limit mid-message (finish_reason "length").
    truncated: bool = False

    @property
    def is_public(self) -> bool:
        return self.visibility == "public"

    def describe(self) -> tuple[str, str]:
        """How transcripts (terminal and HTML) name this row: (label, category), category
        one of question, verdict-ok, verdict-no, draft, student, teacher, prompt. The
        "teacher only" marking of private rows is left to the renderer."""
        if self.kind in (STUDENT_PROMPT, TEACHER_PROMPT):
            who = "student's" if self.kind == STUDENT_PROMPT else "teacher's"
            return f"{who} system prompt", "prompt"
        if self.kind == QUESTION:
            return "question", "question"
        if self.kind == VERDICT:
            return f"verifier · turn {self.turn}", "verdict-ok" if self.correct else "verdict-no"
        if self.kind == DRAFT:
            return f"teacher draft ({self.guard_action}) · turn {self.turn}", "draft"
        cut = " · cut off at the token limit" if self.truncated else ""
        if self.role == "student":
            return f"student · turn {self.turn} · {self.kind}{cut}", "student"
        guard = f" · guard: {self.guard_action}" if self.guard_action else ""
        return f"teacher · turn {self.turn}{guard}{cut}", "teacher"

    def to_row(self) -> dict[str, Any]:
        row = shallow_dict(self)
        row["correct"] = None if self.correct is None else int(self.correct)
        row["leak"] = int(self.leak)
        row["truncated"] = int(self.truncated)
        row["leak_spans"] = json.dumps(self.leak_spans) if self.leak_spans else None
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Turn:
        spans = json.loads(row["leak_spans"]) if row.get("leak_spans") else None
        return cls(
            session_id=row["session_id"], seq=row["seq"], turn=row["turn"], role=row["role"],
            visibility=row["visibility"], kind=row["kind"], content=row["content"] or "",
            attempt=row["attempt"],
            correct=None if row["correct"] is None else bool(row["correct"]),
            leak=bool(row.get("leak")), leak_spans=[tuple(s) for s in spans] if spans else None,
            guard_action=row.get("guard_action"), model=row["model"],
            prompt_tokens=row["prompt_tokens"], completion_tokens=row["completion_tokens"],
            cost_usd=row["cost_usd"], latency_ms=row["latency_ms"], created=row["created"],
            reasoning=row.get("reasoning"), truncated=bool(row.get("truncated")),
        )


TURN_COLUMNS = tuple(Turn.__dataclass_fields__)


@dataclass(slots=True)
class SessionInfo:
    """A session's identity and settings, plus its scores once computed."""

    id: str
    problem_key: str
    problem_id: str
    condition: str
    student_model: str
    teacher_model: str | None
    max_turns: int
    guard: str = "redact"
    run_id: str | None = None
    sample: int = 0
    status: str = "running"
    origin: str = "eval"
    error: str | None = None
    created: str = field(default_factory=now)
    finished: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # scores (SPEC §4), filled in when the session ends
    solved: bool | None = None
    solved_at_turn: int | None = None
    first_attempt_correct: bool | None = None
    attempts: int | None = None
    questions: int | None = None
    student_turns: int | None = None
    leaks: int | None = None
    student_tokens: int | None = None
    teacher_tokens: int | None = None
    cost_usd: float | None = None

    def to_row(self) -> dict[str, Any]:
        row = shallow_dict(self)
        for key in ("solved", "first_attempt_correct"):
            row[key] = None if row[key] is None else int(row[key])
        row["meta"] = json.dumps(self.meta, ensure_ascii=False) if self.meta else None
        return row

    def to_json(self) -> dict[str, Any]:
        """The session as plain JSON values (booleans as booleans, meta as an object)."""
        return shallow_dict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SessionInfo:
        data = {k: row.get(k) for k in cls.__dataclass_fields__}
        data["meta"] = json.loads(row["meta"]) if row.get("meta") else {}
        for key in ("solved", "first_attempt_correct"):
            data[key] = None if data[key] is None else bool(data[key])
        data["sample"] = data["sample"] or 0
        return cls(**data)  # type: ignore[arg-type]  # the row's columns are the fields
