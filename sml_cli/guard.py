"""The leak guard (SPEC §5): does a teacher message state the reference answer?

`find_leaks(text, problem)` reports the spans of `text` that state the answer; `redact`
replaces them with `[redacted]`. The engine applies the policy (`flag`, `redact`,
`regenerate`). One principle runs through the rules: a span leaks when the student could
copy it as its final answer and be marked right, and it is a statement rather than a label,
an idiom or a step left to the student. By kind of answer:

Numbers (numeric answers; math and exact answers that are a number, also "x = 7"; the number
of a "12 cm"-style exact answer; a choice option that is a number). A number of the message
leaks when it equals the answer as the numeric verifier compares them
(`numbers.numbers_equal`): "1,000", "$5", "50%" (= 50 and 0.5), "3.0", "3/4", "6/8",
"\\frac{3}{4}", "1 1/2", a decimal rounded to ≥ 2 places for a fraction ("0.33" for 1/3),
number words ("fourteen", "twenty-one", "one hundred and five", "2 million", "a dozen"),
fraction words ("three quarters", "one third", "a half", "a fifth of", "two and a half",
"half of it"), signs in words ("negative five", "it's minus 5"). A number is read whole
(`numbers.find_numbers`): 1400, 14.5, 114, 2014, 14th never state 14. Not leaks:
* numbers of the question (`Problem.public_question()`, and the numerators and denominators
  of its fractions: "3/8" gives 0.375, 3 and 8). If the answer equals one of them, numeric
  detection is off for the problem (SPEC §5);
* steps left to the student: only what is written as one number counts, so "one more than
  7318", "7320 minus one", "7318 + 1", "half of 30", "double 21", "21 times 2" never state
  7319, 15 or 42 (the numeric verifier rejects "7318 + 1" too). A fraction is one number,
  though: "30/2" states 15, as the verifier would accept it;
* labels: "step 2", "hint #1", "question 3", "No. 4", a list marker at the start of a line
  ("2. Divide") — unless the label noun is a word of the question ("page 14" when the
  question asks for a page);
* counts of the conversation: a number before a discourse noun, optionally after an
  adjective — "two steps", "one more hint", "3 quick questions", "six hints" — unless that
  noun is a word of the question ("14 steps" answers a staircase question);
* idioms of number words, above all "one": the pronoun ("this one", "which one", "no one",
  "each one", "one of", "one another", "one's", "one should"), fixed phrases ("one by one",
  "one at a time", "at one point", "one-on-one", "one and only", "zero in on", "100% sure")
  and comparative operands ("one more than", "two fewer than"). Digits are never idioms:
  "1 box" states 1, and so do "just one box", "one more box", "exactly one".

Text (exact answers). The answer's words, case- and accent-insensitively ("Sao Paulo"), on
word boundaries ("Parisian" does not state "Paris", "Paris's" does), with spacing or one
punctuation mark between words ("new-york", "Washington DC" for "Washington, D.C."); a leading
article of the answer is optional ("Nile" for "the Nile"). A part of a multi-word answer
("Lovelace" for "Ada Lovelace") is not the answer. Answers of one or two characters are
matched case-sensitively ("Fe"). Only an *asserted* mention counts — "the answer is X",
"it's X", "pick X", "X is correct", or a message that is only X — when the answer occurs in
the question ("Is it Sydney or Canberra?"), is yes/no/true/false/none/both, or is a short
word ("a", "I").

Choice answers. The letter in an option form — "(B)", "B)", "option B" / "option b",
"choice B", "**B**" — or a bare capital letter that is asserted ("the answer is B", "pick B",
"B is right", the message "B"); and the option's text (by the text or number rules). Naming
the right option among others ("compare (A) and (B)", "Venus or Mercury?") is not a leak
unless the right one is asserted; naming it alone is ("Think about Mercury's orbit.").

Math answers that are not a number. The answer's text up to spacing and LaTeX spelling
(`\\dfrac` = `\\frac`, `{2}` = `2`, "π", "√", "²", `**`), where it stands alone (not
"\\sqrt2" inside "2\\sqrt2", "\\sqrt2/2", "\\frac{1}{\\sqrt2}" or "$\\pi r^2$"), and
expressions equivalent to it under math-verify (as `verification.math_equal` compares
attempts): candidates are `$…$`, `\\(…\\)`, `\\[…\\]`, `\\boxed{…}`, either side of an
(in)equation, and bare runs of math tokens ("sqrt(3)/2", "2*sqrt(2)"). Before sympy sees a
candidate it must be short, contain no English words or unknown commands, use only the
answer's variables, and not be a plain number or pure arithmetic on numbers ("$7318 + 1$" is
a step left to the student); expressions of the question are public ("Start from (x+1)^2").
Closed-form values compare numerically (to 1e-9), symbolic ones with math-verify; at most 8
math-verify calls and about a second per message. An approximation ("0.866") is not a leak.

Code problems (`python`, no answer). A message leaks when it pastes the reference solution:
at least three of its significant lines (all of them if it has fewer), in order. One or two
quoted lines are a hint. Without a `solution` nothing is detected.

Regex answers. Literal alternatives ("(?i)^(rome|roma)$") are matched as text (or number)
answers; a pattern with other regex syntax is not checked.

Spans are exactly the stated answer — "$1,000" → "$[redacted]", "50%" → "[redacted]",
"B) Mercury" → "[redacted]) [redacted]" — and overlapping spans are merged. Known limits
(string rules, no semantics): "Yes, 91 is not prime" for the answer "no", "a single box" for
1, "33 cm" for 1/3 m, a surname for a full name, "1.4k" and "1 050" are not detected.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from sml_cli.numbers import (
    NumberMatch,
    find_numbers,
    number_with_unit,
    numbers_equal,
    parse_number,
)
from sml_cli.problems import LETTERS, Problem, options_in_question
from sml_cli.verification import ARTICLES, BOOLEAN_WORDS, plain_math_to_latex

REDACTED = "[redacted]"


@dataclass(frozen=True)
class Leak:
    start: int
    end: int
    text: str
    reason: str  # e.g. "states the number 42", "states the answer text"


Detector = Callable[[str], list[Leak]]


# ----------------------------------------------------------------------------- public API


def find_leaks(text: str, problem: Problem) -> list[Leak]:
    """The spans of `text` (a teacher message) that state `problem`'s reference answer,
    in order, overlaps merged. Empty when nothing does."""
    if not text or not text.strip():
        return []
    plan = _plan(_problem_key(problem))
    leaks: list[Leak] = []
    for detect in plan:
        leaks += detect(text)
    return _merge(leaks, text)


def redact(text: str, leaks: list[Leak]) -> str:
    """`text` with every leaked span replaced by `[redacted]`."""
    out, pos = [], 0
    for leak in _merge(leaks, text):
        out.append(text[pos : leak.start])
        out.append(REDACTED)
        pos = leak.end
    out.append(text[pos:])
    return "".join(out)


def _merge(leaks: list[Leak], text: str) -> list[Leak]:
    merged: list[Leak] = []
    for leak in sorted(leaks, key=lambda x: (x.start, -x.end)):
        if merged and leak.start < merged[-1].end:
            last = merged[-1]
            if leak.end > last.end:
                reason = last.reason if leak.reason == last.reason else (
                    f"{last.reason}; {leak.reason}")
                merged[-1] = Leak(last.start, leak.end, text[last.start : leak.end], reason)
            continue
        merged.append(leak)
    return merged


# ----------------------------------------------------------------------------- the plan

_ProblemKey = tuple[str, str | None, str, tuple[str, ...] | None, str | None, tuple[str, ...]]


def _problem_key(problem: Problem) -> _ProblemKey:
    return (problem.question, problem.answer, problem.verifier, problem.choices,
            problem.solution if problem.verifier == "python" else None, problem.aliases)


@functools.lru_cache(maxsize=512)
def _plan(key: _ProblemKey) -> tuple[Detector, ...]:
    """The detectors for one problem, built once (question numbers, patterns, parsed answer).
    Every accepted answer is the answer: stating an alias tells as much."""
    question, answer, verifier, choices, solution, aliases = key
    detectors = _plan_for((question, answer, verifier, choices, solution, ()))
    for alias in aliases:
        detectors += _plan_for((question, alias, verifier, choices, solution, ()))
    return detectors


def _plan_for(key: _ProblemKey) -> tuple[Detector, ...]:
    question, answer, verifier, choices, solution, _ = key
    if verifier == "python":
        return (_code_detector(solution),) if solution else ()
    if not answer or not answer.strip():
        return ()
    stem = question
    public = question if not choices else (
        question + "\n\n" + "\n".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(choices)))
    if verifier == "choice" and choices:
        index = LETTERS.find(answer.strip()) if len(answer.strip()) == 1 else -1
        if 0 <= index < len(choices):
            return (_choice_detector(index, choices, stem),)
        return _answer_detectors(answer, stem, public, "exact")
    embedded = options_in_question(question, answer) if verifier == "exact" else None
    if embedded is not None:  # "(B)" of options written into the question (BIG-Bench Hard)
        return (_choice_detector(embedded.answer, embedded.options, embedded.stem),)
    if verifier == "regex":
        detectors: list[Detector] = []
        for literal in _regex_literals(answer):
            detectors += _answer_detectors(literal, stem, public, "exact")
        return tuple(detectors)
    return _answer_detectors(answer, stem, public, verifier)


def _answer_detectors(answer: str, stem: str, public: str, verifier: str) -> tuple[Detector, ...]:
    detectors: list[Detector] = []
    target = answer
    if verifier == "math":
        target = _strip_lhs(answer)
    number = parse_number(target)
    if number is not None:
        detectors.append(_numeric_detector(number, public))
        return tuple(detectors)
    if verifier == "math":
        detectors.append(_math_detector(target, stem))
        return tuple(detectors)
    # exact (or anything else with a text answer)
    unit_number = number_with_unit(answer)
    if unit_number is not None:
        detectors.append(_numeric_detector(unit_number, public))
    detectors.append(_text_detector(answer, stem))
    # A yes/no answer verifies in either word ("true" is "yes"), so either word gives it away.
    word_said = answer.strip().rstrip(".!").casefold()
    truth = BOOLEAN_WORDS.get(word_said)
    detectors.extend(_text_detector(word, stem) for word, value in BOOLEAN_WORDS.items()
                     if value is truth and word != word_said)
    return tuple(detectors)


# ----------------------------------------------------------------------------- numbers


def _question_numbers(question: str) -> list[NumberMatch]:
    """Every number of the question, and the parts of its fractions ("3/8" → 0.375, 3, 8)."""
    found = find_numbers(question)
    parts: list[NumberMatch] = []
    for m in found:
        if m.is_fraction or "/" in m.text or "frac" in m.text:
            for d in re.finditer(r"\d+(?:\.\d+)?", m.text):
                parts.append(NumberMatch(m.start + d.start(), m.start + d.end(),
                                         Fraction(d.group(0)), d.group(0)))
    return found + parts


_WORD = re.compile(r"[a-z]+")


def _lemma(word: str) -> str:
    w = word.lower()
    for suffix in ("ies", "es", "s"):
        if w.endswith(suffix) and len(w) > len(suffix) + 2:
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def _question_lemmas(question: str) -> frozenset[str]:
    lemmas = set()
    for w in _WORD.findall(question.lower()):
        lemmas.add(_lemma(w))
        lemmas.add(w)
    return frozenset(lemmas)


# Nouns that label a step or an item: "step 2", "hint #1". (Not words that are also verbs or
# phrases before a quantity: "try 14", "note 14", "in that case 14", "at this point 14".)
_LABEL_BEFORE = re.compile(
    r"\b(?P<noun>step|part|hint|question|problem|exercise|item|line|rule|page|chapter|"
    r"section|example|method|approach|stage|tip|clue|level|phase|version|row|column|"
    r"equation|lemma)s?[ \t]*(?:#|no\.|number)?[ \t]*$",
    re.IGNORECASE,
)
_HASH_BEFORE = re.compile(r"(?:#|(?<![\w.])No\.)[ \t]*$")
# A list marker at the start of a line: "2. Divide", "2) Divide".
_LIST_MARKER_AFTER = re.compile(r"[.)][ \t]+\S")
# Conversation nouns: a count of these is about the dialogue, not the problem's quantity.
_DISCOURSE_NOUNS = (
    "step", "steps", "part", "parts", "thing", "things", "way", "ways", "question",
    "questions", "hint", "hints", "idea", "ideas", "moment", "second", "sec", "tip", "tips",
    "clue", "clues", "approach", "approaches", "method", "methods", "mistake", "mistakes",
    "error", "errors", "detail", "details", "try", "tries", "attempt", "attempts", "time",
    "look", "option", "options", "stage", "stages", "sentence", "sentences", "operation",
    "operations", "calculation", "calculations", "equation", "equations", "fact", "facts",
    "number", "numbers", "quantity", "quantities", "chance", "go", "thought", "thoughts",
    "suggestion", "suggestions", "rule", "rules", "check", "checks", "issue", "issues",
    "trick", "tricks",
)
_DISCOURSE_ADJECTIVES = (
    "more", "last", "other", "final", "quick", "small", "simple", "single", "extra", "key",
    "important", "big", "useful", "little", "different", "separate", "main", "tiny", "short",
    "careful", "more careful", "crucial", "easy", "clear", "good", "further", "additional",
    "specific", "given",
)
_DISCOURSE_AFTER = re.compile(
    r"(?:[ \t]*-[ \t]*|[ \t]+)(?:(?:" + "|".join(_DISCOURSE_ADJECTIVES) + r")[ \t]+)*"
    r"(?P<noun>" + "|".join(sorted(_DISCOURSE_NOUNS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# "one" as a pronoun, or in fixed phrases.
_ONE_PRONOUN_BEFORE = re.compile(
    r"\b(?:the|this|that|which|each|every|any|no|another|some|other|last|next|right|wrong|"
    r"same|correct|new|previous|such|what|whichever|tricky|hard|easy|tough|little)[ \t]+$",
    re.IGNORECASE,
)
_ONE_IDIOM_AFTER = re.compile(
    r"(?:[ \t]+(?:of|another|by[ \t]+one|at[ \t]+a[ \t]+time|or[ \t]+(?:another|two|more|"
    r"the[ \t]+other)|day|way[ \t]+or[ \t]+another|thing[ \t]+at[ \t]+a[ \t]+time)\b"
    r"|['\u2019]s\b|-(?:to|on)-one\b|-off\b|-liner\b)",
    re.IGNORECASE,
)
_COMPARATIVE_AFTER = re.compile(
    r"[ \t]+(?:[a-z]+[ \t]+)?(?:more|less|fewer|greater|smaller|larger|bigger|higher|lower|"
    r"extra|older|younger|longer|shorter)[ \t]+than\b",
    re.IGNORECASE,
)
_ZERO_IN = re.compile(r"[ \t]+in[ \t]+on\b", re.IGNORECASE)
_SURE_AFTER = re.compile(r"[ \t]*(?:sure|certain|confident|correct|right)\b", re.IGNORECASE)


def _is_idiom(text: str, m: NumberMatch, q_lemmas: frozenset[str]) -> bool:
    """Is this number, though equal to the answer, not a statement of it (see module doc)?"""
    before = text[max(0, m.start - 40) : m.start]
    after = text[m.end : m.end + 60]
    # labels: "step 2", "#2", "2. Divide" at the start of a line
    label = _LABEL_BEFORE.search(before)
    if label and _lemma(label.group("noun")) not in q_lemmas and not m.is_fraction:
        return True
    if _HASH_BEFORE.search(before) and not m.is_word:
        return True
    line_prefix = text[text.rfind("\n", 0, m.start) + 1 : m.start]
    if (line_prefix.strip() == "" and not m.is_word and re.fullmatch(r"\d{1,2}", m.text)
            and _LIST_MARKER_AFTER.match(after)):
        return True
    # counts of the conversation: "two steps", "one more hint"
    discourse = _DISCOURSE_AFTER.match(after)
    if (discourse and not m.percent and not m.is_fraction
            and _lemma(discourse.group("noun")) not in q_lemmas
            and discourse.group("noun").lower() not in q_lemmas):
        return True
    if m.percent and m.value == 100 and _SURE_AFTER.match(after):
        return True
    if not m.is_word:
        return False
    word = m.text.lower()
    if _COMPARATIVE_AFTER.match(after):
        return True
    if word == "zero" and _ZERO_IN.match(after):
        return True
    if word == "one":
        if (_ONE_PRONOUN_BEFORE.search(before) or _ONE_IDIOM_AFTER.match(after)
                or re.search(r"\bone(?:[ \t]+by[ \t]+|-(?:on|to)-)$", before, re.IGNORECASE)
                or re.match(r"[ \t]+and[ \t]+only\b", after, re.IGNORECASE)
                or (re.search(r"\bat[ \t]+$", before, re.IGNORECASE)
                    and re.match(r"[ \t]+point\b", after, re.IGNORECASE))):
            return True
        # "no one", "someone" are single words or pronouns; "one" alone before a verb or
        # punctuation ("one should check", "the tricky one.") is a pronoun
        if re.match(r"[ \t]+(?:should|must|can|could|might|would|may|needs)\b", after,
                    re.IGNORECASE):
            return True
    return False


def _numeric_detector(answer: NumberMatch, question: str) -> Detector:
    q_numbers = _question_numbers(question)
    q_lemmas = _question_lemmas(question)
    if any(numbers_equal(q, answer) for q in q_numbers):
        return lambda text: []  # the answer is in the question: detection off (SPEC §5)
    q_exact = {(q.value, q.percent) for q in q_numbers}

    def detect(text: str) -> list[Leak]:
        leaks = []
        for m in find_numbers(text):
            if not numbers_equal(m, answer) or (m.value, m.percent) in q_exact:
                continue
            if _is_idiom(text, m, q_lemmas):
                continue
            leaks.append(Leak(m.start, m.end, m.text, f"states the number {m.text}"))
        return leaks

    return detect


# ----------------------------------------------------------------------------- text

_BOOLEAN_ANSWERS = ("yes", "no", "true", "false", "correct", "incorrect", "none", "neither",
                    "both")


def _fold(text: str) -> str:
    """Accents off, one character for one character (so positions stay valid)."""
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                       if not unicodedata.combining(c))
        out.append(base if len(base) == 1 else ch)
    return "".join(out)


def _text_pattern(answer: str) -> re.Pattern[str] | None:
    folded = _fold(" ".join(answer.split())).strip().strip("*_`\"'“”‘’").rstrip(".!").strip()
    tokens = re.findall(r"[^\W_]+", folded)
    if not tokens:
        if not folded:
            return None
        return re.compile(re.escape(folded), re.IGNORECASE)
    if len(tokens) > 1 and tokens[0].lower() in ARTICLES:
        article, tokens = tokens[0], tokens[1:]
        lead = rf"(?:{re.escape(article)}\s+)?"
    else:
        lead = ""
    parts = [re.escape(tokens[0])]
    for prev, tok in itertools.pairwise(tokens):
        if len(prev) == 1 and len(tok) == 1 and prev.isalpha() and tok.isalpha():
            sep = r"(?:\s*[.\-]?\s*)"  # initialisms: "D.C.", "D. C.", "DC"
        else:
            sep = r"(?:\s*[-\u2013\u2014,.'\u2019/&:]\s*|\s+)"
        parts.append(sep + re.escape(tok))
    flags = 0 if len(folded) <= 2 else re.IGNORECASE
    return re.compile(r"(?<![^\W_])" + lead + "".join(parts) + r"(?![^\W_])", flags)


# An assertion that the mention is the answer: "the answer is X", "it's X", "pick X",
# "X is correct".
_FILLER = r"(?:[ \t]+(?:definitely|clearly|actually|really|indeed|simply|just|obviously|" \
          r"certainly|exactly|surely|in[ \t]+fact|option|choice|letter))*"
_ASSERT_BEFORE = re.compile(
    r"(?:\banswer(?:[ \t]+(?:is|was|would[ \t]+be|should[ \t]+be|will[ \t]+be|must[ \t]+be)|"
    r"[ \t]*[:=])|\b(?:it|that|this)(?:['\u2019]s|[ \t]+(?:is|was|would[ \t]+be|must[ \t]+be|"
    r"should[ \t]+be))|\b(?:go[ \t]+with|pick|choose|select|mark|circle|tick)|"
    r"\b(?:correct|right)[ \t]+(?:one|option|choice|answer|letter)[ \t]+is|\bis[ \t]+indeed|"
    r"[=\u2192])" + _FILLER + r"[ \t]*[*_\"'\u201c(]*[ \t]*$",
    re.IGNORECASE,
)
_ASSERT_AFTER = re.compile(
    r"[*_\"'\u201d)]*[ \t]*(?:is|was|['\u2019]s)[ \t]+(?:(?:definitely|clearly|indeed|actually|"
    r"really|certainly|exactly)[ \t]+)?(?:the[ \t]+)?(?:correct|right|answer|true\b|it\b)",
    re.IGNORECASE,
)


_DECORATION = " \t\n*_`\"'()[].!:\u201c\u201d"


def _asserted(text: str, start: int, end: int) -> bool:
    """Is the mention at text[start:end] asserted as the answer ("the answer is X", "it's X",
    "pick X", "X is correct", or the whole message is X)?"""
    if not text[:start].strip(_DECORATION) and not text[end:].strip(_DECORATION):
        return True
    before = text[max(0, start - 60) : start]
    before = re.split(r"[.!?;\n]\s", before)[-1]
    return bool(_ASSERT_BEFORE.search(before) or _ASSERT_AFTER.match(text, end))


def _text_detector(answer: str, stem: str, *, reason: str = "states the answer text") -> Detector:
    pattern = _text_pattern(answer)
    if pattern is None:
        return lambda text: []
    bare = answer.strip().strip("*_`\"'").rstrip(".!").strip()
    norm = bare.lower()
    short_word = len(bare) <= 2 and (bare.islower() or bare in ("I", "A"))
    assert_only = bool(pattern.search(_fold(stem))) or norm in _BOOLEAN_ANSWERS or short_word

    def detect(text: str) -> list[Leak]:
        folded = _fold(text)
        leaks = []
        for m in pattern.finditer(folded):
            if assert_only and not _asserted(folded, m.start(), m.end()):
                continue
            leaks.append(Leak(m.start(), m.end(), text[m.start() : m.end()], reason))
        return leaks

    return detect


# ----------------------------------------------------------------------------- choice


def _letter_mentions(letter: str) -> re.Pattern[str]:
    L = re.escape(letter)
    # "option c" and "(c)" too, but not "choice a" / "option i" (an article, a pronoun)
    lower = "" if letter in "AI" else "|" + re.escape(letter.lower())
    # A bare lower-case letter ("the correct option is b", counted only when asserted),
    # but not a, i (words) or e (Euler's number), nor a function's name: "f(x)".
    bare_lower = "" if letter in "AEI" else "|" + re.escape(letter.lower()) + r"(?![(^_])"
    return re.compile(
        rf"\((?P<a>{L}{lower})\)"  # (B), (b)
        rf"|(?<![\w(])(?P<b>{L})\)"  # B)
        rf"|\b(?:[Oo]ption|[Cc]hoice|[Ll]etter|OPTION|CHOICE)[ \t]*[:#]?[ \t]*"
        rf"(?P<c>(?:{L}{lower}))\b"
        rf"|\*\*(?P<d>{L})\*\*"  # **B**
        rf"|(?<![\w'\u2019])(?P<e>{L}{bare_lower})(?![\w'\u2019])"  # bare: only when asserted
    )


def _choice_detector(index: int, choices: tuple[str, ...], stem: str) -> Detector:
    letter = LETTERS[index]
    mine = _letter_mentions(letter)
    others = [_letter_mentions(LETTERS[i]) for i in range(len(choices)) if i != index]
    option = choices[index]
    option_number = parse_number(option)
    if option_number is not None:
        option_detect = _numeric_detector(option_number, stem)
    else:
        option_detect = _text_detector(option, "", reason="states the answer option's text")

    def other_option_mentioned(text: str) -> bool:
        for i, other in enumerate(choices):
            if i == index:
                continue
            n = parse_number(other)
            if n is not None:
                if any(numbers_equal(m, n) for m in find_numbers(text)):
                    return True
            else:
                p = _text_pattern(other)
                if p is not None and p.search(_fold(text)):
                    return True
        for pat in others:
            for m in pat.finditer(text):
                if m.lastgroup != "e":
                    return True
        return False

    option_in_stem = bool(option_detect(stem))

    def detect(text: str) -> list[Leak]:
        found: list[Leak] = []
        for m in mine.finditer(text):
            group = m.lastgroup or "e"
            s, e = m.span(group)
            # A bare capital letter, or "A" that may be the article, needs an assertion.
            if group == "e" and not _asserted(text, s, e):
                continue
            found.append(Leak(s, e, text[s:e], f"names the answer option {letter}"))
        found += [Leak(x.start, x.end, x.text, f"states the answer option {letter}: {x.text}")
                  for x in option_detect(text)]
        if not found:
            return []
        if option_in_stem or other_option_mentioned(text):
            # Several options named (or the option is in the question): only an asserted one.
            return [x for x in found if _asserted(text, x.start, x.end)]
        return found

    return detect


# ----------------------------------------------------------------------------- regex


def _regex_literals(pattern: str) -> list[str]:
    """The literal alternatives of a simple regex answer ("(?i)^(paris|paris, france)$")."""
    p = re.sub(r"^\(\?[aiLmsux]+\)", "", pattern.strip())
    p = p.removeprefix("^").removesuffix("$")
    if p.startswith("(") and p.endswith(")") and p.count("(") == 1:
        p = p[1:-1].removeprefix("?:")
    p = p.replace(r"\s+", " ").replace(r"\s*", " ").replace(r"\s", " ").replace(r"\.", ".")
    alternatives = p.split("|")
    literals = []
    for alt in alternatives:
        if re.search(r"[\\^$*+?{}\[\]()]", alt) or not alt.strip():
            return []  # real regex syntax: not checked
        literals.append(alt.strip())
    return literals


# ----------------------------------------------------------------------------- math

_LHS = re.compile(r"^\s*\$?\s*[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?=\S)")


def _strip_lhs(answer: str) -> str:
    """"x = 3" → "3": the value is the answer."""
    s = answer.strip()
    m = _LHS.match(s)
    if m and "=" not in s[m.end() :]:
        return s[m.end() :].strip().rstrip("$").strip()
    return s


_DELIMITED = re.compile(
    r"\$\$(?P<dd>.+?)\$\$|(?<![\\$])\$(?P<d>[^$\n]+?)\$|\\\((?P<p>.+?)\\\)|\\\[(?P<b>.+?)\\\]",
    re.DOTALL,
)
_ATOM = r"(?:\\[A-Za-z]+|[A-Za-z0-9_.]|[{}()\[\]^√π°!|'²³])+"
_OP = r"(?:\*\*|\\(?:cdot|times|div|pm)|[+\-*/×÷·^])"
_BARE_RUN = re.compile(rf"{_ATOM}(?:[ \t]*{_OP}[ \t]*{_ATOM})*")
_KNOWN_WORDS = {
    "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "pi", "frac",
    "dfrac", "tfrac", "cdot", "times", "div", "left", "right", "circ", "infty", "arcsin",
    "arccos", "arctan", "pm", "mathrm", "text", "boxed", "theta", "alpha", "beta", "lambda",
    "mp", "displaystyle", "operatorname", "mathbf", "textbf", "e", "gamma", "phi", "sigma",
    "mu", "omega", "tau", "sinh", "cosh", "tanh", "binom", "dbinom", "choose", "cup", "cap",
    "emptyset", "varnothing", "in", "mathbb", "ldots", "cdots", "dots", "angle", "deg",
}
_ARITHMETIC_ONLY = re.compile(r"[\d\s.+\-*/×÷·()]*\d[\d\s.+\-*/×÷·()]*")


def _pure_arithmetic(candidate: str) -> bool:
    """Numbers and + − × ÷ only ("7318 + 1", "2 \\cdot 7"): a calculation left to the student."""
    s = re.sub(r"\\(?:cdot|times|div|left|right)\b", "*", candidate)
    return bool(_ARITHMETIC_ONLY.fullmatch(s))
_MAX_CANDIDATE = 100
_MAX_CANDIDATES = 24  # candidate spans looked at per message
_MAX_VERIFIED = 8  # of which at most this many go to math-verify
_MATH_BUDGET_S = 1.0  # and no new math-verify call after this much time on one message


_COMPACT_SKIP = re.compile(r"\\(?:left|right)\b|\\[,!;: ]|[\s$]")
_COMPACT_SUB = {"\\dfrac": "\\frac", "\\tfrac": "\\frac", "**": "^", "\u00b2": "^2",
                "\u00b3": "^3", "\u03c0": "\\pi", "\u221a": "\\sqrt"}


def _compact_map(s: str) -> tuple[str, list[tuple[int, int]]]:
    """`s` without spacing, `$`, `\\left`/`\\right`, with `\\dfrac` → `\\frac`, `**` → `^`,
    `{3}` → `3`, "²" → "^2", "π" → "\\pi"; and for each character kept, the span of `s` it
    comes from."""
    out: list[str] = []
    where: list[tuple[int, int]] = []
    i = 0
    while i < len(s):
        skip = _COMPACT_SKIP.match(s, i)
        if skip:
            i = skip.end()
            continue
        for old, new in _COMPACT_SUB.items():
            if s.startswith(old, i):
                out.append(new)
                where.extend([(i, i + len(old))] * len(new))
                i += len(old)
                break
        else:
            if s[i] == "{" and i + 2 < len(s) and s[i + 2] == "}" and (s[i + 1].isalnum()):
                out.append(s[i + 1])
                where.append((i, i + 3))
                i += 3
                continue
            out.append(s[i])
            where.append((i, i + 1))
            i += 1
    return "".join(out), where


def _compact(s: str) -> str:
    return _compact_map(s)[0].rstrip(".")


_GLUE = "\\^_"
_OPERATORS = "^_/*+-\u00d7\u00f7\u00b7\u2212"


def _in_math(text: str, pos: int) -> bool:
    return any(m.start() <= pos < m.end() for m in _DELIMITED.finditer(text))


def _standalone(text: str, start: int, end: int, gold: str, *, in_math: bool = False) -> bool:
    """Is text[start:end] a whole expression, not a piece of a larger one ("\\sqrt2" in
    "2\\sqrt2" or "\\sqrt2/2", "x+1" in "x+10", "\\pi" in "$\\pi r^2$")?"""
    while start > 0 and end < len(text) and text[start - 1] + text[end] in ("()", "[]"):
        start, end = start - 1, end + 1  # "(x+1)^2": judge the bracketed group
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in _GLUE):
        return False
    # inside a LaTeX group ("\\frac{1}{\\sqrt2}") only if the group is a box or text wrapper
    boxed = start > 0 and text[start - 1] == "{" and bool(
        re.search(r"\\(?:boxed|text|mathrm|mathbf|textbf)\s*$", text[: start - 1]))
    if start > 0 and text[start - 1] == "{" and not boxed:
        return False
    if end < len(text) and text[end] == "}" and not boxed:
        return False
    k = start - 1
    while k >= 0 and text[k] in " \t$":
        k -= 1
    if k >= 0:
        c = text[k]
        # (a bracket just before is a product too: "(x+1)" in "(x-1)(x+1)" is a factor)
        if c in _OPERATORS or (((k < start - 1 and c.isdigit()) or c in ")]}")
                               and not gold[:1].isdigit()):
            return False
    if end < len(text) and (text[end].isalnum() or text[end] in _GLUE + "{(["):
        return False
    k = end
    while k < len(text) and text[k] in " \t$":
        k += 1
    if k < len(text):
        c = text[k]
        if c in _OPERATORS and not (c == "-" and k + 1 < len(text) and text[k + 1] == " "
                                    and k > end):
            return False
        if c == "." and k + 1 < len(text) and text[k + 1].isdigit():
            return False
        # a product with what follows: "$\\pi r^2$", "\\pi x"
        if k > end and (c == "\\" or c.isalnum()) and (
                in_math or re.match(r"[A-Za-z](?![A-Za-z])", text[k:])):
            return False
    if in_math:
        k = start - 1
        while k >= 0 and text[k] in " \t":
            k -= 1
        if k >= 0 and k < start - 1 and text[k].isalnum():
            return False
    return True


def _compact_occurrences(text: str, gold: str) -> list[tuple[int, int]]:
    """Where the answer is written in `text` up to spacing and LaTeX spelling."""
    if not gold:
        return []
    compact, where = _compact_map(text)
    spans = []
    pos = compact.find(gold)
    while pos != -1:
        start, end = where[pos][0], where[pos + len(gold) - 1][1]
        if _standalone(text, start, end, gold, in_math=_in_math(text, start)):
            spans.append((start, end))
        pos = compact.find(gold, pos + 1)
    return spans


def _variables(s: str) -> set[str]:
    s = re.sub(r"\\[A-Za-z]+", " ", s)
    words = re.findall(r"[A-Za-z]+", s)
    out: set[str] = set()
    for w in words:
        if w.lower() in _KNOWN_WORDS:
            continue
        out.update(w)  # "xy" is x·y
    return out - {"e", "i"}


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Strip spaces, sentence punctuation and unbalanced brackets from a candidate span."""
    while start < end and text[start] in " \t\n":
        start += 1
    while end > start and text[end - 1] in " \t\n.,;:!?":
        end -= 1
    for open_, close in (("(", ")"), ("[", "]"), ("{", "}")):
        piece = text[start:end]
        while piece.endswith(close) and piece.count(close) > piece.count(open_):
            end -= 1
            piece = text[start:end]
        while piece.startswith(open_) and piece.count(open_) > piece.count(close):
            start += 1
            piece = text[start:end]
    while start < end and text[start] in " \t":
        start += 1
    while end > start and text[end - 1] in " \t.,;:!?":
        end -= 1
    return start, end


