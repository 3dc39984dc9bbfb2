"""`sml export` (SPEC §8): every format and filter, the student-view guarantee, streaming."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sml_cli import export
from sml_cli.engine import Session
from sml_cli.errors import SmlError, UsageError
from sml_cli.export import ExportOptions
from sml_cli.problems import Problem
from sml_cli.prompts import Prompts
from sml_cli.records import SessionInfo, Turn
from sml_cli.store import Store
from sml_cli.testing import (
    ScriptedParticipant,
    answer_copying_student,
    hint_following_student,
    hinting_teacher,
    telling_teacher,
)

PROMPTS = Prompts()
FIRST_WORDS = {  # each condition's student opens differently: one shared prefix, then they differ
    "answer": "Is it a trick question? Final answer: 0",
    "symmetric": "I will guess. Final answer: 1",
    "binary": "Let me think about it. Final answer: 0",
}


def make_problems() -> list[Problem]:
    # Answers that occur nowhere in their question, so any occurrence in a student view is a leak.
    rows = [
        ("p1", "A shop sells pens in packs of 6. Ana buys 7 packs. How many pens does she have?",
         "42"),
        ("p2", "A train travels 60 km every hour. How far does it go in 5 hours?", "300"),
        ("p3", "Tom has 15 marbles and wins 12 more. How many marbles does he have now?", "27"),
    ]
    return [Problem(id=i, question=q, answer=a, verifier="numeric",
                    solution=f"Multiply or add the numbers to get {a}, the final result here.",
                    notes="Students often forget to carry.", source="test")
            for i, q, a in rows]


def student_for(condition: str) -> ScriptedParticipant:
    def respond(messages: list[dict[str, str]]) -> str:
        if sum(1 for m in messages if m["role"] == "assistant") == 0:
            return FIRST_WORDS[condition]
        return hint_following_student(messages)

    return ScriptedParticipant(respond, "stu")


async def _run(store: Store, info: SessionInfo, problem: Problem, student: Any,
               teacher: Any) -> SessionInfo:
    store.create_session(info)
    return await Session(info, problem, student, teacher, PROMPTS, store).run()


def build_db(path: Path) -> dict[str, Any]:
    """An eval over the answer, symmetric and binary conditions (answer: solved at turn 2
    after a hint; symmetric and binary: never solved), plus two sessions whose teacher
    told the answer: one flagged (the student received it), one redacted."""
    problems = make_problems()
    sessions: dict[str, SessionInfo] = {}
    with Store(path) as store:
        store.save_problems(problems)
        store.create_run("r1", "eval", {})
        store.create_run("r2", "eval", {})

        async def main() -> None:
            n = 0
            for p in problems:
                for condition in ("answer", "symmetric", "binary"):
                    n += 1
                    info = SessionInfo(
                        id=f"s{n:02d}", problem_key=p.key, problem_id=p.id, condition=condition,
                        student_model="stu", max_turns=3, run_id="r1",
                        teacher_model=None if condition == "binary" else "tea")
                    teacher = None if condition == "binary" else ScriptedParticipant(
                        hinting_teacher, "tea")
                    sessions[info.id] = await _run(store, info, p, student_for(condition),
                                                   teacher)
            for sample, (sid, policy) in enumerate((("leak-flag", "flag"),
                                                     ("leak-redact", "redact"))):
                info = SessionInfo(id=sid, problem_key=problems[0].key, problem_id="p1",
                                   condition="answer", student_model="copier",
                                   teacher_model="teller", max_turns=3, run_id="r2",
                                   guard=policy, sample=sample)
                sessions[sid] = await _run(store, info, problems[0],
                                           ScriptedParticipant(answer_copying_student, "copier"),
                                           ScriptedParticipant(telling_teacher, "teller"))

        asyncio.run(main())
    return {"problems": {p.key: p for p in problems}, "sessions": sessions}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("export") / "sml.db"
    return path, build_db(path)


def run_export(db_path: Path, tmp_path: Path | None = None, suffix: str = ".jsonl",
               **kw: Any) -> list[dict[str, Any]]:
    """Export and read the rows back (from a file when tmp_path is given, else stdout)."""
    if tmp_path is None:
        out = io.StringIO()
        export.run(ExportOptions(db=str(db_path), **kw), stdout=out)
        return [json.loads(line) for line in out.getvalue().splitlines()]
    target = tmp_path / f"out{suffix}"
    export.run(ExportOptions(db=str(db_path), output=str(target), **kw))
    return read_rows(target)


def read_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def conversations(row: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Every message list in a row, as role/content dicts."""
    if "conversations" in row:
        return [[{"role": {"human": "user", "gpt": "assistant"}.get(m["from"], m["from"]),
                  "content": m["value"]} for m in row["conversations"]]]
    return [row[k] for k in ("messages", "prompt", "completion", "chosen", "rejected")
            if k in row]


