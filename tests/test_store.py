"""Storage (SPEC §7): migrations on a fresh and an old database, WAL, busy timeout, errors
that name the path, and the background writer's commits."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from sml_cli import migrations
from sml_cli.errors import SmlError, UsageError
from sml_cli.migrations import MIGRATIONS, MIGRATIONS_TABLE, applied, migrate
from sml_cli.problems import Problem
from sml_cli.records import SessionInfo, Turn
from sml_cli.store import BUSY_TIMEOUT_S, BackgroundWriter, Store, resolve_db_path

ALL_MIGRATIONS = [fn.__name__ for fn in MIGRATIONS]


def columns(db: Database, table: str) -> set[str]:
    return set(db[table].columns_dict)


def index_columns(db: Database, table: str) -> list[list[str]]:
    return [list(i.columns) for i in db[table].indexes]


# ----------------------------------------------------------------------------- migrations


def test_migrations_are_named_and_ordered() -> None:
    assert ALL_MIGRATIONS[:2] == ["m001_initial", "m002_indexes_and_guard"]
    assert sorted(ALL_MIGRATIONS) == ALL_MIGRATIONS
    assert len(set(ALL_MIGRATIONS)) == len(ALL_MIGRATIONS)


def test_fresh_database(tmp_path: Path) -> None:
    with Store(tmp_path / "fresh.db") as store:
        db = store.db
        assert {"problems", "runs", "sessions", "turns", MIGRATIONS_TABLE} <= set(db.table_names())
        assert applied(db) == ALL_MIGRATIONS
        recorded = list(db[MIGRATIONS_TABLE].rows)
        assert all(row["applied_at"] for row in recorded)
        assert {"visibility", "leak", "leak_spans", "guard_action"} <= columns(db, "turns")
        assert {"origin", "meta", "status", "solved"} <= columns(db, "sessions")
        assert ["run_id", "problem_key", "condition", "sample"] in index_columns(db, "sessions")
        assert ["session_id", "seq"] in index_columns(db, "turns")


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    assert migrate(db) == ALL_MIGRATIONS
    assert migrate(db) == []
    assert applied(db) == ALL_MIGRATIONS
    Store(tmp_path / "x.db").close()  # opening again applies nothing and does not fail
    assert applied(Database(tmp_path / "x.db")) == ALL_MIGRATIONS


def test_upgrade_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    assert migrate(db, upto="m001_initial") == ["m001_initial"]
    assert applied(db) == ["m001_initial"]
    assert "leak" not in columns(db, "turns")
    db["runs"].insert({"id": "r1", "kind": "eval", "status": "done", "config": "{}"})
    db["problems"].insert(
        {"key": "k1", "id": "1", "question": "q", "answer": "4", "verifier": "numeric"}
    )
    db["sessions"].insert(
        {
            "id": "s1",
            "run_id": "r1",
            "problem_key": "k1",
            "problem_id": "1",
            "condition": "answer",
            "sample": 0,
            "student_model": "m",
            "max_turns": 6,
            "status": "done",
            "solved": 1,
        }
    )
    db["turns"].insert(
        {
            "id": 1,
            "session_id": "s1",
            "seq": 0,
            "turn": 1,
            "role": "student",
            "visibility": "public",
            "kind": "attempt",
            "content": "Final answer: 4",
        }
    )
    db.close()

    with Store(path) as store:
        assert applied(store.db) == ALL_MIGRATIONS
        assert {"leak", "leak_spans", "guard_action"} <= columns(store.db, "turns")
        assert {"origin", "meta"} <= columns(store.db, "sessions")
        assert ["run_id", "problem_key", "condition", "sample"] in index_columns(
            store.db, "sessions"
        )
        session = store.session("s1")
        assert session.solved is True and session.origin == "eval"  # backfilled
        (turn,) = store.turns("s1")
        assert turn.content == "Final answer: 4" and turn.leak is False
        assert "truncated" in columns(store.db, "turns") and turn.truncated is False


def test_failed_migration_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def m999_broken(db: Database) -> None:
        db["scratch"].create({"id": int}, pk="id")
        db["turns"].add_column("scratch_col", str)
        raise RuntimeError("boom")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, m999_broken])
    db = Database(tmp_path / "x.db")
    with pytest.raises(RuntimeError, match="boom"):
        migrate(db)
    assert applied(db) == ALL_MIGRATIONS
    assert not db["scratch"].exists()
    assert "scratch_col" not in columns(db, "turns")


# ----------------------------------------------------------------------------- connection


def test_wal_mode_and_busy_timeout(tmp_path: Path) -> None:
    with Store(tmp_path / "x.db") as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        busy = store.conn.execute("PRAGMA busy_timeout").fetchone()[0]
        assert busy == int(BUSY_TIMEOUT_S * 1000) and busy >= 1000
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # WAL is a property of the file: a plain connection sees it too.
    conn = sqlite3.connect(tmp_path / "x.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "sml.db"
    Store(path).close()
    assert path.is_file()


def test_db_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SML_DB", raising=False)
    assert resolve_db_path(None) == Path("sessions") / "sml.db"
    monkeypatch.setenv("SML_DB", str(tmp_path / "env.db"))
    assert resolve_db_path(None) == tmp_path / "env.db"
    assert resolve_db_path(str(tmp_path / "flag.db")) == tmp_path / "flag.db"


def test_directory_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        Store(tmp_path)
    assert str(tmp_path) in str(info.value)
    assert info.value.exit_code == 2


def test_not_a_database_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not an sqlite file" * 100)
    with pytest.raises(UsageError) as info:
        Store(path)
    assert str(path) in str(info.value)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make `path` (and its folder, so no -wal/-shm can be created) read-only, even for root."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        try:
            yield
        finally:
            path.parent.chmod(0o755)
            path.chmod(0o644)
        return
    try:
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("running as root without chattr: cannot make a file read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)


def test_read_only_old_database_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    migrate(db, upto="m001_initial")
    db.close()
    with read_only(path), pytest.raises(UsageError) as info:
        Store(path)
    assert str(path) in str(info.value)
    assert "readonly" in str(info.value) or "read-only" in str(info.value)


def test_read_only_current_database_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path).close()
    with read_only(path), pytest.raises(UsageError) as info:
        store = Store(path)
        store.create_run("r", "eval", {})
    assert str(path) in str(info.value)


# ----------------------------------------------------------------------------- writing


def make_session(store: Store, session_id: str = "s1") -> SessionInfo:
    problem = Problem(id="1", question="q", answer="4", verifier="numeric")
    store.save_problems([problem])
    store.create_run("r1", "eval", {"a": 1})
    info = SessionInfo(
        id=session_id,
        problem_key=problem.key,
        problem_id="1",
        condition="answer",
        student_model="m",
        teacher_model="t",
        max_turns=6,
        run_id="r1",
    )
    store.create_session(info)
    return info


def test_session_cell_is_unique(tmp_path: Path) -> None:
    with Store(tmp_path / "x.db") as store:
        info = make_session(store)
        info.id = "s2"  # same run, problem, condition and sample
        with pytest.raises(sqlite3.IntegrityError):
            store.create_session(info)


def test_store_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "x.db") as store:
        make_session(store)
        store.add_turn(
            Turn(
                "s1",
                0,
                1,
                "student",
                "public",
                "attempt",
                "Final answer: 4",
                attempt="4",
                correct=True,
            )
        )
        store.add_turn(
            Turn(
                "s1",
                1,
                1,
                "teacher",
                "teacher",
                "draft",
                "It is 4",
                leak=True,
                leak_spans=[(6, 7)],
                guard_action="redact",
            )
        )
        turns = store.turns("s1")
        assert [t.seq for t in turns] == [0, 1]
        assert turns[0].correct is True and turns[0].is_public
        assert turns[1].leak and turns[1].leak_spans == [(6, 7)] and not turns[1].is_public
        assert store.run("r1")["config"] == {"a": 1}  # type: ignore[index]
        assert store.session("s").id == "s1"  # unique prefix


def test_each_turn_is_committed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with Store(path) as store:
        make_session(store)
        store.add_turn(Turn("s1", 0, 1, "student", "public", "message", "hi?"))
        other = sqlite3.connect(path)
        assert other.execute("SELECT content FROM turns").fetchall() == [("hi?",)]
        other.close()


def test_background_writer_commits_visible_after_flush(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    store = Store(path)
    make_session(store)
    writer = BackgroundWriter(path)
    try:
        for seq in range(20):
            writer.add_turn(
                Turn("s1", seq, seq // 2 + 1, "student", "public", "message", f"m{seq}")
            )
        writer.update_session("s1", {"status": "done", "solved": 1})
        info = SessionInfo(
            id="s2",
            problem_key=store.session("s1").problem_key,
            problem_id="1",
            condition="none",
            student_model="m",
            teacher_model=None,
            max_turns=6,
            run_id="r1",
        )
        writer.create_session(info)
        writer.flush(timeout=30)
        other = sqlite3.connect(path)
        assert other.execute("SELECT count(*) FROM turns WHERE session_id = 's1'").fetchone() == (
            20,
        )
        assert other.execute("SELECT status, solved FROM sessions WHERE id = 's1'").fetchone() == (
            "done",
            1,
        )
        assert other.execute("SELECT condition FROM sessions WHERE id = 's2'").fetchone() == (
            "none",
        )
        other.close()
    finally:
        writer.close()
        store.close()


def test_background_writer_reports_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    store = Store(path)
    make_session(store)
    writer = BackgroundWriter(path)
    writer.add_turn(Turn("s1", 0, 1, "student", "public", "message", "a"))
    writer.add_turn(Turn("s1", 0, 1, "student", "public", "message", "duplicate seq"))
    with pytest.raises(SmlError) as info:
        writer.flush(timeout=30)
    assert str(path) in str(info.value)
    with pytest.raises(SmlError):
        writer.add_turn(Turn("s1", 1, 1, "student", "public", "message", "after the failure"))
    with pytest.raises(SmlError):
        writer.close()
    # Whatever batch failed was rolled back: the duplicate never reached the file.
    assert [t.content for t in store.turns("s1")] in ([], ["a"])
    store.close()


def test_many_processes_opening_a_new_database_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    code = f"from sml_cli.store import Store\nStore({str(path)!r}).close()\n"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(10)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 10, errors
    assert applied(Database(path)) == ALL_MIGRATIONS


def test_current_database_is_only_read(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    Store(path).close()
    db = Database(path)
    db.conn.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        other = Database(sqlite3.connect(path, timeout=0.1))
        assert migrate(other) == []  # nothing to do: no write lock needed
    finally:
        db.conn.execute("ROLLBACK")


def test_a_write_that_reads_first_waits_for_another_process_instead_of_failing(
        tmp_path: Path) -> None:
    """Two processes on one database (two evals; a host and a joined terminal). A write
    transaction that reads before it writes (an upsert, taking a message from the inbox)
    while the other connection commits must wait its turn: with a deferred BEGIN, SQLite
    cannot wait for a stale reader and fails at once with "database is locked" (what made a
    second `sml eval` on a busy database exit 1)."""
    import threading
    import time

    db = tmp_path / "shared.db"
    first, second = Store(db), Store(db)
    read_done, other_tried = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_process() -> None:
        read_done.wait(5)
        try:
            other_tried.set()
            second.create_run("run-b", "eval", {})  # waits for `first` to commit
        except BaseException as exc:  # (reported by the assertion below)
            errors.append(exc)

    thread = threading.Thread(target=other_process)
    thread.start()
    with first.writing():
        first.db.execute("SELECT count(*) FROM runs").fetchone()  # the read…
        read_done.set()
        other_tried.wait(5)
        time.sleep(0.3)  # …the other process tries to write meanwhile…
        first.create_run("run-a", "eval", {})  # …and then the write
    thread.join(10)
    assert not errors, errors
    # The other write waited for the transaction to end: it comes second.
    assert [r["id"] for r in first.db.query("SELECT id FROM runs ORDER BY rowid")] == [
        "run-a", "run-b"]
    first.close()
    second.close()


def test_opening_waits_while_another_process_writes_to_a_new_database(tmp_path: Path) -> None:
    """Processes started together on a database that is not in WAL mode yet (a new one: two
    evals from a script) race to switch it. Switching needs the file to itself, and while
    another connection is writing SQLite answers "database is locked" at once, without the
    busy timeout (waiting could deadlock). Opening is tried again instead: here it gets in
    once the other transaction ends, where it used to exit 2 at once."""
    import threading
    import time

    db = tmp_path / "new.db"
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")  # (a rollback-journal database, as sqlite3 makes)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.4, lambda: other.execute("COMMIT")).start()
    started = time.monotonic()
    with Store(db) as store:
        assert time.monotonic() - started >= 0.3  # it waited for the commit…
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # …then got in
        assert store.db.execute("SELECT x FROM t").fetchall() == [(1,)]
    other.close()


def test_a_commit_that_fails_leaves_no_transaction_open(tmp_path: Path) -> None:
    """A COMMIT can fail (a deferred constraint, a full disk): the transaction is rolled
    back, not left open for the connection's next write to nest in as a savepoint."""
    db = Database(sqlite3.connect(tmp_path / "c.db", isolation_level=None))
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) "
               "DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError), migrations.immediate_transaction(db):
        db.execute("INSERT INTO child VALUES (7)")  # checked only at COMMIT
    assert not db.conn.in_transaction
    with migrations.immediate_transaction(db):
        db.execute("INSERT INTO parent VALUES (1)")
    assert db.execute("SELECT count(*) FROM parent").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM child").fetchone()[0] == 0


