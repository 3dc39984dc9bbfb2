"""`sml problems …`, `--version`, `--help` and the CLI's error handling for bad input
(exit 2, a message naming file and line, never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sml_cli import __version__
from sml_cli.cli import app
from sml_cli.problems import BUILTIN_SETS, builtin_path

WriteFile = Callable[[str, "str | bytes"], Path]
runner = CliRunner()


GOOD = "".join(
    json.dumps(row) + "\n"
    for row in [
        {"id": "add-1", "question": "What is 2 + 2?", "answer": "4"},
        {"id": "cap-1", "question": "Capital of France?", "answer": "Paris"},
        {"id": "pick-1", "question": "Pick one", "answer": "B", "choices": ["red", "blue"]},
    ]
)


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"sml {__version__}"


def test_problems_show_lists_rows(write_file: WriteFile) -> None:
    path = write_file("good.jsonl", GOOD)
    result = invoke("problems", "show", str(path))
    assert result.exit_code == 0, result.output
    for text in [
        "add-1",
        "cap-1",
        "pick-1",
        "What is 2 + 2?",
        "Paris",
        "numeric",
        "exact",
        "choice",
        "3 problems",
        "A) red",
    ]:
        assert text in result.output, text


def test_problems_show_public_hides_answers(write_file: WriteFile) -> None:
    path = write_file("good.jsonl", GOOD)
    result = invoke("problems", "show", str(path), "--public")
    assert result.exit_code == 0, result.output
    assert "add-1" in result.output
    assert "Paris" not in result.output


def test_problems_show_limit(write_file: WriteFile) -> None:
    path = write_file("good.jsonl", GOOD)
    result = invoke("problems", "show", str(path), "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "add-1" in result.output and "cap-1" not in result.output


def test_problems_show_with_field_mapping_and_pattern(write_file: WriteFile) -> None:
    row = {"problem": "Clips sold?", "target": "48/2 = 24\n48+24 = 72\n#### 72"}
    path = write_file("gsm.jsonl", json.dumps(row) + "\n")
    result = invoke(
        "problems",
        "show",
        str(path),
        "--question-field",
        "problem",
        "--answer-field",
        "target",
        "--answer-pattern",
        r"####\s*(.+)",
    )
    assert result.exit_code == 0, result.output
    assert "Clips sold?" in result.output and "72" in result.output and "numeric" in result.output


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("bad.jsonl", GOOD.splitlines(keepends=True)[0] + "\n" + '{"question": oops}\n', ":3:"),
        ("bad.csv", "question,answer\nq1,1\nq2,2,3\n", ":3:"),
        (
            "bad.jsonl",
            json.dumps({"question": "q", "answer": "1", "verifier": "fuzzy"}) + "\n",
            ":1:",
        ),
    ],
)
def test_problems_show_malformed_file(
    write_file: WriteFile, name: str, content: str, where: str
) -> None:
    path = write_file(name, content)
    result = invoke("problems", "show", str(path))
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f"{path.name}{where}" in flat
    assert "Traceback" not in result.output


def test_problems_show_missing_file(tmp_path: Path) -> None:
    result = invoke("problems", "show", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert "nope.jsonl" in result.output
    assert "Traceback" not in result.output


def test_problems_show_empty_file(write_file: WriteFile) -> None:
    path = write_file("empty.jsonl", "")
    result = invoke("problems", "show", str(path))
    assert result.exit_code == 2
    assert "empty.jsonl" in result.output and "empty" in result.output


def test_problems_show_bad_answer_pattern(write_file: WriteFile) -> None:
    path = write_file("good.jsonl", GOOD)
    result = invoke("problems", "show", str(path), "--answer-pattern", "(")
    assert result.exit_code == 2
    assert "--answer-pattern" in result.output


@pytest.mark.skipif(
    not all(builtin_path(name).exists() for name in BUILTIN_SETS),
    reason="built-in problem sets not written yet",
)
def test_problems_list() -> None:
    result = invoke("problems", "list")
    assert result.exit_code == 0, result.output
    for name in BUILTIN_SETS:
        assert name in result.output


def test_every_option_is_explained_in_words_a_user_has() -> None:
    """--help pointed at "the SPEC §4 results JSON" (a design document not shipped with sml),
    and `sessions import --run-id` had no help at all."""
    import typer

    def commands(command: Any, path: str) -> list[tuple[str, Any]]:
        found = [(path, command)]
        for name, sub in getattr(command, "commands", {}).items():
            found += commands(sub, f"{path} {name}")
        return found

    options = 0
    for path, command in commands(typer.main.get_command(app), "sml"):
        for param in command.params:
            text = getattr(param, "help", None) or ""
            where = f"{path} {param.name}"
            assert "SPEC" not in text, where
            if param.param_type_name == "option" and not getattr(param, "hidden", False):
                options += 1
                assert text.strip(), where
    assert options > 100


# ----------------------------------------------------------------------------- real processes


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['sml', '--help']\n"
        "from sml_cli.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules}\n"
        "               & {'litellm', 'textual', 'pyarrow', 'math_verify', 'sympy', 'openai',\n"
        "                  'openpyxl'})\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY="


def test_real_process_malformed_file_exits_2_without_traceback(write_file: WriteFile) -> None:
    path = write_file("bad.jsonl", '{"question": "a", "answer": "1"}\n{"question": }\n')
    proc = subprocess.run(
        [sys.executable, "-m", "sml_cli", "problems", "show", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert f"{path.name}:2:" in output.replace("\n", "")
    assert "Traceback" not in output


@pytest.mark.parametrize("command", [["eval"], ["chat"], ["export"], ["sessions", "import"]])
def test_flags_are_shown_as_taking_no_value(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "--quiet" in result.output or "--help" in result.output
    assert "<float" in invoke("eval", "--help").output  # (other options keep their type)


@pytest.mark.parametrize("command", [["eval"], ["report"], ["sessions", "list"]])
def test_help_ends_with_examples_whose_flags_exist(command: list[str]) -> None:
    """The frequent commands' --help ends with examples (llm's and inspect's habit); each
    flag an example uses is one of the command it runs, so they cannot go stale."""
    import typer.main

    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    examples = result.output.split("Examples:", 1)[1].splitlines()
    commands = [line.split("sml ", 1)[1] for line in examples if "sml " in line]
    assert len(commands) >= 3, result.output
    group = typer.main.get_command(app)
    for example in commands:
        words = example.split("|")[0].split()
        names = [w for w in words if not w.startswith("-") and w != "..."][:2]
        cmd = group.get_command(None, names[0])  # type: ignore[attr-defined]
        if hasattr(cmd, "get_command"):
            cmd = cmd.get_command(None, names[1])
        known = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
        flags = [w for w in words if w.startswith("-") and w != "-"]
        assert set(flags) <= known, (example, set(flags) - known)