def states(number: str, text: str) -> bool:
    return re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d]|[.,]\d)", text) is not None


STUDENT_FORMATS = ["openai", "sharegpt", "trl", "trl-prompt-completion", "preference"]


# ----------------------------------------------------------------------------- the must-shows


@pytest.mark.parametrize("fmt", STUDENT_FORMATS)
@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".json"])
def test_every_student_format_parses_and_holds_no_answer(
    db: tuple[Path, dict[str, Any]], tmp_path: Path, fmt: str, suffix: str
) -> None:
    path, built = db
    rows = run_export(path, tmp_path, suffix, fmt=fmt, view="student")
    assert rows, f"{fmt} exported nothing"
    answers = {p.answer for p in built["problems"].values()}
    privates = [t for p in built["problems"].values() for t in (p.solution, p.notes)]
    for row in rows:
        for messages in conversations(row):
            for m in messages:
                assert set(m) <= {"role", "content", "weight"}
                assert m["role"] in ("system", "user", "assistant")
                if m["role"] == "assistant":
                    continue  # the student's own messages may hold a right final answer
                for answer in answers:
                    assert not states(answer, m["content"]), (fmt, m)
                assert not any(private in m["content"] for private in privates)


@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "trl", "trl-prompt-completion", "raw"])
@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_every_teacher_format_parses_and_holds_the_answer(
    db: tuple[Path, dict[str, Any]], tmp_path: Path, fmt: str, suffix: str
) -> None:
    path, built = db
    assert run_export(path, tmp_path, suffix, fmt=fmt, view="teacher")  # every condition
    rows = run_export(path, tmp_path, suffix, fmt=fmt, view="teacher", conditions=["answer"])
    assert len(rows) >= 3
    for row in rows:
        text = json.dumps(row)
        assert any(states(p.answer, text) for p in built["problems"].values())
        if fmt == "raw":
            assert {"session", "problem", "turns"} <= set(row)
            assert row["problem"]["answer"]
            assert {t["visibility"] for t in row["turns"]} == {"public", "teacher"}


def test_teacher_view_roles_and_system_prompt(db: tuple[Path, dict[str, Any]]) -> None:
    path, built = db
    rows = run_export(path, fmt="openai", view="teacher")
    teacherless = {s.id for s in built["sessions"].values() if s.condition == "binary"}
    assert len(rows) == len(built["sessions"]) - len(teacherless) - 2  # leaked left out
    for row in rows:
        messages = row["messages"]
        assert messages[0]["role"] == "system"
        assert "You are a teacher" in messages[0]["content"]
        assert messages[-1]["role"] == "assistant"  # SFT: nothing after the last teacher turn
        assert messages[1]["role"] == "user"  # the student's first message


def test_only_solved_keeps_exactly_the_solved_sessions(db: tuple[Path, dict[str, Any]]) -> None:
    path, built = db
    solved = {s.id for s in built["sessions"].values() if s.solved and not s.leaks}
    assert solved and solved != {s.id for s in built["sessions"].values()}
    raw = run_export(path, fmt="raw", view="teacher", only_solved=True)
    assert {r["session"]["id"] for r in raw} == solved
    rows = run_export(path, fmt="openai", view="student", only_solved=True)
    assert len(rows) == len(solved)
    for row in rows:
        assert "Final answer" in row["messages"][-1]["content"]


