"""Problem-set loading (SPEC §2): formats, field mapping, answer patterns, verifier
resolution, and error messages that name the file and the line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from sml_cli.errors import ProblemFileError, UsageError
from sml_cli.mapping import FieldMap
from sml_cli.problems import (
    BUILTIN_SETS,
    Problem,
    builtin_path,
    choice_index,
    extract_boxed,
    find_problem,
    load_problems,
)

WriteFile = Callable[[str, "str | bytes"], Path]


def jsonl(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def load(path: Path, **fields: str | None) -> list[Problem]:
    return load_problems(str(path), FieldMap(**fields) if fields else None)  # type: ignore[arg-type]


def load_error(path: Path, **fields: str | None) -> ProblemFileError:
    with pytest.raises(ProblemFileError) as info:
        load(path, **fields)
    error = info.value
    assert str(path) in str(error)
    assert error.exit_code == 2
    return error


def assert_at_line(error: ProblemFileError, path: Path, line: int, *fragments: str) -> None:
    assert error.line == line
    assert str(error).startswith(f"{path}:{line}: ")
    for fragment in fragments:
        assert fragment in str(error), (fragment, str(error))


# ----------------------------------------------------------------------------- formats


def test_jsonl_basic(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl(
            {"question": "2+2?", "answer": "4"},
            {
                "id": "q-b",
                "question": "Capital of France?",
                "answer": "Paris",
                "solution": "It is Paris.",
                "notes": "geography",
            },
        ),
    )
    first, second = load(path)
    assert first.id == "1"  # default: 1-based row number
    assert (first.question, first.answer, first.verifier) == ("2+2?", "4", "numeric")
    assert first.source == str(path)
    assert second.id == "q-b"
    assert second.verifier == "exact"
    assert second.solution == "It is Paris." and second.notes == "geography"


def test_blank_lines_and_bom_are_fine(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        "\ufeff"
        + jsonl({"question": "a", "answer": "1"})
        + "\n\n"
        + jsonl({"question": "b", "answer": "2"}),
    )
    assert [p.answer for p in load(path)] == ["1", "2"]


def test_limit(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl", jsonl(*({"question": f"q{i}", "answer": str(i)} for i in range(5)))
    )
    assert [p.id for p in load_problems(str(path), limit=2)] == ["1", "2"]


def test_csv(write_file: WriteFile) -> None:
    path = write_file(
        "p.csv",
        "id,question,answer,choices\n"
        'a,"What is 6*7?",42,\n'
        'b,"Pick the capital, please",B,"[""Lyon"", ""Paris""]"\n'
        'c,"A question\nover two lines",7,\n',
    )
    a, b, c = load(path)
    assert (a.id, a.answer, a.verifier, a.choices) == ("a", "42", "numeric", None)
    assert b.verifier == "choice" and b.choices == ("Lyon", "Paris") and b.answer == "B"
    assert c.question == "A question\nover two lines"


def test_tsv(write_file: WriteFile) -> None:
    path = write_file("p.tsv", "question\tanswer\nHow many legs has a spider?\t8\n")
    (p,) = load(path)
    assert (p.question, p.answer, p.verifier) == ("How many legs has a spider?", "8", "numeric")


def test_tsv_without_quoting_keeps_quotation_marks_as_text(write_file: WriteFile) -> None:
    # Many TSVs (MGSM's) quote nothing: a question opening with a quotation mark is text.
    path = write_file("p.tsv", 'question\tanswer\n"Hello," said Tom. 3 + 2 apples?\t5\n'
                               'She said "no" twice. 1 + 1?\t2\n')
    hello, said_no = load(path)
    assert hello.question == '"Hello," said Tom. 3 + 2 apples?' and hello.answer == "5"
    assert said_no.question == 'She said "no" twice. 1 + 1?'
    # …while one written with CSV quoting (pandas' to_csv(sep="\t")) is unquoted as CSV.
    quoted = write_file("q.tsv", 'question\tanswer\n"Tab\tinside, ""quoted"""\t7\n')
    (p,) = load(quoted)
    assert p.question == 'Tab\tinside, "quoted"' and p.answer == "7"
    ragged = write_file("r.tsv", 'question\tanswer\n"Hi" there\t1\textra\n')
    assert_at_line(load_error(ragged), ragged, 2, "3 columns but the header has 2")


