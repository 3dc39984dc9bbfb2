"""The bench/ scripts still run (at toy sizes) and print their ratio line.

They measure; these tests only keep them from rotting when the schema or an API changes
(the export bench once broke when `turns` gained a column). No timing is asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize(("script", "args", "expected"), [
    ("export_bench.py", ["--sessions", "40"], "identical messages: True"),
    ("store_throughput.py", ["--sessions", "20", "--turns", "3", "--concurrency", "5"],
     "turns/s"),
    ("problem_loading.py", ["--rows", "300", "--repeat", "1"], "sml / baseline ="),
    ("leak_guard.py", ["--repeat", "1"], "precision 1.0000  recall 1.0000"),
    ("eval_overhead.py", ["--sessions", "6", "--concurrency", "3", "--latency", "0.01"],
     "sml / raw litellm ="),
    ("rate_limit.py", ["--sessions", "6", "--concurrency", "4", "--latency", "0.01",
                       "--per-second", "100", "--in-flight", "2"], "paced / unpaced ="),
])
def test_bench_script_runs(script: str, args: list[str], expected: str) -> None:
    done = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]
