"""Problem files shaped like common public datasets load with flags only (SPEC §2).

Each shape (GSM8K, MATH, MATH-500, MMLU, ARC, AQuA, HumanEval, MBPP) is a few rows written
here, in tmp_path, with text written for these tests. For each we check the loaded Problem
(question, answer, verifier picked by `auto`, private solution, id) and that a right student
attempt verifies and a wrong one does not. Then: answer-pattern presets, `--field NAME=COL`,
dotted column paths, column suggestions in errors, Parquet/CSV variants, and the CLI
(`problems show`, `eval`, `chat`) with exit code 2 for bad flags and bad rows.
"""

from __future__ import annotations

import csv
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sml_cli.cli import app
from sml_cli.errors import ProblemFileError, UsageError
from sml_cli.mapping import FieldMap, parse_where_options
from sml_cli.problems import Problem, load_problems
from sml_cli.verification import check

WriteFile = Callable[[str, "str | bytes"], Path]


# ----------------------------------------------------------------------------- helpers


def jsonl(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text(jsonl(*rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict]) -> Path:
    """Rows as CSV; lists and objects become JSON text in their cell, None an empty cell."""
    header = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: json.dumps(v) if isinstance(v, (list, dict)) else ("" if v is None else v)
                    for k, v in row.items()
                }
            )
    return path


def write_xlsx(path: Path, rows: list[dict], *, leading_blank_rows: int = 0) -> Path:
    """Rows as an Excel sheet, cells as write_csv makes them (numbers stay numbers)."""
    import openpyxl

    header = list(dict.fromkeys(k for r in rows for k in r))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for _ in range(leading_blank_rows):
        sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append([json.dumps(v) if isinstance(v, (list, dict)) else v
                      for v in (row.get(k) for k in header)])
    book.create_sheet("notes").append(["not", "read"])
    book.save(path)
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def field_map(
    question: str = "question",
    answer: str = "answer",
    pattern: str | None = None,
    columns: dict[str, str] | None = None,
) -> FieldMap:
    """A FieldMap; `columns` (the new `--field NAME=COL` mapping) only when there is one, so
    that shapes needing no new mapping exercise what exists today."""
    if columns:
        return FieldMap(question=question, answer=answer, answer_pattern=pattern,
                        columns=dict(columns))  # type: ignore[call-arg]
    return FieldMap(question=question, answer=answer, answer_pattern=pattern)


def load(path: Path, **kwargs: Any) -> list[Problem]:
    return load_problems(str(path), field_map(**kwargs))


def load_error(path: Path, **kwargs: Any) -> ProblemFileError:
    with pytest.raises(ProblemFileError) as info:
        load(path, **kwargs)
    assert info.value.exit_code == 2
    return info.value


def assert_at_line(error: ProblemFileError, path: Path, line: int, *fragments: str,
                   row: str | None = None) -> None:
    """`row`: which row, when several start on the line (a JSON array on one line)."""
    assert error.line == line, str(error)
    where = f"{path}:{line}" + (f" ({row})" if row else "")
    assert str(error).startswith(f"{where}: "), str(error)
    for fragment in fragments:
        assert fragment in str(error), (fragment, str(error))


def correct(problem: Problem, attempt: str) -> bool:
    return check(problem, attempt).correct


def assert_private(problem: Problem, text: str) -> None:
    """`text` is teacher-only: the solution, and nowhere in what the student sees."""
    assert problem.solution == text.strip()
    assert "solution" in problem.private_fields
    assert text.strip() not in problem.public_question()


runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})


def said(output: str, text: str) -> bool:
    """`text` appears in CLI output, however the terminal wrapped it."""
    return text in " ".join(output.split()) or text in output.replace("\n", "")


# ----------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Shape:
    rows: list[dict]
    question: str = "question"
    answer: str = "answer"
    pattern: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.answer, "pattern": self.pattern,
                "columns": self.columns}

    def flags(self) -> list[str]:
        args = []
        if self.question != "question":
            args += ["--question-field", self.question]
        if self.answer != "answer":
            args += ["--answer-field", self.answer]
        if self.pattern is not None:
            args += ["--answer-pattern", self.pattern]
        for name, column in self.columns.items():
            args += ["--field", f"{name}={column}"]
        return args


GSM8K_ROWS = [
    {
        "question": "A bakery packs muffins in boxes of 12. On Monday it fills 85 boxes, and on "
        "Tuesday it fills 17 more boxes than on Monday. How many muffins does it pack on the "
        "two days together?",
        "answer": "On Tuesday it fills 85 + 17 = <<85+17=102>>102 boxes.\n"
        "Over both days it fills 85 + 102 = <<85+102=187>>187 boxes.\n"
        "That is 187 * 12 = <<187*12=2244>>2244 muffins.\n#### 2,244",
    },
    {
        "question": "Priya reads 14 pages every day. How many pages does she read in 3 weeks?",
        "answer": "3 weeks have 3 * 7 = <<3*7=21>>21 days.\n"
        "She reads 21 * 14 = <<21*14=294>>294 pages.\n#### 294",
    },
    {
        "question": "A thermometer reads 6 degrees at noon, and the temperature falls 2.5 degrees "
        "every hour. What does it read 4 hours after noon?",
        "answer": "In 4 hours it falls 4 * 2.5 = <<4*2.5=10>>10 degrees.\n"
        "It reads 6 - 10 = <<6-10=-4>>-4 degrees.\n#### -4",
    },
]

MATH_ROWS = [
    {
        "problem": r"If $4x - 3 = x - \frac{3}{2}$, what is $x$?",
        "solution": r"Subtracting $x$ and adding $3$ on both sides gives "
        r"$3x = 3 - \frac{3}{2} = \frac{3}{2}$, so $x = \boxed{\frac{1}{2}}$.",
        "level": "Level 2",
        "type": "Algebra",
    },
    {
        "problem": r"What is the area of a square whose diagonal has length $4$?",
        "solution": r"A side is $\frac{4}{\sqrt{2}} = 2\sqrt{2}$, so the area is "
        r"$(2\sqrt{2})^2 = \boxed{8}$.",
        "level": "Level 1",
        "type": "Geometry",
    },
    {
        "problem": r"Find the larger root of $x^2 + x - 1 = 0$.",
        "solution": r"A first guess of $\boxed{1}$ fails, since $1 + 1 - 1 \neq 0$. By the "
        r"quadratic formula the roots are $\frac{-1 \pm \sqrt{5}}{2}$, so the larger one is "
        r"$\boxed{\frac{-1+\sqrt{5}}{2}}$.",
        "level": "Level 3",
        "type": "Algebra",
    },
]

MATH500_ROWS = [
    {
        "problem": r"Simplify $\sqrt{50} - \sqrt{8}$.",
        "solution": r"$\sqrt{50} = 5\sqrt{2}$ and $\sqrt{8} = 2\sqrt{2}$, so the difference "
        r"is $\boxed{3\sqrt{2}}$.",
        "answer": r"3\sqrt{2}",
        "subject": "Algebra",
        "level": 2,
        "unique_id": "test/algebra/1042.json",
    },
    {
        "problem": r"What is the remainder when $7^4$ is divided by $5$?",
        "solution": r"$7 \equiv 2 \pmod 5$ and $2^4 = 16 \equiv 1$, so the remainder is "
        r"$\boxed{1}$.",
        "answer": "1",
        "subject": "Number Theory",
        "level": 1,
        "unique_id": "test/number_theory/88.json",
    },
    {
        "problem": "In how many ways can 3 of 5 different books be arranged in a row on a shelf?",
        "solution": r"There are $5 \cdot 4 \cdot 3 = \boxed{60}$ arrangements.",
        "answer": "60",
        "subject": "Counting & Probability",
        "level": 2,
        "unique_id": "test/counting_and_probability/310.json",
    },
]

MMLU_ROWS = [
    {
        "question": "Which gas makes up most of Earth's atmosphere by volume?",
        "subject": "astronomy",
        "choices": ["Oxygen", "Nitrogen", "Argon", "Carbon dioxide"],
        "answer": 1,
    },
    {
        "question": "What is the derivative of x^3 with respect to x?",
        "subject": "college_mathematics",
        "choices": ["3x^2", "x^2", "3x", "x^4/4"],
        "answer": 0,
    },
    {
        "question": "Which of these numbers is prime?",
        "subject": "elementary_mathematics",
        "choices": ["21", "27", "33", "37"],
        "answer": 3,
    },
]

ARC_ROWS = [
    {
        "id": "arc-demo-1",
        "question": "Which tool is best for measuring the mass of a rock?",
        "choices": {"label": ["A", "B", "C", "D"],
                    "text": ["ruler", "balance", "thermometer", "graduated cylinder"]},
        "answerKey": "B",
    },
    {
        "id": "arc-demo-2",
        "question": "Which process turns the liquid water of a puddle into water vapor?",
        "choices": {"label": ["1", "2", "3", "4"],
                    "text": ["evaporation", "condensation", "freezing", "melting"]},
        "answerKey": "1",
    },
    {
        "id": "arc-demo-3",
        "question": "What do green plants take in from the air to make their food?",
        "choices": {"label": ["1", "2", "3", "4"],
                    "text": ["oxygen", "nitrogen", "water vapor", "carbon dioxide"]},
        "answerKey": "4",
    },
    {
        "id": "arc-demo-4",
        "question": "Which unit measures electric current?",
        "choices": {"label": ["A", "B", "C", "D", "E"],
                    "text": ["volt", "ohm", "watt", "joule", "ampere"]},
        "answerKey": "E",
    },
    {
        "id": "arc-demo-5",
        "question": "Which of these animals is a mammal?",
        "choices": {"label": ["1", "2", "3"], "text": ["salmon", "dolphin", "sparrow"]},
        "answerKey": "2",
    },
]

AQUA_ROWS = [
    {
        "question": "A shop sells pens at 3 for $4. How much do 12 pens cost?",
        "options": ["A)12", "B)16", "C)18", "D)20", "E)24"],
        "rationale": "12 pens are 4 groups of 3 pens.\nEach group costs $4, so 4 x 4 = 16.\n"
        "ANSWER: B",
        "correct": "B",
    },
    {
        "question": "A train covers 150 km in 2.5 hours. What is its average speed in km/h?",
        "options": ["A)50", "B)55", "C)60", "D)65", "E)75"],
        "rationale": "Speed is distance over time: 150 / 2.5 = 60 km/h.\nANSWER: C",
        "correct": "C",
    },
]

COUNT_VOWELS_PROMPT = (
    "def count_vowels(text: str) -> int:\n"
    '    """Return how many characters of text are vowels (a, e, i, o, u, in either case).\n'
    "\n"
    '    >>> count_vowels("Banana")\n'
    "    3\n"
    '    """\n'
)
RUNNING_MAX_PROMPT = (
    "def running_max(numbers: list[int]) -> list[int]:\n"
    '    """Return the list of running maxima of numbers.\n'
    "\n"
    "    >>> running_max([1, 3, 2, 5])\n"
    "    [1, 3, 3, 5]\n"
    '    """\n'
)
HUMANEVAL_ROWS = [
    {
        "task_id": "Demo/0",
        "prompt": COUNT_VOWELS_PROMPT,
        "canonical_solution": '    return sum(1 for ch in text.lower() if ch in "aeiou")\n',
        "test": "\n\nMETADATA = {'author': 'sml-tests', 'dataset': 'demo'}\n\n\n"
        "def check(candidate):\n"
        '    assert candidate("Banana") == 3\n'
        '    assert candidate("") == 0\n'
        '    assert candidate("AEIOU xyz") == 5\n',
        "entry_point": "count_vowels",
    },
    {
        "task_id": "Demo/1",
        "prompt": RUNNING_MAX_PROMPT,
        "canonical_solution": "    result = []\n"
        "    for n in numbers:\n"
        "        result.append(n if not result else max(result[-1], n))\n"
        "    return result\n",
        "test": "\n\ndef check(candidate):\n"
        "    assert candidate([1, 3, 2, 5]) == [1, 3, 3, 5]\n"
        "    assert candidate([]) == []\n"
        "    assert candidate([-2, -5]) == [-2, -2]\n",
        "entry_point": "running_max",
    },
]
HUMANEVAL_WRONG = {
    "Demo/0": COUNT_VOWELS_PROMPT + "    return len(text)\n",
    "Demo/1": RUNNING_MAX_PROMPT + "    return sorted(numbers)\n",
}

MBPP_ROWS = [
    {
        "task_id": 601,
        "text": "Write a function to return the second largest distinct number in a list, or "
        "None when there is no such number.",
        "code": "def second_largest(nums):\n"
        "    values = sorted(set(nums))\n"
        "    return values[-2] if len(values) > 1 else None\n",
        "test_list": [
            "assert second_largest([4, 1, 7, 7, 3]) == 4",
            "assert second_largest([5, 5]) is None",
            "assert second_largest([-1, -8]) == -8",
        ],
        "test_setup_code": "",
    },
    {
        "task_id": 602,
        "text": "Write a function to compute the hypotenuse of a right triangle with legs a and b.",
        "code": "def hypotenuse(a, b):\n    return (a * a + b * b) ** 0.5\n",
        "test_list": [
            "assert math.isclose(hypotenuse(3, 4), 5.0)",
            "assert math.isclose(hypotenuse(1, 1), math.sqrt(2))",
        ],
        "test_setup_code": "import math",
    },
]
MBPP_WRONG = {
    "601": "def second_largest(nums):\n    return max(nums)\n",
    "602": "def hypotenuse(a, b):\n    return a + b\n",
}

SHAPES: dict[str, Shape] = {
    "gsm8k": Shape(GSM8K_ROWS, pattern="gsm8k"),
    "math": Shape(MATH_ROWS, question="problem", answer="solution", pattern="boxed"),
    "math500": Shape(MATH500_ROWS, question="problem", columns={"id": "unique_id"}),
    "mmlu": Shape(MMLU_ROWS),
    "arc": Shape(ARC_ROWS, answer="answerKey"),
    "aqua": Shape(AQUA_ROWS, answer="correct",
                  columns={"choices": "options", "solution": "rationale"}),
    "humaneval": Shape(HUMANEVAL_ROWS, question="prompt",
                       columns={"tests": "test", "id": "task_id"}),
    "mbpp": Shape(MBPP_ROWS, question="text", columns={"tests": "test_list", "id": "task_id"}),
}


def load_shape(tmp_path: Path, name: str, suffix: str = ".jsonl") -> list[Problem]:
    shape = SHAPES[name]
    path = tmp_path / f"{name}{suffix}"
    writer = {".jsonl": write_jsonl, ".csv": write_csv, ".parquet": write_parquet,
              ".xlsx": write_xlsx}[suffix]
    writer(path, shape.rows)
    return load(path, **shape.fields())


# ----------------------------------------------------------------------------- GSM8K


def test_gsm8k_preset_takes_the_text_after_the_hashes(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "gsm8k")
    assert [p.id for p in problems] == ["1", "2", "3"]
    assert [p.answer for p in problems] == ["2,244", "294", "-4"]
    assert {p.verifier for p in problems} == {"numeric"}
    for p, row in zip(problems, GSM8K_ROWS, strict=True):
        assert p.question == row["question"]
        assert_private(p, row["answer"])  # the worked answer becomes the teacher-only solution
    muffins, pages, temperature = problems
    assert correct(muffins, "2244") and correct(muffins, "2,244")
    assert not correct(muffins, "2424")
    assert correct(pages, "294") and not correct(pages, "21")
    assert correct(temperature, "-4") and not correct(temperature, "4")


def test_gsm8k_preset_with_an_explicit_solution_column(write_file: WriteFile) -> None:
    row = {"question": "How many?", "answer": "work\n#### 12", "explanation": "Because 3 * 4."}
    path = write_file("p.jsonl", jsonl(row))
    (p,) = load(path, pattern="gsm8k", columns={"solution": "explanation"})
    assert p.answer == "12"
    assert p.solution == "Because 3 * 4."  # a mapped solution column wins over the full answer


def test_gsm8k_preset_without_hashes_names_the_line(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl({"question": "a", "answer": "x\n#### 1"}, {"question": "b", "answer": "no mark"}),
    )
    assert_at_line(load_error(path, pattern="gsm8k"), path, 2, "--answer-pattern")


@pytest.mark.parametrize(("answer", "fix"), [
    ("48/2 = <<48/2=24>>24 in May.\n48+24 = <<48+24=72>>72 in all.\n#### 72", "gsm8k"),
    ("Half of 48 is 24.\nSo $\\boxed{72}$.", "boxed"),
    ("First 24.\nThen, in all:\n72", "last-line"),
    # MetaMathQA: every response ends "The answer is: X" (its GSM8K rows after "#### X" too)
    ("Half of 48 is 24.\n48 + 24 = 72.\nThe answer is: 72", "answer-is"),
    ("48/2 = 24 in May.\n#### 72\nThe answer is: 72", "answer-is"),
])
def test_a_worked_solution_as_the_answer_is_refused_with_the_pattern_that_fixes_it(
        write_file: WriteFile, answer: str, fix: str) -> None:
    """GSM8K loaded as published (no --answer-pattern) has worked solutions for answers: no
    one-line attempt could ever match one, so every session would fail. An error, naming the
    preset that extracts the answer, instead of a run that scores 0 everywhere."""
    path = write_file("gsm8k.jsonl", jsonl({"question": "Clips sold in April and May?",
                                            "answer": "72"},
                                           {"question": "Clips sold?", "answer": answer}))
    error = load_error(path)
    assert_at_line(error, path, 2, f"{answer.count(chr(10)) + 1} lines",
                   f"--answer-pattern {fix}")
    alone = write_file("one.jsonl", jsonl({"question": "Clips sold?", "answer": answer}))
    (p,) = load(alone, pattern=fix)
    assert p.answer == "72" and p.solution == answer
    # …and so is a pattern that still leaves several lines.
    error = load_error(alone, pattern=r"(?s)(.*)")
    assert_at_line(error, alone, 1, "extracted an answer of")


