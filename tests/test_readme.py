"""The README's examples on the files in `examples/` print what the README says they print.

Only the commands that need no model or database are replayed: `sml problems show` and
`sml eval` refusing a file before any model call."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sml_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent


def console_examples() -> list[tuple[str, list[str]]]:
    """(command, the lines shown after it) for every `$ sml …` line of a console block."""
    examples: list[tuple[str, list[str]]] = []
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        current: tuple[str, list[str]] | None = None
        for line in block.splitlines():
            if line.startswith("$ "):
                current = (line[2:].removeprefix("uv run "), [])
                examples.append(current)
            elif current is not None:
                current[1].append(line)
    return examples


REPLAYED = [(command, shown) for command, shown in console_examples()
            if re.match(r"sml (problems show|eval --problems) examples/", command)]


def test_the_readme_has_examples_on_the_shipped_files() -> None:
    assert len(REPLAYED) >= 6
    for command, _ in REPLAYED:
        for word in shlex.split(command):
            if word.startswith("examples/"):
                assert (ROOT / word).is_file(), word


@pytest.mark.parametrize(("command", "shown"), REPLAYED, ids=[c for c, _ in REPLAYED])
def test_a_readme_example_prints_what_the_readme_shows(
        command: str, shown: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    words = shlex.split(command)[1:]
    quiet_stdout = words[-1] == ">/dev/null"
    if quiet_stdout:
        words = words[:-1]
    result = CliRunner().invoke(app, words, env={"COLUMNS": "1000"})
    printed = result.stderr if quiet_stdout else result.stdout + result.stderr
    # (an error is bad input: exit 2, as the README's `echo $?` after one shows)
    assert result.exit_code == (2 if any(line.startswith("Error:") for line in shown) else 0)
    assert " ".join(printed.split()) == " ".join(" ".join(shown).split())
