"""Resuming `sml eval` runs (SPEC §7): a finished run re-run adds nothing; a run killed with
SIGKILL or stopped with Ctrl-C (SIGINT) loses only its in-flight sessions and is completed
by re-running it with the same --run-id; different options under one --run-id are refused.

The kill and Ctrl-C tests run `sml eval` in a subprocess against a slow loopback stub;
everything else runs in-process (CliRunner)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import (
    EVAL_PROBLEMS,
    cli_output,
    sqlite_rows,
    write_problems,
)
from typer.testing import CliRunner

from sml_cli.cli import app
from sml_cli.store import Store
from sml_cli.testing import (
    StubFault,
    StubServer,
    by_model,
    hint_following_student,
    hinting_teacher,
)

MODELS = ["--student", "openai/student", "--teacher", "openai/teacher"]
PROBLEMS = [
    *EVAL_PROBLEMS,
    {"id": "q4", "question": "A shop stacks tins of paint. How many tins?", "answer": "73456"},
]
CONDITIONS = "answer,none"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    server = StubServer(by_model(student=hint_following_student, teacher=hinting_teacher))
    server.start()
    monkeypatch.setenv("OPENAI_API_BASE", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("SML_DB", raising=False)
    yield server
    server.stop()


@pytest.fixture
def problems_file(tmp_path: Path) -> Path:
    return write_problems(tmp_path / "problems.jsonl", PROBLEMS)


def eval_args(problems_file: Path, db: Path, run_id: str, *extra: str) -> list[str]:
    return ["eval", *MODELS, "--problems", str(problems_file), "--conditions", CONDITIONS,
            "--max-turns", "3", "--run-id", run_id, "--db", str(db), *extra]


def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(app, args)


def done_sessions(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM sessions WHERE status = 'done'"
                                ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def start_eval(args: list[str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "SML_DB"}
    return subprocess.Popen(
        [sys.executable, "-m", "sml_cli", *args, "--quiet", "--concurrency", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell may start us with SIGINT ignored; the child must get Python's default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def snapshot(db: Path) -> dict[str, Any]:
    sessions = sqlite_rows(db, "SELECT id, problem_id, condition, sample, status, solved, "
                               "solved_at_turn, student_turns FROM sessions")
    turns = sqlite_rows(db, "SELECT session_id, seq, turn, role, kind FROM turns "
                            "ORDER BY session_id, seq")
    return {"sessions": sorted(sessions), "turns": turns}


def check_complete(db: Path) -> None:
    """Every cell exactly once, done, with contiguous rows and the expected outcome."""
    rows = sqlite_rows(db, "SELECT id, problem_id, condition, sample, status, solved, "
                           "solved_at_turn, student_turns FROM sessions")
    assert len(rows) == len(PROBLEMS) * 2
    cells = {(p, c, s) for _, p, c, s, *_ in rows}
    assert len(cells) == len(rows)  # unique (problem, condition, sample)
    for sid, _, condition, _, status, solved, at, student_turns in rows:
        assert status == "done"
        if condition == "answer":
            assert (solved, at, student_turns) == (1, 2, 2)
        else:
            assert (solved, at, student_turns) == (0, None, 3)
        seqs = [s for (s,) in sqlite_rows(db, "SELECT seq FROM turns WHERE session_id = ? "
                                              "ORDER BY seq", [sid])]
        assert seqs == list(range(len(seqs)))
        student = sqlite_rows(db, "SELECT turn FROM turns WHERE session_id = ? AND "
                                  "role = 'student' ORDER BY seq", [sid])
        assert [t for (t,) in student] == list(range(1, student_turns + 1))
        prompts = sqlite_rows(db, "SELECT count(*) FROM turns WHERE session_id = ? AND "
                                  "kind IN ('student_prompt', 'question')", [sid])
        assert prompts == [(2,)]


# ----------------------------------------------------------------------------- in-process


def test_rerunning_a_finished_run_adds_nothing(
    stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "r.db"
    first_json, second_json = tmp_path / "1.json", tmp_path / "2.json"
    first = invoke(eval_args(problems_file, db, "again", "--json", str(first_json)))
    assert first.exit_code == 0, cli_output(first)
    before = snapshot(db)
    calls = len(stub.requests)
    second = invoke(eval_args(problems_file, db, "again", "--json", str(second_json)))
    assert second.exit_code == 0, cli_output(second)
    assert "Resuming run again: 8 of 8 sessions already done" in cli_output(second)
    assert snapshot(db) == before
    assert len(stub.requests) == calls  # no model was called
    a, b = json.loads(first_json.read_text()), json.loads(second_json.read_text())
    assert a["conditions"] == b["conditions"] and a["deltas"] == b["deltas"]
    check_complete(db)


def test_errored_sessions_are_retried_in_place_on_resume(
    stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    healthy = stub.handler

    def flaky(request: dict[str, Any]) -> Any:
        if request["model"] == "student" and any(
            PROBLEMS[1]["question"] in m["content"] for m in request["messages"]
        ):
            return StubFault(status=503)
        return healthy(request)

    db = tmp_path / "e.db"
    stub.handler = flaky
    first = invoke(eval_args(problems_file, db, "flaky", "--retries", "0", "--quiet"))
    assert first.exit_code == 0, cli_output(first)
    errored = sqlite_rows(db, "SELECT id FROM sessions WHERE status = 'error'")
    assert len(errored) == 2  # q2 under both conditions

    stub.handler = healthy
    second = invoke(eval_args(problems_file, db, "flaky", "--retries", "0", "--quiet"))
    assert second.exit_code == 0, cli_output(second)
    check_complete(db)
    for (sid,) in errored:  # the same session rows, continued, with the error cleared
        assert sqlite_rows(db, "SELECT status, error FROM sessions WHERE id = ?", [sid]) == [
            ("done", None)]


def test_a_run_another_live_process_is_running_is_not_resumed_beside_it(
    stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    """Two `sml eval --run-id R` at once would both take R's unfinished sessions, running
    them twice (and the second died on a UNIQUE constraint when it created a session the
    first had just created). A run whose process is alive on this machine is refused, naming
    that process; once the process is gone, the same command resumes."""
    db = tmp_path / "busy.db"
    assert invoke(eval_args(problems_file, db, "busy")).exit_code == 0
    with sqlite3.connect(db) as conn:  # as it stands while another process runs it
        conn.execute("UPDATE sessions SET status = 'running' WHERE condition = 'none'")
        conn.execute("UPDATE runs SET status = 'running'")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE runs SET owner = ?", [f"{socket.gethostname()}:{other.pid}"])
        requests = len(stub.requests)
        result = invoke(eval_args(problems_file, db, "busy"))
        text = cli_output(result)
        assert result.exit_code == 2, text
        assert f"process {other.pid}" in text and "--run-id busy" in text, text
        assert len(stub.requests) == requests  # nothing was run
        assert sqlite_rows(db, "SELECT count(*) FROM sessions WHERE status = 'running'") == [
            (len(PROBLEMS),)]
    finally:
        other.kill()
        other.wait()
    result = invoke(eval_args(problems_file, db, "busy"))
    assert result.exit_code == 0, cli_output(result)
    check_complete(db)


@pytest.mark.parametrize(("flags", "named"), [
    (["--max-turns", "4"], "--max-turns"),
    (["--student", "openai/other"], "--student"),
    (["--teacher", "openai/other"], "--teacher"),
    (["--conditions", "answer"], "--conditions"),
    (["--guard", "flag"], "--guard"),
    (["--samples", "2"], "--samples"),
    (["--limit", "2"], "--problems/--limit"),
])
def test_same_run_id_with_different_options_is_refused(
    flags: list[str], named: str, stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "r.db"
    # A run that exists (its sessions need not be finished for the check).
    from sml_cli.store import Store

    with Store(db) as store:
        from sml_cli.evaluate import EvalOptions, run_config
        from sml_cli.problems import load_problems
        from sml_cli.prompts import Prompts

        options = EvalOptions(student="openai/student", teacher="openai/teacher",
                              problems=str(problems_file), conditions=["answer", "none"],
                              max_turns=3)
        store.create_run("fixed", "eval", run_config(
            options, load_problems(str(problems_file)), Prompts()))
    args = eval_args(problems_file, db, "fixed")
    # later options win in click: append the changed flag
    result = invoke([*args, *flags])
    output = cli_output(result)
    assert result.exit_code == 2, output
    assert named in output and "fixed" in output
    assert sqlite_rows(db, "SELECT count(*) FROM sessions") == [(0,)]
    assert stub.requests == []
    # The same options are accepted.
    same = invoke([*args, "--concurrency", "3"])  # concurrency is not part of a run's identity
    assert same.exit_code == 0, cli_output(same)


def test_a_different_problem_list_is_said_with_counts_not_hashes(
    stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    """The problem lists' hashes decide whether they are the same; the message says it in
    terms a person can check: how many problems the run has and the command selects."""
    db = tmp_path / "r.db"
    first = invoke(eval_args(problems_file, db, "listed", "--limit", "2", "--quiet"))
    assert first.exit_code == 0, cli_output(first)
    config = json.loads(sqlite_rows(db, "SELECT config FROM runs")[0][0])
    for flags, says in (
        (["--limit", "3"], "the run has 2 problems, this command selects 3"),
        ([], "the run has 2 problems, this command selects 4"),
        (["--limit", "2", "--shuffle", "--seed", "0"],
         "the run has 2 problems and this command selects 2, but other ones or in another "
         "order"),
    ):
        result = invoke(eval_args(problems_file, db, "listed", *flags))
        output = " ".join(cli_output(result).split())
        assert result.exit_code == 2, output
        assert f"--problems/--limit/--shuffle (the problem list): {says}" in output
        assert config["problem_keys"] not in output
        assert not re.search(r"'[0-9a-f]{16}'", output)
    assert stub.requests and done_sessions(db) == 4


# ----------------------------------------------------------------------------- subprocesses


@pytest.fixture(scope="module")
def interrupted_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two `sml eval` processes against one slow stub, started together (each pays for the
    litellm import, so in parallel): one is killed with SIGKILL, the other gets SIGINT, each
    once at least 2 of its sessions are done."""
    tmp = tmp_path_factory.mktemp("interrupted")
    problems = write_problems(tmp / "problems.jsonl", PROBLEMS)
    server = StubServer(by_model(student=hint_following_student, teacher=hinting_teacher),
                        latency=0.3).start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_BASE", server.url)
        mp.setenv("OPENAI_API_KEY", "sk-test")
        mp.delenv("SML_DB", raising=False)
        runs: dict[str, Any] = {
            "kill": {"db": tmp / "k.db", "run_id": "killed", "signal": signal.SIGKILL,
                     "json": None},
            "ctrlc": {"db": tmp / "c.db", "run_id": "ctrlc", "signal": signal.SIGINT,
                      "json": tmp / "c.json"},
        }
        for run in runs.values():
            extra = ["--json", str(run["json"])] if run["json"] else []
            run["proc"] = start_eval(eval_args(problems, run["db"], run["run_id"], *extra))
        try:
            pending = dict(runs)
            deadline = time.monotonic() + 120
            while pending:
                for name, run in list(pending.items()):
                    if done_sessions(run["db"]) >= 2:
                        run["proc"].send_signal(run["signal"])
                        del pending[name]
                    elif run["proc"].poll() is not None:
                        pytest.fail(f"sml eval ended early: {run['proc'].communicate()[1]}")
                if time.monotonic() > deadline:
                    pytest.fail("no session finished in time")
                time.sleep(0.05)
            for run in runs.values():
                _, run["stderr"] = run["proc"].communicate(timeout=60)
                run["returncode"] = run["proc"].returncode
        finally:
            for run in runs.values():
                if run["proc"].poll() is None:
                    run["proc"].kill()
                    run["proc"].communicate()
        server.latency = 0.0  # the in-process resumes need not be slow
        mp.setenv("OPENAI_API_BASE", server.url)
        yield {"problems": problems, "server": server, **runs}
    server.stop()


