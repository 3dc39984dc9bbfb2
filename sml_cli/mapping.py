"""How a file's columns map onto problem fields: the `--question-field`, `--answer-field`,
`--answer-pattern`, `--field NAME=COLUMN`, `--columns` and `--where` options (`FieldMap`),
reading a column from a row (any case, dotted paths, several joined), and the options an
error suggests when a column is missing — tried together, so that a new dataset's whole
mapping can be named in its first error.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from sml_cli.cells import blank, cell_text, joined_text, list_cell
from sml_cli.errors import ProblemFileError, UsageError

KNOWN_FIELDS = ("id", "question", "answer", "aliases", "solution", "verifier", "choices",
                "tests", "notes")

# Fields besides question/answer that `--field NAME=COLUMN` can map, with the column each is
# read from by default (MBPP calls its setup code `test_setup_code`).
MAPPABLE_FIELDS: dict[str, str] = {
    "id": "id", "solution": "solution", "choices": "choices", "tests": "tests",
    "notes": "notes", "verifier": "verifier", "entry_point": "entry_point",
    "test_setup": "test_setup_code", "aliases": "aliases",
}

# Column names public sets use for the question and the answer: offered as a hint when the
# expected column is missing (never used silently). GSM-IC's new_question is its problem
# with the irrelevant sentence added (the original is beside it); PubMedQA's answer is its
# final_decision (yes, no or maybe). A column with a word of the field in its name comes
# after these (see `_worded_column`).
QUESTION_COLUMN_GUESSES: tuple[str, ...] = (
    "problem", "prompt", "input", "text", "instruction", "query", "content", "Question",
    "Problem", "question_stem", "goal", "ctx", "sentence", "premise", "instruct_prompt",
    "new_question")
ANSWER_COLUMN_GUESSES: tuple[str, ...] = (
    "solution", "target", "output", "label", "answerKey", "ground_truth", "final_answer",
    "correct", "canonical_solution", "gold", "correct_answer", "Correct Answer", "answers",
    "targets", "ground_truth_solution", "reference_answer", "gold_answer", "answers_spans",
    "cop", "correct_option", "correct_choice", "answer_idx", "answer_index", "answer_key",
    "expected_answer", "gold_label", "answer_letter", "answer_label", "answer_choice",
    "response", "final_decision")

# Columns public sets name their rows by, read (in this order) for a problem's id when the
# row has no `id` and no `--field id=` says otherwise: HumanEval's and MBPP's task_id,
# MATH-500's unique_id, StrategyQA's qid, MMLU-Pro's question_id, GLUE's idx.
ID_COLUMN_GUESSES = ("task_id", "problem_id", "question_id", "qid", "unique_id", "uid",
                     "example_id", "sample_id", "item_id", "record_id", "Record ID", "_id",
                     "idx")

# Columns holding the passage a question is about (SQuAD, BoolQ, RACE, DROP, QuAC), or the
# text that stands in for one: ScienceQA's `hint`, TabMWP's `table`, LogiQA 2.0's `text`,
# PubMedQA's `CONTEXTS` (a list of paragraphs). Not solution, rationale or explanation
# columns: those are the teacher's, and the student must not see them.
CONTEXT_COLUMN_GUESSES = ("context", "contexts", "passage", "passages", "article", "paragraph",
                          "paragraphs", "story", "stories", "document", "documents",
                          "background", "evidence", "supporting_text", "ctx", "body",
                          "premise", "premises", "scenario", "narrative", "text_passage",
                          "reading", "dialogue", "hint", "table", "text", "stimulus",
                          "excerpt")

# "The answer is: 18", "The final answer is $\boxed{5}$.", "the answer is (B)": the rest of
# its line is the answer (chain-of-thought sets end their solutions so: MetaMathQA, MMLU-Pro).
ANSWER_IS = re.compile(r"\bthe\s+(?:final\s+|correct\s+)?answer\s+is\s*:?[ \t]*([^\n]*\S)",
                       re.IGNORECASE)


@dataclass(frozen=True)
class RowFilter:
    """One `--where`: COLUMN=VALUE keeps the rows whose column holds VALUE (any of several,
    given for one column; an item of a list cell), COLUMN!=VALUE drops them. An empty VALUE
    means a missing or empty cell. Compared as text, whatever the case. COLUMN>=N (also >,
    <=, <) keeps the rows whose cell is a number so compared, or holds one ("Level 4")."""

    column: str
    value: str
    negated: bool = False
    comparison: str | None = None  # >=, >, <=, <
    bound: Fraction = Fraction(0)  # the number a comparison is with

    def __str__(self) -> str:
        return f"{self.column}{self.comparison or ('!=' if self.negated else '=')}{self.value}"

    def admits(self, number: Fraction) -> bool:
        bound = self.bound
        return {">=": number >= bound, ">": number > bound, "<=": number <= bound,
                "<": number < bound}[self.comparison or ""]


_WHERE = re.compile(r"^(?P<column>[^!=<>]+?)\s*(?P<op>!=|>=|<=|=|>|<)(?P<value>.*)$", re.DOTALL)


def parse_where_options(options: list[str] | None) -> tuple[RowFilter, ...]:
    """`--where` values → filters; exit 2 naming a malformed one."""
    filters = []
    for option in options or []:
        m = _WHERE.match(option)
        if not m or not m.group("column").strip():
            raise UsageError(f"--where {option!r}: expected COLUMN=VALUE, COLUMN!=VALUE or a "
                             "comparison with a number (COLUMN>=N, >, <=, <), e.g. --where "
                             "subject=algebra or --where 'level>=4' (quoted: > and < are the "
                             "shell's)")
        column, op, value = m.group("column").strip(), m.group("op"), m.group("value").strip()
        if op in ("=", "!="):
            filters.append(RowFilter(column, value, negated=op == "!="))
            continue
        number = _number_in(value)
        if number is None:
            raise UsageError(f"--where {option!r}: {op} compares numbers, and {value!r} is "
                             "not one")
        filters.append(RowFilter(column, value, comparison=op, bound=number))
    return tuple(filters)


def _number_in(text: str) -> Fraction | None:
    """The number a cell states: all of it ("4", "6.5") or its only number ("Level 4")."""
    from sml_cli.numbers import find_numbers, parse_number

    whole = parse_number(text)
    if whole is not None:
        return whole.value
    found = find_numbers(text, words=False)
    return found[0].value if len(found) == 1 else None


class RowSelector:
    """Which rows the `--where` filters keep, remembering what it saw for the error when a
    filter names no column of the file or keeps nothing."""

    def __init__(self, filters: tuple[RowFilter, ...]) -> None:
        self.filters = filters
        self.kept = 0
        self._columns_seen: set[str] = set()
        self._values: dict[str, Counter[str]] = {f.column: Counter() for f in filters}
        self._available: set[str] = set()

    def keeps(self, row: dict[str, Any]) -> bool:
        texts: dict[str, list[str]] = {}
        for column in self._values:
            value = lookup(row, column)
            if value is _MISSING:
                value = None  # (a row without the column: an empty cell)
            else:
                self._columns_seen.add(column)
            cell = list_cell(value)
            items = cell if isinstance(cell, list) else [cell]
            # (An image struct with no bytes and no path is an empty cell: no image.)
            shown = ["" if blank(x) else cell_text(x) or "" for x in items] or [""]
            if len(self._values[column]) < 50:
                self._values[column].update(t for t in shown if t)
            texts[column] = [t.casefold() for t in shown]
        if len(self._available) < 200:
            self._available.update(str(k) for k in row)
        wanted: dict[str, bool] = {}
        for f in self.filters:
            if f.comparison:
                numbers = (_number_in(t) for t in texts[f.column] if t)
                if not any(n is not None and f.admits(n) for n in numbers):
                    return False
                continue
            found = f.value.casefold() in texts[f.column]
            if f.negated and found:
                return False
            if not f.negated:
                wanted[f.column] = wanted.get(f.column, False) or found
        keep = all(wanted.values())
        self.kept += keep
        return keep

    def check(self, path: Path) -> None:
        """After the last row: a filter on a column no row has, or nothing kept, is bad
        usage (a typo would otherwise select everything, or nothing, silently)."""
        for f in self.filters:
            if f.column not in self._columns_seen:
                raise UsageError(f"--where {f}: no row of {path} has a column {f.column!r} "
                                 f"(columns: {', '.join(sorted(self._available)[:20])})")
        if not self.kept:
            seen = "; ".join(
                f"{column}: " + ", ".join(v for v, _ in values.most_common(8))
                for column, values in self._values.items() if values)
            raise UsageError(f"--where {' '.join(str(f) for f in self.filters)}: no row of "
                             f"{path} matches" + (f" (values seen: {seen})" if seen else ""))


@dataclass(frozen=True)
class FieldMap:
    """How a file's columns map onto problem fields (`--question-field`, `--answer-field`,
    `--answer-pattern`, `--field NAME=COLUMN`). A column may be a dotted path into nested
    objects (`meta.gold`); a top-level key spelled with the dots wins."""

    question: str = "question"
    answer: str = "answer"
    answer_pattern: str | None = None
    columns: dict[str, str] = field(default_factory=dict, hash=False)
    # What a number answer to a multiple-choice problem counts from: 0 (MMLU, PIQA, COPA)
    # or 1 (Winogrande's "1"/"2", SocialIQA). A file's own option labels (ARC) come first.
    index_base: int = 0
    # `--shuffle-choices`: put each choice problem's options in an order of their own.
    shuffle_choices: bool = False
    # `--where COLUMN=VALUE`: only the rows these select (a subject, a level, text-only).
    where: tuple[RowFilter, ...] = ()
    # `sessions import --allow-missing-answers`: a problem without a reference answer
    # (tutoring corpora such as Bridge or CIMA log none) is kept, unverified, not refused.
    answers_optional: bool = False
    # `--columns`: the names of a CSV/TSV file's columns when it has no header row.
    header: tuple[str, ...] = ()
    # Whether a row without an `id` is named by a column from ID_COLUMN_GUESSES; off after
    # such a column turned out to repeat a value (the rows are then numbered instead).
    guess_ids: bool = True

    @property
    def guessing_ids(self) -> bool:
        return self.guess_ids and "id" not in self.columns

    def id_columns(self) -> tuple[str, ...]:
        """Where a row's id is read from, first found first."""
        return ("id", *ID_COLUMN_GUESSES) if self.guessing_ids else (self.column("id"),)

    def column(self, name: str) -> str:
        return self.columns.get(name, MAPPABLE_FIELDS.get(name, name))

    @cached_property  # read for every row of a file
    def consumed(self) -> set[str]:
        """Top-level keys this map reads (kept out of the problem's free-form meta)."""
        names = {self.question, self.answer}
        names.update(self.column(n) for n in MAPPABLE_FIELDS)
        parts = {p.strip() for n in names for p in n.split(",")}
        # Case-folded: a column is found whatever its case (see `lookup`).
        return {p.split(".", 1)[0].casefold() for p in parts | set(KNOWN_FIELDS)}