def test_preference_yields_pairs(db: tuple[Path, dict[str, Any]]) -> None:
    path, _ = db
    rows = run_export(path, fmt="preference", view="student")
    assert rows
    for row in rows:
        assert set(row) == {"prompt", "chosen", "rejected"}
        assert row["chosen"] != row["rejected"]
        assert [m["role"] for m in row["chosen"] + row["rejected"]] == ["assistant"] * 2
        assert row["prompt"][0]["role"] == "system" and row["prompt"][-1]["role"] == "user"
        # solved sessions opened with the answer condition's words; unsolved ones differently
        assert row["chosen"][0]["content"] == FIRST_WORDS["answer"]
        assert row["rejected"][0]["content"] in (FIRST_WORDS["symmetric"],
                                                 FIRST_WORDS["binary"])
    # one pair per problem per rejected opening: 3 problems x 2
    assert len(rows) == 6


# ----------------------------------------------------------------------------- formats


def test_student_view_shape(db: tuple[Path, dict[str, Any]]) -> None:
    path, built = db
    rows = run_export(path, fmt="openai", view="student")
    questions = {p.question for p in built["problems"].values()}
    assert len(rows) == len(built["sessions"]) - 2  # the two leaked sessions are left out
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert roles[0] == "system" and roles[1] == "user"
        assert row["messages"][1]["content"] in questions
        assert all(a != b for a, b in itertools.pairwise(roles))
        assert "student" in row["messages"][0]["content"].lower()


def test_weights_zero_only_for_failed_attempts(db: tuple[Path, dict[str, Any]]) -> None:
    path, _ = db
    rows = run_export(path, fmt="openai", view="student", weights=True,
                      conditions=["answer"])
    assert len(rows) == 3
    for row in rows:
        assistant = [m for m in row["messages"] if m["role"] == "assistant"]
        assert [m["weight"] for m in assistant] == [0, 1]  # wrong first attempt, right second
        assert all("weight" not in m for m in row["messages"] if m["role"] != "assistant")


def test_sharegpt_roles(db: tuple[Path, dict[str, Any]]) -> None:
    path, _ = db
    rows = run_export(path, fmt="sharegpt", view="student")
    for row in rows:
        froms = [m["from"] for m in row["conversations"]]
        assert froms[:2] == ["system", "human"] and "gpt" in froms
        assert set(froms) <= {"system", "human", "gpt"}


def test_prompt_completion_one_row_per_student_turn(db: tuple[Path, dict[str, Any]]) -> None:
    path, built = db
    rows = run_export(path, fmt="trl-prompt-completion", view="student")
    expected = sum(s.student_turns for s in built["sessions"].values() if not s.leaks)
    assert len(rows) == expected
    for row in rows:
        assert len(row["completion"]) == 1 and row["completion"][0]["role"] == "assistant"
        assert row["prompt"][-1]["role"] == "user"
    teacher_rows = run_export(path, fmt="trl-prompt-completion", view="teacher")
    assert teacher_rows and all(r["prompt"][0]["role"] == "system" for r in teacher_rows)


def test_parquet_holds_the_same_rows_as_jsonl(db: tuple[Path, dict[str, Any]],
                                              tmp_path: Path) -> None:
    path, _ = db
    for fmt, kw in (("openai", {"weights": True}), ("trl-prompt-completion", {})):
        jsonl = run_export(path, tmp_path, ".jsonl", fmt=fmt, **kw)
        parquet = run_export(path, tmp_path, ".parquet", fmt=fmt, **kw)
        assert _without_nulls(parquet) == _without_nulls(jsonl)


