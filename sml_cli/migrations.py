"""Database schema, as an ordered list of named migrations (the simonw/llm pattern).

Each migration is a function applied once; its name is recorded in `_sml_migrations`. Never
edit a released migration: add a new one. `sml` opens every database through `migrate`, so
an older file is upgraded in place the first time a newer `sml` touches it.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterator

from sqlite_utils import Database

MIGRATIONS_TABLE = "_sml_migrations"
MIGRATIONS: list[Callable[[Database], None]] = []


def migration(fn: Callable[[Database], None]) -> Callable[[Database], None]:
    MIGRATIONS.append(fn)
    return fn


def applied(db: Database) -> list[str]:
    if not db.table(MIGRATIONS_TABLE).exists():
        return []
    return [row["name"] for row in db.table(MIGRATIONS_TABLE).rows_where(order_by="rowid")]


def migrate(db: Database, *, upto: str | None = None) -> list[str]:
    """Apply pending migrations in order (stopping after `upto`, for tests); returns their names.

    Safe when several processes open a new or old database at once: every write happens in a
    transaction that takes the write lock up front (BEGIN IMMEDIATE, which waits on the busy
    timeout), and a migration another process recorded in the meantime is skipped. A database
    that is already current is only read.
    """
    names = [fn.__name__ for fn in MIGRATIONS]
    wanted = names[: names.index(upto) + 1] if upto in names else names
    if not set(wanted) - set(applied(db)):
        return []
    ran: list[str] = []
    for fn in MIGRATIONS:
        name = fn.__name__
        with immediate_transaction(db):
            db.table(MIGRATIONS_TABLE).create(
                {"name": str, "applied_at": str}, pk="name", if_not_exists=True
            )
            if name not in applied(db):
                fn(db)
                db.table(MIGRATIONS_TABLE).insert(
                    {"name": name, "applied_at": datetime.datetime.now(datetime.UTC).isoformat()}
                )
                ran.append(name)
        if name == upto:
            break
    return ran


@contextlib.contextmanager
def immediate_transaction(db: Database) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT (a savepoint inside a transaction already open). A deferred
    BEGIN would read first and then fail at once with "database is locked" when it tries to
    write after another process has committed: SQLite cannot wait on the busy timeout for a
    reader whose snapshot is stale. Every write transaction of sml goes through here."""
    if db.conn.in_transaction:  # the caller's transaction: nest as a savepoint
        with db.atomic():
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        # (inside the try: a COMMIT that fails — a deferred constraint, a full disk — must
        # not leave the transaction open for the connection's next write to nest in)
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise


@migration
def m001_initial(db: Database) -> None:
    db.table("problems").create(
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
    db.table("runs").create(
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
    db.table("sessions").create(
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
    db.table("turns").create(
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
    db.table("sessions").create_index(
        ["run_id", "problem_key", "condition", "sample"], unique=True, if_not_exists=True,
        index_name="sessions_run_cell",
    )
    db.table("sessions").create_index(["status"], if_not_exists=True)
    db.table("turns").create_index(["session_id", "seq"], unique=True, if_not_exists=True)
    # Leak guard bookkeeping (SPEC §5): which teacher rows were flagged, where, and what was done.
    db.table("turns").add_column("leak", int)
    # leak_spans: JSON [[start, end], ...] in this row's content
    db.table("turns").add_column("leak_spans", str)
    db.table("turns").add_column("guard_action", str)  # flag | redact | regenerate
    db.table("sessions").add_column("origin", str)  # eval | chat | import
    db.table("sessions").add_column("meta", str)
    db.execute("UPDATE sessions SET origin = 'eval' WHERE origin IS NULL")


@migration
def m003_inbox(db: Database) -> None:
    # Two-terminal chat (`sml chat --join`): the joined side posts its messages here and the
    # side running the session consumes them, so only one process ever writes `turns`.
    db.table("inbox").create(
        {"id": int, "session_id": str, "role": str, "content": str, "created": str,
         "consumed": int},
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
    )
    db.table("inbox").create_index(["session_id", "role", "consumed"])


@migration
def m004_session_problem_index(db: Database) -> None:
    # Preference export and per-problem reports group sessions by problem.
    db.table("sessions").create_index(["problem_key"], if_not_exists=True)


@migration
def m005_turn_reasoning(db: Database) -> None:
    # Reasoning models think before they speak; the thoughts are kept apart from the message
    # (a teacher's routinely contain the answer) so that no view can pick them up.
    db.table("turns").add_column("reasoning", str)


@migration
def m006_problem_aliases(db: Database) -> None:
    # Other accepted answers (QA sets list several): JSON array, private like the answer.
    db.table("problems").add_column("aliases", str)


@migration
def m007_turn_truncated(db: Database) -> None:
    # A reply cut off at the token limit reads as a wrong or rambling turn; a run should be
    # able to say how many it had.
    # (NULL, on rows from before, reads as not truncated.)
    db.table("turns").add_column("truncated", int)


@migration
def m008_run_owner(db: Database) -> None:
    # "host:pid" of the process running a run: a run left `running` by a process that is gone
    # (kill -9, a crash, a reboot) is an interrupted one, and a second process must not
    # resume a run that another one is still running.
    # (NULL, on runs from before, reads as unknown: such a run shows as it is stored.)
    db.table("runs").add_column("owner", str)


@migration
def m009_guest_presence(db: Database) -> None:
    # Two-terminal chat: the joined terminal says it is there (a heartbeat while it runs,
    # `left` when it quits), so the host can tell "not joined yet" from "there" from "gone".
    db.table("presence").create(
        {"session_id": str, "role": str, "seen": str, "left": int},
        pk="session_id",
        foreign_keys=[("session_id", "sessions", "id")],
    )
