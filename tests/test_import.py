"""`sml sessions import` (SPEC §4): transcripts logged elsewhere, scored like evals."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sml_cli import export, transcripts
from sml_cli.errors import SmlError, UsageError
from sml_cli.records import VERDICT
from sml_cli.store import Store

PROBLEM = {"id": "apples", "question": "Ana has 5 bags with 8 apples each. How many apples?",
           "answer": "40"}

# Four dialogues, scored by hand below.
SOLVED_AFTER_HINT = {  # wrong, hint, right on turn 2
    "problem": PROBLEM, "condition": "answer",
    "turns": [
        {"role": "student", "content": "5 + 8 = 13. Final answer: 13"},
        {"role": "teacher", "content": "Each bag holds 8 apples. How many bags are there?"},
        {"role": "student", "content": "Oh, 5 bags of 8. Final answer: 40"},
    ],
}
TEACHER_TOLD = {  # the teacher states the answer before the student did; solved on turn 2
    "problem": PROBLEM, "condition": "answer",
    "turns": [
        {"role": "student", "content": "Final answer: 45"},
        {"role": "teacher", "content": "No, it is 40."},
        {"role": "student", "content": "Final answer: 40"},
    ],
}
NEVER_SOLVED = {  # three wrong turns, a question among them
    "problem": PROBLEM, "condition": "answer",
    "turns": [
        {"role": "student", "content": "Is it 13?"},
        {"role": "teacher", "content": "Think about multiplication."},
        {"role": "student", "content": "Final answer: 58"},
        {"role": "teacher", "content": "Not quite."},
        {"role": "student", "content": "Final answer: 85"},
    ],
}
FIRST_TURN = {  # right away
    "problem": PROBLEM, "condition": "answer",
    "turns": [{"role": "student", "content": "8 * 5 = 40. Final answer: 40"}],
}


def jsonl(rows: list[Any]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "sml.db")


def counts(db: str) -> tuple[int, int, int]:
    if not Path(db).exists():
        return (0, 0, 0)
    conn = sqlite3.connect(db)
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore
                     for t in ("runs", "sessions", "turns"))
    except sqlite3.OperationalError:
        return (0, 0, 0)
    finally:
        conn.close()


def test_four_transcripts_scored_by_hand(write_file: Callable[..., Path], db: str) -> None:
    path = write_file("t.jsonl", jsonl([SOLVED_AFTER_HINT, TEACHER_TOLD, NEVER_SOLVED,
                                        FIRST_TURN]))
    result = transcripts.import_file(str(path), db=db)
    s = result["conditions"]["answer"]
    # By hand: solved = {after hint (turn 2), told (turn 2), first turn (turn 1)} → 3 of 4.
    assert s["n_sessions"] == 4 and s["n_errors"] == 0
    assert s["success_rate"] == 0.75
    # Only the told dialogue has a teacher turn stating 40 before the student did → 1 of 4.
    assert s["leak_rate"] == 0.25
    # First attempts: 13 ✗, 45 ✗, 58 ✗ ("Is it 13?" is a question, not an attempt), 40 ✓.
    assert s["first_attempt_success_rate"] == 0.25
    # The longest dialogue has 3 student turns: solved by turn 1: 1/4, by 2: 3/4, by 3: 3/4.
    assert s["success_at_turn"] == [0.25, 0.75, 0.75]
    # Recovery: of the 3 whose first attempt failed, 2 solved.
    assert s["recovery_rate"] == pytest.approx(2 / 3)
    assert s["mean_turns_to_solve"] == pytest.approx((2 + 2 + 1) / 3)
    # Questions / student turns: 1 question in 2 + 2 + 3 + 1 = 8 turns.
    assert s["question_rate"] == pytest.approx(1 / 8)
    assert set(result) == {"run_id", "elapsed_s", "config", "conditions", "deltas"}


def test_sessions_and_turns_are_stored(write_file: Callable[..., Path], db: str) -> None:
    path = write_file("t.jsonl", jsonl([TEACHER_TOLD, NEVER_SOLVED]))
    result = transcripts.import_file(str(path), db=db, run_id="imp1")
    assert result["run_id"] == "imp1"
    with Store(db) as store:
        run = store.run("imp1")
        assert run is not None and run["kind"] == "import" and run["status"] == "done"
        sessions = list(store.sessions("run_id = ?", ["imp1"]))
        assert [s.origin for s in sessions] == ["import", "import"]
        assert {s.condition for s in sessions} == {"answer"}
        assert [s.sample for s in sessions] == [0, 1]  # same problem and condition twice
        assert all(s.student_model == "imported" and s.status == "done" for s in sessions)
        told = next(s for s in sessions if s.leaks)
        turns = store.turns(told.id)
        assert [(t.role, t.kind, t.turn) for t in turns] == [
            ("system", "question", 0), ("student", "attempt", 1), ("verifier", VERDICT, 1),
            ("teacher", "message", 1), ("student", "attempt", 2), ("verifier", VERDICT, 2),
        ]
        assert [t.visibility for t in turns if t.role == "verifier"] == ["teacher", "teacher"]
        leak = turns[3]
        assert leak.leak and leak.leak_spans == [(10, 12)] and leak.guard_action == "flag"
        assert store.problem(told.problem_key).answer == "40"


def test_mention_scores_human_dialogues(write_file: Callable[..., Path], db: str) -> None:
    rows = [
        {"problem": PROBLEM, "turns": [  # the student says it, then the teacher confirms
            {"role": "teacher", "content": "Hi! How would you start?"},
            {"role": "student", "content": "Multiply 5 by 8?"},
            {"role": "teacher", "content": "Good idea, go on."},
            {"role": "student", "content": "That makes forty apples"},
            {"role": "teacher", "content": "Yes, 40 is right."},
        ]},
        {"problem": PROBLEM, "turns": [  # the teacher tells first
            {"role": "student", "content": "no idea"},
            {"role": "teacher", "content": "It's 40."},
            {"role": "student", "content": "ok 40"},
        ]},
    ]
    path = write_file("h.jsonl", jsonl(rows))
    strict = transcripts.import_file(str(path), db=db, match="strict")["conditions"]["imported"]
    assert strict["success_rate"] == 0.0  # no answer markers: nothing is an attempt
    assert strict["leak_rate"] == 0.5  # telling does not depend on markers
    mention = transcripts.import_file(str(path), db=db, match="mention")
    s = mention["conditions"]["imported"]
    assert s["success_rate"] == 1.0
    assert s["success_at_turn"] == [0.0, 1.0]
    assert s["leak_rate"] == 0.5  # the confirmation after the student said it is not telling
    assert mention["config"]["match"] == "mention"
    with Store(db) as store:
        first = next(store.sessions("run_id = ? AND leaks = 0", [mention["run_id"]]))
        turns = store.turns(first.id)
        assert turns[1].role == "teacher" and turns[1].turn == 0  # before any student turn
        assert first.teacher_model == "imported" and first.condition == "imported"


def test_mention_of_an_answer_the_question_also_gives_counts_only_as_a_result(
    write_file: Callable[..., Path], db: str
) -> None:
    # The answer, 5, is a number of the question: restating it solves nothing; a turn
    # that ends on it (a result is said last) does.
    problem = {"question": "Tom has 5 apples, buys 3 and eats 3. How many apples now?",
               "answer": "5"}
    row = {"problem": problem, "turns": [
        {"role": "student", "content": "Tom has 5 apples and buys 3, so 8."},
        {"role": "teacher", "content": "And then he eats some."},
        {"role": "student", "content": "8 minus 3 leaves 5"},
    ]}
    path = write_file("q.jsonl", jsonl([row]))
    s = transcripts.import_file(str(path), db=db, match="mention")["conditions"]["imported"]
    assert s["success_at_turn"] == [0.0, 1.0]
    assert s["first_attempt_success_rate"] == 0.0  # turn 1 stated 8: a wrong result


def student_verdicts(write_file: Callable[..., Path], db: str, problem: dict[str, Any],
                     replies: list[str]) -> list[tuple[str, bool] | None]:
    """Each one-turn dialogue's verdict under --match mention: (the attempt, right?), or
    None where the turn was no attempt."""
    rows = [{"problem": problem, "turns": [{"role": "student", "content": r}]}
            for r in replies]
    run = transcripts.import_file(str(write_file("m.jsonl", jsonl(rows))), db=db,
                                  match="mention")["run_id"]
    found: list[tuple[str, bool] | None] = []
    with Store(db) as store:
        for info in sorted(store.sessions("run_id = ?", [run]), key=lambda i: i.created):
            verdicts = [t for t in store.turns(info.id) if t.kind == VERDICT]
            found.append((verdicts[0].attempt or "", bool(verdicts[0].correct))
                         if verdicts else None)
    return found


def test_mention_reads_the_result_a_turn_settles_on(
    write_file: Callable[..., Path], db: str
) -> None:
    """A result said as the answer, or the number a statement ends on, is the turn's result,
    before any other number it passes through; MathDial's fish-tank problem, whose answer (3)
    and the student's (2) are both numbers of the question (as words)."""
    fish = {"question": "Gail has two tanks; the first holds 48 gallons and is twice the "
                        "second. Two-inch fish go in the second, three-inch fish in the first. "
                        "If one fish eats another, how many more fish are in the first tank?",
            "answer": "3"}
    assert student_verdicts(write_file, db, fish, [
        "I got 2.",
        "15 - 12 = 3, but one ate another so 3 - 1 = 2.",
        "My answer is 2, because 15 - 12 = 3 and then one fish was eaten.",
        "24, 12, 16, 15, then 2",
        "So the answer is 3, I think, after 15 - 12.",
        "The first tank holds 48.",
    ]) == [("2", False), ("2", False), ("2", False), ("2", False), ("3", True), None]
    apples = {"question": "Tom buys 4 bags of 6 apples. How many apples?", "answer": "24"}
    assert student_verdicts(write_file, db, apples, [
        "4 times 6 is 24, minus the 2 I ate is 22",  # passes through 24, settles on 22
        "I got twenty-four, is that right?",
        "Is it 4 bags?",  # a question about the question's numbers: no attempt
        "The bags hold 6.",  # restating the question: no attempt
    ]) == [("22", False), ("twenty-four", True), None, None]


