"""Shared fixtures. Keep this file small and additive: each fixture stands alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


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


@pytest.fixture(autouse=True)
def forget_endpoint_dialects() -> None:
    """What an endpoint refused is remembered per process (models.Dialect); a stub server of
    a later test may get the same port, and must not inherit it."""
    from sml_cli import models

    models._DIALECTS.clear()
