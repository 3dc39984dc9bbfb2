"""Who sees what (SPEC §3): `student_view` / `teacher_view` / `teacher_prompt`, and a
property test that no private field ever reaches the student, whatever the problem,
condition and conversation — unless the teacher leaks it and the guard lets it through."""

from __future__ import annotations

import dataclasses
import re

import pytest
from engine_fixtures import PROMPTS, problem, run_session
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sml_cli.records import (
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
from sml_cli.testing import (
    ScriptedParticipant,
    answer_copying_student,
    hinting_teacher,
    telling_teacher,
)
from sml_cli.views import student_view, teacher_grant, teacher_prompt, teacher_view


def row(seq: int, turn: int, role: str, visibility: str, kind: str, content: str,
        **extra: object) -> Turn:
    return Turn("s1", seq, turn, role, visibility, kind, content, **extra)  # type: ignore[arg-type]


def transcript() -> list[Turn]:
    """A hand-built verifier-condition session with every kind of row, private ones included."""
    return [
        row(0, 0, "system", "public", STUDENT_PROMPT, "STUDENT SYSTEM"),
        row(1, 0, "system", "public", QUESTION, "What is 6 x 7?"),
        row(2, 0, "system", "teacher", TEACHER_PROMPT, "TEACHER SYSTEM (answer 42)"),
        row(3, 1, "student", "public", ATTEMPT, "Final answer: 41", attempt="41"),
        row(4, 1, "verifier", "teacher", VERDICT, "incorrect", attempt="41", correct=False),
        row(5, 1, "teacher", "teacher", DRAFT, "It is 42.", leak=True),
        row(6, 1, "teacher", "public", MESSAGE, "It is [redacted].", guard_action="redact"),
        row(7, 2, "student", "public", MESSAGE, "Let me think."),
        row(8, 2, "student", "public", "question_asked", "Is it even?"),
        row(9, 2, "teacher", "public", FEEDBACK, "Please continue."),
    ]


# ----------------------------------------------------------------------------- student_view


def test_student_view_starts_with_system_prompt_then_question() -> None:
    messages = student_view(transcript())
    assert messages[0] == {"role": "system", "content": "STUDENT SYSTEM"}
    assert messages[1]["role"] == "user"
    assert messages[1]["content"].startswith("What is 6 x 7?")


def test_student_view_holds_public_rows_only_and_alternates() -> None:
    messages = student_view(transcript())
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user",
                                              "assistant", "user"]
    text = "\n".join(m["content"] for m in messages)
    for private in ("TEACHER SYSTEM", "It is 42.", "incorrect", "answer 42"):
        assert private not in text
    assert "It is [redacted]." in text


def test_student_view_merges_consecutive_same_role_messages() -> None:
    messages = student_view(transcript())
    assert messages[4] == {"role": "assistant", "content": "Let me think.\n\nIs it even?"}
    # The system prompt is first even when stored after the question.
    rows = transcript()
    rows[0], rows[1] = rows[1], rows[0]
    assert student_view(rows)[0]["role"] == "system"


def test_student_view_of_nothing_is_empty() -> None:
    assert student_view([]) == []


# ----------------------------------------------------------------------------- teacher side


@pytest.mark.parametrize("condition", ["answer", "verifier", "symmetric"])
def test_teacher_view_includes_verdicts_only_in_verifier(condition: str) -> None:
    messages = teacher_view(transcript(), condition, PROMPTS)
    assert messages[0] == {"role": "system", "content": "TEACHER SYSTEM (answer 42)"}
    text = "\n".join(m["content"] for m in messages)
    assert ("Verifier result" in text) == (condition == "verifier")
    # Drafts never reached the student, so they are not part of the teacher's conversation.
    assert "It is 42." not in text
    assert "It is [redacted]." in text
    # The student's turns are `user`, the teacher's own delivered ones `assistant`.
    assert messages[1]["role"] == "user"
    assert messages[1]["content"].startswith("Final answer: 41")
    assert messages[2] == {"role": "assistant", "content": "It is [redacted]."}
    # The student's question/system rows are not repeated (the question is in the prompt).
    assert "STUDENT SYSTEM" not in text


