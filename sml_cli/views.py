"""Who sees what — the only place that decides it (SPEC §3).

* `student_view` builds the student's messages from **public rows only**. It is what a
  student model is sent, what the student's screen shows, and what a student-view export
  contains. It takes turns, never a `Problem`, so private fields cannot reach it except
  through a public row (which only a teacher leak the guard let through can create).
* `teacher_grant` says which private information each condition gives the teacher, and
  `teacher_view` builds the teacher's messages: its prompt (with that information), the
  public conversation, and — in the `verifier` condition — the verdict of each attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sml_cli.records import (
    DRAFT,
    QUESTION,
    STUDENT_PROMPT,
    TEACHER_PROMPT,
    VERDICT,
    Turn,
)

if TYPE_CHECKING:
    from sml_cli.problems import Problem
    from sml_cli.prompts import Prompts

Message = dict[str, str]


def _append(messages: list[Message], role: str, content: str) -> None:
    """Add a message, merging it into the previous one when the role repeats (chat APIs and
    SFT formats want strictly alternating user/assistant turns)."""
    if messages and messages[-1]["role"] == role and role != "system":
        messages[-1] = {"role": role, "content": messages[-1]["content"] + "\n\n" + content}
    else:
        messages.append({"role": role, "content": content})


def student_view(turns: Sequence[Turn]) -> list[Message]:
    """The student's conversation: its system prompt, the question, then its own turns as
    `assistant` and the teacher's public turns as `user`."""
    return [message for message, _ in student_view_sources(turns)]


def student_view_sources(turns: Sequence[Turn]) -> list[tuple[Message, list[Turn]]]:
    """`student_view`, with the rows each message was built from (exports use them for
    weights and their leak scan). Only public rows are ever read."""
    out: list[tuple[Message, list[Turn]]] = []
    system: tuple[Message, list[Turn]] | None = None
    for t in turns:
        if t.visibility != "public":
            continue
        if t.kind == STUDENT_PROMPT:
            system = ({"role": "system", "content": t.content}, [t])
            continue
        if t.kind == QUESTION or t.role == "teacher":
            role = "user"
        elif t.role == "student":
            role = "assistant"
        else:
            continue
        if out and out[-1][0]["role"] == role:
            message, sources = out[-1]
            out[-1] = ({"role": role, "content": message["content"] + "\n\n" + t.content},
                       [*sources, t])
        else:
            out.append(({"role": role, "content": t.content}, [t]))
    return [system, *out] if system is not None else out


def public_question(turns: Sequence[Turn]) -> str | None:
    """The problem as the student was given it. A teacher's own messages hold the question
    only inside its prompt, so a screen of the teacher's view shows it from here."""
    return next((t.content for t in turns if t.kind == QUESTION and t.visibility == "public"),
                None)


@dataclass(frozen=True)
class TeacherGrant:
    """The private information a condition gives the teacher."""

    answer: str | None = None
    solution: str | None = None
    notes: str | None = None
    verdicts: bool = False  # sees the verifier's result of each attempt
    aliases: tuple[str, ...] = ()  # other answers that count as right

    @property
    def anything(self) -> bool:
        return bool(self.answer or self.solution or self.notes or self.verdicts)


def teacher_grant(problem: Problem, condition: str) -> TeacherGrant:
    if condition == "answer":
        return TeacherGrant(answer=problem.answer, solution=problem.solution, notes=problem.notes,
                            aliases=problem.aliases)
    if condition in ("verifier", "binary"):
        # `binary` has no teacher; its fixed feedback line is derived from the verdict.
        return TeacherGrant(verdicts=True)
    return TeacherGrant()


def teacher_prompt(problem: Problem, condition: str, prompts: Prompts) -> str:
    grant = teacher_grant(problem, condition)
    template = {"answer": "teacher_answer.j2", "verifier": "teacher_verifier.j2"}.get(
        condition, "teacher_symmetric.j2"
    )
    return prompts.render(
        template,
        question=problem.public_question(),
        answer=grant.answer,
        aliases=grant.aliases,
        solution=grant.solution,
        notes=grant.notes,
        code=problem.verifier == "python",
    )


