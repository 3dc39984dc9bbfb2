"""The leak guard (SPEC §5): the detector on a labelled set, its spans and redaction, the
policies as the engine applies them, and `sml sessions show` marking flagged spans."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
import time
from fractions import Fraction
from pathlib import Path

import pytest
from engine_fixtures import PROMPTS, contains_number, problem, run_session, session_info
from typer.testing import CliRunner

from sml_cli.engine import MAX_REGENERATIONS, Session
from sml_cli.guard import REDACTED, Leak, find_leaks, redact
from sml_cli.metrics import condition_scores
from sml_cli.numbers import find_numbers, number_in_attempt, parse_number
from sml_cli.problems import Problem
from sml_cli.records import DRAFT, MESSAGE, SessionInfo, Turn
from sml_cli.store import Store
from sml_cli.testing import (
    ScriptedParticipant,
    answer_copying_student,
    hinting_teacher,
    telling_teacher,
)

CASES_PATH = Path(__file__).parent / "data" / "leak_cases.jsonl"


def load_cases() -> list[dict]:
    with CASES_PATH.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def problem_of(case: dict) -> Problem:
    choices = case.get("choices")
    return Problem(
        id=case["id"], question=case["question"], answer=case.get("answer"),
        verifier=case["verifier"], choices=tuple(choices) if choices else None,
        solution=case.get("solution"), tests="pass" if case["verifier"] == "python" else None,
        source="leak_cases",
    )


CASES = load_cases()


def P(question: str, answer: str | None, verifier: str = "numeric", *,
      choices: list[str] | None = None, solution: str | None = None) -> Problem:
    return Problem(id="t", question=question, answer=answer, verifier=verifier,
                   choices=tuple(choices) if choices else None, solution=solution, source="t")


# ----------------------------------------------------------------------------- the labelled set


def test_labelled_set_is_well_formed() -> None:
    assert len(CASES) >= 150
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    non_leaks = sum(1 for c in CASES if not c["leak"])
    assert non_leaks / len(CASES) >= 0.40
    for c in CASES:
        assert {"id", "question", "answer", "verifier", "message", "leak", "note"} <= set(c), c
        assert c["verifier"] in ("numeric", "exact", "math", "choice", "regex", "python"), c
        assert isinstance(c["leak"], bool) and c["note"], c
        if c["verifier"] == "choice":
            assert c["choices"], c
    # the kinds the issue asks for are all there
    verifiers = {c["verifier"] for c in CASES}
    assert {"numeric", "exact", "math", "choice"} <= verifiers


def test_precision_and_recall_are_one_on_the_labelled_set() -> None:
    tp = fp = fn = 0
    wrong = []
    for case in CASES:
        predicted = bool(find_leaks(case["message"], problem_of(case)))
        if predicted and case["leak"]:
            tp += 1
        elif predicted:
            fp += 1
            wrong.append(("FP", case["id"], case["message"]))
        elif case["leak"]:
            fn += 1
            wrong.append(("FN", case["id"], case["message"]))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    assert (precision, recall) == (1.0, 1.0), wrong


@pytest.mark.parametrize("case", [c for c in CASES if c["leak"]], ids=lambda c: c["id"])
def test_spans_are_exact_and_redaction_removes_the_leak(case: dict) -> None:
    p = problem_of(case)
    message = case["message"]
    leaks = find_leaks(message, p)
    assert leaks
    for leak in leaks:
        assert message[leak.start : leak.end] == leak.text
        assert leak.text.strip() == leak.text and leak.reason
    assert all(a.end <= b.start for a, b in itertools.pairwise(leaks))  # merged
    redacted = redact(message, leaks)
    assert REDACTED in redacted
    assert find_leaks(redacted, p) == [], redacted  # what the student gets no longer leaks


# ----------------------------------------------------------------------------- spans, redact()

STAMPS = P("How many stamps does Ana have?", "7319")


@pytest.mark.parametrize(
    ("p", "message", "spans", "redacted"),
    [
        (P("What do they cost together?", "1000"), "It costs $1,000.", ["1,000"],
         "It costs $[redacted]."),
        (P("What do they cost together?", "1000"), "One thousand dollars, i.e. $1000.00.",
         ["One thousand", "1000.00"], "[redacted] dollars, i.e. $[redacted]."),
        (P("What part was eaten?", "0.75"), "75% of it, or three quarters.",
         ["75%", "three quarters"], "[redacted] of it, or [redacted]."),
        (P("What part was eaten?", "0.75"), r"It is $\frac{3}{4}$.", [r"\frac{3}{4}"],
         "It is $[redacted]$."),
        (P("What is the temperature?", "-5"), "Negative five, i.e. -5.",
         ["Negative five", "-5"], "[redacted], i.e. [redacted]."),
        (P("How many hours?", "2.5"), "Two and a half hours.", ["Two and a half"],
         "[redacted] hours."),
        (P("How many cookies?", "14"), "14, I repeat: 14. Not 1400.", ["14", "14"],
         "[redacted], I repeat: [redacted]. Not 1400."),
        (P("How long is it?", "12 cm", "exact"), "It is 12 cm.", ["12 cm"],
         "It is [redacted]."),  # the number and the text overlap: one merged span
        (P("Which planet is closest to the Sun?", "B", "choice",
           choices=["Venus", "Mercury", "Earth"]), "B) Mercury", ["B", "Mercury"],
         "[redacted]) [redacted]"),
        (P("Which planet is closest to the Sun?", "B", "choice",
           choices=["Venus", "Mercury", "Earth"]), "The answer is (B).", ["B"],
         "The answer is ([redacted])."),
        (P("Capital of the US?", "Washington, D.C.", "exact"), "It's washington dc!",
         ["washington dc"], "It's [redacted]!"),
        (P("Find sin 60 degrees exactly.", r"\frac{\sqrt{3}}{2}", "math"),
         "It is sqrt(3)/2.", ["sqrt(3)/2"], "It is [redacted]."),
        (P("Find sin 60 degrees exactly.", r"\frac{\sqrt{3}}{2}", "math"),
         r"$x = \frac{\sqrt{12}}{4}$", [r"\frac{\sqrt{12}}{4}"], "$x = [redacted]$"),
        (P("How many molecules are in a mole?", "6.02e23"), "About 6.022 × 10^23 of them.",
         ["6.022 × 10^23"], "About [redacted] of them."),
        (P("How many metres in 1000 km?", "1000000"), "That is 10^6 m.", ["10^6"],
         "That is [redacted] m."),
        (STAMPS, "The answer is 7319.", ["7319"], "The answer is [redacted]."),
        (STAMPS, "It is one more than 7318.", [], "It is one more than 7318."),
    ],
)
def test_spans_and_redaction(p: Problem, message: str, spans: list[str], redacted: str) -> None:
    leaks = find_leaks(message, p)
    assert [x.text for x in leaks] == spans
    assert redact(message, leaks) == redacted


def test_code_paste_is_one_span_from_first_to_last_line() -> None:
    solution = "def add_all(xs):\n    total = 0\n    for x in xs:\n        total += x\n" \
               "    return total\n"
    p = P("Write add_all(xs).", None, "python", solution=solution)
    message = "Try:\n```python\n" + solution + "```\nGood luck."
    (leak,) = find_leaks(message, p)
    assert leak.text == solution.strip()
    assert redact(message, [leak]) == "Try:\n```python\n[redacted]\n```\nGood luck."
    assert find_leaks("Keep a running `total = 0` and loop.", p) == []
    # no solution, no answer: nothing to detect
    assert find_leaks(message, P("Write add_all(xs).", None, "python")) == []


def test_redact_merges_overlapping_and_unsorted_spans() -> None:
    text = "abcdefghij"
    leaks = [Leak(6, 8, "gh", "x"), Leak(1, 4, "bcd", "x"), Leak(3, 5, "de", "y")]
    assert redact(text, leaks) == "a[redacted]f[redacted]ij"
    assert redact(text, []) == text


def test_no_answer_or_empty_message_finds_nothing() -> None:
    assert find_leaks("", STAMPS) == []
    assert find_leaks("   ", STAMPS) == []
    assert find_leaks("The answer is 7319.", P("q", None, "python")) == []


def test_numbers_in_the_question_and_the_fraction_parts_are_public() -> None:
    p = P("What is 3/8 of 64?", "24")
    assert find_leaks("Multiply 64 by 3, then divide by 8.", p) == []
    assert [x.text for x in find_leaks("You get 24.", p)] == ["24"]
    # the answer itself is in the question: numeric detection is off for the problem
    off = P("What is the denominator of 3/8?", "8")
    assert find_leaks("It's 8.", off) == []


def test_the_word_one_for_the_answer_one() -> None:
    p = P("How many more red marbles than blue (7 red, 6 blue)?", "1")
    for idiom in ["One more step: subtract.", "One of them is bigger.", "Which one?",
                  "Take it one step at a time.", "no one", "one by one", "one-on-one help",
                  "What is one more than 6?", "I'm 100% sure you can do it.",
                  "Step 1: subtract."]:
        assert find_leaks(idiom, p) == [], idiom
    for statement in ["There is one more red marble.", "Exactly one!", "1 more red marble",
                      "Just one marble.", "7 - 6 = 1"]:
        assert find_leaks(statement, p), statement


def test_a_discourse_noun_of_the_question_is_a_quantity() -> None:
    stairs = P("A tower has 2 flights of 7 steps. How many steps in all?", "14")
    assert find_leaks("There are 14 steps.", stairs)
    bus = P("52 students, 35 per bus: how many buses?", "2")
    assert find_leaks("Let's do this in two steps.", bus) == []
    assert find_leaks("You need two buses.", bus)


@pytest.mark.parametrize("answer", ["true", "yes", "True."])
def test_a_yes_no_answer_leaks_in_either_word(answer: str) -> None:
    """The verifier takes "yes" for a "true" answer (BoolQ), so the guard guards both words,
    asserted; a "yes" that answers something else, or the other truth value, is not a leak."""
    convex = P("Is x^2 convex?", answer, "exact")
    for message in ("The answer is yes.", "Yes.", "The answer is true.", "It's true."):
        assert find_leaks(message, convex), message
    for message in ("Yes, you're on the right track: what is the second derivative?",
                    "The answer is no.", "Is that true for every x?"):
        assert not find_leaks(message, convex), message


def test_an_option_letter_of_options_in_the_question_is_guarded_as_a_choice() -> None:
    """BIG-Bench Hard's "(B)" with the options in the question: naming the letter or the
    option's text as the answer leaks; comparing the options does not."""
    bbh = P("Which sentence has the correct adjective order?\nOptions:\n"
            "(A) rubber terrible ship\n(B) terrible rubber ship", "(B)", "exact")
    for message in ("The answer is (B).", "Go with terrible rubber ship.", "B"):
        assert find_leaks(message, bbh), message
    for message in ("Think about opinion before material.", "Is it (A) or (B)? Compare them."):
        assert not find_leaks(message, bbh), message


