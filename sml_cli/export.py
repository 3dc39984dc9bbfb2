"""`sml export`: logged sessions → training data (SPEC §8).

Sessions are streamed from SQLite (one ordered query, a cursor, rows grouped per session), so
exporting a database of 100k sessions holds one session — or, for `preference`, one
problem's sessions — in memory at a time. Every message comes from `views` (the student view
with its source rows, `student_view_sources`, or `teacher_view`): this module never decides
who sees what, it only reshapes the views into the output formats and checks them.

Student-view guarantee (checked on every session before any of its rows is written):
* roles: student → assistant, teacher → user, the student's system prompt first, the question
  as the first user message, never two consecutive messages of one role;
* no private field: the view is built from public rows only, sessions with a flagged leak are
  left out (unless `--include-leaked`), and a final scan refuses the export if anything the
  student was *given* (system / user messages) states the session's answer (guard.find_leaks)
  or quotes a private field — before the student stated the answer itself (after that, the
  answer is public: the student's own messages may hold a right final answer).

Only finished sessions (status `done`) are exported; by default those with a flagged leak
(`sessions.leaks > 0`, which counts redacted drafts too) are left out. Sessions without a
student message (student view) or without a teacher (teacher view: `binary`, `none`) give no
rows. Files are written to a temporary name and renamed at the end: a failure leaves nothing
(on stdout, rows already written stay written, and the exit code is 1).

Formats, per session unless said otherwise: `openai` / `trl` `{"messages"}` (`--weights`:
`"weight"` on assistant messages, 0 for one holding a failed attempt; a session of nothing
else is left out, as it would train nothing); `sharegpt`
`{"conversations": [{"from", "value"}]}`; `trl-prompt-completion` one row per assistant
message; `preference` pairs across the sessions of one problem (see `preference_rows`); `raw`
the session, its problem (every field) and every row with its visibility. Teacher-view SFT
formats end at the teacher's last message. Output: JSON lines on stdout or in `.jsonl`, a JSON
array in `.json`, or Parquet (written in batches of PARQUET_BATCH_ROWS rows).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from itertools import product
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sml_cli import guard
from sml_cli.errors import SmlError, UsageError
from sml_cli.numbers import find_numbers, parse_number
from sml_cli.outputs import check_writable, to_stdout
from sml_cli.problems import Problem
from sml_cli.records import (
    ATTEMPT,
    MESSAGE,
    QUESTION,
    STUDENT_PROMPT,
    TEACHERLESS_CONDITIONS,
    TURN_COLUMNS,
    VERDICT,
    SessionInfo,
    Turn,
    shallow_dict,
)
from sml_cli.views import (
    Message,
    student_prompt,
    student_thoughts,
    student_view_sources,
    teacher_prompt,
    teacher_thoughts,
    teacher_view,
)

if TYPE_CHECKING:
    from sml_cli.store import Store

FORMATS = ("openai", "sharegpt", "trl", "trl-prompt-completion", "preference", "raw")
VIEWS = ("student", "teacher")
SUFFIXES = (".jsonl", ".json", ".parquet")
MAX_PAIRS_PER_PREFIX = 4
# A private text field (solution, notes, tests) quoted verbatim in what the student was given
# is a leak the answer check could miss; shorter fields are too likely to match by chance.
MIN_PRIVATE_QUOTE = 20
PARQUET_BATCH_ROWS = 1000
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}

SESSION_FIELDS = tuple(SessionInfo.__dataclass_fields__)


@dataclass
class ExportOptions:
    fmt: str = "openai"
    view: str | None = "student"  # None: student, or teacher for `raw`
    output: str | None = None  # None or "-": stdout (JSON lines)
    db: str | None = None
    only_solved: bool = False
    conditions: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    student_models: list[str] = field(default_factory=list)
    include_leaked: bool = False
    weights: bool = False
    stats: bool = False
    include_reasoning: bool = False  # the trained side's own thoughts, as reasoning_content


# ----------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Target:
    kind: str  # stdout | jsonl | json | parquet
    path: Path | None = None


def resolve_view(options: ExportOptions) -> str:
    if options.fmt not in FORMATS:
        raise UsageError(f"--format {options.fmt!r}: choose from {', '.join(FORMATS)}")
    view = options.view or ("teacher" if options.fmt == "raw" else "student")
    if view not in VIEWS:
        raise UsageError(f"--view {view!r}: choose student or teacher")
    if options.fmt == "raw" and view != "teacher":
        raise UsageError(
            "--format raw holds everything, the private channel included, so it is teacher "
            "view only: use --view teacher (or another --format for the student view)"
        )
    return view


def validate(options: ExportOptions) -> tuple[str, Target]:
    """Check every option before anything is read or written; returns (view, target)."""
    view = resolve_view(options)
    if options.weights and options.fmt != "openai":
        raise UsageError(f"--weights applies to --format openai only, not {options.fmt!r}")
    if options.include_reasoning and options.fmt not in REASONING_FORMATS:
        raise UsageError(f"--include-reasoning applies to --format {', '.join(REASONING_FORMATS)}"
                         f" (messages with a reasoning_content field), not {options.fmt!r}"
                         + ("; raw always holds it" if options.fmt == "raw" else ""))
    if options.only_solved and options.fmt == "preference":
        raise UsageError("--only-solved leaves no unsolved session to reject: it cannot be "
                         "combined with --format preference")
    target = _target(options.output)
    return view, Target("stdout") if options.stats else target


def _target(output: str | None) -> Target:
    """Where rows go. Checks the path without creating anything (that waits until rows are
    about to be written)."""
    if output is None or to_stdout(output):
        return Target("stdout")
    path = check_writable(output, "-o")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"-o {output}: unsupported file type {suffix or '(none)'!r}; use "
                         + ", ".join(SUFFIXES) + " (or no -o for JSON lines on stdout)")
    return Target(suffix.lstrip("."), path)


def _open_store(db: str | None) -> Store:
    from sml_cli.store import Store, resolve_db_path

    path = resolve_db_path(db)
    if str(path) != ":memory:" and not path.exists():
        raise UsageError(f"--db {path}: no such database (run `sml eval` or `sml chat` first)")
    return Store(path)


# ----------------------------------------------------------------------------- reading


@dataclass
class SessionData:
    info: SessionInfo
    problem: Problem
    turns: list[Turn]


def _filters(options: ExportOptions) -> tuple[list[str], list[Any]]:
    # The unary + keeps SQLite from answering a filter through an index (status, run): it must
    # walk sessions in primary-key order so that the result streams without a sort.
    clauses, params = _chosen(options)
    clauses.insert(0, "+s.status = 'done'")
    if options.only_solved:
        clauses.append("s.solved = 1")
    if not options.include_leaked:
        clauses.append("COALESCE(s.leaks, 0) = 0")
    return clauses, params


def _chosen(options: ExportOptions) -> tuple[list[str], list[Any]]:
    """The clauses of the filters that choose sessions by name (condition, run, model)."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, values in (("condition", options.conditions), ("run_id", options.run_ids),
                           ("student_model", options.student_models)):
        if values:
            clauses.append(f"+s.{column} IN ({', '.join('?' * len(values))})")
            params += list(values)
    return clauses, params


