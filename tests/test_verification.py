"""Answer extraction (SPEC §3) and every verifier (SPEC §2): equivalent forms must pass,
near-misses must fail."""

from __future__ import annotations

import threading

import pytest

from sml_cli.problems import Problem, builtin_path, load_problems, make_problem
from sml_cli.verification import (
    Attempt,
    check,
    exact_equal,
    extract_attempt,
    is_question,
    math_equal,
    normalize_text,
    numeric_equal,
    regex_match,
)


def extracted(message: str, **kw: bool) -> str | None:
    attempt = extract_attempt(message, **kw)
    return None if attempt is None else attempt.text


# ----------------------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Final answer: 42", "42"),
        ("final answer: 42", "42"),
        ("FINAL ANSWER: 42", "42"),
        ("final ANSWER: 42", "42"),
        ("So... Final Answer:   42  ", "42"),
        ("Final answer - 42", "42"),
        ("final answer \u2014 42", "42"),
        ("The final answer is: Paris", "Paris"),
        ("Final answer is -5", "-5"),
        ("Final answer: -5", "-5"),
        ("final answer = 9", "9"),
        ("The final answer is 12.", "12."),
        ("The final answer: 9", "9"),
        ("**Final Answer:** 42", "42"),
        ("**Final answer**: 42", "42"),
        ("__Final answer:__ 42", "42"),
        ("Final answer: **42**", "42"),
        ("Final answer:\n42", "42"),
        # The bold marker alone on its line, the answer below (GPT-4o's habit).
        ("**Final Answer:**\n\n42", "42"),
        ("__Final answer:__\n7 apples", "7 apples"),
        # Emphasis around the whole line or the answer is formatting, not the answer.
        ("*Final answer: 1/2*", "1/2"),
        ("_Final answer: 7_", "7"),
        ("Final answer: *Paris*", "Paris"),
        ("Final answer: 42 apples.", "42 apples."),
        ("Final answer: $18.", "$18."),
        ("Final answer: 3\nwait, no.\nFinal answer: 5", "5"),  # last one wins
        ("ANSWER: 7", "7"),
        ("Some reasoning.\nANSWER: 7", "7"),
        (r"\boxed{42}", "42"),
        (r"so $\boxed{12}$.", "12"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),  # nested braces
        (r"so \boxed{x^{2}} ok", "x^{2}"),
        (r"\boxed{\frac{\sqrt{2}}{2}}", r"\frac{\sqrt{2}}{2}"),
        (r"Final answer: \boxed{3}", "3"),  # one attempt, not the text "\boxed{3}"
        (r"Final answer: \boxed{\frac{1}{2}} .", r"\frac{1}{2}"),
        (r"\boxed{1} then Final answer: 2", "2"),
        (r"Final answer: 2 and later \boxed{3}", "3"),
        ("Final answer: 4\nANSWER: 5", "5"),
        # A heading without a colon, the answer on the next line (chat models' markdown).
        ("Work.\n\n### Final Answer\n42", "42"),
        ("**Final Answer**\n\n42 apples", "42 apples"),
        ("## **Final answer**\n$\\frac{1}{2}$", "$\\frac{1}{2}$"),
        ("### Final Answer\n2\n\nFinal answer: 3", "3"),
    ],
)
def test_extract_attempt(message: str, expected: str) -> None:
    assert extracted(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "",
        "I think it is 42.",
        "my answer: 5",  # only upper-case ANSWER: is a marker
        "Answer: 5",
        "What is the final answer?",
        "Is the answer 42?",
        "finalanswer: 5",
        "Final answers: 5",
        "Final answer:",
        "Final answer:   ",
        r"\boxed{}",
        r"\boxed 5",
        "We still need a final answer\n42",  # no heading marks: prose
        "### Final Answer\n",
        "**Final answer:**",
        "**Final answer:**\n\n",
    ],
)
def test_extract_attempt_none(message: str) -> None:
    assert extract_attempt(message) is None


def test_marker_dash_never_eats_a_minus_sign() -> None:
    assert extracted("Final answer -5") != "5"


def test_extract_attempt_returns_marker_position() -> None:
    message = "Thinking...\nFinal answer: 7"
    attempt = extract_attempt(message)
    assert attempt == Attempt("7", message.index("Final"))


CODE_MESSAGE = (
    "First try:\n```python\ndef f():\n    return 1\n```\nBetter:\n```python\ndef f():\n"
    "    return 2\n```\nFinal answer: the function above"
)


