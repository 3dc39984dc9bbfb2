"""Problem sets: loading, validation and the built-in sets (SPEC §2).

A loaded problem is complete and checked: its verifier is resolved (never `auto`), its
`choice` answer is a valid option, its `python` tests exist. Loading either returns every
problem of a file or raises `ProblemFileError` naming the file and line; nothing is written
anywhere by a load, so a bad file never leaves half a run behind. Rows come from
`datafiles`; which column is which field, from `mapping`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import re
import shlex
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from sml_cli.cells import blank, bytes_text, cell_text, clipped, joined_text, list_cell
from sml_cli.code_tests import (
    HARNESS_NAMES,
    CallBasedCases,
    call_check_function,
    functions_called,
    modules_missing,
    tests_text,
)
from sml_cli.datafiles import (
    SNIFFED_SUFFIX,
    SPLIT_COLUMN,
    data_files,
    data_suffix,
    json_value_problem,
    read_rows,
    source_exists,
)
from sml_cli.errors import ProblemFileError, UsageError
from sml_cli.mapping import (
    _MISSING,
    ANSWER_IS,
    CONTEXT_COLUMN_GUESSES,
    PROBE_ROWS,
    FieldMap,
    Remedy,
    RowSelector,
    _get,
    column_words,
    has_column,
    left_out_passage,
    lookup_columns,
    missing_column,
    shell_options,
    suggesting_options,
    with_options,
)

VERIFIERS = ("numeric", "exact", "math", "choice", "regex", "python", "auto")
# The verifier of a problem with no reference answer (`sessions import
# --allow-missing-answers`): nothing checks its attempts. Not one of VERIFIERS: a problem set
# cannot ask for it.
UNVERIFIED = "none"
# What datasets write in an answer cell that has no answer (MRBench's Bridge rows: "Not
# Available"). Read as no answer, never as the text to match. Only unambiguous ones: "None",
# "NA" (sodium) or "unknown" can be real answers.
PLACEHOLDER_ANSWERS = frozenset({"n/a", "not available", "not applicable", "nan", "null",
                                 "tbd"})
BUILTIN_PACKAGE = "sml_cli.data"


@dataclass(frozen=True)
class Problem:
    """One task. `question` and `choices` are public; everything else is private to the
    teacher (per condition) and the verifier."""

    id: str
    question: str
    answer: str | None
    verifier: str
    solution: str | None = None
    choices: tuple[str, ...] | None = None
    tests: str | None = None
    notes: str | None = None
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Other answers that count as right (QA sets list them: NQ-open's answer list,
    # TriviaQA's aliases). Private like the answer; the guard treats each as the answer.
    aliases: tuple[str, ...] = ()

    @property
    def answers(self) -> tuple[str, ...]:
        """The reference answer and its aliases: what the verifier and the guard check."""
        return ((self.answer,) if self.answer else ()) + self.aliases

    @property
    def key(self) -> str:
        """Content hash: the same problem loaded from anywhere is one row in the database."""
        fields: list[Any] = [self.question, self.answer, self.verifier, self.solution,
                             self.choices, self.tests, self.notes]
        if self.aliases:  # (only then, so that keys stored before aliases existed still hold)
            fields.append(list(self.aliases))
        payload = json.dumps(fields, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def private_fields(self) -> dict[str, str]:
        """Every non-empty field the student must never see."""
        private = {
            "answer": self.answer, "aliases": "\n".join(self.aliases), "solution": self.solution,
            "tests": self.tests, "notes": self.notes,
        }
        return {k: v for k, v in private.items() if v}

    def public_question(self) -> str:
        """The task as the student receives it (question plus lettered options, if any)."""
        if not self.choices:
            return self.question
        options = "\n".join(
            f"{letter}) {text}" for letter, text in zip(_letters(), self.choices, strict=False)
        )
        return f"{self.question}\n\n{options}"

    def to_row(self, *, private: bool = True) -> dict[str, Any]:
        """The problem as a row of a problem file (its fields first, then the free-form
        columns kept beside them, for `--where`), which loads back as this same problem. Not
        private: only what the student sees (id, question, choices)."""
        if not private:
            return {"id": self.id, "question": self.question,
                    **({"choices": list(self.choices)} if self.choices else {})}
        fields = {"id": self.id, "question": self.question, "answer": self.answer,
                  "aliases": list(self.aliases), "solution": self.solution,
                  "verifier": self.verifier, "choices": list(self.choices or ()),
                  "tests": self.tests, "notes": self.notes}
        given = {k: v for k, v in fields.items() if v}
        return {**given, **{k: v for k, v in self.meta.items() if k not in given}}

    def to_record(self) -> dict[str, Any]:
        return {
            "key": self.key, "source": self.source, "id": self.id, "question": self.question,
            "answer": self.answer, "solution": self.solution, "verifier": self.verifier,
            "choices": json.dumps(list(self.choices)) if self.choices else None,
            "tests": self.tests, "notes": self.notes,
            "meta": json.dumps(self.meta, ensure_ascii=False, default=str) if self.meta else None,
            "aliases": json.dumps(list(self.aliases), ensure_ascii=False) if self.aliases else None,
        }

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> Problem:
        return cls(
            id=row["id"], question=row["question"], answer=row["answer"],
            verifier=row["verifier"], solution=row["solution"],
            choices=tuple(json.loads(row["choices"])) if row["choices"] else None,
            tests=row["tests"], notes=row["notes"], source=row["source"] or "",
            meta=json.loads(row["meta"]) if row.get("meta") else {},
            aliases=tuple(json.loads(row["aliases"])) if row.get("aliases") else (),
        )


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _letters() -> Iterator[str]:
    return iter(LETTERS)


# Named `--answer-pattern`s for the layouts public sets use most.
ANSWER_PATTERN_PRESETS: dict[str, str] = {
    "boxed": "the last \\boxed{…} (MATH)",
    "gsm8k": "the text after '####' (GSM8K)",
    "answer-is": "the text after the last 'The answer is' (MetaMathQA, MMLU-Pro's CoT)",
    "last-line": "the last non-empty line (MathDial's ground_truth)",
    "last-number": "the last number in the text",
}

# ----------------------------------------------------------------------------- built-in sets


@dataclass(frozen=True)
class BuiltinSet:
    name: str
    filename: str
    description: str


BUILTIN_SETS: dict[str, BuiltinSet] = {
    s.name: s
    for s in [
        BuiltinSet(
            "arithmetic", "arithmetic.jsonl",
            "Multi-step arithmetic word problems written for sml; answers checked by computation",
        ),
        BuiltinSet(
            "python", "python.jsonl",
            "Small Python functions to write, checked by running tests in a sandbox",
        ),
    ]
}


def builtin_path(name: str) -> Path:
    return Path(str(resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_SETS[name].filename)))


def resolve_source(spec: str) -> tuple[str, Path]:
    """A built-in set name, a file or folder path, or a quoted glob → (source label, path)."""
    if spec in BUILTIN_SETS:
        return spec, builtin_path(spec)
    path = Path(spec)
    if not source_exists(path):
        known = ", ".join(BUILTIN_SETS)
        raise UsageError(
            f"{spec}: no such problem file, and not a built-in set (built-in: {known})"
        )
    return str(path), path


def load_problems(
    spec: str, fields: FieldMap | None = None, *, limit: int | None = None
) -> list[Problem]:
    """Load and validate a whole problem set (built-in name or file)."""
    fields = fields or FieldMap()
    try:
        return suggesting_options(
            lambda remedy, probe_rows: _load_problems(
                spec, with_options(fields, remedy), limit=limit, probe_rows=probe_rows),
            lambda loaded, remedy: _passage_option(loaded, with_options(fields, remedy)))
    except _GuessedIdRepeats:
        # (A column such as `qid` that names a row of one file may name a question asked
        # several times in another: such rows are numbered, as rows without ids are.)
        return load_problems(spec, replace(fields, guess_ids=False), limit=limit)


def _file_id(file: Path, files: list[Path]) -> str:
    """A file's path from the folder above the files' common one: MATH/test/algebra/1.json
    among MATH/test's files is "test/algebra/1.json"."""
    root = Path(os.path.commonpath([str(f) for f in files])).parent
    return file.relative_to(root).as_posix()


