"""`sml sessions import --allow-missing-answers`: dialogues with no reference answer.

Many public tutoring corpora (Bridge, CIMA, classroom transcripts) log what was said about a
problem but not its answer. They import for reading and export; what needs the answer
(success, first attempts, recovery, telling) is unknown — null in the JSON, NULL in the
database — never a failure that would drag a success rate down; asks and turns count.

The dialogues here are written for these tests, in Bridge's shape: the turns under `c_h`
as {id, user, text}, the tutor's first turn stating the problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sml_cli.metrics import condition_scores, paired_deltas
from sml_cli.problems import Problem
from sml_cli.records import SessionInfo
from tests.test_import_formats import (
    DATA,
    counts,
    describe,
    flat,
    import_fails,
    import_ok,
    invoke,
    jsonl,
    only,
    query,
    read_jsonl,
)

BRIDGE_ARGS = ("--turns-field", "c_h", "--question-from-first-turn")


def bridge_row(c_id: str, *turns: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return {"c_id": c_id, "lesson_topic": "3.OA.B.5",
            "c_h": [{"id": i, "user": user, "text": text}
                    for i, (user, text) in enumerate(turns)], "e": "guess", **extra}


# (tests/data/dialogues/bridge_shaped.jsonl holds these rows, for the README's example.)
ROWS = [
    # A question ("?"), then a message, then a marked attempt: 3 student turns, 1 asks.
    bridge_row("c1", ("tutor", "What is 3 times 4?"), ("student", "Is it adding?"),
               ("tutor", "No, 3 groups of 4."), ("student", "ok"),
               ("tutor", "So what is it?"), ("student", "Final answer: 12")),
    # Two plain messages; the tutor says 11, which with no answer tells nothing.
    bridge_row("c2", ("tutor", "What is 5 plus 6?"), ("student", "10"),
               ("tutor", "Count on from 5: it is 11."), ("student", "11")),
]


@pytest.fixture
def bridge(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.jsonl"
    path.write_text(jsonl(ROWS), encoding="utf-8")
    return path


def test_the_readme_example_file_holds_these_rows() -> None:
    assert read_jsonl(DATA / "bridge_shaped.jsonl") == ROWS


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sml.db"


def test_without_the_flag_the_error_names_the_line_and_suggests_it(bridge: Path,
                                                                    db: Path) -> None:
    out = import_fails(bridge, db, *BRIDGE_ARGS)
    assert f"{bridge}:1: no 'answer' field" in out
    assert "--allow-missing-answers imports those unscored" in out
    assert counts(db) == (0, 0, 0, 0)


def test_answerless_dialogues_count_turns_and_asks_and_score_nothing(bridge: Path,
                                                                     db: Path) -> None:
    result = import_ok(bridge, db, *BRIDGE_ARGS, "--allow-missing-answers")
    s = only(result)
    assert result["config"]["n_without_answer"] == 2
    assert s["n_sessions"] == 2 and s["n_errors"] == 0
    for key in ("success_rate", "success_rate_ci95", "first_attempt_success_rate",
                "recovery_rate", "mean_turns_to_solve", "leak_rate"):
        assert s[key] is None, key
    assert s["success_at_turn"] == [None, None, None]  # the longest dialogue: 3 student turns
    assert s["question_rate"] == pytest.approx(1 / 5)  # "Is it adding?" of 5 student turns
    rows = query(db, "SELECT solved, first_attempt_correct, leaks, attempts, questions, "
                     "student_turns, status FROM sessions ORDER BY rowid")
    assert [tuple(r) for r in rows] == [(None, None, None, 1, 1, 3, "done"),
                                        (None, None, None, 0, 0, 2, "done")]
    # The marked attempt is stored as one, with no verdict: nothing could judge it.
    kinds = [tuple(r) for r in query(db, "SELECT role, kind, attempt FROM turns "
                                         "WHERE role IN ('student', 'verifier') ORDER BY rowid")]
    assert ("student", "attempt", "12") in kinds
    assert not [k for k in kinds if k[0] == "verifier"]
    assert query(db, "SELECT count(*) FROM turns WHERE leak")[0][0] == 0
    problem = query(db, "SELECT answer, verifier FROM problems ORDER BY rowid")
    assert [tuple(r) for r in problem] == [(None, "none"), (None, "none")]
    meta = json.loads(query(db, "SELECT meta FROM sessions ORDER BY rowid")[0][0])
    assert meta["c_id"] == "c1" and meta["e"] == "guess"


def test_summary_shows_dashes_and_says_why(bridge: Path, db: Path) -> None:
    result = invoke("sessions", "import", bridge, "--db", db, *BRIDGE_ARGS,
                    "--allow-missing-answers")
    assert result.exit_code == 0, describe(result)
    row = next(line for line in result.stdout.splitlines()
               if line.split()[:1] == ["imported"] and line.split()[1].isdigit())
    assert row.split()[:5] == ["imported", "2", "0", "–", "–"]
    assert "20%" in row  # asks
    assert "all 2 dialogues had no reference answer" in flat(result.stderr)


def test_no_marker_note_when_no_dialogue_had_an_answer(tmp_path: Path, db: Path) -> None:
    """Without a reference answer nothing could be solved whatever the matching: the note on
    missing answer markers (and its advice, --match mention) would mislead; with one
    dialogue answered, it is still given."""
    unmarked = [bridge_row("c1", ("tutor", "What is 3 times 4?"), ("student", "Is it 7?"),
                           ("tutor", "Count 3 groups of 4."), ("student", "12"))]
    path = tmp_path / "unmarked.jsonl"
    path.write_text(jsonl(unmarked), encoding="utf-8")
    result = invoke("sessions", "import", path, "--db", db, *BRIDGE_ARGS,
                    "--allow-missing-answers")
    assert result.exit_code == 0, describe(result)
    said = flat(result.stderr)
    assert "the dialogue had no reference answer" in said
    assert "answer marker" not in said and "--match mention" not in said
    answered = {**unmarked[0], "c_id": "c2", "answer": "12"}
    path.write_text(jsonl([*unmarked, answered]), encoding="utf-8")
    result = invoke("sessions", "import", path, "--db", db, *BRIDGE_ARGS,
                    "--allow-missing-answers")
    assert result.exit_code == 0, describe(result)
    assert "no student turn had an answer marker" in flat(result.stderr)


def test_show_says_there_is_no_reference_answer(bridge: Path, db: Path) -> None:
    import_ok(bridge, db, *BRIDGE_ARGS, "--allow-missing-answers")
    session_id = query(db, "SELECT id FROM sessions ORDER BY rowid")[0][0]
    result = invoke("sessions", "show", session_id, "--db", db)
    assert result.exit_code == 0, describe(result)
    out = flat(result.output)
    assert "no reference answer" in out and "answer: None" not in out
    assert "not solved" not in out and "solved at" not in out


def test_teacher_export_gets_the_prompt_of_a_teacher_who_knew_no_more(bridge: Path, db: Path,
                                                                     tmp_path: Path) -> None:
    import_ok(bridge, db, *BRIDGE_ARGS, "--allow-missing-answers")
    out = tmp_path / "teacher.jsonl"
    result = invoke("export", "--db", db, "--view", "teacher", "-o", out)
    assert result.exit_code == 0, describe(result)
    rows = read_jsonl(out)
    assert len(rows) == 2
    system = next(r["messages"][0] for r in rows if "3 times 4" in r["messages"][0]["content"])
    assert system["role"] == "system"
    assert "Reference answer" not in system["content"]
    assert "decided by the tests" not in system["content"]
    assert "only what the student knows" in system["content"]  # the symmetric prompt


def test_a_worked_solution_without_an_answer_is_the_teachers_alone(tmp_path: Path,
                                                                   db: Path) -> None:
    path = tmp_path / "with_solution.jsonl"
    row = {**bridge_row("c9", ("tutor", "What is 2 times 9?"), ("student", "16?"),
                        ("tutor", "Add one more 2.")), "worked": "Nine twos: 18."}
    path.write_text(jsonl([row]), encoding="utf-8")
    import_ok(path, db, *BRIDGE_ARGS, "--allow-missing-answers", "--field", "solution=worked")
    out = tmp_path / "teacher.jsonl"
    assert invoke("export", "--db", db, "--view", "teacher", "-o", out).exit_code == 0
    system = read_jsonl(out)[0]["messages"][0]["content"]
    assert "You can see a worked solution" in system and "Nine twos: 18." in system
    assert "Reference answer" not in system
    student = tmp_path / "student.jsonl"
    assert invoke("export", "--db", db, "--view", "student", "-o", student).exit_code == 0
    assert "Nine twos" not in student.read_text(encoding="utf-8")


def test_preference_pairs_never_use_unscored_sessions(tmp_path: Path, db: Path) -> None:
    # Two dialogues of one problem that part after the same opening: with answers, one
    # solved and one not, they would make a pair; without, there is no chosen side.
    path = tmp_path / "same_problem.jsonl"
    rows = [bridge_row(c, ("tutor", "What is 3 times 4?"), ("student", "help"),
                       ("tutor", reply), ("student", "Final answer: 12"))
            for c, reply in (("a", "Count by threes."), ("b", "Count by fours."))]
    path.write_text(jsonl(rows), encoding="utf-8")
    import_ok(path, db, *BRIDGE_ARGS, "--allow-missing-answers")
    out = tmp_path / "pairs.jsonl"
    result = invoke("export", "--db", db, "--format", "preference", "-o", out)
    assert result.exit_code == 0, describe(result)
    assert not out.exists() or read_jsonl(out) == []


def test_raw_export_reimports_only_as_answerless(bridge: Path, db: Path,
                                                 tmp_path: Path) -> None:
    import_ok(bridge, db, *BRIDGE_ARGS, "--allow-missing-answers")
    raw = tmp_path / "raw.jsonl"
    assert invoke("export", "--db", db, "--format", "raw", "-o", raw).exit_code == 0
    again = tmp_path / "again.db"
    out = import_fails(raw, again)
    assert f"{raw}:1: problem: verifier 'none'" in out and "--allow-missing-answers" in out
    result = import_ok(raw, again, "--allow-missing-answers")
    assert only(result)["n_sessions"] == 2
    assert [r[0] for r in query(again, "SELECT verifier FROM problems")] == ["none", "none"]


def test_problems_file_without_answers(tmp_path: Path, db: Path) -> None:
    problems = tmp_path / "questions.csv"
    problems.write_text("QuestionId,Text\nq1,What is 3 times 4?\n", encoding="utf-8")
    dialogues = tmp_path / "dialogues.jsonl"
    dialogues.write_text(jsonl([{"QuestionId": "q1", "turns": [
        {"role": "student", "content": "Is it 7?"}, {"role": "teacher", "content": "No."}]}]),
        encoding="utf-8")
    flags = ("--problems", problems, "--problem-id-field", "QuestionId", "--question-field",
             "Text", "--field", "id=QuestionId")
    out = import_fails(dialogues, db, *flags)
    assert f"{problems}:2: no 'answer' field" in out and "--allow-missing-answers" in out
    s = only(import_ok(dialogues, db, *flags, "--allow-missing-answers"))
    assert s["success_rate"] is None and s["question_rate"] == 1.0


def test_chat_resume_refuses_an_imported_dialogue(bridge: Path, db: Path) -> None:
    import_ok(bridge, db, *BRIDGE_ARGS, "--allow-missing-answers")
    session_id = query(db, "SELECT id FROM sessions ORDER BY rowid")[0][0]
    result = invoke("chat", "--resume", session_id, "--db", db)
    assert result.exit_code == 2, describe(result)
    assert "not a chat" in flat(result.output)
    assert query(db, "SELECT status FROM sessions WHERE id = ?", (session_id,))[0][0] == "done"


# ----------------------------------------------------------------------------- scores


def session(condition: str, problem: str, solved: bool | None, *, first: bool | None = None,
            leaks: int | None = 0) -> SessionInfo:
    return SessionInfo(
        id=f"{condition}-{problem}-{solved}", problem_key=problem, problem_id=problem,
        condition=condition, student_model="s", teacher_model="t", max_turns=3,
        status="done", solved=solved, solved_at_turn=1 if solved else None,
        first_attempt_correct=solved if first is None else first, attempts=1, questions=1,
        student_turns=2, leaks=None if solved is None else leaks)


def test_unscored_sessions_are_left_out_of_rates_but_not_of_asks() -> None:
    sessions = [session("x", "p1", True), session("x", "p2", False, leaks=1),
                session("x", "p3", None), session("x", "p4", None)]
    s = condition_scores(sessions, max_turns=3)
    assert s["n_sessions"] == 4
    assert s["success_rate"] == 0.5  # 1 of the 2 scored, not 1 of 4
    assert s["success_at_turn"] == [0.5, 0.5, 0.5]
    assert s["leak_rate"] == 0.5
    assert s["recovery_rate"] == 0.0
    assert s["question_rate"] == pytest.approx(4 / 8)  # every session's turns count


def test_paired_deltas_pair_only_scored_sessions() -> None:
    sessions = [session("answer", "p1", True), session("none", "p1", False),
                session("answer", "p2", None), session("none", "p2", False)]
    deltas = paired_deltas(sessions, resamples=200)
    assert deltas["answer-none"]["delta"] == 1.0  # p1 only; p2 has no outcome under answer


def test_private_panel_of_a_code_problem_names_its_tests() -> None:
    from sml_cli.console_views import _private_summary

    code = Problem(id="c", question="Write f.", answer=None, verifier="python",
                   tests="assert f(1) == 2\nassert f(2) == 3\n")
    assert _private_summary(code).splitlines()[0] == "answer: decided by the tests (2 lines)"
    numeric = Problem(id="n", question="2+2?", answer="4", verifier="numeric", notes="easy")
    assert _private_summary(numeric).splitlines() == ["answer: 4", "notes: easy"]


# ----------------------------------------------------------------------------- mixed files

# MRBench's layout (one JSON array, written on one line): the dialogue as one text of
# "Tutor: …" / "Student: …" lines under `conversation_history`, the tutor's opening stating
# the problem; MathDial rows carry a worked solution ending "#### N", Bridge rows the
# placeholder "Not Available".
MRBENCH = [
    {"conversation_id": "930-b01", "conversation_history":
        "Tutor: Hi, could you solve the question below? The question is: Elliott walks "
        "10,000 steps a day and has done half. How many steps are left?\n"
        " Student: He has done 4000 steps.\n Tutor: Half of 10,000?\n Student: 5000 left.",
     "Data": "MathDial", "Ground_Truth_Solution": "10000 / 2 = 5000\n#### 5000"},
    {"conversation_id": "2-bridge", "conversation_history":
        "tutor: What is 3 x 4?\nstudent: 7\ntutor: Is that right?\nstudent: is it 12?",
     "Data": "Bridge", "Ground_Truth_Solution": "Not Available"},
]
MRBENCH_ARGS = ("--question-from-first-turn", "--answer-field", "Ground_Truth_Solution",
                "--answer-pattern", "gsm8k", "--match", "mention")


@pytest.fixture
def mrbench(tmp_path: Path) -> Path:
    path = tmp_path / "mrbench.json"
    path.write_text(json.dumps(MRBENCH), encoding="utf-8")
    return path


def test_rows_with_a_placeholder_answer_are_refused_by_item(mrbench: Path, db: Path) -> None:
    out = import_fails(mrbench, db, *MRBENCH_ARGS)
    assert (f"{mrbench}:1 (item 2): 'Ground_Truth_Solution' is 'Not Available': a "
            "placeholder") in out
    assert "--allow-missing-answers" in out
    assert counts(db) == (0, 0, 0, 0)


def test_a_mixed_file_scores_the_rows_that_have_answers(mrbench: Path, db: Path) -> None:
    result = invoke("sessions", "import", mrbench, "--db", db, "--json", db.parent / "r.json",
                    *MRBENCH_ARGS, "--allow-missing-answers")
    assert result.exit_code == 0, describe(result)
    assert "1 of 2 dialogues had no reference answer" in flat(result.stderr)
    s = only(json.loads((db.parent / "r.json").read_text(encoding="utf-8")))
    # MathDial row: 4000 (a number not in the question) is a wrong first attempt, "5000 left"
    # solves at turn 2; the tutor never says 5000. The Bridge row counts only its turns.
    assert s["n_sessions"] == 2
    assert s["success_rate"] == 1.0 and s["success_at_turn"] == [0.0, 1.0]
    assert s["first_attempt_success_rate"] == 0.0 and s["recovery_rate"] == 1.0
    assert s["leak_rate"] == 0.0
    assert s["question_rate"] == pytest.approx(1 / 4)  # "is it 12?" of the 4 student turns
    rows = [tuple(r) for r in query(db, "SELECT json_extract(meta, '$.Data'), solved, leaks "
                                        "FROM sessions ORDER BY rowid")]
    assert rows == [("MathDial", 1, 0), ("Bridge", None, None)]
    listing = invoke("sessions", "list", "--db", db)
    # (The listing drops columns on a narrow terminal, and rich fixes the width when the
    # module is first imported: read the cells by their header, whichever are shown.)
    [[bridge_id]] = query(db, "SELECT id FROM sessions WHERE solved IS NULL")
    lines = listing.stdout.splitlines()
    header = next(line.split() for line in lines if line.split()[:1] == ["id"])
    cells = next(line.split() for line in lines if line.startswith(bridge_id[:8]))
    bridge = {name: cells[header.index(name)] for name in ("turns", "leaks")}
    assert (bridge["turns"], bridge["leaks"]) == ("2", "–")  # leaks unknown, not 0


def test_a_dialogue_text_under_another_name_is_pointed_at(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(jsonl([{"question": "2+2?", "answer": "4", "chat_log":
                            "Teacher: What is 2+2?\nStudent: 5\nTeacher: Count again.\n"
                            "Student: 4"}]), encoding="utf-8")
    out = import_fails(path, db)
    assert "is it 'chat_log'? name it with --turns-field chat_log" in out
    s = only(import_ok(path, db, "--turns-field", "chat_log", "--match", "mention"))
    assert s["success_rate"] == 1.0


def test_where_picks_the_dialogues_to_import(mrbench: Path, db: Path) -> None:
    """MRBench mixes MathDial dialogues (answered) and Bridge ones: --where Data=MathDial
    imports the first only, with no need to allow missing answers."""
    s = only(import_ok(mrbench, db, *MRBENCH_ARGS, "--where", "Data=MathDial"))
    assert s["n_sessions"] == 1 and s["success_rate"] == 1.0
    out = import_fails(mrbench, db, *MRBENCH_ARGS, "--where", "Data=Khan")
    assert "--where Data=Khan: no row of" in out and "Data: MathDial, Bridge" in out
    assert counts(db)[0] == 1  # the refused import wrote nothing more


# MRBench's candidate replies: for each dialogue, the next tutor turn as each tutor (LLMs and
# an expert) would say it, with human labels such as Revealing_of_the_Answer.
CANDIDATES = {
    "Gemini": {"response": "Not quite: half of 10,000 is 5000, so 5000 steps are left.",
               "annotation": {"Revealing_of_the_Answer": "Yes"}},
    "Expert": {"response": "What do you get when you split 10,000 into two equal parts?",
               "annotation": {"Revealing_of_the_Answer": "No"}},
    "Novice": "Check your subtraction again.",
}


def test_candidate_replies_each_end_a_session_scored_per_tutor(tmp_path: Path,
                                                               db: Path) -> None:
    row = {**MRBENCH[0], "conversation_history": MRBENCH[0]["conversation_history"]
           .replace("Student: 5000 left.", "Student: Is it 4000?"),
           "anno_llm_responses": CANDIDATES}
    path = tmp_path / "mrbench.json"
    path.write_text(json.dumps([row]), encoding="utf-8")
    flags = (*MRBENCH_ARGS, "--responses-field", "anno_llm_responses")
    result = import_ok(path, db, *flags)
    conditions = result["conditions"]
    assert sorted(conditions) == ["Expert", "Gemini", "Novice"]
    # Only Gemini's reply tells the answer before the student said it.
    assert {c: s["leak_rate"] for c, s in conditions.items()} == {
        "Expert": 0.0, "Gemini": 1.0, "Novice": 0.0}
    assert all(s["success_rate"] == 0.0 and s["n_sessions"] == 1 for s in conditions.values())
    assert result["config"]["mapping"]["--responses-field"] == "anno_llm_responses"
    # The problem is named by the dialogue's conversation_id (the row gives no problem id).
    assert {r[0] for r in query(db, "SELECT problem_id FROM sessions")} == {"930-b01"}
    rows = query(db, "SELECT condition, meta FROM sessions ORDER BY rowid")
    metas = {c: json.loads(m) for c, m in rows}
    assert metas["Gemini"]["candidate_info"] == {
        "annotation": {"Revealing_of_the_Answer": "Yes"}}
    assert "anno_llm_responses" not in metas["Gemini"] and "candidate_info" not in metas["Novice"]
    last = query(db, "SELECT content FROM turns WHERE role = 'teacher' AND session_id = "
                     "(SELECT id FROM sessions WHERE condition = 'Expert') ORDER BY seq DESC")
    assert last[0][0] == CANDIDATES["Expert"]["response"]  # type: ignore[index]
    # A list of candidates is named by its `model` key, else by place.
    as_list = [{"model": "Gemini", "response": "It is 5000."}, {"response": "Try halving."}]
    path.write_text(json.dumps([{**row, "anno_llm_responses": as_list}]), encoding="utf-8")
    listed = import_ok(path, db, *flags)["conditions"]
    assert {c: s["leak_rate"] for c, s in listed.items()} == {"Gemini": 1.0, "2": 0.0}


@pytest.mark.parametrize(("candidates", "message"), [
    (None, "no 'anno_llm_responses' field (--responses-field)"),
    ({"Gemini": {"annotation": {}}}, "candidate 'Gemini' has no reply text"),
    ([{"model": "A", "response": "x"}, {"model": "A", "response": "y"}],
     "candidate names repeat (A)"),
    ("just text", "holds str: expected candidate replies"),
    ({}, "holds no candidate reply"),
])
def test_bad_candidate_replies_are_refused_naming_the_line(
        tmp_path: Path, db: Path, candidates: Any, message: str) -> None:
    row = dict(MRBENCH[0])
    if candidates is not None:
        row["anno_llm_responses"] = candidates
    path = tmp_path / "mrbench.json"
    path.write_text(json.dumps([row]), encoding="utf-8")
    out = import_fails(path, db, *MRBENCH_ARGS, "--responses-field", "anno_llm_responses")
    assert f"{path}:1" in out and message in out, out
    assert counts(db) == (0, 0, 0, 0)


def test_candidates_in_columns_of_their_own_are_named_by_their_column(tmp_path: Path,
                                                                      db: Path) -> None:
    """Bridge keeps the tutor's next turn (`c_r`) and an expert's revision of it
    (`c_revision`) in columns of their own, a list of one turn object each. Listed together,
    each column is a candidate named by it; a turn's `id` (its place in the dialogue) names
    no candidate; and the problem is named by the dialogue's `c_id`."""
    row = bridge_row("bridge-1", ("tutor", "What is 21 + 14?"), ("student", "25"),
                     c_r=[{"id": 2, "text": "No, it is 35.", "user": "tutor"}],
                     c_revision=[{"id": 2, "user": "tutor",
                                  "text": "Let's add the tens first. What is 20 + 10?"}],
                     answer="35")
    path = tmp_path / "bridge.jsonl"
    path.write_text(jsonl([row]), encoding="utf-8")
    flags = (*BRIDGE_ARGS, "--match", "mention")
    result = import_ok(path, db, *flags, "--responses-field", "c_r,c_revision")
    # Only the tutor's own turn tells the answer; the expert's revision asks a step.
    assert {c: s["leak_rate"] for c, s in result["conditions"].items()} == {
        "c_r": 1.0, "c_revision": 0.0}
    rows = query(db, "SELECT problem_id, condition, meta FROM sessions ORDER BY rowid")
    assert [(r[0], r[1]) for r in rows] == [("bridge-1", "c_r"), ("bridge-1", "c_revision")]
    metas = [json.loads(r[2]) for r in rows]
    assert metas[0]["candidate_info"] == {"id": 2, "user": "tutor"}
    assert not {"c_r", "c_revision"} & set(metas[0])
    # One column of one unnamed candidate: named by the column, not by the turn's id.
    alone = import_ok(path, db.with_name("alone.db"), *flags, "--responses-field", "c_r")
    assert list(alone["conditions"]) == ["c_r"]
    # Several unnamed ones are named by their place; a number under a name key is no name.
    row["c_r"] = [{"id": 2, "text": "It is 35."}, {"model": 7, "text": "Add the tens."}]
    path.write_text(jsonl([row]), encoding="utf-8")
    listed = import_ok(path, db.with_name("listed.db"), *flags, "--responses-field", "c_r")
    assert sorted(listed["conditions"]) == ["1", "2"]
    # Listed with others, a column of several replies is refused, and so is a missing one.
    out = import_fails(path, db, *flags, "--responses-field", "c_r,c_revision")
    assert f"{path}:1: 'c_r' (--responses-field) holds 2 replies" in out
    out = import_fails(path, db, *flags, "--responses-field", "c_revision,c_x")
    assert "no 'c_x' field (--responses-field)" in out


@pytest.mark.parametrize("column", ["conversation_id", "c_id", "conversationId", "Chat ID"])
def test_a_dialogue_id_column_names_the_problem_of_a_row_without_one(
        tmp_path: Path, db: Path, column: str) -> None:
    row = {column: "talk-7", "question": "2+2?", "answer": "4",
           "turns": [{"role": "student", "content": "4"}]}
    path = tmp_path / "t.jsonl"
    path.write_text(jsonl([row]), encoding="utf-8")
    import_ok(path, db)
    assert query(db, "SELECT problem_id FROM sessions")[0][0] == "talk-7"