def test_multi_line_answers_are_fine_where_an_attempt_is_not_one_line(
        write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl(
        {"question": "Pattern?", "answer": "a+\nb+", "verifier": "regex"},
        {"question": "Write f.", "tests": "assert f() == 1\nassert f() != 2"}))
    regex, code = load(path)
    assert (regex.verifier, code.verifier) == ("regex", "python")


# ----------------------------------------------------------------------------- other presets


@pytest.mark.parametrize(
    ("text", "right", "wrong"),
    [
        ("She has 45 - 17 = 28 marbles left.", "28", "17"),
        ("Each share is 25 / 2 = 12.5 dollars.", "12.5", "2"),
        ("The temperature ends at 6 - 10 = -4 degrees.", "-4", "4"),
        ("Together they have 1,000 + 234 = 1,234 apples", "1234", "234"),
        ("Step 1: 3 + 4 = 7\nStep 2: 7 * 6 = 42\n\n", "42", "6"),
    ],
)
def test_last_number_preset(write_file: WriteFile, text: str, right: str, wrong: str) -> None:
    path = write_file("p.jsonl", jsonl({"question": "q", "answer": text}))
    (p,) = load(path, pattern="last-number")
    assert p.verifier == "numeric"
    assert p.solution == text.strip()
    assert correct(p, right), (p.answer, right)
    assert not correct(p, wrong), (p.answer, wrong)


def test_last_number_preset_without_a_number_names_the_line(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl({"question": "a", "answer": "it is 3"}, {"question": "b", "answer": "none here"}),
    )
    assert_at_line(load_error(path, pattern="last-number"), path, 2, "--answer-pattern")


@pytest.mark.parametrize(("text", "answer"), [
    ("So the distance is $\\sqrt{5}$.\nThe answer is: \\sqrt{5}", "\\sqrt{5}"),
    ("Each share is 12.5.\nThe answer is 12.5.", "12.5"),
    ("Thus x = 3.\nThe final answer is $\\boxed{3}$. I hope it is correct.", "3"),
    ("A: Let's think step by step. Only B fits. The answer is (B).", "(B)"),
    ("The answer is 2. Checking: 2 + 2 = 4.\nSo the answer is: 4", "4"),
])
def test_answer_is_preset(write_file: WriteFile, text: str, answer: str) -> None:
    """Chain-of-thought sets (MetaMathQA's `response`, MMLU-Pro's CoT, Minerva-style
    "The final answer is $X$. I hope it is correct.") end with the answer after "The answer
    is"; `last-number` would take 5 from \\sqrt{5}, and `last-line` the whole sentence."""
    path = write_file("p.jsonl", jsonl({"question": "q", "answer": text}))
    (p,) = load(path, pattern="answer-is")
    assert p.answer == answer and p.solution == text.strip()
    last = text.split("\n")[-1]
    if last.startswith("The "):  # a last line that is "The answer is X": X, for last-line too
        (p,) = load(write_file("one.jsonl", jsonl({"question": "q", "answer": f"…\n{last}"})),
                    pattern="last-line")
        assert p.answer == answer


def test_a_response_column_ending_with_the_answer_is_suggested_with_its_pattern(
        write_file: WriteFile) -> None:
    path = write_file("metamath.jsonl", jsonl(
        {"query": "Half of 48, plus 48?", "type": "GSM_AnsAug",
         "response": "Half of 48 is 24.\n48 + 24 = 72.\nThe answer is: 72"}))
    error = load_error(path)
    assert "--question-field query --answer-field response --answer-pattern answer-is" in str(
        error), str(error)
    (p,) = load(path, question="query", answer="response", pattern="answer-is")
    assert (p.answer, p.verifier) == ("72", "numeric")


def test_last_line_preset(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl(
            {"question": "Capital of France?",
             "answer": "It is the largest French city.\nIt is on the Seine.\n\n   Paris  \n\n"},
            {"question": "Solve 2x = 6.", "answer": "Divide both sides by 2:\nx = 3"},
            {"question": "Clips in all?", "answer": "48 + 24 = 72\n#### 72"},
        ),
    )
    city, x, clips = load(path, pattern="last-line")
    assert clips.answer == "72" and clips.verifier == "numeric"  # GSM8K's marker dropped
    assert city.answer == "Paris" and city.verifier == "exact"
    assert city.solution is not None and "Seine" in city.solution
    assert correct(city, "paris") and not correct(city, "Lyon")
    assert x.answer == "x = 3"


def test_regex_patterns_still_work_next_to_presets(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "q", "answer": "Result: [17] done"}))
    (p,) = load(path, pattern=r"\[(\d+)\]")
    assert p.answer == "17"


# ----------------------------------------------------------------------------- MATH


def test_math_boxed_answers(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "math")
    half, area, root = problems
    assert half.answer == r"\frac{1}{2}"  # nested braces inside \boxed{…}
    assert area.answer == "8"
    assert root.answer == r"\frac{-1+\sqrt{5}}{2}"  # the last \boxed, not the first
    assert half.verifier in ("numeric", "math")
    assert area.verifier == "numeric" and root.verifier == "math"
    for p, row in zip(problems, MATH_ROWS, strict=True):
        assert p.question == row["problem"]
        assert_private(p, row["solution"])
        assert p.meta["level"] == row["level"] and p.meta["type"] == row["type"]
    assert correct(half, "0.5") and correct(half, "1/2") and correct(half, r"\frac{1}{2}")
    assert not correct(half, r"\frac{1}{3}")
    assert correct(root, r"\frac{\sqrt{5}-1}{2}")
    assert not correct(root, r"\frac{1+\sqrt{5}}{2}")


def test_math500_answer_column_and_unique_id(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "math500")
    assert [p.id for p in problems] == [r["unique_id"] for r in MATH500_ROWS]
    assert [p.answer for p in problems] == [r"3\sqrt{2}", "1", "60"]
    assert [p.verifier for p in problems] == ["math", "numeric", "numeric"]
    for p, row in zip(problems, MATH500_ROWS, strict=True):
        assert p.question == row["problem"]
        assert_private(p, row["solution"])
    surd, _, books = problems
    assert correct(surd, r"\sqrt{18}") and not correct(surd, r"2\sqrt{3}")
    assert correct(books, "60") and not correct(books, "120")


# ----------------------------------------------------------------------------- choices


def test_mmlu_integer_answer_is_a_zero_based_index(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "mmlu")
    assert [p.answer for p in problems] == ["B", "A", "D"]
    assert {p.verifier for p in problems} == {"choice"}
    gas, _, prime = problems
    assert gas.choices == ("Oxygen", "Nitrogen", "Argon", "Carbon dioxide")
    assert gas.public_question().endswith("A) Oxygen\nB) Nitrogen\nC) Argon\nD) Carbon dioxide")
    assert correct(gas, "B") and correct(gas, "Nitrogen") and not correct(gas, "A")
    assert correct(prime, "D") and not correct(prime, "C")


def test_arc_label_text_choices_and_answer_key(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "arc")
    assert [p.id for p in problems] == [r["id"] for r in ARC_ROWS]
    assert {p.verifier for p in problems} == {"choice"}
    for p, row in zip(problems, ARC_ROWS, strict=True):
        assert p.choices == tuple(row["choices"]["text"])
    # Numeric labels are labels: "1" is the first option, "4" the fourth, "2" the second.
    assert [p.answer for p in problems] == ["B", "A", "D", "E", "B"]
    tool, puddle, plants, current, mammal = problems
    assert correct(tool, "B") and not correct(tool, "A")
    assert correct(puddle, "A") and correct(puddle, "evaporation")
    assert not correct(puddle, "B") and not correct(puddle, "condensation")
    assert correct(plants, "D") and correct(plants, "carbon dioxide") and not correct(plants, "C")
    assert correct(current, "E") and not correct(current, "D")
    assert correct(mammal, "B") and correct(mammal, "dolphin") and not correct(mammal, "C")


def test_numeric_labels_versus_plain_list_index(write_file: WriteFile) -> None:
    """The same "1": with labels 1..4 it is the first option, with a plain list index 1."""
    options = ["north", "south", "east", "west"]
    path = write_file(
        "p.jsonl",
        jsonl(
            {"id": "labels", "question": "Which way?", "answer": "1",
             "choices": {"label": ["1", "2", "3", "4"], "text": options}},
            {"id": "plain", "question": "Which way?", "answer": 1, "choices": options},
        ),
    )
    labelled, plain = load(path)
    assert labelled.answer == "A"
    assert plain.answer == "B"


def test_arc_answer_key_that_is_no_label_names_the_line(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl(
            ARC_ROWS[1],
            {"id": "bad", "question": "Pick", "answerKey": "7",
             "choices": {"label": ["1", "2", "3"], "text": ["a", "b", "c"]}},
        ),
    )
    assert_at_line(load_error(path, answer="answerKey"), path, 2, "'7'")


def test_aqua_options_correct_and_rationale(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "aqua")
    assert [p.answer for p in problems] == ["B", "C"]
    assert {p.verifier for p in problems} == {"choice"}
    for p, row in zip(problems, AQUA_ROWS, strict=True):
        assert p.question == row["question"]
        assert p.choices is not None and len(p.choices) == 5
        assert all(c.endswith(o[2:]) for c, o in zip(p.choices, row["options"], strict=True))
        assert_private(p, row["rationale"])
    pens, train = problems
    assert correct(pens, "B") and not correct(pens, "C")
    assert correct(train, "C") and not correct(train, "E")


def test_commonsenseqa_list_of_label_text_options_under_a_nested_question(
        write_file: WriteFile) -> None:
    """CommonsenseQA nests the stem and a list of {label, text} options under `question`."""
    options = [{"label": "A", "text": "bank"}, {"label": "B", "text": "library"},
               {"label": "C", "text": "harbour"}]
    path = write_file("csqa.jsonl", jsonl(
        {"id": "c1", "answerKey": "C",
         "question": {"stem": "Where are boats tied up for the night?", "choices": options}}))
    (p,) = load(path, question="question.stem", answer="answerKey",
                columns={"choices": "question.choices"})
    assert p.verifier == "choice" and p.answer == "C"
    assert p.choices == ("bank", "library", "harbour")
    assert p.question == "Where are boats tied up for the night?"
    assert correct(p, "C") and correct(p, "harbour") and not correct(p, "A")


def test_numeric_option_labels_in_a_list_of_objects(write_file: WriteFile) -> None:
    options = [{"label": "1", "text": "red"}, {"label": "2", "text": "green"}]
    path = write_file("p.jsonl", jsonl({"question": "Go?", "answer": "2", "choices": options}))
    (p,) = load(path)
    assert p.answer == "B" and correct(p, "green") and not correct(p, "red")


def test_mathqa_options_in_one_string(write_file: WriteFile) -> None:
    """MathQA writes every option into one text: "a ) rs . 400 , b ) rs . 300 , …"."""
    path = write_file("mathqa.json", json.dumps([
        {"Problem": "the present worth of rs . 36 gain ?", "correct": "b",
         "options": "a ) rs . 400 , b ) rs . 300 , c ) rs . 500 , d ) 350 , e ) none of these",
         "Rationale": "explanation : pw = 300 answer : option b"},
        {"Problem": "pick", "correct": "A", "options": "(A) 5 (B) 6 (C) 7", "Rationale": ""},
    ]))
    shop, pick = load(path, question="Problem", answer="correct",
                      columns={"choices": "options", "solution": "Rationale"})
    assert shop.choices == ("rs . 400", "rs . 300", "rs . 500", "350", "none of these")
    assert shop.answer == "B" and correct(shop, "b") and correct(shop, "rs . 300")
    assert not correct(shop, "a")
    assert_private(shop, "explanation : pw = 300 answer : option b")
    assert pick.choices == ("5", "6", "7") and correct(pick, "(A)") and not correct(pick, "6")
    # Left unmapped, the letter answer points into the options: an error, not a text answer.
    error = load_error(path, question="Problem", answer="correct")
    assert_at_line(error, path, 1, "--field choices=options", row="item 1")


def test_reclor_options_under_answers_are_not_left_unmapped(write_file: WriteFile) -> None:
    """ReClor keeps its four options in `answers` and the right one's index in `label`.
    `--answer-field label` alone loaded as a numeric problem whose answer is "1" (a student
    naming option B was wrong): the index into `answers` is pointed at, as for `options`.
    An `answers` list of accepted answers (the answer among them) is no such column."""
    path = write_file("reclor_val.json", json.dumps([
        {"context": "All swans seen so far are white.", "question": "Which is supported?",
         "answers": ["All swans are white.", "Some swans seen were white.", "No swan is black.",
                     "Swans are birds."], "label": 1, "id_string": "val_0"}], indent=1))
    error = load_error(path, answer="label")
    assert_at_line(error, path, 2, "--field choices=answers")
    assert "all together, its first rows load with: --answer-field label --field " \
        "choices=answers" in str(load_error(path)), str(load_error(path))
    (p,) = load(path, answer="label", columns={"choices": "answers"})
    assert (p.verifier, p.answer) == ("choice", "B") and correct(p, "B")
    aliases = write_file("nq.jsonl", jsonl({"question": "How many legs has a spider?",
                                            "answer": "8", "answers": ["8", "eight"]}))
    assert [p.answer for p in load(aliases)] == ["8"]


@pytest.mark.parametrize("text", [
    "A list of things, but b) is not a labelled option",  # first label not at the start
    "a) one c) three",  # letters out of order
    "a) lone option",  # one option is no list
    "a) b) c)",  # labels without option text
])
def test_text_that_is_not_a_list_of_options_is_refused(write_file: WriteFile, text: str) -> None:
    path = write_file("p.jsonl", jsonl({"question": "Q?", "answer": "A", "choices": text}))
    assert_at_line(load_error(path), path, 1, "'choices' must be a list")


def test_bigbench_target_scores_are_options_whose_top_score_is_the_answer(
        write_file: WriteFile) -> None:
    """BIG-bench's JSON tasks: rows under "examples", multiple choice as {option: score}. The
    unmapped column is pointed at; mapped, the top-scored option is the answer; a tie at the
    top names no answer (an error), and letter keys are labels, not scored texts."""
    path = write_file("task.json", json.dumps({"name": "t", "examples": [
        {"input": "Which bird is leftmost?",
         "target_scores": {"The robin.": 0, "The crow.": 1, "The jay.": 0}},
        {"input": "Which is heavier?", "target_scores": {"A feather": 0.0, "A brick": 1.0}},
    ]}))
    error = load_error(path, question="input")
    assert_at_line(error, path, 1, "--field choices=target_scores", row="item 1")
    crow, brick = load(path, question="input", columns={"choices": "target_scores"})
    assert crow.choices == ("The robin.", "The crow.", "The jay.") and crow.answer == "B"
    assert crow.verifier == "choice" and correct(crow, "B") and correct(crow, "The crow.")
    assert not correct(crow, "A") and brick.answer == "B"
    tied = write_file("tied.json", json.dumps({"examples": [
        {"input": "Pick.", "target_scores": {"one": 1, "two": 1}}]}))
    load_error(tied, question="input", columns={"choices": "target_scores"})
    lettered = write_file("lettered.jsonl", jsonl(
        {"question": "Which number?", "answer": "B", "choices": {"A": 5, "B": 6}}))
    (p,) = load(lettered)
    assert p.choices == ("5", "6") and p.answer == "B"


def test_index_base_one_for_winogrande_and_socialiqa(write_file: WriteFile) -> None:
    """Winogrande's answer "1" names option1, PIQA's label 1 names sol2: --index-base says
    which counting a file uses (0 by default, as MMLU); a file's own labels still win."""
    wino = write_file("wino.jsonl", jsonl(
        {"sentence": "Sarah out-operated Maria, so _ got the harder cases.", "option1": "Sarah",
         "option2": "Maria", "answer": "1"},
        {"sentence": "The cup fell on the rug, so _ was wet.", "option1": "cup",
         "option2": "rug", "answer": "2"}))
    columns = {"choices": "option1,option2"}
    first, second = load_problems(str(wino), FieldMap(question="sentence", columns=columns,
                                                      index_base=1))
    assert (first.answer, second.answer) == ("A", "B")
    assert correct(first, "Sarah") and not correct(first, "Maria")
    # Counted from 0 (the default), "2" is out of range: an error naming the flag.
    assert_at_line(load_error(wino, question="sentence", columns=columns), wino, 2,
                   "0-based index (--index-base)")
    # Through the CLI, and with labels (ARC's "1".."4"), which need no base at all.
    result = invoke("problems", "show", str(wino), "--question-field", "sentence",
                    "--field", "choices=option1,option2", "--index-base", "1")
    assert result.exit_code == 0, result.output
    arc = write_file("arc.jsonl", jsonl({"question": "Which way?", "answerKey": "1", "choices": {
        "label": ["1", "2"], "text": ["north", "south"]}}))
    (p,) = load_problems(str(arc), FieldMap(answer="answerKey", index_base=1))
    assert p.answer == "A"


