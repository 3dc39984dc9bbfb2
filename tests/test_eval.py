"""`sml eval` against a loopback OpenAI-compatible stub (SPEC §3, §4, §6, §9).

The student (`openai/student`) can only solve from a hint that the teacher (`openai/teacher`)
derives from the reference answer, so it solves under `answer` and never under the other
conditions — and the stub records every request, so we can check the student never got the
answer. In-process (CliRunner) wherever possible: litellm costs seconds to import.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import (
    CONDITION_KEYS,
    DELTA_KEYS,
    EVAL_PROBLEMS,
    TOP_LEVEL_KEYS,
    cli_output,
    contains_number,
    sqlite_rows,
    write_problems,
)
from typer.testing import CliRunner

from sml_cli.cli import app
from sml_cli.errors import UsageError
from sml_cli.metrics import session_scores
from sml_cli.store import Store
from sml_cli.testing import (
    StubFault,
    StubServer,
    by_model,
    hint_following_student,
    hinting_teacher,
)

ANSWERS = [p["answer"] for p in EVAL_PROBLEMS]
BASE_HANDLER = by_model(student=hint_following_student, teacher=hinting_teacher)
MODELS = ["--student", "openai/student", "--teacher", "openai/teacher"]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., StubServer]]:
    """`stub(handler=..., latency=...)` → a started StubServer that OPENAI_API_BASE points at."""
    servers: list[StubServer] = []

    def start(handler: Callable[[dict[str, Any]], Any] = BASE_HANDLER,
              latency: float = 0.0) -> StubServer:
        server = StubServer(handler, latency=latency).start()
        servers.append(server)
        monkeypatch.setenv("OPENAI_API_BASE", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        return server

    monkeypatch.delenv("SML_DB", raising=False)
    yield start
    for server in servers:
        server.stop()
        assert not server.errors, server.errors


@pytest.fixture
def problems_file(tmp_path: Path) -> Path:
    return write_problems(tmp_path / "problems.jsonl", EVAL_PROBLEMS)


def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(app, args, catch_exceptions=True)


def sessions_in(db: Path) -> int:
    if not db.exists():
        return 0
    return sqlite_rows(db, "SELECT count(*) FROM sessions")[0][0]


# ----------------------------------------------------------------------------- end to end


def test_eval_four_conditions_against_openai_compatible_endpoint(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path
) -> None:
    server = stub()
    db, out = tmp_path / "e.db", tmp_path / "out" / "results.json"
    result = invoke(["eval", *MODELS, "--problems", str(problems_file),
                     "--conditions", "answer,symmetric,none,binary", "--max-turns", "3",
                     "--concurrency", "4", "--run-id", "e2e", "--db", str(db),
                     "--json", str(out)])
    output = cli_output(result)
    assert result.exit_code == 0, output
    assert result.exception is None

    data = json.loads(out.read_text())
    # Exactly the SPEC §4 structure, field for field.
    assert set(data) == TOP_LEVEL_KEYS
    assert data["run_id"] == "e2e"
    assert isinstance(data["elapsed_s"], float) and 0 < data["elapsed_s"] < 60
    assert data["config"]["student"] == "openai/student"
    assert data["config"]["teacher"] == "openai/teacher"
    assert list(data["conditions"]) == ["answer", "symmetric", "binary", "none"]
    for name, c in data["conditions"].items():
        assert set(c) == CONDITION_KEYS, name
        assert (c["n_sessions"], c["n_errors"]) == (3, 0)
        assert len(c["success_at_turn"]) == 3
        assert c["cost_usd"] is None  # the stub's models have no price
        assert c["student_tokens"] > 0
    answer = data["conditions"]["answer"]
    assert answer["success_rate"] == 1.0
    assert answer["success_at_turn"] == [0.0, 1.0, 1.0]
    assert (answer["first_attempt_success_rate"], answer["recovery_rate"]) == (0.0, 1.0)
    assert answer["mean_turns_to_solve"] == 2.0 and answer["leak_rate"] == 0.0
    assert answer["success_rate_ci95"][1] == 1.0 and answer["teacher_tokens"] > 0
    for name in ("symmetric", "none", "binary"):
        assert data["conditions"][name]["success_rate"] == 0.0, name
        assert data["conditions"][name]["success_at_turn"] == [0.0, 0.0, 0.0]
    for name in ("none", "binary"):
        assert data["conditions"][name]["teacher_tokens"] == 0
    assert set(data["deltas"]) == {"answer-symmetric", "answer-binary", "answer-none",
                                   "symmetric-binary", "symmetric-none", "binary-none"}
    for entry in data["deltas"].values():
        assert set(entry) == DELTA_KEYS
    assert data["deltas"]["answer-symmetric"] == {"delta": 1.0, "ci95": [1.0, 1.0]}

    # The student's requests never contained a reference answer; the answer teacher's did.
    student_requests = server.messages_seen("student")
    assert len(student_requests) == 3 * 2 + 3 * 3 * 3  # answer: 2 turns; others: 3
    for messages in student_requests:
        assert messages[0]["role"] == "system"
        blob = "\n".join(m["content"] for m in messages)
        assert "Reference answer" not in blob
        for ref in ANSWERS:
            assert not contains_number(blob, ref), ref
    teacher_requests = server.messages_seen("teacher")
    assert len(teacher_requests) == 3 * 1 + 3 * 2  # answer: 1 reply; symmetric: 2
    told = [m for m in teacher_requests if "Reference answer" in m[0]["content"]]
    assert len(told) == 3
    assert {next(a for a in ANSWERS if a in m[0]["content"]) for m in told} == set(ANSWERS)

    # Progress, the table and the stored rows.
    assert "12/12" in output
    for name in ("answer", "symmetric", "binary", "none"):
        assert name in output
    assert sqlite_rows(db, "SELECT count(*), sum(status = 'done') FROM sessions") == [(12, 12)]
    private = sqlite_rows(db, "SELECT DISTINCT kind FROM turns WHERE visibility = 'teacher'")
    assert {k for (k,) in private} == {"teacher_prompt", "verdict"}
    public = sqlite_rows(db, "SELECT DISTINCT kind FROM turns WHERE visibility = 'public'")
    assert {"teacher_prompt", "verdict"}.isdisjoint(k for (k,) in public)
    assert sqlite_rows(db, "SELECT status FROM runs WHERE id = 'e2e'") == [("done",)]
    # Every session's stored scores are the scores of its stored turns.
    with Store(db) as store:
        for info in store.sessions("run_id = ?", ["e2e"]):
            fields = session_scores(store.turns(info.id)).as_fields()
            stored = {k: getattr(info, k) for k in fields}
            stored["solved"] = int(bool(stored["solved"]))
            stored["first_attempt_correct"] = int(bool(stored["first_attempt_correct"]))
            assert stored == fields, info.id
    # No API key in the database.
    assert not sqlite_rows(db, "SELECT 1 FROM runs WHERE config LIKE '%sk-test%'")

    # `sessions show --view student` shows what the student saw: never the answer.
    sid, pid = sqlite_rows(db, "SELECT id, problem_id FROM sessions WHERE condition = 'answer' "
                               "ORDER BY problem_id LIMIT 1")[0]
    shown = invoke(["sessions", "show", sid, "--db", str(db), "--view", "student"])
    assert shown.exit_code == 0, cli_output(shown)
    answer_of = {p["id"]: p["answer"] for p in EVAL_PROBLEMS}[pid]
    assert "one more than" in shown.output
    assert f"Final answer: {answer_of}" in shown.output  # the student's own turn is public
    listing = invoke(["sessions", "list", "--db", str(db), "--run-id", "e2e"])
    assert listing.exit_code == 0 and "12 sessions" in listing.output
    # --json: JSON Lines, every matching session (no table limit), scores as stored.
    listing = invoke(["sessions", "list", "--db", str(db), "--run-id", "e2e", "--json",
                      "--condition", "answer"])
    assert listing.exit_code == 0, cli_output(listing)
    rows = [json.loads(line) for line in listing.output.splitlines()]
    stored = dict(sqlite_rows(db, "SELECT id, solved FROM sessions WHERE run_id = 'e2e' AND "
                                  "condition = 'answer'"))
    assert {r["id"]: r["solved"] for r in rows} == {k: bool(v) for k, v in stored.items()}
    assert all(r["condition"] == "answer" and isinstance(r["meta"], dict) for r in rows)
    assert len(invoke(["sessions", "list", "--db", str(db), "--json", "-n", "2"]
                      ).output.splitlines()) == 2


def test_json_dash_writes_the_results_to_stdout_instead_of_the_tables(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--json -` is stdout, as `-o -` is in `sml export` (it wrote a file called `-`): the
    results alone, for `sml eval … --json - | jq`; the run id and notes stay on stderr."""
    stub()
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "d.db"
    result = CliRunner().invoke(app, ["eval", *MODELS, "--problems", str(problems_file),
                                      "--conditions", "answer", "--max-turns", "2",
                                      "--db", str(db), "--json", "-"])
    assert result.exit_code == 0, cli_output(result)
    data = json.loads(result.stdout)  # nothing but the document on stdout
    assert set(data) == TOP_LEVEL_KEYS and data["conditions"]["answer"]["n_sessions"] == 3
    assert not (tmp_path / "-").exists()
    report = CliRunner().invoke(app, ["report", data["run_id"], "--db", str(db),
                                      "--json", "-"])
    assert report.exit_code == 0, cli_output(report)
    assert json.loads(report.stdout)["conditions"] == data["conditions"]
    assert not (tmp_path / "-").exists()


