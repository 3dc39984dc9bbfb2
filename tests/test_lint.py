"""The code stays ruff clean and mypy clean (the project's rules, in pyproject.toml): checked
with the tests so that CI, which runs only `uv run pytest`, refuses what they would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "sml_cli", "tests", "bench"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing(mypy_check: subprocess.Popen[str]) -> None:
    output, _ = mypy_check.communicate(timeout=600)  # (started with the run: see conftest)
    assert mypy_check.returncode == 0, output
