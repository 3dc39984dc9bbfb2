"""Rows from data files: JSONL, JSON (an array, an object of records, or JSON lines), CSV/TSV,
Excel sheets, Parquet and Arrow, gzip/bzip2/xz-compressed text, and folders or quoted globs
of shards.

Problem sets and dialogue imports read their files here; each row comes with the line an
editor shows it on, and a file that cannot be read is a `ProblemFileError` naming that line.
"""

from __future__ import annotations

import bz2
import csv
import glob
import gzip
import io
import json
import lzma
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from sml_cli.cells import collection_paused, parse_json
from sml_cli.errors import Line, ProblemFileError, UsageError

# JSON Lines go by several names (newline-delimited JSON: `.ndjson`).
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
SUPPORTED_SUFFIXES = (*JSON_LINES_SUFFIXES, ".json", ".csv", ".tsv", ".xlsx", ".parquet",
                      ".arrow")
# A `.txt` file is read when it holds JSON Lines (LogiQA 2.0 ships its splits as test.txt),
# never as a folder's shard: a folder's .txt files are its README and licence.
SNIFFED_SUFFIX = ".txt"
BINARY_SUFFIXES = (".parquet", ".arrow", ".xlsx")
# Text files may come compressed, as datasets are often published (HumanEval.jsonl.gz).
COMPRESSIONS = (".gz", ".bz2", ".xz")


def is_glob(spec: str) -> bool:
    return any(c in spec for c in "*?[")


def source_exists(path: Path) -> bool:
    """A file or folder, or a glob (quoted, so that sml expands it) matching something."""
    return path.exists() or (is_glob(str(path)) and bool(glob.glob(str(path), recursive=True)))


