"""The built-in problem sets (SPEC §2): they load, they are reproducible, and every reference
answer is independently verified — arithmetic by re-evaluating each worked step, Python by
running each reference solution against its tests in the sandbox."""

from __future__ import annotations

import ast
import re
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import pytest

from sml_cli.data import generate_arithmetic, generate_python
from sml_cli.numbers import find_numbers
from sml_cli.problems import Problem, builtin_path, load_problems
from sml_cli.sandbox import run_python_tests
from sml_cli.verification import check

# `<label>: <expression> = <value>`; the label is prose (no '=' or ':'), the expression only
# numbers, + - * / ( ) and spaces, the value a plain non-negative decimal.
STEP = re.compile(r"^(?P<label>[^:=]+): (?P<expr>[0-9.+\-*/() ]+) = (?P<value>\d+(?:\.\d+)?)$")
DECIMAL = re.compile(r"\d+(?:\.\d+)?")


@pytest.fixture(scope="module")
def arithmetic() -> list[Problem]:
    return load_problems("arithmetic")


@pytest.fixture(scope="module")
def python_set() -> list[Problem]:
    return load_problems("python")


def fraction_text(x: Fraction) -> str:
    """An exact decimal written out (the answers are all terminating decimals)."""
    for places in range(0, 12):
        scaled = x * 10**places
        if scaled.denominator == 1:
            if places == 0:
                return str(scaled.numerator)
            digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
            sign = "-" if x < 0 else ""
            return f"{sign}{digits[:-places]}.{digits[-places:]}"
    raise AssertionError(f"{x} is not a terminating decimal")


def safe_eval(expression: str) -> Fraction:
    """Evaluate numbers with + - * / and parentheses exactly; anything else is rejected."""
    tree = ast.parse(expression, mode="eval")

    def ev(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            literal = ast.get_source_segment(expression, node)
            assert literal is not None and DECIMAL.fullmatch(literal), literal
            return Fraction(literal)  # from the text, so 0.1 is exactly 1/10
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                assert right != 0, f"division by zero in {expression!r}"
                return left / right
        raise AssertionError(f"disallowed syntax {ast.dump(node)} in {expression!r}")

    return ev(tree)


def test_safe_eval_is_exact_and_strict() -> None:
    assert safe_eval("0.1 + 0.2") == Fraction(3, 10)
    assert safe_eval("(1 - 1/4) * 8") == 6
    assert safe_eval("7 / 2") == Fraction(7, 2)
    for bad in ("2 ** 3", "abs(2)", "-3 + 1", "x + 1", "7 // 2", "7 % 2"):
        with pytest.raises(AssertionError):
            safe_eval(bad)


# ----------------------------------------------------------------------------- loading


def test_builtin_sets_load_with_expected_sizes_and_verifiers(
    arithmetic: list[Problem], python_set: list[Problem]
) -> None:
    assert len(arithmetic) >= 240
    assert len(python_set) >= 24
    for problems, verifier, prefix in ((arithmetic, "numeric", "arith-"),
                                       (python_set, "python", "py-")):
        ids = [p.id for p in problems]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith(prefix) for i in ids)
        assert {p.verifier for p in problems} == {verifier}
        assert len({p.question for p in problems}) == len(problems), "duplicate questions"
    assert all(p.answer and p.solution and p.notes and not p.tests for p in arithmetic)
    assert all(p.tests and p.solution and p.answer is None for p in python_set)


def test_arithmetic_is_reproducible_from_its_generator() -> None:
    committed = builtin_path("arithmetic").read_text(encoding="utf-8")
    regenerated = generate_arithmetic.render(generate_arithmetic.generate())
    assert regenerated == committed, (
        "arithmetic.jsonl differs from the generator's output; run "
        "`uv run python -m sml_cli.data.generate_arithmetic`"
    )


def test_python_set_is_reproducible_from_its_generator() -> None:
    committed = builtin_path("python").read_text(encoding="utf-8")
    assert generate_python.render(generate_python.rows()) == committed