class _GuessedIdRepeats(Exception):
    """A column guessed to hold the rows' ids holds one value twice."""


def _load_problems(spec: str, fields: FieldMap, *, limit: int | None = None,
                   probe_rows: int | None = None) -> list[Problem]:
    """The problems in a file; only (about) its first `probe_rows` rows, if given."""
    source, path = resolve_source(spec)
    pattern = _compile_answer_pattern(fields.answer_pattern)
    problems: list[Problem] = []
    seen: dict[str, tuple[Path, int]] = {}
    files = data_files(path)
    selector = RowSelector(fields.where) if fields.where else None
    position = 0  # of the row in the file(s): a row without an id is named by it
    for file in files:
        rows: Iterator[tuple[int, dict[str, Any]]] = iter(read_rows(file, fields.header))
        file_id = None
        if len(files) > 1 and file.suffix.casefold() == ".json":
            # One problem per file (MATH's folders): a row without an id is named by its file,
            # as MATH-500's unique_id names it ("test/algebra/1.json"), not by its position.
            head = list(itertools.islice(rows, 2))
            if len(head) == 1:
                file_id = _file_id(file, files)
            rows = itertools.chain(head, rows)
        for line, row in rows:
            position += 1
            if probe_rows is not None and position > probe_rows and problems:
                return problems
            if selector is not None and not selector.keeps(row):
                continue
            problem = _build_problem(row, line, file, fields, pattern, source,
                                     default_id=file_id or position)
            if problem.id in seen:
                if fields.guessing_ids:
                    raise _GuessedIdRepeats
                first, first_line = seen[problem.id]
                where = f"line {first_line}" + (f" of {first}" if first != file else "")
                raise ProblemFileError(
                    str(file), f"duplicate id {problem.id!r} (first used on {where}); ids name "
                    "problems in results and --problem, so they must be unique: map a unique "
                    "column with --field id=COLUMN",
                    line,
                )
            seen[problem.id] = (file, line)
            problems.append(problem)
    if selector is not None and position:
        selector.check(path)
    if len(files) > 1 and not problems:
        raise ProblemFileError(str(path), "no problems in its data files")
    if not problems:
        empty = path.stat().st_size == 0
        raise ProblemFileError(
            str(path),
            "the file is empty" if empty else "no problems in file (only blank lines or a header"
            + ("; if its one line is a problem, the file has no header row: name its columns "
               "with --columns, e.g. --columns question,answer)"
               if data_suffix(path) in (".csv", ".tsv") and not fields.header else ")"),
        )
    return problems[:limit] if limit else problems




# Columns holding an image a problem is about (HLE, MathVista, ScienceQA): text-only here.
IMAGE_COLUMN_GUESSES = ("image", "images", "img", "figure", "image_path", "decoded_image",
                        "picture", "image_url")


def loading_notes(problems: list[Problem], fields: FieldMap | None = None) -> list[str]:
    """What a researcher should know about a loaded set before spending model calls on it:
    problems from several splits of a dataset, a passage column the student will not see,
    images it will not see either, and an answer key that always names the same option (a
    student answering "A" every time would score 100%); that a `.txt` file was read as the
    JSON Lines it holds; and code tests that cannot pass."""
    fields = fields or FieldMap()
    notes: list[str] = []
    for source in dict.fromkeys(p.source for p in problems):
        if data_suffix(Path(source)) == SNIFFED_SUFFIX:
            notes.append(f"{source} is read as JSON Lines (its lines are JSON objects)")
    splits = Counter(str(p.meta[SPLIT_COLUMN]) for p in problems
                     if p.meta.get(SPLIT_COLUMN) is not None)
    if len(splits) > 1:
        counted = ", ".join(f"{name} {n}" for name, n in splits.items())
        notes.append(f"the problems come from several splits ({counted}); evaluate on one "
                     f"with --where {SPLIT_COLUMN}="
                     + shlex.quote("test" if "test" in splits else next(iter(splits))))
    # (A `--where` on the image column, `image!=` say, has chosen the rows already.)
    filtered = {f.column.casefold() for f in fields.where}
    pictured = Counter(
        key for problem in problems for key, value in problem.meta.items()
        if key.casefold() in IMAGE_COLUMN_GUESSES and key.casefold() not in filtered
        and not blank(value))
    if pictured:
        column, n = pictured.most_common(1)[0]
        notes.append(
            f"{n} of {len(problems)} problems {'has' if n == 1 else 'have'} an image in "
            f"{column!r}, which no one is shown (sml sends text): leave them out with --where "
            + shlex.quote(f"{column}="))
    passage = _passage_option(problems, fields)
    if passage:
        column = passage[0][1].split(",")[0]
        notes.append(
            f"column {column!r} looks like the passage the questions are about, but the "
            f"student sees only the question: include it with {shell_options(passage)}")
    letters = Counter(p.answer for p in problems if p.verifier == "choice")
    if len(letters) == 1 and not fields.shuffle_choices:
        (letter, n), = letters.items()
        if n >= 5:
            notes.append(
                f"the right option is ({letter}) in all {n} multiple-choice problems, so a "
                f"student that always answers {letter} scores 100%: --shuffle-choices gives "
                "each problem's options an order of their own (seeded by its content)")
    return notes + _code_notes(problems, fields)


def _install_line(modules: str) -> str:
    """The command that installs `modules` (comma-separated) into the Python that runs the
    tests, whether sml runs from a project or as a `uv tool`."""
    names = " ".join(m.strip() for m in modules.split(","))
    return (f"uv pip install --python {shlex.quote(sys.executable)} {names}; a module's "
            "package may be named otherwise: sklearn is scikit-learn")


# How many code problems the notes on their tests read (each one's tests are parsed: a set
# of thousands would take seconds).
CODE_NOTE_PROBLEMS = 500


def _code_notes(problems: list[Problem], fields: FieldMap) -> list[str]:
    """What makes code problems fail whatever the student writes: tests that import a
    module the Python running them lacks (MBPP+'s and HumanEval+'s numpy), and a function
    the tests call that the question never names (MBPP asks to "find the shared elements
    from the given two lists" and tests similar_elements)."""
    coded = [p for p in problems if p.verifier == "python" and p.tests]
    read = coded[:CODE_NOTE_PROBLEMS]
    if not read:
        return []
    of = f"{len(read)}" if len(read) == len(coded) else f"the first {len(read)}"
    notes: list[str] = []
    lacking: dict[str, list[str]] = {}
    unnamed: list[tuple[Problem, str]] = []
    for problem in read:
        tests = problem.tests or ""
        lacking[problem.id] = modules_missing(tests)
        if _may_call_unnamed(problem):
            name = next((name for name in functions_called(tests)
                         if not _names(problem.question, name)), None)
            if name:
                unnamed.append((problem, name))
    mapped = fields.column("tests")
    other_tests = _other_tests(read[:50], mapped)
    failing = [p for p in read if lacking[p.id]]
    if failing:
        modules = ", ".join(dict.fromkeys(m for p in failing for m in lacking[p.id]))
        runnable = next((column for column, tests in other_tests if not modules_missing(tests)),
                        None)
        notes.append(
            f"the tests of {len(failing)} of {of} code problems import {modules}, which the "
            "Python that runs the tests does not have: every attempt at them fails; install "
            f"it where sml runs ({_install_line(modules)})"
            + (f", or map the tests in {runnable!r} with --field tests={shlex.quote(runnable)}"
               if runnable else ""))
    else:
        fuller = next(((column, tests) for column, tests in other_tests
                       if len(tests) > len(read[0].tests or "") and modules_missing(tests)),
                      None)
        if fuller:  # (why the suggested options mapped the other tests)
            notes.append(
                f"column {fuller[0]!r} holds fuller tests than {mapped!r}, but they import "
                f"{', '.join(modules_missing(fuller[1]))}, which the Python that runs the "
                "tests does not have: to use them, install it where sml runs and map them "
                f"with --field tests={shlex.quote(fuller[0])}")
    if unnamed:
        problem, name = unnamed[0]
        shown = _first_test_option(problem, name, fields)
        notes.append(
            f"the tests of {len(unnamed)} of {of} code problems call a function the question "
            f"never names (the first, problem {problem.id!r}, calls {name}), so the student "
            "cannot know what to call it: "
            + (f"show the first test with the question: {shell_options(shown)}" if shown else
               f"show its name with the question: --question-field "
               f"{shlex.quote(fields.question + ',COLUMN')}"))
    return notes


