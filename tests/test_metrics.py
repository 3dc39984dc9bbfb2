"""Scores (SPEC §4) on hand-built transcripts and hand-built session lists."""

from __future__ import annotations

import math

import pytest
from engine_fixtures import CONDITION_KEYS, DELTA_KEYS

from sml_cli.metrics import (
    condition_scores,
    ordered_conditions,
    paired_deltas,
    session_scores,
    summarize,
    wilson_interval,
)
from sml_cli.records import (
    ASKED,
    ATTEMPT,
    DRAFT,
    FEEDBACK,
    MESSAGE,
    QUESTION,
    STUDENT_PROMPT,
    TEACHER_PROMPT,
    VERDICT,
    SessionInfo,
    Turn,
)


class T:
    """Builds a transcript row by row, numbering seq."""

    def __init__(self) -> None:
        self.rows: list[Turn] = []
        self.add("system", "public", STUDENT_PROMPT, "sys", 0)
        self.add("system", "public", QUESTION, "q", 0)
        self.add("system", "teacher", TEACHER_PROMPT, "teacher sys", 0)

    def add(self, role: str, visibility: str, kind: str, content: str, turn: int,
            **extra: object) -> T:
        self.rows.append(Turn("s", len(self.rows), turn, role, visibility, kind, content,
                              **extra))  # type: ignore[arg-type]
        return self

    def attempt(self, k: int, value: str, correct: bool, tokens: int = 0) -> T:
        self.add("student", "public", ATTEMPT, f"Final answer: {value}", k, attempt=value,
                 prompt_tokens=tokens, completion_tokens=1)
        return self.add("verifier", "teacher", VERDICT, "correct" if correct else "incorrect",
                        k, attempt=value, correct=correct)

    def ask(self, k: int) -> T:
        return self.add("student", "public", ASKED, "Is it even?", k)

    def say(self, k: int) -> T:
        return self.add("student", "public", MESSAGE, "Let me think.", k)

    def teach(self, k: int, *, leak: bool = False, tokens: int = 0, cost: float | None = None
              ) -> T:
        if leak:
            self.add("teacher", "teacher", DRAFT, "It is 42.", k, leak=True,
                     guard_action="redact", prompt_tokens=tokens, completion_tokens=3,
                     cost_usd=cost)
            return self.add("teacher", "public", MESSAGE, "It is [redacted].", k,
                            guard_action="redact")
        return self.add("teacher", "public", MESSAGE, "Hint.", k, prompt_tokens=tokens,
                        completion_tokens=1, cost_usd=cost)


# ----------------------------------------------------------------------------- session_scores


def test_scores_of_a_session_solved_at_turn_3() -> None:
    rows = (T().ask(1).teach(1, tokens=10, cost=0.01).attempt(2, "40", False, tokens=5)
            .teach(2, leak=True, tokens=20, cost=0.02).attempt(3, "42", True, tokens=7)).rows
    s = session_scores(rows)
    assert s.solved and s.solved_at_turn == 3
    assert s.first_attempt_correct is False
    assert (s.attempts, s.questions, s.student_turns, s.leaks) == (2, 1, 3, 1)
    assert s.student_tokens == (5 + 1) + (7 + 1)  # the question row had no usage
    assert s.teacher_tokens == (10 + 1) + (20 + 3)  # the draft's call, not its redacted copy
    assert s.cost_usd == pytest.approx(0.03)


def test_scores_first_attempt_right() -> None:
    s = session_scores(T().attempt(1, "42", True).rows)
    assert (s.solved, s.solved_at_turn, s.first_attempt_correct, s.attempts) == (True, 1, True, 1)
    assert s.cost_usd is None


def test_scores_unsolved_without_attempts() -> None:
    rows = T().say(1).teach(1).ask(2).teach(2).say(3).rows
    s = session_scores(rows)
    assert (s.solved, s.solved_at_turn, s.first_attempt_correct) == (False, None, False)
    assert (s.attempts, s.questions, s.student_turns, s.leaks) == (0, 1, 3, 0)