def parse_field_options(options: list[str] | None) -> dict[str, str]:
    """`--field NAME=COLUMN` values → {name: column}; exit 2 naming the bad option."""
    columns: dict[str, str] = {}
    for option in options or []:
        name, sep, column = option.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise UsageError(f"--field {option!r}: expected NAME=COLUMN, e.g. --field id=task_id")
        if name not in MAPPABLE_FIELDS:
            raise UsageError(
                f"--field {option!r}: unknown field {name!r}; mappable fields: "
                + ", ".join(MAPPABLE_FIELDS)
                + " (question and answer have --question-field and --answer-field)"
            )
        columns[name] = column
    return columns


def parse_columns_option(value: str | None) -> tuple[str, ...]:
    """`--columns question,A,B,C,D,answer` → the names; exit 2 on an empty or repeated one."""
    if value is None:
        return ()
    names = tuple(n.strip() for n in value.split(","))
    if not all(names):
        raise UsageError(f"--columns {value!r}: a name is empty; give one per column, "
                         "comma-separated, e.g. --columns question,answer")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"--columns {value!r}: {', '.join(map(repr, repeated))} named twice")
    return names


_MISSING = object()


_CASE_MAPS: dict[tuple[Any, ...], dict[str, list[str]]] = {}


def _keys_by_case(row: dict[str, Any]) -> dict[str, list[str]]:
    """casefolded key → the row's keys spelled that way; the rows of one file share their
    keys, so this is built once per layout, not per lookup."""
    layout = tuple(row)
    found = _CASE_MAPS.get(layout)
    if found is None:
        found = {}
        for key in layout:
            if isinstance(key, str):
                found.setdefault(key.casefold(), []).append(key)
        if len(_CASE_MAPS) > 256:
            _CASE_MAPS.clear()
        _CASE_MAPS[layout] = found
    return found