def test_math_candidates_stay_cheap_on_long_messages() -> None:
    p = P("Find sin 60 degrees exactly.", r"\frac{\sqrt{3}}{2}", "math")
    find_leaks("warm up sqrt(3)/2", p)  # imports math-verify once
    long = " ".join(f"Consider $x^{i} + {i}$ and the word number{i}." for i in range(300))
    t0 = time.perf_counter()
    assert find_leaks(long, p) == []
    assert time.perf_counter() - t0 < 3.0


def test_numeric_detection_is_fast() -> None:
    long = "Think about it. " * 500 + "The answer is 7319."
    find_leaks(long, STAMPS)
    t0 = time.perf_counter()
    for _ in range(20):
        (leak,) = find_leaks(long, STAMPS)
    assert (time.perf_counter() - t0) / 20 < 0.05
    assert leak.text == "7319"


# ----------------------------------------------------------------------------- numbers.py


@pytest.mark.parametrize(
    ("text", "value", "span"),
    [
        ("three quarters", Fraction(3, 4), "three quarters"),
        ("two-thirds of it", Fraction(2, 3), "two-thirds"),
        ("a half", Fraction(1, 2), "a half"),
        ("one and a half hours", Fraction(3, 2), "one and a half"),
        ("2 and a half", Fraction(5, 2), "2 and a half"),
        ("negative five", -5, "negative five"),
        ("the answer is minus 5", -5, "minus 5"),
        ("2 million people", 2_000_000, "2 million"),
        ("1.5 billion", 1_500_000_000, "1.5 billion"),
        ("a dozen eggs", 12, "dozen"),
        ("two dozen", 24, "two dozen"),
    ],
)
def test_find_numbers_reads_quantities_in_words(text: str, value: object, span: str) -> None:
    (m,) = find_numbers(text)
    assert m.value == value and m.text == span and text[m.start : m.end] == span


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("ten minus five", [10, 5]),  # binary minus
        ("half of 30", [30]),  # "half" without a count is an operation, not a number
        ("the twenty third day", [20]),  # an ordinal, not 20/3
        ("a third option", []),
        ("5 hundred-dollar bills", [5, 100]),
    ],
)
def test_find_numbers_leaves_operations_and_ordinals(text: str, values: list) -> None:
    assert [m.value for m in find_numbers(text)] == [Fraction(v) for v in values]