def _turn_from_tuple(row: Sequence[Any]) -> Turn:
    (session_id, seq, turn, role, visibility, kind, content, attempt, correct, leak, spans,
     guard_action, model, prompt_tokens, completion_tokens, cost_usd, latency_ms, created,
     reasoning, truncated) = row
    return Turn(
        session_id, seq, turn, role, visibility, kind, content or "", attempt,
        None if correct is None else bool(correct), bool(leak),
        [tuple(s) for s in json.loads(spans)] if spans else None, guard_action, model,
        prompt_tokens, completion_tokens, cost_usd, latency_ms, created, reasoning,
        bool(truncated),
    )


# Row selections: the student view is built from public rows (and annotated with verdicts); the
# other views need every row. Exports other than `raw` skip the bookkeeping columns.
STUDENT_ROWS = "(t.visibility = 'public' OR t.kind = 'verdict')"
LEAN_NULLS = {"leak_spans", "guard_action", "model", "prompt_tokens", "completion_tokens",
              "cost_usd", "latency_ms", "created", "reasoning", "truncated"}


REASONING_FORMATS = ("openai", "trl", "trl-prompt-completion")


def iter_sessions(store: Any, options: ExportOptions, *, by_problem: bool = False,
                  student_rows: bool = False, lean: bool = False) -> Iterator[SessionData]:
    """Finished sessions matching the filters with their turns, one at a time.

    Two cursors walk the same sessions in the same order — one over the sessions, one over
    their turns — and are merged, so no session column is repeated on every turn. Sessions are
    read in id order (the primary-key index) and each one's turns through the (session_id,
    seq) index, so SQLite streams them without sorting the result; grouping by problem
    (`preference`) needs a sort, which SQLite does on disk, not in this process.
    `student_rows` reads only the rows the student view needs; `lean` skips the bookkeeping
    columns (tokens, timings, guard details) that only `raw` exports.
    """
    clauses, params = _filters(options)
    where = " AND ".join(clauses)
    order = "s.problem_key, s.id" if by_problem else "s.id"
    session_sql = (f"SELECT {', '.join(f's.{c}' for c in SESSION_FIELDS)} FROM sessions s "
                   f"WHERE {where} ORDER BY {order}")
    skipped = LEAN_NULLS - ({"reasoning"} if options.include_reasoning else set())
    columns = ", ".join("NULL" if lean and c in skipped else f"t.{c}" for c in TURN_COLUMNS)
    turn_where = f"{where} AND {STUDENT_ROWS}" if student_rows else where
    turn_sql = (f"SELECT {columns} FROM sessions s CROSS JOIN turns t ON t.session_id = s.id "
                f"WHERE {turn_where} ORDER BY {order}, t.seq")
    problems = _ProblemCache(store)
    sessions = store.conn.cursor()
    sessions.row_factory = None
    turns = store.conn.cursor()
    turns.row_factory = None
    try:
        sessions.execute(session_sql, params)
        turns.execute(turn_sql, params)
        pending = _rows(turns)
        row = next(pending, None)
        for session_row in _rows(sessions):
            info = SessionInfo.from_row(dict(zip(SESSION_FIELDS, session_row, strict=True)))
            data = SessionData(info, problems.get(info.problem_key), [])
            while row is not None and row[0] == info.id:
                data.turns.append(_turn_from_tuple(row))
                row = next(pending, None)
            yield data
        if row is not None:
            raise SmlError(f"internal error: turns of session {row[0]} came out of order")
    finally:
        sessions.close()
        turns.close()


