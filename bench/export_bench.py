"""Benchmark `sml export` against a minimal sqlite3 → json loop over the same rows.

    uv run python bench/export_bench.py                    # quick: 5,000 sessions
    uv run python bench/export_bench.py --sessions 100000  # full: 100k sessions, 1M turns

Generates a database of N finished sessions (10 turns each: the student's and the teacher's
prompts, the question, three student turns with two verdicts, two teacher replies) by direct
`executemany` inserts (in a child process), then, in this process:

1. `sml export --format openai --view student -o out.jsonl` (export.run, in-process): the
   full pipeline — views, role checks, the final leak scan, atomic write;
2. a baseline: one SELECT of the public rows ordered by session, grouped in Python, mapped to
   OpenAI roles and written with json.dumps — the least any exporter must do.

Prints wall and CPU times, the ratio, the export's time without its final leak scan (where the
time goes), and peak memory (ru_maxrss) before and after: the export streams, so its peak must
not grow with the number of sessions — compare the quick run with the full one.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sml_cli import export
from sml_cli.problems import Problem
from sml_cli.records import TURN_COLUMNS, SessionInfo, now
from sml_cli.store import Store

TURNS_PER_SESSION = 10
N_PROBLEMS = 1000
STUDENT_PROMPT = (
    "You are a student solving a problem. After each of your messages you get a reply. It may "
    "come from a teacher who can see information you cannot (such as the reference answer or "
    "whether your attempts are right), and who will not simply tell you the answer.\n\n"
    "Think step by step, briefly. When you commit to an answer, end your message with a line "
    "of the form:\nFinal answer: <your answer>\n\nYou have at most 3 messages."
)


NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun")


def b_of(p: Problem) -> str:
    return p.question.split(" boxes arrive")[0].rsplit(" ", 1)[-1]


def c_of(p: Problem) -> str:
    return p.question.split(" rooms")[0].rsplit(" ", 1)[-1]


def peak_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024


def make_problems(rng: random.Random) -> list[Problem]:
    problems = []
    for i in range(N_PROBLEMS):
        a, b, c = 100 + i, rng.randint(10, 99), rng.randint(2, 9)
        problems.append(Problem(
            id=f"bench-{i:04d}",
            question=(f"A warehouse holds {a} boxes. Each day {b} boxes arrive and the stock is "
                      f"then split evenly into {c} rooms, rounding down. How many boxes are in "
                      "one room after the first day?"),
            answer=str((a + b) // c), verifier="numeric",
            solution=f"({a} + {b}) // {c} = {(a + b) // c}", source="bench",
        ))
    return problems


def generate(path: Path, n_sessions: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    problems = make_problems(rng)
    with Store(path) as store:
        store.save_problems(problems)
        store.create_run("bench", "eval", {"bench": True})
        conn = store.conn
        marks = ", ".join("?" * len(TURN_COLUMNS))
        insert_turn = f"INSERT INTO turns ({', '.join(TURN_COLUMNS)}) VALUES ({marks})"
        session_cols = tuple(SessionInfo.__dataclass_fields__)
        insert_session = (f"INSERT INTO sessions ({', '.join(session_cols)}) "
                          f"VALUES ({', '.join('?' * len(session_cols))})")
        conditions = ("answer", "verifier", "symmetric")
        created = now()
        conn.execute("BEGIN")
        sessions, turns = [], []
        for i in range(n_sessions):
            p = problems[i % N_PROBLEMS]
            answer = int(p.answer or 0)
            condition = conditions[i % 3]
            sid = f"{i:08x}"
            solved = rng.random() < 0.5
            last = answer if solved else answer + rng.randint(1, 9)
            wrong = answer - rng.randint(1, 9)

            def turn(seq: int, k: int, role: str, vis: str, kind: str, content: str,
                     attempt: str | None = None, correct: int | None = None,
                     sid: str = sid) -> tuple:
                tokens = len(content) // 4 if role in ("student", "teacher") else None
                row = (sid, seq, k, role, vis, kind, content, attempt, correct, 0, None, None,
                       "bench" if tokens else None, tokens, tokens, None, None, created)
                # Columns added later (reasoning, …) stay empty here.
                return row + (None,) * (len(TURN_COLUMNS) - len(row))

            turns += [
                turn(0, 0, "system", "public", "student_prompt", STUDENT_PROMPT),
                turn(1, 0, "system", "public", "question", p.question),
                turn(2, 0, "system", "teacher", "teacher_prompt",
                     f"You are a teacher. Reference answer (hidden from the student): "
                     f"{p.answer}\nWorked solution: {p.solution}"),
                turn(3, 1, "student", "public", "attempt",
                     f"First I add the arrivals to the stock, then I divide by the number of "
                     f"rooms and round down. Final answer: {wrong}", str(wrong), None),
                turn(4, 1, "verifier", "teacher", "verdict", "incorrect", str(wrong), 0),
                turn(5, 1, "teacher", "public", "message",
                     f"Not quite, {rng.choice(NAMES)}. Check what happens to the {b_of(p)} "
                     "boxes that arrive during the day: are they added before or after the "
                     f"split into rooms? Your {wrong} is off."),
                turn(6, 2, "student", "public", "question_asked",
                     "So the arrivals are added first, and then the whole stock is divided "
                     "between the rooms? Do I round down at the end?"),
                turn(7, 2, "teacher", "public", "message",
                     f"Yes to both, {rng.choice(NAMES)}. Do the addition first, then the "
                     f"division by {c_of(p)}, and drop any remainder (step {rng.randint(1, 3)})."),
                turn(8, 3, "student", "public", "attempt",
                     f"Adding first and then dividing, dropping the remainder. Final answer: "
                     f"{last}", str(last)),
                turn(9, 3, "verifier", "teacher", "verdict",
                     "correct" if solved else "incorrect", str(last), int(solved)),
            ]
            sessions.append((
                sid, p.key, p.id, condition, "bench-student", "bench-teacher", 3, "redact",
                "bench", i // (3 * N_PROBLEMS), "done", "eval", None, created, created, None,
                int(solved), 3 if solved else None, 0, 2, 1, 3, 0, 400, 300, None,
            ))
            if len(turns) >= 50_000:
                conn.executemany(insert_session, sessions)
                conn.executemany(insert_turn, turns)
                sessions, turns = [], []
        conn.executemany(insert_session, sessions)
        conn.executemany(insert_turn, turns)
        conn.execute("COMMIT")


def baseline(db: Path, out: Path) -> int:
    """The minimal loop: public rows → {"messages": [...]} per session, json.dumps per line."""
    roles = {"student": "assistant", "teacher": "user"}
    conn = sqlite3.connect(db)
    rows = 0
    with out.open("w", encoding="utf-8") as fh:
        current, messages = None, []
        cursor = conn.execute(
            "SELECT t.session_id, t.role, t.kind, t.content FROM sessions s CROSS JOIN turns t "
            "ON t.session_id = s.id WHERE s.status = 'done' AND t.visibility = 'public' "
            "ORDER BY s.id, t.seq")
        for sid, role, kind, content in cursor:
            if sid != current:
                if messages:
                    fh.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
                    rows += 1
                current, messages = sid, []
            if kind == "student_prompt":
                messages.append({"role": "system", "content": content})
            elif kind == "question":
                messages.append({"role": "user", "content": content})
            else:
                messages.append({"role": roles[role], "content": content})
        if messages:
            fh.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
            rows += 1
    conn.close()
    return rows


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=5_000,
                        help="Sessions to generate (10 turns each); 100000 for the full run.")
    parser.add_argument("--dir", help="Work directory (default: a temporary one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        db = work / "bench.db"
        # Generated in a child process, so that this process's peak memory is the export's.
        start = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(target=generate,
                                                              args=(db, args.sessions))
        child.start()
        child.join()
        if child.exitcode != 0:
            sys.exit("generating the database failed")
        print(f"generated {args.sessions:,} sessions / {args.sessions * TURNS_PER_SESSION:,} "
              f"turns in {time.perf_counter() - start:.1f} s "
              f"({db.stat().st_size / 1e6:.0f} MB database)")
        print(f"peak memory before exporting: {peak_mb():.0f} MB")

        out = work / "out.jsonl"
        options = export.ExportOptions(fmt="openai", view="student", output=str(out),
                                       db=str(db))
        result, sml_s, sml_cpu = timed(lambda: export.run(options))
        print(f"sml export --format openai --view student -o out.jsonl: {result.rows:,} rows, "
              f"{sml_s:.2f} s wall, {sml_cpu:.2f} s CPU ({result.rows / sml_s:,.0f} sessions/s), "
              f"{out.stat().st_size / 1e6:.0f} MB; peak memory {peak_mb():.0f} MB")

        base_out = work / "baseline.jsonl"
        base_rows, base_s, base_cpu = timed(lambda: baseline(db, base_out))
        print(f"minimal sqlite3 → json loop: {base_rows:,} rows, {base_s:.2f} s wall, "
              f"{base_cpu:.2f} s CPU ({base_rows / base_s:,.0f} sessions/s), "
              f"{base_out.stat().st_size / 1e6:.0f} MB; peak memory {peak_mb():.0f} MB")

        # For reference: the same export without its final leak scan (the guard's number parser
        # run over every message the student was given) — where the rest of the time goes.
        original = export.LeakScanner.scan
        export.LeakScanner.scan = lambda self, conv, include_leaked: None  # type: ignore
        try:
            _, noscan_s, noscan_cpu = timed(lambda: export.run(options))
        finally:
            export.LeakScanner.scan = original  # type: ignore
        print(f"(same export without the final scan: {noscan_s:.2f} s wall, "
              f"{noscan_cpu:.2f} s CPU)")
        same = _same_messages(out, base_out)
        print(f"ratio sml/baseline: {sml_s / base_s:.2f}x wall, {sml_cpu / base_cpu:.2f}x CPU "
              f"(without the scan: {noscan_cpu / base_cpu:.2f}x CPU); "
              f"identical messages: {same}")


def _same_messages(a: Path, b: Path) -> bool:
    with a.open(encoding="utf-8") as fa, b.open(encoding="utf-8") as fb:
        return all(json.loads(x) == json.loads(y) for x, y in zip(fa, fb, strict=True))


if __name__ == "__main__":
    main()