def test_attempts_in_words_are_read_whole() -> None:
    assert number_in_attempt("negative five").value == -5  # type: ignore[union-attr]
    assert parse_number("three quarters").value == Fraction(3, 4)  # type: ignore[union-attr]
    assert parse_number("2 million").value == 2_000_000  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- the policies


PROBLEMS = [
    problem("7319", question="How many stamps does Ana have?", id="a"),
    problem("40123", question="A baker fills crates of rolls. How many rolls in all?", id="b"),
    problem("51234", question="A train carries sacks of grain. How many sacks?", id="c"),
]


def _run(p: Problem, teacher_script, guard: str, *, max_turns: int = 3,
         student_script=answer_copying_student):
    student = ScriptedParticipant(student_script, "student")
    teacher = ScriptedParticipant(teacher_script, "teacher")
    info, turns = run_session(p, "answer", student, teacher, max_turns=max_turns, guard=guard)
    return info, turns, student, teacher


def _student_saw(student: ScriptedParticipant, answer: str) -> bool:
    return any(contains_number(m["content"], answer) for req in student.requests for m in req)


def test_redact_is_the_default_policy() -> None:
    import inspect

    from sml_cli import cli

    assert SessionInfo.__dataclass_fields__["guard"].default == "redact"
    for command in (cli.eval_command, cli.chat_command):
        assert inspect.signature(command).parameters["guard"].default == "redact"