def test_a_list_of_numbers_is_one_answer_not_alternatives(write_file: WriteFile) -> None:
    """TheoremQA's "list of integer" answers: [2, 3] is the answer, not "2 or 3"; a list of
    texts stays a list of alternatives (NQ-open)."""
    path = write_file("theoremqa.json", json.dumps([
        {"Question": "Eigenvalues of diag(2, 3)?", "Answer": [2, 3]},
        {"Question": "Is x^2 convex?", "Answer": True},
        {"Question": "Capital of France?", "Answer": ["Paris", "paris, France"]},
    ]))
    eigen, convex, capital = load(path)
    assert eigen.answer == "[2, 3]" and eigen.aliases == () and eigen.verifier == "math"
    assert correct(eigen, "[2, 3]") and correct(eigen, "2, 3")
    assert not correct(eigen, "2") and not correct(eigen, "3") and not correct(eigen, "2, 4")
    assert convex.answer == "true" and convex.verifier == "exact"
    assert correct(convex, "Yes") and correct(convex, "true") and not correct(convex, "no")
    assert capital.answers == ("Paris", "paris, France") and correct(capital, "Paris")


# ----------------------------------------------------------------------------- code


def test_humaneval_appends_the_check_call(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "humaneval")
    assert [p.id for p in problems] == ["Demo/0", "Demo/1"]
    for p, row in zip(problems, HUMANEVAL_ROWS, strict=True):
        assert p.verifier == "python"
        assert p.answer is None  # no answer column needed when there are tests
        assert p.question == row["prompt"].strip()
        assert p.tests is not None and "def check(candidate):" in p.tests
        assert f"check({row['entry_point']})" in p.tests
        assert "tests" in p.private_fields and "assert" not in p.public_question()
        # Prompt + canonical body is a correct program; without the appended call it would
        # run no check at all, and the verdict would be "incorrect".
        right = check(p, row["prompt"] + row["canonical_solution"])
        assert right.correct, right.summary
        wrong = check(p, HUMANEVAL_WRONG[p.id])
        assert not wrong.correct, wrong.summary


def test_humaneval_without_its_tests_mapped_is_pointed_at_them(tmp_path: Path) -> None:
    """No answer column, but a `test` column: the hint is the tests, not the reference
    solution (which, as an answer, would make a code problem a text-matching one)."""
    path = write_jsonl(tmp_path / "he.jsonl", HUMANEVAL_ROWS)
    error = load_error(path, question="prompt")
    assert_at_line(error, path, 1, "--field tests=test", "no answer is needed")
    assert "--answer-field canonical_solution" not in str(error)


def test_bigcodebench_unittest_cases(write_file: WriteFile) -> None:
    """BigCodeBench: the instruction in `instruct_prompt`, tests as a unittest.TestCase
    class; both mappings are suggested at once, and the cases run method by method."""
    row = {"task_id": "BigCodeBench/7", "entry_point": "task_func",
           "complete_prompt": "import math\ndef task_func(n):\n    \"\"\"Square root.\"\"\"\n",
           "instruct_prompt": "Write task_func(n): the square root of n, to 2 decimals.",
           "test": "import unittest\nclass TestCases(unittest.TestCase):\n"
                   "    def test_four(self):\n        self.assertEqual(task_func(4), 2.0)\n"
                   "    def test_two(self):\n        self.assertAlmostEqual(task_func(2), 1.41)\n"}
    path = write_file("bcb.jsonl", jsonl(row))
    assert str(load_error(path)).endswith(
        "load with: --question-field instruct_prompt --field tests=test")
    (p,) = load(path, question="instruct_prompt", columns={"tests": "test"})
    assert p.verifier == "python" and "unittest" not in p.public_question()
    right = check(p, "import math\ndef task_func(n):\n    return round(math.sqrt(n), 2)\n")
    assert right.correct and right.summary == "correct: all 2 tests passed"
    wrong = check(p, "def task_func(n):\n    return n / 2\n")
    assert not wrong.correct and "TestCases.test_two" in wrong.summary


def test_humaneval_wrong_function_name_fails(tmp_path: Path) -> None:
    vowels, _ = load_shape(tmp_path, "humaneval")
    body = HUMANEVAL_ROWS[0]["canonical_solution"]
    assert correct(vowels, "def count_vowels(text):\n" + body)
    assert not correct(vowels, "def vowels(text):\n" + body)  # check(count_vowels) fails


def test_humaneval_mapped_entry_point_column(write_file: WriteFile) -> None:
    row = dict(HUMANEVAL_ROWS[0])
    row["fn"] = row.pop("entry_point")
    path = write_file("he.jsonl", jsonl(row))
    (p,) = load(path, question="prompt",
                columns={"tests": "test", "id": "task_id", "entry_point": "fn"})
    assert p.tests is not None and "check(count_vowels)" in p.tests
    assert correct(p, row["prompt"] + row["canonical_solution"])
    assert not correct(p, HUMANEVAL_WRONG["Demo/0"])


def test_mbpp_test_list_and_setup_code(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "mbpp")
    assert [p.id for p in problems] == ["601", "602"]
    second, hypot = problems
    for p, row in zip(problems, MBPP_ROWS, strict=True):
        assert p.question == row["text"]
        assert p.verifier == "python" and p.answer is None
    assert second.tests == "\n".join(MBPP_ROWS[0]["test_list"])  # empty setup adds nothing
    assert hypot.tests is not None
    lines = [line.strip() for line in hypot.tests.splitlines() if line.strip()]
    assert lines == ["import math", *MBPP_ROWS[1]["test_list"]]  # setup code comes first
    for p, row in zip(problems, MBPP_ROWS, strict=True):
        right = check(p, row["code"])  # needs `import math` from the setup code for 602
        assert right.correct, right.summary
        assert not correct(p, MBPP_WRONG[p.id])


# MBPP (sanitized): the prompt says what to do, only the tests say what to call it.
MBPP_SANITIZED = [
    {"task_id": 2, "prompt": "Write a function to find the shared elements from the given "
     "two lists.", "test_imports": [], "test_list": [
         "assert set(similar_elements((3, 4, 5, 6), (5, 7, 4, 10))) == set((4, 5))",
         "assert set(similar_elements((1, 2, 3, 4), (5, 4, 3, 7))) == set((3, 4))"]},
    {"task_id": 3, "prompt": "Write a python function to identify non-prime numbers.",
     "test_imports": ["import math"], "test_list": ["assert is_not_prime(2) == False",
                                                    "assert is_not_prime(10) == True"]},
    {"task_id": 4, "prompt": "Write a function double(n) that returns twice n.",
     "test_imports": [], "test_list": ["assert double(2) == 4"]},
]


def test_a_function_the_question_never_names_is_noted(write_file: WriteFile) -> None:
    """A student told to "find the shared elements" cannot guess that the tests call
    similar_elements: every attempt fails. The note counts such problems, names the first,
    and gives the option that shows the first test with the question."""
    from sml_cli.problems import loading_notes

    path = write_file("mbpp.jsonl", jsonl(*MBPP_SANITIZED))
    fields = field_map(question="prompt", columns={"tests": "test_list"})
    problems = load_problems(str(path), fields)
    assert loading_notes(problems, fields) == [
        "the tests of 2 of 3 code problems call a function the question never names (the "
        "first, problem '2', calls similar_elements), so the student cannot know what to call "
        "it: show the first test with the question: --question-field prompt,test_list.0"]
    shown = field_map(question="prompt,test_list.0", columns={"tests": "test_list"})
    with_test = load_problems(str(path), shown)
    assert "similar_elements((3, 4, 5, 6)" in with_test[0].question
    assert loading_notes(with_test, shown) == []
    result = invoke("eval", "--problems", str(path), "--question-field", "prompt", "--field",
                    "tests=test_list", "--dry-run")
    assert result.exit_code == 0 and said(result.stderr, "--question-field prompt,test_list.0")
    # Rows whose guessed ids repeat are numbered: the suggestion is tried all the same.
    twice = write_file("mbpp2.jsonl", jsonl(*MBPP_SANITIZED, {**MBPP_SANITIZED[0],
                                                              "prompt": "Find shared ones."}))
    notes = loading_notes(load_problems(str(twice), fields), fields)
    assert notes[0].endswith("--question-field prompt,test_list.0")


def test_mbpp_plus_tests_the_fuller_column_unless_it_cannot_run(
        write_file: WriteFile) -> None:
    """MBPP+ keeps MBPP's asserts in `test_list` and its many more cases in `test`: the
    suggestion maps the fuller one, unless its tests import a module the Python running
    them lacks (MBPP+'s numpy, where sml's environment has none): then every attempt would
    fail, so `test_list` is mapped, and the hint and a note say why."""
    from sml_cli.problems import loading_notes

    plus = ("inputs = [[(3, 4, 5, 6), (5, 7, 4, 10)], [(1, 2, 3, 4), (5, 4, 3, 7)]]\n"
            "results = [(4, 5), (3, 4)]\nfor inp, exp in zip(inputs, results):\n"
            "    assertion(similar_elements(*inp), exp)\n")
    helper = "def assertion(out, exp):\n    assert set(out) == set(exp)\n\n"
    row = {**MBPP_SANITIZED[0], "test": helper + plus}
    runnable = write_file("mbppplus.jsonl", jsonl(row))
    assert str(load_error(runnable)).endswith(
        "load with: --question-field prompt --field tests=test")
    error = load_error(runnable, question="prompt")
    assert "--field tests=test, and no answer is needed; 'test_list' holds fewer)" in str(error)

    lacking = write_file("mbppplus_np.jsonl", jsonl(
        {**row, "test": "import sml_no_such_module as np\n" + helper + plus}))
    assert str(load_error(lacking)).endswith(
        "load with: --question-field prompt --field tests=test_list")
    error = load_error(lacking, question="prompt")
    assert ("'test' holds more, but imports sml_no_such_module, which the Python that runs "
            "the tests does not have)") in str(error)
    fields = field_map(question="prompt", columns={"tests": "test_list"})
    notes = loading_notes(load_problems(str(lacking), fields), fields)
    assert notes[0] == (
        "column 'test' holds fuller tests than 'test_list', but they import "
        "sml_no_such_module, which the Python that runs the tests does not have: to use them, "
        "install it where sml runs and map them with --field tests=test")
    # Mapped anyway: every attempt fails, and the note says so. The function note still
    # shows the first base test (the mapped `test` is one text, not a list).
    fields = field_map(question="prompt", columns={"tests": "test"})
    notes = loading_notes(load_problems(str(lacking), fields), fields)
    assert notes[0].startswith(
        "the tests of 1 of 1 code problems import sml_no_such_module, which the Python that "
        "runs the tests does not have: every attempt at them fails; install it where sml "
        "runs (uv pip install --python ")
    assert notes[0].endswith(
        " sml_no_such_module; a module's package may be named otherwise: sklearn is "
        "scikit-learn), or map the tests in 'test_list' with --field tests=test_list")
    assert notes[1].endswith("calls similar_elements), so the student cannot know what to "
                             "call it: show the first test with the question: "
                             "--question-field prompt,test_list.0")


def test_humaneval_names_its_function_in_the_prompt_else_it_is_noted(
        tmp_path: Path, write_file: WriteFile) -> None:
    from sml_cli.problems import loading_notes

    fields = field_map(question="prompt", columns={"tests": "test"})
    named = load_problems(str(write_jsonl(tmp_path / "he.jsonl", HUMANEVAL_ROWS)), fields)
    assert loading_notes(named, fields) == []
    # (the entry point's def stripped from the prompt: check(count_vowels) names it alone)
    row = {**HUMANEVAL_ROWS[0], "prompt": "Count the vowels in a text."}
    path = write_file("he.jsonl", jsonl(row))
    [note] = loading_notes(load_problems(str(path), fields), fields)
    assert note.startswith("the tests of 1 of 1 code problems call a function the question "
                           "never names (the first, problem 'Demo/0', calls count_vowels)")
    assert note.endswith("show its name with the question: --question-field prompt,COLUMN")


@pytest.mark.parametrize(("tests", "called"), [
    ("assert f(1) == 2\nassert g(f(2))", ["f", "g"]),           # MBPP
    ("def check(candidate):\n    assert candidate(1)\n\ncheck(add)", ["add"]),  # HumanEval
    ("import math\nfrom os import path\nassert math.isclose(h(3), 5)", ["h"]),
    ("def helper(x):\n    return x\nassert helper(solve(2)) == 2", ["solve"]),
    ("data = load()\nassert len(sorted(data)) == 3", ["load"]),  # builtins are no one's
    ("run_io_case('1\\n', '2\\n')", []),                      # stdin/stdout cases
    ("assert Solution().twoSum([1], 1)", []),                    # LeetCode's class
    ("def (", []),
])
def test_functions_the_tests_call(tests: str, called: list[str]) -> None:
    from sml_cli.code_tests import functions_called

    assert functions_called(tests) == called


def test_mbpp_without_id_mapping_is_named_by_its_task_ids(write_file: WriteFile) -> None:
    path = write_file("mbpp.jsonl", jsonl(*MBPP_ROWS))
    problems = load(path, question="text", columns={"tests": "test_list"})
    assert [p.id for p in problems] == [str(r["task_id"]) for r in MBPP_ROWS]
    assert [p.verifier for p in problems] == ["python", "python"]
    assert problems[0].tests == "\n".join(MBPP_ROWS[0]["test_list"])


# ----------------------------------------------------------------------------- --field mapping


def test_every_field_name_maps_a_column(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl({"uid": "c-1", "question": "Pick the even number.", "answer": "B",
               "opts": ["3", "4", "5"], "worked": "4 = 2 * 2.", "hint": "Only one is even.",
               "check_with": "choice"}),
    )
    (p,) = load(path, columns={"id": "uid", "choices": "opts", "solution": "worked",
                               "notes": "hint", "verifier": "check_with"})
    assert (p.id, p.verifier, p.choices, p.answer) == ("c-1", "choice", ("3", "4", "5"), "B")
    assert (p.solution, p.notes) == ("4 = 2 * 2.", "Only one is even.")
    assert p.private_fields["notes"] == "Only one is even."
    assert "Only one is even." not in p.public_question()

    path = write_file(
        "code.jsonl",
        jsonl({"question": "Write double(x).",
               "checks": "def check(candidate):\n    assert candidate(2) == 4\n",
               "fn": "double"}),
    )
    (code,) = load(path, columns={"tests": "checks", "entry_point": "fn"})
    assert code.verifier == "python"
    assert correct(code, "def double(x):\n    return 2 * x\n")
    assert not correct(code, "def double(x):\n    return x + 1\n")


def test_mapped_column_missing_in_a_row_names_file_and_line(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl(
            {"task_id": "t1", "question": "a", "answer": "1"},
            {"task_id": "t2", "question": "b", "answer": "2"},
            {"question": "c", "answer": "3"},
        ),
    )
    assert_at_line(load_error(path, columns={"id": "task_id"}), path, 3, "task_id")


def test_mapped_solution_column_missing_names_file_and_line(tmp_path: Path) -> None:
    rows = [dict(r) for r in AQUA_ROWS]
    del rows[1]["rationale"]
    path = write_jsonl(tmp_path / "aqua.jsonl", rows)
    error = load_error(path, **SHAPES["aqua"].fields())
    assert_at_line(error, path, 2, "rationale")


# ----------------------------------------------------------------------------- dotted paths


def test_dotted_column_paths(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl({"input": {"text": "What is 6 * 7?"}, "meta": {"gold": "42", "src": "demo"},
               "info": {"ids": {"uid": "n-1"}}}),
    )
    (p,) = load(path, question="input.text", answer="meta.gold",
                columns={"id": "info.ids.uid"})
    assert (p.id, p.question, p.answer, p.verifier) == ("n-1", "What is 6 * 7?", "42", "numeric")


def test_exact_top_level_key_beats_a_dotted_path(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl({"question": "q", "meta.gold": "7", "meta": {"gold": "42"}}),
    )
    (p,) = load(path, answer="meta.gold")
    assert p.answer == "7"


def test_dotted_path_missing_in_a_row_names_file_and_line(write_file: WriteFile) -> None:
    path = write_file(
        "p.jsonl",
        jsonl({"question": "a", "meta": {"gold": "1"}}, {"question": "b", "meta": {"other": 2}}),
    )
    assert_at_line(load_error(path, answer="meta.gold"), path, 2, "meta.gold")


def test_dotted_path_into_a_parquet_struct(tmp_path: Path) -> None:
    rows = [
        {"question": "What is 9 + 10?", "meta": {"gold": "19", "uid": "s-1"}},
        {"question": "What is 3 * 5?", "meta": {"gold": "15", "uid": "s-2"}},
    ]
    path = write_parquet(tmp_path / "p.parquet", rows)
    problems = load(path, answer="meta.gold", columns={"id": "meta.uid"})
    assert [(p.id, p.answer) for p in problems] == [("s-1", "19"), ("s-2", "15")]


# ----------------------------------------------------------------------------- suggestions


