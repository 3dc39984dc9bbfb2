"""Fuzzing the two readers of user files (issue: "any input gives either data or a clean exit-2
error"): the problem loader (JSONL / JSON / CSV / TSV / Parquet) and the transcript importer.

Hypothesis runs derandomized (the same examples every run, no example database), so a failure
here is reproducible and the suite's runtime is stable.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import cli_output
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sml_cli.cli import app
from sml_cli.errors import ProblemFileError, UsageError
from sml_cli.mapping import KNOWN_FIELDS
from sml_cli.problems import VERIFIERS, load_problems
from sml_cli.transcripts import import_file

FUZZ = settings(max_examples=150, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SUFFIXES = [".jsonl", ".jsonl", ".json", ".csv", ".tsv", ".parquet", ".xlsx", ".txt", ""]

# Inputs that once crashed a reader (each is also an explicit example below).
NASTY = {
    "lone surrogate": '{"question": "How many? \\ud800", "answer": "4"}\n',
    "huge integer": '{"question": "q", "answer": ' + "7" * 5000 + "}\n",
    "deep nesting": "[" * 3000 + "\n",
    "deep nesting, one row": '{"question": ' + "[" * 3000 + "\n",
    "array of deep nesting": "[" + "[" * 3000,
    "deep but parseable": '{"question": ' + "[" * 900 + "]" * 900 + ', "answer": "4"}\n',
}


# ----------------------------------------------------------------------------- strategies


scalars = (st.none() | st.booleans() | st.integers(-10**30, 10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
           | st.sampled_from(["42", "1,000", "$5", "3.0", "\\boxed{7}", "A", "b", "x^2",
                              "def f(): pass", "assert f() == 1", "(", "[a-", "", " "]))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8)
field_names = st.sampled_from([*KNOWN_FIELDS, "question", "answer", "extra", "Q", ""]) | st.text(
    max_size=6)
field_values = (json_values | st.sampled_from([*VERIFIERS, "bogus"])
                | st.lists(st.text(max_size=6), min_size=0, max_size=4))
rows = st.dictionaries(field_names, field_values, max_size=8)
# Rows that load (most of the time): the loader must return them intact.
valid_rows = st.fixed_dictionaries(
    {"question": st.text(min_size=1, max_size=40).filter(str.strip),
     "answer": st.sampled_from(["4", "1,000", "-3.5", "Paris", "x+1", "$12", "50%"])
     | st.integers() | st.floats(allow_nan=False, allow_infinity=False)},
    optional={"id": st.uuids().map(str), "solution": st.text(max_size=20),
              "notes": st.text(max_size=20), "source_row": json_values})
# Rows near the edge: every field present or not, with values that may or may not fit.
risky_rows = st.fixed_dictionaries(
    {"question": st.text(max_size=40) | json_values,
     "answer": st.sampled_from(["4", "1,000", "-3.5", "Paris", "x+1", "B", "[a-", ""])
     | json_values},
    optional={"id": st.text(max_size=5) | st.integers() | json_values,
              "verifier": st.sampled_from([*VERIFIERS, "bogus", "NUMERIC"]),
              "choices": st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4)
              | json_values,
              "tests": st.sampled_from(["assert f() == 1", "def (", "\x00"]) | json_values,
              "solution": st.text(max_size=20), "notes": st.text(max_size=20)})
any_row = st.one_of(valid_rows, valid_rows, valid_rows, risky_rows, risky_rows, rows, json_values)


def jsonl(items: list[Any]) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


def csv_text(items: list[dict[str, Any]], delimiter: str) -> str:
    header = sorted({str(k) for item in items for k in item}) or ["question"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    for item in items:
        writer.writerow([item.get(h, "") for h in header])
    return out.getvalue()


def workbook_bytes(items: list[dict[str, Any]]) -> bytes:
    """Rows as an Excel workbook; a cell holds a number or text (other values as JSON, and
    without the control characters a sheet cannot hold)."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)) and abs(value) < 1e15:
            return value
        text = value if isinstance(value, str) else json.dumps(value)
        return ILLEGAL_CHARACTERS_RE.sub("", text.encode("utf-8", "replace").decode())

    header = list(dict.fromkeys(cell(str(k)) for i in items for k in i))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for item in items:
        sheet.append([cell(item.get(h)) for h in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def encode_rows(items: list[Any], suffix: str, as_array: bool) -> str:
    if suffix in (".csv", ".tsv"):
        return csv_text([i for i in items if isinstance(i, dict)],
                        "\t" if suffix == ".tsv" else ",")
    return json.dumps(items) if as_array else jsonl(items)


@st.composite
def problem_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(suffix, content): well-formed, mixed, damaged and random files of every kind."""
    suffix = draw(st.sampled_from(SUFFIXES))
    kind = draw(st.sampled_from(["bytes", "text", "clean", "clean", "clean", "mixed", "mixed",
                                 "damaged"]))
    if kind == "bytes":
        return suffix, draw(st.binary(max_size=300))
    if kind == "text":
        return suffix, draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    if kind == "clean":
        items = draw(st.lists(valid_rows, min_size=1, max_size=5))
    else:
        items = draw(st.lists(any_row, max_size=5))
    if suffix == ".xlsx":
        book = workbook_bytes([i for i in items if isinstance(i, dict)])
        if kind == "damaged":  # a few bytes of the zip changed
            spoilt = bytearray(book)
            for _ in range(draw(st.integers(1, 4))):
                spoilt[draw(st.integers(0, len(spoilt) - 1))] = draw(st.integers(0, 255))
            book = bytes(spoilt)
        return suffix, book
    text = encode_rows(items, suffix, as_array=suffix == ".json" and draw(st.booleans()))
    if kind == "damaged" and text:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=5)) + text[cut + draw(st.integers(0, 3)):]
    return suffix, text.encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="sml-fuzz-") as tmp:
        yield Path(tmp)


def write(workdir: Path, name: str, content: bytes) -> Path:
    path = workdir / name
    path.write_bytes(content)
    return path


# ----------------------------------------------------------------------------- problem loader


def check_load(path: Path) -> None:
    try:
        problems = load_problems(str(path))
    except (UsageError, ProblemFileError) as exc:
        event(f"error: {str(exc).removeprefix(str(path)).split('(')[0][:40]}")
        assert exc.exit_code == 2
        assert str(path) in str(exc) or path.suffix.lower() not in (
            ".jsonl", ".json", ".csv", ".tsv", ".parquet", ".xlsx"), str(exc)
        return
    event("problems loaded")
    assert problems
    ids = [p.id for p in problems]
    assert len(set(ids)) == len(ids)
    for p in problems:
        assert isinstance(p.question, str) and p.question.strip()
        assert p.answer or p.tests
        assert p.verifier in VERIFIERS and p.verifier != "auto"
        p.key.encode()  # the database key can be computed (valid Unicode all through)
        json.dumps(p.to_record())


@FUZZ
@given(problem_files())
@example((".jsonl", NASTY["lone surrogate"].encode()))
@example((".jsonl", NASTY["huge integer"].encode()))
@example((".jsonl", NASTY["deep nesting"].encode()))
@example((".jsonl", NASTY["deep nesting, one row"].encode()))
@example((".json", NASTY["array of deep nesting"].encode()))
@example((".json", ("[" + NASTY["lone surrogate"].strip() + "]").encode()))
@example((".json", ("[" + NASTY["huge integer"].strip() + "]").encode()))
@example((".jsonl", NASTY["deep but parseable"].encode()))
@example((".csv", b'question,answer,choices\nq,A,"' + b"[" * 3000 + b'"\n'))
@example((".csv", b'question,answer,choices\nq,A,"[""\\ud800"", ""b""]"\n'))
@example((".csv", b'question,answer,choices\nq,A,"[' + b"7" * 5000 + b']"\n'))
@example((".csv", b'question,answer\n"How many?",4\n"unclosed,5\n'))
@example((".csv", b"question,answer\n" + b"x" * 200_000 + b",4\n"))
@example((".csv", b"question,answer\nq\x00,4\n"))
@example((".jsonl", b"\xef\xbb\xbf" + b'{"question": "q", "answer": "4"}\n'))
def test_problem_loader_returns_problems_or_a_clean_error(workdir: Path,
                                                          case: tuple[str, bytes]) -> None:
    suffix, content = case
    check_load(write(workdir, "problems" + suffix, content))


WORKBOOK = workbook_bytes([{"question": f"{n} + 1?", "answer": n + 1} for n in range(20)])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(WORKBOOK) - 1), st.integers(0, 255)),
                min_size=1, max_size=6))
def test_a_damaged_workbook_loads_or_is_refused_cleanly(workdir: Path,
                                                       spoilt: list[tuple[int, int]]) -> None:
    # A zip's damage surfaces as zlib, NotImplementedError, XML or KeyError faults, some
    # only once rows are read: each must be a clean exit-2 error naming the file.
    content = bytearray(WORKBOOK)
    for at, byte in spoilt:
        content[at] = byte
    check_load(write(workdir, "problems.xlsx", bytes(content)))


# What Parquet and Arrow cells hold besides JSON's types: bytes (an image's), dates.
columnar_values = st.recursive(
    scalars | st.binary(max_size=8) | st.dates(), lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@FUZZ
@given(columnar_values)
def test_any_columnar_cell_reads_as_text_or_nothing(value: Any) -> None:
    from sml_cli.cells import blank, cell_text, joined_text, list_cell

    for text in (cell_text(value), joined_text(value), cell_text(list_cell(value))):
        assert text is None or isinstance(text, str)
    assert blank(value) in (True, False)


# ----------------------------------------------------------------------------- transcript importer


turn_items = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["student", "teacher"]),
                           "content": st.text(max_size=40) | st.sampled_from(
                               ["Final answer: 4", "\\boxed{4}", "ANSWER: 1,000", "is it 4?",
                                "The answer is 4.", "4", "def f():\n  return 1"])}),
    st.fixed_dictionaries({"role": json_values, "content": json_values}),
    json_values,
)
good_turns = st.fixed_dictionaries({
    "role": st.sampled_from(["student", "teacher"]),
    "content": st.text(max_size=40) | st.sampled_from(
        ["Final answer: 4", "\\boxed{4}", "ANSWER: 1,000", "is it 4?", "The answer is 4.",
         "4", "It is one more than 3.", "x+1", "Paris"])})
good_transcripts = st.fixed_dictionaries(
    {"problem": valid_rows, "turns": st.lists(good_turns, min_size=1, max_size=5)},
    optional={"condition": st.sampled_from(["answer", "none", "human tutor"]),
              "meta": st.dictionaries(st.text(max_size=5), json_values, max_size=3)})
# The layouts of public datasets: speaker labels known, unknown, odd; one-string dialogues
# (MathDial's |EOM|, speaker lines), lists of "Speaker: text", ShareGPT/OpenAI objects.
speaker_labels = st.sampled_from(["Teacher", "Student", "Cody", "user", "assistant", "gpt",
                                  "human", "system", "Tutor", "Note", "", "**Teacher**", "a:b"])
turn_text = st.text(max_size=30) | st.sampled_from(
    ["I think it is 4.", "Final answer: 4", "(probing)What did you do?", "7 + 3 = 10", ""])
spoken = st.tuples(speaker_labels, turn_text).map(lambda t: f"{t[0]}: {t[1]}")
dialogue_strings = st.one_of(
    st.lists(spoken, max_size=5).map("|EOM|".join),
    st.lists(spoken | turn_text, max_size=5).map("\n".join),
    st.text(max_size=60),
)
layout_turns = st.one_of(
    dialogue_strings,
    st.lists(spoken | turn_text, max_size=4),
    st.lists(st.fixed_dictionaries({"from": speaker_labels, "value": turn_text}), max_size=4),
    st.lists(st.fixed_dictionaries(
        {"role": speaker_labels,
         "content": turn_text | st.lists(st.fixed_dictionaries(
             {"type": st.just("text"), "text": turn_text}), max_size=2) | json_values}),
        max_size=4),
)
flat_transcripts = st.builds(
    lambda problem, key, turns, extra: {**problem, key: turns, **extra},
    valid_rows | risky_rows,
    st.sampled_from(["conversation", "messages", "conversations", "turns", "dialogue"]),
    layout_turns,
    st.dictionaries(st.sampled_from(["scenario", "profile", "condition", "meta"]), json_values,
                    max_size=2),
)
transcript_rows = st.one_of(
    good_transcripts,
    flat_transcripts,
    flat_transcripts,
    st.fixed_dictionaries(
        {"problem": valid_rows | risky_rows | rows, "turns": st.lists(turn_items, max_size=4)},
        optional={"condition": st.text(max_size=8) | json_values,
                  "meta": st.dictionaries(st.text(max_size=5), json_values, max_size=3)
                  | json_values}),
    st.dictionaries(st.sampled_from(["problem", "turns", "condition", "meta", "x"]),
                    json_values, max_size=4),
    json_values,
)


@st.composite
def transcript_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["clean", "clean", "rows", "rows", "damaged", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "clean":
        text = jsonl(draw(st.lists(good_transcripts, min_size=1, max_size=4)))
    else:
        text = jsonl(draw(st.lists(transcript_rows, max_size=4)))
    if kind == "damaged" and text:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=4)) + text[cut + draw(st.integers(0, 3)):]
    return text.encode("utf-8", "surrogatepass")


def counts(db: Path) -> tuple[int, int, int]:
    if not db.exists():
        return (0, 0, 0)
    conn = sqlite3.connect(db)
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                     for t in ("runs", "sessions", "turns"))
    except sqlite3.OperationalError:  # no tables yet
        return (0, 0, 0)
    finally:
        conn.close()


VALID_TRANSCRIPT = {"problem": {"question": "How many?", "answer": "4"},
                    "turns": [{"role": "student", "content": "Final answer: 4"}]}


@FUZZ
@given(transcript_files(), st.sampled_from(["strict", "mention"]))
@example(jsonl([VALID_TRANSCRIPT]).encode(), "mention")
@example((jsonl([VALID_TRANSCRIPT]) + NASTY["lone surrogate"]).encode(), "strict")
@example(jsonl([{**VALID_TRANSCRIPT, "turns": [{"role": "student", "content": "\\ud800"}]}])
         .replace("\\\\ud800", "\\ud800").encode(), "strict")
@example(jsonl([{**VALID_TRANSCRIPT, "meta": {"k": "\\udfff"}}])
         .replace("\\\\udfff", "\\udfff").encode(), "mention")
@example(jsonl([{**VALID_TRANSCRIPT, "condition": "\\ud83d"}])
         .replace("\\\\ud83d", "\\ud83d").encode(), "strict")
@example((jsonl([VALID_TRANSCRIPT]) + NASTY["huge integer"]).encode(), "strict")
@example((jsonl([VALID_TRANSCRIPT]) + NASTY["deep nesting"]).encode(), "strict")
@example((jsonl([VALID_TRANSCRIPT]) + NASTY["deep but parseable"]).encode(), "strict")
def test_transcript_import_returns_scores_or_a_clean_error_and_writes_nothing(
    workdir: Path, content: bytes, match: str
) -> None:
    path = write(workdir, "transcripts.jsonl", content)
    db = workdir / "import.db"
    before = counts(db)
    try:
        result = import_file(str(path), match=match, db=str(db))
    except UsageError as exc:
        event(f"error: {str(exc).removeprefix(str(path)).split('(')[0][:40]}")
        assert exc.exit_code == 2
        assert str(path) in str(exc), str(exc)
        assert counts(db) == before  # nothing written: no run, no session, no turn
        return
    event("imported")
    runs, sessions, turns = counts(db)
    n = sum(c["n_sessions"] for c in result["conditions"].values())
    assert n == result["config"]["n_transcripts"] >= 1
    assert (runs, sessions) == (before[0] + 1, before[1] + n)
    assert turns > before[2]
    json.dumps(result)


# ----------------------------------------------------------------------------- the CLI


CLI_FILES = st.one_of(problem_files(), transcript_files().map(lambda c: (".jsonl", c)))


@settings(max_examples=12, derandomize=True, database=None, deadline=None)
@given(CLI_FILES)
@example((".jsonl", NASTY["lone surrogate"].encode()))
@example((".jsonl", NASTY["deep nesting"].encode()))
@example((".json", NASTY["array of deep nesting"].encode()))
def test_cli_exits_0_or_2_never_a_traceback(workdir: Path, case: tuple[str, bytes]) -> None:
    suffix, content = case
    path = write(workdir, "cli" + suffix, content)
    runner = CliRunner()
    for args in (["problems", "show", str(path)],
                 ["sessions", "import", str(path), "--db", str(workdir / "cli.db")]):
        result = runner.invoke(app, args)
        output = cli_output(result)
        assert result.exit_code in (0, 2), (args, result.exit_code, output, result.exception)
        assert "Traceback" not in output
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.exception
        if result.exit_code == 2:
            assert "Error:" in output