def test_failing_model_calls_store_an_error_and_the_run_goes_on(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path
) -> None:
    def handler(request: dict[str, Any]) -> Any:
        question_of_q2 = EVAL_PROBLEMS[1]["question"]
        if request["model"] == "student" and any(
            question_of_q2 in m["content"] for m in request["messages"]
        ):
            return StubFault(status=500, body="upstream exploded")
        return BASE_HANDLER(request)

    stub(handler)
    db, out = tmp_path / "f.db", tmp_path / "f.json"
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--conditions",
                     "answer,none", "--max-turns", "2", "--retries", "0", "--db", str(db),
                     "--json", str(out), "--quiet"])
    assert result.exit_code == 0, cli_output(result)
    rows = sqlite_rows(db, "SELECT problem_id, condition, status, error FROM sessions "
                           "ORDER BY problem_id, condition")
    assert [(p, c, s) for p, c, s, _ in rows] == [
        ("q1", "answer", "done"), ("q1", "none", "done"),
        ("q2", "answer", "error"), ("q2", "none", "error"),
        ("q3", "answer", "done"), ("q3", "none", "done"),
    ]
    errors = [e for _, _, s, e in rows if s == "error"]
    assert all("openai/student" in e and "upstream exploded" in e for e in errors)
    data = json.loads(out.read_text())
    for name in ("answer", "none"):
        c = data["conditions"][name]
        assert (c["n_sessions"], c["n_errors"]) == (3, 1)
    assert data["conditions"]["answer"]["success_rate"] == 1.0  # rates over the 2 done
    assert data["deltas"]["answer-none"]["delta"] == 1.0