def test_binary_feedback_rows_are_not_teacher_tokens_or_leaks() -> None:
    rows = T().attempt(1, "1", False).add("teacher", "public", FEEDBACK, "Incorrect.", 1).rows
    s = session_scores(rows)
    assert (s.teacher_tokens, s.leaks, s.student_turns) == (0, 0, 1)


def test_as_fields_are_database_values() -> None:
    fields = session_scores(T().attempt(1, "42", True).rows).as_fields()
    assert fields["solved"] == 1 and fields["first_attempt_correct"] == 1
    assert set(fields) == {"solved", "solved_at_turn", "first_attempt_correct", "attempts",
                           "questions", "student_turns", "leaks", "student_tokens",
                           "teacher_tokens", "cost_usd"}


# ----------------------------------------------------------------------------- aggregates


def info(i: int, *, condition: str = "answer", status: str = "done", solved: bool = False,
         at: int | None = None, first: bool = False, questions: int = 0, turns: int = 1,
         leaks: int = 0, problem: str | None = None, st: int = 0, tt: int = 0,
         cost: float | None = None) -> SessionInfo:
    return SessionInfo(
        id=f"{condition}-{i}", problem_key=problem or f"p{i}", problem_id=str(i),
        condition=condition, student_model="s", teacher_model="t", max_turns=4, status=status,
        solved=solved, solved_at_turn=at, first_attempt_correct=first, questions=questions,
        student_turns=turns, leaks=leaks, attempts=1, student_tokens=st, teacher_tokens=tt,
        cost_usd=cost,
    )


def sessions() -> list[SessionInfo]:
    return [
        info(1, solved=True, at=1, first=True, turns=1, st=10, tt=5),
        info(2, solved=True, at=2, questions=1, turns=2, leaks=1, st=10, tt=5),
        info(3, solved=True, at=4, questions=2, turns=4, st=10, tt=5, cost=0.5),
        info(4, solved=False, questions=1, turns=4, st=10, tt=5),
        info(5, status="error", turns=1, st=3, tt=0, cost=0.25),
    ]


def test_condition_scores_by_definition() -> None:
    c = condition_scores(sessions(), max_turns=4)
    assert set(c) == CONDITION_KEYS
    assert c["n_sessions"] == 5 and c["n_errors"] == 1
    # Rates are over the 4 finished sessions; the errored one is excluded.
    assert c["success_rate"] == 0.75
    assert c["success_at_turn"] == [0.25, 0.5, 0.5, 0.75]
    assert c["first_attempt_success_rate"] == 0.25
    # P(solved | first attempt wrong or absent): sessions 2, 3, 4 → 2 of 3.
    assert c["recovery_rate"] == pytest.approx(2 / 3)
    assert c["mean_turns_to_solve"] == pytest.approx((1 + 2 + 4) / 3)
    assert c["question_rate"] == pytest.approx((0 + 1 + 2 + 1) / (1 + 2 + 4 + 4))
    assert c["leak_rate"] == 0.25
    assert c["success_rate_ci95"] == wilson_interval(3, 4)
    # Usage and cost count every session, the errored one too.
    assert c["student_tokens"] == 43 and c["teacher_tokens"] == 20
    assert c["cost_usd"] == pytest.approx(0.75)


def test_condition_scores_with_only_errors_has_no_rates() -> None:
    c = condition_scores([info(1, status="error"), info(2, status="error")], max_turns=2)
    assert (c["n_sessions"], c["n_errors"]) == (2, 2)
    for key in ("success_rate", "success_rate_ci95", "first_attempt_success_rate",
                "recovery_rate", "mean_turns_to_solve", "question_rate", "leak_rate",
                "cost_usd"):
        assert c[key] is None, key
    assert c["success_at_turn"] == [None, None]


