"""Scores (SPEC §4), computed from stored turns only.

Evals, human chats and imported transcripts all become turns, so one function scores them
all and their numbers are comparable.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sml_cli.records import ASKED, ATTEMPT, CONDITIONS, HUMAN, VERDICT, SessionInfo, Turn


@dataclass(frozen=True)
class SessionScores:
    # None (with `leaks`) for a dialogue with no reference answer: not solved, not failed.
    solved: bool | None
    solved_at_turn: int | None
    first_attempt_correct: bool | None
    attempts: int
    questions: int
    student_turns: int
    leaks: int | None
    # None: the role's model replied, but its server reported no token counts for any reply.
    student_tokens: int | None
    teacher_tokens: int | None
    cost_usd: float | None

    def apply_to(self, info: SessionInfo) -> None:
        """Copy the scores onto the session they belong to."""
        for key in self.__dataclass_fields__:
            setattr(info, key, getattr(self, key))

    def as_fields(self) -> dict[str, Any]:
        return {
            "solved": _flag(self.solved), "solved_at_turn": self.solved_at_turn,
            "first_attempt_correct": _flag(self.first_attempt_correct),
            "attempts": self.attempts, "questions": self.questions,
            "student_turns": self.student_turns, "leaks": self.leaks,
            "student_tokens": self.student_tokens, "teacher_tokens": self.teacher_tokens,
            "cost_usd": self.cost_usd,
        }


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def session_scores(turns: Sequence[Turn], *, answered: bool = True) -> SessionScores:
    """A session's scores. `answered=False`: its problem has no reference answer (an
    imported dialogue), so whether it was solved, and whether the teacher told the answer,
    are unknown (None); its turns, attempts and questions still count."""
    student = [t for t in turns if t.role == "student"]
    verdicts = [t for t in turns if t.kind == VERDICT]
    correct_turns = [t.turn for t in verdicts if t.correct]
    costs = [t.cost_usd for t in turns if t.cost_usd is not None]

    def tokens(role: str) -> int | None:
        """The role's tokens, over the replies whose server counted them (a person's turns
        take none); None if its model replied and no reply was counted."""
        mine = [t for t in turns if t.role == role]
        counted = [t for t in mine if t.prompt_tokens is not None
                   or t.completion_tokens is not None]
        if not counted and any(t.model not in (None, HUMAN) for t in mine):
            return None
        return sum((t.prompt_tokens or 0) + (t.completion_tokens or 0) for t in counted)

    return SessionScores(
        solved=bool(correct_turns) if answered else None,
        solved_at_turn=min(correct_turns) if correct_turns else None,
        first_attempt_correct=bool(verdicts and verdicts[0].correct) if answered else None,
        attempts=sum(1 for t in student if t.kind == ATTEMPT),
        questions=sum(1 for t in student if t.kind == ASKED),
        student_turns=len(student),
        leaks=sum(1 for t in turns if t.role == "teacher" and t.leak) if answered else None,
        student_tokens=tokens("student"),
        teacher_tokens=tokens("teacher"),
        cost_usd=sum(costs) if costs else None,
    )


# ----------------------------------------------------------------------------- aggregates


def elapsed_seconds(sessions: Iterable[SessionInfo]) -> float:
    """A run's wall time (SPEC §4: from the first session's start to the last one's end),
    counted while a session was running: a run resumed after a stop is the time its
    invocations ran, not the hours it stood between them, and the same number whichever
    command reads it (`eval --json`, `report --json`). Sessions that never ended (those a
    killed process had in flight) are not counted, and one that a resume took up and
    finished counts from the resume on (meta `resumed`); nor are the milliseconds between
    one session's end and the next one's start when nothing else runs (`--concurrency 1`)."""
    spans = sorted((_running_since(s), datetime.fromisoformat(s.finished))
                   for s in sessions if s.created and s.finished)
    total, covered_until = 0.0, None
    for begun, ended in spans:  # (by start: each adds what it runs past those before it)
        if covered_until is not None:
            begun = max(begun, covered_until)
            covered_until = max(covered_until, ended)
        else:
            covered_until = ended
        total += max(0.0, (ended - begun).total_seconds())
    return round(total, 3)


def _running_since(session: SessionInfo) -> datetime:
    """When a session's last stretch began: its creation, or the resume that took it up."""
    assert session.created is not None
    since = datetime.fromisoformat(session.created)
    resumed = session.meta.get("resumed") if isinstance(session.meta, dict) else None
    if isinstance(resumed, str):
        with contextlib.suppress(ValueError, TypeError):
            since = max(since, datetime.fromisoformat(resumed))
    return since


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> list[float] | None:
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return [round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def condition_scores(sessions: Sequence[SessionInfo], max_turns: int) -> dict[str, Any]:
    done = [s for s in sessions if s.status == "done"]
    # Success and telling are rated over the sessions that could be scored: a dialogue with
    # no reference answer (solved None) has turns and questions, but no outcome.
    scored = [s for s in done if s.solved is not None]
    solved = [s for s in scored if s.solved]
    not_first = [s for s in scored if not s.first_attempt_correct]
    student_turns = sum(s.student_turns or 0 for s in done)
    costs = [s.cost_usd for s in sessions if s.cost_usd is not None]
    return {
        "n_sessions": len(sessions),
        "n_errors": sum(1 for s in sessions if s.status == "error"),
        "success_rate": _mean([1.0 if s.solved else 0.0 for s in scored]),
        "success_rate_ci95": wilson_interval(len(solved), len(scored)),
        "success_at_turn": [
            (sum(1 for s in solved if (s.solved_at_turn or 0) <= k) / len(scored))
            if scored else None
            for k in range(1, max_turns + 1)
        ],
        "first_attempt_success_rate": _mean(
            [1.0 if s.first_attempt_correct else 0.0 for s in scored]
        ),
        "recovery_rate": _mean([1.0 if s.solved else 0.0 for s in not_first]),
        "mean_turns_to_solve": _mean([float(s.solved_at_turn or 0) for s in solved]),
        "question_rate": (sum(s.questions or 0 for s in done) / student_turns)
        if student_turns else None,
        "leak_rate": _mean([1.0 if (s.leaks or 0) > 0 else 0.0 for s in scored]),
        "student_tokens": sum(s.student_tokens or 0 for s in sessions),
        "teacher_tokens": sum(s.teacher_tokens or 0 for s in sessions),
        "cost_usd": sum(costs) if costs else None,
    }


def ordered_conditions(names: Iterable[str]) -> list[str]:
    """Canonical order (answer, verifier, symmetric, binary, none), then any others by name."""
    names = set(names)
    known = [c for c in CONDITIONS if c in names]
    return known + sorted(names - set(known))


def _solved_by_problem(sessions: Iterable[SessionInfo]) -> dict[str, dict[str, list[float]]]:
    """condition → problem → 1.0/0.0 per finished session (several with --samples)."""
    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in sessions:
        if s.status == "done" and s.solved is not None:
            per[s.condition][s.problem_key].append(1.0 if s.solved else 0.0)
    return per


def _paired_bootstrap(a: dict[str, list[float]], b: dict[str, list[float]], *, resamples: int,
                      label: str) -> dict[str, Any] | None:
    """Mean difference a − b in success over the problems both have (samples averaged per
    problem), with a 95% interval from resampling those problems; None if they share none."""
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    diffs = [_mean(a[p]) - _mean(b[p]) for p in shared]  # type: ignore[operator]
    rng = random.Random(label)
    n = len(diffs)
    boots = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(resamples))
    # Exactly the SPEC §4 fields: the JSON is a contract, consumers check it key by key.
    return {"delta": sum(diffs) / n,
            "ci95": [boots[int(0.025 * resamples)], boots[int(0.975 * resamples) - 1]]}