# What a call looks like in test code: a name, then "(".
_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")


def _names(question: str, name: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", question) is not None


def _may_call_unnamed(problem: Problem) -> bool:
    """Whether a problem's tests call anything its question does not name, as far as the
    text tells: cheap, so that only those are parsed (a set may hold thousands)."""
    called = set(_CALL.findall(problem.tests or "")) - HARNESS_NAMES
    return any(not _names(problem.question, name) for name in called)


def _other_tests(problems: list[Problem], mapped: str) -> list[tuple[str, str]]:
    """Test columns left unmapped beside the mapped one, with the first problem's tests in
    each: MBPP+ keeps its base asserts in `test_list` and its fuller tests in `test`."""
    found: dict[str, str] = {}
    for problem in problems:
        for key, value in problem.meta.items():
            if key.casefold() in TEST_COLUMN_GUESSES and key != mapped and key not in found:
                try:
                    found[key] = tests_text(value) or ""
                except ValueError:
                    continue
    return [(column, tests) for column, tests in found.items() if tests]


def _first_test_option(problem: Problem, name: str, fields: FieldMap) -> Remedy:
    """The --question-field that shows a problem's first test (which calls `name`) with its
    question, tried on the set's first rows: the mapped tests' first item (MBPP's
    test_list.0), else the first of another column's list that calls it (MBPP+'s test_list,
    beside its mapped `test`). Nothing when no such option loads."""
    if not problem.source:
        return ()
    columns = [fields.column("tests")] + [
        key for key, value in problem.meta.items()
        if isinstance(value, list) and value and isinstance(value[0], str) and name in value[0]]
    for column in dict.fromkeys(columns):
        option: Remedy = (("--question-field", f"{fields.question},{column}.0"),)
        try:  # (ids are beside the point here: rows are numbered, never refused for them)
            shown = _load_problems(problem.source, replace(with_options(fields, option),
                                                           guess_ids=False),
                                   probe_rows=PROBE_ROWS)
        except (ProblemFileError, UsageError):
            continue
        same = [p for p in shown if problem.question in p.question]
        if not same or any(name in p.question for p in same):
            return option
    return ()


def _passage_option(problems: list[Problem], fields: FieldMap) -> Remedy:
    """The --question-field that puts a passage column the questions leave out (found in
    their first 50) before them, or nothing."""
    passages = Counter(
        key for problem in problems[:50] for key, value in problem.meta.items()
        if key.casefold() in CONTEXT_COLUMN_GUESSES
        and left_out_passage(value, problem.question)
    )
    if not passages:
        return ()
    column = passages.most_common(1)[0][0]
    return (("--question-field", f"{column},{fields.question}"),)


def find_problem(problems: list[Problem], problem_id: str) -> Problem:
    for p in problems:
        if p.id == problem_id:
            return p
    sample = ", ".join(p.id for p in problems[:5])
    raise UsageError(
        f"--problem {problem_id!r}: no problem with that id (ids look like: {sample}, …)"
    )


# ----------------------------------------------------------------------------- validation


def _compile_answer_pattern(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None or pattern in ANSWER_PATTERN_PRESETS:
        return None
    import difflib

    flag = shell_options((("--answer-pattern", pattern),))
    presets = ", ".join(ANSWER_PATTERN_PRESETS)
    try:
        compiled = re.compile(pattern, re.DOTALL | re.MULTILINE)
    except re.error as exc:
        problem = f"is not a valid regular expression ({exc})"
    else:
        if compiled.groups >= 1:
            return compiled
        problem = (r"has no capture group around the final answer (a regex needs one, e.g. "
                   r"'####\s*(.+)')")
    # A near miss of a preset's name (`boxd`) is a typo, not a regex without a group.
    close = difflib.get_close_matches(pattern, ANSWER_PATTERN_PRESETS, n=1)
    if close:
        raise UsageError(f"{flag}: did you mean {close[0]}? (Taken as a regex, the pattern "
                         f"{problem}; the presets: {presets})")
    raise UsageError(f"{flag}: the pattern {problem}; or use a preset: {presets}")


_GSM8K_ANSWER = re.compile(r"####\s*([^\n]*\S)")


def _after_answer_is(text: str) -> str | None:
    matches = ANSWER_IS.findall(text)
    if not matches:
        return None
    answer = matches[-1].strip()
    answer = extract_boxed(answer) or answer
    answer = re.sub(r"(?<=[^.])\.$", "", answer).strip()
    return answer.strip("$").strip() or None


def extract_with_pattern(
    text: str, pattern: str, compiled: re.Pattern[str] | None
) -> str | None:
    """The final answer inside a longer answer field, per `--answer-pattern`."""
    if pattern == "boxed":
        return extract_boxed(text)
    if pattern == "gsm8k":
        matches = _GSM8K_ANSWER.findall(text)
        return matches[-1].strip() if matches else None
    if pattern == "answer-is":
        return _after_answer_is(text)
    if pattern == "last-line":
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        # (a GSM8K-style "#### 72" last line is its answer, 72; so is "The answer is: 72")
        if lines and ANSWER_IS.match(lines[-1]):
            return _after_answer_is(lines[-1])
        return re.sub(r"^####\s*", "", lines[-1]) or None if lines else None
    if pattern == "last-number":
        from sml_cli.numbers import find_numbers

        numbers = find_numbers(text, words=False)
        return numbers[-1].text if numbers else None
    assert compiled is not None
    match = compiled.search(text)
    return match.group(1).strip() if match and match.group(1) else None


@dataclass(frozen=True)
class _Choices:
    texts: tuple[str, ...]
    labels: tuple[str, ...] | None  # ARC's own option labels ("A".."D" or "1".."4")
    best: int | None = None  # the top-scored option, when options come with scores (BIG-bench)


_OWN_LETTER_PREFIX = re.compile(r"\s*\(?([A-Za-z])\s*[).:]\s*")


@dataclass(frozen=True)
class _Layout:
    """Options as a dataset lays them out, brought to a list: the raw option values, their
    own labels if any, and the top-scored one for options that come with scores."""

    values: list[Any]
    labels: tuple[str, ...] | None = None
    best: int | None = None
    keyed: bool = False  # {"A": "…"}: the labels are the object's keys (MedQA)


def _option_layout(value: Any) -> _Layout | None:
    """Any of the option layouts public sets use, or None when `value` is none of them: one
    labelled text ("a ) 12 , b ) 15", MathQA), {text: score} (BIG-bench), {"label": […],
    "text": […]} (ARC), {"A": "…"} (MedQA), [{"label", "text"}] (CommonsenseQA), a list."""
    if isinstance(value, str):
        options = _options_in_text(value)
        return _Layout(options) if options is not None else None
    if _scored_options(value):
        scores = list(value.values())
        top = max(scores)
        return _Layout(list(value), best=scores.index(top) if scores.count(top) == 1 else None)
    if isinstance(value, dict) and "text" in value:
        raw_labels = list_cell(value.get("label"))
        texts = list_cell(value["text"])
        if not isinstance(texts, list):
            return None
        labels = (tuple(cell_text(v) or "" for v in raw_labels)
                  if isinstance(raw_labels, list) and len(raw_labels) == len(texts) else None)
        return _Layout(texts, labels)
    if _labelled_options(value):
        return _Layout(list(value.values()), tuple(str(k) for k in value), keyed=True)
    return _option_objects(value) or (_Layout(value) if isinstance(value, list) else None)


# The keys an option object holds its text and its label under: CommonsenseQA's and ARC's
# {label, text}, TAL-SCQ5K's {aoVal, content}, {key, value}, {letter, option}, … (casefolded)
OPTION_TEXT_KEYS = ("text", "content", "value", "option", "option_text", "choice",
                    "choice_text", "answer", "answer_text", "description")
OPTION_LABEL_KEYS = ("label", "key", "letter", "aoval", "option_label", "choice_label",
                     "option_id", "option_key", "symbol", "id")


def _option_objects(value: Any) -> _Layout | None:
    """Options as a list of objects each holding its text, and its label if any, under one
    of the keys above (each object may come wrapped in a one-item list, as TAL-SCQ5K's do).
    Objects of two keys, a known label and another, hold their text under the other."""
    if not isinstance(value, list) or not value:
        return None
    items = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in value]
    if not all(isinstance(v, dict) and v for v in items):
        return None
    objects = [{str(k).casefold(): v for k, v in item.items()} for item in items]
    common = set(objects[0]).intersection(*objects[1:])
    label_key = next((k for k in OPTION_LABEL_KEYS if k in common), None)
    text_key = next((k for k in OPTION_TEXT_KEYS if k in common and k != label_key), None)
    if text_key is None and label_key is not None and all(len(o) == 2 for o in objects):
        text_key = next((k for k in common if k != label_key), None)
    if text_key is None or not all(o[text_key] is None or isinstance(o[text_key], (str, int, float))
                                   for o in objects):
        return None
    labels = [cell_text(o[label_key]) or "" for o in objects] if label_key else None
    # (Labels are short, "A" or "2", and tell the options apart; an id column is no label.)
    if labels and not (all(0 < len(label) <= 3 for label in labels)
                       and len(set(labels)) == len(labels)):
        labels = None
    return _Layout([o[text_key] for o in objects], tuple(labels) if labels else None)


def _choices(value: Any, path: Path, line: int) -> _Choices | None:
    if value is None:
        return None
    value = list_cell(value)
    if isinstance(value, str) and _options_in_text(value) is None:
        raise ProblemFileError(
            str(path), "'choices' must be a list (or a JSON array in a CSV cell, or "
            "labelled options in one text: \"a ) 12 , b ) 15\")", line
        )
    problem = json_value_problem(value)
    if problem:
        raise ProblemFileError(str(path), f"'choices': {problem}", line)
    layout = _option_layout(value)
    if layout is None or not layout.values:
        raise ProblemFileError(str(path), "'choices' must be a non-empty list", line)
    if len(layout.values) > 26:
        raise ProblemFileError(str(path), "'choices' may hold at most 26 options", line)
    texts = [cell_text(v) or "" for v in layout.values]
    # AQuA-style options carry their own letters ("A)12", "B)15"): drop them, the student's
    # view letters the options itself.
    prefixes = [_OWN_LETTER_PREFIX.match(t) for t in texts]
    if all(m and m.group(1).upper() == letter and m.end() < len(t)
           for m, letter, t in zip(prefixes, _letters(), texts, strict=False)):
        texts = [t[m.end():].strip() for m, t in zip(prefixes, texts, strict=True) if m]
    return _Choices(tuple(texts), layout.labels, layout.best)


def _scored_options(value: Any) -> bool:
    """Options as {text: score} (BIG-bench's `target_scores`): numbers for values, and keys
    that are the options' texts, not their letters ({"A": 5} is option A, the number 5)."""
    return (isinstance(value, dict) and len(value) >= 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in value.values())
            and not all(isinstance(k, str) and len(k.strip()) == 1 for k in value))


