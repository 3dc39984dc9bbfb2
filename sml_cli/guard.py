"""The leak guard (SPEC §5): does a teacher message state the reference answer?

`find_leaks` reports the spans that state it; `redact` blanks them. The engine applies the
policy (`flag`, `redact`, `regenerate`). A hint that leaves the student a step to take ("one
more than 7318") is not a leak; numbers that occur in the question are never leaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sml_cli.numbers import NumberMatch, find_numbers, numbers_equal, parse_number
from sml_cli.problems import Problem

REDACTED = "[redacted]"


@dataclass(frozen=True)
class Leak:
    start: int
    end: int
    text: str
    reason: str  # e.g. "states the number 42", "states the answer text"


def _question_numbers(problem: Problem) -> list[NumberMatch]:
    return find_numbers(problem.public_question())


def _numeric_leaks(text: str, answer: NumberMatch, problem: Problem) -> list[Leak]:
    in_question = _question_numbers(problem)
    if any(numbers_equal(q, answer) for q in in_question):
        return []  # the answer is in the question itself: numeric detection is off (SPEC §5)
    leaks = []
    for m in find_numbers(text):
        if numbers_equal(m, answer):
            leaks.append(Leak(m.start, m.end, m.text, f"states the number {m.text}"))
    return leaks


def _text_leaks(text: str, answer: str) -> list[Leak]:
    needle = " ".join(answer.split())
    if not needle:
        return []
    pattern = re.compile(
        r"(?<!\w)" + r"\s+".join(re.escape(w) for w in needle.split()) + r"(?!\w)", re.IGNORECASE
    )
    return [Leak(m.start(), m.end(), m.group(0), "states the answer text")
            for m in pattern.finditer(text)]


def find_leaks(text: str, problem: Problem) -> list[Leak]:
    answer = problem.answer
    if not answer or not text:
        return []
    leaks: list[Leak] = []
    number = parse_number(answer)
    if number is not None:
        leaks += _numeric_leaks(text, number, problem)
    elif problem.verifier == "choice" and problem.choices:
        index = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".index(answer)
        leaks += _text_leaks(text, problem.choices[index])
    else:
        leaks += _text_leaks(text, answer)
    return _merge(leaks)


def _merge(leaks: list[Leak]) -> list[Leak]:
    merged: list[Leak] = []
    for leak in sorted(leaks, key=lambda x: (x.start, -x.end)):
        if merged and leak.start < merged[-1].end:
            continue
        merged.append(leak)
    return merged


def redact(text: str, leaks: list[Leak]) -> str:
    out, pos = [], 0
    for leak in _merge(leaks):
        out.append(text[pos : leak.start])
        out.append(REDACTED)
        pos = leak.end
    out.append(text[pos:])
    return "".join(out)