def test_a_run_whose_every_session_failed_exits_1_and_says_where_to_look(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path
) -> None:
    """Some errors are a result (the summary counts them, exit 0, as above); every session
    in error is a run that measured nothing: exit 1, saying so and where to read why."""
    stub(lambda request: StubFault(status=500, body="upstream exploded"))
    db = tmp_path / "all.db"
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--conditions",
                     "answer,none", "--max-turns", "2", "--retries", "0", "--db", str(db),
                     "--run-id", "doomed", "--quiet"])
    output = " ".join(cli_output(result).split())
    assert result.exit_code == 1, output
    assert (f"All 6 sessions of the run failed; read why with sml sessions list --run-id "
            f"doomed --status error --db {db} (then sml sessions show ID --db {db})") in output
    assert "upstream exploded" in output
    assert sqlite_rows(db, "SELECT DISTINCT status FROM sessions") == [("error",)]


def test_identical_problems_are_one_cell(
    stub: Callable[..., StubServer], tmp_path: Path
) -> None:
    stub()
    same = {"question": "A farm has crates of eggs. How many eggs?", "answer": "73021"}
    path = write_problems(tmp_path / "dup.jsonl", [{"id": "a", **same}, {"id": "b", **same},
                                                   EVAL_PROBLEMS[0]])
    db = tmp_path / "d.db"
    result = invoke(["eval", *MODELS, "--problems", str(path), "--conditions", "answer",
                     "--max-turns", "2", "--db", str(db), "--quiet"])
    assert result.exit_code == 0, cli_output(result)
    assert sqlite_rows(db, "SELECT problem_id, status FROM sessions ORDER BY problem_id") == [
        ("a", "done"), ("q1", "done")]


def test_samples_and_limit_make_one_cell_each(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path
) -> None:
    stub()
    db, out = tmp_path / "s.db", tmp_path / "s.json"
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--conditions",
                     "answer,none", "--limit", "2", "--samples", "2", "--max-turns", "2",
                     "--db", str(db), "--json", str(out), "--quiet"])
    assert result.exit_code == 0, cli_output(result)
    rows = sqlite_rows(db, "SELECT problem_id, condition, sample FROM sessions")
    assert sorted(rows) == sorted((p, c, k) for p in ("q1", "q2") for c in ("answer", "none")
                                  for k in (0, 1))
    data = json.loads(out.read_text())
    assert data["config"]["samples"] == 2 and data["config"]["n_problems"] == 2
    assert data["conditions"]["answer"]["n_sessions"] == 4
    assert data["deltas"]["answer-none"]["delta"] == 1.0