def _rows(cursor: Any, size: int = 2000) -> Iterator[Sequence[Any]]:
    while True:
        batch = cursor.fetchmany(size)
        if not batch:
            return
        yield from batch


class _ProblemCache:
    """Problems by key, fetched on demand; a bounded number kept (exports are ordered by
    session, so one problem's sessions are scattered through the stream)."""

    def __init__(self, store: Any, size: int = 4096) -> None:
        self.store, self.size = store, size
        self.cache: dict[str, Problem] = {}

    def get(self, key: str) -> Problem:
        problem = self.cache.get(key)
        if problem is None:
            cursor = self.store.conn.cursor()
            cursor.row_factory = None
            cursor.execute("SELECT * FROM problems WHERE key = ?", [key])
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
            cursor.close()
            if row is None:
                raise SmlError(f"the database has sessions of problem {key} but no such problem")
            problem = Problem.from_record(dict(zip(names, row, strict=True)))
            if len(self.cache) >= self.size:
                self.cache.pop(next(iter(self.cache)))
            self.cache[key] = problem
        return problem


# ----------------------------------------------------------------------------- views


@dataclass
class Conversation:
    """A session in one view: the messages, and for each message the rows behind it."""

    data: SessionData
    messages: list[Message]
    sources: list[list[Turn]]


def student_conversation(data: SessionData, prompts: Any) -> Conversation:
    pairs = student_view_sources(data.turns)
    messages = [message for message, _ in pairs]
    sources = [rows for _, rows in pairs]
    if not messages or messages[0]["role"] != "system":
        # An imported dialogue stores no prompts; the student view still opens with the
        # student's system prompt (SPEC §8), rendered from public facts only.
        messages.insert(0, {"role": "system", "content": student_prompt(
            data.problem, data.info.max_turns, prompts)})
        sources.insert(0, [])
    _check_roles(data.info.id, messages, "student")
    return Conversation(data, messages, sources)


def teacher_conversation(data: SessionData, prompts: Any) -> Conversation | None:
    """The teacher's view, or None when the session has no teacher (binary / none)."""
    if data.info.condition in TEACHERLESS_CONDITIONS or not any(
        t.role == "teacher" and t.kind == MESSAGE and t.is_public for t in data.turns
    ):
        return None
    messages = teacher_view(data.turns, data.info.condition, prompts)
    if not messages or messages[0]["role"] != "system":
        # An imported dialogue stores no prompts (none were given); its teacher is taken to
        # have known the answer, as human tutors do, so it gets the `answer` teacher prompt:
        # without it the teacher view would not even hold the question. With no answer and
        # nothing else private (--allow-missing-answers), the teacher knew what the student knew.
        known = "answer" if data.problem.private_fields else "symmetric"
        messages.insert(0, {"role": "system",
                            "content": teacher_prompt(data.problem, known, prompts)})
    if len(messages) > 1 and messages[1]["role"] == "assistant":
        # A dialogue the tutor opened (MathDial, classroom transcripts): the student's side
        # starts with the problem, as it does in the student view, so that the row begins
        # with a user turn, as chat templates that check alternation (Gemma's, Mistral's) need.
        messages.insert(1, {"role": "user", "content": data.problem.public_question()})
    _check_roles(data.info.id, messages, "teacher")
    return Conversation(data, messages, [[] for _ in messages])


def _with_reasoning(conv: Conversation, view: str) -> Conversation:
    """The conversation with each `assistant` message carrying the thoughts its speaker had
    before it (`reasoning_content`, as reasoning chat templates take it). Only the trained
    side's own: a student view never gets the teacher's thoughts, nor the reverse."""
    thoughts = (student_thoughts(conv.messages, conv.sources) if view == "student"
                else teacher_thoughts(conv.data.turns, conv.messages))
    messages: list[Message] = []
    for m, thought in zip(conv.messages, thoughts, strict=True):
        if m["role"] == "assistant" and thought:
            messages.append({**m, "reasoning_content": thought})
        else:
            messages.append(m)
    return Conversation(conv.data, messages, conv.sources)


def _check_roles(session_id: str, messages: Sequence[Message], view: str) -> None:
    for i, m in enumerate(messages):
        if m["role"] == "system" and i != 0:
            raise SmlError(f"session {session_id}: {view} view has a system message at "
                           f"position {i}; refusing to export it")
        if i and m["role"] == messages[i - 1]["role"]:
            raise SmlError(f"session {session_id}: {view} view has two consecutive "
                           f"{m['role']} messages; refusing to export it")
    if view == "student":
        first = next((m for m in messages if m["role"] != "system"), None)
        if first is not None and first["role"] != "user":
            raise SmlError(f"session {session_id}: the student view does not start with the "
                           "question; refusing to export it")


def _wrong_attempt(rows: Sequence[Turn], verdicts: dict[int, bool]) -> bool:
    return any(t.kind == ATTEMPT and verdicts.get(t.turn) is False for t in rows)