@pytest.mark.parametrize(
    ("row", "suggestion"),
    [
        (MATH_ROWS[0], "--question-field problem"),
        ({"prompt": "Write f.", "test": "assert f() == 1"}, "--question-field prompt"),
        ({"text": "Write g.", "code": "def g(): pass"}, "--question-field text"),
        ({"instruction": "Name a prime.", "output": "7"}, "--question-field instruction"),
        ({"input": "2+2", "target": "4"}, "--question-field input"),
    ],
)
def test_missing_question_suggests_a_column(
    write_file: WriteFile, row: dict, suggestion: str
) -> None:
    path = write_file("p.jsonl", jsonl(row))
    error = load_error(path)
    assert_at_line(error, path, 1, "'question'", suggestion, *row)  # and lists the fields


def test_missing_question_on_a_later_line_suggests_a_column(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "ok", "answer": "1"}, MATH_ROWS[1]))
    assert_at_line(load_error(path), path, 2, "--question-field problem")


def test_missing_mapped_question_suggests_a_column(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl(MATH_ROWS[1]))
    error = load_error(path, question="prompt", answer="solution", pattern="boxed")
    assert_at_line(error, path, 1, "'prompt'", "--question-field problem")


@pytest.mark.parametrize(
    ("row", "suggestion"),
    [
        ({"question": "q", "choices": ["x", "y"], "answerKey": "A"}, "--answer-field answerKey"),
        ({"question": "q", "target": "4"}, "--answer-field target"),
        ({"question": "q", "final_answer": "4"}, "--answer-field final_answer"),
        ({"question": "q", "ground_truth": "4"}, "--answer-field ground_truth"),
        ({"question": "q", "label": "yes"}, "--answer-field label"),
    ],
)
def test_missing_answer_suggests_a_column(
    write_file: WriteFile, row: dict, suggestion: str
) -> None:
    path = write_file("p.jsonl", jsonl(row))
    error = load_error(path)
    assert_at_line(error, path, 1, "'answer'", suggestion)


# ----------------------------------------------------------------------------- file formats


@pytest.mark.parametrize("name", list(SHAPES))
def test_parquet_loads_like_jsonl(tmp_path: Path, name: str) -> None:
    from_jsonl = load_shape(tmp_path, name, ".jsonl")
    from_parquet = load_shape(tmp_path, name, ".parquet")
    assert [(p.id, p.key) for p in from_parquet] == [(p.id, p.key) for p in from_jsonl]


@pytest.mark.parametrize("name", ["gsm8k", "math", "math500", "mmlu", "aqua", "humaneval"])
def test_csv_loads_like_jsonl(tmp_path: Path, name: str) -> None:
    from_jsonl = load_shape(tmp_path, name, ".jsonl")
    from_csv = load_shape(tmp_path, name, ".csv")
    assert [(p.id, p.key) for p in from_csv] == [(p.id, p.key) for p in from_jsonl]


@pytest.mark.parametrize("name", ["gsm8k", "math", "math500", "mmlu", "aqua", "humaneval"])
def test_an_excel_sheet_loads_like_jsonl(tmp_path: Path, name: str) -> None:
    from_jsonl = load_shape(tmp_path, name, ".jsonl")
    from_xlsx = load_shape(tmp_path, name, ".xlsx")
    assert [(p.id, p.key) for p in from_xlsx] == [(p.id, p.key) for p in from_jsonl]


def test_excel_sheet_rows_are_named_by_their_row_number(tmp_path: Path) -> None:
    # Blank rows above the header and between rows are skipped; errors name the sheet's row.
    rows = [{"question": "2+3?", "answer": 5}, {"question": None, "answer": 7}]
    path = write_xlsx(tmp_path / "p.xlsx", rows, leading_blank_rows=2)
    assert_at_line(load_error(path), path, 5, "'question'")
    path = write_xlsx(tmp_path / "q.xlsx", [{"question": "2+3?", "answer": 5}])
    assert [(p.id, p.answer, p.verifier) for p in load(path)] == [("1", "5", "numeric")]
    # pandas' to_excel writes its index first, under no name: read as pandas reads it.
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in ([None, "question", "answer"], [0, "2+3?", 5], [1, "4+4?", 8]):
        sheet.append(values)
    book.save(tmp_path / "pandas.xlsx")
    indexed = load_problems(str(tmp_path / "pandas.xlsx"))
    assert [(p.answer, p.meta) for p in indexed] == [("5", {"Unnamed: 0": 0}),
                                                     ("8", {"Unnamed: 0": 1})]
    # A sheet without a header row is named with --columns, as a CSV is: row 1 is a problem.
    named = load_problems(str(path), FieldMap(header=("question", "answer")))
    assert [(p.question, p.answer) for p in named] == [("question", "answer"), ("2+3?", "5")]


def test_an_unreadable_or_ill_formed_excel_sheet_is_refused(tmp_path: Path) -> None:
    import openpyxl

    fake = tmp_path / "fake.xlsx"
    fake.write_text("question,answer\n2+3?,5\n", encoding="utf-8")
    assert "not a readable Excel workbook" in str(load_error(fake))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in (["question", "answer"], ["2+3?", 5, "stray"]):
        sheet.append(values)
    book.save(tmp_path / "wide.xlsx")
    assert_at_line(load_error(tmp_path / "wide.xlsx"), tmp_path / "wide.xlsx", 2,
                   "'stray'", "beyond the 2 columns")
    sheet.delete_rows(1, 2)
    for values in (["question", "answer", "question"], ["2+3?", 5, "x"]):
        sheet.append(values)
    book.save(tmp_path / "twice.xlsx")
    assert_at_line(load_error(tmp_path / "twice.xlsx"), tmp_path / "twice.xlsx", 1,
                   "repeats column(s) 'question'")


def test_csv_columns_without_a_name_are_read_as_pandas_reads_them(write_file: WriteFile
                                                                   ) -> None:
    # pandas' to_csv writes its index under no name; a spreadsheet leaves trailing ",,".
    indexed = load(write_file("idx.csv", ",question,answer\n0,2+3?,5\n"))
    assert [(p.answer, p.meta) for p in indexed] == [("5", {"Unnamed: 0": "0"})]
    trailing = load(write_file("trail.csv", "question,answer,,\n2+3?,5,,\n4+4?,8,,\n"))
    assert [(p.question, p.answer, p.meta) for p in trailing] == [("2+3?", "5", {}),
                                                                  ("4+4?", "8", {})]


def test_a_semicolon_csv_from_a_decimal_comma_spreadsheet(write_file: WriteFile) -> None:
    # Excel where the comma is the decimal mark writes ";" between cells and "2,5" for 2.5.
    path = write_file("semi.csv", 'question;answer;notes\n'
                      'What is 5 / 2?;2,5;\n'
                      'Grams in a 1,2 kg bag and a 300 g one?;1.500;"1,2 kg; 300 g"\n'
                      'Legs on 2 dogs, 1 bird?;10;\n')
    problems = load(path)
    assert [(p.question, p.answer, p.verifier) for p in problems] == [
        ("What is 5 / 2?", "2.5", "numeric"),
        ("Grams in a 1,2 kg bag and a 300 g one?", "1500", "numeric"),  # (text stays)
        ("Legs on 2 dogs, 1 bird?", "10", "numeric")]
    assert problems[1].notes == "1,2 kg; 300 g"
    assert correct(problems[0], "2.5") and not correct(problems[0], "25")
    # A comma CSV with semicolons in its text is still a comma CSV, its numbers as written.
    path = write_file("comma.csv", 'question,answer\n"Sum; then double: 1,2",1.500\n')
    assert [(p.question, p.answer) for p in load(path)] == [("Sum; then double: 1,2", "1.500")]


def test_mmlu_parquet_answers_and_checks(tmp_path: Path) -> None:
    gas, derivative, prime = load_shape(tmp_path, "mmlu", ".parquet")
    assert (gas.answer, derivative.answer, prime.answer) == ("B", "A", "D")
    assert correct(gas, "Nitrogen") and not correct(gas, "Oxygen")


def test_arc_parquet_struct_choices(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "arc", ".parquet")
    assert [p.answer for p in problems] == ["B", "A", "D", "E", "B"]
    assert problems[1].choices == ("evaporation", "condensation", "freezing", "melting")


def test_mbpp_parquet_list_column_runs(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "mbpp", ".parquet")
    assert [p.id for p in problems] == ["601", "602"]
    assert correct(problems[1], MBPP_ROWS[1]["code"])
    assert not correct(problems[1], MBPP_WRONG["602"])


def test_gsm8k_csv_with_commas_in_the_answer(tmp_path: Path) -> None:
    problems = load_shape(tmp_path, "gsm8k", ".csv")
    assert [p.answer for p in problems] == ["2,244", "294", "-4"]
    assert correct(problems[0], "2244")


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    rows = [dict(r) for r in MATH500_ROWS]
    rows[2]["problem"] = None
    path = write_parquet(tmp_path / "m.parquet", rows)
    assert_at_line(load_error(path, **SHAPES["math500"].fields()), path, 3, "'problem'")


# ----------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gsm8k", ["2,244", "294", "numeric"]),
        ("math", [r"\frac{1}{2}", "numeric", "math"]),
        ("math500", ["test/algebra/1042.json", "math"]),
        ("mmlu", ["B) Nitrogen", "choice"]),
        ("arc", ["arc-demo-2", "A) evaporation", "choice"]),
        ("aqua", ["choice", "3 for $4"]),
        ("humaneval", ["Demo/0", "Demo/1", "python"]),
        ("mbpp", ["601", "602", "python"]),
    ],
)
def test_cli_show_each_shape_with_flags(
    tmp_path: Path, name: str, expected: list[str]
) -> None:
    shape = SHAPES[name]
    path = write_jsonl(tmp_path / f"{name}.jsonl", shape.rows)
    result = invoke("problems", "show", str(path), *shape.flags())
    assert result.exit_code == 0, result.output
    assert said(result.output, f"{len(shape.rows)} problems")
    for text in expected:
        assert said(result.output, text), (text, result.output)


@pytest.mark.parametrize("command", ["show", "eval", "chat"])
def test_cli_help_has_the_field_flag(command: str) -> None:
    args = ["problems", "show", "--help"] if command == "show" else [command, "--help"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert re.search(r"(?<![\w-])--field\b", result.output), result.output


GOOD = jsonl({"id": "one", "question": "What is 2 + 2?", "answer": "4"})


def _command(command: str, path: Path, tmp_path: Path) -> list[str]:
    """`command` over the problem file `path`, set up so that if the flags under test were
    accepted by mistake, it still ends quickly (never a TUI, never a long network wait)."""
    db = str(tmp_path / "cli.db")
    if command == "show":
        return ["problems", "show", str(path)]
    if command == "eval":
        return ["eval", "--student", "openai/student", "--teacher", "openai/teacher",
                "--problems", str(path), "--db", db, "--max-turns", "1", "--retries", "0",
                "--timeout", "2", "--quiet"]
    return ["chat", "--role", "student", "--teacher", "local",
            "--problems", str(path), "--problem", "no-such-problem", "--db", db]


@pytest.fixture
def offline_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("SML_DB", raising=False)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["show", "eval", "chat"])
@pytest.mark.parametrize(
    ("flag", "named"),
    [("bogus=x", "bogus"), ("id", "--field"), ("answers=x", "answers")],
)
def test_cli_bad_field_flag_exits_2(
    tmp_path: Path, offline_models: None, command: str, flag: str, named: str
) -> None:
    path = write_jsonl(tmp_path / "good.jsonl", [json.loads(GOOD)])
    result = invoke(*_command(command, path, tmp_path), "--field", flag)
    assert result.exit_code == 2, result.output
    assert "No such option" not in result.output  # the flag exists; its value is refused
    assert said(result.output, "--field"), result.output
    assert said(result.output, named), result.output
    assert "Traceback" not in result.output


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["show", "eval", "chat"])
def test_cli_mapped_column_missing_names_file_and_line(
    tmp_path: Path, offline_models: None, command: str
) -> None:
    path = write_jsonl(
        tmp_path / "tasks.jsonl",
        [{"task_id": "t1", "question": "a", "answer": "1"}, {"question": "b", "answer": "2"}],
    )
    result = invoke(*_command(command, path, tmp_path), "--field", "id=task_id")
    assert result.exit_code == 2, result.output
    assert said(result.output, "tasks.jsonl:2:"), result.output
    assert said(result.output, "task_id")
    assert "Traceback" not in result.output


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["show", "eval", "chat"])
def test_cli_missing_question_suggests_the_flag(
    tmp_path: Path, offline_models: None, command: str
) -> None:
    path = write_jsonl(tmp_path / "math.jsonl", MATH_ROWS)
    result = invoke(*_command(command, path, tmp_path))
    assert result.exit_code == 2, result.output
    assert said(result.output, "math.jsonl:1:"), result.output
    assert said(result.output, "--question-field problem"), result.output


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["show", "eval"])
def test_cli_preset_without_match_names_file_and_line(
    tmp_path: Path, offline_models: None, command: str
) -> None:
    rows = [GSM8K_ROWS[0], {"question": "No marker?", "answer": "It is 5."}]
    path = write_jsonl(tmp_path / "gsm.jsonl", rows)
    result = invoke(*_command(command, path, tmp_path), "--answer-pattern", "gsm8k")
    assert result.exit_code == 2, result.output
    assert said(result.output, "gsm.jsonl:2:"), result.output
    assert said(result.output, "--answer-pattern")


def test_cli_show_parquet_with_dotted_field(tmp_path: Path) -> None:
    rows = [{"question": "What is 9 + 10?", "meta": {"gold": "19", "uid": "s-1"}}]
    path = write_parquet(tmp_path / "p.parquet", rows)
    result = invoke("problems", "show", str(path), "--answer-field", "meta.gold",
                    "--field", "id=meta.uid")
    assert result.exit_code == 0, result.output
    assert said(result.output, "s-1") and said(result.output, "19")


