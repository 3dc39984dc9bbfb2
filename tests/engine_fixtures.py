"""Shared helpers for the engine / views / metrics / eval / resume tests.

Imported explicitly by those test files (not a conftest: other suites own that one).
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sml_cli.engine import Session
from sml_cli.participants import Participant
from sml_cli.problems import Problem
from sml_cli.prompts import Prompts
from sml_cli.records import SessionInfo, Turn

PROMPTS = Prompts()

# The keys of SPEC §4, field for field.
TOP_LEVEL_KEYS = {"run_id", "elapsed_s", "config", "conditions", "deltas"}
CONDITION_KEYS = {
    "n_sessions", "n_errors", "success_rate", "success_rate_ci95", "success_at_turn",
    "first_attempt_success_rate", "recovery_rate", "mean_turns_to_solve", "question_rate",
    "leak_rate", "student_tokens", "teacher_tokens", "cost_usd",
}
DELTA_KEYS = {"delta", "ci95"}


def problem(
    answer: str | None = "42",
    *,
    question: str = "How many apples are in the basket?",
    id: str = "p1",
    verifier: str | None = None,
    solution: str | None = None,
    notes: str | None = None,
    tests: str | None = None,
) -> Problem:
    """A problem built directly (no file), verifier `numeric` for numbers else `exact`."""
    if verifier is None:
        verifier = "numeric" if answer is not None and re.fullmatch(r"-?\d+", answer) else "exact"
    return Problem(id=id, question=question, answer=answer, verifier=verifier,
                   solution=solution, notes=notes, tests=tests, source="test")


class MemoryRecorder:
    """A recorder that keeps rows and session updates in memory."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.updates: dict[str, dict[str, object]] = {}

    def add_turn(self, turn: Turn) -> None:
        self.turns.append(turn)

    def update_session(self, session_id: str, fields: dict[str, object]) -> None:
        self.updates.setdefault(session_id, {}).update(fields)


def session_info(p: Problem, condition: str, *, max_turns: int = 4, guard: str = "redact",
                 session_id: str = "s1", run_id: str | None = None) -> SessionInfo:
    return SessionInfo(
        id=session_id, problem_key=p.key, problem_id=p.id, condition=condition,
        student_model="scripted-student", teacher_model="scripted-teacher",
        max_turns=max_turns, guard=guard, run_id=run_id,
    )


def run_session(
    p: Problem,
    condition: str,
    student: Participant,
    teacher: Participant | None = None,
    *,
    max_turns: int = 4,
    guard: str = "redact",
    turns: list[Turn] | None = None,
    recorder: Any = None,
    info: SessionInfo | None = None,
) -> tuple[SessionInfo, list[Turn]]:
    """Run one session to its end with the engine; returns (info, all rows)."""
    recorder = recorder if recorder is not None else MemoryRecorder()
    info = info or session_info(p, condition, max_turns=max_turns, guard=guard)
    session = Session(info, p, student, teacher, PROMPTS, recorder, turns=list(turns or []))
    result = asyncio.run(session.run())
    return result, session.turns


def contains_number(text: str, number: str) -> bool:
    """`number` written as a whole number in `text` (not part of a longer digit run)."""
    return re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d]|[.,]\d)", text) is not None


def write_problems(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# Five-digit answers that appear nowhere else: not in the questions, not in a hint ("one more
# than 40122" never contains 40123), not in the student's guesses (always 0 until it solves).
EVAL_PROBLEMS = [
    {"id": "q1", "question": "A baker fills crates of rolls. How many rolls in all?",
     "answer": "40123"},
    {"id": "q2", "question": "A train carries sacks of grain. How many sacks?",
     "answer": "51234"},
    {"id": "q3", "question": "A library orders boxes of books. How many books?",
     "answer": "62345"},
]


def sqlite_rows(db: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def cli_output(result: Any) -> str:
    """stdout and stderr of a CliRunner result, whichever click version captured them."""
    parts = [result.output or ""]
    try:
        stderr = result.stderr
    except (ValueError, AttributeError):
        stderr = ""
    if stderr and stderr not in parts[0]:
        parts.append(stderr)
    return "\n".join(parts)