def _verdicts(turns: Sequence[Turn]) -> dict[int, bool]:
    return {t.turn: bool(t.correct) for t in turns if t.kind == VERDICT}


# ----------------------------------------------------------------------------- final scan


class LeakScanner:
    """The final scan of student views (see the module docstring).

    Each row the student was given is checked on its own (as the guard checked it), with
    `guard.find_leaks`, so the scan agrees with the guard on what a leak is:
    * teacher rows (and a question row that is not the problem's public question): in full;
    * the problem's public question: skipped — it is public by definition (a choice
      question even lists the answer's text);
    * the student's system prompt: rendered from public facts only (`views.student_prompt`),
      so its numbers (the turn budget) are public like the question's; a text answer or a
      quoted private field in it is still caught. Checked once per problem and prompt text.
    For a numeric answer a coarse filter runs first: a text none of whose numbers is anywhere
    near the answer (within 1% or 0.01, also ×100 and ÷100 for percent readings) cannot state
    it, so `find_leaks` only runs on texts that pass — the same verdicts, faster.
    """

    def __init__(self, cache_size: int = 20_000) -> None:
        self.cache_size = cache_size
        self._answers: dict[str, float | None] = {}
        self._seen: dict[tuple[str, str], bool] = {}

    def _answer_value(self, key: str, problem: Problem) -> float | None:
        if key not in self._answers:
            if len(self._answers) >= self.cache_size:
                self._answers.clear()
            # (with aliases, any of several values may be stated: no coarse filter)
            parsed = (parse_number(problem.answer) if problem.answer and not problem.aliases
                      else None)
            self._answers[key] = _as_float(parsed.value) if parsed is not None else None
        return self._answers[key]

    def leaks(self, text: str, problem: Problem, key: str) -> list[guard.Leak]:
        """`guard.find_leaks(text, problem)`; `key` is the problem's key (computing it hashes
        the whole problem, so callers pass the stored one)."""
        value = self._answer_value(key, problem)
        if value is not None and not any(_near(m.value, value) for m in find_numbers(text)):
            return []
        return guard.find_leaks(text, problem)

    def states_answer(self, text: str, problem: Problem, key: str, *,
                      public_context: str = "") -> bool:
        """Does `text` state the answer? Numbers in `public_context` (text the student was
        shown publicly, like its own system prompt) count as question numbers, which the
        guard never reports."""
        if not public_context:
            return bool(self.leaks(text, problem, key))
        cached = self._seen.get((key, text))
        if cached is None:
            widened = replace(problem, question=f"{problem.question}\n{public_context}")
            cached = bool(self.leaks(text, widened, key))
            if len(self._seen) >= self.cache_size:
                self._seen.clear()
            self._seen[(key, text)] = cached
        return cached

    def scan(self, conv: Conversation, include_leaked: bool) -> None:
        """Refuse (SmlError) a student view in which something the student was given states
        the session's answer or quotes a private field, before the student stated the answer.
        With `include_leaked`, a session whose leak was flagged is exported as the student
        received it, unscanned; every other session is still scanned."""
        info, problem = conv.data.info, conv.data.problem
        if include_leaked and (info.leaks or 0) > 0:
            return
        quotes = [(name, text.strip()) for name, text in problem.private_fields.items()
                  if name not in ("answer", "aliases") and len(text.strip()) >= MIN_PRIVATE_QUOTE]
        question = problem.public_question()
        for i, (m, rows) in enumerate(zip(conv.messages, conv.sources, strict=True)):
            if m["role"] == "assistant":
                continue
            for name, text in quotes:
                if text in m["content"]:
                    raise SmlError(f"session {info.id}: the student view quotes the private "
                                   f"{name!r} field; refusing to export it")
            for row in rows:
                if row.kind == QUESTION and row.content == question:
                    continue  # the public question itself: its numbers are never leaks
                context = row.content if row.kind == STUDENT_PROMPT else ""
                if self.states_answer(row.content, problem, info.problem_key,
                                      public_context=context) and not self._stated_before(conv, i):
                    raise SmlError(
                        f"session {info.id}: the student view states the answer in a "
                        f"{m['role']} message although no leak was flagged in the session; "
                        f"refusing to export it (see `sml sessions show {info.id}`)")

    def _stated_before(self, conv: Conversation, before: int) -> bool:
        """Had a student message before position `before` stated the answer (a correct
        attempt, or the answer mentioned)? Then repeating it gives nothing away."""
        verdicts = _verdicts(conv.data.turns)
        for j in range(before):
            if conv.messages[j]["role"] != "assistant":
                continue
            if any(verdicts.get(t.turn) for t in conv.sources[j] if t.kind == ATTEMPT):
                return True
            if self.leaks(conv.messages[j]["content"], conv.data.problem,
                          conv.data.info.problem_key):
                return True
        return False


def _as_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _near(x: Fraction, answer: float) -> bool:
    """Coarse and generous: could `x` be written for `answer` (allowing percent readings and
    rounding)? Only ever used to skip texts that cannot state the answer."""
    fx = _as_float(x)
    if not (math.isfinite(fx) and math.isfinite(answer)):
        return True
    return any(abs(fx - t) <= 0.01 + 0.01 * abs(t) for t in (answer, answer * 100, answer / 100))


# ----------------------------------------------------------------------------- formats


