"""Fault tests (issue: "Every fault above has a test that fails if the protection is removed").

* model endpoint faults, against the loopback stub through the real litellm client: 429 (waited
  out, then the session finishes; a persistent one fails after `--rate-limit-wait`; a spent
  quota stops the run), persistent 500 / garbage JSON / a hang past `--timeout` (retried
  exactly `retries` times, then an `error` session while the run completes), 401 (never
  retried); request counts prove the retries, and that the OpenAI client's own retries are off;
  calls refused for their rate slow down together;
* storage faults: a read-only database, a database path that is a folder or lies under a folder
  that cannot be written, and a full disk (a real SQLITE_FULL: the writer's connection gets a
  `max_page_count`): a clear error naming the path, no traceback, committed sessions intact;
* two `sml eval` processes writing one database at once;
* Ctrl-C during `sml chat` (kill -9 / Ctrl-C during `sml eval` live in test_resume.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import EVAL_PROBLEMS, cli_output, sqlite_rows, write_problems
from typer.testing import CliRunner

from sml_cli import chat, cli, evaluate, models, store
from sml_cli.chat import ChatOptions
from sml_cli.cli import app
from sml_cli.evaluate import EvalOptions, EvalRun
from sml_cli.models import ModelSettings
from sml_cli.participants import Message, ParticipantError, Reply, TokenCallback
from sml_cli.store import Store
from sml_cli.testing import (
    ScriptedParticipant,
    StubFault,
    StubServer,
    by_model,
    hint_following_student,
    hinting_teacher,
)
from sml_cli.tui import app as tui_app
from sml_cli.tui.app import ChatApp, run_chat
from sml_cli.tui.screens import StudentScreen
from sml_cli.tui.widgets import Composer

BASE_HANDLER = by_model(student=hint_following_student, teacher=hinting_teacher)
MODELS = ["--student", "openai/student", "--teacher", "openai/teacher"]
Q1, Q2, Q3 = (p["question"] for p in EVAL_PROBLEMS)


def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(app, args)


def asks_about(request: dict[str, Any], question: str) -> bool:
    return any(question in str(m.get("content")) for m in request.get("messages", []))


def requests_for(server: StubServer, question: str, model: str = "student") -> int:
    return sum(1 for r in list(server.requests)
               if r.get("model") == model and asks_about(r, question))


def integrity_ok(db: Path) -> None:
    assert sqlite_rows(db, "PRAGMA integrity_check") == [("ok",)]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    server = StubServer(BASE_HANDLER).start()
    monkeypatch.setenv("OPENAI_API_BASE", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("SML_DB", raising=False)
    yield server
    server.stop()
    assert not server.errors, server.errors


@pytest.fixture
def problems_file(tmp_path: Path) -> Path:
    return write_problems(tmp_path / "problems.jsonl", EVAL_PROBLEMS)


def faulty(question: str, fault: StubFault, times: int | None = None) -> Callable[..., Any]:
    """The base behaviour, except that the student's requests about `question` get `fault`
    (the first `times` of them, or all)."""
    hits = [0]

    def handle(request: dict[str, Any]) -> Any:
        if request.get("model") == "student" and asks_about(request, question):
            hits[0] += 1
            if times is None or hits[0] <= times:
                return fault
        return BASE_HANDLER(request)

    return handle


def run_eval(problems_file: Path, db: Path, *, retries: int = 2, timeout: float = 30.0,
             conditions: tuple[str, ...] = ("none",), max_turns: int = 1,
             run_id: str = "faults", rate_limit_wait: float = 5.0,
             ) -> tuple[dict[str, Any], dict[str, tuple[str, str | None]]]:
    """An in-process eval against the stub; (results JSON, problem id →
    (status, error))."""
    settings = ModelSettings(retries=retries, retry_base_s=0.01, timeout=timeout,
                             rate_limit_wait=rate_limit_wait)
    options = EvalOptions(student="openai/student", teacher="openai/teacher",
                          problems=str(problems_file), conditions=list(conditions),
                          max_turns=max_turns, run_id=run_id, db=str(db), concurrency=3,
                          student_settings=settings, teacher_settings=settings)
    eval_run = EvalRun(options)
    eval_run.prepare_models()
    # A bound of our own: if a fault made the run hang, fail here, not at pytest's timeout.
    _, interrupted = asyncio.run(asyncio.wait_for(eval_run.execute(), 30))
    assert not interrupted, "the run did not finish within 30 s"
    result = eval_run.result().to_json()
    eval_run.store.close()
    rows = sqlite_rows(db, "SELECT problem_id, status, error FROM sessions WHERE run_id = ?",
                       [run_id])
    assert sqlite_rows(db, "SELECT status FROM runs WHERE id = ?", [run_id]) == [("done",)]
    return result, {p: (s, e) for p, s, e in rows}


# ----------------------------------------------------------------------------- endpoint faults


def test_rate_limit_is_waited_out_and_the_session_finishes(
    transport: str, stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    """429s are not faults: `retries=0` does not stop a call from waiting them out."""
    stub.handler = faulty(Q1, StubFault(status=429, body="slow down"), times=3)
    result, sessions = run_eval(problems_file, tmp_path / "r.db", retries=0)
    assert requests_for(stub, Q1) == 4  # three 429s, then the answer
    assert sessions == {"q1": ("done", None), "q2": ("done", None), "q3": ("done", None)}
    assert result["conditions"]["none"]["n_errors"] == 0
    assert requests_for(stub, Q2) == requests_for(stub, Q3) == 1


def test_a_persistent_rate_limit_ends_the_session_after_the_rate_limit_wait(
    transport: str, stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    stub.handler = faulty(Q2, StubFault(status=429, body="slow down"))
    started = time.monotonic()
    result, sessions = run_eval(problems_file, tmp_path / "p.db", retries=0,
                                rate_limit_wait=0.5)
    assert time.monotonic() - started < 20
    assert requests_for(stub, Q2) > 2  # waited out, while the budget lasted
    status, error = sessions["q2"]
    assert status == "error" and error
    assert "RateLimitError" in error and "--rate-limit-wait" in error, error
    assert sessions["q1"] == sessions["q3"] == ("done", None)
    assert result["conditions"]["none"]["n_errors"] == 1


def test_a_wait_longer_than_the_rate_limit_wait_fails_at_once(
    transport: str, stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    """A daily limit that asks for an hour is not slept on for five minutes first."""
    stub.handler = faulty(Q2, StubFault(status=429, body="Rate limit reached for requests per "
                                        "day. Please try again in 1h2m0s."))
    _, sessions = run_eval(problems_file, tmp_path / "d.db", rate_limit_wait=60)
    assert requests_for(stub, Q2) == 1
    status, error = sessions["q2"]
    assert status == "error" and "asks to wait 3720 s" in (error or ""), error


def test_a_spent_quota_stops_the_run(transport: str, stub: StubServer, tmp_path: Path) -> None:
    """OpenAI's 429 for an account without credit is no rate limit: no wait lifts it, and
    every session would meet it, so the run stops at once, saying why."""
    rows = [{"id": f"p{i}", "question": f"Crates of {i} eggs: how many eggs?", "answer": "7"}
            for i in range(20)]
    problems = write_problems(tmp_path / "many.jsonl", rows)
    stub.handler = lambda request: StubFault(
        status=429, body="You exceeded your current quota, please check your plan and billing "
        "details. For more information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.")
    result = invoke(["eval", *MODELS, "--problems", str(problems), "--conditions", "none",
                     "--max-turns", "1", "--concurrency", "2", "--db", str(tmp_path / "q.db"),
                     "--quiet"])
    output = cli_output(result)
    assert result.exit_code == 1, output
    assert "Stopped" in output and "quota or credit is spent" in output
    assert len(stub.requests) <= 2  # one per session in flight, never retried


def test_calls_refused_for_their_rate_slow_down_together(
    transport: str, stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixty calls at once against an API allowing three at a time: each refusal halves how
    many calls go at once, so the calls settle near the limit instead of each retrying
    into it."""
    stub.max_in_flight, stub.rate_retry_ms, stub.latency = 3, 50, 0.1
    settings = ModelSettings(retries=0, retry_base_s=0.01, rate_limit_wait=60)
    messages: list[Message] = [{"role": "user", "content": "What is 2 + 2?"}]

    async def sixty_calls() -> list[str]:
        model = models.make_model("openai/student", settings)
        replies = await asyncio.gather(*(model.respond(messages) for _ in range(60)))
        await models.close_http_sessions()
        return [r.content for r in replies]

    assert len(asyncio.run(sixty_calls())) == 60
    assert stub.peak_in_flight <= 3
    # Paced: the first burst (57) and ≈ 30 + 15 + 8 + … more as the limit is halved down to
    # three, ≈ 110 in all; unpaced, 270–570 here.
    assert stub.refused_for_rate < 3 * 60, stub.refused_for_rate