def test_mention_reads_the_option_a_reply_names(write_file: Callable[..., Path], db: str) -> None:
    """Multiple choice (Eedi's dialogues): an option named, tentatively too, is an attempt,
    a wrong one as well as the right one; the right option's number said last is the answer
    even though the question gives it; and a tutor confirming an option the student named
    is not telling."""
    problem = {"question": "What is the range of 4, 9, 2, 7?", "choices": ["5", "7", "9", "2"],
               "answer": "B"}
    assert student_verdicts(write_file, db, problem, [
        "B?", "is it A", "so B?", "I think it's B", "b) 7", "the range is 7", "9 and 2 so 7",
        "5", "A or B?", "no its 7, so B?", "9 - 2, so A",
    ]) == [("B", True), ("A", False), ("B", True), ("B", True), ("B", True), ("7", True),
           ("B", True), ("A", False), None, ("B", True), ("A", False)]
    row = {"problem": problem, "turns": [{"role": "student", "content": "so B?"},
                                         {"role": "teacher", "content": "Yes, B is right."}]}
    path = write_file("told.jsonl", jsonl([row]))
    s = transcripts.import_file(str(path), db=db, match="mention")["conditions"]["imported"]
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)


def test_mention_of_a_text_answer(write_file: Callable[..., Path], db: str) -> None:
    row = {"problem": {"question": "Capital of France?", "answer": "Paris"},
           "turns": [{"role": "student", "content": "I think it is paris"}]}
    path = write_file("c.jsonl", jsonl([row]))
    s = transcripts.import_file(str(path), db=db, match="mention")["conditions"]["imported"]
    assert s["success_rate"] == 1.0


