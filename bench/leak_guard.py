"""Precision and recall of the leak guard on the labelled teacher messages.

    uv run python bench/leak_guard.py [--cases tests/data/leak_cases.jsonl] [--repeat 3]

Each row of the labelled set (written for sml by hand) is a problem (question, answer,
verifier, choices, solution) and a teacher message with its label: does the message state
the answer (SPEC §5)? `sml_cli.guard.find_leaks` is run on every message; a message is
predicted to leak when it reports at least one span. Prints the confusion counts, precision,
recall and F1, every misclassified case (with the spans found), and the mean time per message
— once cold (the first call per problem builds its detectors; the first math problem imports
math-verify and sympy) and then warm, averaged over `--repeat` passes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sml_cli.guard import find_leaks, redact  # noqa: E402
from sml_cli.problems import Problem  # noqa: E402

DEFAULT_CASES = ROOT / "tests" / "data" / "leak_cases.jsonl"


def load_cases(path: Path) -> list[dict]:
    cases = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                cases.append(json.loads(line))
    return cases


def problem_of(case: dict) -> Problem:
    choices = case.get("choices")
    return Problem(
        id=case["id"], question=case["question"], answer=case.get("answer"),
        verifier=case["verifier"], choices=tuple(choices) if choices else None,
        solution=case.get("solution"), tests="pass" if case["verifier"] == "python" else None,
        source="leak_cases",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--repeat", type=int, default=3, help="warm passes for the timing")
    args = parser.parse_args(argv)

    cases = load_cases(args.cases)
    problems = [problem_of(c) for c in cases]

    cold_times, predictions = [], []
    for case, problem in zip(cases, problems, strict=True):
        t0 = time.perf_counter()
        leaks = find_leaks(case["message"], problem)
        cold_times.append(time.perf_counter() - t0)
        predictions.append(leaks)

    warm_times = []
    for _ in range(max(0, args.repeat)):
        for case, problem in zip(cases, problems, strict=True):
            t0 = time.perf_counter()
            find_leaks(case["message"], problem)
            warm_times.append(time.perf_counter() - t0)

    tp = fp = tn = fn = 0
    wrong = []
    for case, leaks in zip(cases, predictions, strict=True):
        predicted, actual = bool(leaks), bool(case["leak"])
        if predicted and actual:
            tp += 1
        elif predicted:
            fp += 1
            wrong.append(("false positive", case, leaks))
        elif actual:
            fn += 1
            wrong.append(("false negative", case, leaks))
        else:
            tn += 1

    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n_leak = sum(1 for c in cases if c["leak"])
    by_verifier: dict[str, int] = {}
    for c in cases:
        by_verifier[c["verifier"]] = by_verifier.get(c["verifier"], 0) + 1

    where = args.cases.relative_to(ROOT) if args.cases.is_relative_to(ROOT) else args.cases
    print(f"leak guard on {where}")
    print(f"  cases: {len(cases)} ({n_leak} leaks, {len(cases) - n_leak} non-leaks = "
          f"{(len(cases) - n_leak) / len(cases):.0%}); by verifier: "
          + ", ".join(f"{k} {v}" for k, v in sorted(by_verifier.items())))
    print(f"  confusion: TP {tp}  FP {fp}  TN {tn}  FN {fn}")
    print(f"  precision {precision:.4f}  recall {recall:.4f}  F1 {f1:.4f}")
    cold_ms = statistics.fmean(cold_times) * 1000
    line = f"  time per message: cold {cold_ms:.2f} ms (max {max(cold_times) * 1000:.0f} ms)"
    if warm_times:
        warm_sorted = sorted(warm_times)
        p99 = warm_sorted[int(0.99 * (len(warm_sorted) - 1))]
        line += (f"; warm mean {statistics.fmean(warm_times) * 1000:.3f} ms, "
                 f"p99 {p99 * 1000:.3f} ms over {args.repeat} passes")
    print(line)
    if wrong:
        print(f"\nmisclassified ({len(wrong)}):")
        for kind, case, leaks in wrong:
            print(f"  [{kind}] {case['id']}: answer {case['answer']!r}, message "
                  f"{case['message']!r}")
            print(f"      note: {case['note']}")
            if leaks:
                print("      found: " + "; ".join(f"{x.text!r} ({x.reason})" for x in leaks)
                      + f" -> {redact(case['message'], leaks)!r}")
    else:
        print("\nmisclassified: none")
    return 0 if not wrong else 1


if __name__ == "__main__":
    raise SystemExit(main())