def test_an_eval_says_how_rate_limits_paced_it(
    stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    stub.max_in_flight, stub.latency = 1, 0.05
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--conditions", "none",
                     "--max-turns", "1", "--concurrency", "3", "--retries", "0",
                     "--db", str(tmp_path / "n.db")])
    output = cli_output(result)
    assert result.exit_code == 0, output
    assert stub.refused_for_rate > 0
    assert "openai/student: " in output and "refused for the rate (429)" in output, output


PERSISTENT_FAULTS = [
    # (fault, retries, requests the endpoint must see, words in the stored error)
    pytest.param(StubFault(status=500, body="upstream exploded"), 2, 3,
                 ["InternalServerError", "upstream exploded"], id="500"),
    pytest.param(StubFault(garbage=True), 2, 3, [], id="garbage-json"),
    pytest.param(StubFault(hang=True), 1, 2, ["Timeout"], id="hang"),
    pytest.param(StubFault(status=400, body="context too long"), 2, 1, ["BadRequestError"],
                 id="400-not-retried"),
]


@pytest.mark.parametrize(("fault", "retries", "expected", "words"), PERSISTENT_FAULTS)
def test_persistent_endpoint_fault_is_an_error_session_and_the_run_completes(
    fault: StubFault, retries: int, expected: int, words: list[str], transport: str,
    stub: StubServer, problems_file: Path, tmp_path: Path,
) -> None:
    stub.handler = faulty(Q2, fault)
    started = time.monotonic()
    result, sessions = run_eval(problems_file, tmp_path / "f.db", retries=retries,
                                timeout=0.5 if fault.hang else 30.0)
    # Exactly retries + 1 calls (one for what is never retried): our loop retried, and the
    # OpenAI client inside litellm did not retry on its own on top of it.
    assert requests_for(stub, Q2) == expected
    status, error = sessions["q2"]
    assert status == "error"
    assert error and "openai/student" in error
    for word in words:
        assert word in error, error
    assert sessions["q1"] == sessions["q3"] == ("done", None)
    scores = result["conditions"]["none"]
    assert (scores["n_sessions"], scores["n_errors"]) == (3, 1)
    if fault.hang:
        assert time.monotonic() - started < 20  # the timeout cut the hanging calls short