def test_json_array(write_file: WriteFile) -> None:
    path = write_file(
        "p.json",
        json.dumps([{"question": "a", "answer": "1"}, {"question": "b", "answer": "2"}], indent=2),
    )
    assert [p.answer for p in load(path)] == ["1", "2"]


def test_json_file_with_json_lines(write_file: WriteFile) -> None:
    path = write_file("p.json", jsonl({"question": "a", "answer": "1"}))
    assert load(path)[0].answer == "1"


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "question": ["2+2?", "Pick one", "Capital?"],
            "answer": ["4", "A", None],
            "choices": [None, ["yes", "no"], None],
            "target": ["x", "no", "Paris"],
            "difficulty": [1, 2, 3],
        }
    )
    path = tmp_path / "p.parquet"
    pq.write_table(table, path)
    with pytest.raises(ProblemFileError) as info:
        load(path)
    # Parquet "lines" are 1-based row numbers; row 3 has no answer.
    assert_at_line(info.value, path, 3, "'answer' is empty")

    pq.write_table(table.drop_columns(["answer"]), path)
    first, second, third = load(path, answer="target")
    assert first.answer == "x" and first.meta == {"difficulty": 1}
    assert second.choices == ("yes", "no") and second.answer == "B"
    assert third.answer == "Paris"


def test_parquet_numbers_keep_their_written_value(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"question": ["a", "b"], "answer": [72.0, 0.5]}), path)
    assert [p.answer for p in load(path)] == ["72", "0.5"]


def test_corrupt_parquet(write_file: WriteFile) -> None:
    path = write_file("p.parquet", b"not parquet at all")
    error = load_error(path)
    assert "Parquet" in str(error)


# ----------------------------------------------------------------------------- field mapping


def test_field_mapping(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"problem": "2+3?", "target": "5", "level": "easy"}))
    (p,) = load(path, question="problem", answer="target")
    assert (p.question, p.answer) == ("2+3?", "5")
    assert p.meta == {"level": "easy"}  # unknown columns are kept as metadata


def test_missing_question_field_lists_available_fields(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"problem": "2+3?", "target": "5"}))
    error = load_error(path)
    assert_at_line(error, path, 1, "no 'question' field", "problem, target", "--question-field")


def test_missing_mapped_question_field(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "2+3?", "answer": "5"}))
    error = load_error(path, question="prompt")
    assert_at_line(error, path, 1, "no 'prompt' field", "answer, question")


def test_missing_answer_field_lists_available_fields(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "2+3?", "target": "5"}))
    error = load_error(path)
    assert_at_line(error, path, 1, "no 'answer' field", "question, target", "--answer-field")


# ----------------------------------------------------------------------------- answer patterns


GSM8K_ANSWER = "Natalia sold 48/2 = 24 clips in May.\nIn total she sold 48+24 = 72 clips.\n#### 72"


def test_answer_pattern_gsm8k(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "How many clips?", "answer": GSM8K_ANSWER}))
    (p,) = load(path, answer_pattern=r"####\s*(.+)")
    assert p.answer == "72"
    assert p.solution == GSM8K_ANSWER  # the full text becomes the teacher-only solution
    assert p.verifier == "numeric"


def test_answer_pattern_with_mapped_field(write_file: WriteFile) -> None:
    path = write_file("p.csv", 'q,a\nHow many?,"step 1\n#### 1,000"\n')
    (p,) = load(path, question="q", answer="a", answer_pattern=r"####\s*(.+)")
    assert p.answer == "1,000" and p.verifier == "numeric"