def test_code_mode_picks_last_fenced_block() -> None:
    assert extracted(CODE_MESSAGE, code=True) == "def f():\n    return 2"


@pytest.mark.parametrize("fence", ["```", "```python", "```py", "```Python3"])
def test_code_mode_fence_languages(fence: str) -> None:
    message = f"Final answer:\n{fence}\nx = 1\n```\n"
    assert extracted(message, code=True) == "x = 1"


def test_code_mode_without_block_takes_text_after_marker() -> None:
    assert extracted("Final answer: def f(): return 1", code=True) == "def f(): return 1"


def test_code_mode_needs_a_marker() -> None:
    assert extract_attempt("```python\ndef f(): return 2\n```", code=True) is None


def test_is_question() -> None:
    assert is_question("Is it more than 10?")
    assert not is_question("I think it is 10.")


# ----------------------------------------------------------------------------- numeric


@pytest.mark.parametrize(
    ("reference", "attempt"),
    [
        ("1000", "1,000"),
        ("1,000", "1000"),
        ("1000", "$1,000.00"),
        ("3", "3.0"),
        ("3.0", "3"),
        ("42", "42 apples"),
        ("42", "42."),
        ("42", "$42"),
        ("42", "**42**"),
        ("42", "`42`"),
        ("42", r"\(42\)"),
        ("42", "forty-two"),
        ("18", "x = 18"),
        ("18", "9*2 = 18"),
        ("-3", "x = -3"),
        ("0.5", "50%"),
        ("50%", "0.5"),
        ("1/3", "0.33"),
        ("0.75", "3/4"),
        ("2.5", "2 1/2"),
        ("0.5", r"\frac{1}{2}"),
        ("0.5", ".5"),
        # Scientific notation on either side (SciBench, physics and chemistry sets).
        ("1000000", "1e6"),
        ("1000000", r"1 \times 10^6"),
        ("0.0015", "1.5 × 10⁻³"),
        ("6.02e23", "6.02 \\times 10^{23}"),
        ("1.5e-3", "0.0015"),
        # A reference to 3+ significant digits is met by a value that rounds to it.
        ("6.02e23", "6.0221e23"),
        ("2.998 \\times 10^8", "299792458"),
    ],
)
def test_numeric_passes(reference: str, attempt: str) -> None:
    assert numeric_equal(reference, attempt)


@pytest.mark.parametrize(
    ("reference", "attempt"),
    [
        ("1400", "14"),
        ("14", "1400"),
        ("42", "41"),
        ("42", "4 2"),
        ("42", ""),
        ("42", "forty"),
        ("0.5", "0.54"),
        ("6", "10-4"),
        ("5", "5 or 6"),
        ("42", "about 40 or 42"),
        ("5", "6, no 5"),
        ("3", "3/4"),
        ("1000", "1,5"),
        ("15", "1,5"),
        ("-3", "3"),
        ("18", "x = 18 + 1"),
        ("6.02e23", "6.03e23"),
        ("6.02e23", "6.0e23"),  # coarser than the reference
        ("2.998 \\times 10^8", "3e8"),
        ("1.5e-3", "1.52e-3"),  # two significant digits: exact only
        ("1e3", "1400"),
        ("1000", "1.2e3"),  # an exact reference is not rounded to meet the attempt
    ],
)
def test_numeric_fails(reference: str, attempt: str) -> None:
    assert not numeric_equal(reference, attempt)


# ----------------------------------------------------------------------------- exact


@pytest.mark.parametrize(
    ("reference", "attempt"),
    [
        ("Paris", "paris"),
        ("Paris", "PARIS"),
        ("Paris", " Paris. "),
        ("Paris", "Paris!"),
        ("Paris", "**Paris**"),
        ("Paris", '"Paris"'),
        ("New York", "new  york"),
        ("New York", "New\tYork"),
        ("True", "true"),
        ("x", r"\text{x}"),
        ("Paris", r"$\text{Paris}$"),  # typeset as maths, as chat models do
        ("Paris", r"\(\text{Paris}\)"),
        ("Pacific Ocean", "the Pacific Ocean"),  # articles, as SQuAD-style exact match
        ("The Beatles", "beatles"),
        ("an apple", "Apple"),
        ("a", "A"),
        ("true", "Yes"),  # yes/no datasets store booleans (BoolQ, StrategyQA)
        ("false", "no."),
        ("yes", "True"),
        # Punctuation inside the text, which SQuAD-style exact match also ignores (SimpleQA's
        # and TriviaQA's names and dates are written with it, attempts often without)
        ("Ulysses S. Grant", "ulysses s grant"),
        ("June 11, 1997", "June 11 1997"),
        ("U.S.A.", "USA"),
        ("the U.S.", "US"),
        ("well-known", "well known"),
        ("O'Brien", "OBrien"),
        # No letters: spacing means nothing (a ratio, a clock time)
        ("2:3", "2 : 3"),
        ("3:45", "3 : 45"),
    ],
)
def test_exact_passes(reference: str, attempt: str) -> None:
    assert exact_equal(reference, attempt)