@pytest.mark.parametrize(("status", "kind"), [(401, "AuthenticationError"),
                                              (404, "NotFoundError")])
def test_a_rejected_key_or_unknown_model_stops_the_run_and_a_resume_finishes_it(
    status: int, kind: str, transport: str, stub: StubServer, tmp_path: Path,
) -> None:
    """Every call would fail alike: the run stops at the first such error (exit 1, saying
    why) instead of failing every session after one unretried request each; once the cause
    is fixed, the same command resumes and finishes every session."""
    rows = [{"id": f"p{i}", "question": f"Crates of {i} eggs: how many eggs?", "answer": "7"}
            for i in range(40)]
    problems = write_problems(tmp_path / "many.jsonl", rows)
    stub.handler = lambda request: StubFault(status=status, body="no such key or model")
    args = ["eval", *MODELS, "--problems", str(problems), "--conditions", "none",
            "--max-turns", "1", "--concurrency", "2", "--run-id", "stop",
            "--db", str(tmp_path / "s.db"), "--quiet"]
    result = invoke(args)
    output = cli_output(result)
    assert result.exit_code == 1, output
    assert "Stopped" in output and kind in output and "--run-id stop" in output
    assert len(stub.requests) <= 4  # not 40: the sessions after the first failure never ran
    statuses = dict(sqlite_rows(tmp_path / "s.db",
                                "SELECT status, count(*) FROM sessions GROUP BY status"))
    assert statuses.get("error", 0) >= 1 and "done" not in statuses
    stub.handler = BASE_HANDLER
    result = invoke(args)
    assert result.exit_code == 0, cli_output(result)
    assert sqlite_rows(tmp_path / "s.db", "SELECT status, count(*) FROM sessions "
                       "GROUP BY status") == [("done", 40)]