def test_answer_pattern_keeps_an_explicit_solution(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl", jsonl({"question": "q", "answer": "work\n#### 5", "solution": "S"})
    )
    (p,) = load(path, answer_pattern=r"####\s*(.+)")
    assert (p.answer, p.solution) == ("5", "S")


def test_answer_pattern_boxed(write_file: WriteFile) -> None:
    answer = r"We get $x = \frac{1}{2}$, so the answer is $\boxed{\frac{1}{2}}$."
    path = write_file("p.jsonl", jsonl({"question": "Solve 2x = 1.", "answer": answer}))
    (p,) = load(path, answer_pattern="boxed")
    assert p.answer == r"\frac{1}{2}"
    assert p.solution == answer


def test_answer_pattern_without_match(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl(
            {"question": "q", "answer": "#### 1"}, {"question": "q2", "answer": "no marker here"}
        ),
    )
    error = load_error(path, answer_pattern=r"####\s*(.+)")
    assert_at_line(error, path, 2, "--answer-pattern", "found no answer")


def test_answer_pattern_bad_regex(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "q", "answer": "#### 1"}))
    with pytest.raises(UsageError, match=re.escape(
            "--answer-pattern '####(': the pattern is not a valid regular expression")):
        load(path, answer_pattern="####(")


def test_answer_pattern_without_group(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "q", "answer": "#### 1"}))
    with pytest.raises(UsageError, match="capture group"):
        load(path, answer_pattern=r"####\s*.+")


def test_answer_pattern_errors_show_the_pattern_as_typed(write_file: WriteFile) -> None:
    r"""Quoted for a shell, backslashes single: a repr shows 'xyz(\\d)', which is not
    what was typed (and pasted back, would match a backslash)."""
    path = write_file("p.jsonl", jsonl({"question": "q", "answer": "#### 1"}))
    with pytest.raises(UsageError) as err:
        load(path, answer_pattern=r"xyz(\d)")
    assert r"--answer-pattern 'xyz(\d)' found no answer" in str(err.value)
    with pytest.raises(UsageError) as err:
        load(path, answer_pattern=r"xyz\d+")
    assert str(err.value).startswith(r"--answer-pattern 'xyz\d+': the pattern has no capture")
    assert "did you mean" not in str(err.value)


@pytest.mark.parametrize(("typed", "preset"), [("boxd", "boxed"), ("gsm8", "gsm8k"),
                                               ("last_number", "last-number"),
                                               ("lastline", "last-line")])
def test_a_misspelt_preset_is_named(write_file: WriteFile, typed: str, preset: str) -> None:
    path = write_file("p.jsonl", jsonl({"question": "q", "answer": "#### 1"}))
    with pytest.raises(UsageError, match=re.escape(
            f"--answer-pattern {typed}: did you mean {preset}?")):
        load(path, answer_pattern=typed)


def test_extract_boxed() -> None:
    assert extract_boxed(r"\boxed{1} and \boxed{\frac{a}{b}}") == r"\frac{a}{b}"
    assert extract_boxed(r"\boxed {7}") == "7"
    assert extract_boxed("no box") is None
    assert extract_boxed(r"\boxed{unclosed") is None


# ----------------------------------------------------------------------------- verifiers


