"""`sml sessions import`: dialogues logged elsewhere → sessions scored like evals (SPEC §4).

Each JSONL row is `{"problem": {question, answer, …}, "turns": [{"role": "student"|"teacher",
"content": …}, …], "condition"?: label, "meta"?: {…}}`. The whole file is validated first (a bad
row is exit 2 naming file:line); then one transaction writes a run (kind `import`), the
problems, the sessions (origin `import`) and their turns, so a failure leaves nothing.

What the rows become:
* turn 0: the question as a public `question` row. No student system prompt is stored: the
  people in an imported dialogue were given none, and the log holds only what happened.
* student turns, numbered 1..n. `--match strict`: an answer marker (`Final answer:`,
  `\\boxed{}`, `ANSWER:`) is an attempt, verified like in an eval (a private `verdict` row).
  `--match mention`: a student turn stating a number equal to the answer (or, for a text
  answer, the answer text) is a correct attempt; other turns with a marker are verified as
  in strict mode.
* teacher turns belong to the student turn they follow (0 before the first). A teacher turn
  that states the answer (guard.find_leaks) before the student first stated it — a correct
  attempt, or the answer mentioned — is *telling* (MathDial's telling@k): flagged as a leak,
  in both modes.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sml_cli import guard
from sml_cli.errors import ProblemFileError, SmlError, UsageError
from sml_cli.metrics import session_scores, summarize
from sml_cli.numbers import find_numbers, numbers_equal, parse_number
from sml_cli.problems import FieldMap, Problem, _build_problem, json_error, json_value_problem
from sml_cli.records import (
    ASKED,
    ATTEMPT,
    MESSAGE,
    QUESTION,
    VERDICT,
    SessionInfo,
    Turn,
    now,
)
from sml_cli.verification import check, extract_attempt, is_question

MATCH_MODES = ("strict", "mention")
DEFAULT_CONDITION = "imported"
ROLES = ("student", "teacher")


@dataclass
class Transcript:
    line: int
    problem: Problem
    turns: list[tuple[str, str]]  # (role, content)
    condition: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def student_turns(self) -> int:
        return sum(1 for role, _ in self.turns if role == "student")


# ----------------------------------------------------------------------------- reading


def read_transcripts(path: str | Path) -> list[Transcript]:
    """Parse and validate every row of a transcript file; raises ProblemFileError (exit 2)
    naming file and line at the first bad row."""
    file = Path(path)
    if not file.exists():
        raise UsageError(f"{path}: no such transcript file")
    if file.is_dir():
        raise ProblemFileError(str(path), "is a directory, not a transcript file")
    out: list[Transcript] = []
    try:
        with file.open(encoding="utf-8-sig") as fh:
            for line_no, line in enumerate(fh, start=1):
                if line.strip():
                    out.append(_parse_row(line, line_no, file))
    except UnicodeDecodeError as exc:
        raise ProblemFileError(str(path), f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ProblemFileError(str(path), exc.strerror or str(exc)) from None
    if not out:
        raise ProblemFileError(str(path), "no transcripts in file")
    return out


def _parse_row(text: str, line: int, path: Path) -> Transcript:
    def fail(message: str) -> ProblemFileError:
        return ProblemFileError(str(path), message, line)

    try:
        row = json.loads(text)
    except (ValueError, RecursionError) as exc:  # also a huge number, too deep a nesting
        raise fail(json_error(exc)) from None
    if not isinstance(row, dict):
        raise fail(f"expected a JSON object, got {type(row).__name__}")
    unusable = json_value_problem(row)
    if unusable:
        raise fail(unusable)
    raw_problem = row.get("problem")
    if not isinstance(raw_problem, dict):
        raise fail("'problem' must be an object with at least 'question' and 'answer'"
                   if "problem" in row else "no 'problem' field")
    if raw_problem.get("question") is None:
        raise fail("'problem' has no 'question'")
    if raw_problem.get("answer") is None and not raw_problem.get("tests"):
        raise fail("'problem' has no 'answer'")
    try:
        problem = _build_problem(raw_problem, line, path, FieldMap(), None, str(path),
                                 default_id=line)
    except ProblemFileError as exc:
        # The builder names file:line already; say that the fault is in the problem object.
        raise fail("problem: " + str(exc).removeprefix(f"{path}:{line}: ")) from None
    turns = row.get("turns")
    if not isinstance(turns, list) or not turns:
        raise fail("'turns' must be a non-empty list of {role, content} objects")
    parsed: list[tuple[str, str]] = []
    for i, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict):
            raise fail(f"turn {i}: expected an object with 'role' and 'content'")
        role = turn.get("role")
        if role not in ROLES:
            raise fail(f"turn {i}: role {role!r} is not 'student' or 'teacher'")
        content = turn.get("content")
        if not isinstance(content, str):
            raise fail(f"turn {i}: 'content' must be a string")
        parsed.append((role, content))
    condition = row.get("condition", DEFAULT_CONDITION)
    if condition is None:
        condition = DEFAULT_CONDITION
    if not isinstance(condition, str) or not condition.strip():
        raise fail("'condition' must be a non-empty string")
    meta = row.get("meta") or {}
    if not isinstance(meta, dict):
        raise fail("'meta' must be an object")
    return Transcript(line, problem, parsed, condition.strip(), meta)


# ----------------------------------------------------------------------------- scoring


def _mentioned(text: str, problem: Problem) -> str | None:
    """The answer as stated in `text` (a number equal to a numeric answer, or the answer
    text), or None."""
    if not problem.answer:
        return None
    answer = parse_number(problem.answer)
    if answer is not None:
        for m in find_numbers(text):
            if numbers_equal(m, answer):
                return m.text
        return None
    leaks = guard.find_leaks(text, problem)
    return leaks[0].text if leaks else None


def build_turns(session_id: str, t: Transcript, match: str) -> list[Turn]:
    """The rows of one imported session, in order, with verdicts and telling flags."""
    problem = t.problem
    code = problem.verifier == "python"
    rows: list[Turn] = []

    def add(role: str, visibility: str, kind: str, content: str, turn: int, **extra: Any) -> Turn:
        row = Turn(session_id=session_id, seq=len(rows), turn=turn, role=role,
                   visibility=visibility, kind=kind, content=content, **extra)
        rows.append(row)
        return row

    add("system", "public", QUESTION, problem.public_question(), 0)
    k = 0
    stated_at: int | None = None  # first student turn that stated the answer
    teacher_rows: list[Turn] = []
    for role, content in t.turns:
        if role == "teacher":
            teacher_rows.append(add("teacher", "public", MESSAGE, content, k))
            continue
        k += 1
        mention = _mentioned(content, problem)
        attempt = extract_attempt(content, code=code)
        if match == "mention" and mention is not None:
            add("student", "public", ATTEMPT, content, k, attempt=mention)
            add("verifier", "teacher", VERDICT, "correct (the answer is stated)", k,
                attempt=mention, correct=True)
            correct = True
        elif attempt is not None:
            add("student", "public", ATTEMPT, content, k, attempt=attempt.text)
            verdict = check(problem, attempt.text)
            add("verifier", "teacher", VERDICT, verdict.summary, k, attempt=verdict.attempt,
                correct=verdict.correct)
            correct = verdict.correct
        else:
            add("student", "public", ASKED if is_question(content) else MESSAGE, content, k)
            correct = False
        if stated_at is None and (correct or mention is not None):
            stated_at = k
    for row in teacher_rows:
        if stated_at is not None and row.turn >= stated_at:
            continue  # the student had said it already: confirming is not telling
        leaks = guard.find_leaks(row.content, problem)
        if leaks:
            row.leak = True
            row.leak_spans = [(x.start, x.end) for x in leaks]
            row.guard_action = "flag"
    return rows


# ----------------------------------------------------------------------------- import


def new_run_id() -> str:
    return datetime.now(UTC).strftime("import-%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def import_file(path: str, *, match: str = "strict", db: str | None = None,
                run_id: str | None = None) -> dict[str, Any]:
    """Import a transcript file as one run; returns the SPEC §4 results structure."""
    from sml_cli.store import Store, insert_turns

    if match not in MATCH_MODES:
        raise UsageError(f"--match {match!r}: choose strict or mention")
    transcripts = read_transcripts(path)  # everything validated before the database is touched
    started = time.perf_counter()
    max_turns = max(t.student_turns for t in transcripts)
    run_id = run_id or new_run_id()
    config = {"kind": "import", "source": str(path), "match": match,
              "n_transcripts": len(transcripts), "max_turns": max_turns}
    sessions: list[SessionInfo] = []
    with Store(db) as store:
        if store.run(run_id) is not None:
            raise UsageError(f"--run-id {run_id}: a run with that id exists already; "
                             "importing into it would mix sessions (use a new --run-id)")
        samples: dict[tuple[str, str], int] = {}
        try:
            with store.db.atomic():
                store.create_run(run_id, "import", config)
                problems = {t.problem.key: t.problem for t in transcripts}
                store.db["problems"].upsert_all([p.to_record() for p in problems.values()],
                                                pk="key")
                for t in transcripts:
                    sample = samples.get((t.problem.key, t.condition), 0)
                    samples[(t.problem.key, t.condition)] = sample + 1
                    info = _session(t, run_id, sample, max_turns)
                    turns = build_turns(info.id, t, match)
                    scores = session_scores(turns)
                    for key, value in scores.as_fields().items():
                        setattr(info, key, bool(value) if key in (
                            "solved", "first_attempt_correct") else value)
                    store.conn.execute(*_insert_session(info))
                    insert_turns(store.conn, turns)
                    sessions.append(info)
                store.db["runs"].update(run_id, {"status": "done", "finished": now()})
        except Exception as exc:
            if isinstance(exc, SmlError):
                raise
            raise SmlError(f"import of {path} failed, nothing was written ({exc})") from exc
    elapsed = time.perf_counter() - started
    return {"run_id": run_id, "elapsed_s": round(elapsed, 3), "config": config,
            **summarize(sessions, max_turns)}


def _session(t: Transcript, run_id: str, sample: int, max_turns: int) -> SessionInfo:
    has_teacher = any(role == "teacher" for role, _ in t.turns)
    meta = {**t.meta, "line": t.line}
    return SessionInfo(
        id=secrets.token_hex(6), problem_key=t.problem.key, problem_id=t.problem.id,
        condition=t.condition,
        student_model=str(t.meta.get("student_model") or "imported"),
        teacher_model=str(t.meta["teacher_model"]) if t.meta.get("teacher_model")
        else ("imported" if has_teacher else None),
        max_turns=max_turns, guard="flag", run_id=run_id, sample=sample, status="done",
        origin="import", finished=now(), meta=meta,
    )


def _insert_session(info: SessionInfo) -> tuple[str, dict[str, Any]]:
    row = info.to_row()
    return (f"INSERT INTO sessions ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})",
            row)


def write_json(result: dict[str, Any], path: str) -> None:
    """The SPEC §4 JSON, written atomically (never a half-written results file)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise SmlError(f"--json {path}: cannot write ({exc.strerror})") from None