_OPTION_MARK = re.compile(r"(?:^|(?<=[\s,;]))\(?([A-Za-z])\s*[).:]")


def _options_in_text(text: str) -> list[str] | None:
    """Options written into one text with their letters, as MathQA publishes them
    ("a ) rs . 400 , b ) rs . 300 , …") or "(A) 5 (B) 6": the text must open with the first
    letter and the letters must follow in order, or it is not a list of options."""
    marks: list[re.Match[str]] = []
    letters = _letters()
    expected = next(letters, "")
    for mark in _OPTION_MARK.finditer(text):
        if mark.group(1).upper() == expected and (marks or not text[:mark.start()].strip()):
            marks.append(mark)
            expected = next(letters, "")
    if len(marks) < 2:
        return None
    ends = [m.start() for m in marks[1:]] + [len(text)]
    options = [text[m.end():end].strip().rstrip(",;").strip() for m, end in zip(marks, ends,
                                                                                strict=True)]
    return options if all(options) else None


_LETTER_ANSWER = re.compile(r"\(?([A-Za-z])\)?")
_FIRST_OPTION = re.compile(r"(?:^|(?<=\s))\(?A[).:]")


class EmbeddedOptions(NamedTuple):
    stem: str  # the question before its options
    options: tuple[str, ...]
    answer: int  # the index of the option the answer letter names


def options_in_question(question: str, answer: str) -> EmbeddedOptions | None:
    """For an answer that is an option letter ("(B)", BIG-Bench Hard's targets) of options
    written into the question ("…\nOptions:\n(A) rubber ship\n(B) …"): the question before
    them, the options and the answer's index, so that "B", "(B) terrible rubber ship" and
    the option's text all answer it. None when the answer is no letter or the question lists
    no such options."""
    letter = _LETTER_ANSWER.fullmatch(answer.strip())
    if letter is None:
        return None
    question = _LATEX_SPACING.sub(" ", _LATEX_OPTION_MARK.sub(r" (\1) ", question))
    first = _FIRST_OPTION.search(question)
    if first is None:
        return None
    listed = question[first.start():]
    stem = question[: first.start()]
    if stem.count("$") % 2:  # options set in maths, as AoPS writes them: they end with it
        listed = listed.split("$", 1)[0]
        stem = stem[: stem.rfind("$")]
    options = _options_in_text(listed)
    wanted = ord(letter.group(1).upper()) - ord("A")
    if options is None or wanted >= len(options):
        return None
    return EmbeddedOptions(stem.strip(), tuple(options), wanted)


# AMC problems as AoPS (and LiveBench) write their options: "$\textbf{(A) }3\qquad
# \textbf{(B) }4…$", "\mathrm{(C)}\ 5"
_LATEX_OPTION_MARK = re.compile(r"\\(?:textbf|mathrm|mathbf|text)\s*\{\s*\(([A-Z])\)\s*\}")
_LATEX_SPACING = re.compile(r"\\q?quad(?![A-Za-z])|\\[ ,;:!]")


def _question_text(value: Any) -> str | None:
    """The question from a cell: text, or a chat-format prompt (TRL's `prompt` column, a
    list of {role, content} messages), whose user messages are the question — the student
    gets sml's own system prompt instead of the dataset's."""
    if hasattr(value, "tolist") or (isinstance(value, str) and value.lstrip().startswith("[{")):
        value = list_cell(value)  # a CSV cell holding the messages as JSON
    if isinstance(value, list) and value and all(
            isinstance(m, dict) and "content" in m for m in value):
        user = [m["content"] for m in value
                if m.get("role", "user") == "user" and isinstance(m["content"], str)]
        return "\n\n".join(t.strip() for t in user if t.strip()) or None
    return joined_text(value)