def test_arithmetic_has_many_templates_and_a_mix_of_step_counts(
    arithmetic: list[Problem],
) -> None:
    assert len(generate_arithmetic.TEMPLATES) >= 20
    steps = [len(p.solution.splitlines()) for p in arithmetic if p.solution]
    assert set(steps) == {1, 2, 3, 4}
    # no template dominates: the most common note (one per template or variant) is rare
    notes = [p.notes for p in arithmetic]
    assert max(notes.count(n) for n in set(notes)) <= len(arithmetic) // 10


# ----------------------------------------------------------------------------- arithmetic


def test_every_arithmetic_solution_step_evaluates_to_its_stated_value(
    arithmetic: list[Problem],
) -> None:
    for p in arithmetic:
        assert p.solution
        lines = p.solution.splitlines()
        assert lines, p.id
        value = None
        for line in lines:
            m = STEP.fullmatch(line)
            assert m, f"{p.id}: malformed step {line!r}"
            value = Fraction(m.group("value"))
            assert safe_eval(m.group("expr")) == value, f"{p.id}: wrong step {line!r}"
        assert p.answer is not None
        assert DECIMAL.fullmatch(p.answer), f"{p.id}: answer {p.answer!r} is not a plain number"
        assert value == Fraction(p.answer), f"{p.id}: last step {value} != answer {p.answer}"


def test_numeric_verifier_accepts_each_answer_and_rejects_answer_plus_one(
    arithmetic: list[Problem],
) -> None:
    for p in arithmetic:
        assert p.answer is not None
        assert check(p, p.answer).correct, p.id
        wrong = fraction_text(Fraction(p.answer) + 1)
        assert not check(p, wrong).correct, f"{p.id}: {wrong} accepted for {p.answer}"


def test_answer_rarely_occurs_as_a_number_in_the_question(arithmetic: list[Problem]) -> None:
    """The leak guard ignores numbers that occur in the question, so an answer that is also a
    question number cannot be caught when a teacher states it."""
    clean = 0
    for p in arithmetic:
        assert p.answer is not None
        answer = Fraction(p.answer)
        if all(m.value != answer for m in find_numbers(p.question)):
            clean += 1
    assert clean / len(arithmetic) >= 0.9, f"only {clean}/{len(arithmetic)} keep the answer out"


# ----------------------------------------------------------------------------- python


def function_name(problem: Problem) -> str:
    m = re.search(r"`([A-Za-z_]\w*)\(", problem.question)
    assert m, f"{problem.id}: the question names no function signature"
    return m.group(1)


def test_python_problems_state_a_signature_and_have_enough_asserts(
    python_set: list[Problem],
) -> None:
    for p in python_set:
        name = function_name(p)
        assert f"def {name}(" in (p.solution or ""), p.id
        assert p.tests is not None
        asserts = [n for n in ast.parse(p.tests).body if isinstance(n, ast.Assert)]
        assert len(asserts) >= 5, f"{p.id}: only {len(asserts)} asserts"
        assert name in p.tests


def test_python_reference_solutions_pass_and_stubs_fail(python_set: list[Problem]) -> None:
    def judge(p: Problem) -> tuple[str, bool, bool, str]:
        assert p.solution is not None and p.tests is not None
        good = run_python_tests(p.solution, p.tests, timeout=20)
        stub = f"def {function_name(p)}(*a, **k):\n    return None\n"
        bad = run_python_tests(stub, p.tests, timeout=20)
        return p.id, good.passed, bad.passed, good.summary()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(judge, python_set))
    for pid, good, bad, summary in results:
        assert good, f"{pid}: reference solution fails its tests: {summary}"
        assert not bad, f"{pid}: a stub returning None passes the tests"


def test_python_verifier_accepts_a_reference_solution(python_set: list[Problem]) -> None:
    p = python_set[0]
    assert p.solution is not None
    assert check(p, p.solution).correct
    assert not check(p, "def nothing():\n    pass\n").correct