def lookup(row: dict[str, Any], column: str) -> Any:
    """The value at `column` (an exact key; else the one key equal to it but for case, as
    AIME and GPQA write `Question`/`Answer`; else a dotted path through objects and list
    indexes; else `A,B`: the texts of several columns joined, as SVAMP splits a question
    into Body and Question), or `_MISSING`."""
    if column in row:
        return row[column]
    same = _keys_by_case(row).get(column.casefold())
    if same is not None and len(same) == 1:
        return row[same[0]]
    if "," in column:
        values = [lookup(row, part.strip()) for part in column.split(",") if part.strip()]
        if not values or any(v is _MISSING for v in values):
            return _MISSING
        return "\n\n".join(t for t in (joined_text(v) for v in values) if t)
    if "." not in column:
        return _MISSING
    value: Any = row
    for part in column.split("."):
        if hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, str):  # an object stored as JSON text (LiveCodeBench metadata)
            value = list_cell(value)
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and \
                -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def lookup_columns(row: dict[str, Any], column: str) -> Any:
    """`A,B,C` as a list of those columns' values (options stored one per column, as GPQA
    does), or `_MISSING` if any is absent. A key spelled with the commas wins."""
    if "," not in column or column in row:
        return lookup(row, column)
    values = [lookup(row, part.strip()) for part in column.split(",") if part.strip()]
    return _MISSING if not values or any(v is _MISSING for v in values) else values