@pytest.mark.parametrize(
    ("row", "verifier"),
    [
        ({"answer": "42"}, "numeric"),
        ({"answer": "1,000"}, "numeric"),
        ({"answer": "$5"}, "numeric"),
        ({"answer": "50%"}, "numeric"),
        ({"answer": "3/4"}, "numeric"),
        ({"answer": r"2\sqrt{2}"}, "math"),
        ({"answer": "x^2+1"}, "math"),
        ({"answer": "2x + 1"}, "math"),
        ({"answer": "(1, 2)"}, "math"),
        ({"answer": "Paris"}, "exact"),
        ({"answer": "B", "choices": ["x", "y"]}, "choice"),
        ({"tests": "assert f() == 1"}, "python"),
        ({"answer": "42", "verifier": "exact"}, "exact"),
        ({"answer": "42", "verifier": "AUTO"}, "numeric"),
        ({"answer": r"\d+", "verifier": "regex"}, "regex"),
    ],
)
def test_verifier_resolution(write_file: WriteFile, row: dict, verifier: str) -> None:
    path = write_file("p.jsonl", jsonl({"question": "q", **row}))
    (p,) = load(path)
    assert p.verifier == verifier


@pytest.mark.parametrize(
    ("answer", "letter"),
    [("B", "B"), ("b", "B"), ("(b)", "B"), ("1", "B"), ("0", "A"), ("Paris", "B"), ("paris.", "B")],
)
def test_choice_answers_are_stored_as_letters(
    write_file: WriteFile, answer: str, letter: str
) -> None:
    path = write_file(
        "p.jsonl",
        jsonl(
            {
                "question": "Capital of France?",
                "answer": answer,
                "choices": ["Lyon", "Paris", "Nice"],
            }
        ),
    )
    (p,) = load(path)
    assert p.answer == letter
    assert p.public_question().endswith("A) Lyon\nB) Paris\nC) Nice")


def test_choices_in_label_text_layout(write_file: WriteFile) -> None:
    choices = {"label": ["A", "B"], "text": ["yes", "no"]}
    path = write_file("p.jsonl", jsonl({"question": "q", "answer": "A", "choices": choices}))
    assert load(path)[0].choices == ("yes", "no")


def test_python_problem(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl", jsonl({"question": "Write add(a, b).", "tests": "assert add(1, 2) == 3"})
    )
    (p,) = load(path)
    assert p.verifier == "python" and p.answer is None and p.tests == "assert add(1, 2) == 3"
    assert p.private_fields == {"tests": "assert add(1, 2) == 3"}


# ----------------------------------------------------------------------------- error paths


def test_invalid_json_on_line_3(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl({"question": "a", "answer": "1"}, {"question": "b", "answer": "2"})
        + '{"question": "c", "answer": \n',
    )
    assert_at_line(load_error(path), path, 3, "invalid JSON")


def test_jsonl_row_that_is_not_an_object(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "1"}) + '["q", "a"]\n')
    assert_at_line(load_error(path), path, 2, "expected a JSON object, got list")


def test_empty_question(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl", jsonl({"question": "a", "answer": "1"}, {"question": "  ", "answer": "1"})
    )
    assert_at_line(load_error(path), path, 2, "'question' is empty")


def test_empty_answer(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl", jsonl({"question": "a", "answer": "1"}, {"question": "b", "answer": ""})
    )
    assert_at_line(load_error(path), path, 2, "'answer' is empty")


def test_null_answer(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "b", "answer": None}))
    assert_at_line(load_error(path), path, 1, "'answer' is empty")


def test_unknown_verifier(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "1", "verifier": "fuzzy"}))
    assert_at_line(load_error(path), path, 1, "unknown verifier 'fuzzy'", "numeric", "python")


def test_choice_answer_not_in_choices(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "E", "choices": ["x", "y"]}))
    assert_at_line(load_error(path), path, 1, "answer 'E' is not one of the choices")


def test_choice_index_out_of_range(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "2", "choices": ["x", "y"]}))
    assert_at_line(load_error(path), path, 1, "not one of the choices")


def test_choice_verifier_without_choices(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "A", "verifier": "choice"}))
    assert_at_line(load_error(path), path, 1, "needs a 'choices' list")


def test_bad_choices(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl(
            {"question": "a", "answer": "A", "choices": "not json"},
        ),
    )
    assert_at_line(load_error(path), path, 1, "'choices' must be a list")
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "A", "choices": []}))
    assert_at_line(load_error(path), path, 1, "non-empty list")
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "A", "choices": list("x" * 27)}))
    assert_at_line(load_error(path), path, 1, "at most 26")