def test_kill_9_loses_only_in_flight_sessions(interrupted_runs: dict[str, Any]) -> None:
    run = interrupted_runs["kill"]
    db, problems = run["db"], interrupted_runs["problems"]
    assert run["returncode"] == -signal.SIGKILL
    assert sqlite_rows(db, "PRAGMA integrity_check") == [("ok",)]
    done_before = {r[0]: r for r in sqlite_rows(
        db, "SELECT id, problem_id, condition, solved, student_turns FROM sessions "
            "WHERE status = 'done'")}
    assert len(done_before) >= 2
    turns_before = {sid: sqlite_rows(db, "SELECT seq, content FROM turns WHERE session_id = ? "
                                         "ORDER BY seq", [sid]) for sid in done_before}
    # The killed process could not say so, but it is gone: the run is listed as interrupted,
    # not as running for ever, and its sessions in flight as stopped.
    assert sqlite_rows(db, "SELECT status FROM runs WHERE id = 'killed'") == [("running",)]
    store = Store(db)
    try:
        assert [r["status"] for r in store.run_summaries(5)] == ["interrupted"]
        assert store.run("killed")["status"] == "interrupted"  # (the HTML report's header)
        in_flight = store.sessions("status = 'running'")
        assert in_flight and store.stopped_with_their_run(in_flight) == {
            s.id for s in in_flight}
    finally:
        store.close()

    result = invoke(eval_args(problems, db, "killed"))
    assert result.exit_code == 0, cli_output(result)
    check_complete(db)
    # Sessions finished before the kill were kept as they were, not run again.
    for sid, row in done_before.items():
        assert sqlite_rows(db, "SELECT id, problem_id, condition, solved, student_turns FROM "
                               "sessions WHERE id = ?", [sid]) == [row]
        assert sqlite_rows(db, "SELECT seq, content FROM turns WHERE session_id = ? "
                               "ORDER BY seq", [sid]) == turns_before[sid]
    assert sqlite_rows(db, "SELECT status FROM runs WHERE id = 'killed'") == [("done",)]