def paired_deltas(
    sessions: Sequence[SessionInfo], *, resamples: int = 2000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Success-rate differences between conditions on the same problems, with a 95% paired
    bootstrap interval (problems resampled with replacement; samples averaged per problem)."""
    per = _solved_by_problem(sessions)
    conditions = ordered_conditions(per)
    deltas: dict[str, dict[str, Any]] = {}
    for i, a in enumerate(conditions):
        for b in conditions[i + 1 :]:
            delta = _paired_bootstrap(per[a], per[b], resamples=resamples,
                                      label=f"{seed}:{a}-{b}")
            if delta is not None:
                deltas[f"{a}-{b}"] = delta
    return deltas


def run_deltas(
    runs: dict[str, Sequence[SessionInfo]], *, resamples: int = 2000, seed: int = 0
) -> dict[str, dict[str, dict[str, Any]]]:
    """Between runs (a base and a trained student, say): per condition, the success-rate
    difference of each pair of runs on the problems both ran, paired by problem as
    `paired_deltas` pairs conditions. {condition: {"RUN_A vs RUN_B": {delta, ci95,
    n_problems, better_in_a, better_in_b}}}: the last two name the problems (by id) that
    one run solved more often than the other, where a difference comes from."""
    per_run = {run: _solved_by_problem(sessions) for run, sessions in runs.items()}
    problem_ids = {s.problem_key: s.problem_id for sessions in runs.values() for s in sessions}
    ids = list(runs)
    conditions = ordered_conditions({c for per in per_run.values() for c in per})
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for condition in conditions:
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                mine, theirs = per_run[a].get(condition, {}), per_run[b].get(condition, {})
                delta = _paired_bootstrap(mine, theirs, resamples=resamples,
                                          label=f"{seed}:{condition}:{a}-{b}")
                if delta is not None:
                    shared = sorted(set(mine) & set(theirs), key=lambda k: problem_ids[k])
                    delta["n_problems"] = len(shared)
                    delta["better_in_a"] = [problem_ids[k] for k in shared
                                            if _mean(mine[k]) > _mean(theirs[k])]  # type: ignore[operator]
                    delta["better_in_b"] = [problem_ids[k] for k in shared
                                            if _mean(mine[k]) < _mean(theirs[k])]  # type: ignore[operator]
                    out.setdefault(condition, {})[f"{a} vs {b}"] = delta
    return out


def summarize(
    sessions: Sequence[SessionInfo], max_turns: int, *, seed: int = 0
) -> dict[str, Any]:
    """`conditions` and `deltas` of the SPEC §4 JSON."""
    by_condition: dict[str, list[SessionInfo]] = defaultdict(list)
    for s in sessions:
        by_condition[s.condition].append(s)
    return {
        "conditions": {
            c: condition_scores(by_condition[c], max_turns)
            for c in ordered_conditions(by_condition)
        },
        "deltas": paired_deltas(sessions, seed=seed),
    }