def test_numeric_verifier_with_non_numeric_answer(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "abc", "verifier": "numeric"}))
    assert_at_line(load_error(path), path, 1, "verifier 'numeric'", "'abc' is not a number")


def test_regex_verifier_with_bad_pattern(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "[", "verifier": "regex"}))
    assert_at_line(load_error(path), path, 1, "not a valid regular expression")


def test_python_verifier_without_tests(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "a", "answer": "x", "verifier": "python"}))
    assert_at_line(load_error(path), path, 1, "needs a 'tests' field")


def test_python_tests_that_do_not_parse(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "a", "tests": "assert f(1) =="}))
    assert_at_line(load_error(path), path, 1, "'tests' is not valid Python")
    assert "language" not in str(load_error(path))


def test_tests_in_another_language_say_so(write_file: WriteFile) -> None:
    """MultiPL-E: HumanEval in 18 languages, each row naming its `language`; JavaScript
    tests are not a Python syntax error to debug but a language sml cannot run."""
    path = write_file("humaneval-js.jsonl", jsonl({
        "name": "HumanEval_0_add", "language": "js", "prompt": "function add(a, b){\n",
        "tests": "const assert = require('node:assert');\nassert.deepEqual(add(1, 2), 3);"}))
    error = load_error(path, question="prompt")
    assert_at_line(error, path, 1, "'tests' is not valid Python",
                   "the row's language is 'js'", "Python tests only")


def test_duplicate_ids(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl(
            {"id": "a", "question": "x", "answer": "1"},
            {"id": "b", "question": "y", "answer": "2"},
            {"id": "a", "question": "z", "answer": "3"},
        ),
    )
    assert_at_line(load_error(path), path, 3, "duplicate id 'a'", "line 1", "--field id=COLUMN")


def test_rows_without_an_id_are_named_by_a_column_public_sets_name_them_by(
    write_file: WriteFile,
) -> None:
    """HumanEval's task_id, MATH-500's unique_id, StrategyQA's qid: results and --problem
    then speak of the dataset's own names, not of row numbers."""
    path = write_file("p.jsonl", jsonl(
        {"unique_id": "test/algebra/1.json", "question": "x", "answer": "1"},
        {"qid": "b86777", "question": "y", "answer": "2"},
        {"question": "z", "answer": "3"},
        {"ID": "svamp-4", "task_id": "not this", "question": "w", "answer": "4"}))
    assert [p.id for p in load_problems(str(path))] == [
        "test/algebra/1.json", "b86777", "3", "svamp-4"]
    mapped = load_problems(str(path), FieldMap(columns={"id": "question"}))
    assert [p.id for p in mapped] == ["x", "y", "z", "w"]


def test_a_guessed_id_column_that_repeats_a_value_numbers_the_rows_instead(
    write_file: WriteFile,
) -> None:
    # (A question id shared by rows that ask it with different options, say.)
    path = write_file("p.jsonl", jsonl(*(
        {"question_id": "q1", "question": f"{n}+1?", "answer": str(n + 1)} for n in range(3))))
    assert [p.id for p in load_problems(str(path))] == ["1", "2", "3"]
    mapped = FieldMap(columns={"id": "question_id"})
    with pytest.raises(ProblemFileError, match="duplicate id 'q1'"):
        load_problems(str(path), mapped)


def test_explicit_id_colliding_with_a_default_id(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl({"id": "2", "question": "x", "answer": "1"}, {"question": "y", "answer": "2"}),
    )
    assert_at_line(load_error(path), path, 2, "duplicate id '2'")


def test_csv_ragged_row(write_file: WriteFile) -> None:
    path = write_file("p.csv", "question,answer\nq1,1\nq2,2,3\n")
    assert_at_line(load_error(path), path, 3, "3 columns but the header has 2")