def test_telling_teacher_under_default_redact_never_reaches_the_student() -> None:
    infos = []
    for p in PROBLEMS:
        info, turns, student, teacher = _run(p, telling_teacher, "redact")
        infos.append(info)
        assert info.status == "done"
        public = [t for t in turns if t.role == "teacher" and t.visibility == "public"]
        drafts = [t for t in turns if t.kind == DRAFT]
        assert public and len(drafts) == len(public)
        for row in public:
            assert row.kind == MESSAGE and row.guard_action == "redact"
            assert row.content == "The answer is [redacted]."
            assert not contains_number(row.content, p.answer)  # type: ignore[arg-type]
        for draft in drafts:  # the original stays in the teacher-private log
            assert draft.visibility == "teacher" and draft.leak
            assert draft.guard_action == "redact"
            assert draft.content == f"The answer is {p.answer}."
            assert [draft.content[s:e] for s, e in draft.leak_spans or []] == [p.answer]
        assert info.leaks == len(drafts) and not info.solved
        assert not _student_saw(student, p.answer)  # type: ignore[arg-type]
        # the teacher was told the answer: it is the guard, not ignorance, that protects
        assert any(p.answer in m["content"] for m in teacher.requests[0])  # type: ignore[operator]
    assert condition_scores(infos, 3)["leak_rate"] == 1.0


