"""The pacing of calls refused for their rate (sml_cli/ratelimit.py), step by step; the
end-to-end effect against a rate-limited stub is in test_faults.py."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, suppress

import pytest

from sml_cli.ratelimit import RateLimiter, rate_limit_reports, rate_limiter


async def hold(limiter: RateLimiter, stack: AsyncExitStack, n: int) -> list[float]:
    return [await stack.enter_async_context(limiter.slot()) for _ in range(n)]


async def blocks(limiter: RateLimiter) -> bool:
    """Would one more call wait for a slot?"""
    slot = limiter.slot()
    attempt = asyncio.ensure_future(slot.__aenter__())
    await asyncio.sleep(0.01)
    if attempt.done():
        await slot.__aexit__(None, None, None)
        return False
    attempt.cancel()
    with suppress(asyncio.CancelledError):
        await attempt
    return True


async def limited_to_one() -> RateLimiter:
    """A limiter whose one call in flight was refused: one at a time from now on."""
    limiter = RateLimiter()
    async with limiter.slot() as sent:
        pass
    limiter.refused(0.1, sent_at=sent)
    assert limiter.limit == 1
    return limiter


def test_no_limit_until_a_refusal() -> None:
    async def scenario() -> None:
        limiter = RateLimiter()
        async with AsyncExitStack() as stack:
            await hold(limiter, stack, 50)
            assert limiter.in_flight == 50 and not await blocks(limiter)
        assert limiter.in_flight == 0 and limiter.report() is None

    asyncio.run(scenario())


def test_a_refusal_halves_the_calls_in_flight_once_per_round_trip() -> None:
    async def scenario() -> None:
        limiter = RateLimiter()
        async with AsyncExitStack() as stack:
            sent = await hold(limiter, stack, 7)
            # An eighth call, sent with them, is refused (and has left its slot).
            limiter.refused(0.5, sent_at=sent[0])
            assert limiter.limit == 4 and limiter.lowest_limit == 4
            # The others were sent before that cut: their refusals are the same burst.
            limiter.refused(0.5, sent_at=sent[1])
            limiter.refused(0.5, sent_at=sent[2])
            assert limiter.limit == 4
            assert await blocks(limiter)  # 7 in flight, 4 allowed
        async with AsyncExitStack() as stack:
            [after_the_cut] = await hold(limiter, stack, 1)
            limiter.refused(0.5, sent_at=after_the_cut)
            assert limiter.limit == 1  # (1 in flight + the refused one) // 2
        assert limiter.refusals == 4 and limiter.waited_s == pytest.approx(2.0)
        report = limiter.report()
        assert report is not None and "4 requests refused" in report
        assert "as few as 1 at once" in report

    asyncio.run(scenario())


def test_successes_let_one_more_in_per_round() -> None:
    async def scenario() -> None:
        limiter = await limited_to_one()
        limiter.succeeded()
        assert limiter.limit == 2
        limiter.succeeded()
        assert limiter.limit == 2  # a round is `limit` successes
        limiter.succeeded()
        assert limiter.limit == 3

    asyncio.run(scenario())


def test_a_waiting_call_goes_when_a_slot_frees_and_in_order() -> None:
    async def scenario() -> None:
        limiter = await limited_to_one()
        order: list[int] = []
        gate = asyncio.Event()

        async def call(i: int) -> None:
            async with limiter.slot():
                order.append(i)
                await gate.wait()

        tasks = [asyncio.create_task(call(i)) for i in range(3)]
        await asyncio.sleep(0.01)
        assert order == [0] and limiter.in_flight == 1
        gate.set()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2] and limiter.in_flight == 0

    asyncio.run(scenario())


def test_a_call_cancelled_as_its_turn_comes_passes_the_turn_on() -> None:
    async def scenario() -> None:
        limiter = await limited_to_one()
        stack = AsyncExitStack()
        await hold(limiter, stack, 1)
        # (the slots kept in variables: one left to the garbage collector would be released)
        first_slot, second_slot = limiter.slot(), limiter.slot()
        first = asyncio.create_task(first_slot.__aenter__())
        second = asyncio.create_task(second_slot.__aenter__())
        await asyncio.sleep(0.01)
        await stack.aclose()  # the slot frees: `first` is woken ...
        first.cancel()  # ... and cancelled before it could take it
        await asyncio.sleep(0.01)
        assert first.cancelled() and second.done() and limiter.in_flight == 1
        await second_slot.__aexit__(None, None, None)
        assert limiter.in_flight == 0

    asyncio.run(scenario())


def test_one_limiter_per_model_endpoint_and_event_loop() -> None:
    async def lookups() -> tuple[RateLimiter, RateLimiter, RateLimiter, list[str]]:
        a = rate_limiter("http://x/v1", "openai/a")
        limiter = rate_limiter("http://x/v1", "openai/a")
        async with limiter.slot() as sent:
            pass
        limiter.refused(1.0, sent_at=sent)
        return a, limiter, rate_limiter("http://x/v1", "openai/b"), rate_limit_reports()

    a, same, other, reports = asyncio.run(lookups())
    assert a is same and other is not a
    assert len(reports) == 1 and reports[0].startswith("openai/a: 1 request refused")
    # A new run (a new event loop) learns its limits afresh.
    fresh, *_ = asyncio.run(lookups())
    assert fresh is not a
