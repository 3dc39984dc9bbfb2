"""SQLite storage (SPEC §7): one file, WAL mode, a busy timeout, versioned migrations.

Two ways to write:
* `Store` methods write and commit at once (the TUI, imports, small commands);
* `BackgroundWriter` owns its own connection on one thread and commits whatever has queued
  up in a single transaction (group commit). Evals use it so that the event loop never waits
  on disk or on the GIL-heavy sqlite3 module; each turn is still committed within
  milliseconds of happening, and a kill -9 loses only what had not reached the queue's end.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import queue
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from sml_cli.errors import SmlError, UsageError
from sml_cli.migrations import immediate_transaction, migrate
from sml_cli.problems import Problem
from sml_cli.records import HUMAN, TURN_COLUMNS, SessionInfo, Turn, now

DEFAULT_DB = Path("sessions") / "sml.db"
BUSY_TIMEOUT_S = 30.0
SESSION_STATUSES = ("running", "done", "error")
# The session filters of `sessions list` and `export`, by column, with the flag that sets each.
FILTER_FLAGS = {"run_id": "--run-id", "condition": "--condition", "status": "--status",
                "model": "--model", "student_model": "--student-model"}
# What a run id may also be: the newest run, or the one N runs before it (as git's HEAD~N).
LATEST_RUN = re.compile(r"latest(?:~([0-9]+))?")


def run_owner() -> str:
    """Who runs a run: this process, as "host:pid", with "@start" (when the process started,
    where the system tells) so that a later process given the same pid is not taken for it."""
    pid = os.getpid()
    start = _process_start(pid)
    return f"{socket.gethostname()}:{pid}" + (f"@{start}" if start else "")


def _process_start(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux's /proc), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # (the command name may hold spaces)
    return fields[19] if len(fields) > 19 else None  # field 22 of the whole line


def owner_pid(owner: str | None) -> int | None:
    pid = (owner or "").rpartition(":")[2].partition("@")[0]
    return int(pid) if pid.isdigit() else None


def owner_alive(owner: str | None) -> bool | None:
    """Whether the process a run's `owner` names is still alive: None when that cannot be
    told (no owner recorded, or another machine's process)."""
    host, _, process = (owner or "").rpartition(":")
    pid = owner_pid(owner)
    if not host or host != socket.gethostname() or pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (PermissionError: alive, another user's)
        pass
    started = process.partition("@")[2]
    # The pid of a killed run, given to a process started since, is not that run's.
    return not started or _process_start(pid) in (None, started)


def run_status(row: dict[str, Any]) -> str:
    """A run's status as it is now: a run stored as `running` whose process is gone (killed
    with -9, crashed, the machine restarted) is `interrupted`, as after Ctrl-C."""
    if row.get("status") == "running" and owner_alive(row.get("owner")) is False:
        return "interrupted"
    return str(row.get("status"))


def _other_live_owner(status: str | None, owner: str | None) -> int | None:
    """The pid of another live process on this machine running a run stored with this
    status and owner, if one is."""
    if status != "running" or owner == run_owner() or not owner_alive(owner):
        return None
    return owner_pid(owner)


def run_taken_error(run_id: str, pid: int | None) -> UsageError:
    """A run id another process is running (`pid`, on this machine), or, with no pid, one
    another process started after this one looked (its sessions were planned as new)."""
    if pid is None:
        return UsageError(f"--run-id {run_id} was started by another process meanwhile; "
                          "re-run this command to resume it once that process is done")
    return UsageError(
        f"--run-id {run_id} is being run now, by process {pid} on this machine; two "
        f"processes would run its unfinished sessions twice: wait for it to finish, or stop it "
        f"(kill {pid}) and re-run this to resume"
    )


def resolve_db_path(option: str | os.PathLike[str] | None) -> Path:
    """`--db` beats `SML_DB` beats ./sessions/sml.db."""
    raw = option or os.environ.get("SML_DB") or DEFAULT_DB
    return Path(raw).expanduser()


def connect(path: Path) -> sqlite3.Connection:
    if str(path) != ":memory:":
        if path.is_dir():
            raise UsageError(f"--db {path}: is a directory, not a database file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--db {path}: cannot create its folder ({exc.strerror})") from None
    # Processes that open a new database at once race to create it and switch it to WAL;
    # the loser may be told "database is locked" at once, without the busy timeout (SQLite
    # does not wait while another connection changes the journal mode or rebuilds the WAL
    # index). Opening is idempotent, so it is tried again until the busy timeout is spent.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        conn = None
        try:
            conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # With WAL, NORMAL still survives a killed process; only an OS crash may lose the
            # last commits, never consistency.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            return conn
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if is_busy(exc) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise UsageError(f"--db {path}: cannot open as an SQLite database ({exc})") from None


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY (and its extended codes): another connection holds the lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == sqlite3.SQLITE_BUSY) or (
        "database is locked" in str(exc))


class Store:
    """The database, opened and migrated."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = resolve_db_path(path)
        self.conn = connect(self.path)
        self.db = Database(self.conn)
        try:
            migrate(self.db)
        except sqlite3.OperationalError as exc:
            raise _storage_error(self.path, exc) from None

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction, its lock taken up front (so that it waits for another
        process's writes instead of failing, see `immediate_transaction`). A database that
        opened fine can still refuse the first write (read-only file or folder, full disk):
        that is an error naming the path, not a raw sqlite3 one."""
        try:
            with immediate_transaction(self.db):
                yield
        except sqlite3.OperationalError as exc:
            raise _storage_error(self.path, exc) from None

    @contextlib.contextmanager
    def closed_on_error(self) -> Iterator[Store]:
        """Around the rest of a constructor that keeps this store: closes it if the
        construction fails (a refusal leaves no connection open for a caller to leak)."""
        try:
            yield self
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------- problems

    def save_problems(self, problems: Sequence[Problem]) -> None:
        with self.writing():
            self.db.table("problems").upsert_all([p.to_record() for p in problems], pk="key")

    def problem(self, key: str) -> Problem:
        return Problem.from_record(self.db.table("problems").get(key))

    # --------------------------------------------------------------------- runs

    def run(self, run_id: str) -> dict[str, Any] | None:
        rows = list(self.db.table("runs").rows_where("id = ?", [run_id]))
        if not rows:
            return None
        row = rows[0]
        row["config"] = json.loads(row["config"]) if row["config"] else {}
        row["stored_status"] = row["status"]
        row["status"] = run_status(row)
        return row

    def running_elsewhere(self, run_id: str) -> int | None:
        """The id of another live process on this machine that is running this run now."""
        row = self.run(run_id)
        return None if row is None else _other_live_owner(row["stored_status"], row.get("owner"))

    def resolve_run_id(self, run_id: str, flag: str | None = None) -> str:
        """The run `run_id` names: `latest` is the newest run (the first `sml report` lists),
        `latest~N` the one N runs before it (`sml report latest~1 latest` compares the last
        two). A run really called so is itself; any other id is returned as given (checking
        that it exists is the caller's)."""
        match = LATEST_RUN.fullmatch(run_id)
        if match is None or self.run(run_id) is not None:
            return run_id
        back = int(match.group(1) or 0)
        row = self.db.execute("SELECT id FROM runs ORDER BY created DESC, rowid DESC "
                              "LIMIT 1 OFFSET ?", [back]).fetchone()
        if row is None:
            count = self.db.execute("SELECT count(*) FROM runs").fetchone()[0]
            has = (f"has {count} run{'s' if count != 1 else ''}" if count
                   else "has no runs yet: start one with `sml eval`")
            raise UsageError(f"{flag + ' ' if flag else ''}{run_id}: {self.path} {has}")
        return str(row[0])

    def no_run(self, run_id: str, flag: str | None = None) -> UsageError:
        """The error for a run id the database does not have, with the newest ones it has."""
        known = [r[0] for r in self.db.execute(
            "SELECT id FROM runs ORDER BY created DESC LIMIT 5").fetchall()]
        hint = f" (recent runs: {', '.join(known)})" if known else " (the database has no runs)"
        return UsageError(f"{flag + ' ' + repr(run_id) + ': ' if flag else ''}no run "
                          f"{run_id!r} in {self.path}{hint}")

    def check_filters(self, filters: dict[str, Any]) -> None:
        """Refuse a filter value (one, or a list of alternatives) that no session in the
        database has at all: `--condition answr` is a typo, not an empty selection, and an
        empty listing or export file would hide it. The message names the flag and the
        values there are. Conditions are checked against the database, not a fixed list:
        imports bring labels of their own."""
        for column, given in filters.items():
            flag = FILTER_FLAGS.get(column)
            values = given if isinstance(given, list | tuple) else [given]
            for value in values:
                if flag is None or value is None:
                    continue
                if column == "status":
                    if value not in SESSION_STATUSES:
                        raise UsageError(f"{flag} {value!r}: choose "
                                         f"{', '.join(SESSION_STATUSES[:-1])} or "
                                         f"{SESSION_STATUSES[-1]}")
                elif column == "run_id":
                    if self.run(value) is None and not self._has(("run_id",), value):
                        raise self.no_run(value, flag)
                else:
                    columns = (("student_model", "teacher_model") if column == "model"
                               else (column,))
                    if not self._has(columns, value):
                        raise UsageError(f"{flag} {value!r}: no session in {self.path} has "
                                         f"it ({self._values_hint(columns)})")

    def _has(self, columns: tuple[str, ...], value: Any) -> bool:
        return any(self.db.execute(f"SELECT 1 FROM sessions WHERE {c} = ? LIMIT 1",
                                   [value]).fetchone() for c in columns)

    def _values_hint(self, columns: tuple[str, ...], shown: int = 20) -> str:
        union = " UNION ".join(f"SELECT DISTINCT {c} FROM sessions WHERE {c} IS NOT NULL"
                               for c in columns)
        values = [r[0] for r in self.db.execute(f"{union} ORDER BY 1").fetchall()]
        if not values:
            return "the database has no sessions"
        more = f", … ({len(values) - shown} more)" if len(values) > shown else ""
        noun = "models" if len(columns) > 1 else columns[0].replace("_", " ") + "s"
        return f"{noun} there: {', '.join(values[:shown])}{more}"

    def status_counts(self, run_id: str) -> dict[str, int]:
        """How many of a run's sessions are in each status."""
        return dict(self.db.execute(
            "SELECT status, count(*) FROM sessions WHERE run_id = ? GROUP BY status",
            [run_id]).fetchall())

    def run_summaries(self, limit: int) -> list[dict[str, Any]]:
        """The newest runs, each with its config and session counts (one query)."""
        rows = self.db.query(
            """SELECT r.id, r.kind, r.created, r.status, r.owner, r.config,
                      count(s.id) AS sessions,
                      sum(s.status = 'done') AS done,
                      sum(s.status = 'error') AS errors,
                      sum(s.status = 'done' AND s.solved = 1) AS solved,
                      group_concat(DISTINCT s.condition) AS session_conditions
               FROM runs r LEFT JOIN sessions s ON s.run_id = r.id
               GROUP BY r.id ORDER BY r.created DESC LIMIT ?""", [limit])
        out = []
        for row in rows:
            row["config"] = json.loads(row["config"]) if row["config"] else {}
            row["status"] = run_status(row)
            out.append(row)
        return out

    def truncated_replies(self, run_id: str) -> dict[str, int]:
        """How many of a run's model replies stopped at the token limit, by role."""
        rows = self.db.execute(
            """SELECT t.role, count(*) FROM turns t JOIN sessions s ON s.id = t.session_id
               WHERE s.run_id = ? AND t.truncated = 1 GROUP BY t.role""", [run_id])
        return dict(rows.fetchall())

    def uncounted_replies(self, run_id: str) -> dict[str, int]:
        """How many of a run's model replies came without token counts (the server reported
        no usage), by role: the run's token totals leave them out."""
        rows = self.db.execute(
            """SELECT t.role, count(*) FROM turns t JOIN sessions s ON s.id = t.session_id
               WHERE s.run_id = ? AND t.role IN ('student', 'teacher')
                 AND t.model IS NOT NULL AND t.model != ?
                 AND t.prompt_tokens IS NULL AND t.completion_tokens IS NULL
               GROUP BY t.role""", [run_id, HUMAN])
        return dict(rows.fetchall())

    def create_run(self, run_id: str, kind: str, config: dict[str, Any]) -> None:
        with self.writing():
            self._insert_run(run_id, kind, config)

    def _insert_run(self, run_id: str, kind: str, config: dict[str, Any]) -> None:
        self.db.table("runs").insert(
            {"id": run_id, "kind": kind, "created": now(), "finished": None,
             "status": "running", "config": json.dumps(config, sort_keys=True),
             "owner": run_owner()},
            pk="id",
        )

    def claim_run(self, run_id: str, kind: str, config: dict[str, Any], *, new: bool) -> None:
        """Start a run in this process (`new`) or take up a stored one, checking in the same
        write transaction that no other process did so since this one looked: two processes
        given the same run id at once both found it free (or stopped) before either wrote.
        UsageError, nothing written, if another one got there first."""
        with self.writing():
            row = self.db.execute("SELECT status, owner FROM runs WHERE id = ?",
                                  [run_id]).fetchone()
            if row is not None:
                busy = _other_live_owner(*row)
                if busy is not None or new:
                    raise run_taken_error(run_id, busy)
            if new:
                self._insert_run(run_id, kind, config)
            else:
                self.db.table("runs").update(run_id, {"status": "running", "finished": None,
                                                      "owner": run_owner()})

    def finish_run(self, run_id: str, status: str = "done") -> None:
        with self.writing():
            self.db.table("runs").update(run_id, {"status": status, "finished": now()})

    # --------------------------------------------------------------------- sessions

    def create_session(self, info: SessionInfo) -> None:
        with self.writing():
            self.db.table("sessions").insert(info.to_row(), pk="id")

    def update_session(self, session_id: str, fields: dict[str, Any]) -> None:
        with self.writing():
            self.db.table("sessions").update(session_id, fields)

    def session(self, session_id: str) -> SessionInfo:
        """A session by id or unique id prefix; `latest` is the newest session (ids are
        hexadecimal, so no id is, or begins with, that word)."""
        if session_id == "latest":
            rows = list(self.db.query(
                "SELECT * FROM sessions ORDER BY created DESC, rowid DESC LIMIT 1"))
            if not rows:
                raise UsageError(f"no sessions in {self.path} yet")
            return SessionInfo.from_row(rows[0])
        rows = list(self.db.query(
            "SELECT * FROM sessions WHERE id = ? OR id LIKE ? LIMIT 2",
            [session_id, session_id.replace("%", "") + "%"],
        ))
        exact = [r for r in rows if r["id"] == session_id]
        if exact:
            return SessionInfo.from_row(exact[0])
        if len(rows) == 1:
            return SessionInfo.from_row(rows[0])
        if not rows:
            raise UsageError(f"no session {session_id!r} in {self.path}")
        raise UsageError(f"session id prefix {session_id!r} is ambiguous; give more characters")

    def sessions(
        self, where: str = "1 = 1", params: Sequence[Any] = (), order: str = "created"
    ) -> Iterator[SessionInfo]:
        for row in self.db.query(f"SELECT * FROM sessions WHERE {where} ORDER BY {order}", params):
            yield SessionInfo.from_row(row)

    def matching_sessions(self, filters: dict[str, Any], *, limit: int | None
                          ) -> tuple[int, list[SessionInfo]]:
        """`sessions list`: how many sessions match `filters` (run_id, condition, status,
        model — student or teacher —, solved), and the newest `limit` of them. A value no
        session has is refused (`check_filters`)."""
        self.check_filters(filters)
        clauses: list[str] = []
        params: list[Any] = []
        for column in ("run_id", "condition", "status"):
            if filters.get(column) is not None:
                clauses.append(f"{column} = ?")
                params.append(filters[column])
        if filters.get("model") is not None:
            clauses.append("(student_model = ? OR teacher_model = ?)")
            params += [filters["model"]] * 2
        if filters.get("solved") is not None:
            clauses.append("solved = ?")
            params.append(int(filters["solved"]))
        where = " AND ".join(clauses) or "1 = 1"
        total = self.db.execute(f"SELECT count(*) FROM sessions WHERE {where}",
                                params).fetchone()[0]
        order = "created DESC" + (f" LIMIT {int(limit)}" if limit else "")
        return total, list(self.sessions(where, params, order=order))

    def stopped_with_their_run(self, sessions: Sequence[SessionInfo]) -> set[str]:
        """Sessions still marked `running` whose run is not: they were in flight when it was
        interrupted or stopped, and nothing runs them now (resuming the run does)."""
        runs = {s.run_id for s in sessions if s.status == "running" and s.run_id}
        if not runs:
            return set()
        rows = self.db.execute(
            f"SELECT id, status, owner FROM runs WHERE id IN "
            f"({', '.join('?' * len(runs))})", sorted(runs)).fetchall()
        ended = {run_id for run_id, status, owner in rows
                 if run_status({"status": status, "owner": owner}) != "running"}
        return {s.id for s in sessions if s.status == "running" and s.run_id in ended}

    def student_turns_so_far(self, sessions: Sequence[SessionInfo]) -> dict[str, int]:
        """Student turns logged by sessions that have not finished: their counts are written
        when they finish, and a listing should still say how far they got."""
        ids = [s.id for s in sessions if s.student_turns is None]
        if not ids:
            return {}
        rows = self.db.execute(
            f"SELECT session_id, count(*) FROM turns WHERE role = 'student' AND session_id IN "
            f"({', '.join('?' * len(ids))}) GROUP BY session_id", ids).fetchall()
        return {session_id: count for session_id, count in rows}

    # --------------------------------------------------------------------- turns

    def add_turn(self, turn: Turn) -> None:
        with self.writing():
            insert_turns(self.conn, [turn])

    def turns(self, session_id: str, *, since: int = 0) -> list[Turn]:
        """A session's rows in order; from row `since` on (a guest's terminal polls for the
        rows it has not seen)."""
        return [
            Turn.from_row(r)
            for r in self.db.query(
                "SELECT * FROM turns WHERE session_id = ? AND seq >= ? ORDER BY seq",
                [session_id, since],
            )
        ]

    # --------------------------------------------------------------------- inbox

    def mark_present(self, session_id: str, role: str, *, left: bool = False) -> None:
        """A guest terminal's heartbeat (or, with `left`, its goodbye)."""
        with self.writing():
            self.db.table("presence").upsert(
                {"session_id": session_id, "role": role, "seen": now(), "left": int(left)},
                pk="session_id")

    def presence(self, session_id: str) -> tuple[datetime.datetime, bool] | None:
        """(when the guest terminal last said it is there, whether it said it left), or
        None if no guest has joined."""
        row = self.db.execute("SELECT seen, left FROM presence WHERE session_id = ?",
                              [session_id]).fetchone()
        return None if row is None else (datetime.datetime.fromisoformat(row[0]), bool(row[1]))

    def post_inbox(self, session_id: str, role: str, content: str) -> None:
        """A message from a person at a guest terminal, for the host to take as their turn."""
        with self.writing():
            self.db.table("inbox").insert({"session_id": session_id, "role": role,
                                           "content": content, "created": now(),
                                           "consumed": 0})

    def take_inbox(self, session_id: str, role: str) -> str | None:
        """The oldest message for `role` not taken yet, marked taken; None if none waits."""
        with self.writing():  # (read, then mark: one transaction that holds the write lock)
            row = self.db.execute(
                "SELECT id, content FROM inbox WHERE session_id = ? AND role = ? AND "
                "consumed = 0 ORDER BY id LIMIT 1", [session_id, role]).fetchone()
            if row is None:
                return None
            self.db.execute("UPDATE inbox SET consumed = 1 WHERE id = ?", [row[0]])
            return row[1]


_INSERT_TURN = (
    f"INSERT INTO turns ({', '.join(TURN_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in TURN_COLUMNS)})"
)


def insert_turns(conn: sqlite3.Connection, turns: Sequence[Turn]) -> None:
    conn.executemany(_INSERT_TURN, [t.to_row() for t in turns])


def insert_session(conn: sqlite3.Connection, info: SessionInfo) -> None:
    row = info.to_row()
    conn.execute(f"INSERT INTO sessions ({', '.join(row)}) "
                 f"VALUES ({', '.join(':' + k for k in row)})", row)


def _storage_error(path: Path, exc: BaseException) -> SmlError:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return UsageError(f"--db {path}: the database is read-only ({text})")
    if "disk" in text and "full" in text:
        return SmlError(f"--db {path}: the disk is full ({text})")
    if "unable to open" in text:
        return UsageError(f"--db {path}: cannot open the database file ({text})")
    return SmlError(f"--db {path}: {text}")


Operation = Callable[[sqlite3.Connection], object]


class BackgroundWriter:
    """One thread, one connection, group commits. `submit` never blocks on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[Operation | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name="sml-writer", daemon=True)
        self._thread.start()

    def submit(self, op: Operation) -> None:
        self.raise_if_failed()
        with self._idle:
            self._pending += 1
        self._queue.put(op)

    def add_turn(self, turn: Turn) -> None:
        self.submit(lambda conn: insert_turns(conn, [turn]))

    def create_session(self, info: SessionInfo) -> None:
        self.submit(lambda conn: insert_session(conn, info))

    def update_session(self, session_id: str, fields: dict[str, Any]) -> None:
        assignments = ", ".join(f"{k} = :{k}" for k in fields)
        params = {**fields, "_id": session_id}
        self.submit(lambda conn: conn.execute(
            f"UPDATE sessions SET {assignments} WHERE id = :_id", params))

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far is committed."""
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0 or self._error is not None, timeout)
        self.raise_if_failed()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self.raise_if_failed()

    def raise_if_failed(self) -> None:
        if self._error is not None:
            if isinstance(self._error, sqlite3.Error):
                raise _storage_error(self.path, self._error)
            raise self._error

    def _run(self) -> None:
        db: Database | None = None
        try:
            db = Database(connect(self.path))
        except BaseException as exc:
            # Report it through submit/flush/close instead of dying silently (which would
            # leave `flush` waiting forever); keep draining so nobody blocks on the queue.
            self._error = exc
            with self._idle:
                self._idle.notify_all()
        try:
            stop = False
            while not stop:
                batch = [self._queue.get()]
                while True:  # take everything already queued: one transaction, one fsync
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                ops = [op for op in batch if op is not None]
                stop = len(ops) != len(batch)
                if ops and self._error is None and db is not None:
                    try:
                        with immediate_transaction(db):
                            for op in ops:
                                op(db.conn)
                    except BaseException as exc:
                        self._error = exc
                with self._idle:
                    self._pending -= len(ops)
                    self._idle.notify_all()
        finally:
            if db is not None:
                db.conn.close()