def read_rows(path: Path, header: tuple[str, ...] = ()
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs. Line numbers are what an editor shows: 1-based, counting the
    CSV header; for Parquet they are 1-based row numbers. `header`: the column names of a
    CSV/TSV file that has no header row (`--columns`)."""
    if path.is_dir():
        raise ProblemFileError(str(path), "is a directory, not a problem file")
    suffix = data_suffix(path)
    if suffix == SNIFFED_SUFFIX and holds_json_lines(path):
        suffix = ".jsonl"
    if suffix not in SUPPORTED_SUFFIXES or (suffix in BINARY_SUFFIXES and _compression(path)):
        raise ProblemFileError(
            str(path),
            f"unsupported file type {_shown_suffix(path) or '(none)'!r}; use one of "
            + ", ".join(SUPPORTED_SUFFIXES) + " (text ones may be compressed: "
            + ", ".join(COMPRESSIONS) + ")"
            + ("; a .txt file is read when its lines are JSON objects, and this one's first "
               "line is not one" if suffix == SNIFFED_SUFFIX else ""),
        )
    if header and suffix not in (".csv", ".tsv", ".xlsx"):
        raise UsageError(f"--columns names the columns of a CSV or TSV file without a header "
                         f"row; {path} is {_shown_suffix(path)}, whose rows name their fields")
    try:
        if suffix == ".parquet":
            yield from _read_parquet(path)
        elif suffix == ".xlsx":
            yield from _read_xlsx(path, header)
        elif suffix == ".arrow":
            yield from _read_arrow(path)
        elif suffix == ".csv":
            yield from _read_csv(path, _csv_delimiter(path), header)
        elif suffix == ".tsv":
            # (read once: its quoting is found by parsing it whole, then it is parsed for rows)
            with _open_text(path, newline="") as fh:
                text = str(fh.read())
            yield from _read_csv(path, "\t", header, quoting=_tsv_quoting(text), text=text)
        elif suffix == ".json" and _looks_like_json_array(path):
            yield from _read_json_array(path)
        elif suffix == ".json":
            yield from _read_json_object(path)
        else:
            yield from _read_jsonl(path)
    except UnicodeDecodeError as exc:
        raise ProblemFileError(
            str(path), f"not UTF-8 text ({exc.reason})", _first_bad_utf8_line(path)
        ) from None
    except (OSError, EOFError, lzma.LZMAError) as exc:  # EOFError: a truncated archive
        raise ProblemFileError(str(path), getattr(exc, "strerror", None) or str(exc)) from None


def holds_json_lines(path: Path) -> bool:
    """Does a text file of no data format hold JSON Lines: is its first non-blank line a
    JSON object?"""
    try:
        return isinstance(parse_json(_first_line(path)), dict)
    except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError, ValueError,
            RecursionError):
        return False


def _compression(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return suffix if suffix in COMPRESSIONS else None


def _shown_suffix(path: Path) -> str:
    return (path.with_suffix("").suffix + path.suffix) if _compression(path) else path.suffix


def data_suffix(path: Path) -> str:
    """The suffix that says the format: `.jsonl` for both `x.jsonl` and `x.jsonl.gz`."""
    return (path.with_suffix("") if _compression(path) else path).suffix.lower()


def _open_data(path: Path, mode: str = "rt", **text: Any) -> Any:
    """`path` opened for reading, decompressed on the fly when its name says so; `text`
    takes `encoding` and `newline` in a text mode."""
    compression = _compression(path)
    if compression == ".gz":
        return gzip.open(path, mode, **text)
    if compression == ".bz2":
        return bz2.open(path, mode, **text)
    if compression == ".xz":
        return lzma.open(path, mode, **text)
    return path.open(mode, **text)


def _open_text(path: Path, encoding: str = "utf-8-sig", newline: str | None = None) -> Any:
    return _open_data(path, "rt", encoding=encoding, newline=newline)


def _first_line(path: Path) -> str:
    """The text file's first line that is not blank ("" if it has none)."""
    with _open_text(path, newline="") as fh:
        return next((line for line in fh if line.strip()), "")


def _read_text(path: Path) -> str:
    with _open_text(path) as fh:
        return str(fh.read())


def _first_bad_utf8_line(path: Path) -> int | None:
    try:
        with _open_data(path, "rb") as fh:  # bytes as stored: no newline translation
            data = fh.read()
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    except (OSError, EOFError, lzma.LZMAError):
        pass
    return None


def _looks_like_json_array(path: Path) -> bool:
    with _open_text(path, encoding="utf-8") as fh:
        head = fh.read(4096).lstrip("\ufeff \t\r\n")
    return head.startswith("[")


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with _open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = parse_json(line)
            except (ValueError, RecursionError) as exc:
                raise ProblemFileError(str(path), json_error(exc), line_no) from None
            yield line_no, _json_row(row, path, line_no)


def _json_row(row: Any, path: Path, line: int) -> dict[str, Any]:
    """A parsed JSON value that must be one problem row (an object of sane values)."""
    if not isinstance(row, dict):
        raise ProblemFileError(str(path), f"expected a JSON object, got {type(row).__name__}",
                               line)
    problem = json_value_problem(row)
    if problem:
        raise ProblemFileError(str(path), problem, line)
    return row


MAX_JSON_DEPTH = 64


def json_error(exc: Exception) -> str:
    """Why `json.loads` refused a text: a syntax error, a number too long to convert, or a
    nesting deeper than the parser's recursion limit (the last two are not JSONDecodeError)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg})"
    if isinstance(exc, RecursionError):
        return "invalid JSON (nested too deeply)"
    if "integer string conversion" in str(exc):
        return "invalid JSON (a number with too many digits)"
    return f"invalid JSON ({exc})"


def json_value_problem(value: Any) -> str | None:
    """What makes a parsed JSON value unusable, or None: a string that is not valid Unicode (a
    lone surrogate from an escape like \\ud800: it cannot be stored or hashed as UTF-8), or a
    nesting deeper than any problem or transcript needs (it would exhaust the stack later)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"invalid JSON (nested more than {MAX_JSON_DEPTH} levels deep)"
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                shown = item if len(item) <= 40 else item[:40] + "…"
                return f"text that is not valid Unicode (an unpaired surrogate): {shown!r}"
        elif isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return None


_WS = re.compile(r"\s*")


# A .json file that is one object holding the rows under one of these keys (BIG-bench's
# "examples", many exports' "data").
WRAPPER_KEYS = ("data", "examples", "rows", "instances", "items", "records", "problems",
                "dialogues", "samples")
# A dataset's splits, as file names and folders name them (test-00000-of-00001.parquet) and as
# the keys of a .json object holding each split's rows ({"train": [...], "test": [...]}, a
# Hugging Face DatasetDict saved as one JSON object). Rows read from such keys keep their
# split's name in the `split` column (unless they have one): `--where split=test` picks one.
SPLIT_NAMES = ("train", "test", "validation", "valid", "val", "dev")
SPLIT_COLUMN = "split"


def _read_json_object(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """A .json file that is not an array, read and parsed once: one object holding the rows
    under a wrapper key, or rows keyed by id; otherwise JSON lines in a .json file."""
    text = _read_text(path)
    try:
        whole = parse_json(text)
    except (ValueError, RecursionError):
        whole = None
    if isinstance(whole, dict):
        start = _wrapped_array_start(text, whole)
        if start is not None:
            yield from _read_json_array(path, text, start)
            return
        splits = _split_array_starts(text, whole)
        if splits is not None:
            for name, start in splits:
                for line, row in _read_json_array(path, text, start, f"{name} item"):
                    has_split = SPLIT_COLUMN in (str(k).casefold() for k in row)
                    yield line, row if has_split else {**row, SPLIT_COLUMN: name}
            return
        keyed = _records_by_key(text, whole, path)
        if keyed is not None:
            yield from keyed
            return
        # One object that is no wrapper and no rows keyed by id is one row, however it is
        # laid out (pretty-printed over many lines, it is no JSON lines).
        yield 1, _json_row(whole, path, 1)
        return
    yield from _read_jsonl(path)


def _wrapped_array_start(text: str, whole: dict[str, Any]) -> int | None:
    """Where the row array of a wrapper object starts in its text (the offset of its `[`),
    or None when the object is no such wrapper."""
    for key in WRAPPER_KEYS:
        value = whole.get(key)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            match = re.search(rf'"{re.escape(key)}"\s*:\s*\[', text)
            if match:
                return match.end() - 1
    return None


def _split_array_starts(text: str, whole: dict[str, Any]) -> list[tuple[str, int]] | None:
    """(split name, where its row array starts in the text) for an object whose keys are all
    split names and whose values are arrays of rows (empty ones skipped), or None."""
    if not whole or not all(isinstance(k, str) and k.casefold() in SPLIT_NAMES
                            and isinstance(v, list) and all(isinstance(x, dict) for x in v)
                            for k, v in whole.items()):
        return None
    starts, pos = [], 0
    for key, value in whole.items():
        match = re.compile(rf'"{re.escape(key)}"\s*:\s*\[').search(text, pos)
        if match is None:  # (a key written with escapes: not worth a parser of its own)
            return None
        pos = match.end()
        if value:
            starts.append((key, match.end() - 1))
    return starts or None


def _records_by_key(text: str, whole: dict[str, Any], path: Path
                    ) -> list[tuple[int, dict[str, Any]]] | None:
    """Rows stored as one object keyed by id, {"0": {…}, "1": {…}}, possibly under one
    wrapper key (CIMA's {"prepDataset": {…}}, beside an empty "shapeDataset"), or None. Each
    row's key becomes its `id` unless it has one; its line is where the key is written."""

    def keyed(value: Any) -> bool:
        # (Rows hold some plain value: {"train": {"0": {…}}, "test": {…}} is splits of rows.)
        return (isinstance(value, dict) and bool(value)
                and all(isinstance(v, dict) and v for v in value.values())
                and any(not isinstance(x, dict) for v in value.values() for x in v.values()))

    # (An empty sibling holds no rows: CIMA ships {"prepDataset": {…}, "shapeDataset": {}}.)
    filled = [v for v in whole.values() if v not in ({}, [])]
    if len(filled) == 1 and keyed(filled[0]):
        records = filled[0]
    elif keyed(whole):  # (one row keyed by its id is still keyed: a file of one problem)
        records = whole
    else:
        return None
    starts, pos = [], 0
    for key in records:
        found = re.compile(rf'{re.escape(json.dumps(key))}\s*:\s*\{{').search(text, pos)
        if found:
            pos = found.end()
        starts.append(text.count("\n", 0, pos) + 1)
    keys = list(records)
    return [(line, _json_row({"id": key, **row} if "id" not in row else row, path, line))
            for line, (key, row) in zip(_told_apart(starts, lambda i: f"key {keys[i]!r}"),
                                        records.items(), strict=True)]


def _told_apart(starts: list[int], label: Callable[[int], str]) -> list[int]:
    """Rows' start lines, each that shares its line with a neighbour (JSON written on one
    line) labelled with which row it is."""
    return [Line(line, label(i))
            if (i > 0 and starts[i - 1] == line) or (i + 1 < len(starts) and starts[i + 1] == line)
            else line for i, line in enumerate(starts)]


def _read_json_array(path: Path, text: str | None = None, start: int | None = None,
                     item: str = "item") -> Iterator[tuple[int, dict[str, Any]]]:
    """A JSON array of objects, item by item, each with the line it starts on (and its item
    number, when the array is written on one line: "`item` 2"). With `text` and `start`, the
    array at that offset inside a wrapper object (what follows it is not read)."""
    if text is None:
        text = _read_text(path)
    decoder = json.JSONDecoder()
    line, counted = 1, 0

    def line_at(pos: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, pos)
        counted = pos
        return line

    def skip(pos: int) -> int:
        return _WS.match(text, pos).end()  # type: ignore[union-attr]

    items: list[tuple[int, Any]] = []
    pos = skip(0) if start is None else start
    if not text.startswith("[", pos):
        raise ProblemFileError(str(path), "expected a JSON array of objects or JSON lines", 1)
    pos = skip(pos + 1)
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            try:
                with collection_paused():
                    row, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise ProblemFileError(str(path), json_error(exc), exc.lineno) from None
            except (ValueError, RecursionError) as exc:  # a huge number, too deep a nesting
                raise ProblemFileError(str(path), json_error(exc), line_at(pos)) from None
            items.append((line_at(pos), row))
            pos = skip(end)
            if text.startswith(",", pos):
                pos = skip(pos + 1)
                continue
            if text.startswith("]", pos):
                pos += 1
                break
            raise ProblemFileError(
                str(path), "invalid JSON (expected ',' or ']' after an item)", line_at(pos)
            )
    if start is None and skip(pos) != len(text):
        raise ProblemFileError(
            str(path), "invalid JSON (extra data after the array)", line_at(skip(pos))
        )
    lines = _told_apart([line for line, _ in items], lambda i: f"{item} {i + 1}")
    for line, (_, row) in zip(lines, items, strict=True):
        yield line, _json_row(row, path, line)


def _csv_delimiter(path: Path) -> str:
    """"," — or ";" for the CSV a spreadsheet writes where the comma is the decimal mark
    (Excel in German, French, …), told by a first line with semicolons and no commas."""
    unquoted = re.sub(r'"[^"]*"', "", _first_line(path))
    return ";" if ";" in unquoted and "," not in unquoted else ","


def _tsv_quoting(text: str) -> Literal[0, 3]:
    """How a TSV file (its `text`) quotes. Many are written with no quoting at all (the
    format has none: a field cannot hold a tab or a newline), so a question that opens with
    a quotation mark is text, not a quoted field; others (pandas') quote as CSV does. A file
    that does not parse with quotes is read without them."""
    try:
        for _ in csv.reader(io.StringIO(text), delimiter="\t", strict=True):
            pass
    except csv.Error:
        return csv.QUOTE_NONE
    return csv.QUOTE_MINIMAL


def _read_csv(path: Path, delimiter: str, given_header: tuple[str, ...] = (),
              quoting: Literal[0, 3] = csv.QUOTE_MINIMAL, text: str | None = None
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of a CSV/TSV file, or of its `text` when it has been read already."""
    with io.StringIO(text) if text is not None else _open_text(path, newline="") as fh:
        # strict: a stray or unclosed quote is an error on its line, not a silently merged row
        reader = csv.reader(fh, delimiter=delimiter, strict=True, quoting=quoting)
        start_line = 1

        def malformed(exc: csv.Error) -> ProblemFileError:
            if "unexpected end of data" in str(exc):
                message = (
                    f"malformed CSV (a quoted field opened on line {start_line} is never closed)"
                )
            else:
                shown = str(exc).replace("\t", "\\t")  # (a tab would print as spaces)
                message = f"malformed CSV ({shown})"
            return ProblemFileError(str(path), message, start_line)

        def next_row() -> list[str] | None:
            try:
                return next(reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                raise malformed(exc) from None

        if given_header:
            header = list(given_header)
        else:
            first = next_row()
            if first is None:
                return
            header = _header(path, 1, [h.strip() for h in first])
            start_line = reader.line_num + 1
        while (values := next_row()) is not None:
            if not any(v.strip() for v in values):
                start_line = reader.line_num + 1
                continue
            if len(values) != len(header):
                named_by = "--columns names" if given_header else "the header has"
                raise ProblemFileError(
                    str(path),
                    f"{len(values)} column{'s' if len(values) != 1 else ''} but {named_by} "
                    f"{len(header)} ({', '.join(header)})",
                    start_line,
                )
            if delimiter == ";":
                values = [_decimal_point(v) for v in values]
            row = {k: (v if v != "" else None) for k, v in zip(header, values, strict=True)}
            yield start_line, row
            start_line = reader.line_num + 1


# A number as a decimal-comma locale writes it: "2,5", "-0,75", "1.234,5", "1.000".
_DECIMAL_COMMA = re.compile(r"\s*-?(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d+)\s*")


def _decimal_point(cell: str) -> str:
    """A cell of a semicolon CSV that is one number, written with a decimal point: the
    spreadsheet that wrote the file used the comma as its decimal mark ("2,5" is 2.5)."""
    if not _DECIMAL_COMMA.fullmatch(cell):
        return cell
    return cell.strip().replace(".", "").replace(",", ".")


def _read_xlsx(path: Path, given_header: tuple[str, ...] = ()
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of an Excel workbook's first sheet (TalkMoves and many classroom transcripts
    ship so), read as a CSV is: the first row names the columns (unless `--columns` does),
    line numbers are the sheet's row numbers, and empty rows and cells are skipped."""
    import openpyxl  # only spreadsheet users pay for it

    def unreadable(exc: Exception) -> ProblemFileError:
        return ProblemFileError(str(path), f"not a readable Excel workbook ({exc})")

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged zip or part raises any of a dozen types
        raise unreadable(exc) from None
    try:
        rows = enumerate(_sheet_rows(book, unreadable), start=1)
        header = list(given_header)
        if not header:
            for line, values in rows:
                if any(_filled(v) for v in values):
                    header = _sheet_header(path, line, values)
                    break
        for line, values in rows:
            if not any(_filled(v) for v in values):
                continue
            beyond = [v for v in values[len(header):] if _filled(v)]
            if beyond:
                named_by = "--columns names" if given_header else "the header has"
                raise ProblemFileError(
                    str(path), f"a value ({str(beyond[0])[:40]!r}) beyond the {len(header)} "
                    f"columns {named_by} ({', '.join(header)})", line)
            yield line, {name: _sheet_value(v) for name, v in zip(header, values, strict=False)
                         if _filled(v)}
    finally:
        book.close()


def _sheet_rows(book: Any, unreadable: Callable[[Exception], ProblemFileError]
                ) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows; a part that breaks while they are read (a read-only workbook
    parses as it goes) is the file's fault, said as such."""
    rows = book.worksheets[0].iter_rows(values_only=True)
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # (zlib.error, NotImplementedError, ParseError, …)
            raise unreadable(exc) from None
        yield values


def _filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _sheet_header(path: Path, line: int, values: tuple[Any, ...]) -> list[str]:
    names = [str(v).strip() if _filled(v) else "" for v in values]
    while names and not names[-1]:
        names.pop()
    return _header(path, line, names)


def _header(path: Path, line: int, names: list[str]) -> list[str]:
    """A header row's column names, checked: a column without a name (pandas' index, the
    trailing ",," a spreadsheet leaves) is named as pandas reads it back, "Unnamed: 0"; a
    name given twice is an error."""
    names = [name or f"Unnamed: {i}" for i, name in enumerate(names)]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ProblemFileError(str(path), "the header repeats column(s) "
                               f"{', '.join(map(repr, duplicated))}", line)
    return names


def _sheet_value(value: Any) -> Any:
    """A cell as a JSON row would hold it: dates and times as ISO text."""
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) and not isinstance(value, str) else value


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq  # heavy; only parquet users pay for it

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise ProblemFileError(str(path), f"not a readable Parquet file ({exc})") from None
    row_no = 0
    for batch in parquet.iter_batches(batch_size=2048):
        for row in batch.to_pylist():
            row_no += 1
            yield row_no, row


def _read_arrow(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """An Arrow IPC file, as `datasets`' `save_to_disk` writes them (the streaming format;
    the random-access file format is read too)."""
    import pyarrow as pa

    try:
        try:
            reader: Any = pa.ipc.open_stream(pa.memory_map(str(path)))
            batches = iter(reader)
        except pa.ArrowInvalid:
            reader = pa.ipc.open_file(pa.memory_map(str(path)))
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        row_no = 0
        for batch in batches:
            for row in batch.to_pylist():
                row_no += 1
                yield row_no, row
    except (pa.ArrowException, ValueError) as exc:
        raise ProblemFileError(str(path), f"not a readable Arrow file ({exc})") from None


def data_files(path: Path) -> list[Path]:
    """The files behind a problem or dialogue source: the file itself, a folder's shards, or
    the files a quoted glob matches ('data/test-*.parquet')."""
    if path.is_dir():
        return shard_files(path)
    if path.exists() or not is_glob(str(path)):
        return [path]
    matched = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
    files = _data_files_among(matched)
    if not files:
        raise ProblemFileError(str(path), "no data files match ("
                               + ", ".join(SUPPORTED_SUFFIXES) + ")")
    return _one_kind(files, str(path), "files matching it")


# Metadata that `datasets` writes next to its shards.
_DATASET_METADATA = ("dataset_info.json", "state.json", "dataset_dict.json")
_SPLIT = re.compile(rf"(?:^|[-_./])({'|'.join(SPLIT_NAMES)})(?=[-_./]|$)")


def _data_files_among(paths: list[Path]) -> list[Path]:
    # (".x": hidden; "~$x.xlsx": the lock file Excel leaves beside a workbook it has open)
    return [p for p in paths if p.is_file() and not p.name.startswith((".", "~$"))
            and data_suffix(p) in SUPPORTED_SUFFIXES and p.name not in _DATASET_METADATA]


def _one_kind(files: list[Path], where: str, what: str) -> list[Path]:
    kinds = sorted({data_suffix(p) for p in files})
    if len(kinds) > 1:
        raise ProblemFileError(where, f"{what} are of several kinds ({', '.join(kinds)}): "
                               "name one file, or a folder of one kind")
    return files


def shard_files(path: Path) -> list[Path]:
    """A directory as published datasets lay them out (`data/test-00000-of-00002.parquet`,
    `datasets`' `save_to_disk` shards): its data files, in name order, subfolders included;
    exit 2 if it holds none, several formats, or several splits — evaluating on train and
    test together is never what was meant."""
    files = _data_files_among(sorted(path.rglob("*")))
    if not files:
        raise ProblemFileError(str(path), "a directory with no data files ("
                               + ", ".join(SUPPORTED_SUFFIXES) + ")")
    splits: dict[str, Path] = {}
    for file in files:
        found = _SPLIT.search(file.relative_to(path).with_suffix("").as_posix().casefold())
        if found:
            splits.setdefault(found.group(1), file)
    if len(splits) > 1:
        pattern = _split_glob(path, splits.get("test") or next(iter(splits.values())))
        raise ProblemFileError(str(path), f"the folder holds several splits "
                               f"({', '.join(sorted(splits))}): name one, e.g. "
                               f"{shlex.quote(pattern)}")
    return _one_kind(files, str(path), "its data files")


def _split_glob(root: Path, example: Path) -> str:
    """A glob for the files of `example`'s split: its folder for save_to_disk layouts
    (test/data-00000-of-00001.arrow), else its name up to the shard number."""
    relative = example.relative_to(root)
    if len(relative.parts) > 1 and _SPLIT.fullmatch(relative.parts[0].casefold()):
        return str(root / relative.parts[0])
    stem = re.sub(r"[-_]?\d+(?:-of-\d+)?$", "", example.name.split(".", 1)[0])
    return str(example.parent / f"{stem}*{''.join(example.suffixes)}")
