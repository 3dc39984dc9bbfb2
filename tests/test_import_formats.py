"""`sml sessions import` of public tutoring-dialogue shapes, without conversion.

Rows may be JSONL / JSON array / CSV / TSV / Parquet; the problem comes from a `problem`
object or from top-level columns (`--question-field`, `--answer-field`, `--answer-pattern`,
`--field NAME=COL`, dotted paths); the dialogue from `--turns-field` or the first of turns,
messages, conversation, conversations, dialogue, dialog — as role/content objects (any of the
usual key names, OpenAI content parts), "Speaker: text" strings, or one string split on
`|EOM|` (MathDial) or on speaker-prefixed lines. Speaker labels map to student/teacher
(`--student-role`/`--teacher-role` override; one unknown speaker fills a missing side).

Every dialogue in tests/data/dialogues/ was written for these tests; the expected scores are
worked out by hand next to each assertion.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sml_cli.cli import app
from sml_cli.transcripts import TranscriptFormat, side_of

DATA = Path(__file__).parent / "data" / "dialogues"
MATHDIAL = DATA / "mathdial.jsonl"
SHAREGPT = DATA / "sharegpt.jsonl"
OPENAI = DATA / "openai_messages.json"
SPEAKER_LINES = DATA / "speaker_lines.jsonl"

# MathDial-shaped rows: the answer is the last line of the worked `ground_truth`.
MATHDIAL_ARGS = ("--answer-field", "ground_truth", "--answer-pattern", "last-line",
                 "--match", "mention", "--condition", "mathdial", "--field", "id=qid")

# A one-line problem for the small cases: the numbers 7 and 8 are in the question, so a
# teacher saying them is no leak; only 56 is the answer.
Q = "What is 7 times 8?"
A = "56"
HINT = "Think of 7 groups of 8."
SOLVE = "It is 56."

WriteFile = Callable[[str, str | bytes], Path]


# ----------------------------------------------------------------------------- helpers


def invoke(*args: object) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True,
                              terminal_width=250)


def describe(result: Any) -> str:
    return f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"


def flat(text: str) -> str:
    return " ".join(text.split())


def import_ok(path: Path, db: Path, *options: object) -> dict[str, Any]:
    """Run `sml sessions import PATH --db DB --json …` and return the SPEC §4 JSON."""
    out = db.parent / f"scores-{len(list(db.parent.glob('scores-*.json')))}.json"
    result = invoke("sessions", "import", path, "--db", db, "--json", out, *options)
    assert result.exit_code == 0, describe(result)
    return json.loads(out.read_text(encoding="utf-8"))


def import_fails(path: Path, db: Path, *options: object) -> str:
    """Run an import that must be refused with exit 2; returns the flattened output."""
    result = invoke("sessions", "import", path, "--db", db, *options)
    assert result.exit_code == 2, describe(result)
    assert "Traceback" not in result.output
    return flat(result.output)


def jsonl(rows: list[Any]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                   for r in rows)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def counts(db: Path) -> tuple[int, int, int, int]:
    if not db.exists():
        return (0, 0, 0, 0)
    try:
        return tuple(query(db, f"SELECT count(*) FROM {t}")[0][0]  # type: ignore[return-value]
                     for t in ("runs", "sessions", "turns", "problems"))
    except sqlite3.OperationalError:
        return (0, 0, 0, 0)


def session_rows(db: Path, run_id: str) -> list[tuple[Any, ...]]:
    """(problem_id, solved, solved_at_turn, leaks, student_turns, questions) per session."""
    return [tuple(r) for r in query(
        db, "SELECT problem_id, solved, solved_at_turn, leaks, student_turns, questions "
            "FROM sessions WHERE run_id = ? ORDER BY problem_id", (run_id,))]


def texts(db: Path, role: str, problem_id: str | None = None) -> list[str]:
    """Content of the stored rows of one role, in order (of one problem's session)."""
    sql = ("SELECT t.content FROM turns t JOIN sessions s ON s.id = t.session_id "
           "WHERE t.role = ?")
    params: tuple[Any, ...] = (role,)
    if problem_id is not None:
        sql += " AND s.problem_id = ?"
        params += (problem_id,)
    return [r[0] for r in query(db, sql + " ORDER BY s.rowid, t.seq", params)]  # file order


def problem_row(db: Path, problem_id: str) -> sqlite3.Row:
    rows = query(db, "SELECT p.* FROM problems p JOIN sessions s ON s.problem_key = p.key "
                     "WHERE s.problem_id = ?", (problem_id,))
    assert rows, f"no stored problem with id {problem_id!r}"
    return rows[0]


def session_meta(db: Path, problem_id: str) -> dict[str, Any]:
    raw = query(db, "SELECT meta FROM sessions WHERE problem_id = ?", (problem_id,))[0][0]
    return json.loads(raw) if raw else {}


def keys_in(value: Any) -> set[str]:
    """Every key of a JSON value, at any depth (metadata may be flat or nested)."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def values_in(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in [v, *values_in(v)]]
    if isinstance(value, list):
        return [x for v in value for x in [v, *values_in(v)]]
    return []


def only(result: dict[str, Any]) -> dict[str, Any]:
    """The scores of the single condition in a result."""
    assert len(result["conditions"]) == 1, list(result["conditions"])
    return next(iter(result["conditions"].values()))


def write_csv(path: Path, rows: list[dict[str, Any]], delimiter: str = ",") -> Path:
    columns = list(rows[0])
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def small_row(dialogue: Any, key: str = "turns", **extra: Any) -> dict[str, Any]:
    return {"question": Q, "answer": A, key: dialogue, **extra}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sml.db"


# ----------------------------------------------------------------------------- MathDial


def test_mathdial_jsonl_scored_by_hand(db: Path) -> None:
    result = import_ok(MATHDIAL, db, *MATHDIAL_ARGS)
    assert set(result) == {"run_id", "elapsed_s", "config", "conditions", "deltas"}
    assert list(result["conditions"]) == ["mathdial"]  # rows have no `condition` field
    s = result["conditions"]["mathdial"]
    # 101 Cody: wrong (32), then "…leaves 22" at student turn 2 → solved at 2, no telling.
    # 102 Priya: the teacher says "…makes 69 pages" after turn 1, before Priya says 69 at
    #     turn 2 → solved at 2, and a leak (telling).
    # 103 Lena: 46, then "Do you mean that I made a slip…?" (a question) → never solved.
    # 104 Omar: 117 at turn 1 → solved at 1; the teacher's "Yes, 117 is right" afterwards
    #     confirms, it does not tell.
    assert s["n_sessions"] == 4 and s["n_errors"] == 0
    assert s["success_rate"] == 0.75
    assert s["success_at_turn"] == [0.25, 0.75]
    assert s["leak_rate"] == 0.25
    assert s["mean_turns_to_solve"] == pytest.approx((2 + 2 + 1) / 3)
    assert s["question_rate"] == pytest.approx(1 / 7)  # 1 question in 2 + 2 + 2 + 1 turns
    assert s["success_rate_ci95"][0] < 0.75 < s["success_rate_ci95"][1]
    assert result["config"]["match"] == "mention"
    # (problem_id, solved, solved_at_turn, leaks, student_turns, questions); --field id=qid
    assert session_rows(db, result["run_id"]) == [
        ("101", 1, 2, 0, 2, 0),
        ("102", 1, 2, 1, 2, 0),
        ("103", 0, None, 0, 2, 1),
        ("104", 1, 1, 0, 1, 0),
    ]


def test_mathdial_strict_needs_markers(db: Path) -> None:
    s = only(import_ok(MATHDIAL, db, "--answer-field", "ground_truth", "--answer-pattern",
                       "last-line", "--match", "strict"))
    assert s["n_sessions"] == 4
    assert s["success_rate"] == 0.0  # nobody wrote "Final answer:"
    assert s["leak_rate"] == 0.25  # telling does not depend on markers


def test_mathdial_rows_are_stored_as_spoken(db: Path) -> None:
    rows = {str(r["qid"]): r for r in read_jsonl(MATHDIAL)}
    import_ok(MATHDIAL, db, *MATHDIAL_ARGS)
    # The student's own words, without the "Cody:" speaker prefix or the |EOM| separator.
    assert [t.strip() for t in texts(db, "student", "101")] == [
        "I added 6 and 12 to get 18 muffins, then 50 minus 18 is 32.",
        "Oh, there are 6 trays of 12, so 72 muffins. 72 minus 50 leaves 22.",
    ]
    assert [t.strip() for t in texts(db, "student", "104")] == [
        "9 rows times 13 tulips is 117 tulips."]
    teacher = texts(db, "teacher", "102")
    assert len(teacher) == 3
    assert all("|EOM|" not in t and not t.startswith("Teacher:") for t in teacher)
    assert "makes 69 pages" in teacher[1]
    flagged = query(db, "SELECT t.content FROM turns t JOIN sessions s ON s.id = t.session_id "
                        "WHERE t.leak = 1")
    assert [r[0] for r in flagged] == [teacher[1]]

    answers = {"101": "22", "102": "69", "103": "44", "104": "117"}
    for qid, row in rows.items():
        problem = problem_row(db, qid)
        assert problem["answer"] == answers[qid]  # last non-empty line of ground_truth
        assert problem["solution"].strip() == row["ground_truth"].strip()  # teacher-only
        # The question is the question: no solution, no incorrect solution, no scenario.
        assert problem["question"] == row["question"]
        asked = query(db, "SELECT t.content FROM turns t JOIN sessions s ON s.id = t.session_id "
                          "WHERE s.problem_id = ? AND t.role = 'system' AND t.kind = 'question'",
                      (qid,))
        assert [r[0] for r in asked] == [row["question"]]
        # Other columns are session metadata; the dialogue and problem columns are not.
        meta = session_meta(db, qid)
        keys = keys_in(meta)
        assert {"student_incorrect_solution", "teacher_described_confusion",
                "student_profile", "scenario"} <= keys
        assert row["student_incorrect_solution"] in values_in(meta)
        assert not {"conversation", "question", "ground_truth"} & keys
        # MathDial's move labels, in order, one per teacher turn that has one.
        labelled = re.findall(r"Teacher: \((\w+)\)", row["conversation"])
        assert meta.get("teacher_moves", []) == labelled and labelled
    assert not any(t.lstrip().startswith(("(probing)", "(focus)", "(telling)", "(generic)"))
                   for t in teacher)


def test_sessions_show_prints_the_imported_dialogue(db: Path) -> None:
    import_ok(MATHDIAL, db, *MATHDIAL_ARGS)
    session_id = query(db, "SELECT id FROM sessions WHERE problem_id = '101'")[0][0]
    result = invoke("sessions", "show", session_id, "--db", db)
    assert result.exit_code == 0, describe(result)
    out = flat(result.output)
    assert "I added 6 and 12 to get 18 muffins" in out
    assert "72 minus 50 leaves 22" in out
    assert "mathdial" in out


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "parquet"])
def test_mathdial_scores_are_the_same_in_every_format(tmp_path: Path, fmt: str) -> None:
    rows = read_jsonl(MATHDIAL)
    reference_db = tmp_path / "ref" / "sml.db"
    reference_db.parent.mkdir()
    reference = import_ok(MATHDIAL, reference_db, *MATHDIAL_ARGS)

    other = tmp_path / f"mathdial.{fmt}"
    if fmt == "json":
        other.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    elif fmt == "csv":
        write_csv(other, rows)  # ground_truth spans lines: quoted multi-line cells
    elif fmt == "tsv":
        write_csv(other, rows, delimiter="\t")
    else:
        write_parquet(other, rows)
    other_db = tmp_path / "other" / "sml.db"
    other_db.parent.mkdir()
    result = import_ok(other, other_db, *MATHDIAL_ARGS)
    assert result["conditions"] == reference["conditions"]
    assert session_rows(other_db, result["run_id"]) == session_rows(reference_db,
                                                                     reference["run_id"])
    assert texts(other_db, "student") == texts(reference_db, "student")
    assert problem_row(other_db, "103")["answer"] == "44"


# ----------------------------------------------------------------------------- chat formats


def test_sharegpt_conversations(db: Path) -> None:
    result = import_ok(SHAREGPT, db, "--match", "mention")
    s = result["conditions"]["imported"]  # the default label
    # sg-pencils: "Should I add…?" (a question), a hint, "24 minus 9 is 15." → solved at 2. The
    #   system line states 15: were it a teacher turn, it would be telling.
    # sg-running: "10 km", the tutor says "25 km" first (telling), "ok, 25 km" → solved at 2.
    assert s["n_sessions"] == 2
    assert s["success_rate"] == 1.0
    assert s["success_at_turn"] == [0.0, 1.0]
    assert s["leak_rate"] == 0.5
    assert s["question_rate"] == pytest.approx(1 / 4)
    assert texts(db, "student", "sg-pencils") == ["Should I add the pencils together?",
                                                  "24 minus 9 is 15."]
    assert texts(db, "teacher", "sg-pencils") == [
        "Giving pencils away makes the number smaller. Try again."]
    everything = " ".join(r[0] for r in query(db, "SELECT content FROM turns"))
    assert "never reveal" not in everything  # system turns are skipped, not stored


def test_an_import_with_no_answer_marker_says_why_nothing_was_solved(db: Path) -> None:
    """Strict matching finds no `Final answer:` in ShareGPT chat: 0% solved is then no
    finding about the students, and the summary says so (and what would count instead)."""
    strict = invoke("sessions", "import", SHAREGPT, "--db", db)
    assert strict.exit_code == 0, strict.output
    said = " ".join(strict.output.split())
    assert "no student turn had an answer marker" in said and "--match mention" in said
    assert "tokens student/teacher" not in said  # (no model was called: no token line)
    mention = invoke("sessions", "import", SHAREGPT, "--db", db, "--match", "mention",
                     "--json", db.with_name("m.json"))
    assert mention.exit_code == 0, mention.output
    assert "no student turn had an answer marker" not in " ".join(mention.output.split())
    # (and the run says how its dialogues were read: --match is part of that)
    config = json.loads(db.with_name("m.json").read_text())["config"]
    assert config["mapping"] == {"--match": "mention"} and config["n_attempts"] == 3
    assert "read with --match mention" in " ".join(mention.output.split())


def test_openai_messages_json_array(db: Path) -> None:
    result = import_ok(OPENAI, db, "--match", "mention")
    s = result["conditions"]["imported"]
    # oa-rope: "Do I divide 50 by 4?" (question), a two-part hint, "…so 12 whole pieces."
    # oa-shelves: "I get 17 books.", a question back, "…3 times 14 is 42." Both solved at 2.
    # The system and developer messages state the answers; skipped, they tell nothing.
    assert s["n_sessions"] == 2
    assert s["success_rate"] == 1.0
    assert s["success_at_turn"] == [0.0, 1.0]
    assert s["leak_rate"] == 0.0
    assert s["question_rate"] == pytest.approx(1 / 4)
    # Content parts are joined; a `name` next to `role` does not replace the role.
    [hint] = texts(db, "teacher", "oa-rope")
    assert "Yes, division is the right idea." in hint
    assert "What do you get, and what happens to the part left over?" in hint
    assert '"type"' not in hint and "{" not in hint
    assert texts(db, "student", "oa-shelves") == ["I get 17 books.",
                                                  "Multiplying: 3 times 14 is 42."]
    everything = " ".join(r[0] for r in query(db, "SELECT content FROM turns"))
    assert "Reference answer" not in everything and "Private note" not in everything
    assert "handwritten-chat" in values_in(session_meta(db, "oa-rope"))


def test_speaker_lines_and_list_of_strings(db: Path) -> None:
    result = import_ok(SPEAKER_LINES, db, "--match", "mention")
    s = result["conditions"]["imported"]
    # pens: a newline-separated "Tutor:/Student:" string whose second line has no speaker
    #   and continues the student's turn → 2 student turns, "22 dollars" at turn 2.
    # spiders: a list of "Speaker: text" strings → 14, then 48 at turn 2.
    assert s["n_sessions"] == 2
    assert s["success_rate"] == 1.0
    assert s["success_at_turn"] == [0.0, 1.0]
    assert s["leak_rate"] == 0.0
    assert s["question_rate"] == 0.0
    pens = texts(db, "student", "pens")
    assert len(pens) == 2
    assert "I would find the cost of the pens first." in pens[0]
    assert "That is 4 pens at 3 dollars, so 12 dollars." in pens[0]
    assert not pens[0].lstrip().startswith("Student:")
    assert pens[1].strip() == "2 notebooks at 5 dollars is 10, so 22 dollars in all."
    assert [t.strip() for t in texts(db, "teacher", "pens")] == [
        "What is the first step?", "Good. And the notebooks?"]
    assert [t.strip() for t in texts(db, "student", "spiders")] == [
        "8 plus 6 is 14.", "So 8 times 6, which is 48."]


def test_parquet_with_nested_conversations(tmp_path: Path, db: Path) -> None:
    reference = import_ok(SHAREGPT, db, "--match", "mention")
    path = write_parquet(tmp_path / "sharegpt.parquet", read_jsonl(SHAREGPT))
    other_db = tmp_path / "parquet.db"
    result = import_ok(path, other_db, "--match", "mention")
    assert result["conditions"] == reference["conditions"]
    assert texts(other_db, "student") == texts(db, "student")


# ----------------------------------------------------------------------------- turn shapes


@pytest.mark.parametrize(
    "key", ["turns", "messages", "conversation", "conversations", "dialogue", "dialog"])
def test_turns_field_names(write_file: WriteFile, db: Path, key: str) -> None:
    turns = [{"role": "teacher", "content": HINT}, {"role": "student", "content": SOLVE}]
    path = write_file("t.jsonl", jsonl([small_row(turns, key)]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["success_rate"], s["leak_rate"], s["success_at_turn"]) == (1.0, 0.0, [1.0])
    assert texts(db, "student") == [SOLVE]


def test_first_present_turns_field_wins(write_file: WriteFile, db: Path) -> None:
    row = small_row([{"role": "teacher", "content": HINT},
                     {"role": "student", "content": SOLVE}], "conversation",
                    dialog=[{"role": "teacher", "content": "The answer is 56."},
                            {"role": "student", "content": "ok"}])
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)  # `conversation` comes first


def test_turns_field_option(write_file: WriteFile, db: Path) -> None:
    # Here `turns` is a count, not a dialogue: --turns-field names the real one.
    row = small_row([{"role": "teacher", "content": HINT},
                     {"role": "student", "content": SOLVE}], "chat", turns=2)
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention", "--turns-field", "chat"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    assert texts(db, "student") == [SOLVE]


def test_turns_field_dotted_path(write_file: WriteFile, db: Path) -> None:
    row = {"question": Q, "answer": A,
           "record": {"chat": [{"role": "teacher", "content": HINT},
                               {"role": "student", "content": SOLVE}]}}
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention", "--turns-field", "record.chat"))
    assert s["success_rate"] == 1.0
    assert texts(db, "student") == [SOLVE]


@pytest.mark.parametrize(("role_key", "content_key"), [
    ("role", "content"), ("from", "value"), ("speaker", "text"), ("author", "message"),
    ("sender", "utterance"), ("name", "content"),
])
def test_turn_object_keys(write_file: WriteFile, db: Path, role_key: str,
                          content_key: str) -> None:
    turns = [{role_key: "teacher", content_key: HINT}, {role_key: "student", content_key: SOLVE}]
    path = write_file("t.jsonl", jsonl([small_row(turns)]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    assert texts(db, "student") == [SOLVE]
    assert texts(db, "teacher") == [HINT]


@pytest.mark.parametrize(("student", "teacher"), [
    ("student", "teacher"), ("user", "tutor"), ("human", "assistant"), ("learner", "gpt"),
    ("pupil", "bot"), ("Student", "AI"), ("USER", "model"), ("Human", "Instructor"),
    # Classroom transcripts: abbreviations, and students (or tutors) told apart by number.
    ("S", "T"), ("Student 2", "Teacher"), ("S12", "T"), ("student_1", "Tutor #1"),
    # Several words or a plural: the side the known words agree on, role words first.
    ("Multiple Students", "AI Tutor"), ("Ss", "Tutor (AI)"), ("students", "Human Tutor"),
    ("Class", "Teacher Assistant"),
    # Mentoring and coaching corpora.
    ("Tutee", "Coach"), ("mentee", "Mentor"), ("Trainee", "Professor"), ("Learner", "TA"),
    ("Student", "Lecturer"), ("Pupil", "Educator"), ("Novice", "Expert"),
    ("Apprentice", "Trainer"), ("Learner", "Facilitator"), ("student", "Prof"),
])
def test_role_labels(write_file: WriteFile, db: Path, student: str, teacher: str) -> None:
    # Were the labels swapped, the "teacher" would state 56 first: a leak and no solve.
    rows = [small_row([{"role": teacher, "content": HINT}, {"role": student, "content": SOLVE}]),
            small_row([f"{teacher}: {HINT}", f"{student}: {SOLVE}"]),
            small_row(f"{teacher}: {HINT}|EOM|{student}: {SOLVE}", "conversation"),
            small_row(f"{teacher}: {HINT}\n{student}: {SOLVE}", "dialogue"),
            # Each label also next to a named speaker: were the label unknown, there would be
            # two unknown speakers (an error) instead of one that takes the other side.
            small_row([{"role": teacher, "content": HINT}, {"role": "Cody", "content": SOLVE}]),
            small_row([{"role": "Dana", "content": HINT}, {"role": student, "content": SOLVE}])]
    path = write_file("t.jsonl", jsonl(rows))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["n_sessions"], s["success_rate"], s["leak_rate"]) == (6, 1.0, 0.0)
    assert [t.strip() for t in texts(db, "student")] == [SOLVE] * 6
    assert [t.strip() for t in texts(db, "teacher")] == [HINT] * 6


def test_numbered_students_are_one_side_and_other_numbered_names_are_unknown(
        write_file: WriteFile, db: Path) -> None:
    """Several numbered students in one dialogue are all the student; a numbered label that
    is no known speaker ("Step 1") is not taken for one."""
    dialogue = f"T: {HINT}\nS1: Is it 54?\nS2: {SOLVE}"
    path = write_file("t.jsonl", jsonl([small_row(dialogue, "dialogue")]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert s["success_at_turn"] == [0.0, 1.0]  # S1's wrong 54 is turn 1, S2's 56 turn 2
    steps = write_file("steps.jsonl", jsonl([small_row(
        [{"role": "Step 1", "content": HINT}, {"role": "Step 2", "content": SOLVE}])]))
    assert "speaker 'Step 1' is neither student nor teacher" in import_fails(steps, db)
    # Words of both sides say neither; initials are no role ("Ms. T" is a name), and a
    # label with a space is quoted in the flags the error suggests.
    both = write_file("both.jsonl", jsonl([small_row(
        [{"role": "Student Teacher", "content": HINT}, {"role": "Ms. T", "content": SOLVE}])]))
    out = import_fails(both, db)
    assert "is neither student nor teacher" in out and "--student-role 'Ms. T'" in out
    labels = TranscriptFormat().labels()
    assert side_of("Student Teacher", labels) is None and side_of("Ms. T", labels) is None


@pytest.mark.parametrize("skipped", ["system", "developer", "tool", "System", "function_call",
                                     "observation", "tool_response"])
def test_system_developer_tool_turns_are_skipped(write_file: WriteFile, db: Path,
                                                 skipped: str) -> None:
    turns = [{"role": skipped, "content": "The answer is 56."},
             {"role": "user", "content": SOLVE}]
    path = write_file("t.jsonl", jsonl([small_row(turns, "messages")]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    assert texts(db, "teacher") == []


def test_unknown_speaker_fills_the_missing_teacher_side(write_file: WriteFile,
                                                        db: Path) -> None:
    # The teacher is called by name, in object form; the student side is labelled.
    row = small_row([{"speaker": "Ms Dana", "text": HINT}, {"speaker": "student", "text": SOLVE}])
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    assert texts(db, "teacher") == [HINT]
    assert texts(db, "student") == [SOLVE]


def test_unknown_speaker_in_speaker_lines(write_file: WriteFile, db: Path) -> None:
    # MathDial's naming of the student, in the newline form: "Jamie:" starts turns (the one
    # unknown label fills the missing student side); it does not continue the teacher's.
    dialogue = f"Teacher: {HINT}\nJamie: Is it 54?\nTeacher: Count again.\nJamie: {SOLVE}"
    path = write_file("t.jsonl", jsonl([small_row(dialogue, "dialogue")]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["success_rate"], s["leak_rate"], s["success_at_turn"]) == (1.0, 0.0, [0.0, 1.0])
    assert [t.strip() for t in texts(db, "teacher")] == [HINT, "Count again."]
    assert [t.strip() for t in texts(db, "student")] == ["Is it 54?", SOLVE]


# ----------------------------------------------------------------------------- role options


def test_role_options_override_the_defaults(write_file: WriteFile, db: Path) -> None:
    # A dataset where the model being tutored is the assistant and the user is the tutor.
    row = small_row([{"role": "user", "content": "Can you work out 7 times 8?"},
                     {"role": "assistant", "content": "Sure: 7 times 8 is 56."}], "messages")
    path = write_file("t.jsonl", jsonl([row]))
    default = only(import_ok(path, db, "--match", "mention"))
    # Default labels: the "teacher" (assistant) states 56 before the student ever does.
    assert (default["success_rate"], default["leak_rate"]) == (0.0, 1.0)
    other_db = db.parent / "override.db"
    swapped = only(import_ok(path, other_db, "--match", "mention",
                             "--student-role", "assistant", "--teacher-role", "user"))
    assert (swapped["success_rate"], swapped["leak_rate"]) == (1.0, 0.0)
    assert swapped["success_at_turn"] == [1.0]
    assert texts(other_db, "student") == ["Sure: 7 times 8 is 56."]


@pytest.mark.parametrize(("student", "teacher"), [("human", "gpt"), ("user", "model"),
                                                  ("human", "bot"), ("user", "ai")])
def test_a_chat_role_flag_swaps_the_sides_whatever_the_file_calls_them(
        write_file: WriteFile, db: Path, student: str, teacher: str) -> None:
    # ShareGPT calls the sides human/gpt, Gemini user/model: --student-role assistant names
    # the model's side in any of them, and the person becomes the teacher.
    row = small_row([{"from": student, "value": "Can you work out 7 times 8?"},
                     {"from": teacher, "value": "Sure: 7 times 8 is 56."}], "conversations")
    path = write_file("t.jsonl", jsonl([row]))
    result = invoke("sessions", "import", path, "--db", db, "--match", "mention",
                    "--student-role", "assistant")
    assert result.exit_code == 0, describe(result)
    assert texts(db, "student") == ["Sure: 7 times 8 is 56."]
    assert texts(db, "teacher") == ["Can you work out 7 times 8?"]
    assert "Warning" not in result.output
    # --teacher-role user says the same the other way round.
    other_db = db.with_name("other.db")
    import_ok(path, other_db, "--teacher-role", "user")
    assert texts(other_db, "teacher") == ["Can you work out 7 times 8?"]


def test_sharegpt_sides_swapped_by_the_chat_role_names(db: Path) -> None:
    s = only(import_ok(SHAREGPT, db, "--match", "mention", "--student-role", "assistant"))
    # The tutor's replies are now the student's: "Each day he runs 3 + 2 km, so over 5 days
    # that is 25 km" solves sg-running; the person's "24 minus 9 is 15." tells sg-pencils.
    assert texts(db, "student", "sg-pencils") == [
        "Giving pencils away makes the number smaller. Try again."]
    assert (s["success_rate"], s["leak_rate"]) == (0.5, 0.5)
    assert session_rows(db, query(db, "SELECT id FROM runs")[0][0]) == [
        ("sg-pencils", 0, None, 1, 1, 0), ("sg-running", 1, 1, 0, 1, 0)]


def test_a_role_flag_that_names_no_speaker_is_warned_about(write_file: WriteFile,
                                                           db: Path) -> None:
    path = write_file("t.jsonl", jsonl([small_row([f"Tutor 1: {HINT}", f"Kid: {SOLVE}"])]))
    result = invoke("sessions", "import", path, "--db", db, "--match", "mention",
                    "--student-role", "kid,child", "--teacher-role", "tutor,coach")
    assert result.exit_code == 0, describe(result)
    said = flat(result.stderr)
    assert ("Warning: --student-role 'child' matched no speaker in the file (speakers seen: "
            "'Tutor 1', 'Kid')") in said, said
    assert "Warning: --teacher-role 'coach' matched no speaker" in said
    # (a flag naming a speaker whatever its case, or numbered, matched it)
    assert "'kid' matched" not in said and "'tutor' matched" not in said
    run = query(db, "SELECT config FROM runs")[0][0]
    assert "--student-role 'child' matched no speaker" in " ".join(
        json.loads(run)["reading_notes"])
    # The same in a preview, which writes nothing.
    result = invoke("sessions", "import", path, "--db", db.with_name("never.db"),
                    "--preview", "1", "--student-role", "pupil")
    assert result.exit_code == 0, describe(result)
    assert "--student-role 'pupil' matched no speaker" in flat(result.stderr)


def test_custom_speaker_labels(write_file: WriteFile, db: Path) -> None:
    rows = [small_row(f"Grandpa: {HINT}\nKid: {SOLVE}", "dialogue"),
            small_row([f"Grandpa: {HINT}", f"Child: {SOLVE}"])]
    path = write_file("t.jsonl", jsonl(rows))
    # Without the options neither side has a known label and there are two unknown ones.
    out = import_fails(path, db, "--match", "mention")
    assert f"{path.name}:1" in out
    assert "Grandpa" in out or "Kid" in out
    assert "--student-role" in out or "--teacher-role" in out
    assert counts(db)[:3] == (0, 0, 0)
    s = only(import_ok(path, db, "--match", "mention",
                       "--student-role", "kid,child", "--teacher-role", "Grandpa"))
    assert (s["n_sessions"], s["success_rate"], s["leak_rate"]) == (2, 1.0, 0.0)
    assert [t.strip() for t in texts(db, "student")] == [SOLVE, SOLVE]


# ----------------------------------------------------------------------------- problem columns


def test_dotted_fields_into_a_problem_object(write_file: WriteFile, db: Path) -> None:
    # `problem` is an object here, but not the SPEC's: the dotted columns name its parts.
    row = {"problem": {"text": Q, "gold": A, "level": "easy"},
           "dialogue": [{"role": "tutor", "content": HINT}, {"role": "student", "content": SOLVE}]}
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention", "--question-field", "problem.text",
                       "--answer-field", "problem.gold"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    [problem] = query(db, "SELECT question, answer FROM problems")
    assert (problem["question"], problem["answer"]) == (Q, A)


def test_dotted_fields_without_a_problem_object(write_file: WriteFile, db: Path) -> None:
    row = {"task": {"text": Q, "id": "t-7"}, "labels": {"gold": A},
           "turns": [{"role": "tutor", "content": HINT}, {"role": "student", "content": SOLVE}]}
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention", "--question-field", "task.text",
                       "--answer-field", "labels.gold", "--field", "id=task.id"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    problem = problem_row(db, "t-7")
    assert (problem["question"], problem["answer"]) == (Q, A)


def test_dotted_answer_field_into_meta(write_file: WriteFile, db: Path) -> None:
    # `meta` is also the SPEC's session-metadata object; a dotted column may still read it.
    row = {"question": Q, "meta": {"gold": A, "annotator": "r2"},
           "turns": [{"role": "tutor", "content": HINT}, {"role": "student", "content": SOLVE}]}
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention", "--answer-field", "meta.gold"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    assert query(db, "SELECT answer FROM problems")[0][0] == A


def test_exact_key_before_dotted_path(write_file: WriteFile, db: Path) -> None:
    row = {"question": Q, "meta.gold": A, "meta": {"gold": "99"},
           "turns": [{"role": "student", "content": SOLVE}]}
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention", "--answer-field", "meta.gold"))
    assert s["success_rate"] == 1.0
    assert query(db, "SELECT answer FROM problems")[0][0] == A


@pytest.mark.parametrize(("pattern", "worked"), [
    ("boxed", "6 boxes of 7 pens: $6 \\cdot 7 = \\boxed{42}$ pens."),
    ("gsm8k", "6 boxes of 7 pens make 6 * 7 = 42 pens.\n#### 42"),
    ("last-line", "6 boxes of 7 pens.\n6 * 7 = 42 pens in all.\n42\n\n"),
    ("last-number", "6 boxes of 7 pens make 42 pens in all."),
    (r"total: (\d+)", "6 * 7 gives a total: 42 (pens)."),
])
def test_answer_patterns(write_file: WriteFile, db: Path, pattern: str, worked: str) -> None:
    row = {"question": "Pens come in 6 boxes of 7. How many pens are there?", "worked": worked,
           "turns": [{"role": "teacher", "content": "How many boxes, and how many in each?"},
                     {"role": "student", "content": "That is 42 pens."}]}
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention", "--answer-field", "worked",
                       "--answer-pattern", pattern))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    [problem] = query(db, "SELECT question, answer, solution FROM problems")
    assert problem["answer"] == "42"
    assert problem["solution"].strip() == worked.strip()  # the whole text, teacher-only
    assert problem["question"] == row["question"]


def test_field_options_map_problem_columns(write_file: WriteFile, db: Path) -> None:
    row = {"qid": "pens-1", "question": "Pens come in 6 boxes of 7. How many pens are there?",
           "answer": "42", "worked": "6 * 7 = 42", "hint": "They tend to add instead.",
           "check": "numeric", "grade": 3,
           "turns": [{"role": "student", "content": "That is 42 pens."}]}
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention", "--field", "id=qid",
                       "--field", "solution=worked", "--field", "notes=hint",
                       "--field", "verifier=check"))
    assert s["success_rate"] == 1.0
    problem = problem_row(db, "pens-1")
    assert (problem["id"], problem["answer"], problem["solution"], problem["notes"],
            problem["verifier"]) == ("pens-1", "42", "6 * 7 = 42", "They tend to add instead.",
                                     "numeric")
    assert problem["question"] == row["question"]
    grade = values_in(session_meta(db, "pens-1"))
    assert 3 in grade or "3" in grade  # an unmapped column: metadata


def test_choices_field_and_strict_markers(write_file: WriteFile, db: Path) -> None:
    row = {"stem": "How many legs do 6 spiders have, at 8 legs each?",
           "options": ["14", "48", "54"], "gold": "B",
           "conversation": "Student: Final answer: A|EOM|Tutor: Count 8 legs six times."
                           "|EOM|Student: Final answer: B"}
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--question-field", "stem", "--answer-field", "gold",
                       "--field", "choices=options", "--match", "strict"))
    # A is wrong (first attempt), B right at turn 2.
    assert s["success_at_turn"] == [0.0, 1.0]
    assert (s["first_attempt_success_rate"], s["recovery_rate"]) == (0.0, 1.0)
    [problem] = query(db, "SELECT question, choices, verifier FROM problems")
    assert json.loads(problem["choices"]) == ["14", "48", "54"]
    assert problem["verifier"] == "choice"
    assert problem["question"] == row["stem"]


def test_problem_object_still_wins(write_file: WriteFile, db: Path) -> None:
    # SPEC form: `problem` object; top-level look-alike columns are metadata, not the problem.
    row = {"problem": {"id": "p1", "question": Q, "answer": A}, "question": "decoy?",
           "answer": "99", "turns": [{"role": "student", "content": SOLVE}]}
    path = write_file("t.jsonl", jsonl([row]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert s["success_rate"] == 1.0
    [problem] = query(db, "SELECT question, answer FROM problems")
    assert (problem["question"], problem["answer"]) == (Q, A)
    meta = session_meta(db, "p1")
    assert "decoy?" in values_in(meta)  # not a problem field here: metadata
    assert not {"turns", "problem"} & keys_in(meta)


# ----------------------------------------------------------------------------- condition


def test_condition_option_labels_rows_without_one(write_file: WriteFile, db: Path) -> None:
    turns = [{"role": "student", "content": SOLVE}]
    rows = [small_row(turns, condition="human-tutor"), small_row(turns)]
    path = write_file("t.jsonl", jsonl(rows))
    labelled = import_ok(path, db, "--match", "mention", "--condition", "peer")
    assert sorted(labelled["conditions"]) == ["human-tutor", "peer"]
    default = import_ok(path, db, "--match", "mention")
    assert sorted(default["conditions"]) == ["human-tutor", "imported"]


# ----------------------------------------------------------------------------- errors


GOOD = small_row([{"role": "teacher", "content": HINT}, {"role": "student", "content": SOLVE}])


@pytest.mark.parametrize(("bad", "options", "words"), [
    ("{not json", (), ()),
    ("[1, 2]", (), ()),
    ({"question": Q, "answer": A, "comment": "no dialogue here"}, (), ("turns",)),
    ({"answer": A, "turns": GOOD["turns"]}, (), ("question",)),
    ({"question": "", "answer": A, "turns": GOOD["turns"]}, (), ("question",)),
    (small_row([]), (), ()),
    (small_row([{"role": "student"}]), (), ()),
    (small_row([*GOOD["turns"], {"role": "narrator", "content": "The end."}]), (),
     ("narrator", "--student-role")),
    (small_row(f"Teacher: {HINT}|EOM|Student: {SOLVE}|EOM|Narrator: The end.", "conversation"),
     (), ("Narrator", "--student-role")),
    (small_row(f"Teacher: {HINT}|EOM|Cody: 55|EOM|Dana: {SOLVE}", "conversation"), (),
     ("--student-role",)),
])
def test_bad_rows_exit_2_naming_file_and_line(
    write_file: WriteFile, db: Path, bad: Any, options: tuple[str, ...], words: tuple[str, ...]
) -> None:
    import_ok(write_file("good.jsonl", jsonl([GOOD])), db)  # the database is not empty
    before = counts(db)
    path = write_file("bad.jsonl", jsonl([GOOD, GOOD, bad, GOOD]))
    out = import_fails(path, db, "--match", "mention", *options)
    assert f"{path.name}:3" in out
    for word in words:
        assert word in out
    assert counts(db) == before  # nothing written: no run, session, turn or problem


def test_missing_turns_field_option(write_file: WriteFile, db: Path) -> None:
    chat = [{"role": "teacher", "content": HINT}, {"role": "student", "content": SOLVE}]
    rows = [small_row(chat, "chat"), small_row(chat, "chat"), small_row(chat, "dialogue")]
    path = write_file("bad.jsonl", jsonl(rows))
    out = import_fails(path, db, "--turns-field", "chat")
    assert f"{path.name}:3" in out and "chat" in out
    assert counts(db) == (0, 0, 0, 0)


def test_answer_pattern_without_a_match(write_file: WriteFile, db: Path) -> None:
    turns = [{"role": "student", "content": SOLVE}]
    rows = [{"question": Q, "answer": "7 * 8 = 56\n#### 56", "turns": turns},
            {"question": Q, "answer": "7 * 8 = 56, no marker", "turns": turns}]
    path = write_file("bad.jsonl", jsonl(rows))
    out = import_fails(path, db, "--answer-pattern", "gsm8k")
    assert f"{path.name}:2" in out and "answer-pattern" in out
    assert counts(db) == (0, 0, 0, 0)


def test_bad_csv_row_names_its_line(write_file: WriteFile, db: Path) -> None:
    rows = [{"question": Q, "answer": A, "conversation": f"Teacher: {HINT}|EOM|Student: {SOLVE}"},
            {"question": Q, "answer": A,
             "conversation": f"Teacher: {HINT}|EOM|Student: {SOLVE}|EOM|Narrator: The end."},
            {"question": Q, "answer": A, "conversation": f"Teacher: {HINT}|EOM|Student: {SOLVE}"}]
    path = write_csv(db.parent / "bad.csv", rows)
    out = import_fails(path, db, "--match", "mention")
    assert f"{path.name}:3" in out and "Narrator" in out  # line 1 is the header
    assert counts(db) == (0, 0, 0, 0)


def test_bad_parquet_row_names_its_row(tmp_path: Path, db: Path) -> None:
    rows = [{"question": Q, "answer": A, "conversation": f"Teacher: {HINT}|EOM|Student: {SOLVE}"},
            {"question": Q, "answer": A, "conversation": "Teacher: hi|EOM|Alex: 1|EOM|Sam: 2"}]
    path = write_parquet(tmp_path / "bad.parquet", rows)
    out = import_fails(path, db, "--match", "mention")
    assert f"{path.name}:2" in out
    assert counts(db) == (0, 0, 0, 0)


@pytest.mark.parametrize(("options", "word"), [
    (("--field", "colour=qid"), "--field"),
    (("--field", "idqid"), "--field"),
    (("--answer-pattern", "("), "--answer-pattern"),
])
def test_bad_options_exit_2(write_file: WriteFile, db: Path, options: tuple[str, ...],
                            word: str) -> None:
    path = write_file("t.jsonl", jsonl([GOOD]))
    out = import_fails(path, db, *options)
    assert word in out
    assert counts(db) == (0, 0, 0, 0)


def test_mention_mode_counts_a_stated_wrong_result_as_an_attempt(db: Path) -> None:
    # Cody says 32, Priya 75 and Lena 46 before anything else: numbers the question does not
    # contain, so wrong attempts. Only Omar's first attempt (117) is right; Cody and Priya
    # recover, Lena does not.
    s = only(import_ok(MATHDIAL, db, *MATHDIAL_ARGS))
    assert s["first_attempt_success_rate"] == 0.25
    assert s["recovery_rate"] == pytest.approx(2 / 3)
    verdicts = sqlite3.connect(db).execute(
        "SELECT t.attempt, t.correct FROM turns t JOIN sessions s ON s.id = t.session_id "
        "WHERE s.problem_id = '101' AND t.kind = 'verdict' ORDER BY t.seq").fetchall()
    assert verdicts == [("32", 0), ("22", 1)]


def test_turn_objects_that_name_the_speaker_under_user(tmp_path: Path, db: Path) -> None:
    # A layout where each turn says who spoke under "user" (tutor/student) and the words
    # under "text" (with an id beside them).
    path = tmp_path / "bridge.jsonl"
    path.write_text(jsonl([{
        "question": "A crate holds 7 melons and 5 more are added. How many melons?",
        "answer": "12",
        "c_h": [{"id": 1, "user": "tutor", "text": "What did you get?"},
                {"id": 2, "user": "student", "text": "13 melons"},
                {"id": 3, "user": "tutor", "text": "Count on from 7 again, slowly."},
                {"id": 4, "user": "student", "text": "8, 9, 10, 11, 12. So 12 melons."}],
    }]), encoding="utf-8")
    s = only(import_ok(path, db, "--turns-field", "c_h", "--match", "mention"))
    assert s["success_at_turn"] == [0.0, 1.0]
    assert s["first_attempt_success_rate"] == 0.0 and s["leak_rate"] == 0.0
    assert texts(db, "teacher")[0] == "What did you get?"


def test_imported_dialogues_export_for_tutor_training(tmp_path: Path, db: Path) -> None:
    # The teacher view of an imported dialogue carries the question and the answer in the
    # teacher's system prompt (the tutor knew them), then the dialogue as it happened.
    import_ok(MATHDIAL, db, *MATHDIAL_ARGS)
    out = tmp_path / "tutor.jsonl"
    result = invoke("export", "--db", db, "--format", "openai", "--view", "teacher",
                    "--include-leaked", "-o", out)
    assert result.exit_code == 0, describe(result)
    rows = {json.loads(line)["messages"][0]["content"]: json.loads(line)["messages"]
            for line in out.read_text(encoding="utf-8").splitlines()}
    assert len(rows) == 4
    by_question = {q["question"]: q for q in read_jsonl(MATHDIAL)}
    for system, messages in rows.items():
        [row] = [r for question, r in by_question.items() if question in system]
        answer = row["ground_truth"].strip().splitlines()[-1]
        assert answer in system  # the reference answer, for the tutor only
        # MathDial's teacher opens: the row still starts with a user turn, the problem as
        # the student brought it (as in the student view), for templates that check turns.
        assert [m["role"] for m in messages[:3]] == ["system", "user", "assistant"]
        assert messages[1]["content"] == row["question"]
        roles = [m["role"] for m in messages[1:]]
        assert all(a != b for a, b in itertools.pairwise(roles)), roles  # alternating
        # Its move annotation ("(probing)") is not part of the teacher's text.
        assert not messages[2]["content"].startswith("(")
        assert messages[-1]["role"] == "assistant"


def test_turns_naming_no_speaker_are_skipped_with_a_note(write_file: WriteFile,
                                                         db: Path) -> None:
    """A classroom transcript's "(bell rings)" line, an empty row: no one's turn, skipped
    and counted in a note, not an error. A turn with words but no speaker is skipped too
    (who said it is unknown), the note naming where the first is; a dialogue none of whose
    turns names a speaker is refused."""
    turns = [{"speaker": "Tutor", "text": None}, {"speaker": "Tutor", "text": HINT},
             {"speaker": None, "text": "(bell rings)"}, {"speaker": "", "text": ""},
             {"speaker": "Student", "text": SOLVE}]
    path = write_file("nulls.jsonl", jsonl([small_row(turns)]))
    result = invoke("sessions", "import", path, "--db", db, "--match", "mention")
    assert result.exit_code == 0, describe(result)
    assert ("Note: 2 turns naming no speaker (empty, or stage directions such as '(bell "
            "rings)') were skipped") in flat(result.stderr)
    [note] = json.loads(query(db, "SELECT config FROM runs")[0][0])["reading_notes"]
    assert note.startswith("2 turns naming no speaker")
    assert texts(db, "teacher") == [HINT] and texts(db, "student") == [SOLVE]
    turns[3] = {"speaker": float("nan"), "text": "I think it is 54."}
    path = write_file("said.json", json.dumps([small_row(turns)]))
    result = invoke("sessions", "import", path, "--db", db.with_name("said.db"))
    assert result.exit_code == 0, describe(result)
    assert ("Note: 2 turns naming no speaker were skipped, 1 with words, by whom unknown (the "
            f"first at {path}:1, turn 4: 'I think it is 54.')") in flat(result.stderr)
    path = write_file("nobody.jsonl", jsonl([small_row([{"speaker": None, "text": SOLVE}])]))
    assert "nobody.jsonl:1: turn 1: no speaker, and no turn of the dialogue names one" in \
        import_fails(path, db)
    assert "must be a speaker's label, not list" in import_fails(write_file(
        "odd.jsonl", jsonl([small_row([{"speaker": ["T"], "text": SOLVE}])])), db)


def test_rows_naming_no_speaker_are_skipped_when_grouped(tmp_path: Path, db: Path) -> None:
    # One turn per row, a CSV's empty speaker cell and an Excel sheet's (no cell at all).
    rows = [{"dialogue_id": d, "question": q, "answer": a, "speaker": s, "text": t}
            for d, q, a, s, t in LONG_ROWS]
    rows.insert(2, {**rows[0], "speaker": "", "text": "(students talking)"})
    rows.append({**rows[-1], "speaker": "", "text": "ok"})
    path = write_csv(tmp_path / "classroom.csv", rows)
    result = invoke("sessions", "import", path, "--db", db, "--group-by", "dialogue_id",
                    "--match", "mention")
    assert result.exit_code == 0, describe(result)
    assert texts(db, "student") == IN_ORDER
    assert ("2 turns naming no speaker were skipped, 1 with words, by whom unknown (the first "
            f"at {path}:5, turn 4: 'ok')") in flat(result.stderr)
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append([v or None for v in row.values()])
    book.save(tmp_path / "classroom.xlsx")
    s = only(import_ok(tmp_path / "classroom.xlsx", db.with_name("sheet.db"), "--group-by",
                       "dialogue_id", "--match", "mention"))
    assert s["n_sessions"] == 2 and s["success_at_turn"] == [0.0, 1.0]


def test_tool_calls_and_empty_turns_are_dropped(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "tools.jsonl"
    path.write_text(jsonl([{
        "question": "A box holds 6 rows of 4 cups. How many cups?", "answer": "24",
        "messages": [
            {"role": "system", "content": None},
            {"role": "user", "content": "Is it 10 cups?"},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "c1", "type": "function",
                             "function": {"name": "calc", "arguments": "{}"}}]},
            {"role": "tool", "content": "24"},
            {"role": "assistant", "content": "How many cups are in one row, and how many rows?"},
            {"role": "user", "content": "   "},
            {"role": "user", "content": "6 rows of 4 is 24 cups."},
        ]}]), encoding="utf-8")
    s = only(import_ok(path, db, "--match", "mention"))
    # The tool's "24" never reached the student's side of the log, and is not telling.
    assert s["leak_rate"] == 0.0
    assert s["success_at_turn"] == [0.0, 1.0]
    assert texts(db, "teacher") == ["How many cups are in one row, and how many rows?"]
    assert texts(db, "student") == ["Is it 10 cups?", "6 rows of 4 is 24 cups."]


LONG_ROWS = [
    # one utterance per row, the problem repeated on each: a common CSV export of chat logs
    ("d1", "A tray has 3 rows of 5 cookies. How many cookies?", "15", "tutor",
     "What do you think?"),
    ("d1", "A tray has 3 rows of 5 cookies. How many cookies?", "15", "student", "Is it 8?"),
    ("d2", "Tom has 20 stickers and gives away 7. How many are left?", "13", "student",
     "Is it 27?"),
    ("d1", "A tray has 3 rows of 5 cookies. How many cookies?", "15", "tutor",
     "That adds rows and cookies. Count in groups of 5."),
    ("d2", "Tom has 20 stickers and gives away 7. How many are left?", "13", "tutor",
     "No, it is 13."),
    ("d1", "A tray has 3 rows of 5 cookies. How many cookies?", "15", "student",
     "5, 10, 15. So 15 cookies."),
    ("d2", "Tom has 20 stickers and gives away 7. How many are left?", "13", "student", "13"),
]


def test_one_turn_per_row_grouped_into_dialogues(tmp_path: Path, db: Path) -> None:
    rows = [dict(zip(("dialogue_id", "question", "answer", "speaker", "text"), r,
                     strict=True)) for r in LONG_ROWS]
    path = write_csv(tmp_path / "long.csv", rows)
    # Without --group-by the rows are refused, with a hint.
    assert "--group-by" in import_fails(path, db, "--match", "mention")
    s = only(import_ok(path, db, "--group-by", "dialogue_id", "--match", "mention"))
    # d1: 8 (wrong), then 15 at turn 2. d2: 27, the tutor tells 13, the student repeats it.
    assert s["n_sessions"] == 2 and s["success_at_turn"] == [0.0, 1.0]
    assert s["leak_rate"] == 0.5
    assert texts(db, "student") == ["Is it 8?", "5, 10, 15. So 15 cookies.", "Is it 27?", "13"]
    metas = [json.loads(r[0]) for r in query(db, "SELECT meta FROM sessions ORDER BY rowid")]
    assert [m["dialogue_id"] for m in metas] == ["d1", "d2"]
    assert all("speaker" not in m and "text" not in m for m in metas)
    # Each dialogue's problem is named by the group's id, not by a count of dialogues.
    assert [r[0] for r in query(db, "SELECT problem_id FROM sessions ORDER BY rowid")] == [
        "d1", "d2"]
    # The same rows as JSONL group the same way; a row without the column names its line.
    jsonl_path = tmp_path / "long.jsonl"
    jsonl_path.write_text(jsonl([*rows, {k: v for k, v in rows[0].items()
                                        if k != "dialogue_id"}]), encoding="utf-8")
    message = import_fails(jsonl_path, db, "--group-by", "dialogue_id")
    assert "long.jsonl:8:" in message and "dialogue_id" in message
    # And as an Excel sheet (classroom transcripts often ship so); a folder of sheets, one
    # per dialogue, reads without the lock file Excel leaves beside an open workbook.
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in [list(rows[0]), *(list(r.values()) for r in rows)]:
        sheet.append(values)
    folder = tmp_path / "sheets"
    folder.mkdir()
    book.save(folder / "long.xlsx")
    (folder / "~$long.xlsx").write_bytes(b"\x00lock")
    s = only(import_ok(folder, db, "--group-by", "dialogue_id", "--match", "mention"))
    assert s["n_sessions"] == 2 and s["success_at_turn"] == [0.0, 1.0]


def test_one_dialogue_per_file(tmp_path: Path, db: Path) -> None:
    # TSCC's layout: a folder with one TSV per chat, a turn per row, no dialogue column.
    folder = tmp_path / "chats"
    folder.mkdir()
    by_dialogue: dict[str, list[dict[str, Any]]] = {}
    for d, q, a, speaker, text in LONG_ROWS:
        by_dialogue.setdefault(d, []).append(
            {"question": q, "answer": a, "role": speaker, "anonymised": text})
    for d, rows in by_dialogue.items():
        write_csv(folder / f"{d}.tsv", rows, delimiter="\t")
    # Grouped as one dialogue the file cannot be (its first turn is a tutor's), so the
    # rows are refused as single turns, with the hint; and --group-by is not also given.
    refused = import_fails(folder, db, "--text-field", "anonymised")
    assert "--group-by COLUMN, or with --dialogue-per-file when each file holds" in refused
    clash = import_fails(folder, db, "--dialogue-per-file", "--group-by", "question")
    assert "--dialogue-per-file and --group-by" in clash
    result = import_ok(folder, db, "--dialogue-per-file", "--text-field", "anonymised",
                       "--match", "mention")
    # The run's config says how the files were read.
    assert result["config"]["mapping"] == {"--dialogue-per-file": True,
                                           "--text-field": "anonymised", "--match": "mention"}
    s = only(result)
    # The same dialogues as grouped by a column (above).
    assert s["n_sessions"] == 2 and s["success_at_turn"] == [0.0, 1.0]
    assert s["leak_rate"] == 0.5
    assert texts(db, "student") == ["Is it 8?", "5, 10, 15. So 15 cookies.", "Is it 27?", "13"]
    metas = [json.loads(r[0]) for r in query(db, "SELECT meta FROM sessions ORDER BY rowid")]
    assert [m["dialogue_file"] for m in metas] == ["d1.tsv", "d2.tsv"]
    assert [r[0] for r in query(db, "SELECT problem_id FROM sessions ORDER BY rowid")] == [
        "d1.tsv", "d2.tsv"]
    # Errors name the file's columns, not the ones sml adds.
    (folder / "d3.tsv").write_text("role\tanonymised\nteacher\tHi\nstudent\tHello\n",
                                   encoding="utf-8")
    message = import_fails(folder, db, "--dialogue-per-file", "--text-field", "anonymised")
    assert "d3.tsv:2: no 'problem' object and no 'question' field; fields here: (none)" in message
    assert "dialogue_file" not in message and "turns" not in message.split("fields here")[1][:20]
    (folder / "d3.tsv").write_text("question\trole\tanonymised\nQ?\tteacher\tHi\n",
                                   encoding="utf-8")
    message = import_fails(folder, db, "--dialogue-per-file", "--text-field", "anonymised")
    assert "d3.tsv:2: no 'answer' field; fields here: question" in message, message
    assert "dialogue_file" not in message


def long_rows_with(column: str, cells: list[Any]) -> list[dict[str, Any]]:
    """LONG_ROWS with a turn-order column, each dialogue's rows then listed last turn first."""
    rows = [{"dialogue_id": d, "question": q, "answer": a, "speaker": s, "text": t}
            for d, q, a, s, t in LONG_ROWS]
    place: dict[str, int] = {}
    for row in rows:
        place[row["dialogue_id"]] = place.get(row["dialogue_id"], -1) + 1
        row[column] = cells[place[row["dialogue_id"]]]
    return rows[::-1]


IN_ORDER = ["Is it 8?", "5, 10, 15. So 15 cookies.", "Is it 27?", "13"]


def test_a_turn_order_column_orders_the_turns_of_grouped_rows(tmp_path: Path,
                                                               db: Path) -> None:
    """Rows listed in another order than spoken (a Khanmigo export, last turn first): a
    column named as a turn order (message_index, turn, seq, timestamp, …) orders each
    dialogue's turns, with a note; --order-by names one, or `file` keeps the file's order."""
    path = write_csv(tmp_path / "reversed.csv", long_rows_with("message_index", [0, 1, 2, 3]))
    result = invoke("sessions", "import", path, "--db", db, "--group-by", "dialogue_id",
                    "--match", "mention")
    assert result.exit_code == 0, describe(result)
    assert texts(db, "student") == ["Is it 27?", "13", "Is it 8?", "5, 10, 15. So 15 cookies."]
    assert ("Note: the turns of 2 of 2 dialogues were not in 'message_index' order in the "
            "file, and were put in it") in flat(result.stderr)
    [note] = json.loads(query(db, "SELECT config FROM runs")[0][0])["reading_notes"]
    assert "'message_index' order" in note
    # The same scores as the rows in order: d1 solved at turn 2, d2 told.
    s = only(import_ok(path, db.with_name("again.db"), "--group-by", "dialogue_id",
                       "--match", "mention"))
    assert s["success_at_turn"] == [0.0, 1.0] and s["leak_rate"] == 0.5
    # --order-by file: as listed.
    as_listed = db.with_name("listed.db")
    import_ok(path, as_listed, "--group-by", "dialogue_id", "--order-by", "file")
    assert texts(as_listed, "student") == ["13", "Is it 27?", "5, 10, 15. So 15 cookies.",
                                           "Is it 8?"]
    # Date-times order too (ISO, with a zone or without, which is UTC); named by --order-by.
    times = ["2024-05-01T10:00:00Z", "2024-05-01T12:00:30+02:00", "2024-05-01 10:01:00",
             "2024-05-01T10:01:30"]
    path = write_csv(tmp_path / "times.csv", long_rows_with("logged", times))
    timed = db.with_name("timed.db")
    result = invoke("sessions", "import", path, "--db", timed, "--group-by", "dialogue_id",
                    "--order-by", "logged")
    assert result.exit_code == 0, describe(result)
    assert sorted(texts(timed, "student")) == sorted(IN_ORDER)
    assert texts(timed, "student", "d1") == IN_ORDER[:2]
    assert "order" not in result.stderr  # (asked for: nothing to say)
    # A cell that is no number or date-time is refused naming its line, when asked for.
    rows = long_rows_with("logged", times)
    rows[2]["logged"] = "just after lunch"
    path = write_csv(tmp_path / "bad.csv", rows)
    refused = import_fails(path, db, "--group-by", "dialogue_id", "--order-by", "logged")
    assert "bad.csv:4: --order-by 'logged': 'just after lunch', neither a number nor a " \
        "date-time" in refused
    assert "--group-by or --dialogue-per-file" in import_fails(
        SHAREGPT, db, "--order-by", "turn")
    # A column that only looks like one (Bridge-like ids, NCTE's "2_0") orders nothing.
    path = write_csv(tmp_path / "ids.csv", long_rows_with("turn_id", ["b", "a", "d", "c"]))
    kept = db.with_name("kept.db")
    result = invoke("sessions", "import", path, "--db", kept, "--group-by", "dialogue_id")
    assert result.exit_code == 0, describe(result)
    assert texts(kept, "student", "d1") == ["5, 10, 15. So 15 cookies.", "Is it 8?"]
    assert "order" not in result.stderr


def test_a_folder_of_classroom_sheets_one_lesson_each(tmp_path: Path, db: Path) -> None:
    # TalkMoves' layout: an Excel sheet per lesson, a turn per row under Speaker/Sentence,
    # the teacher's opening turn posing the problem, and no reference answer.
    import openpyxl

    folder = tmp_path / "lessons"
    folder.mkdir()
    lessons = {"lesson1.xlsx": [("T", "Let's find 3 times 4. What do you get?"), ("S1", "7"),
                                ("T", "Times, not plus: 3 groups of 4."), ("S2", "12")],
               "lesson2.xlsx": [("T", "What is 10 minus 3?"), ("SS", "Is it 7?")]}
    for name, turns in lessons.items():
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["Turn", "Speaker", "Sentence", "Teacher Tag"])
        for number, (speaker, sentence) in enumerate(turns, 1):
            sheet.append([number, speaker, sentence, None])
        book.save(folder / name)
    result = import_ok(folder, db, "--dialogue-per-file", "--question-from-first-turn",
                       "--allow-missing-answers")
    s = only(result)
    assert s["n_sessions"] == 2 and s["success_rate"] is None  # no answers: unknown
    assert s["question_rate"] == pytest.approx(1 / 3)  # "Is it 7?" of 3 student turns
    assert texts(db, "student") == ["7", "12", "Is it 7?"]
    ids = [r[0] for r in query(db, "SELECT problem_id FROM sessions ORDER BY rowid")]
    assert ids == ["lesson1.xlsx", "lesson2.xlsx"]


