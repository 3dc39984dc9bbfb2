"""Answer extraction and verifiers (SPEC §2, §3).

`extract_attempt` finds the student's final answer in a message; `check` compares it with the
problem's reference using the problem's verifier. A `Verdict.summary` is what the teacher may
see in the `verifier` condition: it says right/wrong (and which tests failed), never the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sml_cli.cells import python_literal
from sml_cli.numbers import (
    normalize_numeric_text,
    number_in_attempt,
    number_with_unit,
    numbers_equal,
    parse_number,
    strip_math_delimiters,
    words_beside_numbers,
)
from sml_cli.problems import Problem, choice_index, extract_boxed, options_in_question

# "Final answer: X" in any case, tolerating markdown emphasis around the marker
# ("**Final Answer:** 42", "Final answer - 42"). X runs to the end of the line.
_FINAL_ANSWER = re.compile(
    r"(?:\*\*|__)?(?<![^\W_])final\s+answer\b\s*(?:\*\*|__)?\s*"
    r"(?:is\b(?:\s*:)?|[:=]|[\-–—](?=\s))\s*"  # "is", "is:", ":", "=", or a dash then a space
    # (after a bold marker the answer may start the next line: "**Final Answer:**\n\n42")
    r"(?:\*\*|__)?\s*(?P<x>[^\n]*)",
    re.IGNORECASE,
)
# A markdown heading or bold line with no colon, the answer on the next line ("### Final
# Answer\n42"), as chat models format it. The heading marks are required: in prose the words
# "final answer" alone commit to nothing.
_FINAL_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*(?:\*\*|__)?|\*\*|__)[ \t]*final\s+answer[ \t]*(?:\*\*|__)?[ \t]*"
    r"\n\s*(?P<x>[^\n]+)",
    re.IGNORECASE | re.MULTILINE,
)
# "ANSWER: X" is the inspect_ai / eval-harness convention; upper case only, so that ordinary
# prose ("my answer: maybe…") is not mistaken for an attempt.
_ANSWER_COLON = re.compile(r"\bANSWER\s*:[ \t]*(?P<x>[^\n]*)")
_CODE_BLOCK = re.compile(
    r"```[ \t]*(?:python|py|python3)?[ \t]*\n(?P<code>.*?)```", re.DOTALL | re.IGNORECASE
)


@dataclass(frozen=True)
class Attempt:
    text: str
    start: int  # where the marker starts in the message


@dataclass(frozen=True)
class Verdict:
    correct: bool
    summary: str  # safe for the verifier-condition teacher: never contains the reference answer
    attempt: str


def _clean(value: str) -> str:
    # Markdown emphasis around the answer or the whole line ("*Final answer: 1/2*",
    # "Final answer: **42**") is formatting, not part of the answer.
    value = value.strip()
    value = re.sub(r"^[*_]+|[*_]+$", "", value).strip()
    return value


def extract_attempt(message: str, *, code: bool = False) -> Attempt | None:
    """The student's final answer in `message`, or None.

    Markers: `Final answer: X` (case-insensitive), `\\boxed{X}`, `ANSWER: X`; the last one in
    the message wins. For code problems (`code=True`), a message with a marker commits to
    the last fenced code block in it (or the text after the marker when there is none).
    """
    found: list[Attempt] = []
    for m in _FINAL_ANSWER.finditer(message):
        found.append(Attempt(_clean(m.group("x")), m.start()))
    for m in _ANSWER_COLON.finditer(message):
        found.append(Attempt(_clean(m.group("x")), m.start()))
    for m in _FINAL_HEADING.finditer(message):
        found.append(Attempt(_clean(m.group("x")), m.start()))
    pos = message.find("\\boxed")
    while pos != -1:
        boxed = extract_boxed(message[pos:])
        if boxed is not None:
            found.append(Attempt(boxed, pos))
        pos = message.find("\\boxed", pos + 1)
    if not found:
        return None
    last = max(found, key=lambda a: a.start)
    if code:
        blocks = list(_CODE_BLOCK.finditer(message))
        if blocks:
            return Attempt(blocks[-1].group("code").strip("\n"), last.start)
        after = message[last.start :]
        after = re.sub(r"^.*?(?:[:\-–=]|is\b)", "", after, count=1, flags=re.DOTALL | re.IGNORECASE)
        return Attempt(after.strip(), last.start) if after.strip() else None
    # "Final answer: \boxed{7}" is one attempt; the marker's text would otherwise be "\boxed{7}".
    text = last.text
    inner = extract_boxed(text)
    if inner is not None:
        text = inner
    return Attempt(text, last.start) if text else None


def is_question(message: str) -> bool:
    """A student message without an attempt that asks something (SPEC §3)."""
    return "?" in message


# ----------------------------------------------------------------------------- verifiers


def check(problem: Problem, attempt: str) -> Verdict:
    """Verdict on one attempt. Never raises for a bad attempt: a malformed answer is incorrect."""
    verifier = problem.verifier
    if verifier == "python":
        from sml_cli.sandbox import run_python_tests

        result = run_python_tests(attempt, problem.tests or "")
        return Verdict(result.passed, result.summary(), attempt)
    reference = problem.answer or ""
    if verifier == "numeric":
        ok = any(numeric_equal(r, attempt) for r in problem.answers)
    elif verifier == "exact":
        ok = any(literal if (literal := literal_equal(r, attempt)) is not None else (
            exact_equal(r, attempt) or quantity_equal(r, attempt)
            or option_letter_equal(problem.question, r, attempt)
            or option_set_equal(problem.question, r, attempt)) for r in problem.answers)
    elif verifier == "math":
        ok = any(math_equal(r, attempt) for r in problem.answers)
    elif verifier == "choice":
        assert problem.choices
        expected = reference_choice(reference, problem.choices)
        ok = expected is not None and choice_index(attempt, problem.choices) == expected
    elif verifier == "regex":
        ok = any(regex_match(r, attempt) for r in problem.answers)
    else:  # pragma: no cover - problems are validated at load time
        raise ValueError(f"unknown verifier {verifier!r}")
    return Verdict(ok, "correct" if ok else "incorrect", attempt)


def reference_choice(reference: str, choices: tuple[str, ...]) -> int | None:
    """The option a choice problem's reference names. A loaded problem stores a letter, which
    must be read as a letter even when an option's text is itself a letter."""
    if len(reference) == 1 and "A" <= reference <= "Z" and ord(reference) - ord("A") < len(choices):
        return ord(reference) - ord("A")
    return choice_index(reference, choices, reference=True)