def extract_boxed(text: str) -> str | None:
    """The content of the last \\boxed{…} in `text`, honouring nested braces."""
    start = text.rfind("\\boxed")
    while start != -1:
        brace = text.find("{", start)
        if brace != -1 and text[start + len("\\boxed") : brace].strip() == "":
            depth = 0
            for i in range(brace, len(text)):
                if text[i] == "{":
                    depth += 1
                elif text[i] == "}":
                    depth -= 1
                    if depth == 0:
                        return text[brace + 1 : i].strip()
        start = text.rfind("\\boxed", 0, start)
    return None


def _worked_solution_problem(answer: str, fields: FieldMap) -> str | None:
    """Why an answer of several lines can never be matched (a student's attempt is one line:
    "Final answer: X" runs to the end of its line), with the flag that extracts the real
    answer from it — GSM8K's answers, loaded as published, are worked solutions."""
    lines = [ln for ln in answer.splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    if fields.answer_pattern is not None:
        flag = shell_options((("--answer-pattern", fields.answer_pattern),))
        return (f"{flag} extracted an answer of {len(lines)} lines, which no one-line attempt "
                "can match: make its group capture the final answer only")
    # (MetaMathQA's GSM8K rows end "#### 10\nThe answer is: 10"; its MATH rows have no ####)
    if ANSWER_IS.search(answer):
        fix = "--answer-pattern answer-is (the text after the last 'The answer is')"
    elif re.search(r"^\s*####", answer, re.MULTILINE):
        fix = "--answer-pattern gsm8k (the text after ####)"
    elif "\\boxed" in answer:
        fix = "--answer-pattern boxed (the last \\boxed{…})"
    else:
        fix = "--answer-pattern last-line, last-number or a regex"
    return (f"the answer in {fields.answer!r} is {len(lines)} lines long (a worked "
            f"solution?), and an attempt is one line, so nothing could match it: extract "
            f"the final answer with {fix}; the full text then becomes the private solution")


def _headerless_columns(first_row: list[Any]) -> list[str] | None:
    """Column names for a CSV without a header, in the two layouts published so: a question
    and its answer (MGSM's TSVs), or a question, its options and the right one's letter
    (MMLU's original CSVs)."""
    if len(first_row) == 2:
        return ["question", "answer"]
    options = len(first_row) - 2
    last = str(first_row[-1]).strip()
    if 2 <= options <= len(LETTERS) and len(last) == 1 and last.upper() in LETTERS[:options]:
        return ["question", *LETTERS[:options], "answer"]
    return None


def _build_problem(
    row: dict[str, Any],
    line: int,
    path: Path,
    fields: FieldMap,
    pattern: re.Pattern[str] | None,
    source: str,
    default_id: int | str,
) -> Problem:
    def fail(message: str, remedy: Remedy = ()) -> ProblemFileError:
        return ProblemFileError(str(path), message, line, remedy=remedy)

    available = ", ".join(sorted(row)) or "(none)"
    for name, column in fields.columns.items():
        if not has_column(row, column):
            raise fail(f"no {column!r} field (mapped by --field {name}={column}); "
                       f"fields here: {available}")
    if not has_column(row, fields.question):
        suffix = data_suffix(path)
        names = _headerless_columns(list(row)) if suffix in (".csv", ".tsv") else None
        if suffix in (".csv", ".tsv") and (
                any(len(str(k)) > 60 or len(str(k).split()) >= 6 for k in row)
                or (names is not None and len(names) > 2)):
            # A CSV without a header row (MMLU's original files): its first row became the
            # column names.
            named = (f"--columns {','.join(names)}" if names else
                     f"--columns NAME,NAME,… ({len(row)} names, the question's 'question', "
                     "the answer's 'answer')")
            raise ProblemFileError(
                str(path), f"no {fields.question!r} field, and the column names look like a "
                f"row of data ({clipped(str(next(iter(row))), 40)!r}, …): the file has no "
                f"header row; name its columns with {named}", 1,
                remedy=(("--columns", ",".join(names)),) if names else ())
        hint, remedy = missing_column(row, "question", fields.question)
        raise fail(f"no {fields.question!r} field; fields here: {available}{hint}", remedy)
    question = _question_text(_get(row, fields.question))
    if not question:
        raise fail(f"{fields.question!r} is empty")
    raw_answer = _get(row, fields.answer)
    if hasattr(raw_answer, "tolist"):
        raw_answer = raw_answer.tolist()
    # (A text answer is never parsed as a list: "[0, 1)" is an interval, not two answers.)
    # A list of answers is a list of alternatives (NQ-open, WebQuestions): the first is the
    # reference, the others count as right too.
    listed: list[str] = []
    marks = _option_marks(raw_answer)
    if isinstance(raw_answer, list) and len(raw_answer) > 1 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw_answer):
        # …but a list of numbers is one answer made of several (TheoremQA's eigenvalues,
        # a point's coordinates): alternatives are written as texts.
        raw_answer = "[" + ", ".join(cell_text(v) or "" for v in raw_answer) + "]"
    if isinstance(raw_answer, list):
        listed = _alias_list(raw_answer, fields.answer, fail)
        raw_answer = listed[0] if listed else None
    if isinstance(raw_answer, dict):
        keys = ", ".join(f"{fields.answer}.{k}" for k in list(raw_answer)[:4])
        also = (f" (and --field aliases={shlex.quote(fields.answer + '.aliases')} for the "
                "other accepted answers)" if "aliases" in raw_answer else "")
        raise fail(f"{fields.answer!r} is an object; pick the answer inside it with "
                   f"--answer-field (one of: {keys}){also}")
    answer = _unwrapped_math(cell_text(raw_answer))
    placeholder = None
    if answer is not None and answer.strip().casefold() in PLACEHOLDER_ANSWERS:
        placeholder, answer = answer, None
    aliases = listed[1:]
    if "aliases" in fields.columns or has_column(row, fields.column("aliases")):
        value = list_cell(_get(row, fields.column("aliases")))
        aliases += _alias_list(value if isinstance(value, list) else [value], "aliases", fail)
    solution = _prose(_get(row, fields.column("solution")))
    if fields.answer_pattern is not None and answer is not None:
        full = answer
        extracted = extract_with_pattern(full, fields.answer_pattern, pattern)
        if not extracted:
            flag = shell_options((("--answer-pattern", fields.answer_pattern),))
            raise fail(f"{flag} found no answer in {fields.answer!r}")
        answer = extracted
        solution = solution or full  # the worked text behind the answer stays teacher-only

    entry_point = cell_text(_get(row, fields.column("entry_point")))
    if entry_point and not entry_point.isidentifier():
        raise fail(f"entry_point {entry_point!r} is not a Python function name")
    try:
        tests = tests_text(_get(row, fields.column("tests")), entry_point)
    except CallBasedCases as exc:
        raise fail(f"the cases in {fields.column('tests')!r} {exc}: name the function with "
                   "--field entry_point=COLUMN (LiveCodeBench: metadata.func_name)") from None
    except ValueError as exc:
        raise fail(f"{fields.column('tests')!r}: {exc}") from None
    if tests:
        setup = tests_text(_get(row, fields.column("test_setup")))
        if setup:
            tests = f"{setup}\n{tests}"
        if entry_point:
            tests = call_check_function(tests, entry_point)
    verifier = (cell_text(_get(row, fields.column("verifier"))) or "auto").lower()
    if verifier == UNVERIFIED:  # (a raw export of dialogues imported without answers)
        if not fields.answers_optional:
            raise MissingAnswerError(str(path), "verifier 'none': the problem has no "
                                     "reference answer, and a problem set needs one", line)
        verifier, answer = "auto", None
    if verifier not in VERIFIERS:
        raise fail(f"unknown verifier {verifier!r}; use one of {', '.join(VERIFIERS)}")
    choices_column = fields.column("choices")
    raw_choices = lookup_columns(row, choices_column)
    options = _choices(None if raw_choices is _MISSING else raw_choices, path, line)
    if options and _answer_is_an_option_column(fields.answer, choices_column):
        options = _reordered(options, _shuffle_order(options, question))
    if marks is not None:
        if options is not None and len(options.texts) == len(marks):
            right = [i for i, mark in enumerate(marks) if mark]
            if len(right) != 1:
                raise fail(f"{fields.answer!r} marks {len(right)} of the options right "
                           f"({answer}); a choice problem has one right option")
            options, answer, aliases = replace(options, best=right[0]), None, []
        elif options is None and "choices" not in fields.columns:
            beside = _list_beside(row, fields.answer, len(marks))
            if beside:
                raise fail(f"{fields.answer!r} ({answer}) marks which option is right: map "
                           f"the options with --field choices={shlex.quote(beside)}",
                           (("--field", f"choices={beside}"),))
    choices = options.texts if options else None
    if answer is None and options is not None and options.best is not None:
        answer = LETTERS[options.best]  # the answer is the top-scored option

    if answer is None and not tests:
        if fields.answers_optional:
            return _problem(row, fields, source, default_id, question=question, answer=None,
                            verifier=UNVERIFIED, solution=solution, choices=choices)
        if placeholder is not None:
            raise MissingAnswerError(
                str(path), f"{fields.answer!r} is {placeholder!r}: a placeholder, not an "
                "answer", line)
        if not has_column(row, fields.answer):
            test_column, why = _tests_column(row, entry_point)
            scored = next((k for k, v in row.items() if isinstance(k, str)
                           and _scored_options(v)), None)
            if test_column and "tests" not in fields.columns:
                hint = (f" (a code problem? its tests are in {test_column!r}: map them with "
                        f"--field tests={shlex.quote(test_column)}, and no answer is "
                        f"needed{why})")
                remedy = (("--field", f"tests={test_column}"),)
            elif scored and "choices" not in fields.columns:
                hint = (f" (options with scores are in {scored!r}: map them with --field "
                        f"choices={shlex.quote(scored)}; the top-scored one is the answer)")
                remedy = (("--field", f"choices={scored}"),)
            else:
                hint, remedy = missing_column(row, "answer", fields.answer)
            raise MissingAnswerError(
                str(path), f"no {fields.answer!r} field; fields here: {available}{hint}", line,
                remedy=remedy)
        # (AGIEval's multiple-choice rows hold `"answer": null` and the letter in `label`.)
        filled = {k: v for k, v in row.items() if cell_text(v) is not None}
        hint, remedy = (missing_column(filled, "answer", fields.answer)
                        if fields.answer.casefold() == "answer" else ("", ()))
        raise MissingAnswerError(
            str(path), f"{fields.answer!r} is empty (and there are no 'tests'){hint}", line,
            remedy=remedy)

    if verifier == "auto":
        if not options and not tests and "choices" not in fields.columns:
            unmapped = _unmapped_options(row, answer)
            if unmapped:
                raise fail(
                    f"the answer {answer!r} looks like one of the options in {unmapped!r}, "
                    f"which is not mapped: map it with --field choices={shlex.quote(unmapped)} "
                    "(or give the row a 'verifier' to check the answer as it is)",
                    (("--field", f"choices={unmapped}"),))
        verifier = _auto_verifier(answer, choices, tests, aliases)
    if verifier == "python" and not tests:
        raise fail("verifier 'python' needs a 'tests' field")
    if tests:
        try:
            compile(tests, "tests", "exec")
        except (SyntaxError, ValueError) as exc:
            lineno = getattr(exc, "lineno", None)
            where = f" (line {lineno} of the tests)" if lineno else ""
            # (MultiPL-E translates HumanEval into other languages, naming each in a column)
            language = next((cell_text(v) for k, v in row.items() if isinstance(k, str)
                             and k.casefold() in ("language", "lang", "programming_language")),
                            None)
            other = (f"; the row's language is {language!r}, and the python verifier runs "
                     "Python tests only" if language and language.strip().casefold()
                     not in ("python", "py", "python3") else "")
            raise fail(f"'tests' is not valid Python: {getattr(exc, 'msg', exc)}{where}"
                       f"{other}") from None
    if verifier != "python" and answer is None:
        raise fail(f"verifier {verifier!r} needs an answer")
    if verifier not in ("python", "regex", "choice"):
        for text in (answer or "", *aliases):
            unmatchable = _worked_solution_problem(text, fields)
            if unmatchable:
                raise fail(unmatchable)
    if verifier == "choice" and aliases:
        raise fail(f"{len(aliases) + 1} accepted answers for a multiple-choice problem: a "
                   "choice problem has one right option")
    if verifier == "choice":
        if not options:
            raise fail("verifier 'choice' needs a 'choices' list")
        assert answer is not None
        index = _reference_choice(answer, options, fields.index_base)
        if index is None:
            count = len(options.texts)
            # (MedMCQA's original files count `cop` 1-4: the last option's index is one past
            # the end when counted from 0.)
            from_one = (fields.index_base == 0 and not options.labels
                        and answer.strip() == str(count))
            raise fail(
                f"answer {answer!r} is not one of the choices "
                f"(a letter, {fields.index_base}-based index (--index-base), option label or "
                "option text)" + (f"; the answers look counted from 1 ({answer} of {count} "
                                  "options): load with --index-base 1" if from_one else ""),
                (("--index-base", "1"),) if from_one else ())
        if fields.shuffle_choices:
            order = _shuffle_order(options, question)
            options, index = _reordered(options, order), order.index(index)
            choices = options.texts
        answer = LETTERS[index]
    if verifier == "regex":
        for text in (answer or "", *aliases):
            try:
                re.compile(text)
            except re.error as exc:
                raise fail(f"{text!r} is not a valid regular expression for verifier 'regex' "
                           f"({exc})") from None
    if verifier == "numeric":
        from sml_cli.numbers import parse_number

        for text in (answer or "", *aliases):
            if parse_number(text) is None:
                raise fail(f"verifier 'numeric' but the answer {text!r} is not a number")

    return _problem(row, fields, source, default_id, question=question, answer=answer,
                    verifier=verifier, solution=solution, choices=choices, tests=tests,
                    aliases=tuple(dict.fromkeys(a for a in aliases if a != answer)))