def test_cli_retries_and_timeout_flags(
    stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    """`--retries 1`: a single 429 is survived, a persistent 500 gives up after 2 calls."""
    once = faulty(Q1, StubFault(status=429), times=1)
    always = faulty(Q2, StubFault(status=500, body="upstream exploded"))

    def handle(request: dict[str, Any]) -> Any:
        return (always if asks_about(request, Q2) else once)(request)

    stub.handler = handle
    db, out = tmp_path / "c.db", tmp_path / "c.json"
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--conditions", "none",
                     "--max-turns", "1", "--retries", "1", "--timeout", "5", "--db", str(db),
                     "--json", str(out), "--quiet"])
    assert result.exit_code == 0, cli_output(result)
    assert requests_for(stub, Q1) == 2 and requests_for(stub, Q2) == 2
    rows = dict(sqlite_rows(db, "SELECT problem_id, status FROM sessions"))
    assert rows == {"q1": "done", "q2": "error", "q3": "done"}
    data = json.loads(out.read_text())
    assert data["conditions"]["none"]["n_errors"] == 1


# ----------------------------------------------------------------------------- storage faults


@pytest.fixture
def scripted_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """`sml eval` with scripted participants: no litellm, no endpoint."""
    scripts = {"openai/student": hint_following_student, "openai/teacher": hinting_teacher}
    monkeypatch.setattr(evaluate, "make_model",
                        lambda name, settings: ScriptedParticipant(scripts[name], name))
    monkeypatch.setattr(models, "_import_litellm", lambda: None)
    monkeypatch.delenv("SML_DB", raising=False)


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """A file or folder nobody may write, root included (root ignores chmod: chattr +i)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        parent_mode = path.parent.stat().st_mode
        if path.is_file():
            path.parent.chmod(0o555)  # no -wal / -shm files either
        try:
            yield
        finally:
            path.parent.chmod(parent_mode)
            path.chmod(mode)
        return
    try:
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("running as root without a working chattr: cannot make a path read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)


def assert_clean_usage_error(result: Any, path: Path, *words: str) -> str:
    output = cli_output(result)
    assert result.exit_code == 2, output
    flat = output.replace("\n", "")
    assert str(path) in flat, output
    for word in words:
        assert word in flat, output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return output


def transcript_file(tmp_path: Path) -> Path:
    row = {"problem": {"question": Q1, "answer": "40123"},
           "turns": [{"role": "student", "content": "Final answer: 40123"}]}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return path


def test_read_only_database_is_a_clear_usage_error(
    scripted_models: None, monkeypatch: pytest.MonkeyPatch, problems_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "ro" / "ro.db"
    db.parent.mkdir()
    # (Set up with a command that closes its database: an open read-write connection left
    # in this process would lend SQLite a writable file descriptor for the same file.)
    first = invoke(["sessions", "import", str(transcript_file(tmp_path)), "--run-id", "before",
                    "--db", str(db)])
    assert first.exit_code == 0, cli_output(first)
    before = sqlite_rows(db, "SELECT count(*) FROM sessions")
    with unwritable(db):
        result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--max-turns",
                         "2", "--run-id", "after", "--db", str(db), "--quiet"])
        assert_clean_usage_error(result, db, "read-only")
        imported = invoke(["sessions", "import", str(transcript_file(tmp_path)),
                           "--db", str(db)])
        assert_clean_usage_error(imported, db, "read-only")
        # `sml chat` creates its session before the UI starts: refused there, not in the UI.
        monkeypatch.setattr(chat, "make_model", lambda model, settings: ScriptedParticipant(
            hinting_teacher, model))
        monkeypatch.setattr(ChatApp, "run", lambda self, *a, **k: pytest.fail("UI started"))
        monkeypatch.setattr(tui_app, "need_a_terminal", lambda: None)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # (a chat refuses openai/… without)
        chatted = invoke(["chat", "--role", "student", "--teacher", "openai/teacher",
                          "--problems", str(problems_file), "--db", str(db)])
        assert_clean_usage_error(chatted, db, "read-only")
        # Reading still works.
        listing = invoke(["sessions", "list", "--db", str(db)])
        assert listing.exit_code == 0, cli_output(listing)
    assert sqlite_rows(db, "SELECT count(*) FROM sessions") == before
    assert sqlite_rows(db, "SELECT id FROM runs") == [("before",)]
    integrity_ok(db)


def test_database_path_that_is_a_folder(scripted_models: None, problems_file: Path,
                                        tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--db", str(folder)])
    assert_clean_usage_error(result, folder, "is a directory")
    imported = invoke(["sessions", "import", str(transcript_file(tmp_path)),
                       "--db", str(folder)])
    assert_clean_usage_error(imported, folder, "is a directory")
    assert list(folder.iterdir()) == []


def test_database_under_a_folder_that_cannot_be_written(
    scripted_models: None, problems_file: Path, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    db = locked / "new.db"
    with unwritable(locked):
        result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--db", str(db)])
        assert_clean_usage_error(result, db)
    assert not db.exists()
    # A folder that cannot even be created (its parent is a file).
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    nested = blocker / "sub" / "x.db"
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--db", str(nested)])
    assert_clean_usage_error(result, nested, "folder")


def test_disk_full_while_the_writer_commits(
    scripted_models: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A real SQLITE_FULL in the background writer: the writer's connection may not grow the
    file past a few pages (`PRAGMA max_page_count`, what a full disk looks like to SQLite)."""
    long_turn = "Let me think this through step by step. " * 150  # ~6 KB: overflow pages
    monkeypatch.setattr(evaluate, "make_model", lambda name, settings: ScriptedParticipant(
        [long_turn + "Final answer: 0"], name, delay=0.005))
    real_connect = store.connect

    def connect(path: Path) -> sqlite3.Connection:
        conn = real_connect(path)
        if path.name == "full.db" and threading.current_thread().name == "sml-writer":
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages + 12}")
        return conn

    monkeypatch.setattr(store, "connect", connect)
    problems = write_problems(tmp_path / "many.jsonl", [
        {"id": f"m{i}", "question": f"Crate {i} holds boxes of pens. How many pens?",
         "answer": str(70000 + i)} for i in range(12)])
    db = tmp_path / "full.db"
    result = invoke(["eval", *MODELS, "--problems", str(problems), "--conditions", "none",
                     "--max-turns", "2", "--concurrency", "1", "--run-id", "full",
                     "--db", str(db), "--quiet"])
    output = cli_output(result)
    assert result.exit_code == 1, output
    flat = output.replace("\n", "")
    assert "disk is full" in flat and str(db) in flat, output
    assert "Traceback" not in output
    # What was committed before the disk filled up is intact and readable.
    integrity_ok(db)
    sessions = sqlite_rows(db, "SELECT id, status FROM sessions WHERE run_id = 'full'")
    assert 1 <= sum(1 for _, s in sessions if s == "done") < 12, sessions
    for sid, status in sessions:
        seqs = [s for (s,) in sqlite_rows(db, "SELECT seq FROM turns WHERE session_id = ? "
                                              "ORDER BY seq", [sid])]
        assert seqs == list(range(len(seqs)))
        if status == "done":
            assert len(seqs) == 7  # prompt, question, 2 × (attempt, verdict), 1 feedback
    listing = invoke(["sessions", "list", "--db", str(db), "--run-id", "full"])
    assert listing.exit_code == 0, cli_output(listing)
    report = invoke(["report", "full", "--db", str(db)])
    assert report.exit_code == 0, cli_output(report)