def _sides(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span and, if it is an (in)equation, each side of it."""
    spans = [_trim(text, start, end)]
    piece = text[start:end]
    cuts = [m for m in re.finditer(r"=|\\approx|\\neq|\\le|\\ge|<|>", piece)]
    if cuts:
        pos = start
        for c in cuts:
            spans.append(_trim(text, pos, start + c.start()))
            pos = start + c.end()
        spans.append(_trim(text, pos, end))
    for m in re.finditer(r"\\boxed\s*\{", piece):
        depth, i = 0, m.end() - 1
        for i in range(m.end() - 1, len(piece)):
            depth += {"{": 1, "}": -1}.get(piece[i], 0)
            if depth == 0:
                break
        spans.append(_trim(text, start + m.end(), start + i))
    return [s for s in spans if s[1] > s[0]]


def _math_candidates(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    covered = []
    for m in _DELIMITED.finditer(text):
        group = next(g for g in ("dd", "d", "p", "b") if m.group(g) is not None)
        spans += _sides(text, m.start(group), m.end(group))
        covered.append((m.start(), m.end()))
    for m in _BARE_RUN.finditer(text):
        if any(s <= m.start() < e for s, e in covered):
            continue
        run = m.group(0)
        if not re.search(r"\d|\\|\^|√|π|sqrt|pi\b|[+\-*/×÷·]", run):
            continue
        spans += _sides(text, m.start(), m.end())
    seen, out = set(), []
    for s in spans:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out[: _MAX_CANDIDATES * 2]


def _math_detector(answer: str, stem: str) -> Detector:
    gold_compact = _compact(answer)
    gold_vars = _variables(answer)
    stem_compact = _compact(stem)

    def plausible(candidate: str) -> bool:
        if not candidate or len(candidate) > _MAX_CANDIDATE:
            return False
        words = re.findall(r"(?<!\\)\b[A-Za-z]{2,}\b", candidate)
        if any(w.lower() not in _KNOWN_WORDS for w in words):
            return False  # English, not an expression
        if any(c not in _KNOWN_WORDS for c in re.findall(r"\\([A-Za-z]+)", candidate)):
            return False  # not a LaTeX command of an expression
        if parse_number(candidate) is not None:
            return False  # a plain number cannot equal a symbolic answer
        if _pure_arithmetic(candidate):
            return False  # arithmetic on numbers is a step left to the student
        if not _variables(candidate) <= gold_vars:
            return False
        return not (gold_vars and not _variables(candidate))

    gold_in_stem = bool(gold_compact) and gold_compact in stem_compact

    def detect(text: str) -> list[Leak]:
        leaks = []
        if not gold_in_stem:
            for start, end in _compact_occurrences(text, gold_compact):
                leaks.append(Leak(start, end, text[start:end],
                                  f"states the answer {text[start:end]}"))
        checked, began = 0, time.perf_counter()
        for start, end in _math_candidates(text):
            candidate = text[start:end]
            compact = _compact(candidate)
            if compact == gold_compact:
                if not gold_in_stem:
                    leaks.append(Leak(start, end, candidate, f"states the answer {candidate}"))
                continue
            if not plausible(candidate) or (compact and compact in stem_compact):
                continue
            checked += 1
            if checked > _MAX_VERIFIED or time.perf_counter() - began > _MATH_BUDGET_S:
                break
            if _math_equivalent(answer, plain_math_to_latex(candidate)):
                leaks.append(Leak(start, end, candidate,
                                  f"states an expression equal to the answer: {candidate}"))
        return leaks

    return detect


@functools.lru_cache(maxsize=256)
def _parsed_gold(answer: str) -> list | None:  # math-verify's parse result
    return _parse_math(answer)


def _parse_math(s: str) -> list | None:
    import logging

    from math_verify import parse

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    s = s.strip()
    latex = s if s.startswith(("$", "\\(", "\\[")) else f"${s}$"
    timeout = 3 if threading.current_thread() is threading.main_thread() else None
    try:
        return parse(latex, parsing_timeout=timeout)
    except Exception:
        return None


@functools.lru_cache(maxsize=4096)
def _math_equivalent(answer: str, candidate: str) -> bool:
    """math-verify equivalence, the gold parsed once per answer (see verification.math_equal)."""
    from math_verify import verify

    gold = _parsed_gold(answer)
    pred = _parse_math(candidate)
    if not gold or not pred:
        return False
    # Closed-form values compare numerically (to 1e-9, so "0.866" is not sqrt(3)/2) without
    # math-verify's slower search; anything with free symbols goes to `verify`.
    a, b = _numeric_value(gold[0]), _numeric_value(pred[0])
    if a is not None and b is not None:
        return abs(a - b) <= 1e-9 * max(1.0, abs(a))
    timeout = 3 if threading.current_thread() is threading.main_thread() else None
    try:
        return bool(verify(gold, pred, timeout_seconds=timeout))
    except Exception:
        return False


def _numeric_value(expr: object) -> complex | None:
    """The value of a closed-form sympy expression, or None (free symbols, sets, equations)."""
    try:
        import sympy

        if not isinstance(expr, sympy.Expr) or expr.free_symbols:
            return None
        value = complex(expr.evalf(30))
    except Exception:
        return None
    return value if value == value and abs(value) != float("inf") else None


# ----------------------------------------------------------------------------- code


def _code_lines(code: str) -> list[str]:
    lines = []
    for raw in code.splitlines():
        line = raw.split("#", 1)[0] if not re.search(r"[\"'].*#", raw) else raw
        line = re.sub(r"\s+", " ", line).strip()
        if len(line) >= 6 and line not in ("else:", "try:", "finally:", "return", "pass"):
            lines.append(line)
    return lines


def _code_detector(solution: str) -> Detector:
    wanted = _code_lines(solution)
    if not wanted:
        return lambda text: []
    need = len(wanted) if len(wanted) < 3 else 3

    def detect(text: str) -> list[Leak]:
        hits: list[tuple[int, int]] = []
        pos = 0
        lines = text.splitlines(keepends=True)
        j = 0  # next wanted line
        offsets = []
        for line in lines:
            offsets.append(pos)
            pos += len(line)
        for n, line in enumerate(lines):
            norm = re.sub(r"\s+", " ", line.split("#", 1)[0]).strip().strip("`")
            if j < len(wanted) and norm and norm in wanted[j:]:
                j = wanted.index(norm, j) + 1
                start = offsets[n] + len(line) - len(line.lstrip())
                hits.append((start, offsets[n] + len(line.rstrip("\r\n"))))
        if len(hits) < need:
            return []
        start, end = hits[0][0], hits[-1][1]
        return [Leak(start, end, text[start:end],
                     f"pastes the reference solution ({len(hits)} of its lines)")]

    return detect
