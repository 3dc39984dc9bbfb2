"""`sml eval`: problems × conditions × samples, run concurrently, resumable, scored (SPEC §4, §7).

A run is a set of *cells* (problem, condition, sample); each cell is one session. The run's
options are stored with it; re-running with the same `--run-id` skips finished cells and
continues cut-off ones from their stored turns, and refuses different options.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sml_cli.cells import clipped_at_word
from sml_cli.engine import Session, check_prompts
from sml_cli.errors import UsageError
from sml_cli.mapping import FieldMap, field_flags
from sml_cli.metrics import elapsed_seconds, summarize
from sml_cli.models import (
    ModelSettings,
    close_http_sessions,
    endpoint_from_variables,
    make_model,
    validate_endpoint_variables,
    validate_model_name,
    without_credentials,
)
from sml_cli.outputs import check_writable
from sml_cli.participants import Message, Participant
from sml_cli.problems import Problem, load_problems
from sml_cli.prompts import TEMPLATES, Prompts
from sml_cli.ratelimit import rate_limit_reports
from sml_cli.records import (
    CONDITIONS,
    GUARD_POLICIES,
    TEACHER_PROMPT,
    TEACHERLESS_CONDITIONS,
    SessionInfo,
    Turn,
    new_run_id,
    new_session_id,
    now,
)
from sml_cli.store import BackgroundWriter, Store, run_taken_error
from sml_cli.views import student_view

# Options that define what a run measures. Changing any of them under the same --run-id would
# mix incomparable sessions, so a resume with a different value is refused.
IDENTITY_KEYS = (
    "student", "teacher", "conditions", "problems", "problem_keys", "max_turns", "samples",
    "guard", "seed", "student_temperature", "teacher_temperature", "student_max_tokens",
    "teacher_max_tokens", "prompts_sha",
)
FLAG_NAMES = {
    "student": "--student", "teacher": "--teacher", "conditions": "--conditions",
    "problems": "--problems", "problem_keys": "--problems/--limit/--shuffle (the problem list)",
    "max_turns": "--max-turns", "samples": "--samples", "guard": "--guard", "seed": "--seed",
    "student_temperature": "--student-temperature", "teacher_temperature": "--teacher-temperature",
    "student_max_tokens": "--student-max-tokens", "teacher_max_tokens": "--teacher-max-tokens",
    "prompts_sha": "the prompt templates (--prompts)",
}


@dataclass
class EvalOptions:
    student: str = "local"
    teacher: str | None = None  # default: the student model
    problems: str = "arithmetic"
    fields: FieldMap = field(default_factory=FieldMap)
    limit: int | None = None
    shuffle: bool = False  # a seeded random order (then --limit takes a random subset)
    conditions: list[str] = field(default_factory=lambda: ["answer"])
    max_turns: int = 6
    samples: int = 1
    concurrency: int = 8
    seed: int = 0
    guard: str = "redact"
    run_id: str | None = None
    db: str | None = None
    json_path: str | None = None
    prompts_dir: str | None = None
    student_settings: ModelSettings = field(default_factory=ModelSettings)
    teacher_settings: ModelSettings = field(default_factory=ModelSettings)

    def __post_init__(self) -> None:
        if self.teacher is None:
            # The student's model in both roles is one model at one place: the teacher's
            # requests go to the student's API base, with its key, unless told otherwise
            # (they went to the provider's own address, or OPENAI_API_BASE's).
            s, t = self.student_settings, self.teacher_settings
            self.teacher_settings = replace(t, api_base=t.api_base or s.api_base,
                                            api_key=t.api_key or s.api_key)


def parse_conditions(raw: str) -> list[str]:
    names = [c.strip() for c in raw.split(",") if c.strip()]
    if names == ["all"]:
        return list(CONDITIONS)
    if not names:
        raise UsageError("--conditions: give at least one of " + ", ".join(CONDITIONS))
    for name in names:
        if name not in CONDITIONS:
            raise UsageError(
                f"--conditions: unknown condition {name!r}; choose from {', '.join(CONDITIONS)}"
            )
    if len(set(names)) != len(names):
        raise UsageError(f"--conditions {raw!r}: a condition is listed twice")
    return names


def validate(options: EvalOptions) -> None:
    if options.max_turns < 1:
        raise UsageError(f"--max-turns {options.max_turns}: must be at least 1")
    if options.samples < 1:
        raise UsageError(f"--samples {options.samples}: must be at least 1")
    if options.concurrency < 1:
        raise UsageError(f"--concurrency {options.concurrency}: must be at least 1")
    if options.limit is not None and options.limit < 1:
        raise UsageError(f"--limit {options.limit}: must be at least 1")
    if options.guard not in GUARD_POLICIES:
        raise UsageError(f"--guard {options.guard!r}: choose from {', '.join(GUARD_POLICIES)}")
    # (options built in code, not parsed from the flag, get the flag's checks)
    parse_conditions(",".join(options.conditions))
    validate_model_name(options.student, "--student")
    if options.teacher is not None:
        validate_model_name(options.teacher, "--teacher")
    validate_endpoint_variables(options.student, options.student_settings)
    validate_endpoint_variables(teacher_model(options), options.teacher_settings)
    if options.json_path:
        check_writable(options.json_path, "--json")


def _chosen(options: EvalOptions) -> list[Problem]:
    """The problems a run uses: the file's, in its order or shuffled by --seed, then the
    first --limit of them (so --shuffle --limit 100 is a seeded random subset)."""
    problems = load_problems(options.problems, options.fields)
    if options.shuffle:
        random.Random(options.seed).shuffle(problems)
    return problems[: options.limit] if options.limit else problems


def prompts_fingerprint(prompts: Prompts) -> str:
    digest = hashlib.sha256()
    for name in TEMPLATES:
        digest.update(name.encode() + b"\0" + prompts.source(name).encode() + b"\0")
    return digest.hexdigest()[:16]


def teacher_model(options: EvalOptions) -> str | None:
    """The teacher a run uses: --teacher (else the student's model), if a condition has one."""
    needs_teacher = any(c not in TEACHERLESS_CONDITIONS for c in options.conditions)
    return (options.teacher or options.student) if needs_teacher else None


def run_config(options: EvalOptions, problems: list[Problem], prompts: Prompts) -> dict[str, Any]:
    return {
        "student": options.student,
        "teacher": teacher_model(options),
        "conditions": options.conditions,
        "problems": options.problems,
        # How the file was read (columns, rows kept): the flags that reproduce the problem list.
        "mapping": field_flags(options.fields),
        "problem_keys": hashlib.sha256(
            "\n".join(p.key for p in problems).encode()
        ).hexdigest()[:16],
        "n_problems": len(problems),
        "limit": options.limit,
        "shuffle": options.shuffle,
        "max_turns": options.max_turns,
        "samples": options.samples,
        "guard": options.guard,
        "seed": options.seed,
        "student_temperature": options.student_settings.temperature,
        "teacher_temperature": options.teacher_settings.temperature,
        "student_max_tokens": options.student_settings.max_tokens,
        "teacher_max_tokens": options.teacher_settings.max_tokens,
        # (given by a flag or by a variable such as OPENAI_API_BASE: where the requests went)
        "student_api_base": without_credentials(
            options.student_settings.api_base
            or endpoint_from_variables(options.student, options.student_settings)),
        "teacher_api_base": without_credentials(
            options.teacher_settings.api_base
            or endpoint_from_variables(teacher_model(options), options.teacher_settings)),
        "prompts_sha": prompts_fingerprint(prompts),
        "concurrency": options.concurrency,
    }


def config_differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    return [
        f"{FLAG_NAMES[k]}: "
        + (_problem_list_difference(stored, current) if k == "problem_keys"
           else f"run has {stored.get(k)!r}, this command has {current.get(k)!r}")
        for k in IDENTITY_KEYS
        if stored.get(k) != current.get(k)
    ]


def _problem_list_difference(stored: dict[str, Any], current: dict[str, Any]) -> str:
    """The problem lists differ (their hashes do, which is the test); a hash means nothing
    to a person, so say it with the counts."""
    had, has = stored.get("n_problems"), current.get("n_problems")
    if had is None:  # (recorded since n_problems was added to the config)
        return f"the run's problems are not the {has} this command selects"
    if had != has:
        return f"the run has {had} problems, this command selects {has}"
    return (f"the run has {had} problems and this command selects {has}, but other ones "
            "or in another order")


def _distinct(problems: list[Problem]) -> tuple[list[Problem], list[tuple[str, str]]]:
    """Problems with identical content are one problem (one database row, one cell per
    condition and sample): keep the first, report the others as (dropped id, kept id)."""
    kept: dict[str, Problem] = {}
    dropped: list[tuple[str, str]] = []
    for p in problems:
        if p.key in kept:
            dropped.append((p.id, kept[p.key].id))
        else:
            kept[p.key] = p
    return list(kept.values()), dropped


def cell_seed(seed: int, problem: Problem, condition: str, sample: int) -> int:
    digest = hashlib.sha256(f"{seed}:{problem.key}:{condition}:{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class Cell:
    problem: Problem
    condition: str
    sample: int
    existing: SessionInfo | None = None


@dataclass
class EvalResult:
    run_id: str
    elapsed_s: float
    config: dict[str, Any]
    summary: dict[str, Any]
    resumed: int = 0
    skipped: int = 0
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "elapsed_s": round(self.elapsed_s, 3),
                "config": self.config, **self.summary}


ProgressHook = Callable[[SessionInfo], None]


@dataclass
class EvalPreview:
    """What `sml eval --dry-run` shows before any model call: the plan, and how the first
    problem's sessions open — the student's first request exactly as its model would be
    sent it, and each teacher's prompt with what its condition grants."""

    problems: list[Problem]
    duplicates: list[tuple[str, str]]
    options: EvalOptions
    teacher: str | None
    student_request: list[Message]
    teacher_prompts: dict[str, str]  # condition → the teacher's system prompt (private)
    warnings: list[str] = field(default_factory=list)

    @property
    def sessions(self) -> int:
        return len(self.problems) * len(self.options.conditions) * self.options.samples


def check_models(options: EvalOptions) -> list[str]:
    """The hosted models' names and credentials, as a run checks them before its first
    session: exit 2 for a model every call of which would fail (a name no provider claims,
    an OpenAI model with no key and no endpoint); warnings (returned) for other providers'
    unset key variables. Embedded models and plain-HTTP endpoints need no check here."""
    from sml_cli.models import _import_litellm, check_credentials, direct_endpoint, is_embedded

    warnings: list[str] = []
    roles = [(options.student, options.student_settings, "--student")]
    teacher = teacher_model(options)
    if teacher is not None:
        roles.append((teacher, options.teacher_settings, "--teacher"))
    for model, settings, flag in roles:
        if not is_embedded(model) and direct_endpoint(model, settings) is None:
            _import_litellm()
            warnings += check_credentials(model, settings, flag)
    return warnings


def preview(options: EvalOptions) -> EvalPreview:
    """Validate and load as a run would, check the models' names and credentials, then build
    the openings; calls no model and touches no database."""
    validate(options)
    model_warnings = check_models(options)
    prompts = Prompts(options.prompts_dir)
    problems, duplicates = _distinct(_chosen(options))
    openings = check_prompts(problems[0], options.conditions, options.max_turns,
                             options.guard, prompts)
    public = [Turn(session_id="preview", seq=i, turn=0, role=role, visibility=visibility,
                   kind=kind, content=content)
              for i, (role, visibility, kind, content) in enumerate(
                  openings[options.conditions[0]])]
    return EvalPreview(
        problems, duplicates, options, teacher_model(options), student_view(public),
        {c: content for c, rows in openings.items()
         for _, _, kind, content in rows if kind == TEACHER_PROMPT},
        prompts.warnings() + model_warnings)


class EvalRun:
    """Prepared run: everything validated and loaded, nothing executed yet."""

    def __init__(self, options: EvalOptions) -> None:
        validate(options)
        self.options = options
        self.prompts = Prompts(options.prompts_dir)
        # Load (and fully validate) the problems before touching the database.
        self.problems, self.duplicates = _distinct(_chosen(options))
        check_prompts(self.problems[0], options.conditions, options.max_turns, options.guard,
                      self.prompts)
        self.warnings = self.prompts.warnings()
        self.run_id = options.run_id or new_run_id("run")
        self.config = run_config(options, self.problems, self.prompts)
        self.store = Store(options.db)
        with self.store.closed_on_error():
            stored = self._stored_run()
            self.cells, self.skipped = self._plan()
        self.resuming = stored is not None
        self.stopped_by: str | None = None  # why the run stopped early, if it did
        self.rate_limit_notes: list[str] = []  # how the APIs' rate limits paced the run

    def _stored_run(self) -> dict[str, Any] | None:
        """The run stored under this run id, if any: refused unless this command would
        resume it (the same kind, the same options)."""
        stored = self.store.run(self.run_id)
        if stored is not None:
            if stored["kind"] != "eval":
                raise UsageError(
                    f"--run-id {self.run_id}: that id belongs to a {stored['kind']} run"
                )
            busy = self.store.running_elsewhere(self.run_id)
            if busy is not None:
                raise run_taken_error(self.run_id, busy)
            diffs = config_differences(stored["config"], self.config)
            if diffs:
                raise UsageError(
                    f"--run-id {self.run_id} exists with different options; refusing to mix "
                    "them (use a new --run-id):\n  " + "\n  ".join(diffs)
                )
        return stored

    def _plan(self) -> tuple[list[Cell], int]:
        existing = {
            (s.problem_key, s.condition, s.sample): s
            for s in self.store.sessions("run_id = ?", [self.run_id])
        }
        cells, skipped = [], 0
        for problem in self.problems:
            for condition in self.options.conditions:
                for sample in range(self.options.samples):
                    found = existing.get((problem.key, condition, sample))
                    if found is not None and found.status == "done":
                        skipped += 1
                        continue
                    cells.append(Cell(problem, condition, sample, found))
        return cells, skipped

    @property
    def total(self) -> int:
        return len(self.problems) * len(self.options.conditions) * self.options.samples

    def prepare_models(self) -> list[str]:
        """Import litellm and load embedded models before the clock starts (SPEC §4); check
        that hosted models have credentials. Returns warnings to show."""
        from sml_cli.models import is_embedded

        warnings = check_models(self.options)
        for model, settings in self._roles():
            if is_embedded(model):
                make_model(model, settings, load_now=True)  # (its errors before any session)
        return warnings

    def error_digest(self) -> list[tuple[str, int]]:
        """The distinct errors of this run's failed sessions, most frequent first."""
        return Counter(
            (info.error or "unknown error").strip()
            for info in self.store.sessions("run_id = ? AND status = 'error'", [self.run_id])
        ).most_common()

    def all_failed(self) -> int:
        """How many sessions the run has if every one of them ended in error, else 0. Such a
        run measured nothing (a wrong model name, an endpoint refusing every request), so it
        is a failure, not a result whose summary counts some errors."""
        counts = self.store.status_counts(self.run_id)
        errors = counts.get("error", 0)
        return errors if errors and errors == sum(counts.values()) else 0

    def _roles(self) -> list[tuple[str, ModelSettings]]:
        roles = [(self.options.student, self.options.student_settings)]
        if self.config["teacher"]:
            roles.append((self.config["teacher"], self.options.teacher_settings))
        return roles

    def _participants(self, cell: Cell) -> tuple[Participant, Participant | None]:
        seed = cell_seed(self.options.seed, cell.problem, cell.condition, cell.sample)
        student = make_model(self.options.student,
                             replace(self.options.student_settings, seed=seed, role="student"))
        teacher = None
        if cell.condition not in TEACHERLESS_CONDITIONS:
            teacher = make_model(self.config["teacher"],
                                 replace(self.options.teacher_settings, seed=seed,
                                         role="teacher"))
        return student, teacher

    async def execute(self, on_session: ProgressHook | None = None) -> tuple[float, bool]:
        """Run every pending cell; returns (elapsed seconds, interrupted?)."""
        store = self.store
        # (checked again as it is claimed: another process may have taken it since)
        store.claim_run(self.run_id, "eval", self.config, new=not self.resuming)
        store.save_problems(self.problems)
        writer = BackgroundWriter(store.path)
        queue: asyncio.Queue[Cell] = asyncio.Queue()
        for cell in self.cells:
            queue.put_nowait(cell)
        first_start: list[float] = []
        last_end = [0.0]
        reached = [False]  # has any session of this run finished talking to its models?
        unreachable: list[str] = []

        async def run_cell(cell: Cell) -> None:
            student, teacher = self._participants(cell)
            if cell.existing is not None:
                info = cell.existing
                turns = store.turns(info.id)
                # (its time runs from here again: `created` is the first invocation's, and
                # the hours between the invocations are no running time; see elapsed_seconds)
                info.meta = {**info.meta, "resumed": now()}
                info.status, info.error = "running", None
                writer.update_session(info.id, {"status": "running", "error": None,
                                                "meta": info.to_row()["meta"]})
            else:
                info = SessionInfo(
                    id=new_session_id(), run_id=self.run_id, problem_key=cell.problem.key,
                    problem_id=cell.problem.id, condition=cell.condition, sample=cell.sample,
                    student_model=self.options.student,
                    teacher_model=self.config["teacher"] if teacher is not None else None,
                    max_turns=self.options.max_turns, guard=self.options.guard, origin="eval",
                )
                writer.create_session(info)
                turns = []
            session = Session(info, cell.problem, student, teacher, self.prompts, writer,
                              turns=turns)
            await session.run()
            if on_session is not None:
                on_session(session.info)
            failure = session.failure
            if failure is not None and failure.fatal:
                raise _RunStopped("every session would fail like this one (a rejected key or "
                                  "an unknown model is not retried)", str(failure))
            if session.info.status == "done":
                reached[0] = True
            elif failure is not None and failure.unreachable and not reached[0]:
                unreachable.append(str(failure))
                if len(unreachable) >= UNREACHABLE_STOP:
                    raise _RunStopped(
                        f"{len(unreachable)} sessions could not connect and none has (is the "
                        "server running, and is the API base right?)", unreachable[0])

        async def worker() -> None:
            while True:
                try:
                    cell = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if not first_start:
                    first_start.append(time.perf_counter())
                await run_cell(cell)
                last_end[0] = time.perf_counter()

        interrupted = False
        workers = [asyncio.create_task(worker())
                   for _ in range(min(self.options.concurrency, max(1, len(self.cells))))]
        try:
            await asyncio.gather(*workers)
        except asyncio.CancelledError:
            interrupted = True
        except _RunStopped as stop:
            # Sessions in flight stay `running`, the failed one `error`: after the fix
            # (a key, a model name), a resume retries them with the rest.
            interrupted = True
            self.stopped_by = f"{stop.why}:\n  {clipped_at_word(stop.error, 700)}"
        finally:
            # On Ctrl-C, and on a failure that escapes a session (the database went away),
            # stop every other session too: they stay `running` and a resume continues them.
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await asyncio.to_thread(writer.close)
            self.rate_limit_notes = rate_limit_reports()
            await close_http_sessions()
        store.finish_run(self.run_id, "interrupted" if interrupted else "done")
        elapsed = (last_end[0] - first_start[0]) if first_start and last_end[0] else 0.0
        return elapsed, interrupted

    def result(self, interrupted: bool = False) -> EvalResult:
        sessions = list(self.store.sessions("run_id = ?", [self.run_id]))
        summary = summarize(sessions, self.options.max_turns, seed=self.options.seed)
        # (from the stored sessions, as `sml report` reads it: a resumed run's whole time)
        return EvalResult(self.run_id, elapsed_seconds(sessions), self.config, summary,
                          resumed=sum(1 for c in self.cells if c.existing),
                          skipped=self.skipped, interrupted=interrupted)


# Sessions that must fail to connect, with none getting through, before a run stops: a
# server that is down would otherwise fail every session after its full retries.
UNREACHABLE_STOP = 3


class _RunStopped(Exception):
    """A session failed in a way that every session of the run would."""

    def __init__(self, why: str, error: str) -> None:
        super().__init__(f"{why}: {error}")
        self.why, self.error = why, error