def test_verdict_follows_the_attempt_it_grades() -> None:
    messages = teacher_view(transcript(), "verifier", PROMPTS)
    first_user = messages[1]["content"]
    assert first_user.index("Final answer: 41") < first_user.index("Verifier result")
    assert "incorrect" in first_user


CANARY_PROBLEM = problem(
    "CANARY-ANSWER-1f2e", question="Name the hidden word.",
    solution="CANARY-SOLUTION-3d4c", notes="CANARY-NOTES-5b6a", tests="# CANARY-TESTS-7a8b",
)


@pytest.mark.parametrize("condition", ["answer", "verifier", "symmetric"])
def test_teacher_prompt_grants_private_info_only_under_answer(condition: str) -> None:
    prompt = teacher_prompt(CANARY_PROBLEM, condition, PROMPTS)
    assert "Name the hidden word." in prompt
    granted = condition == "answer"
    assert ("CANARY-ANSWER-1f2e" in prompt) == granted
    assert ("CANARY-SOLUTION-3d4c" in prompt) == granted
    assert ("CANARY-NOTES-5b6a" in prompt) == granted
    assert "CANARY-TESTS" not in prompt  # test code is for the verifier, not a prompt


def test_teacher_grant_per_condition() -> None:
    assert teacher_grant(CANARY_PROBLEM, "answer").answer == "CANARY-ANSWER-1f2e"
    verifier = teacher_grant(CANARY_PROBLEM, "verifier")
    assert verifier.verdicts and verifier.answer is None and verifier.solution is None
    assert not teacher_grant(CANARY_PROBLEM, "symmetric").anything
    assert not teacher_grant(CANARY_PROBLEM, "none").anything


# ----------------------------------------------------------------------------- property


hexes = st.integers(min_value=0, max_value=2**48).map(lambda n: f"{n:012x}")
# Things a participant may say: no digits (so no number can equal a numeric canary by chance)
# and nothing containing "CANARY".
words = st.text(alphabet="abcdefghij klmnop?.,!", min_size=0, max_size=40)
student_lines = st.one_of(
    words,
    words.map(lambda w: f"{w} Final answer: {w.strip() or 'x'}"),
    words.map(lambda w: f"{w} is it this?"),
    st.just("Final answer: 0"),
)


@st.composite
def canary_problems(draw: st.DrawFn):
    tag = draw(hexes)
    numeric = draw(st.booleans())
    # A numeric canary: nine digits, never in the question and never said by a participant.
    answer = str(draw(st.integers(100_000_000, 999_999_999))) if numeric else f"CANARY-A{tag}"
    fields = {
        "solution": f"Worked: CANARY-S{tag}" if draw(st.booleans()) else None,
        "notes": f"CANARY-N{tag}" if draw(st.booleans()) else None,
        "tests": f"# CANARY-T{tag}" if draw(st.booleans()) else None,
    }
    question = draw(st.sampled_from(["Find the value.", "What is the secret word?",
                                     "Solve it: how many?"]))
    p = problem(answer, question=question, **fields)
    canaries = [answer] + [re.search(r"CANARY-\w+", v).group(0)  # type: ignore[union-attr]
                           for v in fields.values() if v]
    if draw(st.booleans()):  # another accepted answer, as private as the answer
        alias = str(draw(st.integers(100_000_000, 999_999_999))) if numeric else \
            f"CANARY-L{tag}"
        p = dataclasses.replace(p, aliases=(alias,))
        canaries.append(alias)
    return p, canaries


def alias_telling_teacher(messages: list[dict[str, str]]) -> str:
    """States another accepted answer, when its prompt lists one."""
    found = re.search(r"Also accepted[^:]*: (\S+)", messages[0]["content"])
    return f"It could also be {found.group(1)}." if found else "Keep going."