def test_shuffle_and_limit_take_a_seeded_random_subset(
    stub: Callable[..., StubServer], tmp_path: Path
) -> None:
    """--shuffle --limit K: K problems drawn by --seed, the same on every run (so the run
    resumes), another draw for another seed; without --shuffle, the first K."""
    stub()
    rows = [{"id": f"p{i}", "question": f"What is {i} plus one?", "answer": str(i + 1)}
            for i in range(20)]
    path = write_problems(tmp_path / "many.jsonl", rows)

    def chosen(db: str, *flags: str) -> list[str]:
        result = invoke(["eval", *MODELS, "--problems", str(path), "--conditions", "none",
                         "--max-turns", "1", "--limit", "5", "--db", str(tmp_path / db),
                         "--quiet", *flags])
        assert result.exit_code == 0, cli_output(result)
        return sorted(r[0] for r in sqlite_rows(tmp_path / db,
                                                "SELECT problem_id FROM sessions"))

    first = chosen("a.db")
    assert first == ["p0", "p1", "p2", "p3", "p4"]
    seeded = chosen("b.db", "--shuffle", "--seed", "1", "--run-id", "r")
    assert len(seeded) == 5 and seeded != first
    assert chosen("c.db", "--shuffle", "--seed", "1") == seeded
    assert chosen("d.db", "--shuffle", "--seed", "2") != seeded
    # Resuming the shuffled run repeats nothing; the unshuffled list under its id is refused.
    assert chosen("b.db", "--shuffle", "--seed", "1", "--run-id", "r") == seeded
    result = invoke(["eval", *MODELS, "--problems", str(path), "--conditions", "none",
                     "--max-turns", "1", "--limit", "5", "--db", str(tmp_path / "b.db"),
                     "--seed", "1", "--run-id", "r", "--quiet"])
    assert result.exit_code == 2 and "--shuffle" in cli_output(result)


def test_all_conditions_in_one_word() -> None:
    from sml_cli.evaluate import CONDITIONS, parse_conditions

    assert parse_conditions("all") == list(CONDITIONS)
    assert parse_conditions(" all ") == list(CONDITIONS)
    with pytest.raises(UsageError, match="unknown condition 'all'"):
        parse_conditions("answer,all")  # "all" stands alone


# ----------------------------------------------------------------------------- bad input


BAD_FLAGS = [
    pytest.param(["--conditions", "answer,bogus"], ["--conditions", "bogus"], id="condition"),
    pytest.param(["--conditions", ""], ["--conditions"], id="no-condition"),
    pytest.param(["--max-turns", "0"], ["--max-turns"], id="max-turns"),
    pytest.param(["--teacher-max-tokens", "0"], ["--teacher-max-tokens"], id="max-tokens"),
    pytest.param(["--samples", "0"], ["--samples"], id="samples"),
    pytest.param(["--concurrency", "0"], ["--concurrency"], id="concurrency"),
    pytest.param(["--guard", "maybe"], ["--guard", "maybe"], id="guard"),
    # Numbers that mean nothing are refused by the option itself, naming it.
    pytest.param(["--timeout", "-1"], ["--timeout"], id="timeout-negative"),
    pytest.param(["--timeout", "0"], ["--timeout", "greater than 0"], id="timeout-zero"),
    pytest.param(["--retries", "-1"], ["--retries"], id="retries"),
    pytest.param(["--student-temperature", "-5"], ["--student-temperature"],
                 id="student-temperature"),
    pytest.param(["--teacher-temperature", "2.5"], ["--teacher-temperature"],
                 id="teacher-temperature"),
    pytest.param(["--limit", "0"], ["--limit"], id="limit"),
    pytest.param(["--student-max-tokens", "-3"], ["--student-max-tokens"], id="max-tokens-neg"),
]


@pytest.mark.parametrize(("flags", "named"), BAD_FLAGS)
def test_invalid_flags_exit_2_and_write_nothing(
    flags: list[str], named: list[str], problems_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "bad.db"
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--db", str(db),
                     *flags])
    output = cli_output(result)
    assert result.exit_code == 2, output
    for word in named:
        assert word in output
    assert "Traceback" not in output
    assert sessions_in(db) == 0
    if db.exists():
        assert sqlite_rows(db, "SELECT count(*) FROM runs") == [(0,)]


@pytest.mark.parametrize(("content", "where"), [
    ('{"id": "a", "question": "q", "answer": "1"}\n{"id": "b", "question": \n', ":2:"),
    ('{"id": "a", "question": "q", "answer": "1"}\n{"id": "b", "question": "q2"}\n', ":2:"),
    ('{"id": "a", "question": "q", "answer": "1"}\n\n{"id": "a", "question": "x", '
     '"answer": "2"}\n', ":3:"),
])
def test_bad_problem_file_exits_2_naming_file_and_line(
    content: str, where: str, tmp_path: Path
) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(content, encoding="utf-8")
    db = tmp_path / "bad.db"
    result = invoke(["eval", *MODELS, "--problems", str(path), "--db", str(db)])
    output = cli_output(result)
    assert result.exit_code == 2, output
    assert f"broken.jsonl{where}" in output.replace("\n", "")
    assert not db.exists() or sessions_in(db) == 0
    if db.exists():
        assert sqlite_rows(db, "SELECT count(*) FROM runs") == [(0,)]