def test_telling_teacher_under_flag_reaches_the_student() -> None:
    infos = []
    for p in PROBLEMS:
        info, turns, student, _ = _run(p, telling_teacher, "flag")
        infos.append(info)
        public = [t for t in turns if t.role == "teacher" and t.visibility == "public"]
        assert public[0].leak and public[0].guard_action == "flag"
        assert public[0].content == f"The answer is {p.answer}."
        assert [public[0].content[s:e] for s, e in public[0].leak_spans or []] == [p.answer]
        assert not [t for t in turns if t.kind == DRAFT]
        assert _student_saw(student, p.answer)  # type: ignore[arg-type]
        assert info.solved and info.solved_at_turn == 2  # it copied what the teacher said
    assert condition_scores(infos, 3)["leak_rate"] == 1.0


def test_regenerate_asks_again_with_a_reminder_then_redacts() -> None:
    p = PROBLEMS[0]
    info, turns, student, teacher = _run(p, telling_teacher, "regenerate", max_turns=2)
    # one teacher turn (after student turn 1): the reply and MAX_REGENERATIONS retries
    assert len(teacher.requests) == 1 + MAX_REGENERATIONS
    for retry in teacher.requests[1:]:
        assert retry[-2] == {"role": "assistant", "content": "The answer is 7319."}
        assert retry[-1]["role"] == "user"
        assert "was not shown to the student" in retry[-1]["content"]
        assert "states the number 7319" in retry[-1]["content"]
    drafts = [t for t in turns if t.kind == DRAFT]
    assert len(drafts) == 1 + MAX_REGENERATIONS
    assert all(d.leak and d.visibility == "teacher" and d.guard_action == "regenerate"
               for d in drafts)
    (public,) = [t for t in turns if t.role == "teacher" and t.visibility == "public"]
    assert public.content == "The answer is [redacted]." and public.guard_action == "redact"
    assert info.leaks == 3 and not _student_saw(student, "7319")
    assert condition_scores([info], 2)["leak_rate"] == 1.0


def test_regenerate_that_succeeds_sends_the_new_reply_and_still_counts_the_leak() -> None:
    p = PROBLEMS[0]
    info, turns, student, teacher = _run(
        p, ["It is 7319.", "Think: it is one more than 7318."], "regenerate", max_turns=2)
    assert len(teacher.requests) == 2
    (draft,) = [t for t in turns if t.kind == DRAFT]
    assert draft.content == "It is 7319." and draft.leak
    (public,) = [t for t in turns if t.role == "teacher" and t.visibility == "public"]
    assert public.content == "Think: it is one more than 7318." and not public.leak
    assert public.guard_action == "regenerate"
    assert info.leaks == 1 and not _student_saw(student, "7319")


@pytest.mark.parametrize("guard", ["flag", "redact", "regenerate"])
def test_hinting_teacher_never_leaks(guard: str) -> None:
    infos = []
    for p in PROBLEMS:
        info, turns, student, _ = _run(p, hinting_teacher, guard)
        infos.append(info)
        assert info.leaks == 0 and not [t for t in turns if t.kind == DRAFT or t.leak]
        assert any("one more than" in m["content"] for req in student.requests for m in req)
        assert not _student_saw(student, p.answer)  # type: ignore[arg-type]
    assert condition_scores(infos, 3)["leak_rate"] == 0.0


# ----------------------------------------------------------------------------- sessions show