def test_a_listing_counts_the_turns_of_sessions_still_running(tmp_path: Path) -> None:
    """A session's counts are written when it finishes; until then `sessions list` counts
    its logged student turns (a chat left open, an eval killed mid-way)."""
    from typer.testing import CliRunner

    from sml_cli.cli import app

    path = tmp_path / "x.db"
    with Store(path) as store:
        make_session(store)
        for seq, (role, text) in enumerate([("student", "hi?"), ("teacher", "Think."),
                                            ("student", "Final answer: 3"),
                                            ("teacher", "No."), ("student", "how?")]):
            store.add_turn(Turn("s1", seq, seq // 2 + 1, role, "public", "message", text))
        total, listed = store.matching_sessions({"status": "running"}, limit=None)
        assert total == 1 and store.student_turns_so_far(listed) == {"s1": 3}
        store.update_session("s1", {"status": "done", "student_turns": 2})
        assert store.student_turns_so_far(list(store.sessions())) == {}  # its own count wins
        assert store.matching_sessions({"status": "running"}, limit=None) == (0, [])
        store.update_session("s1", {"status": "running", "student_turns": None})
        assert store.stopped_with_their_run(list(store.sessions())) == set()  # run goes on
    result = CliRunner().invoke(app, ["sessions", "list", "--db", str(path)],
                                env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "1 session in" in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("s1"))
    assert row.split()[row.split().index("running") + 2] == "3", row
    # Its run was interrupted: nothing runs the session now, and the listing says so.
    with Store(path) as store:
        store.finish_run("r1", "interrupted")
        assert store.stopped_with_their_run(list(store.sessions())) == {"s1"}
    result = CliRunner().invoke(app, ["sessions", "list", "--db", str(path)],
                                env={"COLUMNS": "160"})
    row = next(line for line in result.output.splitlines() if line.startswith("s1"))
    assert "stopped" in row.split() and "running" not in row.split(), row


def test_a_run_owner_is_alive_only_while_that_very_process_runs() -> None:
    """A killed run's pid can be given to a later process: the owner records when its
    process started, so that process is not taken for the run's (and not named as one to
    stop)."""
    import socket
    import subprocess
    import sys

    from sml_cli.store import owner_alive, owner_pid, run_owner

    me = run_owner()
    assert owner_pid(me) == os.getpid() and owner_alive(me) is True
    host = socket.gethostname()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert owner_alive(f"{host}:{other.pid}") is True  # (an owner recorded without a start)
        if "@" in me:  # where the system tells start times (Linux)
            started = me.partition("@")[2]
            assert owner_alive(f"{host}:{other.pid}@{started}") is False, "another process"
    finally:
        other.kill()
        other.wait()
    assert owner_alive(f"{host}:{other.pid}") is False
    assert owner_alive(f"elsewhere.example:{os.getpid()}") is None
    assert owner_alive(None) is None and owner_pid("garbage") is None


def test_a_refused_run_or_chat_leaves_no_connection_open(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A constructor that keeps a Store (an eval run, a chat session's host or guest) and then
    refuses its input closes the store: nobody else holds it to close. (The TUI's start
    screen makes a host per attempt, in one long-lived process.)"""
    from sml_cli.chat import ChatOptions, GuestSession, HostSession
    from sml_cli.evaluate import EvalOptions, EvalRun

    opened: list[Store] = []
    closed: list[Store] = []
    real_init, real_close = Store.__init__, Store.close

    def init(self: Store, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]
        opened.append(self)

    def close(self: Store) -> None:
        closed.append(self)
        real_close(self)

    db = str(tmp_path / "t.db")
    with Store(db) as store:
        store.create_run("imported", "import", {})
    monkeypatch.setattr(Store, "__init__", init)
    monkeypatch.setattr(Store, "close", close)
    with pytest.raises(UsageError, match="belongs to a import run"):
        EvalRun(EvalOptions(run_id="imported", db=db, limit=1))
    with pytest.raises(UsageError, match="no problem with that id"):
        HostSession(ChatOptions(role="watch", problem_id="no-such-id", db=db))
    with pytest.raises(UsageError, match="no session"):
        GuestSession("no-such-session", "", None, db)
    assert len(opened) == 3 and all(s in closed for s in opened)


def test_latest_names_the_newest_run_and_latest_n_one_before_it(tmp_path: Path) -> None:
    """`latest` / `latest~N` wherever a run id goes (report, sessions list, export), and
    `sessions show latest`: the last run or session without copying its id."""
    from typer.testing import CliRunner

    from sml_cli.cli import app

    path = tmp_path / "x.db"
    with Store(path) as store:
        with pytest.raises(UsageError, match="has no runs yet"):
            store.resolve_run_id("latest")
        make_session(store)  # run r1, session s1
        store.create_run("r2", "eval", {})
        s2 = SessionInfo(id="s2", problem_key=store.session("s1").problem_key,
                         problem_id="1", condition="answer", student_model="m2",
                         teacher_model="t", max_turns=6, run_id="r2")
        store.create_session(s2)
        store.update_session("s2", {"status": "done"})
        assert store.resolve_run_id("latest") == "r2"
        assert store.resolve_run_id("latest~1") == "r1"
        assert store.resolve_run_id("r1") == "r1"
        assert store.resolve_run_id("latestish") == "latestish"  # only the alias itself
        with pytest.raises(UsageError, match=r"--run-id latest~2: .* has 2 runs"):
            store.resolve_run_id("latest~2", "--run-id")
        assert store.session("latest").id == "s2"
        store.create_run("latest", "eval", {})  # a run really called so is itself
        assert store.resolve_run_id("latest") == "latest"
        assert store.resolve_run_id("latest~1") == "r2"
        store.db.execute("DELETE FROM runs WHERE id = 'latest'")
        store.conn.commit()

    def sml(*args: str) -> str:
        result = CliRunner().invoke(app, [*args, "--db", str(path)], env={"COLUMNS": "160"})
        assert result.exit_code == 0, result.output
        return result.output

    assert "Run r2" in sml("report", "latest")
    compared = sml("report", "latest~1", "latest")
    assert "Runs compared" in compared and "r1" in compared and "r2" in compared
    listed = sml("sessions", "list", "--run-id", "latest~1", "--json")
    assert [json.loads(line)["id"] for line in listed.splitlines()] == ["s1"]
    assert sml("sessions", "show", "latest").startswith("s2 ·")
    stats = sml("export", "--run-id", "latest", "--stats")
    assert "1 session without a student message left out" in stats, stats  # s2, not s1
    refused = CliRunner().invoke(app, ["report", "latest~5", "--db", str(path)])
    assert refused.exit_code == 2 and "has 2 runs" in refused.output