@pytest.mark.parametrize(
    ("reference", "attempt"),
    [
        ("Paris", "Pariss"),
        ("Paris", "London"),
        ("2:3", "3 : 2"),
        ("2:3", "2:30"),
        ("12", "1 2"),
        ("Paris", "Paris, France"),
        ("New York", "NewYork"),
        ("yes", "no"),
        ("true", "no"),
        ("false", "yes"),
        ("true", "maybe"),
        ("Paris", ""),
        ("a", "the"),  # an answer that is an article is compared as it is
        ("the", ""),
        ("Pacific Ocean", "the Atlantic Ocean"),
        # …but not punctuation that is part of a number
        ("2.5 cups", "25 cups"),
        ("2:3", "23"),
        ("-5 degrees", "5 degrees"),
        ("1,000 people", "1000 people"),  # (that one is numeric's business, not exact's)
        ("C#", "C"),
    ],
)
def test_exact_fails(reference: str, attempt: str) -> None:
    assert not exact_equal(reference, attempt)


@pytest.mark.parametrize(("reference", "attempt", "right"), [
    ("72 clips", "72", True),
    ("72 clips", "72 clips", True),
    ("72 clips", "72 clip", True),
    ("72 clips", "seventy-two clips", True),
    ("72 clips", "the 72 clips", True),
    ("$72 dollars", "$72", True),
    ("9 (apples)", "9 apples", True),  # ASDiv writes the unit in parentheses
    ("9 (apples)", "9", True),
    ("72 clips", "72 apples", False),  # another unit is another answer
    ("72 clips", "73 clips", False),
    ("72 clips", "72 or 73", False),
    ("4 days", "4 weeks", False),
])
def test_a_quantity_with_its_unit(reference: str, attempt: str, right: bool) -> None:
    """An `exact` answer that is a number with a unit takes the number alone, or with that
    unit: "72" answers "72 clips"."""
    problem = make_problem("How many clips did Natalia sell?", reference)
    assert problem.verifier == "exact"
    assert check(problem, attempt).correct is right


BBH_QUESTION = ("Which sentence has the correct adjective order?\nOptions:\n"
                "(A) rubber terrible ship\n(B) terrible rubber ship")


@pytest.mark.parametrize(("attempt", "right"), [
    ("(B)", True), ("B", True), ("b", True), ("B) terrible rubber ship", True),
    ("(B) terrible rubber ship", True), ("terrible rubber ship", True),
    ("(A)", False), ("A", False), ("rubber terrible ship", False), ("B or A", False),
    ("(B) rubber terrible ship", False),  # B's letter with A's text names no option
])
def test_an_option_letter_of_options_written_into_the_question(attempt: str,
                                                              right: bool) -> None:
    """BIG-Bench Hard: the target is "(B)" and the options are part of the input text. The
    student's "B" or "(B) terrible rubber ship" names that option as much as "(B)" does."""
    problem = make_problem(BBH_QUESTION, "(B)")
    assert problem.verifier == "exact"
    assert check(problem, attempt).correct is right


def test_a_letter_answer_without_options_in_the_question_is_plain_text() -> None:
    problem = make_problem("Which grade did Ann get, A or B?", "B")
    assert check(problem, "B").correct and not check(problem, "(B) terrible").correct


def test_a_latex_set_is_verified_as_maths() -> None:
    """MATH's set answers, \\{1,2\\}: LaTeX by its escaped braces, so `auto` picks `math`,
    which takes the elements in any order and without braces."""
    problem = make_problem("Solve x^2 - 3x + 2 = 0.", r"\{1,2\}")
    assert problem.verifier == "math"
    for attempt in ("1, 2", "2,1", "{1,2}", r"\{1, 2\}"):
        assert check(problem, attempt).correct, attempt
    assert not check(problem, "1").correct and not check(problem, "1, 3").correct