def _stored_session(db: Path, guard: str) -> str:
    p = PROBLEMS[0]
    store = Store(db)
    try:
        store.save_problems([p])
        info: SessionInfo = session_info(p, "answer", max_turns=2, guard=guard,
                                         session_id=f"show-{guard}")
        store.create_session(info)
        student = ScriptedParticipant(["Final answer: 1"], "student")
        teacher = ScriptedParticipant(telling_teacher, "teacher")
        asyncio.run(Session(info, p, student, teacher, PROMPTS, store).run())
        return info.id
    finally:
        store.close()


@pytest.mark.parametrize(("guard", "label"), [("redact", "teacher draft (redact)"),
                                              ("flag", "guard: flag")])
def test_sessions_show_marks_the_flagged_row(tmp_path: Path, guard: str, label: str) -> None:
    from sml_cli.cli import app

    db = tmp_path / "show.db"
    sid = _stored_session(db, guard)
    result = CliRunner().invoke(app, ["sessions", "show", sid, "--db", str(db)],
                                catch_exceptions=False, terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "The answer is 7319." in result.output  # the flagged original, in the full view
    assert label in result.output
    if guard == "redact":
        assert "The answer is [redacted]." in result.output
        assert "guard: redact" in result.output


def test_sessions_show_highlights_the_span(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """With colours on, the flagged span (and only it) carries the highlight style."""
    from rich.console import Console

    from sml_cli import console_views

    db = tmp_path / "hl.db"
    sid = _stored_session(db, "redact")
    buffer = io.StringIO()
    monkeypatch.setattr(console_views, "console", Console(
        file=buffer, force_terminal=True, color_system="standard", width=160, highlight=False))
    with Store(db) as store:
        info = store.session(sid)
        turns: list[Turn] = store.turns(sid)
        console_views.print_transcript(info, store.problem(info.problem_key), turns)
    out = buffer.getvalue()
    (draft,) = [t for t in turns if t.kind == DRAFT]
    assert draft.leak_spans == [(14, 18)]
    # "bold white on red" immediately around 7319, not around the rest of the sentence
    assert re.search(r"\x1b\[1;37;41m7319\x1b\[0m", out), out
    assert not re.search(r"\x1b\[1;37;41mThe answer", out)


# ----------------------------------------------------------------------------- sml eval


@pytest.mark.parametrize(("teacher", "guard", "leak_rate", "student_saw_answer"), [
    ("telling", "redact", 1.0, False),
    ("telling", "flag", 1.0, True),
    ("telling", "regenerate", 1.0, False),
    ("hinting", "redact", 0.0, False),
])
def test_sml_eval_guard_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, teacher: str,
                                 guard: str, leak_rate: float, student_saw_answer: bool) -> None:
    """`sml eval --guard P` against a stub endpoint: the student model's requests hold the
    answer only when the guard lets it through."""
    from sml_cli.cli import app
    from sml_cli.testing import StubServer, by_model

    rows = [{"id": p.id, "question": p.question, "answer": p.answer} for p in PROBLEMS]
    problems_file = tmp_path / "p.jsonl"
    problems_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    behaviour = telling_teacher if teacher == "telling" else hinting_teacher
    server = StubServer(by_model(student=answer_copying_student, teacher=behaviour)).start()
    try:
        monkeypatch.setenv("OPENAI_API_BASE", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.delenv("SML_DB", raising=False)
        out = tmp_path / "out.json"
        result = CliRunner().invoke(app, [
            "eval", "--student", "openai/student", "--teacher", "openai/teacher",
            "--problems", str(problems_file), "--conditions", "answer", "--max-turns", "3",
            "--guard", guard, "--db", str(tmp_path / "e.db"), "--json", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        scores = json.loads(out.read_text())["conditions"]["answer"]
        assert scores["n_errors"] == 0
        assert scores["leak_rate"] == leak_rate
        saw = any(contains_number(m["content"], r["answer"])
                  for req in server.messages_seen("student") for m in req for r in rows)
        assert saw is student_saw_answer
        assert scores["success_rate"] == (1.0 if student_saw_answer else 0.0)
    finally:
        server.stop()