def _problem(row: dict[str, Any], fields: FieldMap, source: str, default_id: int | str, *,
             question: str, answer: str | None, verifier: str, solution: str | None,
             choices: tuple[str, ...] | None = None, tests: str | None = None,
             aliases: tuple[str, ...] = ()) -> Problem:
    """The problem of a validated row: its id, notes and free-form meta read from the row."""
    problem_id = next((found for column in fields.id_columns()
                       if (found := cell_text(_get(row, column)))), str(default_id))
    consumed = fields.consumed
    meta = {k: _jsonable(v) for k, v in row.items()
            if str(k).casefold() not in consumed and v is not None}
    return Problem(
        id=problem_id, question=question, answer=answer, verifier=verifier,
        solution=solution, choices=choices, tests=tests,
        notes=_prose(_get(row, fields.column("notes"))), source=source, meta=meta,
        aliases=aliases,
    )


class MissingAnswerError(ProblemFileError):
    """A row without a reference answer (a dialogue importer suggests
    --allow-missing-answers)."""


def _tests_column(row: dict[str, Any], entry_point: str | None) -> tuple[str | None, str]:
    """The column of a row's tests, and why it rather than another, when several hold some:
    the fuller (MBPP+'s `test`, its many extra cases, rather than `test_list`, MBPP's three
    asserts) unless its tests import a module this Python lacks (MBPP+'s import numpy), so
    that every attempt would fail."""
    found: list[tuple[str, str]] = []
    for key, value in row.items():
        if isinstance(key, str) and key.casefold() in TEST_COLUMN_GUESSES:
            try:
                tests = tests_text(value, entry_point)
            except ValueError:  # (cases that cannot be read: the error once it is mapped)
                tests = None
            found.append((key, tests or ""))
    if not found:
        return None, ""
    found.sort(key=lambda column: -len(column[1]))
    runnable = [(column, tests) for column, tests in found if not modules_missing(tests)]
    if len(found) == 1 or not runnable:
        return found[0][0], ""
    chosen = runnable[0][0]
    if chosen != found[0][0]:
        fuller = found[0][0]
        missing = ", ".join(modules_missing(found[0][1]))
        return chosen, (f"; {fuller!r} holds more, but imports {missing}, which the Python "
                        "that runs the tests does not have")
    others = ", ".join(repr(column) for column, _ in found[1:])
    return chosen, f"; {others} {'holds' if len(found) == 2 else 'hold'} fewer"