def column_words(column: str) -> list[str]:
    """A column's name as lowercase words, however it is written: `answer_option_list`,
    `answerOptionList`, MAWPS' `lSolutions` (l, solutions), `Correct Answer`."""
    return [w.casefold() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", column)]


def has_column(row: dict[str, Any], column: str) -> bool:
    return lookup(row, column) is not _MISSING


def _get(row: dict[str, Any], column: str) -> Any:
    value = lookup(row, column)
    return None if value is _MISSING else value


Remedy = tuple[tuple[str, str], ...]
"""Command-line options as (flag, value) pairs: `(("--field", "choices=options"),)`."""


def shell_options(remedy: Remedy) -> str:
    return " ".join(f"{flag} {shlex.quote(value)}" for flag, value in remedy)


# How many rows suggested options are tried on, and how many options may be suggested.
PROBE_ROWS = 200
_MOST_OPTIONS = 6

T = TypeVar("T")


def suggesting_options(load: Callable[[Remedy, int | None], T],
                       wanted: Callable[[T, Remedy], Remedy] | None = None) -> T:
    """`load((), None)`; if that fails with an error that suggests options, the error also
    says every option the file's first rows need, when trying them finds more than one.
    (A dataset seen for the first time often needs several mappings, which one error at a
    time would reveal one run at a time.) `load(options, n)` reads the first n rows;
    `wanted(loaded, options)`, options that what they loaded still wants though it loaded
    (a passage left out of the question: no error, only a note, would say so)."""
    try:
        return load((), None)
    except ProblemFileError as exc:
        if not exc.remedy:
            raise
        options = exc.remedy
        while len(options) <= _MOST_OPTIONS:
            try:
                loaded = load(options, PROBE_ROWS)
            except ProblemFileError as later:
                more = tuple(option for option in later.remedy if option not in options)
                if not more:
                    break
                options += more
                continue
            if wanted is not None:
                amended = _amended(options, wanted(loaded, options))
                try:
                    if amended != options:
                        load(amended, PROBE_ROWS)
                        options = amended
                except ProblemFileError:
                    pass  # (a passage column some rows lack: the suggestion goes without it)
            if options != exc.remedy:
                raise type(exc)(exc.path, f"{exc.message}; all together, its first rows "
                                f"load with: {shell_options(options)}", exc.line,
                                remedy=options) from None
            break
        raise


def _amended(options: Remedy, more: Remedy) -> Remedy:
    """`options` with `more`: a flag given once (--question-field) replaced where it is."""
    for flag, value in more:
        if flag != "--field" and any(f == flag for f, _ in options):
            options = tuple((f, value if f == flag else v) for f, v in options)
        elif (flag, value) not in options:
            options += ((flag, value),)
    return options


def field_flags(fields: FieldMap) -> dict[str, Any]:
    """The column-mapping flags `fields` stands for, defaults left out (a run's provenance)."""
    default = FieldMap()
    flags: dict[str, Any] = {}
    if fields.question != default.question:
        flags["--question-field"] = fields.question
    if fields.answer != default.answer:
        flags["--answer-field"] = fields.answer
    if fields.answer_pattern is not None:
        flags["--answer-pattern"] = fields.answer_pattern
    if fields.columns:
        flags["--field"] = [f"{name}={column}" for name, column in fields.columns.items()]
    if fields.header:
        flags["--columns"] = ",".join(fields.header)
    if fields.index_base != default.index_base:
        flags["--index-base"] = fields.index_base
    if fields.shuffle_choices:
        flags["--shuffle-choices"] = True
    if fields.where:
        flags["--where"] = [str(f) for f in fields.where]
    return flags


def flags_text(flags: dict[str, Any]) -> str:
    """Recorded flags (`field_flags`) as a command line would give them."""
    parts: list[str] = []
    for flag, value in flags.items():
        for one in value if isinstance(value, list) else [value]:
            parts.append(flag if one is True else f"{flag} {shlex.quote(str(one))}")
    return " ".join(parts)


def with_options(fields: FieldMap, remedy: Remedy) -> FieldMap:
    """`fields` as the command-line options in `remedy` would change it."""
    for flag, value in remedy:
        if flag == "--question-field":
            fields = replace(fields, question=value)
        elif flag == "--answer-field":
            fields = replace(fields, answer=value)
        elif flag == "--answer-pattern":
            fields = replace(fields, answer_pattern=value)
        elif flag == "--field":
            name, _, column = value.partition("=")
            fields = replace(fields, columns={**fields.columns, name: column})
        elif flag == "--columns":
            fields = replace(fields, header=parse_columns_option(value))
        elif flag == "--index-base":
            fields = replace(fields, index_base=int(value))
        else:
            raise ValueError(f"not a field-mapping option: {flag}")
    return fields


def _column_guess(row: dict[str, Any], flag: str, guesses: tuple[str, ...], default: str,
                  column: str) -> Remedy:
    """The options that map the column a missing field is probably under, if any."""
    found = (_named_column(row, (default, *guesses), column)
             or _nested_column(row, (default, *guesses), column)
             or _worded_column(row, flag, column))
    if found is None:
        return ()
    guess, value = found
    inner = next((k for k in ("text", "value", "spans") if isinstance(value, dict)
                  and k in value), None)
    if inner:  # SQuAD's answers: {"text": [...], "answer_start": [...]}; DROP's spans
        guess, value = f"{guess}.{inner}", value[inner]
    remedy: Remedy = ((flag, guess),)
    passage = passage_column(row, value) if flag == "--question-field" else None
    if passage:  # (LogiQA's context, RACE's article: the question is about it)
        remedy = ((flag, f"{passage},{guess}"),)
    if flag == "--answer-field" and isinstance(value, str):
        if ANSWER_IS.search(value) and "\n" in value.strip():
            remedy += (("--answer-pattern", "answer-is"),)
        elif "####" in value:
            remedy += (("--answer-pattern", "gsm8k"),)
        elif "\\boxed" in value:
            remedy += (("--answer-pattern", "boxed"),)
    return remedy


def _named_column(row: dict[str, Any], names: tuple[str, ...], column: str
                  ) -> tuple[str, Any] | None:
    """The first of `names` the row has filled (whatever its case: MRBench's
    Ground_Truth_Solution), other than `column`, with its value."""
    folded = {k.casefold(): k for k in row if isinstance(k, str)}
    for name in names:
        key = folded.get(name.casefold(), name)
        if key in row and key != column and not blank(row[key]):
            return key, row[key]
    return None


def _nested_column(row: dict[str, Any], names: tuple[str, ...], column: str
                   ) -> tuple[str, Any] | None:
    """One of `names` one level down, inside an object column: verl's RL sets keep the
    answer in reward_model.ground_truth."""
    for key, value in row.items():
        if isinstance(key, str) and isinstance(value, dict):
            found = _named_column(value, names, "")
            if found and f"{key}.{found[0]}" != column:
                return f"{key}.{found[0]}", found[1]
    return None


# Words of a column's name (see `column_words`) that say it holds the question or the answer
# (MAWPS' sQuestion and lSolutions, CMATH's golden, MultiArith's final_ans, MGSM's
# answer_number, Calc-X's result)…
_FIELD_WORDS = {
    "--question-field": {"question", "problem", "prompt", "query", "instruction"},
    "--answer-field": {"answer", "answers", "ans", "gold", "golden", "result", "solution",
                       "solutions", "target", "targets"},
}
# …and words that say it holds something about them: its options, its kind, its working.
_NOT_THE_FIELD_WORDS = {"option", "options", "choice", "choices", "analysis", "explanation",
                        "rationale", "type", "kind", "id", "idx", "index", "start", "format",
                        "style", "template", "source", "sources", "url", "date", "level"}


def _worded_column(row: dict[str, Any], flag: str, column: str) -> tuple[str, Any] | None:
    """A column whose name has a word of the field in it, and holds a value the field could
    be: one text or number (preferred), or a list of them (MAWPS' lSolutions, [43.0])."""
    candidates = []
    for key, value in row.items():
        words = set(column_words(key)) if isinstance(key, str) else set()
        if (key == column or not words & _FIELD_WORDS[flag] or words & _NOT_THE_FIELD_WORDS
                or blank(value)):
            continue
        if hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, (str, int, float)):
            return key, value
        if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            candidates.append((key, value))
    return candidates[0] if candidates else None