def test_csv_ragged_row_after_multiline_field(write_file: WriteFile) -> None:
    path = write_file("p.csv", 'question,answer\n"multi\nline",1\nx,2,3\n')
    assert_at_line(load_error(path), path, 4, "3 columns")


def test_csv_unclosed_quote(write_file: WriteFile) -> None:
    path = write_file("p.csv", 'question,answer\nq1,1\n"unterminated,1\nq3,3\n')
    assert_at_line(load_error(path), path, 3, "never closed")


def test_csv_stray_quote(write_file: WriteFile) -> None:
    path = write_file("p.csv", 'question,answer\n"a"b,1\n')
    assert_at_line(load_error(path), path, 2, "malformed CSV")


def test_csv_duplicate_header(write_file: WriteFile) -> None:
    path = write_file("p.csv", "question,answer,question\nq,1,r\n")
    assert_at_line(load_error(path), path, 1, "repeats", "'question'")


def test_csv_missing_question_column(write_file: WriteFile) -> None:
    path = write_file("p.csv", "prompt,answer\nq,1\n")
    assert_at_line(load_error(path), path, 2, "no 'question' field", "answer, prompt")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("p.jsonl", ""),
        ("p.csv", ""),
        ("p.jsonl", "\n\n  \n"),
        ("p.csv", "question,answer\n"),
        ("p.json", "[]"),
    ],
)
def test_empty_files(write_file: WriteFile, name: str, content: str) -> None:
    path = write_file(name, content)
    error = load_error(path)
    assert error.line is None
    assert "empty" in str(error) or "no problems" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(UsageError) as info:
        load(path)
    assert str(path) in str(info.value) and "no such" in str(info.value)
    assert info.value.exit_code == 2


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "dir.jsonl"
    path.mkdir()
    assert "directory" in str(load_error(path))


def test_unsupported_extension(write_file: WriteFile) -> None:
    path = write_file("p.txt", "question,answer\n")
    error = load_error(path)
    assert "'.txt'" in str(error) and ".jsonl" in str(error) and ".parquet" in str(error)


def test_not_utf8_names_the_line(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl({"question": "a", "answer": "1"}).encode() + b'{"question": "b", "answer": "\xff"}\n',
    )
    assert_at_line(load_error(path), path, 2, "not UTF-8")


def test_json_array_errors_name_the_line(write_file: WriteFile) -> None:
    path = write_file("p.json", '[\n  {"question": "a", "answer": "1"},\n  5\n]')
    assert_at_line(load_error(path), path, 3, "expected a JSON object, got int")
    path = write_file("p.json", '[\n  {"question": "a", "answer": "1"},\n  {"question": "b"\n]')
    assert load_error(path).line == 4
    path = write_file(
        "p.json", '[\n{"question": "a", "answer": "1"}\n{"question": "b", "answer": "2"}]'
    )
    assert_at_line(load_error(path), path, 3, "invalid JSON")
    path = write_file("p.json", '[{"question": "a", "answer": "1"}] trailing')
    assert_at_line(load_error(path), path, 1, "extra data")


def test_json_array_validation_errors_name_the_line(write_file: WriteFile) -> None:
    path = write_file(
        "p.json", '[\n  {"question": "a", "answer": "1"},\n  {"question": "b",\n   "answer": ""}\n]'
    )
    assert_at_line(load_error(path), path, 3, "'answer' is empty")


# ----------------------------------------------------------------------------- Problem


def test_problem_record_round_trip(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl(
            {
                "question": "q",
                "answer": "A",
                "choices": ["x", "y"],
                "solution": "s",
                "notes": "n",
                "extra": [1, 2],
            }
        ),
    )
    (p,) = load(path)
    again = Problem.from_record(p.to_record())
    assert again == p
    assert again.meta == {"extra": [1, 2]}
    assert again.key == p.key