def test_condition_and_meta(write_file: Callable[..., Path], db: str) -> None:
    rows = [{**FIRST_TURN, "condition": "tutor-A",
             "meta": {"student_model": "alice", "teacher_model": "bob", "school": "x"}},
            {**NEVER_SOLVED, "condition": "tutor-B"}]
    path = write_file("m.jsonl", jsonl(rows))
    result = transcripts.import_file(str(path), db=db)
    assert list(result["conditions"]) == ["tutor-A", "tutor-B"]
    assert result["conditions"]["tutor-A"]["success_at_turn"] == [1.0, 1.0, 1.0]
    with Store(db) as store:
        a = next(store.sessions("condition = 'tutor-A'"))
        assert (a.student_model, a.teacher_model) == ("alice", "bob")
        assert a.meta["school"] == "x" and a.meta["line"] == 1


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({"turns": FIRST_TURN["turns"]}), "no 'problem' object and no 'question'"),
    (json.dumps({"problem": {"answer": "4"}, "turns": FIRST_TURN["turns"]}), "no 'question'"),
    (json.dumps({"problem": {"question": "2+2?"}, "turns": FIRST_TURN["turns"]}),
     "no 'answer'"),
    (json.dumps({"problem": PROBLEM, "turns": []}), "the dialogue has no turns"),
    (json.dumps({"problem": PROBLEM}), "no turns (looked for turns, messages"),
    (json.dumps({"problem": PROBLEM, "turns": [{"role": "narrator", "content": "hi"}]}),
     "speaker 'narrator' is neither student nor teacher"),
    (json.dumps({"problem": PROBLEM, "turns": [{"role": "student"}]}),
     "turn 1: expected a speaker column"),
    (json.dumps({"problem": PROBLEM, "turns": [{"role": "student", "content": 3}]}),
     "'content' must be a string"),
    (json.dumps({"problem": PROBLEM, "turns": FIRST_TURN["turns"], "meta": [1]}), "'meta'"),
    (json.dumps({"problem": PROBLEM, "turns": FIRST_TURN["turns"], "condition": ""}),
     "'condition'"),
    (json.dumps({"problem": {**PROBLEM, "verifier": "numeric", "answer": "forty-ish"},
                 "turns": FIRST_TURN["turns"]}), "not a number"),
])
def test_bad_rows_name_the_line_and_write_nothing(
    write_file: Callable[..., Path], db: str, line: str, message: str
) -> None:
    path = write_file("bad.jsonl", jsonl([FIRST_TURN, "", line, FIRST_TURN]))
    with pytest.raises(UsageError) as err:
        transcripts.import_file(str(path), db=db)
    assert err.value.exit_code == 2
    assert f"{path}:3:" in str(err.value) and message in str(err.value)
    assert counts(db) == (0, 0, 0)