ALIAS_CASE = (dataclasses.replace(problem("CANARY-A0f0f", question="Find the value."),
                                  aliases=("CANARY-L0f0f",)), ["CANARY-A0f0f", "CANARY-L0f0f"])


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    case=canary_problems(),
    condition=st.sampled_from(CONDITIONS),
    student_script=st.lists(student_lines, min_size=1, max_size=6),
    teacher_kind=st.sampled_from(["random", "hinting", "telling", "alias-telling"]),
    teacher_script=st.lists(words, min_size=1, max_size=6),
    guard=st.sampled_from(["redact", "regenerate", "flag"]),
    max_turns=st.integers(1, 5),
)
@example(case=ALIAS_CASE, condition="answer", student_script=["hm"],
         teacher_kind="alias-telling", teacher_script=["x"], guard="redact", max_turns=2)
def test_no_student_view_ever_contains_a_private_field(
    case, condition, student_script, teacher_kind, teacher_script, guard, max_turns
) -> None:
    p, canaries = case
    if teacher_kind in ("telling", "alias-telling") and guard == "flag":
        guard = "redact"  # `flag` lets a stated answer through by design (tested below)
    student = ScriptedParticipant(student_script, "student")
    script = {"random": teacher_script, "hinting": hinting_teacher,
              "telling": telling_teacher, "alias-telling": alias_telling_teacher}[teacher_kind]
    teacher = ScriptedParticipant(script, "teacher")
    info, turns = run_session(p, condition, student, teacher, max_turns=max_turns, guard=guard)
    assert info.status == "done", info.error

    view = student_view(turns)
    for message in view:
        for canary in canaries:
            assert canary not in message["content"], (canary, message)
    for request in student.requests:
        blob = "\n".join(m["content"] for m in request)
        for canary in canaries:
            assert canary not in blob
    # Every private row is stored as such, and none of it is in the student's view.
    for t in turns:
        if t.kind in (TEACHER_PROMPT, VERDICT, DRAFT):
            assert t.visibility == "teacher"
    # The teacher did get what its condition grants (the channel is not simply empty).
    if condition == "answer" and teacher.requests:
        assert p.answer in teacher.requests[0][0]["content"]
    if condition in ("symmetric", "verifier"):
        for request in teacher.requests:
            assert p.answer not in "\n".join(m["content"] for m in request)


@pytest.mark.parametrize(("guard", "student_receives"),
                         [("flag", True), ("redact", False), ("regenerate", False)])
def test_the_guard_not_chance_keeps_a_stated_answer_from_the_student(
    guard: str, student_receives: bool
) -> None:
    p = problem("731905268", question="Guess the number.")
    student = ScriptedParticipant(["Is it big? Final answer: 1", "Final answer: 2"], "student")
    teacher = ScriptedParticipant(telling_teacher, "teacher")
    info, turns = run_session(p, "answer", student, teacher, max_turns=2, guard=guard)
    assert len(student.requests) == 2
    received = "\n".join(m["content"] for m in student.requests[1])
    assert ("731905268" in received) is student_receives
    assert ("731905268" in "\n".join(m["content"] for m in student_view(turns))) is student_receives
    assert info.leaks and info.leaks >= 1  # flagged under every policy
    if not student_receives:
        assert "[redacted]" in received
        # The original stays in the teacher-private log.
        drafts = [t for t in turns if t.kind == DRAFT]
        assert drafts and all(t.visibility == "teacher" for t in drafts)
        assert any("731905268" in t.content for t in drafts)
    if guard == "regenerate":
        assert len(teacher.requests) == 3  # first reply + 2 regenerations, then redacted


def test_answer_copying_student_solves_only_when_the_answer_gets_through() -> None:
    p = problem("48213", question="How many?")
    results = {}
    for guard in ("flag", "redact"):
        student = ScriptedParticipant(answer_copying_student, "student")
        info, _ = run_session(p, "answer", student, ScriptedParticipant(telling_teacher),
                              max_turns=3, guard=guard)
        results[guard] = (info.solved, info.solved_at_turn)
    assert results == {"flag": (True, 2), "redact": (False, None)}
