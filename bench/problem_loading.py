"""Problem-file loading: rows/s of `load_problems` against a bare JSON read, in one run.

    uv run python bench/problem_loading.py [--rows 50000] [--repeat 3]

* baseline — `json.loads` of every line of the same JSONL file (reading, nothing else);
* sml      — `load_problems`: reading plus everything `sml eval`/`problems show` do per row
             (column mapping, the auto verifier, answer validation, content keys, meta).
Reports the best of `--repeat` runs of each and the ratio. A whole file is validated before
any session starts, so this is the wait before an eval on a large set begins.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from sml_cli.problems import load_problems


def write_rows(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            a, b = rng.randint(2, 999), rng.randint(2, 999)
            kind = i % 3
            if kind == 0:  # a numeric word problem (GSM8K-like)
                row = {"id": f"n{i}", "question": f"A shop packs {a} boxes of {b} pens. "
                       "How many pens are packed in all?", "answer": str(a * b),
                       "solution": f"{a} * {b} = {a * b}"}
            elif kind == 1:  # a text answer with aliases (QA-like)
                row = {"id": f"t{i}", "question": f"Which city hosts landmark number {a}?",
                       "answer": [f"City {a}", f"the city of {a}"], "level": b}
            else:  # an expression (MATH-like)
                row = {"id": f"m{i}", "question": f"Simplify \\sqrt{{{a * a * 2}}}.",
                       "answer": f"{a}\\sqrt{{2}}", "subject": "Algebra"}
            fh.write(json.dumps(row) + "\n")


def best_of(repeat: int, fn: object) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "problems.jsonl"
        write_rows(path, args.rows)

        def baseline() -> None:
            with path.open(encoding="utf-8") as fh:
                rows = [json.loads(line) for line in fh]
            assert len(rows) == args.rows

        def sml() -> None:
            assert len(load_problems(str(path))) == args.rows

        base = best_of(args.repeat, baseline)
        ours = best_of(args.repeat, sml)
    print(f"{args.rows} problems (numeric, text with aliases, expressions)")
    print(f"  json.loads per line   {base:6.2f} s   {args.rows / base:10,.0f} rows/s")
    print(f"  sml load_problems     {ours:6.2f} s   {args.rows / ours:10,.0f} rows/s")
    print(f"sml / baseline = {ours / base:.1f}×")


if __name__ == "__main__":
    main()