# ----------------------------------------------------------------------------- two writers


class BarrierStub(StubServer):
    """Answers no chat request until requests from every one of `models` have arrived, so the
    processes that use them are provably running at the same time."""

    def __init__(self, *args: Any, models: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_for = set(models)

    async def _respond(self, method: str, path: str, body: bytes, writer: Any,
                       headers: dict[str, str]) -> None:
        with contextlib.suppress(ValueError):
            self.waiting_for.discard(json.loads(body or b"{}").get("model"))
        deadline = time.monotonic() + 60
        while self.waiting_for and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await super()._respond(method, path, body, writer, headers)


def test_two_eval_processes_write_one_database_at_once(
    problems_file: Path, tmp_path: Path
) -> None:
    handler = by_model(student=hint_following_student, student2=hint_following_student,
                       teacher=hinting_teacher)
    db = tmp_path / "shared.db"
    with BarrierStub(handler, latency=0.0, models={"student", "student2"}) as server:
        env = {k: v for k, v in os.environ.items() if k != "SML_DB"}
        env.update(OPENAI_API_BASE=server.url, OPENAI_API_KEY="sk-test")
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "sml_cli", "eval", "--student", f"openai/{name}",
                 "--teacher", "openai/teacher", "--problems", str(problems_file),
                 "--conditions", "answer,none", "--max-turns", "3", "--concurrency", "6",
                 "--run-id", run_id, "--db", str(db), "--quiet"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name, run_id in (("student", "run-a"), ("student2", "run-b"))
        ]
        # A process that fails at once would leave the other waiting at the barrier: then
        # release it, so the failure shows now, with its message, not after a timeout.
        deadline = time.monotonic() + 120
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            if any(p.poll() not in (None, 0) for p in procs):
                server.waiting_for.clear()
            time.sleep(0.05)
        outputs = [p.communicate(timeout=5) for p in procs]
        for proc, (_, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err
        assert not server.waiting_for
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    integrity_ok(db)
    rows = sqlite_rows(db, "SELECT run_id, problem_id, condition, sample, status, solved, "
                           "created, finished FROM sessions")
    assert len(rows) == 2 * 3 * 2
    cells = {(r, p, c, s) for r, p, c, s, *_ in rows}
    assert len(cells) == len(rows)  # no duplicates
    assert {status for *_, status, _, _, _ in rows} == {"done"}
    for run_id in ("run-a", "run-b"):
        solved = sqlite_rows(db, "SELECT condition, sum(solved) FROM sessions WHERE run_id = ? "
                                 "GROUP BY condition ORDER BY condition", [run_id])
        assert solved == [("answer", 3), ("none", 0)]
    assert sqlite_rows(db, "SELECT id, status FROM runs ORDER BY id") == [
        ("run-a", "done"), ("run-b", "done")]
    # The two runs overlapped in time (the stub held both until each had called it).
    span = {r: (min(c for rr, *_, c, _ in rows if rr == r), max(f for rr, *_, f in rows
                                                                 if rr == r))
            for r in ("run-a", "run-b")}
    assert span["run-a"][0] < span["run-b"][1] and span["run-b"][0] < span["run-a"][1]
    for (sid,) in sqlite_rows(db, "SELECT id FROM sessions"):
        seqs = [s for (s,) in sqlite_rows(db, "SELECT seq FROM turns WHERE session_id = ? "
                                              "ORDER BY seq", [sid])]
        assert seqs == list(range(len(seqs)))


# ----------------------------------------------------------------------------- Ctrl-C in chat


class SlowTeacher:
    """A model teacher whose reply takes until `release` is set."""

    name = "slow-teacher"

    def __init__(self) -> None:
        self.release: asyncio.Event | None = None
        self.called = 0

    async def respond(self, messages: list[Message],
                      on_token: TokenCallback | None = None) -> Reply:
        self.called += 1
        self.release = asyncio.Event()
        await self.release.wait()
        return Reply("Think again: the result is one more than 40122.", model=self.name)


@pytest.fixture
def chat_setup(monkeypatch: pytest.MonkeyPatch, problems_file: Path,
               tmp_path: Path) -> tuple[dict[str, Any], ChatOptions]:
    registry: dict[str, Any] = {}
    monkeypatch.setattr(chat, "make_model", lambda model, settings: registry[model])
    monkeypatch.setattr(models, "_import_litellm", lambda: None)
    options = ChatOptions(role="student", teacher="slow-teacher", problems=str(problems_file),
                          problem_id="q1", max_turns=4, db=str(tmp_path / "chat.db"))
    return registry, options


def launch(monkeypatch: pytest.MonkeyPatch, options: ChatOptions, **kwargs: Any) -> ChatApp:
    apps: list[ChatApp] = []
    with monkeypatch.context() as m:
        m.setattr(ChatApp, "run", lambda self, *a, **k: apps.append(self))
        m.setattr(tui_app, "need_a_terminal", lambda: None)  # (as if in a terminal)
        run_chat(options, **kwargs)
    return apps[0]


async def until(predicate: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def test_ctrl_c_in_chat_while_the_model_replies_loses_nothing(
    monkeypatch: pytest.MonkeyPatch, chat_setup: tuple[dict[str, Any], ChatOptions]
) -> None:
    registry, options = chat_setup
    teacher = registry["slow-teacher"] = SlowTeacher()
    app_ = launch(monkeypatch, options)
    session_id = app_.initial.info.id

    async def main() -> None:
        async with app_.run_test(size=(110, 40)) as pilot:
            assert isinstance(app_.screen, StudentScreen)
            box = app_.screen.query_one("#message", Composer)
            await until(lambda: app_.focused is box, "focus on the message box")
            box.value = "Final answer: 7"
            await box.action_submit()
            await until(lambda: teacher.called == 1, "the teacher to be asked")
            # Ctrl-C in the TUI is a key, not a kill: the app and the session go on.
            await pilot.press("ctrl+c")
            await asyncio.sleep(0.05)
            assert app_.is_running and app_.initial.info.status == "running"
            await pilot.press("ctrl+q")  # quit with the teacher's reply still in flight
            await until(lambda: not app_.is_running, "the app to quit")

    asyncio.run(main())
    with Store(options.db) as db:
        info = db.session(session_id)
        assert (info.status, info.error) == ("running", None)  # resumable, not an error
        turns = db.turns(session_id)
    assert [(t.role, t.kind) for t in turns] == [
        ("system", "student_prompt"), ("system", "question"), ("system", "teacher_prompt"),
        ("student", "attempt"), ("verifier", "verdict")]
    assert turns[3].content == "Final answer: 7"

    # `sml chat --resume` continues at the teacher's turn: the reply that was cut off.
    registry["slow-teacher"] = ScriptedParticipant(hinting_teacher, "slow-teacher")
    resumed = launch(monkeypatch, ChatOptions(db=options.db), resume=session_id)

    async def again() -> None:
        async with resumed.run_test(size=(110, 40)):
            await until(lambda: len(resumed.initial.turns) == 6, "the teacher's reply")

    asyncio.run(again())
    with Store(options.db) as db:
        turns = db.turns(session_id)
    assert [t.seq for t in turns] == list(range(6))
    assert turns[-1].role == "teacher" and "one more than 40122" in turns[-1].content


def test_keyboard_interrupt_during_chat_exits_130_and_keeps_the_session(
    monkeypatch: pytest.MonkeyPatch, chat_setup: tuple[dict[str, Any], ChatOptions],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A SIGINT that reaches Python while the chat runs (e.g. `kill -INT`)."""
    registry, options = chat_setup
    registry["slow-teacher"] = SlowTeacher()

    def interrupted(self: ChatApp, *args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ChatApp, "run", interrupted)
    monkeypatch.setattr(tui_app, "need_a_terminal", lambda: None)
    monkeypatch.setattr(sys, "argv", [
        "sml", "chat", "--role", "student", "--teacher", "slow-teacher", "--problems",
        options.problems, "--problem", "q1", "--db", str(options.db)])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "Interrupted." in err
    rows = sqlite_rows(Path(str(options.db)), "SELECT status, error FROM sessions")
    assert rows == [("running", None)]  # left as it was: `sml chat --resume` continues it



@pytest.fixture
def dead_endpoint(monkeypatch: pytest.MonkeyPatch) -> str:
    """A loopback URL nothing listens on (a port bound, then let go)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    monkeypatch.setenv("OPENAI_API_BASE", url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("SML_DB", raising=False)
    return url


def test_a_server_that_is_not_running_stops_the_run(
    transport: str, dead_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listens at the API base: after a few sessions fail to connect, with none
    getting through, the run stops (exit 1, saying to check the server) instead of
    retrying all 30; started later, the same command resumes and finishes it."""
    rows = [{"id": f"p{i}", "question": f"Bags of {i} nuts: how many nuts?", "answer": "7"}
            for i in range(30)]
    problems = write_problems(tmp_path / "many.jsonl", rows)
    args = ["eval", *MODELS, "--problems", str(problems), "--conditions", "none",
            "--max-turns", "1", "--concurrency", "2", "--retries", "0", "--run-id", "down",
            "--db", str(tmp_path / "d.db"), "--quiet"]
    result = invoke(args)
    output = " ".join(cli_output(result).split())
    assert result.exit_code == 1, output
    assert "could not connect and none has" in output and "is the server running" in output
    assert "--run-id down" in output
    failed = sqlite_rows(tmp_path / "d.db", "SELECT count(*) FROM sessions WHERE status = "
                         "'error'")[0][0]
    assert evaluate.UNREACHABLE_STOP <= failed <= evaluate.UNREACHABLE_STOP + 1
    # Each stored error names the address to check, not only the socket the client tried.
    errors = sqlite_rows(tmp_path / "d.db", "SELECT DISTINCT error FROM sessions WHERE "
                         "status = 'error'")
    assert all(f"nothing answers at {dead_endpoint}" in e for (e,) in errors), errors
    with StubServer(BASE_HANDLER) as server:
        monkeypatch.setenv("OPENAI_API_BASE", server.url)
        result = invoke(args)
    assert result.exit_code == 0, cli_output(result)
    assert sqlite_rows(tmp_path / "d.db", "SELECT status, count(*) FROM sessions "
                       "GROUP BY status") == [("done", 30)]


class _Unreachable:
    """A participant whose server answers the first session, then goes away."""

    name = "openai/flaky"

    def __init__(self, answered: list[int]) -> None:
        self.answered = answered

    async def respond(self, messages: list[Message],
                      on_token: TokenCallback | None = None) -> Reply:
        if not self.answered:
            self.answered.append(1)
            return Reply("Final answer: 40123")
        raise ParticipantError("openai/flaky: ClientConnectorError: refused",
                                      unreachable=True)


def test_connection_failures_after_a_session_got_through_do_not_stop_the_run(
    problems_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a session has finished, the server exists: later connection failures are
    faults of the moment, stored as errors while the run goes on (SPEC §6)."""
    answered: list[int] = []
    rows = [{"id": f"p{i}", "question": f"Crates {i}: how many rolls?", "answer": "40123"}
            for i in range(8)]
    path = write_problems(tmp_path / "eight.jsonl", rows)
    options = EvalOptions(student="openai/flaky", problems=str(path), conditions=["none"],
                          max_turns=1, run_id="flaky", db=str(tmp_path / "f.db"),
                          concurrency=1)
    eval_run = EvalRun(options)
    monkeypatch.setattr(eval_run, "_participants",
                        lambda cell: (_Unreachable(answered), None))
    _, interrupted = asyncio.run(eval_run.execute())
    eval_run.store.close()
    assert not interrupted and eval_run.stopped_by is None
    assert sqlite_rows(tmp_path / "f.db", "SELECT status, count(*) FROM sessions GROUP BY "
                       "status ORDER BY status") == [("done", 1), ("error", 7)]


def test_unreachable_is_told_apart_from_other_faults() -> None:
    class APIConnectionError(Exception):
        pass

    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except ConnectionRefusedError as inner:
            raise APIConnectionError("Connection error.") from inner
    except APIConnectionError as wrapped:
        assert models.is_unreachable(wrapped)
    assert models.is_unreachable(OSError("Cannot connect to host example.invalid:443"))
    assert not models.is_unreachable(TimeoutError("read timed out"))
    assert not models.is_unreachable(models.HTTPStatusError(503, "overloaded"))