def test_preview_shows_the_parse_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    result = invoke("sessions", "import", MATHDIAL, "--db", db, *MATHDIAL_ARGS,
                    "--preview", "2")
    assert result.exit_code == 0, describe(result)
    out = flat(result.output)
    assert "4 dialogues" in out and "showed 2" in out and "nothing written" in out
    # How each turn was read: the speakers, and the mention-mode verdicts.
    assert "I added 6 and 12 to get 18 muffins" in out
    assert "'32' → incorrect" in out and "'22' → correct" in out
    assert "solved at turn 2" in out
    assert not db.exists()
    # A bad file is still refused as a whole, exit 2.
    bad = tmp_path / "bad.jsonl"
    bad.write_text(MATHDIAL.read_text(encoding="utf-8") + "{oops\n", encoding="utf-8")
    assert "bad.jsonl:5:" in import_fails(bad, db, *MATHDIAL_ARGS, "--preview", "1")
    assert not db.exists()


def test_speaker_and_text_columns_in_any_case_or_named_by_flags(tmp_path: Path,
                                                               db: Path) -> None:
    # A chat-log export: capitalised Speaker, the text in a column no default names.
    rows = [{"ConversationId": c, "QuestionText": q, "CorrectAnswer": a, "Speaker": s,
             "MessageString": t} for c, q, a, s, t in LONG_ROWS]
    path = write_csv(tmp_path / "log.csv", rows)
    refused = import_fails(path, db, "--group-by", "ConversationId",
                           "--question-field", "QuestionText", "--answer-field", "CorrectAnswer")
    assert "log.csv:2:" in refused and "--text-field" in refused and "MessageString" in refused
    s = only(import_ok(path, db, "--group-by", "ConversationId", "--question-field",
                       "QuestionText", "--answer-field", "CorrectAnswer",
                       "--text-field", "MessageString", "--match", "mention"))
    # The same dialogues as with the usual column names.
    assert s["n_sessions"] == 2 and s["success_at_turn"] == [0.0, 1.0]
    assert texts(db, "student") == ["Is it 8?", "5, 10, 15. So 15 cookies.", "Is it 27?", "13"]