def test_running_sessions_count_but_are_not_rated() -> None:
    c = condition_scores([info(1, solved=True, at=1, first=True), info(2, status="running")],
                         max_turns=1)
    assert (c["n_sessions"], c["n_errors"], c["success_rate"]) == (2, 0, 1.0)


def test_recovery_rate_is_none_when_every_first_attempt_was_right() -> None:
    c = condition_scores([info(1, solved=True, at=1, first=True)], max_turns=3)
    assert c["recovery_rate"] is None and c["success_at_turn"] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(("k", "n", "expected"), [
    (8, 10, (0.4902, 0.9433)),
    (0, 10, (0.0, 0.2775)),
    (10, 10, (0.7225, 1.0)),
    (1, 2, (0.0945, 0.9055)),
    (50, 100, (0.4038, 0.5962)),
])
def test_wilson_interval_known_values(k: int, n: int, expected: tuple[float, float]) -> None:
    lo, hi = wilson_interval(k, n)  # type: ignore[misc]
    assert lo == pytest.approx(expected[0], abs=1e-4)
    assert hi == pytest.approx(expected[1], abs=1e-4)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_wilson_interval_of_nothing() -> None:
    assert wilson_interval(0, 0) is None


# ----------------------------------------------------------------------------- deltas


def paired(n: int, a_solved: set[int], b_solved: set[int]) -> list[SessionInfo]:
    return [
        *(info(i, condition="answer", solved=i in a_solved, problem=f"p{i}") for i in range(n)),
        *(info(i, condition="symmetric", solved=i in b_solved, problem=f"p{i}")
          for i in range(n)),
    ]


def test_paired_deltas_are_deterministic_and_sensible() -> None:
    data = paired(40, set(range(30)), set(range(10)))
    d1 = paired_deltas(data, seed=7)
    d2 = paired_deltas(data, seed=7)
    assert d1 == d2
    entry = d1["answer-symmetric"]
    assert set(entry) == DELTA_KEYS
    assert entry["delta"] == pytest.approx(0.5)
    lo, hi = entry["ci95"]
    assert lo <= 0.5 <= hi
    assert 0.3 < lo < 0.5 < hi < 0.7  # 20 of 40 problems differ: se ≈ 0.079
    assert paired_deltas(data, seed=8)["answer-symmetric"]["delta"] == entry["delta"]


def test_paired_deltas_identical_conditions_give_zero() -> None:
    data = paired(10, {1, 2, 3}, {1, 2, 3})
    entry = paired_deltas(data)["answer-symmetric"]
    assert entry == {"delta": 0.0, "ci95": [0.0, 0.0]}


def test_paired_deltas_use_only_shared_finished_problems() -> None:
    data = paired(4, {0, 1, 2, 3}, set())
    data.append(info(9, condition="answer", solved=True, problem="only-in-answer"))
    data[4].status = "error"  # symmetric p0 failed: p0 is not paired
    entry = paired_deltas(data, resamples=1000)["answer-symmetric"]
    assert entry["delta"] == 1.0 and entry["ci95"] == [1.0, 1.0]


def test_paired_deltas_average_samples_per_problem() -> None:
    data = [
        info(1, condition="answer", solved=True, problem="p"),
        info(2, condition="answer", solved=False, problem="p"),
        info(3, condition="none", solved=False, problem="p"),
    ]
    assert paired_deltas(data)["answer-none"]["delta"] == 0.5


def test_summarize_orders_conditions_and_pairs_them() -> None:
    data = paired(5, {0, 1}, {0})
    data += [info(i, condition="binary", problem=f"p{i}") for i in range(5)]
    out = summarize(data, max_turns=4, seed=1)
    assert list(out["conditions"]) == ["answer", "symmetric", "binary"]
    assert list(out["deltas"]) == ["answer-symmetric", "answer-binary", "symmetric-binary"]
    assert ordered_conditions(["x", "none", "answer"]) == ["answer", "none", "x"]
    for entry in out["deltas"].values():
        assert set(entry) == DELTA_KEYS
        assert all(math.isfinite(v) for v in entry["ci95"])
