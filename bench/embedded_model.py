"""Embedded model throughput: sml's adapter vs xllamacpp called directly, in one run.

    uv run python bench/embedded_model.py [--requests 12] [--max-tokens 64] [--parallel 1]

Both paths use the same loaded model (one llama.cpp server), the same prompts and the same
sampling settings; rounds alternate between the two paths so that drift (thermal, other load)
hits both alike. Reports generated tokens per second of wall time and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from sml_cli.embedded import get_server, resolve_gguf
from sml_cli.models import ModelSettings, make_model

PROMPTS = [
    "A shop sells pencils at 3 for $1. How much do 12 pencils cost? Explain briefly.",
    "Give me a hint for solving 17 * 23 without a calculator.",
    "What is the next number: 2, 4, 8, 16? Explain.",
    "Tom has 5 apples and eats 2. How many are left? Show your steps.",
]


def request(prompt: str, max_tokens: int, seed: int) -> dict:
    return {
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens, "temperature": 0.0, "seed": seed,
    }


async def direct_round(
    server: Any, prompts: list[str], max_tokens: int, parallel: int
) -> tuple[int, float]:
    """xllamacpp's own OpenAI-style entry point, no HTTP, no litellm."""
    sem = asyncio.Semaphore(parallel)

    async def one(i: int, prompt: str) -> int:
        async with sem:
            response = await asyncio.to_thread(
                server._server.handle_chat_completions, request(prompt, max_tokens, i))
            return int(response["usage"]["completion_tokens"])

    start = time.perf_counter()
    tokens = await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts)))
    return sum(tokens), time.perf_counter() - start


async def adapter_round(
    model: Any, prompts: list[str], max_tokens: int, parallel: int
) -> tuple[int, float]:
    """What sml's engine calls: sml's OpenAICompatibleModel participant (HTTP to the loopback
    server, streaming-capable, with retries) — the same server, one layer up."""
    sem = asyncio.Semaphore(parallel)

    async def one(i: int, prompt: str) -> int:
        async with sem:
            reply = await model.respond([{"role": "user", "content": prompt}])
            return int(reply.completion_tokens or 0)

    start = time.perf_counter()
    tokens = await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts)))
    return sum(tokens), time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=12, help="requests per path per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--parallel", type=int, default=1, help="requests in flight at once")
    args = parser.parse_args()

    settings = ModelSettings(temperature=0.0, max_tokens=args.max_tokens, seed=0)
    server = get_server(resolve_gguf("local"), settings)
    model = make_model("local", settings)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.requests)]
    # Warm both paths (first-call costs: HTTP client creation, prompt cache, litellm setup).
    await direct_round(server, prompts[:2], 8, 1)
    await adapter_round(model, prompts[:2], 8, 1)

    rates: dict[str, list[float]] = {"direct": [], "adapter": []}
    for r in range(args.rounds):
        order = ["direct", "adapter"] if r % 2 == 0 else ["adapter", "direct"]
        for path in order:
            if path == "direct":
                run = direct_round(server, prompts, args.max_tokens, args.parallel)
            else:
                run = adapter_round(model, prompts, args.max_tokens, args.parallel)
            tokens, seconds = await run
            rates[path].append(tokens / seconds)
            print(f"round {r + 1} {path:7s}: {tokens:5d} tokens in {seconds:6.2f} s = "
                  f"{tokens / seconds:6.1f} tok/s")
    direct = statistics.median(rates["direct"])
    adapter = statistics.median(rates["adapter"])
    print(f"\nmedian direct xllamacpp : {direct:6.1f} tok/s")
    print(f"median sml adapter      : {adapter:6.1f} tok/s")
    overhead = (1 - adapter / direct) * 100
    print(f"adapter / direct        : {adapter / direct:6.3f}  (overhead {overhead:+.1f}%)")


if __name__ == "__main__":
    asyncio.run(main())