def test_bad_usage(write_file: Callable[..., Path], db: str, tmp_path: Path) -> None:
    path = write_file("t.jsonl", jsonl([FIRST_TURN]))
    with pytest.raises(UsageError, match="--match"):
        transcripts.import_file(str(path), db=db, match="fuzzy")
    with pytest.raises(UsageError, match="no such transcript file"):
        transcripts.import_file(str(tmp_path / "missing.jsonl"), db=db)
    with pytest.raises(UsageError, match="no transcripts"):
        transcripts.import_file(str(write_file("empty.jsonl", "\n")), db=db)
    transcripts.import_file(str(path), db=db, run_id="once")
    with pytest.raises(UsageError, match="--run-id once"):
        transcripts.import_file(str(path), db=db, run_id="once")
    assert counts(db) == (1, 1, 3)  # the question, the attempt, its verdict


def test_a_failure_while_writing_leaves_nothing(write_file: Callable[..., Path], db: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from sml_cli import store as store_module

    path = write_file("t.jsonl", jsonl([FIRST_TURN, SOLVED_AFTER_HINT, NEVER_SOLVED]))
    calls = []

    def failing(conn: sqlite3.Connection, turns: list) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise sqlite3.OperationalError("disk I/O error")
        conn.executemany(store_module._INSERT_TURN, [t.to_row() for t in turns])

    monkeypatch.setattr(store_module, "insert_turns", failing)
    with pytest.raises(SmlError, match="nothing was written"):
        transcripts.import_file(str(path), db=db)
    assert counts(db) == (0, 0, 0)


def test_write_json(write_file: Callable[..., Path], db: str, tmp_path: Path) -> None:
    path = write_file("t.jsonl", jsonl([SOLVED_AFTER_HINT, FIRST_TURN]))
    target = tmp_path / "out" / "scores.json"
    result = transcripts.import_file(str(path), db=db, json_path=str(target))
    assert json.loads(target.read_text()) == result


def test_a_json_path_that_cannot_be_written_is_refused_before_the_import(
    write_file: Callable[..., Path], db: str, tmp_path: Path
) -> None:
    """As `sml eval` does: exit 2 and nothing imported. (The import used to be stored, then
    the JSON failed with exit 1, so the obvious retry imported every dialogue again.)"""
    from typer.testing import CliRunner

    from sml_cli.cli import app

    path = write_file("t.jsonl", jsonl([SOLVED_AFTER_HINT, FIRST_TURN]))
    for target in (tmp_path, path / "x.json"):  # a folder; a file where a folder must be
        result = CliRunner().invoke(app, ["sessions", "import", str(path), "--db", db,
                                          "--json", str(target)])
        assert result.exit_code == 2, result.output
        assert f"--json {target}" in " ".join(result.output.split())
        assert counts(db) == (0, 0, 0)


def test_imported_sessions_export(write_file: Callable[..., Path], db: str) -> None:
    confirm = {"problem": PROBLEM, "turns": [
        {"role": "student", "content": "Final answer: 40"},
        {"role": "teacher", "content": "Yes! 40 apples."},
    ]}
    path = write_file("t.jsonl", jsonl([SOLVED_AFTER_HINT, TEACHER_TOLD, confirm]))
    transcripts.import_file(str(path), db=db)
    out = io.StringIO()
    export.run(export.ExportOptions(db=db, fmt="openai"), stdout=out)
    rows = [json.loads(line)["messages"] for line in out.getvalue().splitlines()]
    assert len(rows) == 2  # the told dialogue is a leak: left out
    for messages in rows:
        # No prompt was stored (none was given); the export opens with the student's system
        # prompt, rendered from public facts, then the question.
        assert messages[0]["role"] == "system" and "40" not in messages[0]["content"]
        assert messages[1] == {"role": "user", "content": PROBLEM["question"]}
    out = io.StringIO()
    export.run(export.ExportOptions(db=db, fmt="openai", include_leaked=True), stdout=out)
    assert len(out.getvalue().splitlines()) == 3


def test_cli_import(write_file: Callable[..., Path], db: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sml_cli.cli import app

    path = write_file("t.jsonl", jsonl([SOLVED_AFTER_HINT, TEACHER_TOLD, NEVER_SOLVED,
                                        FIRST_TURN]))
    target = tmp_path / "scores.json"
    result = CliRunner().invoke(app, ["sessions", "import", str(path), "--db", db,
                                      "--json", str(target)])
    assert result.exit_code == 0, result.output
    scores = json.loads(target.read_text())
    assert scores["conditions"]["answer"]["success_rate"] == 0.75
    assert "answer" in result.output



def test_labels_and_ids_are_printed_as_text_not_as_rich_markup(
    write_file: Callable[..., Path], db: str, tmp_path: Path
) -> None:
    """A condition label, a problem id, a model name or a path is data: '[/x]' in one is
    shown as written by every command that prints it (each raised MarkupError, a
    traceback, where Rich read it as a closing tag)."""
    from typer.testing import CliRunner

    from sml_cli.cli import app

    row = {**FIRST_TURN, "problem": {**PROBLEM, "id": "q[/x]"}, "condition": "lab[/el]",
           "meta": {"student_model": "m[/odel]"}}
    path = write_file("t.jsonl", jsonl([row]))

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, [*args, "--db", db])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    assert "lab[/el]" in run("sessions", "import", str(path), "--preview", "1")
    assert "lab[/el]" in run("sessions", "import", str(path), "--run-id", "r[/un]")
    listing = run("sessions", "list", "--run-id", "r[/un]")
    assert "q[/x]" in listing and "lab[/el]" in listing and "m[/odel]" in listing
    with Store(db) as store:
        session = next(store.sessions())
    assert "problem q[/x] · condition lab[/el]" in run("sessions", "show", session.id)
    assert "r[/un]" in run("report")
    assert "lab[/el]" in run("report", "r[/un]")
    run("sessions", "import", str(path), "--run-id", "s[/un]")
    compared = run("report", "r[/un]", "s[/un]")
    assert "lab[/el]" in compared and "r[/un] vs s[/un]" in compared
    assert "lab[/el]" in run("export", "--stats", "--include-leaked")
    run("export", "--include-leaked", "-o", str(tmp_path / "o[/x].jsonl"))


def test_a_database_path_with_brackets_is_printed_as_text(
    write_file: Callable[..., Path], tmp_path: Path
) -> None:
    """`sessions list` names the database in its title: a folder called "a[/x]" is shown as
    written (Rich read it as a closing tag, and the listing died with MarkupError)."""
    from typer.testing import CliRunner

    from sml_cli.cli import app

    db = str(tmp_path / "a[/x]" / "s.db")
    path = write_file("t.jsonl", jsonl([FIRST_TURN]))
    assert CliRunner().invoke(app, ["sessions", "import", str(path), "--db", db]).exit_code == 0
    result = CliRunner().invoke(app, ["sessions", "list", "--db", db])
    assert result.exit_code == 0, result.output
    assert "a[/x]" in "".join(result.output.split())


def test_turns_run_together_on_one_line(write_file: Callable[..., Path], db: str) -> None:
    """Vicuna-style logs write a dialogue on one line ("USER: … ASSISTANT: …"): each label
    opens a turn. A single turn that merely quotes a label stays one turn."""
    row = {"id": "v1", "question": "What is 8 x 7?", "answer": "56",
           "conversation": "USER: I think 8 x 7 is 54 ASSISTANT: What is 8 x 5 and 8 x 2? "
                           "USER: 40 and 16, so 56</s>ASSISTANT: Yes!"}
    quoting = {"id": "v2", "question": "What is 8 x 7?", "answer": "56",
               "conversation": "Student: my Teacher: said to skip it. Is it 56?"}
    one_exchange = {"id": "v3", "question": "What is 8 x 7?", "answer": "56",
                    "conversation": "USER: is it 56? ASSISTANT: It is."}
    rows = [row, quoting, one_exchange]
    run = transcripts.import_file(str(write_file("v.jsonl", jsonl(rows))), db=db,
                                  match="mention")["run_id"]
    with Store(db) as store:
        sessions = {i.problem_id: i for i in store.sessions("run_id = ?", [run])}
        said = [(t.role, t.content) for t in store.turns(sessions["v1"].id)
                if t.role in ("student", "teacher")]
        assert said == [("student", "I think 8 x 7 is 54"),
                        ("teacher", "What is 8 x 5 and 8 x 2?"),
                        ("student", "40 and 16, so 56"), ("teacher", "Yes!")]
        assert sessions["v1"].solved_at_turn == 2
        quoted = [t.content for t in store.turns(sessions["v2"].id) if t.role == "student"]
        assert quoted == ["my Teacher: said to skip it. Is it 56?"]
        assert [t.role for t in store.turns(sessions["v3"].id)
                if t.role in ("student", "teacher")] == ["student", "teacher"]


def test_a_history_of_pairs_then_the_last_exchange(write_file: Callable[..., Path],
                                                   db: str) -> None:
    """LLaMA-Factory's and ChatGLM's layout (SocraticLM's single-turn data): `history` holds
    [user, assistant] pairs and the row the exchange they lead up to."""
    row = {"question": "How many clips did she sell in all?", "answer": "72",
           "history": [["How many clips did she sell in all?", "How many in May?"],
                       ["Half as many, so 24.", "Right! And altogether?"]],
           "instruction": "48 + 24 = 72", "input": "", "output": "Correct!"}
    bare = {**{k: v for k, v in row.items() if k not in ("instruction", "input", "output")},
            "id": "bare"}
    run = transcripts.import_file(str(write_file("h.json", json.dumps([row, bare]))), db=db,
                                  match="mention")["run_id"]
    with Store(db) as store:
        sessions = sorted(store.sessions("run_id = ?", [run]), key=lambda i: i.problem_id)
        said = {i.problem_id: [(t.role, t.content) for t in store.turns(i.id)
                               if t.role in ("student", "teacher")] for i in sessions}
    assert said["1"] == [
        ("student", "How many clips did she sell in all?"), ("teacher", "How many in May?"),
        ("student", "Half as many, so 24."), ("teacher", "Right! And altogether?"),
        ("student", "48 + 24 = 72"), ("teacher", "Correct!")]
    assert said["bare"] == said["1"][:4]