def test_an_equation_solved_for_a_variable_is_verified_as_maths() -> None:
    problem = make_problem("Solve 2x + 1 = 11.", "x = 5")
    assert problem.verifier == "math"
    assert check(problem, "5").correct and check(problem, "x=5").correct
    assert not check(problem, "x = 6").correct


def test_normalize_text() -> None:
    assert normalize_text("  **Hello   World.** ") == "hello world"


# ----------------------------------------------------------------------------- math


@pytest.mark.parametrize(
    ("reference", "attempt"),
    [
        (r"\frac{1}{2}", "0.5"),
        (r"\frac{1}{2}", "1/2"),
        ("0.5", r"\frac{1}{2}"),
        (r"\frac12", "0.5"),
        (r"2\sqrt{2}", r"\sqrt{8}"),
        ("x^2+2x+1", "(x+1)^2"),
        ("(x+1)^2", "x^2+2x+1"),
        ("x^2+2x+1", "(x+1)**2"),
        ("2x", "x*2"),
        (r"\sqrt{2}/2", r"\frac{1}{\sqrt{2}}"),
        (r"\pi", r"\pi"),
        (r"\{1,2\}", r"\{2,1\}"),
        ("[2, 3]", "2, 3"),  # a list answer given without its brackets
        ("[2, 3]", "[2,3]"),
        ("x=2", "2"),
        (r"\frac{1}{3}", "0.33"),
        # typed as chat models and people write maths
        (r"2\sqrt{3}", "2√3"),
        (r"2\sqrt{3}", "√12"),
        (r"2\sqrt{3}", "2√(3)"),
        (r"2\sqrt{3}", "2 sqrt 3"),
        (r"\frac{\pi}{2}", "π/2"),
        (r"\frac{\pi}{2}", "pi/2"),
        ("x^2+1", "x²+1"),
        ("6", "2×3"),
        # repeating decimals as MATH writes them
        (r"0.\overline{3}", "1/3"),
        (r"\frac{4}{11}", r"0.\overline{36}"),
        (r"\frac{1}{6}", r"0.1\overline{6}"),
        (r"-\frac{7}{3}", r"-2.\overline{3}"),
        # a vector as MATH writes it (a one-column matrix) and as a tuple, either way round
        (r"\begin{pmatrix} 1 \\ -2 \end{pmatrix}", "(1, -2)"),
        (r"\begin{pmatrix} 1 \\ -2 \end{pmatrix}", "[1, -2]"),
        (r"\begin{pmatrix} \frac{1}{2} \\ 3 \end{pmatrix}", "⟨0.5, 6/2⟩"),
        (r"\begin{bmatrix} -\frac{1}{2} & 3 \end{bmatrix}", "(-1/2, 3)"),
        ("(1, -2)", r"$\begin{pmatrix} 1 \\ -2 \end{pmatrix}$"),
        (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}"),
        # a last term that is one letter after a space (math-verify took it for a unit and
        # dropped it: "x^2 + c" was read as "x^2 +", so nothing met it)
        ("f(x) = x^2 + c", "f(x)=x^2+c"),
        ("f(x) = x^2 + c", "f(x) = c + x^2"),
        ("x + m", "m+x"),
        # an interval reference met by the inequality it is (math-verify only matched the
        # other way round), and the converse
        (r"(3,\infty)", "x>3"),
        (r"(-1, 3)", "-1<x<3"),
        (r"[2,5]", r"2\le x\le 5"),
        (r"[3,\infty)", r"x \geq 3"),
        ("x > 3", r"(3, \infty)"),
    ],
)
def test_math_passes(reference: str, attempt: str) -> None:
    assert math_equal(reference, attempt)


