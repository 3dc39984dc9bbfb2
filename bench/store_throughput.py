"""Store throughput: turns/s written under concurrent sessions, WAL mode, in one run.

    uv run python bench/store_throughput.py [--sessions 500] [--turns 10] [--concurrency 50]

* sml writer — what `sml eval` uses: sessions (asyncio tasks) hand rows to the
  BackgroundWriter, one thread that commits whatever has queued in one transaction;
* baseline   — the same rows written from the event loop, one INSERT + COMMIT per turn
  (Store.add_turn), which is what "commit every turn as it happens" costs done naively.
Reports turns/s for both, the ratio, and how long the event loop was blocked in total.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sml_cli.records import SessionInfo, Turn
from sml_cli.store import BackgroundWriter, Store


def make_session(i: int) -> SessionInfo:
    return SessionInfo(id=f"s{i:06d}", problem_key="p", problem_id="1", condition="answer",
                       student_model="m", teacher_model="m", max_turns=6)


async def run(store: Store, writer: BackgroundWriter | None, sessions: int, turns: int,
              concurrency: int) -> tuple[float, float]:
    sem = asyncio.Semaphore(concurrency)
    blocked = 0.0
    sink = writer or store

    async def session(i: int) -> None:
        nonlocal blocked
        async with sem:
            info = make_session(i)
            t0 = time.perf_counter()
            sink.create_session(info)
            blocked += time.perf_counter() - t0
            for k in range(turns):
                await asyncio.sleep(0)  # a model call would be here
                turn = Turn(session_id=info.id, seq=k, turn=k // 2 + 1,
                            role="student" if k % 2 == 0 else "teacher",
                            visibility="public", kind="message",
                            content=f"message {k} of session {i} " * 8)
                t0 = time.perf_counter()
                sink.add_turn(turn)
                blocked += time.perf_counter() - t0
            t0 = time.perf_counter()
            sink.update_session(info.id, {"status": "done"})
            blocked += time.perf_counter() - t0

    start = time.perf_counter()
    await asyncio.gather(*(session(i) for i in range(sessions)))
    if writer is not None:
        await asyncio.to_thread(writer.flush)
    return time.perf_counter() - start, blocked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    total = args.sessions * args.turns
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for name in ("baseline", "sml writer"):
            path = Path(tmp) / f"{name.replace(' ', '_')}.db"
            store = Store(path)
            store.db["problems"].insert({"key": "p", "question": "q"})
            writer = BackgroundWriter(path) if name == "sml writer" else None
            seconds, blocked = asyncio.run(run(store, writer, args.sessions, args.turns,
                                               args.concurrency))
            if writer is not None:
                writer.close()
            count = store.db.execute("SELECT count(*) FROM turns").fetchone()[0]
            assert count == total, (name, count, total)
            results[name] = seconds
            print(f"{name:11s}: {total} turns in {seconds:6.2f} s = {total / seconds:9.0f} "
                  f"turns/s; event loop blocked {blocked:6.2f} s")
            store.close()
    print(f"sml writer speed-up over per-turn commits: "
          f"{results['baseline'] / results['sml writer']:.1f}×")


if __name__ == "__main__":
    main()
