"""Pacing every call to one model by what its API's rate limit says."""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class RateLimiter:
    """The calls to one model on one endpoint, paced together by the API's rate limit.

    A 429 halves how many calls to the model may be in flight, and successes let more in
    again, one more per round of successes (additive increase, multiplicative decrease, as
    TCP paces a connection); the refused call itself waits what the API asked. Fifty
    sessions that meet a limit thus settle near what the account allows instead of each
    retrying into it on a back-off of its own. Measured by bench/rate_limit.py (60 sessions
    at `--concurrency 20`): 0.07× the refused requests of unpaced retries under a limit on
    requests a second, in 0.97× the time; 0.14× under a limit on requests at once, in 1.11×.
    Holding every call back for the refused call's wait as well refused fewer still under
    the former but was 40% slower under the latter, so it is not done. A bound on calls at once
    paces a limit on calls a second because calls take time (calls in flight = rate ×
    latency); an endpoint that answers at once is not slowed by it. Until the first refusal
    there is no limit at all: `--concurrency` is the only bound, and pacing costs nothing.
    """

    def __init__(self) -> None:
        self.limit: int | None = None  # calls in flight at once; None until a refusal
        self.in_flight = 0
        self.refusals = 0
        self.waited_s = 0.0  # the waits of refused calls, summed
        self.lowest_limit: int | None = None
        self._last_cut: float | None = None  # (event-loop time) when the limit was last cut
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Held for the length of one request; gives the (event-loop) time it was sent."""
        await self._acquire()
        try:
            yield asyncio.get_running_loop().time()
        finally:
            self.in_flight -= 1
            self._wake()

    def succeeded(self) -> None:
        if self.limit is None:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self._wake()

    def refused(self, wait: float, sent_at: float) -> None:
        """A call sent at `sent_at` (out of its slot now) was refused for the rate and will
        wait `wait` seconds; fewer calls go at once from now on. Calls that were sent before
        the last cut met the limit that cut already answered, so only a refusal of a call
        sent since cuts again (once per round trip, as TCP halves its window)."""
        self.refusals += 1
        self.waited_s += wait
        self._successes = 0
        if self._last_cut is None or sent_at >= self._last_cut:
            sending = self.in_flight + 1  # (the refused call has just left its slot)
            self.limit = max(1, min(self.limit or sending, sending) // 2)
            self.lowest_limit = min(self.lowest_limit or self.limit, self.limit)
            self._last_cut = asyncio.get_running_loop().time()

    def report(self) -> str | None:
        """What pacing did, for the end of a run; None if the API never refused a call."""
        if not self.refusals:
            return None
        return (f"{self.refusals} request{'s' if self.refusals != 1 else ''} refused for the "
                f"rate (429) and retried after {self.waited_s:.0f} s of waits in all; sml "
                f"held its calls back to as few as {self.lowest_limit} at once "
                f"({self.limit} at the end)")

    async def _acquire(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self.limit is None or self.in_flight < self.limit:
                self.in_flight += 1
                return
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken and then cancelled: the turn passes to the next
                raise

    def _wake(self) -> None:
        room = len(self._waiters) if self.limit is None else self.limit - self.in_flight
        while room > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # (a cancelled one has left)
                waiter.set_result(None)
                room -= 1


# One limiter per (event loop, endpoint, model): futures cannot cross event loops, and a
# run's limits are learnt afresh by the next run.
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                     dict[tuple[str, str], RateLimiter]] = (
    weakref.WeakKeyDictionary())


def rate_limiter(endpoint: str, model: str) -> RateLimiter:
    per_loop = _limiters.setdefault(asyncio.get_running_loop(), {})
    limiter = per_loop.get((endpoint, model))
    if limiter is None:  # (looked up for every call: no limiter is built to be thrown away)
        limiter = per_loop[endpoint, model] = RateLimiter()
    return limiter


def pacing_status() -> str:
    """A few words for a progress line while rate limits pace a run: requests refused so
    far, and how many calls may go at once now ("" if none was refused). Read from the
    display's thread: a snapshot, never a lock on the event loop."""
    try:
        limiters = [lim for loop, per_loop in list(_limiters.items()) if not loop.is_closed()
                    for lim in list(per_loop.values())]  # (a finished run's loop is closed)
    except RuntimeError:  # (changed while read: the next refresh reads it again)
        return ""
    refused = sum(lim.refusals for lim in limiters)
    if not refused:
        return ""
    limits = [lim.limit for lim in limiters if lim.limit is not None]
    return f"429s {refused} · ≤{min(limits)} at once" if limits else f"429s {refused}"


def rate_limit_reports() -> list[str]:
    """A line per model whose API refused calls for their rate in this event loop."""
    per_loop = _limiters.get(asyncio.get_running_loop(), {})
    return [f"{model}: {line}" for (_, model), limiter in per_loop.items()
            if (line := limiter.report())]