def test_the_run_config_records_the_column_mapping(
    stub: Callable[..., StubServer], tmp_path: Path
) -> None:
    """A headerless TSV with its columns named: the config says how the file was read, so
    that the run can be reproduced from its JSON; a plain file records no mapping."""
    stub()
    path = tmp_path / "mgsm.tsv"
    path.write_text("What is 2 + 2?\t4\nWhat is 3 + 4?\t7\nWhat is 9 + 9?\t18\n",
                    encoding="utf-8")
    db, out = tmp_path / "e.db", tmp_path / "r.json"
    result = invoke(["eval", *MODELS, "--problems", str(path), "--columns", "q,a",
                     "--question-field", "q", "--answer-field", "a", "--where", "a<10",
                     "--max-turns", "1", "--db", str(db), "--json", str(out)])
    assert result.exit_code == 0, cli_output(result)
    config = json.loads(out.read_text())["config"]
    assert config["mapping"] == {"--question-field": "q", "--answer-field": "a",
                                 "--columns": "q,a", "--where": ["a<10"]}
    assert config["n_problems"] == 2
    assert "read with --question-field q --answer-field a --columns q,a --where 'a<10'" in (
        " ".join(cli_output(result).split()))
    plain = invoke(["eval", *MODELS, "--max-turns", "1", "--limit", "1", "--db", str(db),
                    "--json", str(out)])
    assert plain.exit_code == 0, cli_output(plain)
    assert json.loads(out.read_text())["config"]["mapping"] == {}


CANARY = "CANARY-7f3e-answer"


def test_dry_run_shows_the_plan_and_the_openings_and_calls_no_model(
    stub: Callable[..., StubServer], tmp_path: Path
) -> None:
    """--dry-run: what a run would do and what each side is told, before spending a call.
    The student's request shown is the one its model would be sent: no canary answer in it;
    the answer-condition teacher's prompt, marked teacher-only, holds it."""
    server = stub()
    problems = write_problems(tmp_path / "p.jsonl", [
        {"id": "c1", "question": "Name the secret word.", "answer": CANARY,
         "solution": f"It is {CANARY}."},
        {"id": "c2", "question": "What is 2 + 2?", "answer": "4"}])
    db = tmp_path / "never.db"
    result = invoke(["eval", *MODELS, "--problems", str(problems), "--conditions",
                     "answer,symmetric,binary,none", "--samples", "2", "--max-turns", "3",
                     "--db", str(db), "--dry-run"])
    output = cli_output(result)
    assert result.exit_code == 0, output
    flat = " ".join(output.split())
    assert ("Dry run: 2 problems × 4 conditions × 2 samples = 16 sessions, up to 3 student "
            "turns each · student openai/student · teacher openai/teacher") in flat
    student_part = output[:output.index("teacher only")]
    assert "student model request · system" in student_part
    assert "Name the secret word." in student_part and "You have at most 3 messages" in flat
    assert CANARY not in student_part
    answer_panel = output[output.index("teacher only · answer"):
                          output.index("teacher only · symmetric")]
    assert CANARY in answer_panel
    symmetric_panel = output[output.index("teacher only · symmetric"):]
    assert CANARY not in symmetric_panel  # the symmetric teacher is told nothing either
    assert "binary: no teacher model" in flat and "none: no teacher model" in flat
    assert "Nothing was run or written" in flat
    assert server.requests == [] and not db.exists()
    # Bad options fail as a run would, still writing nothing.
    bad = invoke(["eval", *MODELS, "--problems", str(problems), "--max-turns", "0",
                  "--db", str(db), "--dry-run"])
    assert bad.exit_code == 2 and "--max-turns" in cli_output(bad) and not db.exists()


BROKEN_TEMPLATES = [
    pytest.param("student.j2", "Hello {{ problem.question ", ["answer"], "regenerate", 1,
                 "unexpected end of template", id="syntax"),
    pytest.param("student.j2", "Hi\n{{ nonexistent_var.foo }}\n", ["none"], "redact", 2,
                 "'nonexistent_var' is undefined", id="undefined"),
    pytest.param("teacher_verifier.j2", "{{ question }}\n\n{{ 1 / 0 }}", ["none", "verifier"],
                 "redact", 3, "ZeroDivisionError", id="a condition's teacher"),
    pytest.param("verdict.j2", "{{ summary.nope }}", ["verifier"], "redact", 1,
                 "'str object' has no attribute 'nope'", id="verdict"),
    pytest.param("teacher_reminder.j2", "{% if %}", ["answer"], "regenerate", 1,
                 "", id="reminder"),
]


@pytest.mark.parametrize(("name", "text", "conditions", "guard", "line", "why"),
                         BROKEN_TEMPLATES)
