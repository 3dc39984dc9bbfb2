"""Finding and comparing numbers in free text.

Shared by the numeric verifier (is the student's attempt equal to the answer?) and the leak
guard (does the teacher's message state the answer?). Values are exact `Fraction`s so that
`0.1 + 0.2` style float noise never decides a verdict.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

_MINUS = "-\u2212\u2013"  # ASCII hyphen-minus, Unicode minus, en dash (common in LaTeX-ish output)
_ASCII_MINUS = str.maketrans(dict.fromkeys(_MINUS, "-"))

# A digit-based number: optional sign (only where it cannot be a binary minus, e.g. not "10-4"),
# thousands groups or plain digits, optional decimals, optional "/denominator", optional percent.
_DIGIT_NUMBER = re.compile(
    rf"""
    (?<![\w.,/])                          # not glued to a word, a decimal point or a fraction
    (?P<sign>(?<![\w)\]])[{_MINUS}+](?=\.?\d))?
    (?:
        (?P<int>\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?P<dec>\.\d+)?
      | (?P<lead>\.\d+)                     # a leading decimal point: ".5"
    )
    (?:\s?/\s?(?P<den>\d+(?:\.\d+)?)(?![\d.]\d))?
    (?P<pct>\s?(?:%|\\%|\s?percent\b))?
    (?![\w]|[.,/]\d)                      # not followed by more digits ("1,5", "1.2.3", "1/2/3")
    """,
    re.VERBOSE,
)

# "1 1/2" (mixed number) is matched separately because the plain pattern would read "1" and "1/2".
_MIXED_NUMBER = re.compile(
    r"(?<![\w.,/])(?P<whole>\d+)\s+(?P<num>\d+)/(?P<den>\d+)(?![\w]|[.,/]\d)"
)

# LaTeX fractions: \frac{3}{4}, \dfrac{3}{4}, \tfrac34, with an optional leading minus.
_LATEX_FRAC = re.compile(
    rf"(?P<sign>[{_MINUS}]\s*)?\\[dt]?frac\s*(?:\{{\s*(?P<num>[{_MINUS}]?\d+(?:\.\d+)?)\s*\}}|(?P<num1>\d))"
    r"\s*(?:\{\s*(?P<den>\d+(?:\.\d+)?)\s*\}|(?P<den1>\d))"
)

# Scientific notation: "6.02e23", "1.5E-3", "1.5 \\times 10^{-3}", "3 × 10^8", "2·10⁻⁴", and a
# bare power of ten ("10^6"). Physics and chemistry sets state answers so, and students too.
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
def _exponent_pattern(name: str) -> str:
    """`^{-3}`, `^-3` or `⁻³`, each in groups named `name` + 1, 2, 3."""
    return (rf"\^\s*(?:\{{\s*(?P<{name}1>[{_MINUS}+]?\d+)\s*\}}|(?P<{name}2>[{_MINUS}+]?\d+))"
            rf"|(?P<{name}3>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")


_SCIENTIFIC = re.compile(
    rf"""
    (?<![\w.,/^])
    (?:
        (?P<sign>(?<![\w)\]])[{_MINUS}+](?=\.?\d))?
        (?P<mant>\d+(?:\.\d+)?|\.\d+)
        (?:
            [eE](?P<e>[{_MINUS}+]?\d+)
          | [ \t]*(?:\\times|\\cdot|×|·|\*|x)[ \t]*10[ \t]*(?:{_exponent_pattern("m")})
        )
      | 10[ \t]*(?:{_exponent_pattern("b")})
    )
    (?![\w.]\d|[\w^])
    """,
    re.VERBOSE,
)

_SCIENTIFIC_HINT = re.compile(rf"\d[eE][{_MINUS}+]?\d|10[ \t]*[\^⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]")


def _exponent(m: re.Match[str]) -> int:
    for name in ("e", "m1", "m2", "b1", "b2"):
        if m.group(name):
            return int(m.group(name).translate(_ASCII_MINUS))
    return int((m.group("m3") or m.group("b3")).translate(_SUPERSCRIPTS))


_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
           "dozen": 12}
_NUMBER_WORD = re.compile(
    r"\b(?:" + "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# Between two number words: a hyphen, spaces, or " and " ("one hundred and five").
_WORD_JOINER = re.compile(r"(?:\s*-\s*|\s+and\s+|\s+)", re.IGNORECASE)


@dataclass(frozen=True)
class NumberMatch:
    """A number found in text: where it is, its exact value, and how it was written."""

    start: int
    end: int
    value: Fraction
    text: str
    percent: bool = False
    is_fraction: bool = False  # written as a/b (so a rounded decimal may legitimately stand for it)
    is_word: bool = False
    # Significant digits of a number in scientific notation ("6.02e23": 3), else None.
    significant: int | None = None


def _to_fraction(integer: str, decimals: str | None = None) -> Fraction:
    return Fraction(integer.replace(",", "") + (decimals or ""))


def _digit_matches(text: str) -> list[NumberMatch]:
    found: list[NumberMatch] = []
    taken: list[tuple[int, int]] = []

    def overlaps(start: int, end: int) -> bool:
        return any(start < e and s < end for s, e in taken)

    if _SCIENTIFIC_HINT.search(text):  # (a cheap test first: most texts have none)
        for m in _SCIENTIFIC.finditer(text):
            mantissa = Fraction(m.group("mant") or 1)
            if m.group("sign") and m.group("sign") != "+":
                mantissa = -mantissa
            value = mantissa * Fraction(10) ** _exponent(m)
            digits = (m.group("mant") or "").replace(".", "").lstrip("0")
            found.append(NumberMatch(m.start(), m.end(), value, m.group(0),
                                     significant=len(digits) or None))
            taken.append((m.start(), m.end()))

    for m in _LATEX_FRAC.finditer(text):
        num = m.group("num") or m.group("num1")
        den = m.group("den") or m.group("den1")
        if Fraction(den) == 0:
            continue
        value = Fraction(num.translate(_ASCII_MINUS)) / Fraction(den)
        if m.group("sign"):
            value = -value
        found.append(NumberMatch(m.start(), m.end(), value, m.group(0), is_fraction=True))
        taken.append((m.start(), m.end()))

    for m in _MIXED_NUMBER.finditer(text):
        if overlaps(m.start(), m.end()) or int(m.group("den")) == 0:
            continue
        value = int(m.group("whole")) + Fraction(int(m.group("num")), int(m.group("den")))
        found.append(NumberMatch(m.start(), m.end(), value, m.group(0), is_fraction=True))
        taken.append((m.start(), m.end()))

    for m in _DIGIT_NUMBER.finditer(text):
        if overlaps(m.start(), m.end()):
            continue
        value = _to_fraction(m.group("int") or "0", m.group("dec") or m.group("lead"))
        is_fraction = False
        if m.group("den"):
            den = Fraction(m.group("den"))
            if den == 0:
                continue
            value /= den
            is_fraction = True
        if m.group("sign") and m.group("sign") != "+":
            value = -value
        found.append(
            NumberMatch(m.start(), m.end(), value, m.group(0), bool(m.group("pct")), is_fraction)
        )
        taken.append((m.start(), m.end()))
    return found


def _words_value(words: list[str]) -> int | None:
    total, current, seen_any = 0, 0, False
    for raw in words:
        word = raw.lower()
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
        else:
            return None
        seen_any = True
    return total + current if seen_any else None


def _word_matches(text: str) -> list[NumberMatch]:
    """Runs of number words ("twenty-one", "one hundred and five") as single numbers."""
    found: list[NumberMatch] = []
    words = list(_NUMBER_WORD.finditer(text))
    i = 0
    while i < len(words):
        run = [words[i]]
        j = i + 1
        while j < len(words):
            gap = text[run[-1].end() : words[j].start()]
            if not _WORD_JOINER.fullmatch(gap):
                break
            # "and" only joins when a scale word precedes it ("hundred and five"),
            # so "two and three" stays two numbers.
            if "and" in gap.lower() and run[-1].group(0).lower() not in _SCALES:
                break
            # Two units in a row ("one two") are a list, not one number.
            if run[-1].group(0).lower() in _UNITS and words[j].group(0).lower() in _UNITS:
                break
            run.append(words[j])
            j += 1
        value = _words_value([w.group(0) for w in run])
        if value is not None:
            start, end = run[0].start(), run[-1].end()
            found.append(NumberMatch(start, end, Fraction(value), text[start:end], is_word=True))
        i = j
    return found


_DENOMINATORS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
    "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "seventh": 7, "sevenths": 7,
    "eighth": 8, "eighths": 8, "ninth": 9, "ninths": 9, "tenth": 10, "tenths": 10,
    "twelfth": 12, "twelfths": 12, "hundredth": 100, "hundredths": 100,
    "thousandth": 1000, "thousandths": 1000,
}
# A count then a denominator word: "three quarters", "two-thirds", "1 half". Singular
# denominators only after a count of one ("one third"), so the ordinal in "twenty third" or
# "the fifth" is never a fraction; "second" is never a denominator (it is a time or an ordinal).
_DENOMINATOR_AFTER = re.compile(
    r"[ \t]*-?[ \t]*(?P<den>" + "|".join(sorted(_DENOMINATORS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# "a half", "a quarter" (an article as the count; not "a third", which is usually an ordinal).
_ARTICLE_FRACTION = re.compile(
    r"\b(?P<a>an?)[ \t]+(?:(?P<den>half|quarter)\b"
    # "a third of", "a fifth." — not the ordinal of "a third option"
    r"|(?P<ord>third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|hundredth)"
    r"(?=[ \t]+of\b|[ \t]*(?:[.,;!?)]|$)))",
    re.IGNORECASE,
)
# "half" on its own is one half ("half of it was eaten", "half the class") unless it is applied
# to a number — "half of 30" is an operation left to the student — or is "in half", "halfway".
_BARE_HALF = re.compile(r"(?<![\w-])half\b(?![-\u2010])", re.IGNORECASE)
# "in half", "by half" (operations); "the first half", "the other half" (a part, named).
_HALF_NOUN_BEFORE = re.compile(
    r"\b(?:in|by|first|second|other|last|top|bottom|lower|upper|back|front|better|latter|"
    r"former)[ \t]+$",
    re.IGNORECASE,
)
_HALF_OPERATION = re.compile(
    r"[ \t]+(?:of[ \t]+)?(?:(?:a|an|the)[ \t]+)?(?:[-\u2212+$]?\d|"
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand|million|dozen)\b)|way\b|[ \t]+(?:past|time)\b",
    re.IGNORECASE,
)
# Between a whole number and a fraction: "one and a half", "2 and three quarters".
_AND_JOINER = re.compile(r"[ \t]+and[ \t]+", re.IGNORECASE)
# A digit number times a scale word: "2 million", "1.5 billion", "3 thousand" (not "5 hundred-
# dollar bills", where the scale word modifies what follows).
_DIGIT_SCALE = re.compile(
    r"[ \t]+(?P<scale>thousand|million|billion|hundred|dozen)\b(?!-)", re.IGNORECASE
)
# A sign in words: "negative five", "negative 5"; "minus five" only where no number precedes it
# ("the answer is minus five", not "ten minus five").
_NEGATIVE_WORD = re.compile(r"\bnegative[ \t]+$", re.IGNORECASE)
_UNARY_MINUS_WORD = re.compile(
    r"(?:^|[=:(,]|\b(?:is|be|was|equals|get|gives|makes|of)|['\u2019]s)[ \t]*\bminus[ \t]+$",
    re.IGNORECASE
)


def _compose(text: str, matches: list[NumberMatch]) -> list[NumberMatch]:
    """Join the numbers that are one quantity in words: digit × scale word, fraction words,
    "N and a half", and signs written as words. Keeps text order; each result is a span."""
    ms = sorted(matches, key=lambda m: m.start)
    out: list[NumberMatch] = []
    i = 0
    while i < len(ms):
        m = ms[i]
        nxt = ms[i + 1] if i + 1 < len(ms) else None
        plain = not m.percent and not m.is_fraction
        # 2 million
        if plain and not m.is_word and nxt is not None and nxt.is_word:
            sm = _DIGIT_SCALE.match(text, m.end)
            if sm and sm.end() == nxt.end:
                scale = _SCALES[sm.group("scale").lower()]
                out.append(NumberMatch(m.start, nxt.end, m.value * scale, text[m.start:nxt.end]))
                i += 2
                continue
        # three quarters, one third, 2 halves
        if plain and m.value == int(m.value) and m.value > 0:
            dm = _DENOMINATOR_AFTER.match(text, m.end)
            den_word = dm.group("den").lower() if dm else ""
            if dm and (den_word.endswith("s") or m.value == 1):
                value = m.value / _DENOMINATORS[den_word]
                out.append(NumberMatch(m.start, dm.end(), value, text[m.start:dm.end()],
                                       is_fraction=True, is_word=True))
                i += 1
                continue
        out.append(m)
        i += 1
    # a half, a quarter
    taken = [(m.start, m.end) for m in out]
    for am in _ARTICLE_FRACTION.finditer(text):
        if any(am.start() < e and s < am.end() for s, e in taken):
            continue
        value = Fraction(1, _DENOMINATORS[(am.group("den") or am.group("ord")).lower()])
        out.append(NumberMatch(am.start(), am.end(), value, am.group(0), is_fraction=True,
                               is_word=True))
        taken.append((am.start(), am.end()))
    for hm in _BARE_HALF.finditer(text):
        if any(hm.start() < e and s < hm.end() for s, e in taken):
            continue
        before = text[max(0, hm.start() - 12) : hm.start()]
        if _HALF_OPERATION.match(text, hm.end()) or _HALF_NOUN_BEFORE.search(before):
            continue
        out.append(NumberMatch(hm.start(), hm.end(), Fraction(1, 2), hm.group(0),
                               is_fraction=True, is_word=True))
    out.sort(key=lambda m: m.start)
    # one and a half
    joined: list[NumberMatch] = []
    for m in out:
        prev = joined[-1] if joined else None
        if (prev is not None and m.is_fraction and m.is_word and 0 < m.value < 1
                and not prev.is_fraction and not prev.percent and prev.value == int(prev.value)
                and _AND_JOINER.fullmatch(text, prev.end, m.start)):
            joined[-1] = NumberMatch(prev.start, m.end, prev.value + m.value,
                                     text[prev.start:m.end], is_fraction=True, is_word=True)
            continue
        joined.append(m)
    # negative five, the answer is minus 5
    signed: list[NumberMatch] = []
    for m in joined:
        if m.value > 0 and not m.text.lstrip().startswith(tuple(_MINUS + "+")):
            before = text[max(0, m.start - 40):m.start]
            sign = _NEGATIVE_WORD.search(before) or _UNARY_MINUS_WORD.search(before)
            if sign:
                word = re.search(r"(?:negative|minus)[ \t]+$", before, re.IGNORECASE)
                assert word is not None
                start = m.start - (len(before) - word.start())
                m = NumberMatch(start, m.end, -m.value, text[start:m.end], m.percent,
                                m.is_fraction, m.is_word)
        signed.append(m)
    return signed


# Every word `_word_matches` and `_compose` act on: number words, scale and fraction words,
# and signs in words (each as the start of a word; "fourteen" starts with "four").
_NUMBER_WORD_PARTS = frozenset([*_UNITS, *_TENS, *_SCALES, *_DENOMINATORS, "negative", "minus"])
_ANY_NUMBER_WORD = re.compile(
    r"\b(?:" + "|".join(sorted(_NUMBER_WORD_PARTS, key=len, reverse=True)) + ")",
    re.IGNORECASE,
)


def find_numbers(text: str, *, words: bool = True) -> list[NumberMatch]:
    """Every number stated in `text`, in order of position. "1400" is one number, never 14.

    Digits ("1,000", "-3.5", "3/4", "\\frac{3}{4}", "1 1/2", "50%") and, with `words`, number
    words ("twenty-one", "one hundred and five"), fraction words ("three quarters", "a half",
    "two and a half"), a digit number with a scale word ("2 million") and a sign in words
    ("negative five") are each one number.
    """
    matches = _digit_matches(text)
    # Most messages hold no number word at all; the word scan and the composing pass cost
    # more than the digit scan, and only change the result when such a word is there.
    if words and _ANY_NUMBER_WORD.search(text):
        matches = _compose(text, matches + _word_matches(text))
    return sorted(matches, key=lambda m: m.start)


_STRIP_WRAPPERS = re.compile(r"^(?:\\\(|\\\[|\$+)\s*|\s*(?:\\\)|\\\]|\$+)$")
_TEXT_WRAPPER = re.compile(r"\\(?:text|mathrm|textbf|mbox)\{([^{}]*)\}")


def strip_math_delimiters(text: str) -> str:
    """`$…$`, `\\(…\\)`, `\\[…\\]` around a whole answer are typesetting, not content."""
    return _STRIP_WRAPPERS.sub("", text.strip()).strip()


def normalize_numeric_text(text: str) -> str:
    """Strip the decorations that never change a number's value: markdown, LaTeX wrappers,
    currency signs, a trailing full stop."""
    s = text.strip().strip("*_`\"'")
    s = _TEXT_WRAPPER.sub(r"\1", s)
    s = s.replace("\\$", "$").replace("\\,", "").replace("{,}", ",").replace("\\!", "")
    s = _STRIP_WRAPPERS.sub("", s).strip()
    s = re.sub(r"^[$\u20ac\u00a3\u00a5]\s*", "", s)  # $ € £ ¥
    s = re.sub(r"^([" + _MINUS + r"])\s*[$\u20ac\u00a3\u00a5]\s*", r"\1", s)  # -$5
    s = s.rstrip(".").strip()
    return s


_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# Every word that can be part of one number written out; a text with any other word (and no
# LaTeX) is no number. Checked first: the general parse costs ≈ 0.1 ms, and QA sets have
# 100k text answers to load.
_NUMBER_VOCABULARY = _NUMBER_WORD_PARTS | {"and", "a", "an", "percent", "per", "cent"}
_LETTER_RUN = re.compile(r"[^\W\d_]+")
# Letters of scientific notation ("1.5e-3", "3 x 10^8"), allowed beside the number words.
_NOTATION_LETTERS = frozenset({"e", "E", "x"})


def parse_number(text: str) -> NumberMatch | None:
    """The value of `text` if the whole of it (after normalisation) is one number, else None."""
    if _PLAIN_NUMBER.fullmatch(text):  # most answers: skip the general parse (loading cost)
        return NumberMatch(0, len(text), Fraction(text), text)
    s = normalize_numeric_text(text)
    if not s:
        return None
    if "\\" not in s and any(w.lower() not in _NUMBER_VOCABULARY and w not in _NOTATION_LETTERS
                             for w in _LETTER_RUN.findall(s)):
        return None
    matches = find_numbers(s)
    if len(matches) == 1:
        m = matches[0]
        rest = (s[: m.start] + s[m.end :]).strip()
        if rest in ("", "%") or (m.is_word and rest == ""):
            return NumberMatch(0, len(text), m.value, text, m.percent or rest == "%",
                               m.is_fraction, m.is_word, m.significant)
    return None


def number_with_unit(answer: str) -> NumberMatch | None:
    """The number of an answer like "12 cm", "3 apples" or ASDiv's "9 (apples)": a number,
    then only words."""
    found = find_numbers(answer.strip())
    if len(found) != 1:
        return None
    m = found[0]
    if m.is_word:
        return None  # "One Direction" is a name, not a quantity with a unit
    rest = re.sub(r"[()]", "", answer.strip()[m.end :]).rstrip()
    only_words = re.fullmatch(r"\s+[^\W\d_]+(?:[ .][^\W\d_]+)*\.?", rest)
    if answer.strip()[: m.start].strip(" $€£") == "" and only_words:
        return m
    return None


def words_beside_numbers(text: str) -> list[str]:
    """The words of `text` that are no part of a number written out, lower-cased."""
    return [w.lower() for w in _LETTER_RUN.findall(text) if w.lower() not in _NUMBER_VOCABULARY]


# Between two different numbers of an attempt, these make it a hedge ("5 or 6", "5-6", "5 to 6",
# "between 5 and 6") or an unevaluated expression ("18 + 1", "3 × 4"): the student has not
# committed to either number.
_HEDGE_GAP = re.compile(
    r"\bor\b|^\s*(?:[-+*/^~\u2013\u2212\u00d7\u00f7\u00b7]|\\times|\\cdot|to)\s*$", re.IGNORECASE
)
_HEDGE_PREFIX = re.compile(r"\b(?:between|either)\b", re.IGNORECASE)


def number_in_attempt(attempt: str) -> NumberMatch | None:
    """The number a student's final answer commits to.

    A bare number wins; "x = 18" or "9 * 2 = 18" means what follows the last '='; otherwise the
    first number stated ("42 apples", "18 dollars (9 per hour)"). A hedge between different
    numbers ("5 or 6", "5-6", "between 5 and 6") or an unevaluated expression ("18 + 1")
    commits to none of them: None.
    """
    whole = parse_number(attempt)
    if whole is not None:
        return whole
    tail = attempt.rsplit("=", 1)[-1] if "=" in attempt else attempt
    tail = normalize_numeric_text(tail)
    matches = find_numbers(tail)
    if not matches:
        return None
    first = matches[0]
    for other in matches[1:]:
        if other.value == first.value:
            continue
        gap = tail[first.end : other.start]
        if _HEDGE_GAP.search(gap) or _HEDGE_PREFIX.search(tail[: first.start]):
            return None
    return first


def _decimals(m: NumberMatch) -> int | None:
    """Decimal places of a number written as a decimal ("0.33" → 2); None for "1/3", "7"."""
    if m.is_fraction:
        return None
    found = re.search(r"\.(\d+)", m.text)
    return len(found.group(1)) if found else None


# A decimal with this many places is a computed value printed whole (GSM-Hard's targets,
# Python's 0.3333333333333333), not a rounding anyone chose: like a fraction, it stands for
# an exact value that a decimal rounded to 2 or more places may state.
_MACHINE_PLACES = 10


def _stands_exact(m: NumberMatch) -> bool:
    return m.is_fraction or (_decimals(m) or 0) >= _MACHINE_PLACES


def _readings(m: NumberMatch, percent_other_side: bool) -> list[tuple[Fraction, int | None]]:
    """The values `m` may stand for, each with its decimal places: "50%" is 50 or, when the
    other side has no percent sign, 0.5 (two more decimal places: "33.33%" ≈ 0.3333)."""
    d = _decimals(m)
    readings = [(m.value, d)]
    if m.percent and not percent_other_side:
        readings.append((m.value / 100, None if d is None else d + 2))
    return readings


def _round_significant(value: Fraction, digits: int) -> Fraction:
    exponent = math.floor(math.log10(abs(value))) - digits + 1
    scale = Fraction(10) ** exponent
    return round(value / scale) * scale


def numbers_equal(a: NumberMatch, b: NumberMatch) -> bool:
    """Equal values, allowing for a percent sign on one side ("50%" vs "50" or "0.5") and for
    a rounded decimal standing for a fraction ("0.33" or "0.333" for "1/3", not "0.3") or
    for a float printed whole ("18.33" for GSM-Hard's 18.333333333333332).
    `b` is the reference: one in scientific notation to 3 or more significant digits
    ("6.02e23") is met by any value that rounds to it ("6.0221 × 10^23")."""
    if (b.significant is not None and b.significant >= 3 and a.value
            and not a.percent and not b.percent
            and _round_significant(a.value, b.significant) == b.value):
        return True
    for va, da in _readings(a, b.percent):
        for vb, db in _readings(b, a.percent):
            if va == vb or abs(va - vb) <= Fraction(1, 10**9) * max(Fraction(1), abs(vb)):
                return True
            # A decimal written to d ≥ 2 places equals a fraction (or a machine float's
            # long decimal) that rounds to it.
            for rounded_value, d, exact, exact_value in ((va, da, b, vb), (vb, db, a, va)):
                if (
                    d is not None and 2 <= d < _MACHINE_PLACES and _stands_exact(exact)
                    and abs(exact_value - rounded_value) <= Fraction(1, 2 * 10**d)
                ):
                    return True
    return False
