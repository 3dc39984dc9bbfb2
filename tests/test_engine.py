"""The session loop (SPEC §3): every condition end to end with scripted participants,
turn limits, fixed feedback lines, private rows, participant failures and resume."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from engine_fixtures import PROMPTS, MemoryRecorder, problem, run_session, session_info

from sml_cli.engine import BINARY_CORRECT, BINARY_INCORRECT, NEUTRAL, Session
from sml_cli.metrics import session_scores
from sml_cli.participants import ParticipantError
from sml_cli.records import (
    ASKED,
    ATTEMPT,
    CONDITIONS,
    DRAFT,
    FEEDBACK,
    MESSAGE,
    QUESTION,
    STUDENT_PROMPT,
    TEACHER_PROMPT,
    VERDICT,
    Turn,
)
from sml_cli.store import Store
from sml_cli.testing import ScriptedParticipant, hint_following_student, hinting_teacher
from sml_cli.views import student_view

P = problem("7319", question="How many stamps does Ana have?")


def student_rows(turns: list[Turn]) -> list[Turn]:
    return [t for t in turns if t.role == "student"]


def public_teacher_rows(turns: list[Turn]) -> list[Turn]:
    return [t for t in turns if t.role == "teacher" and t.visibility == "public"]


def check_seq(turns: list[Turn]) -> None:
    assert [t.seq for t in turns] == list(range(len(turns)))


# ----------------------------------------------------------------------------- conditions


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_condition_runs_end_to_end(condition: str) -> None:
    student = ScriptedParticipant(hint_following_student, "student")
    teacher = ScriptedParticipant(hinting_teacher, "teacher")
    info, turns = run_session(P, condition, student, teacher, max_turns=3)
    check_seq(turns)
    assert info.status == "done" and info.error is None
    # Only the answer-holding teacher can give the hint this student needs.
    if condition == "answer":
        assert (info.solved, info.solved_at_turn, info.student_turns) == (True, 2, 2)
        assert info.first_attempt_correct is False
    else:
        assert (info.solved, info.solved_at_turn, info.student_turns) == (False, None, 3)
    teacherless = condition in ("binary", "none")
    assert (len(teacher.requests) > 0) is not teacherless
    kinds = [t.kind for t in turns[:3]]
    assert kinds[:2] == [STUDENT_PROMPT, QUESTION]
    assert (TEACHER_PROMPT in kinds) is not teacherless
    # Every attempt got a private verdict row, right after it.
    for t in turns:
        if t.kind == ATTEMPT:
            verdict = turns[t.seq + 1]
            assert verdict.kind == VERDICT and verdict.visibility == "teacher"
            assert verdict.turn == t.turn and verdict.attempt == t.attempt


def test_solved_at_turn_k_ends_the_session() -> None:
    student = ScriptedParticipant(["Hmm?", "Final answer: 12", "Final answer: 7319",
                                   "Final answer: 1"], "student")
    teacher = ScriptedParticipant(["Count again."], "teacher")
    info, turns = run_session(P, "symmetric", student, teacher, max_turns=6)
    assert (info.solved, info.solved_at_turn, info.student_turns) == (True, 3, 3)
    assert (info.attempts, info.questions, info.first_attempt_correct) == (2, 1, False)
    assert len(student.requests) == 3  # nothing after the solving turn
    assert len(teacher.requests) == 2  # no teacher reply to a correct answer
    assert turns[-1].kind == VERDICT and turns[-1].correct is True
    assert [t.kind for t in student_rows(turns)] == [ASKED, ATTEMPT, ATTEMPT]


@pytest.mark.parametrize("max_turns", [1, 2, 5])
def test_max_turns_is_respected(max_turns: int) -> None:
    student = ScriptedParticipant(["Final answer: 1"], "student")
    teacher = ScriptedParticipant(["No."], "teacher")
    info, turns = run_session(P, "answer", student, teacher, max_turns=max_turns)
    assert info.student_turns == max_turns == len(student.requests)
    # A teacher reply only between student turns: none after the last one.
    assert len(teacher.requests) == max_turns - 1
    assert [t.turn for t in public_teacher_rows(turns)] == list(range(1, max_turns))
    last_student = max(t.seq for t in student_rows(turns))
    assert all(t.role != "teacher" for t in turns[last_student:])
    assert student_view(turns)[-1]["role"] == "assistant"


def test_binary_feedback_lines() -> None:
    student = ScriptedParticipant(["Where do I start?", "Final answer: 3", "Final answer: 7319"])
    info, turns = run_session(P, "binary", student, None, max_turns=5)
    lines = [t.content for t in public_teacher_rows(turns)]
    assert lines == [NEUTRAL, BINARY_INCORRECT]
    assert all(t.kind == FEEDBACK for t in public_teacher_rows(turns))
    assert info.solved_at_turn == 3
    # What the student saw, in order.
    seen = [m["content"] for m in student.requests[2] if m["role"] == "user"]
    assert seen[1:] == [NEUTRAL, BINARY_INCORRECT]
    assert BINARY_CORRECT == "Correct."
    assert BINARY_INCORRECT == "Incorrect."


def test_none_gives_only_the_neutral_line() -> None:
    student = ScriptedParticipant(["Final answer: 3", "Is it odd?", "Let me see."])
    info, turns = run_session(P, "none", student, None, max_turns=3)
    assert [t.content for t in public_teacher_rows(turns)] == [NEUTRAL, NEUTRAL]
    assert NEUTRAL == "Please continue."
    assert not info.solved
    # The verdict exists (for scoring) but only in the private channel.
    verdicts = [t for t in turns if t.kind == VERDICT]
    assert len(verdicts) == 1 and verdicts[0].visibility == "teacher"
    assert all("incorrect" not in m["content"].lower() for m in student_view(turns))


def test_verifier_teacher_sees_each_verdict_and_never_the_answer() -> None:
    student = ScriptedParticipant(["Final answer: 3", "Final answer: 4", "Final answer: 5"])
    teacher = ScriptedParticipant(["Not yet."], "teacher")
    _, turns = run_session(P, "verifier", student, teacher, max_turns=3)
    assert len(teacher.requests) == 2
    last = "\n".join(m["content"] for m in teacher.requests[-1])
    assert last.count("Verifier result") == 2
    assert "7319" not in last
    assert all(t.visibility == "teacher" for t in turns if t.kind == VERDICT)


def test_answer_teacher_is_told_the_answer_symmetric_is_not() -> None:
    for condition, told in (("answer", True), ("symmetric", False)):
        teacher = ScriptedParticipant(["Hint."], "teacher")
        run_session(P, condition, ScriptedParticipant(["Final answer: 1"]), teacher, max_turns=2)
        system = teacher.requests[0][0]
        assert system["role"] == "system"
        assert ("7319" in system["content"]) is told


def test_redacted_teacher_message_keeps_original_private() -> None:
    student = ScriptedParticipant(["Final answer: 2", "Final answer: 3"])
    teacher = ScriptedParticipant(["It is 7319, obviously."], "teacher")
    info, turns = run_session(P, "answer", student, teacher, max_turns=2, guard="redact")
    drafts = [t for t in turns if t.kind == DRAFT]
    public = public_teacher_rows(turns)
    assert len(drafts) == 1 and drafts[0].visibility == "teacher" and drafts[0].leak
    assert public[0].content == "It is [redacted], obviously."
    assert public[0].kind == MESSAGE and public[0].guard_action == "redact"
    assert info.leaks == 1


# ----------------------------------------------------------------------------- failures


class Failing:
    """A participant that fails on its n-th request (1-based) with the given exception."""

    def __init__(self, script: list[str], fail_at: int, exc: BaseException) -> None:
        self.inner = ScriptedParticipant(script)
        self.name = "failing"
        self.fail_at = fail_at
        self.exc = exc
        self.calls = 0

    async def respond(self, messages, on_token=None):
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.exc
        return await self.inner.respond(messages, on_token)


@pytest.mark.parametrize("who", ["student", "teacher"])
def test_participant_error_ends_the_session_in_error(who: str) -> None:
    boom = ParticipantError("model unavailable after retries")
    student = ScriptedParticipant(["Final answer: 1"])
    teacher = ScriptedParticipant(["Try again."])
    if who == "student":
        student = Failing(["Final answer: 1"], 2, boom)
    else:
        teacher = Failing(["Try again."], 1, boom)
    recorder = MemoryRecorder()
    info, turns = run_session(P, "answer", student, teacher, max_turns=4, recorder=recorder)
    assert info.status == "error"
    assert "model unavailable" in (info.error or "")
    assert recorder.updates["s1"]["status"] == "error"
    assert info.student_turns == 1  # scores of what happened before the failure
    check_seq(turns)


def test_a_failing_session_does_not_stop_the_others() -> None:
    async def main() -> list[str]:
        sessions = []
        for i in range(3):
            student = (Failing(["Final answer: 7319"], 1, ParticipantError("down")) if i == 1
                       else ScriptedParticipant(["Final answer: 7319"]))
            info = session_info(P, "none", session_id=f"s{i}")
            sessions.append(Session(info, P, student, None, PROMPTS, MemoryRecorder()))
        return [info.status for info in await asyncio.gather(*(s.run() for s in sessions))]

    assert asyncio.run(main()) == ["done", "error", "done"]


def test_unexpected_exception_is_an_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SML_DEBUG", raising=False)
    student = Failing(["x"], 1, RuntimeError("bug in a participant"))
    info, _ = run_session(P, "none", student, None)
    assert info.status == "error" and "RuntimeError" in (info.error or "")


# ----------------------------------------------------------------------------- resume


def test_resume_after_cancellation_continues_without_duplicates(tmp_path: Path) -> None:
    """A student cut off at turn 2 (as by Ctrl-C or a kill) leaves the session `running`;
    running it again from the stored rows continues at turn 2."""
    db = tmp_path / "x.db"
    store = Store(db)
    store.save_problems([P])
    store.create_run("r", "eval", {})
    info = session_info(P, "answer", max_turns=4, run_id="r")
    store.create_session(info)
    first = Failing(["Final answer: 1"], 2, asyncio.CancelledError())
    teacher = ScriptedParticipant(hinting_teacher, "teacher")
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(Session(info, P, first, teacher, PROMPTS, store).run())
    assert store.session("s1").status == "running"
    stored = store.turns("s1")
    assert len(student_rows(stored)) == 1 and len(public_teacher_rows(stored)) == 1

    again = ScriptedParticipant(hint_following_student, "student")
    resumed = Session(store.session("s1"), P, again, teacher, PROMPTS, store, turns=stored)
    result = asyncio.run(resumed.run())
    final = store.turns("s1")
    check_seq(final)
    assert [t.turn for t in student_rows(final)] == [1, 2]
    assert [t.kind for t in final].count(TEACHER_PROMPT) == 1
    assert (result.status, result.solved, result.solved_at_turn) == ("done", True, 2)
    # The resumed student saw the whole conversation so far, starting from its prompt.
    assert again.requests[0][0]["role"] == "system"
    assert "one more than 7318" in again.requests[0][-1]["content"]
    # Scores from the stored rows match what the session reported.
    assert session_scores(final).solved_at_turn == 2
    stored_info = store.session("s1")
    assert (stored_info.status, stored_info.solved, stored_info.student_turns) == ("done", True, 2)
    store.close()


@pytest.mark.parametrize("cut", range(1, 12))
def test_resume_from_any_prefix_gives_the_same_session(cut: int) -> None:
    """Truncate a finished session's rows anywhere (a kill -9 loses a tail) and rerun: the
    result is the session an uninterrupted run gives, with no duplicated rows."""
    def participants():
        return (ScriptedParticipant(["Is it big?", "Final answer: 5", "Final answer: 7319"]),
                ScriptedParticipant(["Think about it.", "It is 7319."], "teacher"))

    student, teacher = participants()
    full_info, full = run_session(P, "answer", student, teacher, max_turns=4)
    assert full_info.solved_at_turn == 3
    cut = min(cut, len(full) - 1)
    prefix = [Turn(**{k: getattr(t, k) for k in Turn.__dataclass_fields__}) for t in full[:cut]]
    # The scripted participants are positional: skip the replies already given.
    student, teacher = participants()
    student._script = student._script[len(student_rows(prefix)):] or ["Final answer: 7319"]
    # A reply the guard redacted is a draft plus its redacted public version: one reply.
    n_teacher = sum(1 for t in prefix if t.role == "teacher" and (
        t.kind == DRAFT or (t.is_public and t.guard_action != "redact")))
    teacher._script = teacher._script[n_teacher:] or ["It is 7319."]
    info, turns = run_session(P, "answer", student, teacher, max_turns=4, turns=prefix)
    check_seq(turns)
    assert [(t.kind, t.turn, t.role, t.visibility) for t in turns] == [
        (t.kind, t.turn, t.role, t.visibility) for t in full
    ]
    assert (info.solved, info.solved_at_turn, info.student_turns, info.leaks) == (
        full_info.solved, full_info.solved_at_turn, full_info.student_turns, full_info.leaks)


def test_resume_when_the_opening_rows_were_cut() -> None:
    """Killed between writing the student prompt and the teacher prompt: the teacher still
    gets its prompt (with the answer) on resume."""
    student, teacher = ScriptedParticipant(["Final answer: 1"]), ScriptedParticipant(["Hm."])
    _, full = run_session(P, "answer", student, teacher, max_turns=2)
    teacher = ScriptedParticipant(["Hm."], "teacher")
    _, turns = run_session(P, "answer", ScriptedParticipant(["Final answer: 1"]), teacher,
                           max_turns=2, turns=full[:2])
    assert [t.kind for t in turns[:3]] == [STUDENT_PROMPT, QUESTION, TEACHER_PROMPT]
    assert "7319" in teacher.requests[0][0]["content"]
    check_seq(turns)


def test_a_finished_session_rerun_adds_nothing() -> None:
    student = ScriptedParticipant(["Final answer: 7319"])
    _, turns = run_session(P, "none", student, None, max_turns=3)
    again = ScriptedParticipant(["Final answer: 1"])
    info2, turns2 = run_session(P, "none", again, None, max_turns=3, turns=turns)
    assert again.requests == [] and len(turns2) == len(turns)
    assert info2.solved_at_turn == 1
    # Same for a session that used all its turns.
    student = ScriptedParticipant(["Final answer: 1"])
    _, turns = run_session(P, "binary", student, None, max_turns=2)
    again = ScriptedParticipant(["Final answer: 1"])
    _, turns2 = run_session(P, "binary", again, None, max_turns=2, turns=turns)
    assert again.requests == [] and len(turns2) == len(turns)


def test_observer_sees_every_row_and_streamed_tokens() -> None:
    class Watch:
        def __init__(self) -> None:
            self.rows: list[Turn] = []
            self.tokens: list[tuple[str, str]] = []

        def turn_added(self, turn: Turn) -> None:
            self.rows.append(turn)

        def token(self, role: str, text: str) -> None:
            self.tokens.append((role, text))

    watch = Watch()
    session = Session(session_info(P, "answer", max_turns=2), P,
                      ScriptedParticipant(["Final answer: 1"]), ScriptedParticipant(["Go on."]),
                      PROMPTS, MemoryRecorder(), observer=watch)
    asyncio.run(session.run())
    assert watch.rows == session.turns
    assert "".join(t for r, t in watch.tokens if r == "teacher") == "Go on."


def test_resume_inside_a_regenerate_chain_asks_the_teacher_no_more_than_an_uncut_run() -> None:
    leaky = ["It is 7319.", "Still 7319.", "Fine: 7319."]
    student = ScriptedParticipant(["Final answer: 1", "Final answer: 2"])
    teacher = ScriptedParticipant(leaky, "teacher")
    full_info, full = run_session(P, "answer", student, teacher, max_turns=2, guard="regenerate")
    assert len(teacher.requests) == 3
    drafts = [t for t in full if t.kind == DRAFT]
    assert len(drafts) == 3 and full_info.leaks == 3
    for n_drafts in (1, 2, 3):
        cut = drafts[n_drafts - 1].seq + 1
        again = ScriptedParticipant(leaky[n_drafts:] or ["unused"], "teacher")
        info, turns = run_session(P, "answer", ScriptedParticipant(["Final answer: 2"]), again,
                                  max_turns=2, guard="regenerate", turns=full[:cut])
        assert len(again.requests) == 3 - n_drafts
        assert [(t.kind, t.turn) for t in turns] == [(t.kind, t.turn) for t in full]
        assert [t.content for t in public_teacher_rows(turns)] == ["Fine: [redacted]."]
        assert info.leaks == 3
        if n_drafts < 3:  # the retry carried the leaked draft and the reminder
            assert again.requests[0][-2]["content"] == leaky[n_drafts - 1]
            assert "stated the answer" in again.requests[0][-1]["content"]


def test_code_problem_in_the_verifier_condition() -> None:
    """A `python` problem: attempts are code blocks, the verdict (failing tests) goes to the
    verifier-condition teacher only, and a passing submission solves."""
    from sml_cli.problems import load_problems

    p = load_problems("python")[0]
    assert p.verifier == "python" and p.solution
    wrong = "Final answer:\n```python\ndef run_length_encode(s):\n    return s\n```"
    right = f"Final answer:\n```python\n{p.solution}\n```"
    student = ScriptedParticipant([wrong, right], "student")
    teacher = ScriptedParticipant(["Look at the failing test."], "teacher")
    info, turns = run_session(p, "verifier", student, teacher, max_turns=3)
    assert (info.status, info.solved, info.solved_at_turn) == ("done", True, 2), info.error
    verdicts = [t for t in turns if t.kind == VERDICT]
    assert [v.correct for v in verdicts] == [False, True]
    assert all(v.visibility == "teacher" for v in verdicts)
    told = "\n".join(m["content"] for m in teacher.requests[0])
    assert "Verifier result" in told and verdicts[0].content in told
    for request in student.requests:
        blob = "\n".join(m["content"] for m in request)
        assert p.tests not in blob and verdicts[0].content not in blob
        assert "def run_length_encode(s):\n    out = []" not in blob  # the private solution
