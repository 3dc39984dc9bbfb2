"""`sml_cli.testing` as a program: the stub endpoint that the README's examples run."""

from __future__ import annotations

import errno
import subprocess
import sys
import time

import pytest

from sml_cli.testing import StubServer


def test_a_busy_port_is_one_line_and_exit_2_not_two_tracebacks() -> None:
    with StubServer(lambda request: "hi") as busy:
        start = time.monotonic()
        with pytest.raises(OSError) as err:
            StubServer(lambda request: "hi", port=busy.port).start()
        assert err.value.errno == errno.EADDRINUSE
        assert time.monotonic() - start < 5  # said at once, not after the start timeout
        done = subprocess.run([sys.executable, "-m", "sml_cli.testing", "--port",
                               str(busy.port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"error: --port {busy.port}: port in use (another server listens there: choose "
        "another --port)"]
