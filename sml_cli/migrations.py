"""Database schema, as an ordered list of named migrations (the simonw/llm pattern).

Each migration is a function applied once; its name is recorded in `_sml_migrations`. Never
edit a released migration: add a new one. `sml` opens every database through `migrate`, so
an older file is upgraded in place the first time a newer `sml` touches it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from sqlite_utils import Database

MIGRATIONS_TABLE = "_sml_migrations"
MIGRATIONS: list[Callable[[Database], None]] = []


def migration(fn: Callable[[Database], None]) -> Callable[[Database], None]:
    MIGRATIONS.append(fn)
    return fn


def applied(db: Database) -> list[str]:
    if not db[MIGRATIONS_TABLE].exists():
        return []
    return [row["name"] for row in db[MIGRATIONS_TABLE].rows_where(order_by="rowid")]


def migrate(db: Database, *, upto: str | None = None) -> list[str]:
    """Apply pending migrations in order (stopping after `upto`, for tests); returns their names."""
    db[MIGRATIONS_TABLE].create(
        {"name": str, "applied_at": str}, pk="name", if_not_exists=True
    )
    done = set(applied(db))
    ran: list[str] = []
    for fn in MIGRATIONS:
        name = fn.__name__
        if name not in done:
            with db.atomic():
                fn(db)
                db[MIGRATIONS_TABLE].insert(
                    {"name": name, "applied_at": datetime.datetime.now(datetime.UTC).isoformat()}
                )
            ran.append(name)
        if name == upto:
            break
    return ran


@migration
def m001_initial(db: Database) -> None:
    db["problems"].create(
        {
            "key": str,  # content hash: one row per distinct problem, whatever file it came from
            "source": str,
            "id": str,
            "question": str,
            "answer": str,
            "solution": str,
            "verifier": str,
            "choices": str,  # JSON array
            "tests": str,
            "notes": str,
            "meta": str,  # JSON object of extra columns
        },
        pk="key",
    )
    db["runs"].create(
        {
            "id": str,
            "kind": str,  # eval | chat | import
            "created": str,
            "finished": str,
            "status": str,  # running | done | interrupted
            "config": str,  # JSON: the options that define the run (checked on resume)
        },
        pk="id",
    )
    db["sessions"].create(
        {
            "id": str,
            "run_id": str,
            "problem_key": str,
            "problem_id": str,
            "condition": str,
            "sample": int,
            "student_model": str,
            "teacher_model": str,
            "guard": str,
            "max_turns": int,
            "status": str,  # running | done | error
            "solved": int,
            "solved_at_turn": int,
            "first_attempt_correct": int,
            "attempts": int,
            "questions": int,
            "student_turns": int,
            "leaks": int,
            "student_tokens": int,
            "teacher_tokens": int,
            "cost_usd": float,
            "error": str,
            "created": str,
            "finished": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id"), ("problem_key", "problems", "key")],
    )
    db["turns"].create(
        {
            "id": int,
            "session_id": str,
            "seq": int,  # order within the session
            "turn": int,  # student turn k this row belongs to (0 = before the first)
            "role": str,  # system | student | teacher | verifier
            "visibility": str,  # public (both sides see it) | teacher (private channel)
            "kind": str,
            "content": str,
            "attempt": str,
            "correct": int,
            "model": str,
            "prompt_tokens": int,
            "completion_tokens": int,
            "cost_usd": float,
            "latency_ms": float,
            "created": str,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
    )


@migration
def m002_indexes_and_guard(db: Database) -> None:
    # Resume looks sessions up by (run, problem, condition, sample); it must be unique so that two
    # processes resuming one run can never both create the same session.
    db["sessions"].create_index(
        ["run_id", "problem_key", "condition", "sample"], unique=True, if_not_exists=True,
        index_name="sessions_run_cell",
    )
    db["sessions"].create_index(["status"], if_not_exists=True)
    db["turns"].create_index(["session_id", "seq"], unique=True, if_not_exists=True)
    # Leak guard bookkeeping (SPEC §5): which teacher rows were flagged, where, and what was done.
    db["turns"].add_column("leak", int)
    db["turns"].add_column("leak_spans", str)  # JSON [[start, end], ...] in this row's content
    db["turns"].add_column("guard_action", str)  # flag | redact | regenerate
    db["sessions"].add_column("origin", str)  # eval | chat | import
    db["sessions"].add_column("meta", str)
    db.execute("UPDATE sessions SET origin = 'eval' WHERE origin IS NULL")