def test_a_broken_prompt_template_is_refused_before_any_session(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path, name: str, text: str,
    conditions: list[str], guard: str, line: int, why: str,
) -> None:
    """Every template the run will render is rendered first: a broken one is bad input
    (exit 2, its file and line named, nothing written), as --dry-run says, not the
    'internal error' of every session of a run that exits 0."""
    server = stub()
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / name).write_text(text, encoding="utf-8")
    db = tmp_path / "t.db"
    args = ["eval", *MODELS, "--problems", str(problems_file), "--conditions",
            ",".join(conditions), "--guard", guard, "--prompts", str(prompts),
            "--db", str(db), "--max-turns", "2", "--quiet"]
    refused_as_bad_input(args, f"prompt template {prompts / name}:{line}: {why}")
    assert not db.exists() and server.requests == []


def refused_as_bad_input(args: list[str], message: str) -> None:
    """The command, run and as a --dry-run, exits 2 with `message` and no traceback."""
    for flags in ([], ["--dry-run"]):
        result = invoke([*args, *flags])
        output = " ".join(cli_output(result).split())
        assert result.exit_code == 2, output
        assert message in output
        assert "Traceback" not in output


def test_a_template_that_is_not_utf8_is_refused_naming_its_file(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path
) -> None:
    """A template saved in another encoding is bad input like a broken one (it was a
    UnicodeDecodeError traceback from inside Jinja2's loader, exit 1)."""
    server = stub()
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "student.j2").write_bytes("Réponds en {{ max_turns }} tours.".encode("latin-1"))
    db = tmp_path / "t.db"
    refused_as_bad_input(["eval", *MODELS, "--problems", str(problems_file), "--prompts",
                          str(prompts), "--db", str(db), "--max-turns", "2", "--quiet"],
                         f"prompt template {prompts / 'student.j2'}: not UTF-8 text")
    assert not db.exists() and server.requests == []


def test_templates_of_conditions_not_run_are_not_required(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path
) -> None:
    stub()
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for name in ("teacher_verifier.j2", "teacher_symmetric.j2", "verdict.j2",
                 "teacher_reminder.j2"):
        (prompts / name).write_text("{{ broken", encoding="utf-8")
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--conditions",
                     "answer,binary", "--prompts", str(prompts), "--max-turns", "2",
                     "--db", str(tmp_path / "ok.db"), "--quiet"])
    assert result.exit_code == 0, cli_output(result)


def test_a_misspelt_template_file_is_warned_about_not_ignored(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path
) -> None:
    """`studnet.j2` in --prompts would silently leave the built-in student.j2 in use: a
    warning names it, the closest template name and the names sml reads; the run goes on.
    A file that a used template includes is read, so it is not named."""
    stub()
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "studnet.j2").write_text("Be brief.", encoding="utf-8")
    (prompts / "teacher_answer.j2").write_text(
        '{% include "_rules.j2" %}\n{{ question }} {{ answer }}', encoding="utf-8")
    (prompts / "_rules.j2").write_text("Never say the answer.", encoding="utf-8")
    (prompts / "README.md").write_text("my prompts", encoding="utf-8")
    base = ["eval", *MODELS, "--problems", str(problems_file), "--prompts", str(prompts),
            "--max-turns", "2", "--db", str(tmp_path / "w.db"), "--quiet"]
    for flags in ([], ["--dry-run"]):
        result = invoke([*base, *flags])
        output = " ".join(cli_output(result).split())
        assert result.exit_code == 0, output
        assert (f"Warning: --prompts {prompts}: studnet.j2 is not a template sml reads (did "
                "you mean student.j2?), so it is ignored; the templates are student.j2, "
                "teacher_answer.j2,") in output
        assert "_rules.j2" not in output and "README" not in output


def test_unwritable_json_path_is_refused_before_the_run(
    problems_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "bad.db"
    (tmp_path / "a-file").write_text("x")
    for target in (tmp_path, tmp_path / "a-file" / "out.json"):
        result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--db", str(db),
                         "--json", str(target)])
        assert result.exit_code == 2, cli_output(result)
        assert "--json" in cli_output(result)
        assert sessions_in(db) == 0


