"""Start-up time: `sml --help` vs `python -c "import typer, rich"` and a one-command typer
app's `--help`, in one run.

    uv run python bench/startup.py [--runs 10]

Both run with the project's interpreter, directly (not through `uv run`, whose own sync check
costs the same for every command). Also checks that `sml --help` loads neither litellm nor
textual.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BARE_APP = str(Path(__file__).with_name("_bare_typer_app.py"))
COMMANDS = {
    "python -c 'import typer, rich'": [sys.executable, "-c", "import typer, rich"],
    "bare typer app --help": [sys.executable, BARE_APP, "--help"],
    "sml --help": [sys.executable, "-m", "sml_cli", "--help"],
    "sml --version": [sys.executable, "-m", "sml_cli", "--version"],
}


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    for cmd in COMMANDS.values():
        timed(cmd)  # warm the OS file cache
    medians = {}
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):  # interleaved, so drift affects all alike
        for name, cmd in COMMANDS.items():
            samples[name].append(timed(cmd))
    base = statistics.median(samples["python -c 'import typer, rich'"])
    for name, values in samples.items():
        medians[name] = statistics.median(values)
        ms, ratio = medians[name] * 1000, medians[name] / base
        print(f"{name:32s} median {ms:7.1f} ms   {ratio:4.2f}× baseline")
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv=['sml','--help'];\n"
         "from sml_cli.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
         "heavy=[m for m in ('litellm','textual','pyarrow','sympy','math_verify','openpyxl')\n"
         "       if m in sys.modules]\n"
         "print('HEAVY', heavy, file=sys.stderr)"],
        capture_output=True, text=True)
    print(probe.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
