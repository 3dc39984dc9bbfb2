"""Eval engine overhead: `sml eval` vs the same call pattern through raw litellm and raw httpx.

    uv run python bench/eval_overhead.py [--sessions 200] [--concurrency 50] [--latency 0.2]

A loopback OpenAI-compatible stub (sml_cli.testing, in its own process so that its CPU does
not count against the client) answers every request after a fixed latency. Each session is
three sequential calls (student guesses wrong, teacher hints, student solves), so the ideal
wall time is sessions / concurrency × 3 × latency. All four measurements happen in one run:

* ideal   — arithmetic, no code;
* httpx   — 3 sequential POSTs per session with one shared httpx.AsyncClient;
* aiohttp — the same with one aiohttp.ClientSession (litellm's own transport, and here the
            fastest raw client: the floor for any Python client);
* litellm — 3 sequential litellm.acompletion calls per session;
* sml     — `sml eval` in-process (engine, verifier, guard, SQLite logging), timed by its
            own `elapsed_s` (libraries loaded and database opened before the clock starts).
            `openai/…` on a custom endpoint is called over plain HTTP (aiohttp);
* sml via litellm — the same with SML_VIA_LITELLM=1, the path every other provider takes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MESSAGES = [{"role": "user", "content": "What is 6 times 7?"}]


def start_stub(latency: float, *options: str) -> tuple[subprocess.Popen[str], str]:
    """The loopback stub in its own process (`options`: more of its flags); (process, URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sml_cli.testing", "--port", "0", "--latency", str(latency),
         *options],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    return proc, url


async def raw_httpx(url: str, sessions: int, concurrency: int) -> float:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def session(i: int) -> None:
            async with sem:
                for model in ("student", "teacher", "student"):
                    r = await client.post("/chat/completions",
                                          json={"model": model, "messages": MESSAGES})
                    r.raise_for_status()
                    r.json()["choices"][0]["message"]["content"]

        start = time.perf_counter()
        await asyncio.gather(*(session(i) for i in range(sessions)))
        return time.perf_counter() - start


async def raw_aiohttp(url: str, sessions: int, concurrency: int) -> float:
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def session(i: int) -> None:
            async with sem:
                for model in ("student", "teacher", "student"):
                    async with client.post(f"{url}/chat/completions",
                                           json={"model": model, "messages": MESSAGES}) as r:
                        r.raise_for_status()
                        assert (await r.json())["choices"][0]["message"]["content"]

        start = time.perf_counter()
        await asyncio.gather(*(session(i) for i in range(sessions)))
        return time.perf_counter() - start


async def raw_litellm(url: str, sessions: int, concurrency: int) -> float:
    from sml_cli.models import _import_litellm

    litellm = _import_litellm()
    sem = asyncio.Semaphore(concurrency)

    async def session(i: int) -> None:
        async with sem:
            for model in ("student", "teacher", "student"):
                r = await litellm.acompletion(model=f"openai/{model}", messages=MESSAGES,
                                              api_base=url, api_key="sk-bench")
                assert r.choices[0].message.content

    start = time.perf_counter()
    await asyncio.gather(*(session(i) for i in range(sessions)))
    return time.perf_counter() - start


def sml_eval(url: str, sessions: int, concurrency: int, workdir: Path, *,
             via_litellm: bool = False) -> float:
    from sml_cli.evaluate import EvalOptions, EvalRun
    from sml_cli.models import ModelSettings

    if via_litellm:
        os.environ["SML_VIA_LITELLM"] = "1"
    else:
        os.environ.pop("SML_VIA_LITELLM", None)
    problems = workdir / "problems.jsonl"
    with problems.open("w") as fh:
        for i in range(sessions):
            fh.write(json.dumps({"id": f"p{i}", "question": f"What is {i} + 1000?",
                                 "answer": str(i + 1000)}) + "\n")
    settings = ModelSettings(api_base=url, retries=0)
    run = EvalRun(EvalOptions(
        student="openai/student", teacher="openai/teacher", problems=str(problems),
        conditions=["answer"], max_turns=3, concurrency=concurrency,
        db=str(workdir / ("litellm.db" if via_litellm else "bench.db")),
        student_settings=settings, teacher_settings=settings,
    ))
    run.prepare_models()
    elapsed, _ = asyncio.run(run.execute())
    result = run.result()
    scores = result.summary["conditions"]["answer"]
    assert scores["success_rate"] == 1.0 and scores["n_errors"] == 0, scores
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")

    proc, url = start_stub(args.latency)
    try:
        ideal = args.sessions / args.concurrency * 3 * args.latency
        with tempfile.TemporaryDirectory() as tmp:
            # Load litellm before any clock: import time is not per-call overhead.
            from sml_cli.models import _import_litellm

            _import_litellm()
            # First calls pay one-off costs (litellm's price map, SSL contexts, pools).
            asyncio.run(raw_litellm(url, 5, 5))
            asyncio.run(raw_httpx(url, 5, 5))
            results = {
                "httpx": asyncio.run(raw_httpx(url, args.sessions, args.concurrency)),
                "aiohttp": asyncio.run(raw_aiohttp(url, args.sessions, args.concurrency)),
                "litellm": asyncio.run(raw_litellm(url, args.sessions, args.concurrency)),
                "sml": sml_eval(url, args.sessions, args.concurrency, Path(tmp)),
                "sml via litellm": sml_eval(url, args.sessions, args.concurrency, Path(tmp),
                                            via_litellm=True),
            }
    finally:
        proc.terminate()
    print(f"{args.sessions} sessions × 3 calls, concurrency {args.concurrency}, "
          f"stub latency {args.latency} s")
    print(f"  {'ideal':16s} {ideal:6.2f} s")
    for name, seconds in results.items():
        print(f"  {name:16s} {seconds:6.2f} s   {seconds / ideal:5.2f}× ideal")
    print(f"sml / raw litellm = {results['sml'] / results['litellm']:.2f}   "
          f"sml / raw httpx = {results['sml'] / results['httpx']:.2f}   "
          f"sml / raw aiohttp = {results['sml'] / results['aiohttp']:.2f}")
    print(f"sml via litellm / raw litellm = "
          f"{results['sml via litellm'] / results['litellm']:.2f}")


if __name__ == "__main__":
    main()
