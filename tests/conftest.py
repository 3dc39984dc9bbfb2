"""Shared fixtures. Keep this file small and additive: each fixture stands alone."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# Rich fixes a Console's width from COLUMNS when the Console is made: imported first inside
# a CliRunner call given env={"COLUMNS": …}, sml's module-level consoles would keep that
# width for every later test. Imported here, before any test, they follow each call's.
import sml_cli.console_views  # noqa: F401


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """`write_file("probs.jsonl", text)` → a file of that name in tmp_path with that content."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture(params=["direct", "litellm"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a model call can go: plain HTTP (openai/… on a custom endpoint) and, with
    SML_VIA_LITELLM=1, litellm (every other provider)."""
    if request.param == "litellm":
        monkeypatch.setenv("SML_VIA_LITELLM", "1")
    else:
        monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
    return str(request.param)


@pytest.fixture(autouse=True)
def forget_endpoint_dialects() -> None:
    """What an endpoint refused is remembered per process (models.Dialect); a stub server of
    a later test may get the same port, and must not inherit it."""
    from sml_cli import models

    models._DIALECTS.clear()


# ----------------------------------------------------------------------------- mypy
# The type check takes ≈ 50 s cold, mostly on one core: it starts in the background as soon
# as the run is known to include it, and `test_mypy_finds_nothing` collects the verdict, so
# CI pays little wall-clock time for it.

_mypy_check: subprocess.Popen[str] | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    global _mypy_check
    if any(item.name == "test_mypy_finds_nothing" for item in session.items):
        _mypy_check = subprocess.Popen(
            [sys.executable, "-m", "mypy"], cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _mypy_check is not None and _mypy_check.poll() is None:
        _mypy_check.kill()  # (a run stopped early, -x or Ctrl-C: leave nothing behind)


@pytest.fixture
def mypy_check() -> subprocess.Popen[str]:
    assert _mypy_check is not None, "started by pytest_collection_finish"
    return _mypy_check