def _sft_messages(conv: Conversation, view: str) -> list[Message]:
    """Messages up to the last one of the trained role (SPEC §8 says so for the teacher
    view; in the student view the same holds: an imported dialogue may end on a teacher
    turn, which nothing would learn from)."""
    messages = conv.messages
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1)
    return messages[: last + 1]


def _openai_rows(conv: Conversation, view: str, weights: bool) -> Iterator[dict[str, Any]]:
    messages = _sft_messages(conv, view)
    if not weights:
        yield {"messages": messages}
        return
    verdicts = _verdicts(conv.data.turns)
    out = []
    for m, rows in zip(messages, conv.sources, strict=False):
        if m["role"] == "assistant":
            wrong = view == "student" and _wrong_attempt(rows, verdicts)
            out.append({**m, "weight": 0 if wrong else 1})
        else:
            out.append(dict(m))
    yield {"messages": out}


def _sharegpt_rows(conv: Conversation, view: str) -> Iterator[dict[str, Any]]:
    yield {"conversations": [{"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]}
                             for m in _sft_messages(conv, view)]}


def _trl_rows(conv: Conversation, view: str) -> Iterator[dict[str, Any]]:
    yield {"messages": _sft_messages(conv, view)}


def _prompt_completion_rows(conv: Conversation) -> Iterator[dict[str, Any]]:
    for i, m in enumerate(conv.messages):
        if m["role"] == "assistant":
            yield {"prompt": conv.messages[:i], "completion": [m]}


def _raw_row(data: SessionData) -> dict[str, Any]:
    p = data.problem
    problem = {
        "key": p.key, "id": p.id, "source": p.source, "question": p.question,
        "answer": p.answer, "solution": p.solution, "verifier": p.verifier,
        "choices": list(p.choices) if p.choices else None, "tests": p.tests, "notes": p.notes,
        "meta": p.meta, "aliases": list(p.aliases),
    }
    turns = []
    for t in data.turns:
        row = shallow_dict(t)
        row["leak_spans"] = [list(s) for s in t.leak_spans] if t.leak_spans else None
        turns.append(row)
    return {"session": shallow_dict(data.info), "problem": problem, "turns": turns}


def preference_rows(convs: Sequence[Conversation]) -> Iterator[dict[str, Any]]:
    """Pairs from sessions of one problem: where sessions share a prefix and then differ,
    the next assistant message of a solved session is chosen, of an unsolved one rejected.

    A message that follows the prefix in both a solved and an unsolved session is not
    evidence either way and is never paired; identical messages never pair; at most
    MAX_PAIRS_PER_PREFIX pairs per prefix, covering every distinct message first.
    """
    for row, _ in _preference_pairs(convs):
        yield row


def _preference_pairs(convs: Sequence[Conversation]
                      ) -> Iterator[tuple[dict[str, Any], Conversation]]:
    """`preference_rows`, each with the session its chosen message comes from."""
    Prefix = tuple[tuple[str, str], ...]
    # prefix → outcome → distinct next messages (first-seen order) → the first session saying it
    nexts: dict[Prefix, dict[bool, dict[str, Conversation]]] = {}
    prefixes: dict[Prefix, list[Message]] = {}
    for conv in sorted(convs, key=lambda c: c.data.info.id):
        if conv.data.info.solved is None:
            continue  # no reference answer: neither chosen nor rejected
        solved = conv.data.info.solved
        key: Prefix = ()
        for i, m in enumerate(conv.messages):
            if m["role"] == "assistant":
                if key not in nexts:
                    nexts[key] = {True: {}, False: {}}
                    prefixes[key] = conv.messages[:i]
                nexts[key][solved].setdefault(m["content"], conv)
            key = (*key, (m["role"], m["content"]))
    for key, outcomes in nexts.items():
        both = outcomes[True].keys() & outcomes[False].keys()
        chosen = [c for c in outcomes[True] if c not in both]
        rejected = [r for r in outcomes[False] if r not in both]
        if not chosen or not rejected:
            continue
        for c, r in _pairs(chosen, rejected, MAX_PAIRS_PER_PREFIX):
            yield ({"prompt": prefixes[key], "chosen": [{"role": "assistant", "content": c}],
                    "rejected": [{"role": "assistant", "content": r}]}, outcomes[True][c])


def _pairs(chosen: list[str], rejected: list[str], limit: int) -> list[tuple[str, str]]:
    n = max(len(chosen), len(rejected))
    pairs = [(chosen[i % len(chosen)], rejected[i % len(rejected)]) for i in range(n)]
    for pair in product(chosen, rejected):
        if len(pairs) >= limit:
            break
        if pair not in pairs:
            pairs.append(pair)
    return pairs[:limit]


# ----------------------------------------------------------------------------- writers


class _Writer:
    rows = 0

    def write(self, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (rename a temporary file into place)."""

    def abort(self) -> None:
        """Drop everything written (a failure must leave nothing half-written)."""


def _dumps(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False)


class _StdoutWriter(_Writer):
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, row: dict[str, Any]) -> None:
        self.stream.write(_dumps(row) + "\n")
        self.rows += 1

    def close(self) -> None:
        self.stream.flush()


class _FileWriter(_Writer):
    """A temporary file next to the target, renamed over it by `close`."""

    def __init__(self, path: Path, flag: str = "-o") -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self.flag = flag
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{flag} {path}: cannot create its folder ({exc.strerror})"
                             ) from None

    def _fail(self, exc: OSError) -> SmlError:
        return SmlError(f"{self.flag} {self.path}: cannot write ({exc.strerror or exc})")

    def close(self) -> None:
        try:
            self._finish()
            self.tmp.replace(self.path)
        except OSError as exc:
            self.abort()
            raise self._fail(exc) from None

    def _finish(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._discard()
        with contextlib.suppress(OSError):
            self.tmp.unlink()

    def _discard(self) -> None:
        pass


class _JsonLinesWriter(_FileWriter):
    def __init__(self, path: Path, *, array: bool = False) -> None:
        super().__init__(path)
        self.array = array
        try:
            self.fh = self.tmp.open("w", encoding="utf-8", newline="\n")
            if array:
                self.fh.write("[")
        except OSError as exc:
            raise UsageError(f"-o {path}: cannot write ({exc.strerror})") from None

    def write(self, row: dict[str, Any]) -> None:
        try:
            if self.array:
                self.fh.write(("\n" if not self.rows else ",\n") + _dumps(row))
            else:
                self.fh.write(_dumps(row) + "\n")
        except OSError as exc:
            raise self._fail(exc) from None
        self.rows += 1

    def _finish(self) -> None:
        if self.array:
            self.fh.write("\n]\n" if self.rows else "]\n")
        self.fh.close()

    def _discard(self) -> None:
        self.fh.close()


class _ParquetWriter(_FileWriter):
    def __init__(self, path: Path, schema: Any, prepare: Callable[[dict[str, Any]], dict]) -> None:
        super().__init__(path)
        import pyarrow.parquet as pq

        self.schema, self.prepare = schema, prepare
        self.buffer: list[dict[str, Any]] = []
        try:
            self.writer = pq.ParquetWriter(str(self.tmp), schema, compression="zstd")
        except OSError as exc:
            raise UsageError(f"-o {path}: cannot write ({exc})") from None

    def write(self, row: dict[str, Any]) -> None:
        self.buffer.append(self.prepare(row))
        self.rows += 1
        if len(self.buffer) >= PARQUET_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.buffer:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.buffer = []

    def _finish(self) -> None:
        self._flush()
        self.writer.close()

    def _discard(self) -> None:
        self.writer.close()


def _parquet_schema(fmt: str, weights: bool, reasoning: bool = False
                    ) -> tuple[Any, Callable[[dict[str, Any]], dict]]:
    """Arrow schema of a format's rows, and a function that makes a row fit it."""
    import pyarrow as pa

    string, integer = pa.string(), pa.int64()
    fields = [("role", string), ("content", string)]
    if reasoning:
        fields.append(("reasoning_content", string))
    plain = pa.list_(pa.struct(fields))
    if weights:
        fields.append(("weight", integer))
    message = pa.list_(pa.struct(fields))

    def same(row: dict[str, Any]) -> dict[str, Any]:
        return row

    if fmt in ("openai", "trl"):
        return pa.schema([("messages", message)]), same
    if fmt == "sharegpt":
        return pa.schema([("conversations",
                           pa.list_(pa.struct([("from", string), ("value", string)])))]), same
    if fmt == "trl-prompt-completion":
        return pa.schema([("prompt", plain), ("completion", plain)]), same
    if fmt == "preference":
        return pa.schema([("prompt", plain), ("chosen", plain), ("rejected", plain)]), same
    # raw: nested records; free-form `meta` objects become JSON text.
    session_types = {
        "sample": integer, "max_turns": integer, "solved_at_turn": integer,
        "attempts": integer, "questions": integer, "student_turns": integer,
        "leaks": integer, "student_tokens": integer, "teacher_tokens": integer,
        "cost_usd": pa.float64(), "solved": pa.bool_(), "first_attempt_correct": pa.bool_(),
    }
    session = pa.struct([(f, session_types.get(f, string)) for f in SESSION_FIELDS])
    problem = pa.struct([
        ("key", string), ("id", string), ("source", string), ("question", string),
        ("answer", string), ("solution", string), ("verifier", string),
        ("choices", pa.list_(string)), ("tests", string), ("notes", string), ("meta", string),
        ("aliases", pa.list_(string)),
    ])
    turn_types = {
        "seq": integer, "turn": integer, "correct": pa.bool_(), "leak": pa.bool_(),
        "truncated": pa.bool_(),
        "leak_spans": pa.list_(pa.list_(integer)), "prompt_tokens": integer,
        "completion_tokens": integer, "cost_usd": pa.float64(), "latency_ms": pa.float64(),
    }
    turn = pa.struct([(f, turn_types.get(f, string)) for f in TURN_COLUMNS])

    def meta_as_text(row: dict[str, Any]) -> dict[str, Any]:
        def text(meta: Any) -> str | None:
            return json.dumps(meta, ensure_ascii=False) if meta else None

        return {"session": {**row["session"], "meta": text(row["session"]["meta"])},
                "problem": {**row["problem"], "meta": text(row["problem"]["meta"])},
                "turns": row["turns"]}

    return pa.schema([("session", session), ("problem", problem),
                      ("turns", pa.list_(turn))]), meta_as_text


def _writer(target: Target, options: ExportOptions, stdout: IO[str] | None) -> _Writer:
    if target.kind == "stdout":
        return _StdoutWriter(stdout or sys.stdout)
    assert target.path is not None
    if target.kind == "parquet":
        schema, prepare = _parquet_schema(options.fmt, options.weights,
                                          options.include_reasoning)
        return _ParquetWriter(target.path, schema, prepare)
    return _JsonLinesWriter(target.path, array=target.kind == "json")


# ----------------------------------------------------------------------------- pipeline


@dataclass
class StatsCell:
    sessions: int = 0
    solved: int = 0
    student_turns: int = 0
    teacher_turns: int = 0
    rows: int = 0
    messages: int = 0
    chars: int = 0

    @property
    def tokens(self) -> int:
        """A rough token count of the exported text (about 4 characters a token)."""
        return (self.chars + 3) // 4


@dataclass
class ExportStats:
    fmt: str
    view: str
    by_group: dict[tuple[str, str], StatsCell] = field(
        default_factory=lambda: defaultdict(StatsCell))
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> StatsCell:
        total = StatsCell()
        for cell in self.by_group.values():
            for name in ("sessions", "solved", "student_turns", "teacher_turns", "rows",
                         "messages", "chars"):
                setattr(total, name, getattr(total, name) + getattr(cell, name))
        return total


@dataclass
class ExportResult:
    rows: int
    sessions: int
    stats: ExportStats
    target: Target


def _count(stats: ExportStats, conv: Conversation, rows: list[dict[str, Any]]) -> None:
    info = conv.data.info
    cell = stats.by_group[(info.condition, info.student_model)]
    cell.sessions += 1
    cell.solved += int(bool(info.solved))
    cell.student_turns += sum(1 for t in conv.data.turns if t.role == "student")
    cell.teacher_turns += sum(1 for t in conv.data.turns
                              if t.role == "teacher" and t.is_public)
    cell.rows += len(rows)
    for row in rows:
        for value in row.values():
            if isinstance(value, list):
                cell.messages += len(value)
                cell.chars += sum(len(m.get("content") or m.get("value") or "") for m in value
                                  if isinstance(m, dict))


def _rows_per_session(options: ExportOptions, view: str, prompts: Any
                      ) -> Callable[[SessionData], tuple[Conversation | None, list[dict]]]:
    fmt = options.fmt
    scanner = LeakScanner()

    def convert(data: SessionData) -> tuple[Conversation | None, list[dict[str, Any]]]:
        if fmt == "raw":
            conv = Conversation(data, [], [])
            return conv, [_raw_row(data)]
        if view == "student":
            conv = student_conversation(data, prompts)
            if not any(m["role"] == "assistant" for m in conv.messages):
                return None, []  # the student never spoke: nothing to learn from
            scanner.scan(conv, options.include_leaked)
        else:
            teacher = teacher_conversation(data, prompts)
            if teacher is None:
                return None, []
            conv = teacher
        if options.include_reasoning:
            conv = _with_reasoning(conv, view)
        if fmt == "openai":
            rows = list(_openai_rows(conv, view, options.weights))
        elif fmt == "sharegpt":
            rows = list(_sharegpt_rows(conv, view))
        elif fmt == "trl":
            rows = list(_trl_rows(conv, view))
        elif fmt == "trl-prompt-completion":
            rows = list(_prompt_completion_rows(conv))
        else:  # preference: paired across sessions by the caller
            rows = []
        return conv, rows

    return convert


def export_rows(store: Any, options: ExportOptions, view: str, stats: ExportStats
                ) -> Iterator[dict[str, Any]]:
    """Every output row, streamed; `stats` is filled in as rows go by."""
    from sml_cli.prompts import Prompts

    prompts = Prompts()
    convert = _rows_per_session(options, view, prompts)
    read = {"student_rows": view == "student" and options.fmt != "raw",
            "lean": options.fmt != "raw"}
    if options.fmt != "preference":
        for data in iter_sessions(store, options, **read):
            conv, rows = convert(data)
            if conv is None:
                _skipped(stats, view)
                continue
            if options.weights and not any(m.get("weight") for row in rows
                                           for m in row["messages"]):
                # Every student message a wrong attempt: weight 0 throughout, a row that
                # trains nothing and costs its tokens all the same.
                stats.left_out["untrained"] = stats.left_out.get("untrained", 0) + 1
                continue
            _count(stats, conv, rows)
            yield from rows
        return
    group: list[Conversation] = []
    for data in iter_sessions(store, options, by_problem=True, **read):
        if group and group[0].data.info.problem_key != data.info.problem_key:
            yield from _pair_group(group, stats)
            group = []
        conv, _ = convert(data)
        if conv is None:
            _skipped(stats, view)
            continue
        group.append(conv)
    if group:
        yield from _pair_group(group, stats)


def _skipped(stats: ExportStats, view: str) -> None:
    reason = "no_teacher" if view == "teacher" else "no_student"
    stats.left_out[reason] = stats.left_out.get(reason, 0) + 1


def _pair_group(group: list[Conversation], stats: ExportStats) -> Iterator[dict[str, Any]]:
    pairs = list(_preference_pairs(group))
    # In the stats a pair counts for the condition and model of its chosen session.
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row, conv in pairs:
        by_session[conv.data.info.id].append(row)
    for conv in group:
        _count(stats, conv, by_session.get(conv.data.info.id, []))
    for row, _ in pairs:
        yield row


def _left_out(store: Any, options: ExportOptions) -> dict[str, int]:
    """Sessions the filters would otherwise match that are left out, and why."""
    clauses, params = _chosen(options)
    if options.only_solved:
        clauses.append("s.solved = 1")
    where = " AND ".join(clauses) or "1 = 1"
    out: dict[str, int] = {}
    row = store.conn.execute(
        f"SELECT SUM(s.status != 'done'), SUM(s.status = 'done' AND COALESCE(s.leaks, 0) > 0) "
        f"FROM sessions s WHERE {where}", params).fetchone()
    out["not_done"] = row[0] or 0
    if not options.include_leaked:
        out["leaked"] = row[1] or 0
    return out


def why_no_rows(store: Any, options: ExportOptions, stats: ExportStats) -> str:
    """Why an export gave no row: the filters chose no session together, or every chosen
    session was left out (and for what), or the sessions left in give no rows of this format
    (preference pairs need both outcomes on one problem)."""
    clauses, params = _chosen(options)
    chosen = store.conn.execute(
        f"SELECT count(*) FROM sessions s WHERE {' AND '.join(clauses) or '1 = 1'}",
        params).fetchone()[0]
    if not chosen:
        return ("no session has all of the --condition/--run-id/--student-model values given"
                if clauses else "the database has no sessions")
    left = dict(stats.left_out)
    used = stats.total.sessions
    if not used:
        if options.only_solved:  # (counted among all sessions chosen, solved or not)
            left = {**left, **_left_out(store, replace(options, only_solved=False))}
        def n(key: str, one: str, many: str) -> str:
            return f"{left[key]:,} {one if left[key] == 1 else many}"

        reasons = []
        if left.get("not_done"):
            reasons.append(n("not_done", "is not finished", "are not finished"))
        if left.get("leaked"):
            reasons.append(n("leaked", "has", "have") + " a flagged leak (--include-leaked "
                           "keeps them)")
        if left.get("no_teacher"):
            reasons.append(n("no_teacher", "has", "have") + " no teacher (binary, none), so "
                           "no teacher view")
        if left.get("no_student"):
            reasons.append(n("no_student", "has", "have") + " no student message")
        if left.get("untrained"):
            reasons.append(n("untrained", "has", "have") + " only wrong attempts, weight 0 "
                           "throughout (--weights)")
        left["unsolved"] = chosen - sum(left.get(k, 0) for k in (
            "not_done", "leaked", "no_teacher", "no_student", "untrained"))
        if options.only_solved and left["unsolved"] > 0:
            reasons.append(("the other " if reasons else "")
                           + n("unsolved", "is not solved", "are not solved")
                           + " (--only-solved)")
        return f"of the {chosen:,} sessions chosen, " + "; ".join(
            reasons or ["none is exportable"])
    if options.fmt == "preference":
        side = resolve_view(options)  # (the teacher view pairs the teacher's replies)
        return (f"the {used:,} sessions give no pair: no problem has both a solved and an "
                f"unsolved session whose {side} replies differ after the same conversation "
                "(pairs need both outcomes on one problem: several --samples or conditions)")
    return f"the {used:,} sessions give no {options.fmt} rows"


def run(options: ExportOptions, *, stdout: IO[str] | None = None) -> ExportResult:
    """`sml export`: validate, then stream rows to stdout or a file (or only count them).

    An export that gives no row writes nothing, not an empty file (an empty training file is
    easy to mistake for a result), and says why; it is still a valid outcome (exit 0)."""
    view, target = validate(options)
    with _open_store(options.db) as store:
        options = replace(options, run_ids=[store.resolve_run_id(r, "--run-id")
                                            for r in options.run_ids])
        store.check_filters({"condition": options.conditions, "run_id": options.run_ids,
                             "student_model": options.student_models})
        stats = ExportStats(options.fmt, view)
        if options.stats:
            for _ in export_rows(store, options, view, stats):
                pass
            stats.left_out.update(_left_out(store, options))
            from sml_cli import console_views

            console_views.print_export_stats(stats, options)
            total = stats.total
            return ExportResult(total.rows, total.sessions, stats, target)
        # Opened at the first row, so that an export with none creates no file or folder.
        writer: _Writer | None = None
        try:
            for row in export_rows(store, options, view, stats):
                if writer is None:
                    writer = _writer(target, options, stdout)
                writer.write(row)
            if writer is not None:
                writer.close()
        except BrokenPipeError:  # `sml export | head`: the reader has seen enough
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return ExportResult(writer.rows if writer else 0, stats.total.sessions, stats,
                                target)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        stats.left_out.update(_left_out(store, options))
        if writer is None:
            from sml_cli import console_views

            console_views.print_export_empty(why_no_rows(store, options, stats), target.path)
            return ExportResult(0, stats.total.sessions, stats, target)
    if target.path is not None:
        from sml_cli import console_views

        console_views.print_export_done(stats, options, target.path, writer.rows)
    return ExportResult(writer.rows, stats.total.sessions, stats, target)