def _without_nulls(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parquet structs have every field; JSON messages only the ones they use."""
    return [{k: [{f: v for f, v in m.items() if v is not None} for m in ms]
             for k, ms in r.items()} for r in rows]


def test_filters(db: tuple[Path, dict[str, Any]]) -> None:
    path, _ = db
    raw = lambda **kw: {r["session"]["id"] for r in run_export(path, fmt="raw",  # noqa: E731
                                                              view="teacher", **kw)}
    assert raw(conditions=["symmetric"]) == {"s02", "s05", "s08"}
    assert raw(run_ids=["r2"]) == set()  # both sessions of r2 leaked
    assert raw(run_ids=["r2"], include_leaked=True) == {"leak-flag", "leak-redact"}
    assert raw(student_models=["copier"], include_leaked=True) == {"leak-flag", "leak-redact"}
    assert raw(student_models=["copier"]) == set()  # (both leaked)


def test_leaked_sessions_left_out_unless_included(db: tuple[Path, dict[str, Any]]) -> None:
    path, built = db
    answer = built["problems"][built["sessions"]["leak-flag"].problem_key].answer
    assert not run_export(path, fmt="openai", run_ids=["r2"])
    rows = run_export(path, fmt="raw", view="teacher", run_ids=["r2"], include_leaked=True)
    by_id = {r["session"]["id"]: r for r in rows}
    assert by_id["leak-flag"]["session"]["leaks"] == 1
    student = {}
    out = io.StringIO()
    export.run(ExportOptions(db=str(path), fmt="openai", run_ids=["r2"], include_leaked=True),
               stdout=out)
    for line, sid in zip(out.getvalue().splitlines(), sorted(by_id), strict=True):
        student[sid] = json.loads(line)["messages"]
    given = lambda sid: " ".join(m["content"] for m in student[sid]  # noqa: E731
                                 if m["role"] == "user")
    # exactly what the student received: the flagged leak as said, the redacted one redacted
    assert states(answer, given("leak-flag"))
    assert not states(answer, given("leak-redact")) and "[redacted]" in given("leak-redact")


def test_stdout_and_file_agree(db: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    path, _ = db
    assert run_export(path, fmt="trl") == run_export(path, tmp_path / "new" / "dir", fmt="trl")
    assert [f.name for f in (tmp_path / "new" / "dir").iterdir()] == ["out.jsonl"]


def test_stats_prints_and_writes_nothing(db: tuple[Path, dict[str, Any]], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path, built = db
    target = tmp_path / "sub" / "never.jsonl"
    result = export.run(ExportOptions(db=str(path), fmt="openai", output=str(target),
                                      stats=True))
    assert not list(tmp_path.iterdir())
    out = " ".join(capsys.readouterr().out.split())
    assert "answer" in out and "symmetric" in out and "stu" in out
    assert "status done" in out and "2 sessions with a flagged leak left out" in out
    assert result.sessions == len(built["sessions"]) - 2
    cells = result.stats.by_group
    assert cells[("answer", "stu")].sessions == 3 and cells[("answer", "stu")].solved == 3
    assert cells[("answer", "stu")].student_turns == 6 and cells[("answer", "stu")].tokens > 0
    teacher = export.run(ExportOptions(db=str(path), fmt="openai", view="teacher", stats=True))
    assert teacher.stats.left_out["no_teacher"] == 3
    assert "without a teacher" in " ".join(capsys.readouterr().out.split())


NO_ROWS = [
    pytest.param(["--format", "preference", "--condition", "symmetric"],
                 "the 3 sessions give no pair: no problem has both a solved and an unsolved "
                 "session whose student replies differ", id="preference"),
    pytest.param(["--format", "preference", "--condition", "symmetric", "--view", "teacher"],
                 "the 3 sessions give no pair: no problem has both a solved and an unsolved "
                 "session whose teacher replies differ", id="preference-teacher-view"),
    pytest.param(["--run-id", "r2"], "of the 2 sessions chosen, 2 have a flagged leak "
                 "(--include-leaked keeps them)", id="leaked"),
    pytest.param(["--only-solved", "--condition", "symmetric"],
                 "of the 3 sessions chosen, 3 are not solved (--only-solved)", id="only-solved"),
    pytest.param(["--view", "teacher", "--condition", "binary"],
                 "of the 3 sessions chosen, 3 have no teacher (binary, none)", id="teacher"),
    pytest.param(["--run-id", "r2", "--condition", "binary"],
                 "no session has all of the --condition/--run-id/--student-model values given",
                 id="filters-together"),
]


@pytest.mark.parametrize(("flags", "why"), NO_ROWS)
def test_an_export_with_no_rows_writes_nothing_and_says_why(
        db: tuple[Path, dict[str, Any]], tmp_path: Path, flags: list[str], why: str) -> None:
    """A valid outcome (exit 0), but an empty training file is easily taken for a result:
    nothing is written (no file, no folder; a file already there is left as it was), and
    the line says why there are no rows."""
    from typer.testing import CliRunner

    from sml_cli.cli import app

    path, _ = db
    for target in (tmp_path / "new" / "out.jsonl", tmp_path / "out.parquet"):
        result = CliRunner().invoke(app, ["export", "--db", str(path), *flags, "-o",
                                          str(target)])
        output = " ".join(result.output.split())
        assert result.exit_code == 0, output
        assert f"No rows, so nothing was written to {target}: {why}" in output
        assert not list(tmp_path.iterdir())
    kept = tmp_path / "kept.jsonl"
    kept.write_text("an earlier export\n")
    result = CliRunner().invoke(app, ["export", "--db", str(path), *flags, "-o", str(kept)])
    assert "(the file there is left as it was)" in " ".join(result.output.split())
    assert kept.read_text() == "an earlier export\n"
    # On stdout, no rows is no output; the reason goes to stderr.
    out = io.StringIO()
    assert export.run(ExportOptions(db=str(path), **_options(flags)), stdout=out).rows == 0
    assert out.getvalue() == ""


def _options(flags: list[str]) -> dict[str, Any]:
    """ExportOptions fields for the CLI flags of NO_ROWS."""
    names = {"--format": "fmt", "--view": "view", "--condition": "conditions",
             "--run-id": "run_ids", "--student-model": "student_models"}
    kw: dict[str, Any] = {}
    args = iter(flags)
    for flag in args:
        if flag == "--only-solved":
            kw["only_solved"] = True
        elif names[flag] in ("fmt", "view"):
            kw[names[flag]] = next(args)
        else:
            kw.setdefault(names[flag], []).append(next(args))
    return kw


FILTER_TYPOS = [
    pytest.param(["--condition", "answr"], "--condition 'answr': no session in",
                 "(conditions there: answer, binary, symmetric)", id="condition"),
    pytest.param(["--condition", "answer", "--condition", "none"],
                 "--condition 'none': no session in", "(conditions there:", id="one-of-two"),
    pytest.param(["--run-id", "nope"], "--run-id 'nope': no run 'nope' in",
                 "(recent runs: r", id="run"),
    pytest.param(["--student-model", "stu2"], "--student-model 'stu2': no session in",
                 "(student models there: copier, stu)", id="student-model"),
]


@pytest.mark.parametrize(("flags", "says", "lists"), FILTER_TYPOS)
def test_a_filter_value_no_session_has_is_refused_and_nothing_written(
        db: tuple[Path, dict[str, Any]], tmp_path: Path, flags: list[str], says: str,
        lists: str) -> None:
    """A typo in a filter selects nothing: an empty file with exit 0 would hide it. Refused
    (exit 2) naming the flag and the values the database has, before anything is written."""
    from typer.testing import CliRunner

    from sml_cli.cli import app

    path, _ = db
    target = tmp_path / "z.jsonl"
    for extra in (["-o", str(target)], ["--stats"]):
        result = CliRunner().invoke(app, ["export", "--db", str(path), *flags, *extra])
        output = " ".join(result.output.split())
        assert result.exit_code == 2, output
        assert says in output and lists in output
        assert not list(tmp_path.iterdir())


def test_sessions_list_refuses_a_filter_value_no_session_has(
        db: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sml_cli.cli import app

    path, _ = db

    def listing(*flags: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["sessions", "list", "--db", str(path), *flags])
        return result.exit_code, " ".join(result.output.split())

    for flags, says in (
        (["--condition", "answr"], "--condition 'answr': no session in"),
        (["--run-id", "nope"], "--run-id 'nope': no run 'nope' in"),
        (["--status", "runing"], "--status 'runing': choose running, done or error"),
        (["--model", "gpt"], "(models there: copier, stu, tea, teller)"),
        (["--json", "--condition", "answr"], "(conditions there: answer, binary, symmetric)"),
    ):
        code, output = listing(*flags)
        assert code == 2 and says in output, output
    # Values that exist but select nothing together are a valid, empty answer.
    assert listing("--run-id", "r2", "--condition", "binary")[0] == 0
    assert listing("--status", "running")[0] == 0
    # Conditions are whatever the database holds (imports bring their own labels).
    other = tmp_path / "own.db"
    problem = make_problems()[0]
    with Store(other) as store:
        store.save_problems([problem])
        store.create_session(SessionInfo(id="m1", problem_key=problem.key, problem_id="p1",
                                         condition="mathdial", student_model="human",
                                         teacher_model="human",
                                         max_turns=3, status="done"))
    result = CliRunner().invoke(app, ["sessions", "list", "--db", str(other), "--condition",
                                      "mathdial"])
    assert result.exit_code == 0 and "m1" in result.output, result.output


# ----------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(("kw", "flag"), [
    ({"fmt": "alpaca"}, "--format"),
    ({"view": "parent"}, "--view"),
    ({"fmt": "raw", "view": "student"}, "--view teacher"),
    ({"fmt": "sharegpt", "weights": True}, "--weights"),
    ({"fmt": "preference", "only_solved": True}, "--only-solved"),
    ({"output": "out.csv"}, "-o"),
    ({"output": "out"}, "-o"),
])
def test_bad_options_are_usage_errors(db: tuple[Path, dict[str, Any]], tmp_path: Path,
                                      kw: dict[str, Any], flag: str) -> None:
    path, _ = db
    if "output" in kw:
        kw = {**kw, "output": str(tmp_path / kw["output"])}
    with pytest.raises(UsageError, match=re.escape(flag)) as err:
        export.run(ExportOptions(db=str(path), **kw), stdout=io.StringIO())
    assert err.value.exit_code == 2
    assert not list(tmp_path.iterdir())


def test_unwritable_or_directory_output(db: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    path, _ = db
    with pytest.raises(UsageError, match="is a directory"):
        export.run(ExportOptions(db=str(path), output=str(tmp_path)))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="-o"):
        export.run(ExportOptions(db=str(path), output=str(blocker / "out.jsonl")))


def test_missing_database_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--db"):
        export.run(ExportOptions(db=str(tmp_path / "none.db")))
    assert not (tmp_path / "none.db").exists()


def test_raw_defaults_to_the_teacher_view(db: tuple[Path, dict[str, Any]]) -> None:
    path, _ = db
    assert run_export(path, fmt="raw", view=None)


# ----------------------------------------------------------------------------- the final scan


def _add_session(path: Path, sid: str, problem: Problem, rows: list[tuple[str, str, str, int]],
                 *, leaks: int = 0, solved: bool = False) -> None:
    """A finished session written row by row (role, kind, content, turn), bypassing the
    engine and its guard — to check that the export does not rely on them."""
    with Store(path) as store:
        store.save_problems([problem])
        store.create_session(SessionInfo(
            id=sid, problem_key=problem.key, problem_id=problem.id, condition="answer",
            student_model="hand", teacher_model="hand", max_turns=3, status="done",
            solved=solved, leaks=leaks, student_turns=1))
        for seq, (role, kind, content, turn) in enumerate(rows):
            store.add_turn(Turn(sid, seq, turn, role,
                                "teacher" if role == "verifier" else "public", kind, content,
                                correct=solved if kind == "verdict" else None))


def test_final_scan_refuses_an_unflagged_leak(tmp_path: Path) -> None:
    path = tmp_path / "sml.db"
    p = make_problems()[0]
    _add_session(path, "sneaky", p, [
        ("system", "student_prompt", "You are a student.", 0),
        ("system", "question", p.question, 0),
        ("student", "question_asked", "Any hint?", 1),
        ("teacher", "message", "Sure: it is forty-two.", 1),  # the guard never saw this one
    ])
    target = tmp_path / "out.jsonl"
    for fmt in ("openai", "sharegpt", "trl", "trl-prompt-completion", "preference"):
        with pytest.raises(SmlError, match="session sneaky") as err:
            export.run(ExportOptions(db=str(path), fmt=fmt, output=str(target)))
        assert err.value.exit_code == 1
        assert [f.name for f in tmp_path.iterdir() if not f.name.startswith("sml.db")] == []
    # the teacher view may hold it
    assert run_export(path, fmt="openai", view="teacher")


def test_final_scan_refuses_a_quoted_private_field(tmp_path: Path) -> None:
    path = tmp_path / "sml.db"
    p = make_problems()[1]
    _add_session(path, "quoter", p, [
        ("system", "question", p.question, 0),
        ("student", "message", "I am stuck", 1),
        ("teacher", "message", f"Read this: {p.notes}", 1),
    ])
    with pytest.raises(SmlError, match="private 'notes'"):
        export.run(ExportOptions(db=str(path)), stdout=io.StringIO())


def test_final_scan_allows_repeating_what_the_student_said(tmp_path: Path) -> None:
    path = tmp_path / "sml.db"
    p = make_problems()[0]
    _add_session(path, "confirm", p, [
        ("system", "student_prompt", "You are a student. You have at most 3 messages.", 0),
        ("system", "question", p.question, 0),
        ("student", "message", "Six times seven is 42, I think", 1),
        ("teacher", "message", "Yes, 42 is right. Well done.", 1),
        ("student", "message", "Thank you!", 2),
    ])
    rows = run_export(path, fmt="openai")
    assert "42 is right" in rows[0]["messages"][-2]["content"]


def test_numbers_of_the_student_prompt_are_not_leaks(tmp_path: Path) -> None:
    path = tmp_path / "sml.db"
    p = Problem(id="q6", question="What is two times three?", answer="6", verifier="numeric")
    _add_session(path, "six", p, [
        ("system", "student_prompt", "You have at most 6 messages.", 0),
        ("system", "question", p.question, 0),
        ("student", "attempt", "Final answer: 6", 1),
        ("verifier", "verdict", "correct", 1),
    ], solved=True)
    assert len(run_export(path, fmt="openai")) == 1


def test_a_choice_question_lists_the_answer_and_is_still_exported(tmp_path: Path) -> None:
    path = tmp_path / "sml.db"
    p = Problem(id="c1", question="Capital of France?", answer="B", verifier="choice",
                choices=("Lyon", "Paris", "Nice"))
    _add_session(path, "choice", p, [
        ("system", "question", p.public_question(), 0),
        ("student", "message", "Hmm", 1),
        ("teacher", "message", "Think of the largest city.", 1),
    ])
    assert len(run_export(path, fmt="openai")) == 1


def test_consecutive_turns_of_one_role_are_merged(tmp_path: Path) -> None:
    path = tmp_path / "sml.db"
    p = make_problems()[2]
    _add_session(path, "merge", p, [
        ("system", "question", p.question, 0),
        ("teacher", "message", "Take your time.", 0),  # the teacher speaks first
        ("student", "message", "Okay.", 1),
        ("student", "attempt", "Final answer: 26", 1),
        ("verifier", "verdict", "incorrect", 1),
        ("teacher", "message", "Count again.", 1),
    ])
    rows = run_export(path, fmt="openai")
    roles = [m["role"] for m in rows[0]["messages"]]
    # The two student turns are one message; the teacher's last word, which the student
    # never answered, is no SFT target and is dropped.
    assert roles == ["system", "user", "assistant"]  # no stored prompt: the student's is added
    assert rows[0]["messages"][1]["content"].endswith("Take your time.")
    assert rows[0]["messages"][2]["content"] == "Okay.\n\nFinal answer: 26"
    assert all("Count again" not in m["content"] for m in rows[0]["messages"])
    # With --weights that message holds a failed attempt (weight 0), and it is the only one:
    # a row that would train nothing is left out, and the export says so.
    out = io.StringIO()
    result = export.run(ExportOptions(db=str(path), fmt="openai", weights=True), stdout=out)
    assert out.getvalue() == ""
    assert {k: n for k, n in result.stats.left_out.items() if n} == {"untrained": 1}


# ----------------------------------------------------------------------------- streaming


def test_the_export_query_streams_without_sorting(db: tuple[Path, dict[str, Any]]) -> None:
    """Sessions in primary-key order, turns through their (session_id, seq) index: SQLite
    never has to materialise and sort the whole result (at most one session's rows, the
    "right part" of the ORDER BY)."""
    path, _ = db
    captured: list[str] = []
    conn = sqlite3.connect(path)
    conn.set_trace_callback(captured.append)

    class FakeStore:
        def __init__(self) -> None:
            self.conn = conn

    list(export.iter_sessions(FakeStore(), ExportOptions(), student_rows=True, lean=True))
    queries = [q for q in captured if q.lstrip().startswith("SELECT") and "FROM sessions" in q]
    assert len(queries) == 2  # the sessions, and their turns
    for query in queries:
        plan = " ".join(str(r) for r in conn.execute("EXPLAIN QUERY PLAN " + query))
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
        assert "SCAN s USING INDEX sqlite_autoindex_sessions" in plan, plan


def test_sessions_are_grouped_one_at_a_time(db: tuple[Path, dict[str, Any]]) -> None:
    path, built = db
    with Store(path) as store:
        seen = []
        for data in export.iter_sessions(store, ExportOptions(include_leaked=True)):
            assert {t.session_id for t in data.turns} == {data.info.id}
            assert [t.seq for t in data.turns] == sorted(t.seq for t in data.turns)
            seen.append(data.info.id)
    assert sorted(seen) == sorted(built["sessions"])


def test_cli_export_to_stdout(db: tuple[Path, dict[str, Any]]) -> None:
    from typer.testing import CliRunner

    from sml_cli.cli import app

    path, _ = db
    result = CliRunner().invoke(app, ["export", "--db", str(path), "--format", "trl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all("messages" in r for r in rows)



def test_real_cli_bad_format_exits_2(db: tuple[Path, dict[str, Any]]) -> None:
    import subprocess
    import sys

    path, _ = db
    done = subprocess.run([sys.executable, "-m", "sml_cli", "export", "--db", str(path),
                           "--format", "alpaca"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr


def test_the_export_preview_keeps_every_number_whole_at_80_columns() -> None:
    """A file, a pipe or a default terminal is 80 columns wide: the preview cut its widest
    numbers, a total of 3,493 turns shown as "3,4…" and 101,120 tokens as "101,1…"."""
    from rich.console import Console

    from sml_cli import console_views

    stats = export.ExportStats("openai", "student")
    for condition, model in (("symmetric", "openai/answer_copying_student"),
                             ("verifier", "hosted_vllm/Qwen/Qwen2.5-72B-Instruct")):
        stats.by_group[(condition, model)] = export.StatsCell(
            sessions=1_250, solved=1_000, student_turns=7_000, teacher_turns=6_000,
            rows=1_250, messages=16_250, chars=4_000_000)
    out = Console(width=80, file=io.StringIO(), record=True)
    console_views.print_export_stats(stats, ExportOptions(stats=True), target=out)
    text = out.export_text()
    assert "…" not in "".join(line[30:] for line in text.splitlines()), text
    for number in ("2,500", "2,000", "26,000", "32,500", "2,000,000", "symmetric"):
        assert number in text.split(), (number, text)