def test_ctrl_c_stops_cleanly_and_saves_what_finished(interrupted_runs: dict[str, Any]) -> None:
    run = interrupted_runs["ctrlc"]
    db, problems, err = run["db"], interrupted_runs["problems"], run["stderr"]
    assert run["returncode"] == 130, err[-2000:]
    assert "Traceback" not in err
    assert "--run-id ctrlc" in err
    assert sqlite_rows(db, "SELECT status FROM runs WHERE id = 'ctrlc'") == [("interrupted",)]
    done = sqlite_rows(db, "SELECT count(*) FROM sessions WHERE status = 'done'")[0][0]
    assert done >= 2
    assert sqlite_rows(db, "SELECT count(*) FROM sessions WHERE status = 'error'") == [(0,)]
    # What finished is in the results file too.
    partial = json.loads(run["json"].read_text())
    assert sum(c["n_sessions"] for c in partial["conditions"].values()) >= done

    result = invoke(eval_args(problems, db, "ctrlc"))
    assert result.exit_code == 0, cli_output(result)
    check_complete(db)
    assert sqlite_rows(db, "SELECT status FROM runs WHERE id = 'ctrlc'") == [("done",)]


def two_hours_earlier(conn: sqlite3.Connection) -> None:
    """Every stored session as if it had run two hours ago (an earlier invocation)."""
    from datetime import datetime, timedelta

    for sid, created, finished in conn.execute(
            "SELECT id, created, finished FROM sessions").fetchall():
        earlier = [(datetime.fromisoformat(t) - timedelta(hours=2)).isoformat(
            timespec="milliseconds") for t in (created, finished)]
        conn.execute("UPDATE sessions SET created = ?, finished = ? WHERE id = ?",
                     [*earlier, sid])


