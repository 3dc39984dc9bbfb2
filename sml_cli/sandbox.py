"""Running student code against tests, out of process (the `python` verifier).

The code runs in a fresh `python -I` subprocess, in an empty temporary directory, with an
environment stripped of everything but PATH and locale (so no API keys), CPU / memory / file
size / open-file limits, a wall-clock timeout that kills the whole process group, and output
captured to a size-capped file. This confines accidents and runaway code; it is not a
security boundary against code that sets out to escape (no network or filesystem namespace).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HARNESS = Path(__file__).with_name("_harness.py")


@dataclass(frozen=True)
class TestRun:
    __test__ = False  # not a pytest test class, despite the name

    passed: bool
    tests: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False

    def summary(self) -> str:
        """What a verifier-condition teacher is told: pass/fail and the failing checks."""
        if self.timed_out:
            return "incorrect: the code timed out"
        if self.error:
            return f"incorrect: {self.error}"
        if self.passed:
            return f"correct: all {self.tests} tests passed"
        if not self.failures:
            return ("incorrect: the tests contain no checks (assert statements or unittest "
                    "test methods), so nothing passed")
        setup = [f for f in self.failures if not f.get("check", True)]
        failed = [f for f in self.failures if f.get("check", True)]
        parts = []
        if failed:
            listed = "; ".join(f"{f['test']} ({f['error']})" for f in failed[:3])
            more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
            parts.append(f"{len(failed)} of {self.tests} tests failed: {listed}{more}")
        if setup:
            parts.append(
                f"the test step {setup[0]['test']} raised {setup[0]['error']}, "
                "so the checks after it did not run"
            )
        return "incorrect: " + "; ".join(parts)


def run_python_tests(
    code: str,
    tests: str,
    *,
    timeout: float = 10.0,
    memory_bytes: int = 1 << 30,
    file_bytes: int = 8 << 20,
) -> TestRun:
    nonce = secrets.token_hex(16)
    request = json.dumps({
        "code": code, "tests": tests, "nonce": nonce, "cpu_seconds": max(1, int(timeout) + 1),
        "memory_bytes": memory_bytes, "file_bytes": file_bytes,
    })
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory(prefix="sml-sandbox-") as workdir:
        out_path = Path(workdir) / ".out"
        env["HOME"] = workdir
        with open(out_path, "w+b") as out:
            proc = subprocess.Popen(
                [sys.executable, "-I", str(HARNESS)],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.DEVNULL,
                cwd=workdir, env=env, start_new_session=True,
            )
            try:
                proc.communicate(request.encode(), timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return TestRun(False, timed_out=True)
            finally:
                _kill_group(proc)
            out.seek(0)
            output = out.read(file_bytes).decode("utf-8", "replace")
    for line in reversed(output.splitlines()):
        if line.startswith(nonce + " "):
            data = json.loads(line[len(nonce) + 1 :])
            failures = data["failures"]
            passed = data["compiled"] and not data["error"] and not failures and data["tests"] > 0
            return TestRun(passed, data["tests"], failures, data["error"])
    if proc.returncode and proc.returncode < 0:
        signal_name = signal.Signals(-proc.returncode).name
        return TestRun(False, error=f"the code was killed by {signal_name}")
    return TestRun(False, error="the code exited before the tests ran")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