@pytest.mark.timeout(180)
def test_eval_on_a_gsm8k_shaped_file_with_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the flags reach `sml eval`; the student never sees the worked solution."""
    import sqlite3

    from sml_cli.testing import StubServer, by_model, hint_following_student, hinting_teacher

    rows = [{"task_id": f"g-{i}", **row} for i, row in enumerate(GSM8K_ROWS, start=1)]
    path = write_jsonl(tmp_path / "gsm.jsonl", rows)
    server = StubServer(
        by_model(student=hint_following_student, teacher=hinting_teacher)
    ).start()
    try:
        monkeypatch.setenv("OPENAI_API_BASE", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.delenv("SML_DB", raising=False)
        db, out = tmp_path / "e.db", tmp_path / "results.json"
        result = invoke("eval", "--student", "openai/student", "--teacher", "openai/teacher",
                        "--problems", str(path), "--answer-pattern", "gsm8k",
                        "--field", "id=task_id", "--conditions", "answer", "--max-turns", "3",
                        "--db", str(db), "--json", str(out), "--quiet")
        assert result.exit_code == 0, result.output
        data = json.loads(out.read_text())
        assert data["conditions"]["answer"]["n_sessions"] == 3
        assert data["conditions"]["answer"]["success_rate"] == 1.0
        with sqlite3.connect(db) as conn:
            ids = [r[0] for r in conn.execute("SELECT problem_id FROM sessions ORDER BY 1")]
        assert ids == ["g-1", "g-2", "g-3"]
        for messages in server.messages_seen("student"):
            seen = json.dumps(messages)
            assert "<<" not in seen and "####" not in seen  # the worked solution stays private
        assert not server.errors, server.errors
    finally:
        server.stop()


def test_svamp_question_joined_from_two_columns(tmp_path: Path) -> None:
    # SVAMP splits the task into Body and Question; `A,B` joins their texts.
    path = write_jsonl(tmp_path / "svamp.jsonl", [
        {"ID": "chal-1", "Body": "A shelf holds 14 jars. 9 more jars arrive.",
         "Question": "How many jars are there now?", "Answer": 23.0},
    ])
    [p] = load(path, question="Body,Question", answer="Answer", columns={"id": "ID"})
    assert p.question == ("A shelf holds 14 jars. 9 more jars arrive.\n\n"
                          "How many jars are there now?")
    assert (p.id, p.answer, p.verifier) == ("chal-1", "23", "numeric")
    assert "Body" not in p.meta and "Question" not in p.meta
    assert_at_line(load_error(path, question="Body,Query", answer="Answer"), path, 1,
                   "'Body,Query'")


def test_chat_format_prompt_column_gives_the_user_messages(tmp_path: Path) -> None:
    # TRL-style RL sets keep the task as a list of messages; the dataset's own system
    # message is dropped (the student gets sml's prompt), the user text is the question.
    rows = [{"prompt": [{"role": "system", "content": "Reason step by step."},
                        {"role": "user", "content": "What is 6 times 7?"}],
             "solution": "42"}]
    for path in (write_jsonl(tmp_path / "rl.jsonl", rows),
                 write_parquet(tmp_path / "rl.parquet", rows),
                 write_csv(tmp_path / "rl.csv", rows)):
        [p] = load(path, question="prompt", answer="solution")
        assert p.question == "What is 6 times 7?", path
        assert p.answer == "42" and correct(p, "42")


def test_list_and_object_answers(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [
        {"question": "Capital of Peru?", "answers": ["Lima"],
         "gold": {"value": "Lima", "aliases": ["Lima, Peru"]}},
        {"question": "Largest planet?", "answers": ["Jupiter", "planet Jupiter"],
         "gold": {"value": "Jupiter", "aliases": []}},
    ])
    # One element: that is the answer.
    single = write_jsonl(tmp_path / "one.jsonl", [{"question": "Capital of Peru?",
                                                   "answers": ["Lima"]}])
    assert load(single, answer="answers")[0].answer == "Lima"
    # Several: alternatives (NQ-open), the first the reference, every one right.
    peru, planet = load(path, answer="answers")
    assert (planet.answer, planet.aliases) == ("Jupiter", ("planet Jupiter",))
    assert peru.aliases == () and planet.verifier == "exact"
    assert correct(planet, "planet jupiter") and correct(planet, "Jupiter")
    assert not correct(planet, "Saturn")
    assert [p.answer for p in load(path, answer="answers.0")] == ["Lima", "Jupiter"]
    # An object (TriviaQA): say how to pick the answer, and its aliases.
    assert_at_line(load_error(path, answer="gold"), path, 1, "is an object",
                   "gold.value", "--field aliases=gold.aliases")
    peru, planet = load(path, answer="gold.value", columns={"aliases": "gold.aliases"})
    assert (peru.answer, peru.aliases, planet.aliases) == ("Lima", ("Lima, Peru",), ())
    assert correct(peru, "Lima, Peru") and not correct(peru, "Cusco")
    assert "Lima, Peru" in peru.private_fields["aliases"]


def test_numeric_alternatives_and_mixed_ones(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl(
        {"question": "A dozen and a half?", "answer": ["18", "18.0"]},
        {"question": "Year the tower opened?", "answer": ["1889", "in 1889"]},
        {"question": "Roots of x^2-1?", "answer": ["\\pm 1", "-1, 1"]},
        {"question": "Capital?", "answer": "Lima", "aliases": "[\"Ciudad de los Reyes\"]"}))
    dozen, tower, roots, lima = load(path)
    assert dozen.verifier == "numeric" and correct(dozen, "18") and correct(dozen, "eighteen")
    assert tower.verifier == "exact" and correct(tower, "in 1889") and correct(tower, "1889")
    assert roots.verifier == "math"
    # A default `aliases` column is read too (a JSON list in a text cell, or one text).
    assert lima.aliases == ("Ciudad de los Reyes",) and correct(lima, "ciudad de los reyes")


def test_bad_aliases_name_file_and_line(write_file: WriteFile) -> None:
    nested = write_file("n.jsonl", jsonl({"question": "q", "answer": ["a", {"b": 1}]}))
    assert_at_line(load_error(nested), nested, 1, "nested dict")
    choice = write_file("c.jsonl", jsonl({"question": "q", "choices": ["x", "y"],
                                          "answer": ["A", "B"]}))
    assert_at_line(load_error(choice), choice, 1, "choice problem has one right option")
    numeric = write_file("v.jsonl", jsonl({"question": "q", "answer": ["4", "four-ish"],
                                           "verifier": "numeric"}))
    assert_at_line(load_error(numeric), numeric, 1, "'four-ish' is not a number")


def test_interval_answers_are_text_not_lists(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "iv.jsonl", [
        {"question": "Where is x^2 - x <= 0 on [0, 2)?", "answer": "[0, 1]"},
        {"question": "Domain of sqrt(x)/(1-x)?", "answer": "[0, 1)"},
    ])
    closed, half_open = load(path)
    assert (closed.answer, closed.verifier) == ("[0, 1]", "math")
    assert (half_open.answer, half_open.verifier) == ("[0, 1)", "math")
    assert correct(half_open, "[0,1)") and not correct(half_open, "[0, 1]")


def test_rows_inside_a_wrapper_object(tmp_path: Path) -> None:
    # BIG-bench keeps its rows under "examples" next to task metadata; many exports use
    # "data". Errors still name the line the row starts on.
    path = tmp_path / "task.json"
    path.write_text(json.dumps({
        "name": "two_step_arithmetic", "keywords": ["math"],
        "examples": [{"input": "What is 7 times 8?", "target": "56"},
                     {"input": "What is 9 plus 16?", "target": "25"}],
        "preferred_score": "exact_str_match",
    }, indent=2), encoding="utf-8")
    problems = load(path, question="input", answer="target")
    assert [(p.question, p.answer) for p in problems] == [
        ("What is 7 times 8?", "56"), ("What is 9 plus 16?", "25")]
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [\n  {"input": "1+1?", "target": "2"},\n'
                      '  {"inputs": "2+2?", "target": "4"}\n]}\n', encoding="utf-8")
    assert_at_line(load_error(broken, question="input", answer="target"), broken, 3,
                   "no 'input' field")
    # A one-line JSON object that is itself a row (not a wrapper) still loads as a row.
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"question": "2+5?", "answer": "7"}), encoding="utf-8")
    assert [p.answer for p in load(single)] == ["7"]


def test_rows_under_split_names_in_one_json_object(tmp_path: Path) -> None:
    """A Hugging Face DatasetDict saved as one JSON object: {"train": [...], "test": [...]}.
    Every split's rows are read, each keeping its split's name in `split` (a row's own
    `split` wins); a note says that the set mixes splits, and --where picks one."""
    from sml_cli.problems import loading_notes

    path = tmp_path / "dd.json"
    path.write_text(json.dumps({
        "train": [{"question": "1 + 1?", "answer": "2"}, {"question": "2 + 2?", "answer": "4"}],
        "validation": [],
        "test": [{"question": "3 + 3?", "answer": "6", "Split": "test-hard"}]}),
        encoding="utf-8")
    problems = load(path)
    assert [(p.answer, p.meta.get("split") or p.meta.get("Split")) for p in problems] == [
        ("2", "train"), ("4", "train"), ("6", "test-hard")]
    assert loading_notes(problems) == []  # (a row's own column is its own business)
    path.write_text(json.dumps({"train": [{"question": "1 + 1?", "answer": "2"}],
                                "test": [{"question": "3 + 3?", "answer": "6"}]}),
                    encoding="utf-8")
    problems = load(path)
    assert [(p.answer, p.meta["split"]) for p in problems] == [("2", "train"), ("6", "test")]
    assert loading_notes(problems) == [
        "the problems come from several splits (train 1, test 1); evaluate on one with "
        "--where split=test"]
    tested = load_problems(str(path), FieldMap(where=parse_where_options(["split=test"])))
    assert [p.answer for p in tested] == ["6"]
    # An error names the split and the item when the rows share a line.
    path.write_text(json.dumps({"train": [{"question": "1 + 1?", "answer": "2"}],
                                "test": [{"question": "3 + 3?", "answer": "6"},
                                         {"question": "4 + 4?"}]}), encoding="utf-8")
    assert_at_line(load_error(path), path, 1, "no 'answer' field", row="test item 2")
    # A row whose own lists sit under split-like names among other fields is still a row.
    row = tmp_path / "row.json"
    row.write_text(json.dumps({"question": "2+5?", "answer": "7",
                               "test": [{"input": "1", "output": "2"}]}), encoding="utf-8")
    assert [p.answer for p in load(row)] == ["7"]


# ----------------------------------------------------------------------------- GPQA, AIME

GPQA_OPTIONS = "Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3"


def gpqa_rows(n: int) -> list[dict]:
    return [{"Question": f"Which option is right in case {i}?",
             "Correct Answer": f"right {i}", "Incorrect Answer 1": f"wrong {i}a",
             "Incorrect Answer 2": f"wrong {i}b", "Incorrect Answer 3": f"wrong {i}c",
             "Explanation": f"Because of rule {i}.", "Record ID": f"rec{i}",
             "Subdomain": "Physics"} for i in range(n)]


def test_gpqa_options_from_columns_are_shuffled_once_and_for_all(tmp_path: Path) -> None:
    """GPQA keeps the right option in its own column: listed as is, it would always be A."""
    path = write_csv(tmp_path / "gpqa.csv", gpqa_rows(40))
    columns = {"choices": GPQA_OPTIONS, "id": "Record ID", "solution": "Explanation"}
    problems = load(path, answer="Correct Answer", columns=columns)
    positions = []
    for i, p in enumerate(problems):
        assert p.id == f"rec{i}" and p.verifier == "choice"
        assert p.question == f"Which option is right in case {i}?"  # found as `Question`
        assert sorted(p.choices or ()) == sorted([f"right {i}", f"wrong {i}a", f"wrong {i}b",
                                                  f"wrong {i}c"])
        index = "ABCD".index(p.answer or "")
        assert (p.choices or ())[index] == f"right {i}"
        assert correct(p, p.answer or "") and correct(p, f"right {i}")
        assert not correct(p, f"wrong {i}a")
        assert p.solution == f"Because of rule {i}."
        assert f"right {i}" in p.public_question()  # the options are public
        positions.append(index)
        # Columns the map read stay out of the free-form meta, whatever their case.
        assert set(p.meta) == {"Subdomain"}
    assert len(set(positions)) == 4  # the right option lands everywhere
    again = load(path, answer="Correct Answer", columns=columns)
    assert [p.choices for p in again] == [p.choices for p in problems]  # same order every run


def test_options_from_columns_keep_their_order_when_the_answer_is_a_letter(
    write_file: WriteFile
) -> None:
    path = write_file("p.jsonl", jsonl(
        {"question": "Pick the even one.", "A": "3", "B": "8", "C": "5", "D": "7",
         "answer": "B"}))
    [p] = load(path, columns={"choices": "A,B,C,D"})
    assert p.choices == ("3", "8", "5", "7") and p.answer == "B"


def test_an_option_column_missing_names_file_and_line(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl(
        {"question": "q", "A": "1", "B": "2", "answer": "A"},
        {"question": "q2", "A": "1", "answer": "A"}))
    assert_at_line(load_error(path, columns={"choices": "A,B"}), path, 2, "'A,B'")


def test_columns_are_found_whatever_their_case(write_file: WriteFile) -> None:
    # AIME exports: ID, Problem, Solution, Answer.
    path = write_file("aime.jsonl", jsonl(
        {"ID": "2024-I-1", "Problem": "Find the remainder when 2024 is divided by 7.",
         "Solution": "2024 = 7*289 + 1.", "Answer": 1}))
    [p] = load(path, question="Problem")
    assert (p.id, p.answer, p.solution, p.verifier) == ("2024-I-1", "1", "2024 = 7*289 + 1.",
                                                       "numeric")
    assert p.meta == {}
    # Two columns equal but for case: ambiguous, so neither is taken.
    both = write_file("both.jsonl", jsonl({"Question": "a", "QUESTION": "b", "answer": "1"}))
    assert_at_line(load_error(both), both, 1, "no 'question' field")


def test_suggested_columns_with_spaces_are_quoted(write_file: WriteFile) -> None:
    path = write_file("p.jsonl", jsonl({"question": "q", "Correct Answer": "4"}))
    assert_at_line(load_error(path), path, 1, "--answer-field 'Correct Answer'")


# ----------------------------------------------------------------------------- compressed


@pytest.mark.parametrize("ext", [".gz", ".bz2", ".xz"])
@pytest.mark.parametrize("name", ["p.jsonl", "p.json", "p.csv"])
def test_compressed_files_load_like_plain_ones(tmp_path: Path, ext: str, name: str) -> None:
    import bz2
    import gzip
    import lzma

    rows = [{"question": "What is 6 times 7?", "answer": "42"},
            {"question": "What is 5 plus 8?", "answer": "13"}]
    plain = tmp_path / name
    if name.endswith(".csv"):
        write_csv(plain, rows)
    elif name.endswith(".json"):
        plain.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    else:
        write_jsonl(plain, rows)
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[ext]
    packed = tmp_path / (name + ext)
    with opener(packed, "wb") as fh:
        fh.write(plain.read_bytes())
    assert [(p.question, p.answer) for p in load(packed)] == [
        (p.question, p.answer) for p in load(plain)]


def test_compressed_file_errors_name_file_and_line(tmp_path: Path) -> None:
    import gzip

    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt", encoding="utf-8") as fh:
        fh.write('{"question": "q", "answer": "1"}\n{"question": \n')
    assert_at_line(load_error(bad), bad, 2, "invalid JSON")
    truncated = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(("".join(f'{{"question": "q{i}", "answer": "{i}"}}\n'
                                   for i in range(2000))).encode())
    truncated.write_bytes(whole[: len(whole) // 2])
    error = load_error(truncated)
    assert str(error).startswith(str(truncated)) and "end-of-stream" in str(error)
    garbage = tmp_path / "junk.jsonl.gz"
    garbage.write_bytes(b"this is not gzip at all")
    assert str(load_error(garbage)).startswith(str(garbage))
    parquet = tmp_path / "x.parquet.gz"
    parquet.write_bytes(b"\x1f\x8b")
    assert "unsupported file type '.parquet.gz'" in str(load_error(parquet))


@pytest.mark.parametrize("name", ["set.ndjson", "SET.NDJSON", "set.jsonlines",
                                  "set.ndjson.gz"])
def test_json_lines_under_their_other_names(tmp_path: Path, name: str) -> None:
    import gzip

    text = jsonl({"question": "What is 6 times 7?", "answer": "42"},
                 {"question": "What is 5 plus 8?", "answer": "13"})
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    assert [p.answer for p in load(path)] == ["42", "13"]


def test_a_txt_file_of_json_lines_is_read_as_such_and_noted(tmp_path: Path,
                                                            write_file: WriteFile) -> None:
    """LogiQA 2.0 ships its splits as test.txt, one JSON object a line: read as JSONL, with
    a note saying so. Any other .txt stays refused, and a folder's .txt files (its README)
    are never read as shards."""
    from sml_cli.problems import loading_notes

    rows = jsonl({"id": 10472, "question": "Which must be true?", "answer": 2,
                  "options": ["All birds are white.", "No birds are white.",
                              "Some birds are white."]})
    path = write_file("test.txt", "\n" + rows)
    problems = load(path, columns={"choices": "options"})
    assert [p.answer for p in problems] == ["C"]
    assert loading_notes(problems)[0] == (f"{path} is read as JSON Lines (its lines are "
                                          "JSON objects)")
    shown = invoke("problems", "show", str(path), "--field", "choices=options")
    assert shown.exit_code == 0 and said(shown.stderr, "is read as JSON Lines")
    broken = write_file("broken.txt", rows + "{not json\n")
    assert_at_line(load_error(broken, columns={"choices": "options"}), broken, 2,
                   "invalid JSON")
    for name, text in (("dm_math.txt", "Solve -3*h = -5*h - 6 for h.\n-3\n"),
                       ("array.txt", "[" + rows.strip() + "]"), ("empty.txt", "")):
        error = str(load_error(write_file(name, text)))
        assert "unsupported file type '.txt'" in error
        assert "a .txt file is read when its lines are JSON objects" in error
    folder = tmp_path / "logiqa2"
    folder.mkdir()
    (folder / "test.jsonl").write_text(rows, encoding="utf-8")
    (folder / "readme.txt").write_text(rows, encoding="utf-8")
    assert len(load(folder, columns={"choices": "options"})) == 1


@pytest.mark.parametrize(("row", "column"), [
    # MMLU-Pro: ten options under `options`, a letter answer
    ({"question": "Which is prime?", "options": ["4", "6", "7", "8"], "answer": "C"}, "options"),
    # HellaSwag-like: the endings and the index of the right one
    ({"question": "She picks up the kettle and", "endings": ["sings", "pours tea", "runs"],
      "answer": 1}, "endings"),
    ({"question": "q", "Options": "['x', 'y']", "answer": "(B)"}, "Options"),
    # TAL-SCQ5K: {aoVal, content} objects, each in a one-item list, under a name of its own
    ({"question": "What is $$3+4$$?", "answer_option_list": [
        [{"aoVal": "A", "content": "$$6$$"}], [{"aoVal": "B", "content": "$$7$$"}],
        [{"aoVal": "C", "content": "$$8$$"}]], "answer": "B"}, "answer_option_list"),
    # …any column named for options (its words, however written), or holding labelled ones
    ({"question": "q", "answerChoices": ["x", "y", "z"], "answer": "C"}, "answerChoices"),
    ({"question": "q", "alternatives": [{"key": "A", "value": "x"}, {"key": "B", "value": "y"}],
      "answer": "B"}, "alternatives"),
])
def test_unmapped_options_are_an_error_not_a_silent_text_answer(
    write_file: WriteFile, row: dict, column: str
) -> None:
    """Loaded as they are, such rows would show the student a question without its options
    and check "C" as text: the error says which column to map."""
    path = write_file("p.jsonl", jsonl(row))
    assert_at_line(load_error(path), path, 1, f"--field choices={column}")
    [p] = load(path, columns={"choices": column})
    assert p.verifier == "choice" and p.choices and "A) " in p.public_question()


@pytest.mark.parametrize("row", [
    {"question": "Grade of the essay?", "options": ["x", "y"], "answer": "Z"},  # not an option
    {"question": "How many options?", "options": ["x", "y", "z"], "answer": "3"},  # no index 3
    {"question": "Which?", "options": ["x", "y"], "answer": "B", "verifier": "exact"},
    # A list that is not named for options and carries no labels: not taken for them.
    {"question": "Which vitamin is B?", "tags": ["x", "y", "z"], "answer": "B"},
    {"question": "Which?", "choice_type": "single", "answer": "B"},
])
def test_answers_that_point_at_no_option_load_as_they_are(write_file: WriteFile,
                                                          row: dict) -> None:
    [p] = load(write_file("p.jsonl", jsonl(row)))
    assert p.choices is None


@pytest.mark.parametrize("options", [
    [[{"aoVal": "A", "content": "$$6$$"}], [{"aoVal": "B", "content": "$$7$$"}],
     [{"aoVal": "C", "content": "$$8$$"}]],                                  # TAL-SCQ5K
    [{"label": "A", "text": "$$6$$"}, {"label": "B", "text": "$$7$$"},
     {"label": "C", "text": "$$8$$"}],                                       # CommonsenseQA
    [{"key": "A", "value": "$$6$$"}, {"key": "B", "value": "$$7$$"},
     {"key": "C", "value": "$$8$$"}],
    [{"Letter": "A", "Option": "$$6$$"}, {"Letter": "B", "Option": "$$7$$"},
     {"Letter": "C", "Option": "$$8$$"}],
    [{"letter": "A", "statement": "$$6$$"}, {"letter": "B", "statement": "$$7$$"},
     {"letter": "C", "statement": "$$8$$"}],                  # a label and one other key
])
def test_labelled_option_objects_show_their_text_not_json(write_file: WriteFile,
                                                          options: list[Any]) -> None:
    path = write_file("tal.jsonl", jsonl({"problem": "What is $$3+4$$?",
                                          "answer_option_list": options,
                                          "answer_value": "B"}))
    [p] = load(path, question="problem", answer="answer_value",
               columns={"choices": "answer_option_list"})
    assert p.choices == ("$$6$$", "$$7$$", "$$8$$") and p.answer == "B"
    assert "B) $$7$$" in p.public_question() and correct(p, "B") and not correct(p, "A")


def test_option_objects_labelled_by_ids_are_options_without_labels(
        write_file: WriteFile) -> None:
    # An `id` that is no short label ("opt-17") does not name the options: the answer's
    # letter does, as for a plain list.
    path = write_file("ids.jsonl", jsonl({"question": "Which?", "choices": [
        {"id": "opt-17", "text": "x"}, {"id": "opt-18", "text": "y"}], "answer": "B"}))
    [p] = load(path)
    assert p.choices == ("x", "y") and p.answer == "B"


def test_options_keyed_by_label(write_file: WriteFile) -> None:
    # MedQA: {"A": "…", …} options, the answer as text and as a label in another column.
    row = {"question": "Which drug is first line here?", "answer": "Nitrofurantoin",
           "options": {"A": "Ampicillin", "B": "Ceftriaxone", "C": "Doxycycline",
                       "D": "Nitrofurantoin"}, "answer_idx": "D"}
    path = write_file("medqa.jsonl", jsonl(row))
    assert_at_line(load_error(path), path, 1, "--field choices=options")  # text of an option
    for answer_column in ("answer", "answer_idx"):
        [p] = load(path, answer=answer_column, columns={"choices": "options"})
        assert p.choices == ("Ampicillin", "Ceftriaxone", "Doxycycline", "Nitrofurantoin")
        assert p.answer == "D" and correct(p, "D") and correct(p, "nitrofurantoin")
        assert not correct(p, "A")


# ----------------------------------------------------------------------------- shards, Arrow


def test_a_directory_of_shards_loads_in_name_order(tmp_path: Path) -> None:
    data = tmp_path / "gsm8k" / "data"
    data.mkdir(parents=True)
    write_parquet(data / "test-00001-of-00002.parquet",
                  [{"question": "What is 2+3?", "answer": "5"}])
    write_parquet(data / "test-00000-of-00002.parquet",
                  [{"question": "What is 1+1?", "answer": "2"},
                   {"question": "What is 2+2?", "answer": "4"}])
    (tmp_path / "gsm8k" / "README.md").write_text("# a dataset card\n", encoding="utf-8")
    problems = load(tmp_path / "gsm8k")
    assert [p.answer for p in problems] == ["2", "4", "5"]
    assert [p.id for p in problems] == ["1", "2", "3"]
    # An error names the shard and its row.
    write_parquet(data / "test-00002-of-00002.parquet", [{"question": "q", "answer": None}])
    error = load_error(tmp_path / "gsm8k")
    assert str(error).startswith(str(data / "test-00002-of-00002.parquet") + ":1:")


def test_directories_without_data_or_with_mixed_kinds_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no data files" in str(load_error(empty))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_jsonl(mixed / "a.jsonl", [{"question": "q", "answer": "1"}])
    write_csv(mixed / "b.csv", [{"question": "q2", "answer": "2"}])
    assert "several kinds" in str(load_error(mixed))


def test_a_folder_of_several_splits_is_refused_and_a_quoted_glob_picks_one(
        tmp_path: Path) -> None:
    """A dataset's data/ folder holds train and test shards: reading both would evaluate on
    the training split too. The error names the splits and a glob that picks one."""
    data = tmp_path / "gsm8k" / "data"
    data.mkdir(parents=True)
    write_jsonl(data / "train-00000-of-00001.jsonl", [{"question": "t?", "answer": "1"}])
    write_jsonl(data / "test-00000-of-00002.jsonl", [{"question": "a?", "answer": "2"}])
    write_jsonl(data / "test-00001-of-00002.jsonl", [{"question": "b?", "answer": "3"}])
    error = load_error(data)
    assert "several splits (test, train)" in str(error)
    suggested = str(data / "test*.jsonl")
    assert suggested in str(error)
    assert [p.answer for p in load(Path(suggested))] == ["2", "3"]
    # datasets' save_to_disk of a DatasetDict: one folder per split, which is the suggestion.
    saved = tmp_path / "saved"
    for split in ("train", "validation"):
        (saved / split).mkdir(parents=True)
        write_jsonl(saved / split / "data-00000-of-00001.jsonl",
                    [{"question": f"{split}?", "answer": "4"}])
    error = load_error(saved)
    assert "several splits (train, validation)" in str(error)
    assert str(saved / "train") in str(error)
    assert [p.question for p in load(saved / "validation")] == ["validation?"]


def test_globs_that_match_no_data(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    result = invoke("problems", "show", str(tmp_path / "nothing-*.jsonl"))
    assert result.exit_code == 2 and "no such problem file" in result.output
    result = invoke("problems", "show", str(tmp_path / "*"))
    assert result.exit_code == 2 and "no data files match" in " ".join(result.output.split())


def test_duplicate_ids_across_shards_name_both_files(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "question": "q", "answer": "1"}])
    write_jsonl(tmp_path / "b.jsonl", [{"id": "x", "question": "q2", "answer": "2"}])
    error = load_error(tmp_path)
    assert str(error).startswith(str(tmp_path / "b.jsonl") + ":1:")
    assert str(tmp_path / "a.jsonl") in str(error)


@pytest.mark.parametrize("kind", ["stream", "file"])
def test_arrow_files_as_datasets_saves_them(tmp_path: Path, kind: str) -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_pylist([{"question": "What is 6*7?", "answer": "42", "level": 1}])
    path = tmp_path / "data-00000-of-00001.arrow"
    with pa.OSFile(str(path), "wb") as sink:
        open_writer = pa.ipc.new_stream if kind == "stream" else pa.ipc.new_file
        with open_writer(sink, table.schema) as writer:
            writer.write_table(table)
    [p] = load(path)
    assert (p.question, p.answer, p.meta) == ("What is 6*7?", "42", {"level": 1})
    broken = tmp_path / "broken.arrow"
    broken.write_bytes(b"not arrow at all")
    assert "not a readable Arrow file" in str(load_error(broken))


def test_truthfulqa_marks_name_the_right_option(write_file: WriteFile) -> None:
    """TruthfulQA's mc1_targets: options and one 0/1 mark per option (true/false too). The
    marks need their options mapped (the error names the list beside them); several right
    options (mc2) are refused; without options, [1, 0] is a point, not marks."""
    path = write_file("tqa.jsonl", jsonl(
        {"question": "Which is right?", "mc1_targets": {
            "choices": ["the true one", "a false one", "another false one"],
            "labels": [0, 1, 0]},
         "mc2_targets": {"choices": ["x", "y", "z"], "labels": [1, 1, 0]}},
        {"question": "Which holds?", "mc1_targets": {"choices": ["yes it does", "no"],
                                                     "labels": [True, False]},
         "mc2_targets": {"choices": ["x", "y"], "labels": [0, 1]}}))
    first, second = load(path, answer="mc1_targets.labels",
                         columns={"choices": "mc1_targets.choices"})
    assert first.verifier == "choice" and first.answer == "B" and not first.aliases
    assert correct(first, "B") and correct(first, "a false one") and not correct(first, "A")
    assert second.answer == "A" and correct(second, "yes it does")
    assert_at_line(load_error(path, answer="mc1_targets.labels"), path, 1,
                   "marks which option is right", "--field choices=mc1_targets.choices")
    assert_at_line(load_error(path, answer="mc2_targets.labels",
                              columns={"choices": "mc2_targets.choices"}), path, 1,
                   "marks 2 of the options right", "one right option")
    point = write_file("point.jsonl", jsonl({"question": "Where is the vertex?",
                                             "answer": [1, 0]}))
    (p,) = load(point)
    assert p.answer == "[1, 0]" and p.verifier != "choice"


def tqa_rows(n: int) -> list[dict]:
    """TruthfulQA's layout: the right option always listed first."""
    return [{"question": f"Which statement {i} is true?", "mc1_targets": {
        "choices": [f"true {i}", f"false {i}a", f"false {i}b", f"false {i}c"],
        "labels": [1, 0, 0, 0]}} for i in range(n)]