def test_a_resumed_runs_elapsed_time_is_its_running_time_whichever_command_reads_it(
    stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    """`eval --json` of a resumed run gave the resume's own seconds, `report --json` the
    span from the first session of the first invocation to the last of the resume (the
    hours between them included). Both now give the time sessions ran, from the stored
    sessions."""

    db = tmp_path / "resumed.db"
    assert invoke(eval_args(problems_file, db, "r")).exit_code == 0
    # As if the `none` sessions had not run, and the rest had run two hours ago.
    with sqlite3.connect(db) as conn:
        gone = [r[0] for r in conn.execute("SELECT id FROM sessions WHERE condition = 'none'")]
        conn.executemany("DELETE FROM turns WHERE session_id = ?", [[g] for g in gone])
        conn.executemany("DELETE FROM sessions WHERE id = ?", [[g] for g in gone])
        two_hours_earlier(conn)
        conn.execute("UPDATE runs SET status = 'interrupted'")
    out = tmp_path / "eval.json"
    result = invoke(eval_args(problems_file, db, "r", "--json", str(out)))
    assert result.exit_code == 0, cli_output(result)
    reported = tmp_path / "report.json"
    result = invoke(["report", "r", "--db", str(db), "--json", str(reported)])
    assert result.exit_code == 0, cli_output(result)
    from_eval = json.loads(out.read_text())["elapsed_s"]
    from_report = json.loads(reported.read_text())["elapsed_s"]
    assert from_eval == from_report
    assert 0 < from_eval < 60, "the two hours between the invocations are not running time"


def test_elapsed_time_counts_while_any_session_runs() -> None:
    from sml_cli.metrics import elapsed_seconds
    from sml_cli.records import SessionInfo

    def session(start: str, end: str | None) -> SessionInfo:
        info = SessionInfo(id=start, problem_key="k", problem_id="p", condition="answer",
                           student_model="s", teacher_model="t", max_turns=3)
        info.created = f"2026-01-01T{start}+00:00"
        info.finished = f"2026-01-01T{end}+00:00" if end else None
        return info

    first_invocation = [session("10:00:00.000", "10:00:05.000"),
                        session("10:00:01.000", "10:00:03.000"),  # inside the first
                        session("10:00:04.000", "10:00:08.500")]  # overlapping it
    resumed = [session("12:00:00.000", "12:00:02.000"), session("12:00:01.000", None)]
    assert elapsed_seconds(first_invocation) == 8.5
    assert elapsed_seconds(first_invocation + resumed) == 10.5
    assert elapsed_seconds([]) == 0.0


def test_a_run_claimed_by_another_process_after_this_one_looked_is_not_run_twice(
    stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    """Two `sml eval --run-id R` started together both found R free (or stopped) before
    either wrote it: the check is made again, in the transaction that claims the run, so the
    second is refused (exit 2) instead of running R's sessions a second time — or, for a new
    R, dying on runs.id's UNIQUE constraint with a traceback."""
    import asyncio

    from sml_cli.errors import UsageError
    from sml_cli.evaluate import EvalOptions, EvalRun

    db = tmp_path / "claimed.db"
    options = EvalOptions(student="openai/student", teacher="openai/teacher",
                          problems=str(problems_file), run_id="r", db=str(db), limit=2)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for stored_first in (False, True):
            if stored_first:  # (a stopped run both processes would resume)
                db.unlink()
                with Store(db) as store:
                    store.create_run("r", "eval", EvalRun(options).config)
                    store.finish_run("r", "interrupted")
            run = EvalRun(options)  # it looks: the run is free
            with Store(db) as store:  # …and another process takes it before this one starts
                if stored_first:
                    store.db.execute("UPDATE runs SET status = 'running'")
                else:
                    store.create_run("r", "eval", run.config)
                store.db.execute("UPDATE runs SET owner = ?",
                                 [f"{socket.gethostname()}:{other.pid}"])
                store.conn.commit()
            requests = len(stub.requests)
            try:
                with pytest.raises(UsageError, match="--run-id r "):
                    asyncio.run(run.execute())
            finally:
                run.store.close()
            assert len(stub.requests) == requests
            assert sqlite_rows(db, "SELECT count(*) FROM sessions") == [(0,)]
            assert sqlite_rows(db, "SELECT owner FROM runs") == [
                (f"{socket.gethostname()}:{other.pid}",)]
    finally:
        other.kill()
        other.wait()


def test_a_session_in_flight_at_the_stop_counts_from_the_resume_that_finishes_it(
    stub: StubServer, problems_file: Path, tmp_path: Path
) -> None:
    """A session the stopped process had in flight (or one that failed) keeps its `created`
    from the first invocation; the resume finishes it. Its span counted from its creation,
    so the hours between the invocations were running time after all (7,200 s here)."""

    db = tmp_path / "inflight.db"
    assert invoke(eval_args(problems_file, db, "r")).exit_code == 0
    with sqlite3.connect(db) as conn:  # all of it two hours ago…
        two_hours_earlier(conn)
        # …where the `none` sessions were in flight when the process was killed
        conn.execute("UPDATE sessions SET status = 'running', finished = NULL "
                     "WHERE condition = 'none'")
        conn.execute("UPDATE runs SET status = 'interrupted'")
    out = tmp_path / "eval.json"
    result = invoke(eval_args(problems_file, db, "r", "--json", str(out)))
    assert result.exit_code == 0, cli_output(result)
    reported = tmp_path / "report.json"
    assert invoke(["report", "r", "--db", str(db), "--json", str(reported)]).exit_code == 0
    from_eval = json.loads(out.read_text())["elapsed_s"]
    assert from_eval == json.loads(reported.read_text())["elapsed_s"]
    assert 0 < from_eval < 60, "the two hours between the invocations are not running time"