def numeric_equal(reference: str, attempt: str) -> bool:
    ref = parse_number(reference) or number_in_attempt(reference)
    got = number_in_attempt(attempt)
    return ref is not None and got is not None and numbers_equal(got, ref)


def normalize_text(text: str) -> str:
    """Case, spacing, surrounding quotes/markdown, a trailing full stop and \\text{} wrappers
    never change a short text answer."""
    s = normalize_numeric_text(text) if parse_number(text) else strip_math_delimiters(text)
    s = re.sub(r"\\text\{([^{}]*)\}", r"\1", s)
    s = s.strip().strip("*_`\"'“”‘’").strip()
    s = s.rstrip(".!").strip()
    return re.sub(r"\s+", " ", s).casefold()


ARTICLES = ("a", "an", "the")
_ARTICLE = re.compile(r"\b(?:" + "|".join(ARTICLES) + r")\b")
# Yes/no datasets store their answers as booleans (BoolQ, StrategyQA, TheoremQA's "bool"),
# which load as "true"/"false"; a student answers a yes/no question with "yes".
BOOLEAN_WORDS = {"yes": True, "true": True, "no": False, "false": False}


# Punctuation inside a text answer, which SQuAD-style exact match ignores ("Ulysses S.
# Grant" = "Ulysses S Grant", "March 3, 2012" = "March 3 2012", "U.S." = "US") — but not
# where it is part of a number: between digits ("2.5" is not "25") or a sign or decimal
# point before one ("-5" is not "5").
_INNER_PUNCTUATION = re.compile(
    r"""(?!(?<=\d)[^\d](?=\d))(?![-–—.](?=\d))[.,;:!?'"‘’“”«»()\[\]{}\-–—]""")


