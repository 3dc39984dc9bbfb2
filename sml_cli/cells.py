"""Values of a data file's cells as the loaders need them: text, and lists written as text.

Problem files and dialogue files come from JSON, CSV, Parquet and Arrow, which spell the same
value differently (72 vs 72.0, a list vs its JSON text in a CSV cell); these functions
bring them to one form.
"""

from __future__ import annotations

import ast
import gc
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def clipped(text: str | None, limit: int) -> str:
    """`text` on one line, cut to `limit` characters (an ellipsis marking the cut), for
    quoting a value in a message or a table."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def clipped_at_word(text: str, limit: int) -> str:
    """`text` on one line, cut to at most `limit` characters at a word boundary where one is
    near (an ellipsis marking the cut): for messages whose end, cut mid-word, reads wrong."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def head(text: str, limit: int, *, rest_in: str) -> str:
    """`text`, or its first `limit` characters and how many more there are, and where to
    read them: for thoughts that run to pages beside the message that matters."""
    rest = len(text) - limit
    return text if rest <= 0 else f"{text[:limit]}… ({rest:,} more characters: {rest_in})"


def cell_text(value: Any) -> str | None:
    """A cell as text: numbers keep their written value (72.0 → "72"), blanks become None,
    binary data (a Parquet image's bytes, even nested in its {bytes, path} struct) is
    described ("<1,234 bytes>"), not written out."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value) or None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value != value:  # NaN from a Parquet/CSV null
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str) and _BYTES_LITERAL.fullmatch(value.strip()):
        value = _decoded_bytes_literal(value.strip())
    if isinstance(value, (int, str)):
        text = str(value).strip()
        return text or None
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=_json_stand_in)
    return str(value).strip() or None


# A Python bytes literal written out as text: the Hugging Face copy of DeepMind's mathematics
# dataset holds every question and answer as "b'What is 7 + 8?\\n'", "b'15\\n'".
_BYTES_LITERAL = re.compile(r"b'(?:[^'\\\n]|\\.)*'|b\"(?:[^\"\\\n]|\\.)*\"", re.DOTALL)


def _decoded_bytes_literal(text: str) -> str:
    value = python_literal(text)
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else text


def bytes_text(value: bytes | bytearray | memoryview) -> str:
    """Binary data as text a reader can make sense of: its size, "" when there is none."""
    return f"<{len(value):,} bytes>" if len(value) else ""


def _json_stand_in(value: Any) -> Any:
    """What `json.dumps` writes for a value JSON has no type for, met inside a Parquet or
    Arrow cell: bytes as their size, anything else (a date, a decimal) as its text."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def blank(value: Any) -> bool:
    """Does a cell hold nothing? None, NaN, blank text, no bytes, or a list or object of
    blanks only: a Parquet image column's struct {bytes: None, path: None} is no image."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return all(blank(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(blank(v) for v in value)
    return cell_text(value) is None


def joined_text(value: Any, separator: str = "\n") -> str | None:
    """A cell as text to read: a list of strings (DREAM's dialogue lines, OlympiadBench's
    solution paragraphs) joined by `separator`, not written as JSON; blank items dropped,
    an empty list none. Anything else as `cell_text` writes it."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return separator.join(v.strip() for v in value if v.strip()) or None
    return cell_text(value)


@contextmanager
def collection_paused() -> Iterator[None]:
    """Around parsing a file's text: json's parser and `ast` recurse, in C, against Python's
    recursion limit, and a nesting deep enough to approach it is refused with RecursionError
    (a clean error naming the line). A garbage collection that happens down there would run
    finalizers with no stack left, which then fail ("Exception ignored in …")."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_json(text: str | bytes) -> Any:
    with collection_paused():
        return json.loads(text)


def python_literal(text: str) -> Any:
    """The value a Python literal written as text stands for (a list as pandas writes it
    into a CSV, CRUXEval's outputs, a bytes literal), or None if the text is none."""
    try:
        with collection_paused():
            return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None


def list_cell(value: Any) -> Any:
    """A list written into a text cell (a CSV export of a dataset) back as a list: a JSON
    array, or a Python list literal as pandas writes it. Anything else is returned as is."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, str) or not value.lstrip().startswith(("[", "{")):
        return value
    try:
        parsed = parse_json(value)
    except (ValueError, RecursionError):
        parsed = python_literal(value.strip())
    return parsed if isinstance(parsed, (list, dict)) else value