def test_shuffle_choices_moves_options_and_their_answer_together(tmp_path: Path) -> None:
    """An answer key that always names the same option is noted; --shuffle-choices gives
    each problem's options an order of their own (the same on every load), the reference
    letter following the right option, for marks, letters and indexes alike."""
    from sml_cli.problems import loading_notes

    path = write_jsonl(tmp_path / "tqa.jsonl", tqa_rows(30))
    plain = FieldMap(answer="mc1_targets.labels", columns={"choices": "mc1_targets.choices"})
    problems = load_problems(str(path), plain)
    assert {p.answer for p in problems} == {"A"}
    [note] = loading_notes(problems, plain)
    assert "(A) in all 30 multiple-choice problems" in note and "--shuffle-choices" in note
    shuffling = FieldMap(answer="mc1_targets.labels", columns={"choices": "mc1_targets.choices"},
                         shuffle_choices=True)
    shuffled = load_problems(str(path), shuffling)
    for i, p in enumerate(shuffled):
        assert sorted(p.choices or ()) == sorted(problems[i].choices or ())
        assert (p.choices or ())["ABCD".index(p.answer or "")] == f"true {i}"
        assert correct(p, f"true {i}") and correct(p, p.answer or "")
        assert not correct(p, f"false {i}a")
        # Another problem as far as runs are concerned (unless its order came out the same).
        assert (p.key != problems[i].key) == (p.choices != problems[i].choices)
    assert len({p.answer for p in shuffled}) == 4
    assert loading_notes(shuffled, shuffling) == []
    assert [p.choices for p in load_problems(str(path), shuffling)] == \
        [p.choices for p in shuffled]
    # A letter answer (MMLU-style) and a 1-based index follow their option too.
    mmlu = write_jsonl(tmp_path / "mmlu.jsonl", [
        {"question": f"Pick {i}.", "choices": [f"w{i}", f"r{i}", f"x{i}"], "answer": "B"}
        for i in range(12)])
    for answer_fields in ({}, {"index_base": 1}):
        rows = [dict(r, answer=2) for r in json.loads("[" + ",".join(
            mmlu.read_text().splitlines()) + "]")] if answer_fields else None
        source = write_jsonl(tmp_path / "idx.jsonl", rows) if rows else mmlu
        for p in load_problems(str(source), FieldMap(shuffle_choices=True, **answer_fields)):
            i = p.question.removeprefix("Pick ").rstrip(".")
            assert (p.choices or ())["ABC".index(p.answer or "")] == f"r{i}"


def test_a_passage_column_left_out_of_the_question_is_noted(write_file: WriteFile) -> None:
    """SQuAD/BoolQ keep the passage in its own column: a student shown only the question
    cannot answer, so loading says how to include it (and is quiet once it is included)."""
    from sml_cli.problems import loading_notes

    passage = "The Denver Broncos defeated the Carolina Panthers 24-10 to win the title."
    path = write_file("squad.jsonl", jsonl(
        {"id": "q1", "title": "Final", "context": passage, "question": "Who won the title?",
         "answers": {"text": ["Denver Broncos"], "answer_start": [4]}}))
    error = load_error(path)
    assert_at_line(error, path, 1, "--answer-field answers.text")
    [note] = loading_notes(load(path, answer="answers.text"))
    assert "'context'" in note and "--question-field context,question" in note
    with_passage = FieldMap(question="context,question", answer="answers.text")
    (p,) = load_problems(str(path), with_passage)
    assert passage in p.question and "Who won the title?" in p.question
    assert loading_notes([p], with_passage) == []
    # Through the CLI: the note goes to stderr, the table to stdout, and the exit is 0.
    result = invoke("problems", "show", str(path), "--answer-field", "answers.text")
    assert result.exit_code == 0, result.output
    assert "--question-field context,question" in result.stderr
    assert "Note" not in result.stdout and "Who won the title?" in result.stdout
    result = invoke("problems", "show", str(path), "--answer-field", "answers.text",
                    "--question-field", "context,question")
    assert result.exit_code == 0 and "Note" not in result.output


def test_question_hints_cover_hellaswag_and_openbookqa(write_file: WriteFile) -> None:
    hellaswag = write_file("hs.jsonl", jsonl(
        {"ctx": "A man sits on a roof. He", "endings": ["flies.", "removes shingles."],
         "label": "1"}))
    assert_at_line(load_error(hellaswag), hellaswag, 1, "--question-field ctx")
    (p,) = load(hellaswag, question="ctx", answer="label", columns={"choices": "endings"})
    assert p.answer == "B" and correct(p, "removes shingles.")
    obqa = write_file("obqa.jsonl", jsonl(
        {"question_stem": "Sunlight is", "answerKey": "A",
         "choices": {"text": ["energy", "cold"], "label": ["A", "B"]}}))
    assert_at_line(load_error(obqa), obqa, 1, "--question-field question_stem")


def test_stdin_stdout_cases_of_contest_sets_become_python_tests(write_file: WriteFile) -> None:
    """APPS/TACO (`input_output`, a JSON string, with fn_name for call-based problems),
    CodeContests (`public_tests` {input, output}) and LiveCodeBench (`public_test_cases`,
    a list of {input, output, testtype}): each case is run, the right program passes, a
    wrong one does not, and the unmapped column is pointed at."""
    program = "```python\nn = int(input())\nprint(n * n)\n```"
    wrong = "```python\nn = int(input())\nprint(n + n)\n```"
    apps = write_file("apps.jsonl", jsonl(
        {"problem_id": 7, "question": "Print the square of n.",
         "input_output": json.dumps({"inputs": ["3\n", "5\n"], "outputs": ["9\n", "25\n"]})},
        {"problem_id": 8, "question": "Write square(n).",
         "input_output": json.dumps({"fn_name": "square", "inputs": [[3], [4]],
                                     "outputs": [[9], [16]]})}))
    assert_at_line(load_error(apps), apps, 1, "--field tests=input_output")
    stdin, call = load(apps, columns={"tests": "input_output", "id": "problem_id"})
    assert stdin.verifier == call.verifier == "python" and stdin.id == "7"
    assert "run_io_case('3\\n', '9\\n')" in (stdin.tests or "")
    assert correct(stdin, extract(program)) and not correct(stdin, extract(wrong))
    assert correct(call, "def square(n):\n    return n * n\n")
    assert correct(call, "class Solution:\n    def square(self, n):\n        return n ** 2\n")
    assert not correct(call, "def square(n):\n    return n + n\n")
    assert "3\n" not in stdin.public_question() and "run_io_case" not in call.public_question()

    contests = write_file("cc.jsonl", jsonl(
        {"name": "A. Square", "description": "Print the square of n.",
         "public_tests": {"input": ["3\n"], "output": ["9\n"]},
         "private_tests": {"input": ["4\n", "6\n"], "output": ["16\n", "36\n"]}}))
    (p,) = load(contests, question="description",
                columns={"tests": "public_tests", "id": "name"})
    assert correct(p, extract(program)) and not correct(p, extract(wrong))

    lcb = write_file("lcb.jsonl", jsonl(
        {"question_title": "Square", "question_content": "Print the square of n.",
         "public_test_cases": json.dumps([{"input": "7\n", "output": "49\n",
                                           "testtype": "stdin"}])},
        {"question_title": "Method", "question_content": "Implement square.",
         "public_test_cases": json.dumps([{"input": "3", "output": "9",
                                           "testtype": "functional"}])}))
    error = load_error(lcb, question="question_content",
                       columns={"tests": "public_test_cases"})
    assert_at_line(error, lcb, 2, "are functional", "--field entry_point=COLUMN")
    uneven = write_file("uneven.jsonl", jsonl(
        {"question": "Square n.", "tests": {"inputs": ["1\n", "2\n"], "outputs": ["1\n"]}}))
    assert_at_line(load_error(uneven), uneven, 1, "2 inputs but 1 outputs")


def extract(message: str) -> str:
    from sml_cli.verification import extract_attempt

    attempt = extract_attempt(f"Final answer:\n{message}", code=True)
    assert attempt is not None
    return attempt.text