_SPACED_SIGN = re.compile(r"\s*([^\w\s])\s*")


def exact_equal(reference: str, attempt: str, *, words: bool = True) -> bool:
    """Equal after normalising case, spaces and punctuation, and — as SQuAD-style exact match
    does — ignoring the articles a/an/the ("the Pacific Ocean" = "Pacific Ocean"); "yes" is
    "true" and "no" is "false". With `words` (a text answer, not maths: "[0,1]" is not
    "[0,1)"), punctuation inside the words is ignored too."""
    ref, got = normalize_text(reference), normalize_text(attempt)
    if ref == got:
        return True
    if ref in BOOLEAN_WORDS and got in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[ref] == BOOLEAN_WORDS[got]
    bare = " ".join(_ARTICLE.sub(" ", ref).split()), " ".join(_ARTICLE.sub(" ", got).split())
    if bare[0] and bare[0] == bare[1]:
        return True
    if not re.search(r"[^\W\d_]", ref):
        # No letters (a ratio "2:3", a time "3:45", a list "1, 2, 3"): spacing around its
        # signs means nothing (between two digits it does: "1 2" is not 12).
        return _SPACED_SIGN.sub(r"\1", ref) == _SPACED_SIGN.sub(r"\1", got)
    if not words:
        return False
    # Punctuation dropped ("U.S." = "US") or read as a space ("well-known" = "well known").
    return any(" ".join(_INNER_PUNCTUATION.sub(sep, a).split())
               == " ".join(_INNER_PUNCTUATION.sub(sep, b).split()) != ""
               for a, b in ((ref, got), bare) for sep in ("", " "))


_LITERAL_OPENERS = ("'", '"', "[", "{", "(")
_MAX_LITERAL_CHARS = 20_000


def literal_equal(reference: str, attempt: str) -> bool | None:
    """A reference written as a Python literal — a quoted string, a list, tuple, dict or set,
    as CRUXEval's outputs are — is a value, compared as one: `'HI'` is not met by `'hi'`, nor
    `{1: None, 2: None}` by `[1, None, 2, None]`, which text matching (case and punctuation
    ignored) would accept. A string is met by its text unquoted too. None: the reference is
    no such literal."""
    ref_text = reference.strip()
    if not ref_text.startswith(_LITERAL_OPENERS) or len(ref_text) > _MAX_LITERAL_CHARS:
        return None
    ref = python_literal(ref_text)
    if not isinstance(ref, (str, list, tuple, dict, set)):
        return None
    got_text = attempt.strip().strip("`").strip()
    if len(got_text) > _MAX_LITERAL_CHARS:
        return False
    got = python_literal(got_text)
    if isinstance(ref, str) and not isinstance(got, str):
        got = got_text
    return type(got) is type(ref) and got == ref


def option_letter_equal(question: str, reference: str, attempt: str) -> bool:
    """A reference that is an option letter ("(B)") of options the question lists: the
    attempt names that option as a choice problem's would ("B", "(b)", "B) its text", or
    its text alone)."""
    found = options_in_question(question, reference)
    return found is not None and choice_index(attempt, found.options) == found.answer


_LETTER_SET = re.compile(r"\(?[A-Z]\)?(?:\s*(?:,|and|&|\s)\s*\(?[A-Z]\)?)+")


def option_set_equal(question: str, reference: str, attempt: str) -> bool:
    """A reference of several option letters ("BCD": JEEBench's questions with more than one
    right option) of options the question lists: met by the same letters in any order and
    spelling ("B, C, D", "(D) and (B), (C)"), all of them and no other."""
    wanted = _listed_letters(reference)
    if wanted is None or options_in_question(question, max(wanted)) is None:
        return False
    return _listed_letters(attempt.strip().strip("*`.")) == wanted


def _listed_letters(text: str) -> set[str] | None:
    """The letters of a list of several ("BCD", "B, C and (D)"), each named once; else None."""
    text = text.strip()
    if not _LETTER_SET.fullmatch(text) and not re.fullmatch(r"[A-Z]{2,10}", text):
        return None
    letters = re.findall(r"[A-Z]", text.replace("and", " "))
    return set(letters) if len(set(letters)) == len(letters) else None