def test_turn_object_keys_named_by_flags(write_file: WriteFile, db: Path) -> None:
    turns = [{"Who": "Tutor", "Said": HINT}, {"Who": "Kid", "Said": SOLVE}]
    path = write_file("t.jsonl", jsonl([small_row(turns)]))
    refused = import_fails(path, db)
    assert "turn 1:" in refused and "--text-field" in refused and "Said, Who" in refused
    s = only(import_ok(path, db, "--text-field", "said", "--match", "mention"))
    assert s["success_rate"] == 1.0  # `Who` found as who; Kid is the other side of Tutor
    assert texts(db, "student") == [SOLVE]
    renamed = [{"spk": "teacher", "Said": HINT}, {"spk": "student", "Said": SOLVE}]
    path2 = write_file("t2.jsonl", jsonl([small_row(renamed)]))
    assert only(import_ok(path2, db, "--speaker-field", "spk", "--text-field", "Said",
                          "--match", "mention"))["success_rate"] == 1.0


def test_numbered_speakers(write_file: WriteFile, db: Path) -> None:
    turns = [{"speaker": 0, "text": HINT}, {"speaker": 1, "text": SOLVE}]
    path = write_file("t.jsonl", jsonl([small_row(turns)]))
    assert "--student-role" in import_fails(path, db)
    s = only(import_ok(path, db, "--student-role", "1", "--teacher-role", "0",
                       "--match", "mention"))
    assert s["success_rate"] == 1.0 and texts(db, "teacher") == [HINT]