@pytest.mark.parametrize(
    ("reference", "attempt"),
    [
        ("x^2+2x+1", "(x-1)^2"),
        (r"2\sqrt{2}", r"\sqrt{6}"),
        (r"\frac{1}{2}", r"\frac{1}{3}"),
        (r"\frac{1}{3}", "0.3"),
        (r"\frac{1}{6}", r"0.\overline{16}"),
        ("2x", "2y"),
        ("x^2", "x^3"),
        ("(1,2)", "(2,1)"),
        ("[0,1]", "[0,1)"),
        (r"\pi", "3.14159"),
        ("3", "hello"),
        ("3", ""),
        ("3", r"\frac{3"),  # unparsable LaTeX is simply wrong
        (r"2\sqrt{3}", "3√2"),
        (r"\frac{\pi}{2}", "π"),
        ("x^2+1", "x³+1"),
        ("[2, 3]", "3, 2"),
        ("[2, 3]", "2"),
        ("[0, 1]", "0, 2"),
        (r"\begin{pmatrix} 1 \\ -2 \end{pmatrix}", "(-2, 1)"),
        (r"\begin{pmatrix} 1 \\ -2 \end{pmatrix}", "(1, -2, 0)"),
        (r"\begin{pmatrix} 1 \\ -2 \end{pmatrix}", "(1, 2)"),
        ("(1, -2)", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
        # a 2×2 matrix is no vector: its entries in a tuple do not meet it
        (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", "(1, 2, 3, 4)"),
        (r"(3,\infty)", "x>4"),
        (r"(3,\infty)", r"x\ge 3"),  # the end point is left out
        (r"(3,\infty)", "x<3"),
    ],
)
def test_math_fails(reference: str, attempt: str) -> None:
    assert not math_equal(reference, attempt)


def test_math_rejects_overlong_attempt_quickly() -> None:
    assert not math_equal("1", "+".join(["x"] * 500))


def test_math_works_off_the_main_thread() -> None:
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(math_equal(r"2\sqrt{2}", r"\sqrt{8}")))
    thread.start()
    thread.join(60)
    assert results == [True]


# ----------------------------------------------------------------------------- regex


@pytest.mark.parametrize(
    ("pattern", "attempt", "ok"),
    [
        (r"\d+", "42", True),
        (r"\d+", " 42 ", True),  # surrounding whitespace is stripped
        (r"\d+", "42a", False),  # full match, not search
        (r"\d+", "a42", False),
        ("(yes|no)", "yes", True),
        ("(yes|no)", "Yes", False),
        ("(?i)(yes|no)", "Yes", True),
        ("[", "x", False),  # a broken pattern never matches (and never raises)
    ],
)
def test_regex(pattern: str, attempt: str, ok: bool) -> None:
    assert regex_match(pattern, attempt) is ok


# ----------------------------------------------------------------------------- check()


def problem(**kw: object) -> Problem:
    fields: dict = {"id": "1", "question": "q?", "answer": "42", "verifier": "numeric"}
    fields.update(kw)
    return Problem(**fields)


def test_check_numeric_verdict() -> None:
    good = check(problem(), "42 apples")
    assert good.correct and good.summary == "correct" and good.attempt == "42 apples"
    bad = check(problem(), "41")
    assert not bad.correct and bad.summary == "incorrect"
    assert "42" not in bad.summary


@pytest.mark.parametrize(
    ("verifier", "answer", "right", "wrong"),
    [
        ("numeric", "1400", "1,400", "14"),
        ("exact", "Paris", "paris.", "London"),
        ("math", r"\frac{1}{2}", "0.5", "0.25"),
        ("regex", r"\d{3}", "123", "12"),
    ],
)
def test_check_dispatches_to_verifier(verifier: str, answer: str, right: str, wrong: str) -> None:
    p = problem(verifier=verifier, answer=answer)
    assert check(p, right).correct
    assert not check(p, wrong).correct
    assert answer not in check(p, wrong).summary


CHOICES = ("Paris", "London", "Berlin", "Madrid")


@pytest.mark.parametrize(
    "attempt",
    [
        "B",
        "b",
        "(b)",
        "(B)",
        "B)",
        "B.",
        "Option B",
        "choice b",
        "London",
        "london.",
        "B) London",
        "(B) London",
        "**B**",
        "B - London",
        "B, London",
        # Worded as a sentence, or the letter after the text.
        "The answer is B",
        "The correct answer is (B) London",
        "It's B",
        "I choose b",
        "London (B)",
    ],
)
def test_choice_passes(attempt: str) -> None:
    assert check(problem(verifier="choice", answer="B", choices=CHOICES), attempt).correct


@pytest.mark.parametrize(
    "attempt",
    ["A", "C", "Paris", "E", "1", "", "A or B", "B or C", "B) Paris", "I think B", "BB", "(B",
     "The answer is A or B", "The answer is", "Paris (B)", "London (C)"],
)
def test_choice_fails(attempt: str) -> None:
    assert not check(problem(verifier="choice", answer="B", choices=CHOICES), attempt).correct


def test_choice_reference_letter_is_read_as_a_letter() -> None:
    # Options that are themselves letters: the stored reference "A" means the first option.
    p = problem(verifier="choice", answer="A", choices=("B", "A"))
    assert check(p, "(A) B").correct
    assert not check(p, "(B) A").correct


def test_choice_invalid_reference_never_matches() -> None:
    p = problem(verifier="choice", answer="Z", choices=CHOICES)
    assert not check(p, "nonsense").correct  # None == None must not count as a match


def test_check_python() -> None:
    tests = "assert add(1, 2) == 3\nassert add(-1, 1) == 0"
    p = problem(verifier="python", answer=None, tests=tests)
    good = check(p, "def add(a, b):\n    return a + b")
    assert good.correct and good.summary.startswith("correct")
    bad = check(p, "def add(a, b):\n    return a - b")
    assert not bad.correct and bad.summary.startswith("incorrect")
    assert "add(1, 2) == 3" in bad.summary  # the teacher is told which test failed


@pytest.mark.skipif(not builtin_path("arithmetic").exists(), reason="built-in set not written")
def test_builtin_arithmetic_answers_verify_through_the_extractor() -> None:
    for p in load_problems("arithmetic"):
        attempt = extract_attempt(f"Let me work it out.\n**Final Answer:** {p.answer}")
        assert attempt is not None, p.id
        assert check(p, attempt.text).correct, p.id
        assert not check(p, "1400000000").correct, p.id


@pytest.mark.parametrize(
    ("answer", "right", "wrong"),
    [
        # CRUXEval's outputs are Python literals: a value, not text to match loosely
        ("'HI'", ["'HI'", '"HI"', "HI", "`'HI'`"], ["'hi'", "hi", "'HI!'"]),
        ("{1: None, 2: None}", ["{2: None, 1: None}", "{1:None,2:None}"],
         ["[1, None, 2, None]", "{1: None}", "1, 2"]),
        ("[(4, 1), (2, 3)]", ["[(4,1), (2,3)]"], ["[(2, 3), (4, 1)]", "[[4, 1], [2, 3]]"]),
        ("(3, 4)", ["3, 4", "(3,4)"], ["[3, 4]", "(4, 3)"]),
        ("'7'", ["'7'", "7"], ["'8'"]),
    ],
)
def test_exact_compares_a_literal_reference_as_a_value(
    answer: str, right: list[str], wrong: list[str]
) -> None:
    p = problem(verifier="exact", answer=answer)
    assert [check(p, a).correct for a in right] == [True] * len(right)
    assert [check(p, a).correct for a in wrong] == [False] * len(wrong)
    # Text answers are matched as before: not literals, or literals of another kind.
    assert check(problem(verifier="exact", answer="Paris"), "paris.").correct
    assert check(problem(verifier="exact", answer="U.S."), "US").correct


def test_options_written_as_aops_latex_answer_an_exact_letter() -> None:
    """AMC problems as AoPS and LiveBench write them: the options set in maths with
    \\textbf{(B)}/\\mathrm{(B)} marks and \\qquad between them; LiveBench also asks for the
    letter five times ("BBBBB")."""
    livebench = problem(verifier="exact", answer="B", question=(
        r"What is $2+2$? $\textbf{(A) }3\qquad\textbf{(B) }4\qquad\textbf{(C) }5\qquad"
        r"\textbf{(D) }6\qquad\textbf{(E) }7$ If you cannot determine the correct answer, "
        "take your best guess. Then write the letter five times, e.g. FFFFF."))
    assert [check(livebench, a).correct for a in ("B", "(B) 4", "4", "BBBBB", "b")] == [True] * 5
    assert [check(livebench, a).correct for a in ("A", "3", "AAAAA", "7", "F")] == [False] * 5
    aops = problem(verifier="exact", answer="C", question=(
        r"How many? $\mathrm{(A)}\ 2 \qquad \mathrm{(B)}\ 3 \qquad \mathrm{(C)}\ 4$"))
    assert check(aops, "4").correct and check(aops, "(C)").correct
    assert not check(aops, "3").correct


def test_several_right_options_are_met_by_the_same_letters_in_any_order() -> None:
    """JEEBench's MCQ(multiple): the gold "BCD" names three of the options the question
    lists; any order and spelling of exactly those letters meets it."""
    p = problem(verifier="exact", answer="BCD", question=(
        "Which are vectors?\n(A) mass\n(B) velocity\n(C) force\n(D) momentum"))
    assert [check(p, a).correct for a in ("BCD", "CBD", "B, C, D", "(B), (C) and (D)",
                                          "B C D")] == [True] * 5
    assert [check(p, a).correct for a in ("BC", "ABCD", "BBCD", "B, C, E", "A")] == [False] * 5
    # Without options in the question, letters are only text.
    assert not check(problem(verifier="exact", answer="BCD", question="Spell it."), "CBD").correct