def quantity_equal(reference: str, attempt: str) -> bool:
    """A reference that is a number with its unit ("72 clips", ASDiv's "9 (apples)" once
    loaded) is met by the number alone or with that unit ("72", "72 clips", "seventy-two
    clips"); another unit ("72 apples") is another answer."""
    ref = number_with_unit(reference)
    if ref is None:
        return False
    got = number_in_attempt(attempt)
    if got is None or not numbers_equal(got, ref):
        return False

    def unit(text: str) -> list[str]:
        return [w.removesuffix("s") for w in words_beside_numbers(text) if w not in ARTICLES]

    said = unit(attempt)
    return not said or said == unit(reference[ref.end :])


def regex_match(pattern: str, attempt: str) -> bool:
    try:
        return re.fullmatch(pattern, attempt.strip()) is not None
    except re.error:
        return False


_MAX_MATH_CHARS = 400  # sympy can take unbounded time on adversarial input; answers are short


_UNICODE_MATH = {"π": "\\pi ", "∞": "\\infty ", "·": "\\cdot ", "×": "\\times ",
                 "÷": "\\div ", "−": "-", "≤": "\\le ", "≥": "\\ge ", "²": "^2", "³": "^3",
                 "**": "^"}
_UNICODE_ROOT = re.compile(r"√\s*(\([^()]*\)|\{[^{}]*\}|[\d.]+|[A-Za-z])")


def plain_math_to_latex(text: str) -> str:
    """Maths as people and chat models type it (2√3, π/2, x², x**2, sqrt 3, pi) in the LaTeX
    math-verify parses; shared by the verifier and the leak guard, so that both read an
    expression the same way."""
    text = _UNICODE_ROOT.sub(lambda m: "\\sqrt{" + m.group(1).strip("(){}") + "}", text.strip())
    text = re.sub(r"√\s*\(", r"\\sqrt(", text)
    for char, latex in _UNICODE_MATH.items():
        text = text.replace(char, latex)
    text = re.sub(r"(?<![\\A-Za-z])pi(?![A-Za-z])", r"\\pi ", text)
    text = _REPEATING_DECIMAL.sub(_repeating_decimal_fraction, text)
    return re.sub(r"(?<!\\)\bsqrt\s*(\d+|[A-Za-z])\b", r"\\sqrt{\1}", text)


# 0.1\overline{6} (MATH writes repeating decimals so): math-verify reads no \overline.
_REPEATING_DECIMAL = re.compile(r"(-?)(\d*)\.(\d*)\\(?:overline|bar)\{(\d+)\}")


def _repeating_decimal_fraction(m: re.Match[str]) -> str:
    from fractions import Fraction

    sign, whole, fixed, repeating = m.groups()
    shift = 10 ** len(fixed)
    value = (int(whole or 0) + Fraction(int(fixed or 0), shift)
             + Fraction(int(repeating), (10 ** len(repeating) - 1) * shift))
    return f"{sign}\\frac{{{value.numerator}}}{{{value.denominator}}}"


# A vector as MATH writes it: one column (`\begin{pmatrix} 1 \\ 2 \end{pmatrix}`) or one row.
_VECTOR = re.compile(
    r"^\$?\s*\\begin\{(?P<kind>[pbv]?matrix)\}(?P<body>.*)\\end\{(?P=kind)\}\s*\$?$", re.DOTALL)
_TUPLE_BRACKETS = ("()", "[]", "⟨⟩", "<>")


def _vector_entries(text: str) -> list[str] | None:
    """The entries of a one-column or one-row matrix, or of a bracketed tuple "(1, 2)"."""
    m = _VECTOR.match(text)
    if m:
        body = m.group("body").strip()
        rows = [r.strip() for r in re.split(r"\\\\", body) if r.strip()]
        if len(rows) > 1 and not any("&" in r for r in rows):
            return rows
        if len(rows) == 1 and "&" in rows[0]:
            return [c.strip() for c in rows[0].split("&")]
        return None
    if len(text) > 2 and text[0] + text[-1] in _TUPLE_BRACKETS:
        entries, depth, start = [], 0, 1
        for i, char in enumerate(text[1:-1], start=1):
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            if char == "," and depth == 0:
                entries.append(text[start:i].strip())
                start = i + 1
        entries.append(text[start:-1].strip())
        return entries if len(entries) > 1 and all(entries) else None
    return None


