"""Files the commands write beside the database: the scores JSON (`eval`, `sessions import`,
`report` with --json) and export files. A target is checked before the work that fills it
(a run, an import), so that a path that can never be written is bad usage (exit 2) with
nothing done yet, not a failure once the work is stored; and a file is written whole, under a
temporary name renamed into place.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from sml_cli.errors import SmlError, UsageError

STDOUT = "-"  # `--json -`, `-o -`: standard output, as in most tools


def to_stdout(path: str | None) -> bool:
    """Whether an output option names standard output (`-`) rather than a file."""
    return path == STDOUT


def check_writable(path: str, flag: str) -> Path:
    """The target of `flag` (UsageError naming both, for one that can never be written: a
    folder, a file where a folder must be, a folder one may not write in). Creates nothing:
    missing folders are checked at the first one that exists, where they would be made.
    `-` is standard output, always writable."""
    target = Path(path).expanduser()
    if to_stdout(path):
        return target
    if target.is_dir():
        raise UsageError(f"{flag} {path}: is a directory")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: {folder} is not a directory")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"{flag} {path}: cannot write in {folder}")
    return target


def write_json(document: dict[str, Any], path: str, flag: str = "--json") -> None:
    """`document` as indented JSON at `path`, never half-written (`-`: on stdout)."""
    if to_stdout(path):
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        sys.stdout.flush()
        return
    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise SmlError(f"{flag} {path}: cannot write ({exc.strerror})") from None