def test_problem_key_is_a_content_hash() -> None:
    a = Problem(id="1", question="q", answer="1", verifier="numeric", source="x.jsonl")
    b = Problem(id="7", question="q", answer="1", verifier="numeric", source="y.jsonl")
    c = Problem(id="1", question="q", answer="2", verifier="numeric", source="x.jsonl")
    assert a.key == b.key != c.key


def test_private_fields_and_public_question() -> None:
    p = Problem(
        id="1",
        question="Which?",
        answer="A",
        verifier="choice",
        solution="because",
        choices=("x", "y"),
        notes="secret",
    )
    assert p.private_fields == {"answer": "A", "solution": "because", "notes": "secret"}
    public = p.public_question()
    assert "because" not in public and "secret" not in public
    assert public == "Which?\n\nA) x\nB) y"


def test_find_problem() -> None:
    problems = [Problem(id=str(i), question="q", answer="1", verifier="numeric") for i in range(3)]
    assert find_problem(problems, "2").id == "2"
    with pytest.raises(UsageError, match="'9'"):
        find_problem(problems, "9")


def test_choice_index_attempts_never_use_numbers() -> None:
    choices = ("Paris", "London")
    assert choice_index("1", choices) is None
    assert choice_index("1", choices, reference=True) == 1
    assert choice_index("A or B", choices) is None
    assert choice_index("A good guess", ("Apple", "Banana")) is None


# ----------------------------------------------------------------------------- built-in sets


@pytest.mark.parametrize("name", list(BUILTIN_SETS))
def test_builtin_set_loads(name: str) -> None:
    if not builtin_path(name).exists():
        pytest.skip(f"built-in set {name} not written yet")
    problems = load_problems(name)
    assert problems
    assert all(p.source == name for p in problems)
    if name == "arithmetic":
        assert len(problems) >= 200
        assert {p.verifier for p in problems} <= {"numeric", "exact", "math"}
    if name == "python":
        assert {p.verifier for p in problems} == {"python"}


def test_a_folder_of_one_problem_per_file_names_them_by_file(tmp_path: Path) -> None:
    """MATH is published as a folder per subject of one JSON file per problem; MATH-500's
    unique_id names a problem by that file ("test/algebra/1.json"), and so does sml where a
    row carries no id, so that results join. Files of several rows keep numbered rows."""
    for rel, answer in (("algebra/1.json", "2"), ("algebra/10.json", "3"),
                        ("geometry/5.json", "1")):
        file = tmp_path / "MATH" / "test" / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps({"question": f"Solve #{rel}", "answer": answer}))
    problems = load_problems(str(tmp_path / "MATH" / "test"))
    assert [p.id for p in problems] == ["test/algebra/1.json", "test/algebra/10.json",
                                        "test/geometry/5.json"]
    rows = tmp_path / "rows"
    rows.mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        (rows / name).write_text(json.dumps({"question": name, "answer": "1"}) + "\n")
    assert [p.id for p in load_problems(str(rows))] == ["1", "2"]


def test_bytes_literals_written_as_text_are_read_as_their_text(tmp_path: Path) -> None:
    """The Hugging Face copy of DeepMind's mathematics dataset holds every cell as a Python
    bytes literal ("b'15\\n'"): read as the text it holds, so "15" verifies."""
    from sml_cli.verification import check

    path = tmp_path / "dm.jsonl"
    path.write_text(json.dumps({"question": "b'What is 7 + 8?\\n'", "answer": "b'15\\n'"})
                    + "\n" + json.dumps({"question": "b\"Let's see: \\xc3\\xa9?\"",
                                         "answer": "bob's answer"}) + "\n")
    first, second = load_problems(str(path))
    assert (first.question, first.answer, first.verifier) == ("What is 7 + 8?", "15", "numeric")
    assert check(first, "15").correct
    assert second.question == "Let's see: é?" and second.answer == "bob's answer"