# Columns that hold a code problem's tests under another name (HumanEval's `test`, MBPP's
# `test_list`).
TEST_COLUMN_GUESSES = ("test", "test_list", "test_cases", "unit_tests", "test_code",
                       "input_output", "public_tests", "public_test_cases")

# Columns that hold a multiple-choice problem's options under another name (MMLU-Pro's
# `options`, HellaSwag's `endings`, …).
OPTION_COLUMN_GUESSES = ("options", "choices", "answer_choices", "endings", "candidates",
                         "answers_list", "option_list", "choice", "option", "answer_options",
                         "mc_options")


def _option_marks(value: Any) -> list[bool] | None:
    """A list of 0/1 flags, one per option, 1 for the right one (TruthfulQA's
    `mc1_targets.labels`), or None. Whether it is that or a point such as [1, 0] depends on
    the options: it counts as marks only when an options list of the same length is mapped."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if (isinstance(value, list) and len(value) >= 2
            and all(isinstance(v, (bool, int)) and v in (0, 1) for v in value)):
        return [bool(v) for v in value]
    return None


def _list_beside(row: dict[str, Any], column: str, length: int) -> str | None:
    """The path of a list of `length` texts next to `column` (same object first), for the
    hint that marks need their options mapped."""
    parent = column.rsplit(".", 1)[0] if "." in column else ""
    scope = _get(row, parent) if parent else row
    if not isinstance(scope, dict):
        return None
    for key, value in scope.items():
        value = list_cell(value)
        if (isinstance(key, str) and isinstance(value, list) and len(value) == length
                and all(isinstance(v, str) for v in value)):
            return f"{parent}.{key}" if parent else key
    return None


def _is_option_text(answer: str, options: list[Any]) -> bool:
    wanted = answer.strip().casefold()
    return any(isinstance(o, (str, int, float)) and str(o).strip().casefold() == wanted
               for o in options)


def _labelled_options(value: Any) -> bool:
    """An object of options keyed by their labels: {"A": "…", "B": "…"}."""
    return (isinstance(value, dict) and len(value) >= 2
            and all(isinstance(k, str) and 0 < len(k.strip()) <= 3 for k in value)
            and all(v is None or isinstance(v, (str, int, float)) for v in value.values()))


def _unmapped_options(row: dict[str, Any], answer: str | None) -> str | None:
    """The column of options an answer points into ("B", or an index) when the options are
    not mapped — a problem that would otherwise load without its options, unanswerable."""
    if not answer:
        return None
    text = answer.strip().strip("()").strip()
    for key in row:
        if not isinstance(key, str):
            continue
        if key.casefold() == "answers":
            # ReClor's options are its `answers`, its `label` an index into them; elsewhere
            # `answers` lists accepted answers, among which the answer itself is.
            values = list_cell(row[key])
            if (isinstance(values, list) and len(values) >= 2
                    and all(isinstance(v, str) for v in values)
                    and _names_an_option(text, len(values))
                    and not _is_option_text(text, values)):
                return key
            continue
        layout = _option_layout(list_cell(row[key]))
        # Any column named for options (TAL-SCQ5K's answer_option_list); under any name,
        # options that carry their labels ({"A": …}, [{"label", "text"}]), which nothing
        # else looks like.
        if layout is None or not (_named_for_options(key) or layout.labels):
            continue
        if layout.keyed:
            labels = {label.strip().casefold() for label in layout.labels or ()}
            if text.casefold() in labels or _is_option_text(text, layout.values):
                return key
            continue
        values = layout.values
        if len(values) < 2:
            continue
        if _names_an_option(text, len(values)) or _is_option_text(text, values):
            return key
    columns = _option_columns(row)
    if columns and _names_an_option(text, len(columns), from_one=True):
        return ",".join(columns)
    return None


def _named_for_options(column: str) -> bool:
    """A column name that says it holds options: one of OPTION_COLUMN_GUESSES, or one with
    "option(s)", "choice(s)", "candidate(s)" or "ending(s)" among its words."""
    return column.casefold() in OPTION_COLUMN_GUESSES or bool(
        set(column_words(column)) & {"option", "options", "choice", "choices", "candidate",
                                     "candidates", "ending", "endings"})


def _names_an_option(text: str, count: int, *, from_one: bool = False) -> bool:
    """Does `text` name one of `count` options by its letter ("B") or its index (counted
    from 0; with `from_one`, from 1 as well)?"""
    if len(text) == 1 and text.isalpha():
        return ord(text.upper()) - ord("A") < count
    return text.isdigit() and int(text) < count + from_one


# One column per option: a common prefix (none, `op`, `option_`, `choice`, `sol`, `ending`…)
# and a letter from a, or a number from 0 or 1 (MMLU's CSVs: A–D; MedMCQA: opa–opd; COPA:
# choice1, choice2; PIQA: sol1, sol2; Winogrande: option1, option2).
_OPTION_COLUMN = re.compile(
    r"(?i)((?:op|opt|option|options|choice|choices|sol|ending|answer|ans|candidate)?"
    r"[ _.]?)([a-z]|\d)")


def _option_columns(row: dict[str, Any]) -> list[str] | None:
    """The row's one-column-per-option columns, in order (the longest run of two or more
    under one prefix), or None."""
    runs: dict[tuple[str, bool], dict[int, str]] = {}
    for key in row:
        m = _OPTION_COLUMN.fullmatch(key.strip()) if isinstance(key, str) else None
        if m:
            mark = m.group(2).upper()
            at = ord(mark) - 65 if mark.isalpha() else int(mark)
            runs.setdefault((m.group(1).casefold(), mark.isalpha()), {})[at] = key
    best: list[str] = []
    for (_, lettered), by_position in runs.items():
        start = 0 if lettered or 0 in by_position else 1
        run: list[str] = []
        while start + len(run) in by_position:
            run.append(by_position[start + len(run)])
        if len(run) > len(best):
            best = run
    return best if len(best) >= 2 else None


_WRAPPED_MATH = re.compile(r"\$\$(.+)\$\$|\$([^$]+)\$|\\\((.+)\\\)|\\\[(.+)\\\]", re.DOTALL)


def _unwrapped_math(text: str | None) -> str | None:
    """An answer typeset whole as maths (OlympiadBench's "$x=3$") without its delimiters:
    they are typesetting, and would make the answer look like text to `auto`."""
    if text is None:
        return None
    m = _WRAPPED_MATH.fullmatch(text.strip())
    if not m:
        return text
    inner = next(g for g in m.groups() if g is not None).strip()
    return inner or text


def _prose(value: Any) -> str | None:
    """A text cell, or a list of paragraphs (OlympiadBench's solutions; in a CSV, as JSON)."""
    return joined_text(list_cell(value), "\n\n")


def _alias_list(values: list[Any], column: str,
                fail: Callable[[str], ProblemFileError]) -> list[str]:
    """Accepted answers from a list cell: texts and numbers, blanks dropped."""
    out = []
    for value in values:
        if isinstance(value, (dict, list)):
            raise fail(f"{column!r} holds a nested {type(value).__name__}; list the accepted "
                       "answers as texts or numbers")
        text = _unwrapped_math(cell_text(value))
        if text:
            out.append(text)
    return out


def _answer_is_an_option_column(answer_column: str, choices_column: str) -> bool:
    parts = [p.strip().casefold() for p in choices_column.split(",")]
    return len(parts) > 1 and answer_column.strip().casefold() in parts


def _shuffle_order(options: _Choices, question: str) -> list[int]:
    """An order of the options of their own (`order[new] = old`). Sets that store the
    correct option in its own column (GPQA: Correct Answer, Incorrect Answer 1-3), or always
    list it first (TruthfulQA), would otherwise give it away by its place. Seeded by the
    problem's content, so every run and machine sees the same order."""
    digest = hashlib.sha256("\0".join([question, *options.texts]).encode()).digest()
    order = list(range(len(options.texts)))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return order


def _reordered(options: _Choices, order: list[int]) -> _Choices:
    texts = tuple(options.texts[i] for i in order)
    labels = tuple(options.labels[i] for i in order) if options.labels else None
    best = order.index(options.best) if options.best is not None else None
    return _Choices(texts, labels, best)


def _reference_choice(answer: str, options: _Choices, index_base: int = 0) -> int | None:
    """Which option a reference answer names. A file's own labels come first: in ARC, with
    labels "1".."4", the answer "1" is the first option, not the 0-based index 1."""
    if options.labels:
        wanted = answer.strip().casefold()
        for i, label in enumerate(options.labels):
            if label.strip().casefold() == wanted:
                return i
    return choice_index(answer, options.texts, reference=True, index_base=index_base)


def _jsonable(value: Any) -> Any:
    """A cell as JSON for a problem's or session's metadata. Binary data and inline images
    (a Parquet image column's bytes, HLE's base64 data URLs) become a short description:
    no one is shown them, and copied whole they would swell every stored row."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value)
    if isinstance(value, str):
        data_url = _DATA_URL.match(value) if len(value) > MAX_INLINE_DATA else None
        return f"<{data_url.group(1) or 'data'}: {len(value):,} characters>" if data_url else value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


MAX_INLINE_DATA = 1000
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?[;,]")


_LATEX_HINT = re.compile(
    r"\\[a-zA-Z]+|\\[{}]|\^|\bsqrt\b|\bpi\b|[a-zA-Z]\s*[+\-*/]|[+\-*/]\s*[a-zA-Z]")


# "x = 5": an equation solved for one variable, which `math` equates with "5".
_SOLVED_FOR = re.compile(r"\s*[A-Za-z]\s*=\s*-?[\d.,/]+\s*")
# An equation or inequality between symbols (Omni-MATH's and OlympiadBench's "f(x) = x",
# "x > 3", "a=2, b=3", "n = 1, 2"): maths, unless words make it a sentence.
_RELATION = re.compile(r"=|<|>|≤|≥|≠|\\[lg]eq?\b|\\neq\b")
_FUNCTION_NAMES = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "exp", "max", "min", "gcd",
                   "lcm", "mod", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh"}


def _is_relation(answer: str) -> bool:
    if not _RELATION.search(answer):
        return False
    words = re.findall(r"[A-Za-z]{3,}", re.sub(r"\\[A-Za-z]+", " ", answer))
    return all(w.casefold() in _FUNCTION_NAMES for w in words)


def _auto_verifier(
    answer: str | None, choices: tuple[str, ...] | None, tests: str | None,
    aliases: list[str] | None = None,
) -> str:
    from sml_cli.numbers import parse_number

    if tests:
        return "python"
    if choices:
        return "choice"
    assert answer is not None
    answers = [answer, *(aliases or [])]
    if all(parse_number(a) is not None for a in answers):
        return "numeric"
    if all(_LATEX_HINT.search(a) or re.fullmatch(r"[\d\s+\-*/().,\[\]]+", a)
           or _SOLVED_FOR.fullmatch(a) or _is_relation(a) for a in answers):
        return "math"
    return "exact"


_CHOICE_LETTER = re.compile(
    r"(?:(?:option|choice|answer)\s*:?\s*)?(?P<open>\()?(?P<letter>[A-Za-z])(?(open)\))"
    r"(?:\s*[.),:\-\u2013]\s*|\s+|$)(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)


def choice_index(text: str, choices: tuple[str, ...], *, reference: bool = False,
                 index_base: int = 0) -> int | None:
    """Which option `text` names: a letter ("B", "(b)", "B)", "Option B", "B) London"), the
    option's text, or — for reference answers only, as in MMLU-style files — an index counted
    from `index_base`.
    A letter followed by anything but its own option's text ("A or B") names no option."""
    s = text.strip().strip("*`'\"").strip()
    norm = _norm_choice(s)
    for i, option in enumerate(choices):
        if norm and norm == _norm_choice(option):
            return i
    if not reference and _LETTER_REPEATED.fullmatch(s):
        s = s[0]  # "BBBBB": LiveBench asks for the letter five times ("BB" is no answer)
    m = _CHOICE_LETTER.fullmatch(s)
    if m:
        index = ord(m.group("letter").upper()) - ord("A")
        rest = _norm_choice(m.group("rest").strip("*`'\" "))
        if 0 <= index < len(choices) and (not rest or rest == _norm_choice(choices[index])):
            return index
    if reference and re.fullmatch(r"\d+", s):
        index = int(s) - index_base
        if 0 <= index < len(choices):
            return index
    if not reference:
        # An attempt worded as a sentence ("The answer is B", "I choose (C) Venus") or with
        # the letter after the text ("Jupiter (B)"): the same test, on the part that names.
        lead = _CHOICE_LEAD_IN.match(s)
        if lead and s[lead.end():].strip():
            return choice_index(s[lead.end():], choices)
        m = _TEXT_THEN_LETTER.fullmatch(s)
        if m:
            index = ord(m.group("letter").upper()) - ord("A")
            if 0 <= index < len(choices) and _norm_choice(m.group("text")) == _norm_choice(
                    choices[index]):
                return index
    return None


_CHOICE_LEAD_IN = re.compile(
    r"(?:the\s+(?:correct\s+|right\s+|best\s+|final\s+)?(?:answer|option|choice)\s+is|"
    r"it\s+is|it['\u2019]s|i\s+(?:choose|pick|select|go\s+with))\s*:?\s*",
    re.IGNORECASE)
_LETTER_REPEATED = re.compile(r"([A-Z])\1{4}")
_TEXT_THEN_LETTER = re.compile(r"(?P<text>.+?)\s*\((?P<letter>[A-Za-z])\)\.?")


def _norm_choice(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip().rstrip(".")


def make_problem(question: str, answer: str, *, source: str = "", flag: str = "--question",
                 **extra: Any) -> Problem:
    """A problem typed in by hand (chat), validated exactly like a file row."""
    row = {"question": question, "answer": answer, **extra}
    try:
        return _build_problem(row, 1, Path(flag), FieldMap(), None, source, default_id=1)
    except ProblemFileError as exc:
        raise UsageError(str(exc).replace(f"{flag}:1:", f"{flag}:", 1)) from None