def student_prompt(problem: Problem, max_turns: int, prompts: Prompts) -> str:
    # Only public facts about the problem may shape the student's prompt.
    return prompts.render("student.j2", code=problem.verifier == "python", max_turns=max_turns)


def teacher_view(
    turns: Sequence[Turn], condition: str, prompts: Prompts | None = None
) -> list[Message]:
    """The teacher's conversation: its system prompt (with its grant), the student's public
    turns as `user`, its own delivered turns as `assistant`, and verdicts where granted."""
    sees_verdicts = condition in ("verifier", "binary")
    messages: list[Message] = []
    for t in turns:
        if t.kind == TEACHER_PROMPT:
            messages.insert(0, {"role": "system", "content": t.content})
        elif t.kind in (STUDENT_PROMPT, QUESTION, DRAFT):
            continue  # the question is in the teacher's prompt; drafts never reached the student
        elif t.role == "student" and t.is_public:
            _append(messages, "user", t.content)
        elif t.role == "teacher" and t.is_public:
            _append(messages, "assistant", t.content)
        elif t.kind == VERDICT and sees_verdicts:
            assert prompts is not None, "rendering a verdict needs the prompt templates"
            _append(messages, "user", prompts.render("verdict.j2", summary=t.content))
    return messages


@dataclass
class TeacherPanel:
    """What a human teacher's private panel shows: the grant and per-attempt verdicts."""

    grant: TeacherGrant
    verdicts: list[tuple[int, str, bool]] = field(default_factory=list)  # (turn, attempt, correct)
    drafts: list[Turn] = field(default_factory=list)


def teacher_panel(turns: Sequence[Turn], problem: Problem, condition: str) -> TeacherPanel:
    grant = teacher_grant(problem, condition)
    # A teacher holding the answer can grade attempts itself; showing the verdict saves a
    # human teacher the arithmetic without granting anything new. Symmetric teachers see none.
    show_verdicts = grant.verdicts or grant.answer is not None or (
        condition == "answer" and problem.verifier == "python"
    )
    panel = TeacherPanel(grant)
    for t in turns:
        if t.kind == VERDICT and show_verdicts:
            panel.verdicts.append((t.turn, t.attempt or "", bool(t.correct)))
        elif t.kind == DRAFT:
            panel.drafts.append(t)
    return panel


def student_thoughts(messages: Sequence[Message], sources: Sequence[Sequence[Turn]]
                     ) -> list[str | None]:
    """Per message of the student view, given the rows each was built from
    (`student_view_sources`), the reasoning the student had before it: for its own messages
    only, never anyone else's."""
    return [_joined(t.reasoning for t in rows if t.role == "student") if m["role"] == "assistant"
            else None for m, rows in zip(messages, sources, strict=True)]


def teacher_thoughts(turns: Sequence[Turn], messages: Sequence[Message]) -> list[str | None]:
    """Per message of the teacher view (`teacher_view(turns, …)`), the reasoning the teacher
    had before it: for its own messages only."""
    # One assistant message per delivered teacher row, in order; a row the guard redacted
    # keeps its thoughts on its draft.
    delivered = [t for t in turns if t.role == "teacher" and t.is_public]
    by_turn = {t.turn: t.reasoning for t in turns
               if t.role == "teacher" and t.kind == DRAFT and t.reasoning}
    assistant = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    thoughts: list[str | None] = [None] * len(messages)
    if len(assistant) == len(delivered):  # (else some were merged: leave them bare)
        for i, t in zip(assistant, delivered, strict=True):
            thoughts[i] = t.reasoning or by_turn.get(t.turn)
    return thoughts


def _joined(texts: Iterable[str | None]) -> str | None:
    return "\n\n".join(t for t in texts if t) or None
