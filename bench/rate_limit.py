"""Rate-limit pacing: `sml eval` against a rate-limited endpoint, paced vs unpaced.

    uv run python bench/rate_limit.py [--sessions 60] [--concurrency 20] [--latency 0.2]
                                      [--per-second 20] [--in-flight 4]

The loopback stub (sml_cli.testing, in its own process) refuses requests with a 429 in
OpenAI's words ("Please try again in 40ms") under two kinds of limit, one after the other:
requests a second (a token bucket, as OpenAI's RPM/TPM limits are) and requests at once (as
a gateway's parallel-request cap is). Under each, in the same run:

* paced   — `sml eval` as shipped: a refusal halves how many calls to the model go at once
            (sml_cli/ratelimit.py), and the refused call waits what the API asked;
* unpaced — the same eval with pacing switched off: each refused call only waits and
            retries on its own;
* ideal   — arithmetic: the calls the sessions need at the limit's pace (requests a second;
            or requests at once over the latency).

Reported: wall time and refused requests, and paced / unpaced ratios of both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from eval_overhead import start_stub  # (bench/ is on the path of a script run from it)

CALLS_PER_SESSION = 3  # the stub's student guesses, its teacher hints, the student solves


def run_eval(url: str, sessions: int, concurrency: int, paced: bool) -> tuple[float, int]:
    """(wall seconds of the sessions, requests refused) for one in-process `sml eval`."""
    from sml_cli import ratelimit
    from sml_cli.evaluate import EvalOptions, EvalRun
    from sml_cli.models import ModelSettings

    refusals: list[int] = []
    original = ratelimit.RateLimiter.refused

    def unpaced(self: ratelimit.RateLimiter, wait: float, sent_at: float) -> None:
        self.refusals += 1
        self.waited_s += wait

    def counted(self: ratelimit.RateLimiter, wait: float, sent_at: float) -> None:
        refusals.append(1)
        (original if paced else unpaced)(self, wait, sent_at)

    ratelimit.RateLimiter.refused = counted  # type: ignore[method-assign]
    os.environ["OPENAI_API_BASE"] = url
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = ModelSettings(rate_limit_wait=600)
            run = EvalRun(EvalOptions(
                student="openai/student", teacher="openai/teacher", problems="arithmetic",
                limit=sessions, conditions=["answer"], max_turns=3, concurrency=concurrency,
                db=str(Path(tmp) / "bench.db"), student_settings=settings,
                teacher_settings=settings))
            run.prepare_models()
            started = time.perf_counter()
            asyncio.run(run.execute())
            elapsed = time.perf_counter() - started
            failed = run.all_failed() or sum(n for _, n in run.error_digest())
            run.store.close()
            if failed:
                raise SystemExit(f"{failed} sessions ended in error: {run.error_digest()}")
    finally:
        ratelimit.RateLimiter.refused = original  # type: ignore[method-assign]
    return elapsed, len(refusals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--per-second", type=float, default=20.0)
    parser.add_argument("--in-flight", type=int, default=4)
    args = parser.parse_args()
    calls = args.sessions * CALLS_PER_SESSION
    limits = [
        ("--max-per-second", args.per_second, f"{args.per_second:g} requests a second",
         calls / args.per_second),
        ("--max-in-flight", args.in_flight, f"{args.in_flight} requests at once",
         calls / args.in_flight * args.latency),
    ]
    print(f"{args.sessions} sessions ({calls} calls) at --concurrency {args.concurrency}, "
          f"stub latency {args.latency:g} s")
    for flag, limit, described, ideal in limits:
        proc, url = start_stub(args.latency, flag, str(limit))
        try:
            paced_s, paced_refused = run_eval(url, args.sessions, args.concurrency, True)
            unpaced_s, unpaced_refused = run_eval(url, args.sessions, args.concurrency, False)
        finally:
            proc.terminate()
            proc.wait()
        print(f"\nlimit: {described}")
        print(f"  ideal    {ideal:6.2f} s")
        print(f"  paced    {paced_s:6.2f} s  {paced_refused:5d} refused")
        print(f"  unpaced  {unpaced_s:6.2f} s  {unpaced_refused:5d} refused")
        print(f"  paced / unpaced = {paced_s / unpaced_s:.2f}× time, "
              f"{paced_refused / max(unpaced_refused, 1):.2f}× refused requests")


if __name__ == "__main__":
    main()