def test_rows_keyed_by_id_in_one_json_object(write_file: WriteFile) -> None:
    """{"q1": {…}, "q2": {…}} (and the same under one wrapper key, as CIMA's prepDataset):
    each value is a row, its key its id; a bad row is named by the line its key is on."""
    keyed = write_file("keyed.json", json.dumps({
        "q1": {"question": "How many legs have 3 cats?", "answer": "12"},
        "q2": {"question": "How many wheels have 2 bikes?", "answer": "4", "id": "bikes"},
    }, indent=1))
    first, second = load(keyed)
    assert (first.id, first.answer, second.id) == ("q1", "12", "bikes")
    wrapped = write_file("wrapped.json", json.dumps({"prepDataset": {
        "0": {"question": "Half of 10?", "answer": "5"},
        "1": {"question": "Twice 4?"}}}, indent=1))
    assert_at_line(load_error(wrapped), wrapped, 7, "no 'answer' field")
    # An empty sibling of the wrapper key holds no rows: CIMA's dataset.json is
    # {"prepDataset": {…}, "shapeDataset": {}}.
    beside_empty = write_file("beside_empty.json", json.dumps({"prepDataset": {
        "0": {"question": "Half of 10?", "answer": "5"},
        "1": {"question": "Twice 4?", "answer": "8"}}, "shapeDataset": {}}))
    assert [(p.id, p.answer) for p in load(beside_empty)] == [("0", "5"), ("1", "8")]
    # Splits of keyed rows are not rows themselves.
    splits = write_file("splits.json", json.dumps({
        "train": {"0": {"question": "1 + 1?", "answer": "2"}},
        "test": {"0": {"question": "2 + 2?", "answer": "4"}}}))
    assert "fields here: 0" not in str(load_error(splits))
    # One object that is a row itself stays one row, on one line or pretty-printed (no JSON
    # lines then: it was refused as "invalid JSON"); so does one row keyed by its id.
    single = write_file("single.json", json.dumps({"question": "3 + 4?", "answer": "7"}))
    assert [p.answer for p in load(single)] == ["7"]
    pretty = write_file("pretty.json", json.dumps({"question": "3 + 4?", "answer": "7"},
                                                  indent=2))
    assert [p.answer for p in load(pretty)] == ["7"]
    one_keyed = write_file("one_keyed.json", json.dumps(
        {"q7": {"question": "3 + 4?", "answer": "7", "tags": {"level": 1}}}, indent=2))
    assert [(p.id, p.answer) for p in load(one_keyed)] == [("q7", "7")]


def test_mmlu_original_csv_without_a_header_and_with_letter_columns(
        write_file: WriteFile) -> None:
    """Hendrycks' MMLU CSVs have no header row: the first row would become the column names,
    so the error says to name the columns (at line 1, with the option), and with the
    options pointed at next, all the flags at once. With them (or a header), the option
    columns A-D are pointed at until mapped."""
    rows = ('"Which of these numbers is even, given that only one of them is?",3,8,5,7,B\n'
            '"Which of these numbers is prime, given that only one of them is?",4,6,9,11,D\n')
    bare = write_file("algebra_test.csv", rows)
    error = load_error(bare)
    assert_at_line(error, bare, 1, "look like a row of data", "has no header row",
                   "name its columns with --columns question,A,B,C,D,answer; all together, "
                   "its first rows load with: --columns question,A,B,C,D,answer "
                   "--field choices=A,B,C,D")
    named = FieldMap(header=("question", "A", "B", "C", "D", "answer"),
                     columns={"choices": "A,B,C,D"})
    even, prime = load_problems(str(bare), named)
    assert even.choices == ("3", "8", "5", "7") and even.answer == "B"
    assert (even.id, prime.id) == ("1", "2")  # the first line is a problem, not a header
    headed = write_file("headed.csv", "question,A,B,C,D,answer\n" + rows)
    assert_at_line(load_error(headed), headed, 2, "--field choices=A,B,C,D")
    even, prime = load(headed, columns={"choices": "A,B,C,D"})
    assert even.choices == ("3", "8", "5", "7") and even.answer == "B"
    assert correct(prime, "11") and correct(prime, "D") and not correct(prime, "A")


def test_a_question_answer_tsv_without_a_header_is_named_by_columns(
        write_file: WriteFile) -> None:
    """MGSM ships TSVs of question and answer with no header row."""
    rows = ("Janet's ducks lay 16 eggs per day. She eats three for breakfast. How many "
            "eggs are left to sell?\t13\nA robe takes 2 bolts of blue fiber and half that "
            "much white fiber. How many bolts in all?\t3\n")
    bare = write_file("mgsm_en.tsv", rows)
    assert_at_line(load_error(bare), bare, 1, "has no header row",
                   "name its columns with --columns question,answer")
    ducks, robe = load_problems(str(bare), FieldMap(header=("question", "answer")))
    assert ducks.question.startswith("Janet's ducks") and correct(ducks, "13")
    assert robe.answer == "3"
    result = invoke("problems", "show", str(bare), "--columns", "question,answer")
    assert result.exit_code == 0 and said(result.output, "2 problems"), result.output
    # Names that do not fit the rows, or a file whose rows name their fields, are refused.
    with pytest.raises(ProblemFileError) as wrong:
        load_problems(str(bare), FieldMap(header=("question", "answer", "notes")))
    assert_at_line(wrong.value, bare, 1,
                   "2 columns but --columns names 3 (question, answer, notes)")
    jsonl_file = write_file("p.jsonl", jsonl({"question": "1+1?", "answer": "2"}))
    with pytest.raises(UsageError, match="--columns names the columns of a CSV or TSV"):
        load_problems(str(jsonl_file), FieldMap(header=("question", "answer")))
    for bad in ("question,,answer", "q,q"):
        result = invoke("problems", "show", str(bare), "--columns", bad)
        assert result.exit_code == 2 and "--columns" in result.output, result.output
    # A file of one line without a header reads as a header and no problems: said so.
    one = write_file("one.tsv", rows.splitlines(keepends=True)[0])
    assert "--columns" in str(load_error(one))


@pytest.mark.parametrize("source, flags", [
    ("arithmetic", []),
    ("python", []),
    ("tqa", ["--answer-field", "mc1_targets.labels", "--field", "choices=mc1_targets.choices",
             "--shuffle-choices"]),
    ("trivia", ["--answer-field", "answer.value", "--field", "aliases=answer.aliases"]),
])
def test_problems_show_json_is_a_converted_copy_that_loads_as_the_same_problems(
        tmp_path: Path, source: str, flags: list[str]) -> None:
    """`problems show --json` writes the set as loaded (flags applied, options shuffled,
    free-form columns kept), and that file loads with no flags into the same problems; with
    --public only the student's fields are written."""
    if source == "tqa":
        source = str(write_jsonl(tmp_path / "tqa.jsonl", tqa_rows(6)))
    elif source == "trivia":
        source = str(write_jsonl(tmp_path / "trivia.jsonl", [
            {"question": f"Which city {i}?", "topic": "geo", "answer": {
                "value": f"Paris {i}", "aliases": [f"Paris {i}", f"City of Light {i}"]}}
            for i in range(3)]))
    result = invoke("problems", "show", source, *flags, "--json")
    assert result.exit_code == 0, result.output
    converted = tmp_path / "converted.jsonl"
    converted.write_text(result.stdout, encoding="utf-8")
    from sml_cli.cli import _field_map

    original = load_problems(source, _field_map(
        *(flags[flags.index(f) + 1] if f in flags else d for f, d in (
            ("--question-field", "question"), ("--answer-field", "answer"))),
        None, [flags[i + 1] for i, f in enumerate(flags) if f == "--field"], 0,
        "--shuffle-choices" in flags))
    again = load_problems(str(converted))
    assert [(p.id, p.key, p.meta) for p in again] == [(p.id, p.key, p.meta) for p in original]
    # (a row reads as a problem first: its own fields, then the columns kept beside them)
    for line in result.stdout.splitlines():
        row = list(json.loads(line))
        assert row[:2] == ["id", "question"], row  # (code problems have tests, no answer)
    public = invoke("problems", "show", source, *flags, "--json", "--public", "-n", "2")
    rows = [json.loads(line) for line in public.stdout.splitlines()]
    assert len(rows) == 2 and all(set(r) <= {"id", "question", "choices"} for r in rows)
    for row, problem in zip(rows, original, strict=False):
        shown = json.dumps(row, ensure_ascii=False)
        for secret in problem.private_fields.values():
            assert secret in problem.public_question() or secret not in shown


@pytest.mark.parametrize(("answer", "right", "wrong"), [
    ("f(x) = x", "f(x)=x", "f(x) = 2x"),
    ("x > 3", "(3, \\infty)", "x \\ge 3"),
    ("a=2, b=3", "b = 3, a = 2", "a=3, b=2"),
    ("n = 1, 2", "n=1,2", "n = 1, 3"),
])
def test_an_equation_or_inequality_answer_is_checked_as_maths(
        write_file: WriteFile, answer: str, right: str, wrong: str) -> None:
    """Omni-MATH and OlympiadBench answer with relations ("f(x) = x", "x > 3"): `auto` picked
    `exact`, under which "f(x)=x" (no spaces) or an equivalent interval was wrong."""
    path = write_file("omni.jsonl", jsonl({"problem": "Find it.", "answer": answer,
                                           "difficulty": 6.5}))
    (p,) = load(path, question="problem")
    assert p.verifier == "math"
    assert correct(p, right) and not correct(p, wrong)
    words = write_file("words.jsonl", jsonl({"question": "Q?", "answer": "Heat = energy"}))
    assert [q.verifier for q in load(words)] == ["exact"]  # words make it no equation


def test_olympiadbench_answers_typeset_as_maths_and_solution_paragraphs(
        write_file: WriteFile) -> None:
    """OlympiadBench: final_answer is a list holding "$x=3$"; solutions are a list of
    paragraphs. The delimiters are typesetting (the answer is maths, checked as such); the
    paragraphs become one private solution. Money ("$5") and text with two amounts stay."""
    path = write_file("ob.jsonl", jsonl(
        {"id": 1, "question": "Solve 2x+1=7.", "final_answer": ["$x=3$"],
         "solution": ["Subtract 1.", "Halve: x = 3."]},
        {"id": 2, "question": "Roots of x^2=4?", "final_answer": ["$2,-2$"],
         "solution": ["Both signs."]},
        {"id": 3, "question": "Price?", "final_answer": ["\\(\\frac{1}{2}\\)"]},
        {"id": 4, "question": "Cost?", "final_answer": ["$5"]},
        {"id": 5, "question": "Costs?", "final_answer": ["$5 and $6"]}))
    solve, roots, half, cost, costs = load(path, answer="final_answer")
    assert (solve.answer, solve.verifier) == ("x=3", "math")
    assert correct(solve, "x = 3") and correct(solve, "3") and not correct(solve, "4")
    assert solve.solution == "Subtract 1.\n\nHalve: x = 3."
    assert roots.answer == "2,-2" and correct(roots, "-2, 2") and not correct(roots, "2")
    assert half.answer == "\\frac{1}{2}" and correct(half, "0.5")
    assert cost.answer == "$5" and correct(cost, "5")
    assert costs.answer == "$5 and $6"


def test_livecodebench_functional_cases_call_the_method_its_metadata_names(
        write_file: WriteFile) -> None:
    """Functional cases: one JSON argument per input line, a JSON output; the name comes from
    `metadata` (JSON text, read through by the dotted path) and is called as a function or as
    a method of Solution."""
    path = write_file("lcb.jsonl", jsonl({
        "question_content": "Return the largest sum of k consecutive numbers.",
        "starter_code": "class Solution:\n    def maxSum(self, nums, k):\n        ",
        "public_test_cases": json.dumps([
            {"input": "[2, 6, 3]\n2", "output": "9", "testtype": "functional"},
            {"input": "[1, 1]\n1", "output": "1", "testtype": "functional"}]),
        "metadata": json.dumps({"func_name": "maxSum"})}))
    (p,) = load(path, question="question_content,starter_code",
                columns={"tests": "public_test_cases", "entry_point": "metadata.func_name"})
    assert "def maxSum(self, nums, k)" in p.public_question() and p.verifier == "python"
    method = ("class Solution:\n    def maxSum(self, nums, k):\n"
              "        return max(sum(nums[i:i + k]) for i in range(len(nums) - k + 1))\n")
    assert correct(p, method)
    assert correct(p, "def maxSum(nums, k):\n    return max(sum(nums[i:i + k]) "
                      "for i in range(len(nums) - k + 1))\n")
    assert not correct(p, method.replace("max(", "min("))
    bad = write_file("bad.jsonl", jsonl({"question": "q", "entry_point": "f", "tests": [
        {"input": "1", "output": "not json", "testtype": "functional"}]}))
    assert_at_line(load_error(bad), bad, 1, "is not JSON")


# ----------------------------------------------------------------------------- where


def test_rows_of_json_written_on_one_line_are_told_apart_in_errors(
        write_file: WriteFile) -> None:
    """json.dump without indent puts every row on line 1: an error there also says which
    row (its item number, or its key in an object of rows); rows on lines of their own do
    not need it."""
    rows = [{"question": "1+1?", "answer": "2"}, {"question": "2+2?"}]
    minified = write_file("mini.json", json.dumps(rows))
    error = load_error(minified)
    assert error.line == 1
    assert str(error).startswith(f"{minified}:1 (item 2): no 'answer' field"), str(error)
    keyed = write_file("keyed.json", json.dumps({"a": rows[0], "b": rows[1]}))
    assert str(load_error(keyed)).startswith(f"{keyed}:1 (key 'b'): "), str(load_error(keyed))
    pretty = write_file("pretty.json", json.dumps(rows, indent=1))
    assert_at_line(load_error(pretty), pretty, 6, "no 'answer' field")
    wrapped = write_file("wrapped.json", json.dumps({"examples": [rows[0], rows[0], rows[1]]}))
    assert str(load_error(wrapped)).startswith(f"{wrapped}:1 (item 3): ")
    assert [p.id for p in load(write_file("ok.json", json.dumps([rows[0], rows[0] | {
        "question": "3+3?"}])))] == ["1", "2"]


@pytest.mark.parametrize("placeholder", ["Not Available", "N/A", "null", "nan", "TBD"])
def test_a_placeholder_answer_is_no_answer(write_file: WriteFile, placeholder: str) -> None:
    """MRBench's Bridge rows hold 'Not Available' where the answer would be: matched as
    text, any student saying 'not available' would solve the problem."""
    path = write_file("p.jsonl", jsonl({"question": "1+1?", "answer": "2"},
                                       {"question": "Explain.", "answer": placeholder}))
    assert_at_line(load_error(path), path, 2, f"'answer' is {placeholder!r}: a placeholder")
    gsm = write_file("g.jsonl", jsonl({"question": "q", "answer": placeholder}))
    assert_at_line(load_error(gsm, pattern="gsm8k"), gsm, 1, "a placeholder")


@pytest.mark.parametrize("answer", ["None", "NA", "unknown", "none of the above"])
def test_words_that_can_be_answers_are_not_placeholders(write_file: WriteFile,
                                                        answer: str) -> None:
    (p,) = load(write_file("p.jsonl", jsonl({"question": "q", "answer": answer})))
    assert p.answer == answer


def test_answer_column_guessed_whatever_its_case(write_file: WriteFile) -> None:
    path = write_file("mr.jsonl", jsonl({"question": "q",
                                         "Ground_Truth_Solution": "3 + 4 = 7\n#### 7"}))
    error = load_error(path)
    assert_at_line(error, path, 1, "is it 'Ground_Truth_Solution'? map it with --answer-field "
                   "Ground_Truth_Solution --answer-pattern gsm8k")


# ----------------------------------------------------------------------------- option columns


@pytest.mark.parametrize(("columns", "answer", "base"), [
    (("opa", "opb", "opc", "opd"), "2", 0),            # MedMCQA: `cop`, counted from 0
    (("choice1", "choice2"), "1", 0),                  # COPA: `label` 0/1
    (("sol1", "sol2"), "1", 0),                        # PIQA
    (("option1", "option2"), "2", 1),                  # Winogrande: "1"/"2"
    (("Option A", "Option B", "Option C"), "C", 0),
])
def test_one_column_per_option_is_pointed_at_when_left_unmapped(
        write_file: WriteFile, columns: tuple[str, ...], answer: str, base: int) -> None:
    """An index or letter answer beside unmapped option columns would load as a number
    (or a word) to match, with no options shown: refused, with the mapping to give."""
    texts = [f"text {i}" for i in range(len(columns))]
    row = {"question": "Which one?", **dict(zip(columns, texts, strict=True)), "label": answer}
    path = write_file("p.jsonl", jsonl(row))
    error = load_error(path, answer="label")
    assert_at_line(error, path, 1, f"--field choices={shlex.quote(','.join(columns))}")
    (p,) = load_problems(str(path), FieldMap(answer="label", index_base=base,
                                             columns={"choices": ",".join(columns)}))
    assert p.verifier == "choice" and p.choices == tuple(texts)
    right = int(answer) - base if answer.isdigit() else ord(answer) - 65
    assert correct(p, texts[right]) and not correct(p, texts[right - 1])


def test_columns_that_only_look_numbered_are_not_options(write_file: WriteFile) -> None:
    (p,) = load(write_file("p.jsonl", jsonl({"question": "q", "answer": "2", "x": 5, "y": 7,
                                             "step1": "a", "step2": "b"})))
    assert p.verifier == "numeric" and p.answer == "2"