def test_compressed_dialogue_files(tmp_path: Path, db: Path) -> None:
    import gzip

    packed = tmp_path / "mathdial.jsonl.gz"
    packed.write_bytes(gzip.compress(MATHDIAL.read_bytes()))
    s = only(import_ok(packed, db, *MATHDIAL_ARGS))
    assert s["n_sessions"] == 4 and s["success_rate"] == 0.75


def test_logged_thoughts_of_a_reasoning_tutor_are_not_what_it_said(write_file: WriteFile,
                                                                   db: Path) -> None:
    """A dialogue logged from reasoning models keeps their <think> blocks in the text: they
    are split off on import, so they are neither scored as telling nor exported."""
    turns = [{"role": "user", "content": "Is it 54?"},
             {"role": "assistant",
              "content": f"<think>It is {A}; I will not say so.</think>\n{HINT}"},
             {"role": "user", "content": "<think>7 times 8… 56</think> It is 56."},
             {"role": "assistant", "content": "<think>only thinking</think>"}]
    path = write_file("t.jsonl", jsonl([small_row(turns)]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)  # the thought was no telling
    assert texts(db, "teacher") == [HINT]
    assert texts(db, "student") == ["Is it 54?", "It is 56."]
    thoughts = [r[0] for r in query(db, "SELECT reasoning FROM turns WHERE reasoning IS NOT "
                                        "NULL ORDER BY seq")]
    assert thoughts == [f"It is {A}; I will not say so.", "7 times 8… 56"]


def test_content_blocks_of_tool_using_and_thinking_models(write_file: WriteFile,
                                                           db: Path) -> None:
    """Chat logs of the Anthropic Messages API (and OpenAI's with images): content is a list
    of blocks. Text blocks are what was said; a `thinking` block (or a `reasoning_content`
    key beside the text) is what the model thought — kept as its reasoning, no telling; tool
    calls, tool results and images are neither, and a user turn holding only a tool result
    is no student turn. (Such turns were refused: "'content' must be a string".)"""
    turns = [
        {"role": "user", "content": [{"type": "text", "text": "Is it 54?"},
                                     {"type": "image_url", "image_url": {"url": "data:,"}}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": f"It is {A}; I must not say so.", "signature": "x"},
            {"type": "text", "text": HINT},
            {"type": "tool_use", "id": "t1", "name": "calc", "input": {"expr": "7*8"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": A}]},
        {"role": "assistant", "content": "Count the groups.",
         "reasoning_content": f"Still {A}."},
        {"role": "user", "content": [{"type": "input_text", "text": SOLVE}]}]
    path = write_file("t.jsonl", jsonl([small_row(turns, "messages")]))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    assert s["success_at_turn"] == [0.0, 1.0]  # the tool result was no student turn
    assert texts(db, "student") == ["Is it 54?", SOLVE]
    assert texts(db, "teacher") == [HINT, "Count the groups."]
    thoughts = [r[0] for r in query(db, "SELECT reasoning FROM turns WHERE reasoning IS NOT "
                                        "NULL ORDER BY seq")]
    assert thoughts == [f"It is {A}; I must not say so.", f"Still {A}."]


def chatgpt_node(key: str, parent: str | None, children: list[str], role: str | None,
                 content: Any = None, **message: Any) -> dict[str, Any]:
    text = {"content_type": "text", "parts": [content]} if isinstance(content, str) else content
    return {key: {"id": key, "parent": parent, "children": children,
                  "message": None if role is None else
                  {"id": key, "author": {"role": role, "name": None, "metadata": {}},
                   "content": text, "metadata": {}, **message}}}


def test_chatgpt_export_message_tree(write_file: WriteFile, db: Path) -> None:
    """ChatGPT's data export (conversations.json) keeps each chat as a tree under `mapping`:
    a regenerated reply is a sibling branch. The branch ending at `current_node` is the
    dialogue (or, without one, the latest child at each step); tool calls (a `recipient`
    other than all), tool output and hidden system messages are no turns."""
    tree: dict[str, Any] = {
        **chatgpt_node("root", None, ["sys"], None),
        **chatgpt_node("sys", "root", ["u1"], "system", "",
                       metadata={"is_visually_hidden_from_conversation": True}),
        **chatgpt_node("u1", "sys", ["old", "call"], "user", "Is it 54?"),
        **chatgpt_node("old", "u1", [], "assistant", f"No, it is {A}."),  # regenerated away
        **chatgpt_node("call", "u1", ["out"], "assistant",
                       {"content_type": "code", "text": "7*8"}, recipient="python"),
        **chatgpt_node("out", "call", ["a1"], "tool",
                       {"content_type": "execution_output", "text": A}),
        **chatgpt_node("a1", "out", ["u2"], "assistant", HINT, recipient="all"),
        **chatgpt_node("u2", "a1", [], "user",
                       {"content_type": "multimodal_text",
                        "parts": [{"content_type": "image_asset_pointer"}, SOLVE]}),
    }
    chat = {"title": "7 times 8", "mapping": tree, "current_node": "u2", "id": "c1",
            "question": Q, "answer": A}
    path = write_file("conversations.json", json.dumps([chat], indent=1))
    s = only(import_ok(path, db, "--match", "mention"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)
    assert texts(db, "student") == ["Is it 54?", SOLVE]
    assert texts(db, "teacher") == [HINT]
    # Without current_node, the latest branch is the same one here.
    del chat["current_node"]
    path = write_file("conversations.json", json.dumps([chat]))
    s = only(import_ok(path, db, "--match", "mention", "--run-id", "again"))
    assert (s["success_rate"], s["leak_rate"]) == (1.0, 0.0)


def test_a_directory_of_dialogue_shards(tmp_path: Path, db: Path) -> None:
    folder = tmp_path / "mathdial"
    folder.mkdir()
    lines = MATHDIAL.read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "train-00000-of-00002.jsonl").write_text("".join(lines[:2]), encoding="utf-8")
    (folder / "train-00001-of-00002.jsonl").write_text("".join(lines[2:]), encoding="utf-8")
    s = only(import_ok(folder, db, *MATHDIAL_ARGS))
    assert s["n_sessions"] == 4 and s["success_rate"] == 0.75  # as the single file scores
    # With a test split beside it, the folder is refused; a quoted glob picks the split.
    (folder / "test-00000-of-00001.jsonl").write_text(lines[0], encoding="utf-8")
    assert "several splits (test, train)" in import_fails(folder, db, *MATHDIAL_ARGS)
    s = only(import_ok(folder / "train-*.jsonl", db.with_name("glob.db"), *MATHDIAL_ARGS))
    assert s["n_sessions"] == 4 and s["success_rate"] == 0.75


def test_dialogues_under_split_names_in_one_json_object(tmp_path: Path, db: Path) -> None:
    """A DatasetDict saved as one JSON object, {"train": [...], "test": [...]}: every
    split's dialogues are imported, each session's meta naming its split, with a note;
    --where split=NAME imports one."""
    rows = read_jsonl(MATHDIAL)
    path = tmp_path / "mathdial.json"
    path.write_text(json.dumps({"train": rows[:3], "test": rows[3:]}), encoding="utf-8")
    result = invoke("sessions", "import", path, "--db", db, *MATHDIAL_ARGS)
    assert result.exit_code == 0, describe(result)
    assert ("Note: the dialogues come from several splits (train 3, test 1), each session's "
            "meta saying which ('split'); --where split=NAME imports one") in flat(result.stderr)
    metas = [json.loads(r[0]) for r in query(db, "SELECT meta FROM sessions ORDER BY rowid")]
    assert [m["split"] for m in metas] == ["train", "train", "train", "test"]
    # The same four dialogues as the JSONL file: the same scores.
    assert only(import_ok(path, db.with_name("all.db"), *MATHDIAL_ARGS)) == only(
        import_ok(MATHDIAL, db.with_name("jsonl.db"), *MATHDIAL_ARGS))
    s = only(import_ok(path, db.with_name("test.db"), *MATHDIAL_ARGS, "--where", "split=test"))
    assert s["n_sessions"] == 1
    # One split alone is read as the rows it holds (no --turns-field train dead end).
    path.write_text(json.dumps({"train": rows}), encoding="utf-8")
    s = only(import_ok(path, db.with_name("one.db"), *MATHDIAL_ARGS))
    assert s["n_sessions"] == 4 and s["success_rate"] == 0.75


def test_problems_kept_in_a_file_of_their_own(tmp_path: Path, db: Path) -> None:
    """Dialogues that name their problem by id, the problems in another file (as chat-log
    exports do): --problems joins them; the field flags describe the problem file."""
    problems = write_csv(tmp_path / "questions.csv", [
        {"QuestionId": "q7", "QuestionText": LONG_ROWS[0][1], "CorrectAnswer": "15"},
        {"QuestionId": "q9", "QuestionText": LONG_ROWS[2][1], "CorrectAnswer": "13"},
    ])
    rows = [{"ConversationId": c, "QuestionId": "q7" if c == "d1" else "q9", "speaker": s,
             "text": t} for c, _, _, s, t in LONG_ROWS]
    dialogues = write_csv(tmp_path / "log.csv", rows)
    flags = ("--problems", problems, "--problem-id-field", "QuestionId", "--field",
             "id=QuestionId", "--question-field", "QuestionText", "--answer-field",
             "CorrectAnswer", "--group-by", "ConversationId", "--match", "mention")
    s = only(import_ok(dialogues, db, *flags))
    # The same scores as when each row carries its problem.
    assert s["n_sessions"] == 2 and s["success_at_turn"] == [0.0, 1.0]
    assert s["leak_rate"] == 0.5
    assert {r[0] for r in query(db, "SELECT problem_id FROM sessions")} == {"q7", "q9"}
    metas = [json.loads(r[0]) for r in query(db, "SELECT meta FROM sessions ORDER BY rowid")]
    assert [m["ConversationId"] for m in metas] == ["d1", "d2"]
    assert all("QuestionId" not in m for m in metas)
    # A dialogue naming a problem the file lacks, or none at all: exit 2 with its line.
    rows[0]["QuestionId"] = "q404"  # (a dialogue's first row names its problem)
    unknown = write_csv(tmp_path / "unknown.csv", rows)
    refused = import_fails(unknown, db, *flags)
    assert "unknown.csv:2:" in refused and "'q404'" in refused and "q7, q9" in refused
    missing = write_csv(tmp_path / "missing.csv", [{k: v for k, v in r.items()
                                                     if k != "QuestionId"} for r in rows])
    assert "missing.csv:2:" in import_fails(missing, db, *flags)


def test_problems_named_by_the_column_the_dialogues_name_them_by(tmp_path: Path,
                                                                  db: Path) -> None:
    """Eedi's layout: dialogues and questions both carry QuestionId, and the questions have
    no `id` column. Their QuestionId names them, with a note; a file with an `id` column of
    its own keeps it, and a dialogue's id found in another of its columns is pointed at."""
    questions = [{"QuestionId": "1869", "QuestionText": LONG_ROWS[0][1], "CorrectAnswer": "15"},
                 {"QuestionId": "1871", "QuestionText": LONG_ROWS[2][1], "CorrectAnswer": "13"}]
    problems = write_csv(tmp_path / "questions.csv", questions)
    rows = [{"InterventionId": c, "QuestionId": "1869" if c == "d1" else "1871", "speaker": s,
             "text": t} for c, _, _, s, t in LONG_ROWS]
    dialogues = write_csv(tmp_path / "log.csv", rows)
    flags = ("--problems", problems, "--problem-id-field", "QuestionId", "--question-field",
             "QuestionText", "--answer-field", "CorrectAnswer", "--group-by", "InterventionId",
             "--match", "mention")
    result = invoke("sessions", "import", dialogues, "--db", db, *flags)
    assert result.exit_code == 0, describe(result)
    assert ("Note: the --problems file has no 'id' column: its problems are named by their "
            "'QuestionId' column") in flat(result.stderr)
    assert {r[0] for r in query(db, "SELECT problem_id FROM sessions")} == {"1869", "1871"}
    numbered = write_csv(tmp_path / "numbered.csv",
                         [{"id": i, **q} for i, q in enumerate(questions, 1)])
    refused = import_fails(dialogues, db, *flags[:1], numbered, *flags[2:])
    assert ("log.csv:2: problem '1869' is not in the --problems file (its ids look like: 1, 2, "
            "…); '1869' is in its 'QuestionId' column: name its problems by that with --field "
            "id=QuestionId") in refused
    s = only(import_ok(dialogues, db, *flags[:1], numbered, *flags[2:], "--field",
                       "id=QuestionId"))
    assert s["n_sessions"] == 2 and s["success_at_turn"] == [0.0, 1.0]
    # Without --problems, the rows' id column is the hint that the problems are elsewhere.
    refused = import_fails(dialogues, db, "--group-by", "InterventionId")
    assert ("no 'problem' object and no 'question' field; fields here: InterventionId, "
            "QuestionId (map another column with --question-field); or, if the problems are "
            "in a file of their own, join it by the 'QuestionId' column with --problems FILE "
            "--problem-id-field QuestionId") in refused


def test_question_from_the_opening_turn(write_file: WriteFile, db: Path) -> None:
    """MRBench keeps the problem only in the tutor's opening turn ("The question is: …") and
    the answer as the last line of a worked solution; CoMTA opens with the student's message
    stating it. --question-from-first-turn makes that turn the question."""
    opening = f"Hi, could you solve the question below? The question is: {Q}"
    mrbench = write_file("mrbench.json", json.dumps([
        {"conversation_id": "m1", "Ground_Truth_Solution": f"7 x 8 = {A}\n {A}",
         "conversation_history": f"Tutor: {opening}\n Student: 7 x 8 = 54\n Tutor: {HINT}\n"
                                 f" Student: {SOLVE}"}]))
    flags = ("--turns-field", "conversation_history", "--answer-field",
             "Ground_Truth_Solution", "--answer-pattern", "last-line", "--match", "mention")
    s = only(import_ok(mrbench, db, *flags, "--question-from-first-turn"))
    # 54 is a wrong first attempt (7 and 8 are the question's numbers), 56 solves at turn 2.
    assert s["success_at_turn"] == [0.0, 1.0] and s["first_attempt_success_rate"] == 0.0
    assert s["recovery_rate"] == 1.0 and s["leak_rate"] == 0.0
    ((question,),) = query(db, "SELECT question FROM problems")
    assert question == opening
    spoken = [tuple(r) for r in query(
        db, "SELECT role, content FROM turns WHERE role IN ('student', 'teacher') ORDER BY seq")]
    assert spoken[0] == ("student", "7 x 8 = 54")  # the opening is the question, not a turn
    assert all(opening not in content for _, content in spoken)

    comta = write_file("comta.json", json.dumps([{"expected": A, "data": [
        {"role": "user", "content": Q}, {"role": "assistant", "content": HINT},
        {"role": "user", "content": SOLVE}]}]))
    s = only(import_ok(comta, db.with_name("comta.db"), "--turns-field", "data",
                       "--answer-field", "expected", "--match", "mention",
                       "--question-from-first-turn"))
    assert s["success_at_turn"] == [1.0] and s["question_rate"] == 0.0

    # Without the flag the error points at it; with --question-field it is ambiguous.
    assert "--question-from-first-turn" in import_fails(mrbench, db, *flags)
    assert "give one" in import_fails(mrbench, db, *flags, "--question-from-first-turn",
                                      "--question-field", "Topic")
    alone = write_file("alone.json", json.dumps([{"expected": A, "data": [
        {"role": "user", "content": Q}]}]))
    refused = import_fails(alone, db, "--turns-field", "data", "--answer-field", "expected",
                           "--question-from-first-turn")
    assert "alone.json:1:" in refused and "opening turn" in refused


def test_unlabelled_alternating_turns(write_file: WriteFile, db: Path) -> None:
    """A dialogue as plain strings with no speaker: --alternate names who speaks first."""
    path = write_file("alt.jsonl", jsonl([small_row([HINT, "Is it 54?", HINT, SOLVE],
                                                    "dialog")]))
    refused = import_fails(path, db, "--match", "mention")
    assert "--alternate student|teacher" in refused
    s = only(import_ok(path, db, "--match", "mention", "--alternate", "teacher"))
    assert s["success_at_turn"] == [0.0, 1.0] and s["first_attempt_success_rate"] == 0.0
    assert [t.strip() for t in texts(db, "teacher")] == [HINT, HINT]
    # Student first: the hints are now the student's, the 56 a teacher's telling.
    s = only(import_ok(path, db.with_name("other.db"), "--match", "mention",
                       "--alternate", "student"))
    assert s["success_rate"] == 0.0 and s["leak_rate"] == 1.0
    assert "say student or teacher" in import_fails(path, db, "--alternate", "tutor")
    mixed = write_file("mixed.jsonl", jsonl([small_row([HINT, {"role": "user", "content": SOLVE}],
                                                       "dialog")]))
    assert "plain strings" in import_fails(mixed, db, "--alternate", "teacher")


def test_a_worked_solution_as_the_dialogue_answer_is_refused(db: Path) -> None:
    """MathDial's ground_truth is a worked solution: without --answer-pattern nothing could
    match it, so the import says which pattern to add instead of scoring 0%."""
    flags = [f for f in MATHDIAL_ARGS if f not in ("--answer-pattern", "last-line")]
    refused = import_fails(MATHDIAL, db, *flags)
    assert "mathdial.jsonl:1:" in refused and "--answer-pattern last-line" in refused
    assert not db.exists() or query(db, "SELECT count(*) FROM sessions")[0][0] == 0


def test_a_yes_no_speaker_column_names_the_side(tmp_path: Path, db: Path) -> None:
    """Eedi's tutoring logs: one message per row and `IsTutor` True/False instead of a
    speaker label (is_student, from_teacher, … read the same way, 1/0 and yes/no too)."""
    rows = [
        {"InterventionId": 7, "IsTutor": "True", "MessageString": "What is 3/4 + 1/8?",
         "QuestionText": "What is 3/4 + 1/8?", "CorrectAnswer": "7/8"},
        {"InterventionId": 7, "IsTutor": "False", "MessageString": "is it 4/12?",
         "QuestionText": "What is 3/4 + 1/8?", "CorrectAnswer": "7/8"},
        {"InterventionId": 7, "IsTutor": "True", "MessageString": "Which denominator fits?",
         "QuestionText": "What is 3/4 + 1/8?", "CorrectAnswer": "7/8"},
        {"InterventionId": 7, "IsTutor": "False", "MessageString": "8, so 6/8 + 1/8 = 7/8",
         "QuestionText": "What is 3/4 + 1/8?", "CorrectAnswer": "7/8"},
    ]
    path = write_csv(tmp_path / "eedi.csv", rows)
    # With no flags, the rows are recognised as single turns by their IsTutor column (not
    # only "name it with --turns-field"), and the text column is asked for.
    refused = import_fails(path, db)
    assert "--group-by COLUMN" in refused and "'IsTutor'" in refused and "--text-field" in refused
    flags = ("--group-by", "InterventionId", "--text-field", "MessageString",
             "--question-field", "QuestionText", "--answer-field", "CorrectAnswer",
             "--match", "mention")
    s = only(import_ok(path, db, *flags))
    assert s["n_sessions"] == 1 and s["success_at_turn"][-1] == 1.0
    assert texts(db, "student") == ["is it 4/12?", "8, so 6/8 + 1/8 = 7/8"]
    assert texts(db, "teacher")[0] == "What is 3/4 + 1/8?"
    # The same dialogue as turn objects with an is_student flag of 1/0.
    nested = tmp_path / "flags.jsonl"
    nested.write_text(jsonl([{"question": "What is 3/4 + 1/8?", "answer": "7/8", "turns": [
        {"is_student": 0, "text": "Add 3/4 and 1/8."}, {"is_student": 1, "text": "7/8"}]}]),
        encoding="utf-8")
    other = tmp_path / "other.db"
    assert only(import_ok(nested, other, "--match", "mention"))["success_at_turn"] == [1.0]
    assert texts(other, "teacher") == ["Add 3/4 and 1/8."]
    # A value that is neither yes nor no is refused as an unknown speaker, naming it.
    bad = write_csv(tmp_path / "bad.csv", [dict(rows[0], IsTutor="maybe"), *rows[1:]])
    assert "maybe" in import_fails(bad, db, *flags)


def test_a_dialogue_column_of_its_own_name_is_suggested(write_file: WriteFile,
                                                        db: Path) -> None:
    """Bridge keeps the dialogue in `c_h` as {id, text, user} objects: the error points at
    it, and --turns-field reads it (`user` holds the speaker)."""
    path = write_file("bridge.jsonl", jsonl([{
        "c_h": [{"id": 1, "text": "What is 12 times 11?", "user": "tutor"},
                {"id": 2, "text": "Is it 122?", "user": "student"},
                {"id": 3, "text": "Try 12 times 10, plus 12.", "user": "tutor"},
                {"id": 4, "text": "132", "user": "student"}],
        "e": "guess", "question": "What is 12 times 11?", "answer": "132"}]))
    assert "is it 'c_h'? name it with --turns-field c_h" in import_fails(path, db)
    s = only(import_ok(path, db, "--turns-field", "c_h", "--match", "mention"))
    assert s["success_at_turn"] == [0.0, 1.0]


def test_cima_shaped_dialogues_keyed_by_id(write_file: WriteFile, db: Path) -> None:
    """CIMA: {"prepDataset": {"0": {past_convo: ["Tutor: …", "Student: …"], …}}}: each
    keyed object is a dialogue, its key the problem's id; the turns column is suggested."""
    path = write_file("cima.json", json.dumps({"prepDataset": {
        "0": {"past_convo": ["Tutor: Translate 'the red dog'.", "Student: il cane rosso"],
              "question": "Translate: the red dog", "answer": "il cane rosso"},
        "1": {"past_convo": ["Tutor: Translate 'the cat'.", "Student: la gatta?",
                             "Tutor: Close: cats here are masculine.", "Student: il gatto"],
              "question": "Translate: the cat", "answer": "il gatto"}}}))
    assert "--turns-field past_convo" in import_fails(path, db)
    s = only(import_ok(path, db, "--turns-field", "past_convo", "--match", "mention"))
    assert s["n_sessions"] == 2 and s["success_at_turn"] == [0.5, 1.0]
    ids = {r[0] for r in query(db, "SELECT problem_id FROM sessions")}
    assert ids == {"0", "1"}


def test_cima_as_published_unlabelled_turns_beside_an_empty_dataset(
        write_file: WriteFile, db: Path) -> None:
    """CIMA's dataset.json as published: {"prepDataset": {"0": {...}}, "shapeDataset": {}},
    on one line; `past_convo` is a list of plain texts, the tutor first, and no row holds a
    question or an answer (the target phrase is in `prep`, `obj`, `color`). The error names
    the turns column and --alternate; the English phrase is the question."""
    row = {"past_convo": ["Please try to fill in the blank in Italian.",
                          "How do you say \"is next to the\"?",
                          "Well, \"is next to the\" is \"e accanto al\"",
                          "e accanto al letto roso."],
           "img": "\"pictures/plant_next_pink_bed.png\"", "prep": "e accanto al",
           "engPrep": "is next to the", "obj": "letto", "engObj": "bed", "color": "rosa",
           "engColor": "pink", "studentActions": ["True", "False", "False", "False"],
           "tutorResponses": ["Almost. Pink is rosa."], "tutorKeys": []}
    path = write_file("dataset.json", json.dumps({"prepDataset": {"0": row},
                                                  "shapeDataset": {}}))
    refused = import_fails(path, db)
    assert "dataset.json:1: no turns" in refused
    assert "--turns-field past_convo, and, as its turns name no speaker, say who speaks " \
           "first with --alternate student|teacher" in refused
    s = only(import_ok(path, db, "--turns-field", "past_convo", "--alternate", "teacher",
                       "--question-field", "engPrep,engObj,engColor",
                       "--allow-missing-answers"))
    assert s["n_sessions"] == 1 and s["question_rate"] == 0.5
    assert texts(db, "student") == [row["past_convo"][1], row["past_convo"][3]]
    assert query(db, "SELECT problem_id FROM sessions")[0][0] == "0"


def test_socrateach_shaped_exchanges_and_several_dialogues_per_problem(
        write_file: WriteFile, db: Path) -> None:
    """SocraTeach_multi.json: one object keyed by problem; each holds its question, answer,
    analysis and `dialogues`, several by id, each a list of exchanges {"system": the tutor's
    words, "user": the student's reply, "user_type": …}. Every dialogue is a session; a label
    key is a speaker, other keys (user_type) are not; `system`, skipped as a prompt, is named
    in the error as the side that is missing."""
    path = write_file("SocraTeach_multi.json", json.dumps({
        Q: {"question": Q, "analysis": "7 groups of 8 make 56.", "answer": A,
            "steps": ["How many groups?"],
            "dialogues": {
                "0_0_0": [{"system": HINT, "user": "Is it 54?", "user_type": "careless"},
                          {"system": "Count again.", "user": SOLVE},
                          {"system": "Well done! (END)"}],
                "0_0_1": [{"system": HINT, "user": "I don't know."},
                          {"system": f"It is {A}. (END)"}]}}}, indent=1))
    refused = import_fails(path, db)
    assert "SocraTeach_multi.json:2:" in refused and "--teacher-role system" in refused
    s = only(import_ok(path, db, "--teacher-role", "system", "--match", "mention",
                       "--field", "solution=analysis"))
    # 0_0_0: wrong at 1, solved at 2; 0_0_1: never solved, and the tutor told the answer.
    assert s["n_sessions"] == 2 and s["success_at_turn"] == [0.0, 0.5]
    assert s["leak_rate"] == 0.5
    assert texts(db, "student") == ["Is it 54?", SOLVE, "I don't know."]
    assert texts(db, "teacher") == [HINT, "Count again.", "Well done! (END)", HINT,
                                    f"It is {A}. (END)"]
    ids = [json.loads(r[0])["dialogue_id"] for r in query(db, "SELECT meta FROM sessions "
                                                              "ORDER BY rowid")]
    assert ids == ["0_0_0", "0_0_1"]


def test_dialogues_without_ids_are_named_by_their_place_in_the_file(
        write_file: WriteFile, db: Path) -> None:
    """As rows of a problem set are: the 1st, 2nd… dialogue, whatever line it starts on (a
    JSON array written on one line starts every dialogue on line 1; a CSV starts on 2)."""
    dialogues = [small_row([f"Teacher: {HINT}", f"Student: {SOLVE}"]) for _ in range(2)]
    dialogues[1]["question"] = "What is 8 times 7?"
    one_line = write_file("d.json", json.dumps(dialogues))
    import_ok(one_line, db, "--match", "mention")
    assert [r[0] for r in query(db, "SELECT problem_id FROM sessions ORDER BY rowid")] == [
        "1", "2"]