def left_out_passage(value: Any, question: str) -> bool:
    """A text (or list of lines: DREAM's dialogue, PubMedQA's paragraphs) long enough to be
    a passage, and not part of the question. One that holds the question itself is no
    passage: a training set's `text` is often the whole prompt, answer included."""
    text = joined_text(value) if isinstance(value, (str, list)) else None
    return (text is not None and len(text) >= 40 and text.strip() not in question
            and question.strip() not in text)


def passage_column(row: dict[str, Any], question: Any) -> str | None:
    """A column holding the text passage a question is about, when the question is not
    already written with it."""
    for key, value in row.items():
        if (isinstance(key, str) and key.casefold() in CONTEXT_COLUMN_GUESSES
                and left_out_passage(value, str(question))):
            return key
    return None


_GUESSES = {"question": ("--question-field", QUESTION_COLUMN_GUESSES),
            "answer": ("--answer-field", ANSWER_COLUMN_GUESSES)}


def missing_column(row: dict[str, Any], name: str, column: str) -> tuple[str, Remedy]:
    """For a row without the `column` the `name` field (question or answer) is read from:
    the hint for the error (" (is it 'query'? map it with --question-field query)") and the
    options it names."""
    flag, guesses = _GUESSES[name]
    remedy = _column_guess(row, flag, guesses, name, column)
    if remedy:
        column_meant = remedy[0][1].split(",")[-1]
        with_passage = (f", with its passage {remedy[0][1].split(',')[0]!r} before it,"
                        if "," in remedy[0][1] else "")
        return (f" (is it {column_meant!r}? map it{with_passage} with "
                f"{shell_options(remedy)})"), remedy
    return (f" (map another column with {flag})" if column == name else ""), ()