def _as_written_by_reference(reference: str, attempt: str) -> list[str]:
    """The attempt, and — when the reference is a bracketed list ("[2, 3]") and the attempt
    the same items without brackets ("2, 3") — the attempt in the reference's brackets."""
    ref, got = reference.strip(), attempt.strip()
    if (len(ref) > 2 and ref[0] + ref[-1] in ("[]", "()") and "," in ref and "," in got
            and got[:1] not in "[({" and got[-1:] not in "])}"):
        return [got, ref[0] + got + ref[-1]]
    return [got]


def _vectors_equal(reference: str, attempt: str) -> bool | None:
    r"""A vector written once as a one-column (or one-row) matrix and once as a tuple —
    MATH's `\begin{pmatrix} 1 \\ 2 \end{pmatrix}` and a student's "(1, 2)" — is equal when
    its entries are; None when the two are not written so."""
    ref, got = reference.strip(), attempt.strip()
    if bool(_VECTOR.match(ref)) == bool(_VECTOR.match(got)):
        return None  # both matrices, or neither: math-verify compares them as they are
    ref_entries, got_entries = _vector_entries(ref), _vector_entries(got)
    if not ref_entries or not got_entries:
        return None
    return len(ref_entries) == len(got_entries) and all(
        math_equal(r, g) for r, g in zip(ref_entries, got_entries, strict=True))


_SPACE_AFTER_OPERATOR = re.compile(r"([+\-*/=<>,(])\s+")
_INEQUALITY = re.compile(r"[<>≤≥]|\\(?:le|ge|leq|geq|lt|gt)(?![a-zA-Z])")


def math_equal(reference: str, attempt: str) -> bool:
    """Symbolic equivalence via math-verify (`\\frac{1}{2}` = `0.5` = `1/2`, `2\\sqrt{2}` =
    `\\sqrt{8}`), with plain numeric and text equality first."""
    if exact_equal(reference, attempt, words=False):
        return True
    ref_num, got_num = parse_number(reference), parse_number(attempt)
    if ref_num is not None and got_num is not None:
        return numbers_equal(got_num, ref_num)
    if len(attempt) > _MAX_MATH_CHARS:
        return False
    vectors = _vectors_equal(reference, attempt)
    if vectors is not None:
        return vectors
    import logging
    import threading

    from math_verify import parse, verify

    def as_latex(s: str) -> str:
        # (math-verify reads a letter after a space at the end as a unit and drops it: "x^2 +
        # c" would be "x^2 +"; after an operator, the space is no part of the maths anyway)
        s = _SPACE_AFTER_OPERATOR.sub(r"\1", plain_math_to_latex(s))
        return s if s.startswith("$") or s.startswith("\\(") or s.startswith("\\[") else f"${s}$"

    # math-verify's timeouts use SIGALRM, which only works on the main thread; elsewhere (TUI
    # workers) they are off and the input length bound above stands in for them.
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    try:
        gold = parse(as_latex(reference), parsing_timeout=timeout)
        if not gold:
            return False
        # math-verify matches an inequality reference against an interval attempt ("x > 3"
        # is met by "(3, \infty)") but not the other way round, so an interval reference met
        # by an inequality is asked with the two swapped.
        swap = bool(_INEQUALITY.search(attempt)) and not _INEQUALITY.search(reference)
        for candidate in _as_written_by_reference(reference, attempt):
            pred = parse(as_latex(candidate), parsing_timeout=timeout)
            if pred and (verify(gold, pred, timeout_seconds=timeout)
                         or (swap and verify(pred, gold, timeout_seconds=timeout))):
                return True
        return False
    except Exception:  # math-verify raises on unparsable LaTeX; an unparsable answer is wrong
        return False