def test_missing_problem_file_exits_2(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    result = invoke(["eval", *MODELS, "--problems", str(tmp_path / "nope.jsonl"),
                     "--db", str(db)])
    assert result.exit_code == 2
    assert "nope.jsonl" in cli_output(result)
    assert sessions_in(db) == 0


def test_usage_errors_exit_2_from_the_real_process_too(
    problems_file: Path, tmp_path: Path
) -> None:
    """The installed entry point, not just CliRunner: exit 2, a message, no traceback."""
    args = ["eval", *MODELS, "--problems", str(problems_file), "--db", str(tmp_path / "x.db"),
            "--max-turns", "0"]
    result = invoke(args)
    assert result.exit_code == 2
    proc = subprocess.run([sys.executable, "-m", "sml_cli", *args], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "--max-turns" in proc.stderr


# ----------------------------------------------------------------------------- secrets


def test_api_keys_never_reach_the_database_or_outputs(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SPEC §6: keys are never written to the database or exports — nor to the results JSON
    or the report — though every model call carried one."""
    server = stub()
    key = "sk-CANARY-KEY-5b1e0f"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    db = tmp_path / "sml.db"
    out = tmp_path / "out.json"
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--db", str(db),
                     "--conditions", "answer,symmetric", "--max-turns", "2", "--json", str(out),
                     "--run-id", "secrets", "--student-api-base", server.url,
                     "--teacher-api-base", server.url, "--quiet"])
    assert result.exit_code == 0, cli_output(result)
    assert sqlite_rows(db, "SELECT count(*) FROM sessions WHERE status = 'done'")[0][0] == 2 * len(
        EVAL_PROBLEMS)
    raw = tmp_path / "raw.jsonl"
    assert invoke(["export", "--db", str(db), "--format", "raw", "-o", str(raw),
                   "--include-leaked"]).exit_code == 0
    html = tmp_path / "report.html"
    assert invoke(["report", "secrets", "--db", str(db), "--html", str(html)]).exit_code == 0
    for path in [out, raw, html, *tmp_path.glob("sml.db*")]:
        assert key.encode() not in path.read_bytes(), path


def test_recorded_api_bases_lose_embedded_credentials() -> None:
    from sml_cli.models import without_credentials

    assert without_credentials("https://user:pw-secret@example.org:8443/v1?api_key=s3cret") == (
        "https://example.org:8443/v1")
    assert without_credentials(None) is None


def test_eval_notes_a_constant_answer_key_and_shuffles_options_on_request(
    stub: Callable[..., StubServer], tmp_path: Path
) -> None:
    """Every right option first (TruthfulQA): eval says so before spending calls; with
    --shuffle-choices the student is sent the options in each problem's own order."""
    rows = [{"id": f"t{i}", "question": f"Which claim {i} holds?",
             "mc1_targets": {"choices": [f"true claim {i}", f"false claim {i}",
                                         f"odd claim {i}"], "labels": [1, 0, 0]}}
            for i in range(8)]
    path = write_problems(tmp_path / "tqa.jsonl", rows)
    server = stub()
    flags = ["--problems", str(path), "--answer-field", "mc1_targets.labels",
             "--field", "choices=mc1_targets.choices", "--conditions", "none",
             "--max-turns", "1", "-q"]
    result = invoke(["eval", *MODELS, *flags, "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 0, cli_output(result)
    assert "(A) in all 8 multiple-choice problems" in cli_output(result)
    plain_firsts = {json.dumps(r["messages"]) for r in server.requests}
    assert all("A) true claim" in text for text in plain_firsts)

    server.requests.clear()
    result = invoke(["eval", *MODELS, *flags, "--shuffle-choices",
                     "--db", str(tmp_path / "b.db")])
    assert result.exit_code == 0, cli_output(result)
    assert "multiple-choice problems" not in cli_output(result)
    sent = [json.dumps(r["messages"]) for r in server.requests]
    assert len(sent) == 8 and any("A) true claim" not in text for text in sent)
    assert all(re.search(r"[ABC]\) true claim", text) for text in sent)


def test_replies_cut_off_at_the_token_limit_are_counted_and_marked(
    stub: Callable[..., StubServer], problems_file: Path, tmp_path: Path
) -> None:
    """A student whose replies stop at --student-max-tokens: each such turn is stored as
    truncated, the run ends with a note counting them (naming the flag), and the transcript
    marks the turn; a run without any prints no note."""
    from sml_cli.testing import StubReply

    stub(by_model(student=lambda messages: StubReply("First I add the crates, then",
                                                     finish_reason="length"),
                  teacher=hinting_teacher))
    db = tmp_path / "cut.db"
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--conditions",
                     "answer", "--max-turns", "2", "--student-max-tokens", "16", "--db",
                     str(db), "--run-id", "cut", "-q"])
    output = " ".join(cli_output(result).split())
    assert result.exit_code == 0, output
    assert "6 student replies (--student-max-tokens 16) stopped at the token limit" in output
    assert sqlite_rows(db, "SELECT role, truncated, count(*) FROM turns WHERE kind != "
                       "'verdict' AND role IN ('student', 'teacher') AND model IS NOT NULL "
                       "GROUP BY role, truncated ORDER BY role") == [
        ("student", 1, 6), ("teacher", 0, 3)]
    session_id = sqlite_rows(db, "SELECT id FROM sessions LIMIT 1")[0][0]
    shown = invoke(["sessions", "show", session_id, "--db", str(db)])
    assert "cut off at the token limit" in " ".join(cli_output(shown).split())
    reported = invoke(["report", "cut", "--db", str(db)])
    assert "6 student replies (--student-max-tokens 16)" in " ".join(
        cli_output(reported).split())
    stub()
    result = invoke(["eval", *MODELS, "--problems", str(problems_file), "--conditions",
                     "none", "--max-turns", "1", "--db", str(tmp_path / "fine.db"), "-q"])
    assert result.exit_code == 0 and "token limit" not in cli_output(result)


def test_ids_are_printed_as_text_not_as_rich_markup(
    stub: Callable[..., StubServer], tmp_path: Path
) -> None:
    """A run id or a problem id is the user's text: '[/x]' in one is printed as written (it
    was read as a Rich closing tag, and the run's last line raised MarkupError: a traceback
    after a finished run, exit 1)."""
    stub()
    rows = [{**EVAL_PROBLEMS[0], "id": "q[/a]"}, {**EVAL_PROBLEMS[0], "id": "q[/b]"}]
    problems = write_problems(tmp_path / "twice.jsonl", rows)
    db = tmp_path / "m.db"
    args = ["eval", *MODELS, "--problems", str(problems), "--run-id", "run[/x]",
            "--db", str(db), "--max-turns", "2", "--quiet"]
    for _ in range(2):  # the second time, a resume
        result = invoke(args)
        output = " ".join(cli_output(result).split())
        assert result.exit_code == 0, output
        assert "q[/b] (= q[/a])" in output and "run id: run[/x]" in output
    assert "Resuming run run[/x]: 1 of 1 sessions already done." in output


def test_a_spinner_shows_while_models_load_on_a_terminal_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading an embedded model's weights (or importing litellm) takes seconds before the
    progress bar appears: a terminal shows a spinner meanwhile; a pipe or --quiet get
    nothing (no control codes in a log)."""
    import contextlib
    import io

    from rich.console import Console
    from rich.status import Status

    from sml_cli import console_views

    monkeypatch.setattr(console_views, "stderr_lines",
                        Console(file=io.StringIO(), force_terminal=True))
    assert isinstance(console_views.preparing(quiet=False), Status)
    assert isinstance(console_views.preparing(quiet=True), contextlib.nullcontext)
    monkeypatch.setattr(console_views, "stderr_lines",
                        Console(file=io.StringIO(), force_terminal=False))
    assert isinstance(console_views.preparing(quiet=False), contextlib.nullcontext)


def test_progress_in_a_log_is_a_plain_line_now_and_then_and_at_the_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A batch job's stderr is a file: a bar cannot redraw there, and a run of an hour would
    # say nothing until its end.
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from sml_cli.console_views import EvalProgress

    log = io.StringIO()
    progress = EvalProgress(5, 1, stderr=Console(file=log, width=200))
    assert not progress.live
    monkeypatch.setattr(EvalProgress, "LOG_EVERY_S", 3600.0)
    with progress:
        progress.session_done(SimpleNamespace(status="done", solved=True))
        assert log.getvalue() == ""  # (not yet time for a line)
        monkeypatch.setattr(EvalProgress, "LOG_EVERY_S", 0.0)
        progress.session_done(SimpleNamespace(status="error", solved=None))
        progress.session_done(SimpleNamespace(status="done", solved=False))
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("eval 3/5 sessions · solved 100% · errors 1 · 0:00:00 elapsed")
    assert "ETA 0:00:00" in lines[0]  # three sessions took no time: two more take none
    assert lines[1].startswith("eval 4/5 sessions · solved 50% · errors 1")
    assert len(lines) == 2  # (the end adds no line: the last one said it)
    with EvalProgress(2, 0, stderr=Console(file=log, width=200)) as progress:
        monkeypatch.setattr(EvalProgress, "LOG_EVERY_S", 3600.0)
        progress.session_done(SimpleNamespace(status="done", solved=True))
    assert log.getvalue().splitlines()[-1].startswith("eval 1/2 sessions · solved 100%")
    assert "━" not in log.getvalue()


def test_progress_says_when_rate_limits_hold_the_run_back() -> None:
    """A run waiting out 429s would look stuck: the progress line (bar or log line) counts
    the refusals and says how many calls go at once now; nothing is added without them."""
    import asyncio
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from sml_cli.console_views import EvalProgress
    from sml_cli.ratelimit import pacing_status, rate_limiter

    async def refuse_twice() -> None:
        assert pacing_status() == ""
        limiter = rate_limiter("http://api.test/v1", "openai/m")
        for _ in range(2):
            async with limiter.slot() as sent:
                pass
            limiter.refused(1.0, sent_at=sent)
        assert pacing_status() == "429s 2 · ≤1 at once"
        log = io.StringIO()
        with EvalProgress(2, 0, stderr=Console(file=log, width=200)) as progress:
            progress.session_done(SimpleNamespace(status="done", solved=True))
        assert log.getvalue().rstrip().endswith("· 429s 2 · ≤1 at once")
        bar = Console(file=io.StringIO(), width=200, force_terminal=True)
        with EvalProgress(2, 0, stderr=bar) as live:
            live.progress.refresh()
        assert "429s 2" in bar.file.getvalue()  # type: ignore[attr-defined]

    asyncio.run(refuse_twice())