def test_empty_answer_cell_points_at_a_filled_answer_like_column(write_file: WriteFile) -> None:
    """AGIEval: multiple-choice rows hold "answer": null and the letter in `label`."""
    path = write_file("agieval.jsonl", jsonl({
        "passage": None, "question": "If x+1=3, x=?", "options": ["(A)1", "(B)2", "(C)3"],
        "label": "B", "answer": None}))
    assert_at_line(load_error(path), path, 1, "'answer' is empty",
                   "is it 'label'? map it with --answer-field label")
    (p,) = load(path, answer="label", columns={"choices": "options"})
    assert p.choices == ("1", "2", "3") and correct(p, "B") and not correct(p, "C")


def test_drop_spans_are_pointed_at_and_are_alternatives(write_file: WriteFile) -> None:
    path = write_file("drop.jsonl", jsonl({
        "passage": "The Bears scored 3 touchdowns and 2 field goals.",
        "question": "How many touchdowns did the Bears score?",
        "answers_spans": {"spans": ["3", "three"], "types": ["number", "number"]}}))
    assert_at_line(load_error(path), path, 1, "--answer-field answers_spans.spans")
    (p,) = load(path, question="passage,question", answer="answers_spans.spans")
    assert correct(p, "3") and correct(p, "three") and not correct(p, "2")


@pytest.mark.parametrize(("name", "rows", "kwargs", "passage"), [
    # ScienceQA: rows keyed by id; the text a question is about is its `hint`.
    ("scienceqa.json", {"1": {
        "question": "Which figure of speech is used in this text?",
        "choices": ["chiasmus", "apostrophe"], "answer": 1,
        "hint": "Sing, O goddess, the anger of Achilles son of Peleus", "image": None,
        "lecture": "Figures of speech are words or phrases that use language in a "
                   "nonliteral way.", "solution": "The text uses apostrophe, a direct "
                                                  "address to an absent person."}},
     {}, "hint"),
    # TabMWP: the table the question is about, as text.
    ("tabmwp.json", {"1": {
        "question": "What is the mean of the numbers?", "answer": "84",
        "table": "Name | Number of coins\nBraden | 76\nCamilla | 94\nMary | 84",
        "table_title": "Coin collections", "solution": "Add them up and divide: 84."}},
     {}, "table"),
    # LogiQA 2.0: the passage is `text`, the options `options`.
    ("logiqa2.jsonl", [{
        "id": 10472, "answer": 2, "text": "All swans are white. Some birds are swans.",
        "question": "Which must be true?", "options": ["All birds are white.",
                                                       "No birds are white.",
                                                       "Some birds are white."]}],
     {"columns": {"choices": "options"}}, "text"),
    # PubMedQA: the abstract's paragraphs, a list, under `CONTEXTS`.
    ("pubmedqa.json", {"21645374": {
        "QUESTION": "Do mitochondria play a role in remodelling lace plant leaves?",
        "CONTEXTS": ["Programmed cell death is the regulated death of cells.",
                     "The lace plant forms perforations by programmed cell death."],
        "final_decision": "yes", "LONG_ANSWER": "Mitochondria play a role in the remodelling "
                                                "of lace plant leaves."}},
     {"answer": "final_decision"}, "CONTEXTS"),
])
def test_passages_under_other_names_are_noted(write_file: WriteFile, name: str, rows: Any,
                                              kwargs: dict[str, Any], passage: str) -> None:
    """A student shown "Which figure of speech is used in this text?" without the text
    cannot answer: the note names the column and the flag that includes it, and that flag
    loads the problem with it. Solutions and lectures (the teacher's) are never named."""
    from sml_cli.problems import loading_notes

    text = json.dumps(rows) if name.endswith(".json") else jsonl(*rows)
    path = write_file(name, text)
    notes = loading_notes(load(path, **kwargs))
    flag = f"--question-field {passage},question"
    assert [n for n in notes if "passage" in n] == [
        f"column {passage!r} looks like the passage the questions are about, but the student "
        f"sees only the question: include it with {flag}"]
    with_passage = load(path, **{**kwargs, "question": f"{passage},question"})
    assert loading_notes(with_passage, field_map(**{**kwargs, "question": f"{passage},question"})
                         ) == []
    assert with_passage[0].question.endswith(load(path, **kwargs)[0].question)


def test_a_text_column_that_repeats_the_question_is_no_passage(write_file: WriteFile) -> None:
    # A training set's `text` is the whole prompt, answer included: never to be shown.
    from sml_cli.problems import loading_notes

    path = write_file("sft.jsonl", jsonl({
        "question": "What is 12 times 12?", "answer": "144",
        "text": "### Question: What is 12 times 12?\n### Answer: 144"}))
    assert loading_notes(load(path)) == []


def test_svamp_body_is_noted_as_the_passage(write_file: WriteFile) -> None:
    from sml_cli.problems import loading_notes

    path = write_file("svamp.jsonl", jsonl({
        "ID": "chal-1", "Body": "Each pack of dvds costs 76 dollars. If there is a discount "
        "of 25 dollars on each pack", "Question": "How much do you have to pay to buy each "
        "pack?", "Answer": 51.0}))
    [note] = loading_notes(load(path))
    assert "--question-field Body,question" in note
    (p,) = load(path, question="Body,Question")
    assert p.question.startswith("Each pack") and correct(p, "51") and p.id == "chal-1"
    assert loading_notes([p]) == []


def test_musr_narrative_python_literal_choices_and_an_answer_index(
        write_file: WriteFile) -> None:
    from sml_cli.problems import loading_notes

    path = write_file("musr.jsonl", jsonl({
        "narrative": "In the quiet town of Elmwood a murder shook the residents; the detective "
        "looked hard at the two suspects.", "question": "Who is the most likely murderer?",
        "choices": "['Mackenzie', 'Ana']", "answer_index": 1, "answer_choice": "Ana"}))
    assert "(is it 'answer_index'? map it with --answer-field answer_index)" in str(
        load_error(path))
    (p,) = load(path, answer="answer_index")
    assert p.choices == ("Mackenzie", "Ana") and p.answer == "B"
    assert correct(p, "Ana") and not correct(p, "A")
    [note] = loading_notes([p])
    assert "--question-field narrative,question" in note


def test_dream_dialogue_lines_and_options_under_choice(write_file: WriteFile) -> None:
    """DREAM: the passage is a list of dialogue lines, the options a list under `choice`,
    the answer the right option's text."""
    from sml_cli.problems import loading_notes

    path = write_file("dream.jsonl", jsonl({
        "id": "4-199", "dialogue": ["W: The movie next Tuesday has been cancelled.",
                                    "M: That's a pity, I was looking forward to it."],
        "question": "How does the man feel?", "choice": ["Relieved.", "Disappointed.",
                                                         "Indifferent."],
        "answer": "Disappointed."}))
    assert "map it with --field choices=choice" in str(load_error(path))
    (p,) = load(path, columns={"choices": "choice"})
    assert p.answer == "B" and correct(p, "Disappointed") and not correct(p, "A")
    [note] = loading_notes([p])
    assert "--question-field dialogue,question" in note
    (joined,) = load(path, question="dialogue,question", columns={"choices": "choice"})
    # The lines one per line, as a reader would see them (not a JSON list).
    assert joined.question.startswith("W: The movie next Tuesday has been cancelled.\nM: ")
    assert "How does the man feel?" in joined.question and "[" not in joined.question
    assert loading_notes([joined]) == []


# ----------------------------------------------------------------------------- --where

HLE_LIKE = [
    {"id": "mc", "question": "Which?\nAnswer Choices:\nA. one\nB. two", "image": "",
     "answer": "B", "answer_type": "multipleChoice", "tags": ["logic", "Hard"]},
    {"id": "num", "question": "Integral of x from 0 to 2?", "image": "", "answer": "2",
     "answer_type": "exactMatch", "tags": ["calculus"]},
    {"id": "pic", "question": "What is in the figure?", "image": "data:image/png;base64,iVBO",
     "answer": "A cat", "answer_type": "exactMatch", "tags": []},
    {"id": "bare", "question": "2+2?", "answer": "4", "answer_type": "exactMatch"},  # no image
]


@pytest.mark.parametrize(("where", "ids"), [
    (["answer_type=exactMatch"], ["num", "pic", "bare"]),
    (["ANSWER_TYPE=exactmatch"], ["num", "pic", "bare"]),   # column and value: any case
    (["image="], ["mc", "num", "bare"]),                    # an empty cell, or none at all
    (["image!="], ["pic"]),                                 # "!=" with nothing: not empty
    (["answer_type!=multipleChoice", "image="], ["num", "bare"]),  # conditions all apply
    (["id=mc", "id=pic"], ["mc", "pic"]),                   # values for one column: any
    (["tags=hard"], ["mc"]),                                # an item of a list cell
])
def test_where_selects_rows(write_file: WriteFile, where: list[str], ids: list[str]) -> None:
    path = write_file("hle.jsonl", jsonl(*HLE_LIKE))
    problems = load_problems(str(path), FieldMap(where=parse_where_options(where)))
    assert [p.id for p in problems] == ids


def test_where_errors_name_the_filter_and_what_the_file_has(write_file: WriteFile) -> None:
    path = write_file("hle.jsonl", jsonl(*HLE_LIKE))
    with pytest.raises(UsageError) as typo:
        load_problems(str(path), FieldMap(where=parse_where_options(["imgae="])))
    assert "--where imgae=" in str(typo.value) and "has a column 'imgae'" in str(typo.value)
    assert "image" in str(typo.value)
    with pytest.raises(UsageError) as nothing:
        load_problems(str(path), FieldMap(where=parse_where_options(["answer_type=mc"])))
    assert "no row of" in str(nothing.value)
    assert "answer_type: exactMatch, multipleChoice" in str(nothing.value)
    for bad in ("=x", "nothing"):
        with pytest.raises(UsageError, match="expected COLUMN=VALUE"):
            parse_where_options([bad])


# MATH's level is text ("Level 4"), Omni-MATH's difficulty a number (6.5).
LEVELLED = [
    {"id": "l1", "question": "a?", "answer": "1", "level": "Level 1", "difficulty": 2.5},
    {"id": "l4", "question": "b?", "answer": "2", "level": "Level 4", "difficulty": 6.5},
    {"id": "l5", "question": "c?", "answer": "3", "level": "Level 5", "difficulty": 7},
    {"id": "l?", "question": "d?", "answer": "4", "level": "Level ?", "difficulty": None},
    {"id": "ls", "question": "e?", "answer": "5", "level": ["Level 2", "Level 5"]},
]


@pytest.mark.parametrize(("where", "ids"), [
    (["level>=4"], ["l4", "l5", "ls"]),          # the number in "Level 4"; any list item
    (["level>4"], ["l5", "ls"]),
    (["level<2"], ["l1"]),                       # "Level ?" holds no number: never kept
    (["difficulty>=5", "difficulty<7"], ["l4"]),  # comparisons on one column all apply
    (["difficulty<=6.5"], ["l1", "l4"]),
    (["DIFFICULTY > 6.5"], ["l5"]),              # spaces and the column's case are free
    (["level>=4", "id!=ls"], ["l4", "l5"]),
])
def test_where_compares_numbers(write_file: WriteFile, where: list[str], ids: list[str]) -> None:
    path = write_file("levels.jsonl", jsonl(*LEVELLED))
    problems = load_problems(str(path), FieldMap(where=parse_where_options(where)))
    assert [p.id for p in problems] == ids


def test_where_comparisons_need_a_number(write_file: WriteFile) -> None:
    with pytest.raises(UsageError, match=r"'level>=hard'.*>= compares numbers"):
        parse_where_options(["level>=hard"])
    assert str(parse_where_options(["difficulty>=6.5"])[0]) == "difficulty>=6.5"
    path = write_file("levels.jsonl", jsonl(*LEVELLED))
    with pytest.raises(UsageError) as nothing:
        load_problems(str(path), FieldMap(where=parse_where_options(["difficulty>9"])))
    assert "--where difficulty>9: no row of" in str(nothing.value)
    result = invoke("problems", "show", str(path), "--where", "level>=5")
    assert result.exit_code == 0, result.output
    assert said(result.output, "2 problems")


def test_where_keeps_ids_of_rows_without_one_stable(write_file: WriteFile) -> None:
    """A row with no id is named by its place in the file, selected or not, so that the
    same row has the same id in a filtered run and an unfiltered one."""
    rows = [{"question": f"{i}+1?", "answer": str(i + 1), "level": f"Level {i % 2}"}
            for i in range(4)]
    path = write_file("p.jsonl", jsonl(*rows))
    assert [p.id for p in load(path)] == ["1", "2", "3", "4"]
    picked = load_problems(str(path), FieldMap(where=parse_where_options(["level=Level 1"])))
    assert [(p.id, p.question) for p in picked] == [("2", "1+1?"), ("4", "3+1?")]


def test_where_on_the_command_line_and_the_image_note(write_file: WriteFile) -> None:
    path = write_file("hle.jsonl", jsonl(*HLE_LIKE))
    shown = invoke("problems", "show", str(path))
    assert shown.exit_code == 0
    assert said(shown.stderr, "1 of 4 problems has an image in 'image'")
    assert said(shown.stderr, "--where image=")
    text_only = invoke("problems", "show", str(path), "--where", "image=", "--json")
    assert text_only.exit_code == 0 and "an image" not in text_only.stderr
    assert [json.loads(line)["id"] for line in text_only.stdout.splitlines()] == [
        "mc", "num", "bare"]
    bad = invoke("problems", "show", str(path), "--where", "kind=x")
    assert bad.exit_code == 2 and said(bad.output, "--where kind=x: no row of")


def test_where_on_a_parquet_image_struct_tells_rows_with_an_image_from_the_others(
        tmp_path: Path) -> None:
    """ScienceQA's Parquet: `image` is the {bytes, path} struct of `datasets`' Image
    feature, None or all-empty where a problem has no image. Reading it as text (for
    --where, for the values an error lists) met bytes inside an object: a traceback once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    images = {"png": {"bytes": b"\x89PNG\r\n", "path": None}, "none": None,
              "nulls": {"bytes": None, "path": None}, "empty": {"bytes": b"", "path": ""},
              "named": {"bytes": None, "path": "map.png"}}
    path = tmp_path / "scienceqa.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"id": name, "question": f"Which state is farthest north ({name})?",
         "choices": ["West Virginia", "Louisiana"], "answer": 0, "image": image}
        for name, image in images.items()]), path)
    without = FieldMap(where=parse_where_options(["image="]))
    assert [p.id for p in load_problems(str(path), without)] == ["none", "nulls", "empty"]
    with_image = FieldMap(where=parse_where_options(["image!="]))
    assert [p.id for p in load_problems(str(path), with_image)] == ["png", "named"]
    with pytest.raises(UsageError) as nothing:  # the values seen are described, not dumped
        load_problems(str(path), FieldMap(where=parse_where_options(["image=cat"])))
    assert '"bytes": "<6 bytes>"' in str(nothing.value)
    for args in (["problems", "show", str(path), "--where", "image="],
                 ["problems", "show", str(path), "--where", "image!="],
                 ["eval", "--problems", str(path), "--where", "image=", "--dry-run"],
                 ["eval", "--problems", str(path), "--dry-run"]):
        result = invoke(*args)
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    # The image note counts the rows that have one (an empty struct is none), and is not
    # made once --where has chosen rows by the image column.
    shown = invoke("problems", "show", str(path))
    assert said(shown.stderr, "2 of 5 problems have an image in 'image'")
    assert "an image" not in invoke("problems", "show", str(path), "--where",
                                    "image!=").stderr


def test_cell_text_describes_bytes_wherever_they_are_nested() -> None:
    import datetime

    from sml_cli.cells import blank, cell_text

    assert cell_text(b"\x00" * 2048) == "<2,048 bytes>"
    assert cell_text(b"") is None
    assert cell_text({"bytes": b"ab", "path": None}) == '{"bytes": "<2 bytes>", "path": null}'
    assert cell_text([{"img": [bytearray(3)]}, datetime.date(2024, 1, 2)]) == \
        '[{"img": ["<3 bytes>"]}, "2024-01-02"]'
    assert blank({"bytes": b"", "path": ""}) and blank({"bytes": None, "path": None})
    assert blank([None, "  "]) and blank({}) and blank(float("nan"))
    assert not blank({"bytes": None, "path": "a.png"}) and not blank(0) and not blank(False)


def test_images_are_described_not_copied_into_metadata(tmp_path: Path,
                                                        write_file: WriteFile) -> None:
    """A Parquet image column holds {bytes, path}; HLE inlines base64 data URLs. Neither is
    shown to anyone, and copied whole they would swell every stored problem and export."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    png = b"\x89PNG\r\n\x1a\n" + bytes(20_000)
    path = tmp_path / "vision.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"question": "What is shown?", "answer": "a cat",
         "image": {"bytes": png, "path": "cat.png"}}]), path)
    (p,) = load(path)
    assert p.meta["image"] == {"bytes": "<20,008 bytes>", "path": "cat.png"}
    url = "data:image/png;base64," + "iVBORw0KGgo" * 500
    (q,) = load(write_file("hle.jsonl", jsonl({"question": "q?", "answer": "2", "image": url,
                                               "small": "data:,x"})))
    assert q.meta["image"] == f"<image/png: {len(url):,} characters>"
    assert q.meta["small"] == "data:,x"  # short text stays as it is
    assert len(json.dumps(p.to_record())) < 2_000
