"""Finding, parsing and comparing numbers in free text (SPEC §5 normalisation)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from sml_cli.numbers import (
    find_numbers,
    normalize_numeric_text,
    number_in_attempt,
    numbers_equal,
    parse_number,
)


def values(text: str, **kw: bool) -> list[Fraction]:
    return [m.value for m in find_numbers(text, **kw)]


def texts(text: str) -> list[str]:
    return [m.text for m in find_numbers(text)]


# ----------------------------------------------------------------------------- find_numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1400", [1400]),
        ("She paid 1400 dollars", [1400]),
        ("It costs 1,000 dollars", [1000]),
        ("1,000,000", [1_000_000]),
        ("1,000.5", [Fraction(2001, 2)]),
        ("-1,000", [-1000]),
        ("$5", [5]),
        ("3.0", [3]),
        ("3.14", [Fraction(314, 100)]),
        (".5", [Fraction(1, 2)]),
        ("costs .5 dollars", [Fraction(1, 2)]),
        ("-.5", [Fraction(-1, 2)]),
        ("3/4", [Fraction(3, 4)]),
        ("3 / 4", [Fraction(3, 4)]),
        (r"\frac{3}{4}", [Fraction(3, 4)]),
        (r"\dfrac{3}{4}", [Fraction(3, 4)]),
        (r"\tfrac34", [Fraction(3, 4)]),
        (r"-\frac{1}{2}", [Fraction(-1, 2)]),
        ("1 1/2", [Fraction(3, 2)]),
        ("1.5/3", [Fraction(1, 2)]),
        ("-5", [-5]),
        ("+5", [5]),
        ("\u22127", [-7]),  # Unicode minus
        ("x=-3", [-3]),
        ("(-3)", [-3]),
        ("10-4", [10, 4]),  # subtraction: 4, not -4
        ("10 - 4", [10, 4]),
        ("fourteen", [14]),
        ("Forty-Two", [42]),
        ("twenty-one", [21]),
        ("ninety nine", [99]),
        ("one hundred and five", [105]),
        ("one thousand two hundred", [1200]),
        ("two and three", [2, 3]),  # "and" joins only after a scale word
        ("one two", [1, 2]),  # a list of units, not one number
        ("1, 2 and 3", [1, 2, 3]),
        # Scientific notation is one number (physics and chemistry answers).
        ("1e3", [1000]),
        ("6.02E+23", [Fraction("6.02e23")]),
        ("1.5e-3", [Fraction(3, 2000)]),
        (r"1.5 \times 10^{-3}", [Fraction(3, 2000)]),
        ("3 × 10^8 m/s", [300_000_000]),
        ("2·10⁻⁴", [Fraction(2, 10_000)]),
        ("4.2 x 10^5", [420_000]),
        (r"-2.5\cdot10^{2}", [-250]),
        ("10^6", [1_000_000]),
        ("10^{-2}", [Fraction(1, 100)]),
        ("10²³", [10**23]),
        ("2^10", [2, 10]),  # a power of two stays two numbers
        ("3 x 10", [3, 10]),  # a product, not notation: no exponent
    ],
)
def test_find_numbers_values(text: str, expected: list) -> None:
    assert values(text) == [Fraction(v) for v in expected]


@pytest.mark.parametrize(
    "text",
    [
        "1,5",  # a European decimal or a list: not 1.5, not 15
        "0,5",
        "12,34",
        "1,0000",
        "1.2.3",  # a version number
        "1/2/3",  # a date, not the fraction 1/2
        "12/25/2024",
        "5/0",  # no value
        "v2",
        "x2",
        "2e",  # no exponent
        "a1e3",  # glued to a word
        "end.5",
        "",
        "no numbers here",
    ],
)
def test_find_numbers_rejects(text: str) -> None:
    assert find_numbers(text) == []


def test_1400_is_never_14() -> None:
    for text in ["1400", "1,400", "$1400", "1400.", "(1400)", "1400%"]:
        assert Fraction(14) not in values(text), text
        assert len(find_numbers(text)) == 1, text


def test_percent_flag() -> None:
    for text in ["50%", "50 %", r"50\%", "50 percent"]:
        (m,) = find_numbers(text)
        assert m.value == 50 and m.percent, text
    (m,) = find_numbers("50")
    assert not m.percent


def test_fraction_flag() -> None:
    assert find_numbers("3/4")[0].is_fraction
    assert find_numbers(r"\frac{3}{4}")[0].is_fraction
    assert find_numbers("1 1/2")[0].is_fraction
    assert not find_numbers("0.75")[0].is_fraction


def test_word_flag_and_switch() -> None:
    (m,) = find_numbers("fourteen")
    assert m.is_word and m.value == 14
    assert find_numbers("fourteen", words=False) == []
    assert values("fourteen and 3", words=False) == [3]


def test_positions_and_text_are_spans_of_the_input() -> None:
    text = "He had 1,000 apples and gave away twenty-one, i.e. 2.5%."
    for m in find_numbers(text):
        assert text[m.start : m.end] == m.text
    assert texts(text) == ["1,000", "twenty-one", "2.5%"]


def test_results_are_in_text_order() -> None:
    text = "twelve then 3 then \\frac{1}{2} then 1 1/4"
    starts = [m.start for m in find_numbers(text)]
    assert starts == sorted(starts)
    assert values(text) == [12, 3, Fraction(1, 2), Fraction(5, 4)]


def test_no_float_noise() -> None:
    (m,) = find_numbers("0.1")
    assert m.value == Fraction(1, 10)


# ----------------------------------------------------------------------------- parse_number


@pytest.mark.parametrize(
    ("text", "value", "percent"),
    [
        ("1,000", 1000, False),
        ("$1,000.00", 1000, False),
        ("3.0", 3, False),
        ("3", 3, False),
        ("5.", 5, False),
        ("50%", 50, True),
        ("5 %", 5, True),
        (r"5\%", 5, True),
        ("**42**", 42, False),
        ("`42`", 42, False),
        (r"\$5", 5, False),
        ("$5$", 5, False),
        ("$$5$$", 5, False),
        (r"\(5\)", 5, False),
        (r"\[5\]", 5, False),
        (r"\text{5}", 5, False),
        ("-$5", -5, False),
        ("\u20ac3", 3, False),
        ("\u00a33", 3, False),
        ("twenty-one", 21, False),
        ("1/2", Fraction(1, 2), False),
        ("3 / 4", Fraction(3, 4), False),
        ("1 1/2", Fraction(3, 2), False),
        (r"\frac{1}{2}", Fraction(1, 2), False),
        ("0.5", Fraction(1, 2), False),
        ("  7  ", 7, False),
    ],
)
def test_parse_number(text: str, value: object, percent: bool) -> None:
    m = parse_number(text)
    assert m is not None, text
    assert m.value == value
    assert m.percent is percent


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "42 apples", "x = 18", "1,5", "1 2", "5 or 6", "1.2.3", r"\boxed{5}", "- 5"],
)
def test_parse_number_rejects_non_numbers(text: str) -> None:
    assert parse_number(text) is None


def test_normalize_numeric_text() -> None:
    assert normalize_numeric_text(" **$1,000.** ") == "1,000"
    assert normalize_numeric_text(r"\(\$5\)") == "5"
    assert normalize_numeric_text(r"\text{12}") == "12"
    assert normalize_numeric_text("-$5") == "-5"


# ----------------------------------------------------------------------------- number_in_attempt


@pytest.mark.parametrize(
    ("attempt", "value"),
    [
        ("42", 42),
        ("42 apples", 42),
        ("x = 18", 18),
        ("9*2 = 18", 18),
        ("9 * 2 = 18", 18),
        ("x = -3", -3),
        ("x = 1/2", Fraction(1, 2)),
        ("18 dollars (9 per hour)", 18),
        ("The answer is 7", 7),
        ("approximately 3.5", Fraction(7, 2)),
        ("-4", -4),
        ("$1,000.00", 1000),
        ("either 5 or 5", 5),  # the same number twice is no hedge
        ("5 or so", 5),
    ],
)
def test_number_in_attempt(attempt: str, value: object) -> None:
    m = number_in_attempt(attempt)
    assert m is not None
    assert m.value == value


@pytest.mark.parametrize(
    "attempt",
    [
        "",
        "I don't know",
        "5 or 6",  # a hedge commits to nothing
        "about 40 or 42",
        "5-6",
        "5 to 6",
        "between 5 and 6",
        "x = 5 or 6",
        "5 (or maybe 6)",
        "10-4",  # an expression, not its value
        "18 + 1",
        "3 \u00d7 4 boxes",
        r"3 \times 4",
    ],
)
def test_number_in_attempt_none(attempt: str) -> None:
    assert number_in_attempt(attempt) is None


# ----------------------------------------------------------------------------- numbers_equal


def eq(a: str, b: str) -> bool:
    ma, mb = parse_number(a), parse_number(b)
    assert ma is not None and mb is not None, (a, b)
    return numbers_equal(ma, mb) and numbers_equal(mb, ma)  # symmetric


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1000", "1,000"),
        ("3", "3.0"),
        ("3", "3.000"),
        ("50%", "0.5"),
        ("50%", "0.50"),
        ("50%", "50"),
        ("100", "100%"),
        ("75%", "3/4"),
        ("12.5%", "1/8"),
        ("33.33%", "1/3"),
        ("0.33", "1/3"),
        ("0.333", "1/3"),
        ("0.67", "2/3"),
        ("-0.33", "-1/3"),
        (r"\frac{1}{3}", "0.33"),
        ("0.125", "1/8"),
        ("0.13", "1/8"),  # 1/8 = 0.125 rounds either way
        ("0.12", "1/8"),
        ("2.5", "5/2"),
        ("2.5", "2 1/2"),
        ("0.1", "1/10"),
        ("fourteen", "14"),
        # A float printed whole (GSM-Hard's targets) stands for an exact value, as a fraction
        ("18.33", "18.333333333333332"),
        ("0.333", "0.3333333333333333"),
        ("-1.67", "-1.6666666666666667"),
    ],
)
def test_numbers_equal(a: str, b: str) -> None:
    assert eq(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("14", "1400"),
        ("42", "41"),
        ("0.5", "0.54"),
        ("0.3", "1/3"),  # one decimal place is too coarse to stand for 1/3
        ("0.66", "2/3"),  # truncated, not rounded
        ("0.14", "1/8"),
        ("0.5%", "50"),
        ("-1/3", "0.33"),
        ("3", "3/4"),
        ("0.33", "0.333"),  # two decimals are not fractions: no rounding slack
        ("3.14", "3.14159"),
        ("1", "0.999"),
        ("18.3", "18.333333333333332"),  # one place is too coarse, as for 1/3
        ("18.34", "18.333333333333332"),
        ("18", "18.333333333333332"),
    ],
)
def test_numbers_not_equal(a: str, b: str) -> None:
    assert not eq(a, b)
