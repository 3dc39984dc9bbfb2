'''Write the built-in `python` problem set (`sml_cli/data/python.jsonl`).

    uv run python -m sml_cli.data.generate_python

rewrites the file from the problems below. Each problem has a precise task statement (the
student sees it), a reference solution and top-level `assert` tests (teacher-only; the
`python` verifier runs the student's code against the tests in the sandbox). A test checks
that every reference solution passes its tests and that a stub returning None fails them.
'''

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

OUTPUT = Path(__file__).with_name("python.jsonl")


def _src(text: str) -> str:
    return dedent(text).strip("\n") + "\n"


# (function name, question, solution, tests)
PROBLEMS: list[tuple[str, str, str, str]] = [
    (
        "run_length_encode",
        "Write a function `run_length_encode(s: str) -> str` that compresses runs of repeated "
        "characters: each maximal run of the same character becomes the character followed by "
        "the length of the run in decimal, even when the run has length 1. For example "
        "`run_length_encode('aaabcc')` returns `'a3b1c2'`. Characters are compared exactly "
        "(case-sensitive, spaces count as characters). The empty string encodes to `''`.",
        '''
        def run_length_encode(s):
            out = []
            i = 0
            while i < len(s):
                j = i
                while j < len(s) and s[j] == s[i]:
                    j += 1
                out.append(f"{s[i]}{j - i}")
                i = j
            return "".join(out)
        ''',
        '''
        assert run_length_encode("aaabcc") == "a3b1c2"
        assert run_length_encode("") == ""
        assert run_length_encode("x") == "x1"
        assert run_length_encode("aAaa") == "a1A1a2"
        assert run_length_encode("  b") == " 2b1"
        assert run_length_encode("z" * 12) == "z12"
        assert run_length_encode("abab") == "a1b1a1b1"
        ''',
    ),
    (
        "is_palindrome",
        "Write a function `is_palindrome(text: str) -> bool` that returns True if `text` reads "
        "the same forwards and backwards when only its letters and digits are considered "
        "(use `str.isalnum`) and case is ignored; everything else (spaces, punctuation) is "
        "skipped. A string with no letters or digits (including the empty string) counts as a "
        "palindrome.",
        '''
        def is_palindrome(text):
            kept = [c.lower() for c in text if c.isalnum()]
            return kept == kept[::-1]
        ''',
        '''
        assert is_palindrome("A man, a plan, a canal: Panama") is True
        assert is_palindrome("race a car") is False
        assert is_palindrome("") is True
        assert is_palindrome("!!!") is True
        assert is_palindrome("No 'x' in Nixon") is True
        assert is_palindrome("12321") is True
        assert is_palindrome("123 45") is False
        assert is_palindrome("ab") is False
        ''',
    ),
    (
        "flatten",
        "Write a function `flatten(items: list) -> list` that takes a list which may contain "
        "other lists nested to any depth and returns a new flat list of all the non-list "
        "elements in left-to-right order. Only `list` objects are flattened: strings, tuples "
        "and other values are kept as single elements. Empty inner lists contribute nothing. "
        "The input must not be modified.",
        '''
        def flatten(items):
            out = []
            for item in items:
                if isinstance(item, list):
                    out.extend(flatten(item))
                else:
                    out.append(item)
            return out
        ''',
        '''
        assert flatten([1, [2, [3, [4]], 5]]) == [1, 2, 3, 4, 5]
        assert flatten([]) == []
        assert flatten([[], [[]], [[], []]]) == []
        assert flatten(["ab", ("c", "d"), ["e"]]) == ["ab", ("c", "d"), "e"]
        assert flatten([[[[["deep"]]]]]) == ["deep"]
        data = [1, [2, 3]]
        assert flatten(data) == [1, 2, 3] and data == [1, [2, 3]]
        assert flatten([None, [0, [False]]]) == [None, 0, False]
        ''',
    ),
    (
        "to_roman",
        "Write a function `to_roman(n: int) -> str` that converts an integer from 1 to 3999 "
        "inclusive into an upper-case Roman numeral using the standard subtractive forms "
        "(IV, IX, XL, XC, CD, CM), e.g. 1994 -> 'MCMXCIV'. For any other value (including 0 "
        "and negative numbers) raise `ValueError`.",
        '''
        def to_roman(n):
            if not 1 <= n <= 3999:
                raise ValueError("out of range")
            table = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                     (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
            out = []
            for value, letters in table:
                while n >= value:
                    out.append(letters)
                    n -= value
            return "".join(out)
        ''',
        '''
        assert to_roman(1) == "I"
        assert to_roman(4) == "IV"
        assert to_roman(9) == "IX"
        assert to_roman(58) == "LVIII"
        assert to_roman(1994) == "MCMXCIV"
        assert to_roman(3999) == "MMMCMXCIX"
        assert to_roman(444) == "CDXLIV"
        def _raises(value):
            try:
                to_roman(value)
            except ValueError:
                return True
            return False
        assert _raises(0) and _raises(4000) and _raises(-5)
        ''',
    ),
    (
        "from_roman",
        "Write a function `from_roman(numeral: str) -> int` that converts an upper-case Roman "
        "numeral (standard form, values 1 to 3999, using I V X L C D M with the subtractive "
        "pairs IV IX XL XC CD CM) into its integer value, e.g. 'MCMXCIV' -> 1994. You may "
        "assume the input is a valid numeral.",
        '''
        def from_roman(numeral):
            values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
            total = 0
            for i, ch in enumerate(numeral):
                v = values[ch]
                if i + 1 < len(numeral) and values[numeral[i + 1]] > v:
                    total -= v
                else:
                    total += v
            return total
        ''',
        '''
        assert from_roman("I") == 1
        assert from_roman("IV") == 4
        assert from_roman("XLII") == 42
        assert from_roman("MCMXCIV") == 1994
        assert from_roman("MMMCMXCIX") == 3999
        assert from_roman("CDXLIV") == 444
        assert from_roman("DCCCXC") == 890
        ''',
    ),
    (
        "fizzbuzz",
        "Write a function `fizzbuzz(n: int) -> list[str]` that returns a list of strings for "
        "the numbers 1 to n inclusive: 'FizzBuzz' for multiples of both 3 and 5, 'Fizz' for "
        "other multiples of 3, 'Buzz' for other multiples of 5, and the number itself as a "
        "string otherwise. For n <= 0 return an empty list.",
        '''
        def fizzbuzz(n):
            out = []
            for i in range(1, n + 1):
                if i % 15 == 0:
                    out.append("FizzBuzz")
                elif i % 3 == 0:
                    out.append("Fizz")
                elif i % 5 == 0:
                    out.append("Buzz")
                else:
                    out.append(str(i))
            return out
        ''',
        '''
        assert fizzbuzz(0) == []
        assert fizzbuzz(-3) == []
        assert fizzbuzz(1) == ["1"]
        assert fizzbuzz(5) == ["1", "2", "Fizz", "4", "Buzz"]
        assert fizzbuzz(15)[-1] == "FizzBuzz"
        assert len(fizzbuzz(100)) == 100
        assert fizzbuzz(100).count("FizzBuzz") == 6
        assert fizzbuzz(30)[29] == "FizzBuzz" and fizzbuzz(30)[26] == "Fizz"
        ''',
    ),
    (
        "second_largest",
        "Write a function `second_largest(numbers: list[int]) -> int | None` that returns the "
        "second largest *distinct* value in the list, e.g. `second_largest([5, 5, 3, 1])` is 3. "
        "If the list has fewer than two distinct values (including an empty list), return "
        "None. The input must not be modified.",
        '''
        def second_largest(numbers):
            distinct = sorted(set(numbers), reverse=True)
            return distinct[1] if len(distinct) >= 2 else None
        ''',
        '''
        assert second_largest([5, 5, 3, 1]) == 3
        assert second_largest([1, 2]) == 1
        assert second_largest([7, 7, 7]) is None
        assert second_largest([]) is None
        assert second_largest([-1, -5, -3]) == -3
        assert second_largest([10, 9, 10, 9, 8]) == 9
        data = [3, 1, 2]
        assert second_largest(data) == 2 and data == [3, 1, 2]
        ''',
    ),
    (
        "merge_intervals",
        "Write a function `merge_intervals(intervals: list[list[int]]) -> list[list[int]]` "
        "that merges overlapping intervals. Each interval is `[start, end]` with start <= end "
        "(closed interval). Intervals that overlap or touch (one ends exactly where the next "
        "starts) are merged. The input may be in any order; return a new list of `[start, "
        "end]` lists sorted by start. An empty input gives `[]`.",
        '''
        def merge_intervals(intervals):
            merged = []
            for start, end in sorted(intervals):
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            return merged
        ''',
        '''
        assert merge_intervals([[1, 3], [2, 6], [8, 10], [15, 18]]) == [[1, 6], [8, 10], [15, 18]]
        assert merge_intervals([]) == []
        assert merge_intervals([[1, 4], [4, 5]]) == [[1, 5]]
        assert merge_intervals([[5, 7], [1, 2]]) == [[1, 2], [5, 7]]
        assert merge_intervals([[1, 10], [2, 3], [4, 5]]) == [[1, 10]]
        assert merge_intervals([[3, 3]]) == [[3, 3]]
        assert merge_intervals([[6, 8], [1, 3], [2, 4], [9, 9]]) == [[1, 4], [6, 8], [9, 9]]
        ''',
    ),
    (
        "word_frequency",
        "Write a function `word_frequency(text: str) -> dict[str, int]` that counts words. A "
        "word is a maximal run of ASCII letters (a-z, A-Z); everything else separates words. "
        "Words are counted case-insensitively and the keys are lower case. Text with no words "
        "gives an empty dict.",
        '''
        import re

        def word_frequency(text):
            counts = {}
            for word in re.findall(r"[A-Za-z]+", text):
                word = word.lower()
                counts[word] = counts.get(word, 0) + 1
            return counts
        ''',
        '''
        assert word_frequency("the cat and the hat") == {"the": 2, "cat": 1, "and": 1, "hat": 1}
        assert word_frequency("") == {}
        assert word_frequency("123 !!! ...") == {}
        assert word_frequency("Go go GO") == {"go": 3}
        assert word_frequency("don't stop") == {"don": 1, "t": 1, "stop": 1}
        assert word_frequency("a1b2a") == {"a": 2, "b": 1}
        assert word_frequency("well-known, WELL known") == {"well": 2, "known": 2}
        ''',
    ),
    (
        "is_balanced",
        "Write a function `is_balanced(s: str) -> bool` that returns True if the brackets "
        "`()`, `[]` and `{}` in `s` are balanced and properly nested, ignoring every other "
        "character. The empty string is balanced.",
        '''
        def is_balanced(s):
            pairs = {")": "(", "]": "[", "}": "{"}
            stack = []
            for ch in s:
                if ch in "([{":
                    stack.append(ch)
                elif ch in pairs:
                    if not stack or stack.pop() != pairs[ch]:
                        return False
            return not stack
        ''',
        '''
        assert is_balanced("") is True
        assert is_balanced("([]{})") is True
        assert is_balanced("([)]") is False
        assert is_balanced("((") is False
        assert is_balanced("))((") is False
        assert is_balanced("f(x[1]) + {y}") is True
        assert is_balanced("no brackets") is True
        assert is_balanced("}") is False
        ''',
    ),
    (
        "binary_search",
        "Write a function `binary_search(items: list[int], target: int) -> int` that returns "
        "the index of `target` in the ascending sorted list `items`, or -1 if it is absent. If "
        "`target` occurs several times, return the index of its first (leftmost) occurrence. "
        "It should take O(log n) comparisons.",
        '''
        def binary_search(items, target):
            lo, hi = 0, len(items)
            while lo < hi:
                mid = (lo + hi) // 2
                if items[mid] < target:
                    lo = mid + 1
                else:
                    hi = mid
            return lo if lo < len(items) and items[lo] == target else -1
        ''',
        '''
        assert binary_search([1, 3, 5, 7, 9], 7) == 3
        assert binary_search([1, 3, 5, 7, 9], 4) == -1
        assert binary_search([], 1) == -1
        assert binary_search([2, 2, 2, 3], 2) == 0
        assert binary_search([1, 2, 4, 4, 4, 5], 4) == 2
        assert binary_search([5], 5) == 0
        assert binary_search(list(range(0, 2000, 2)), 1998) == 999
        assert binary_search([1, 3], 0) == -1 and binary_search([1, 3], 10) == -1
        ''',
    ),
    (
        "gcd_lcm",
        "Write a function `gcd_lcm(numbers: list[int]) -> tuple[int, int]` that returns a "
        "tuple `(g, m)` where g is the greatest common divisor and m the least common multiple "
        "of all the numbers in the list. The list is non-empty and holds positive integers "
        "only. For a single number n the result is `(n, n)`.",
        '''
        from math import gcd

        def gcd_lcm(numbers):
            g, m = numbers[0], numbers[0]
            for n in numbers[1:]:
                g = gcd(g, n)
                m = m * n // gcd(m, n)
            return (g, m)
        ''',
        '''
        assert gcd_lcm([12, 18]) == (6, 36)
        assert gcd_lcm([7]) == (7, 7)
        assert gcd_lcm([4, 6, 8]) == (2, 24)
        assert gcd_lcm([5, 7, 11]) == (1, 385)
        assert gcd_lcm([10, 10, 10]) == (10, 10)
        assert gcd_lcm([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == (1, 2520)
        assert isinstance(gcd_lcm([3, 9]), tuple)
        ''',
    ),
    (
        "transpose",
        "Write a function `transpose(matrix: list[list]) -> list[list]` that returns the "
        "transpose of a rectangular matrix given as a list of rows: row i of the result is "
        "column i of the input. Return new lists (do not modify the input). `transpose([])` is "
        "`[]`, and a matrix of empty rows such as `[[], []]` also gives `[]`.",
        '''
        def transpose(matrix):
            if not matrix:
                return []
            return [[row[i] for row in matrix] for i in range(len(matrix[0]))]
        ''',
        '''
        assert transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]
        assert transpose([]) == []
        assert transpose([[], []]) == []
        assert transpose([[1]]) == [[1]]
        assert transpose([[1, 2, 3]]) == [[1], [2], [3]]
        assert transpose([["a"], ["b"]]) == [["a", "b"]]
        m = [[1, 2], [3, 4]]
        assert transpose(transpose(m)) == m and m == [[1, 2], [3, 4]]
        ''',
    ),
    (
        "caesar",
        "Write a function `caesar(text: str, shift: int) -> str` that applies a Caesar cipher: "
        "each ASCII letter is moved `shift` places along the alphabet, wrapping around from z "
        "to a, keeping its case; every other character is unchanged. `shift` may be negative "
        "or larger than 26.",
        '''
        def caesar(text, shift):
            out = []
            for ch in text:
                if "a" <= ch <= "z":
                    out.append(chr((ord(ch) - 97 + shift) % 26 + 97))
                elif "A" <= ch <= "Z":
                    out.append(chr((ord(ch) - 65 + shift) % 26 + 65))
                else:
                    out.append(ch)
            return "".join(out)
        ''',
        '''
        assert caesar("abc", 1) == "bcd"
        assert caesar("xyz", 3) == "abc"
        assert caesar("Hello, World!", 5) == "Mjqqt, Btwqi!"
        assert caesar("Mjqqt, Btwqi!", -5) == "Hello, World!"
        assert caesar("abc", 27) == "bcd"
        assert caesar("", 4) == ""
        assert caesar("Zz 9", 0) == "Zz 9"
        assert caesar("a", -27) == "z"
        ''',
    ),
    (
        "group_anagrams",
        "Write a function `group_anagrams(words: list[str]) -> list[list[str]]` that groups "
        "words that are anagrams of each other (same letters, same counts; case-sensitive). "
        "Groups appear in the order in which their first word appears in the input, and the "
        "words inside a group keep their input order (duplicates are kept). An empty input "
        "gives `[]`.",
        '''
        def group_anagrams(words):
            groups = {}
            for word in words:
                groups.setdefault("".join(sorted(word)), []).append(word)
            return list(groups.values())
        ''',
        '''
        groups = group_anagrams(["eat", "tea", "tan", "ate", "nat", "bat"])
        assert groups == [["eat", "tea", "ate"], ["tan", "nat"], ["bat"]]
        assert group_anagrams([]) == []
        assert group_anagrams(["a"]) == [["a"]]
        assert group_anagrams(["ab", "ba", "ab"]) == [["ab", "ba", "ab"]]
        assert group_anagrams(["Ab", "bA", "ab"]) == [["Ab", "bA"], ["ab"]]
        assert group_anagrams(["", ""]) == [["", ""]]
        assert group_anagrams(["abc", "def"]) == [["abc"], ["def"]]
        ''',
    ),
    (
        "two_sum",
        "Write a function `two_sum(numbers: list[int], target: int) -> tuple[int, int] | None` "
        "that returns a pair of indices `(i, j)` with i < j and `numbers[i] + numbers[j] == "
        "target`. If several pairs work, return the one with the smallest j, and among those "
        "the smallest i. Return None if there is no such pair.",
        '''
        def two_sum(numbers, target):
            first = {}
            for j, x in enumerate(numbers):
                if target - x in first:
                    return (first[target - x], j)
                first.setdefault(x, j)
            return None
        ''',
        '''
        assert two_sum([2, 7, 11, 15], 9) == (0, 1)
        assert two_sum([3, 2, 4], 6) == (1, 2)
        assert two_sum([3, 3], 6) == (0, 1)
        assert two_sum([1, 2, 3], 7) is None
        assert two_sum([], 0) is None
        assert two_sum([1, 5, 1, 5], 6) == (0, 1)
        assert two_sum([4, 1, 3, 2], 5) == (0, 1)
        assert two_sum([5, 0, 0], 0) == (1, 2)
        ''',
    ),
    (
        "pascal_row",
        "Write a function `pascal_row(n: int) -> list[int]` that returns row n of Pascal's "
        "triangle, counting from row 0 (which is `[1]`); row 1 is `[1, 1]`, row 4 is "
        "`[1, 4, 6, 4, 1]`. For negative n raise `ValueError`.",
        '''
        def pascal_row(n):
            if n < 0:
                raise ValueError("n must be non-negative")
            row = [1]
            for _ in range(n):
                row = [a + b for a, b in zip([0] + row, row + [0])]
            return row
        ''',
        '''
        assert pascal_row(0) == [1]
        assert pascal_row(1) == [1, 1]
        assert pascal_row(4) == [1, 4, 6, 4, 1]
        assert pascal_row(10)[5] == 252
        assert sum(pascal_row(20)) == 2 ** 20
        def _raises():
            try:
                pascal_row(-1)
            except ValueError:
                return True
            return False
        assert _raises()
        ''',
    ),
    (
        "primes_up_to",
        "Write a function `primes_up_to(n: int) -> list[int]` that returns all prime numbers "
        "less than or equal to n, in increasing order. For n < 2 return an empty list. It "
        "should handle n = 100000 quickly (e.g. with a sieve).",
        '''
        def primes_up_to(n):
            if n < 2:
                return []
            sieve = bytearray([1]) * (n + 1)
            sieve[0] = sieve[1] = 0
            for p in range(2, int(n ** 0.5) + 1):
                if sieve[p]:
                    sieve[p * p :: p] = bytearray(len(range(p * p, n + 1, p)))
            return [i for i, is_p in enumerate(sieve) if is_p]
        ''',
        '''
        assert primes_up_to(1) == []
        assert primes_up_to(-10) == []
        assert primes_up_to(2) == [2]
        assert primes_up_to(30) == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
        assert primes_up_to(97)[-1] == 97
        assert len(primes_up_to(100000)) == 9592
        assert primes_up_to(4) == [2, 3]
        ''',
    ),
    (
        "digital_root",
        "Write a function `digital_root(n: int) -> int` that repeatedly sums the decimal "
        "digits of a non-negative integer n until a single digit remains, and returns it. "
        "For example 9875 -> 9+8+7+5 = 29 -> 2+9 = 11 -> 1+1 = 2. `digital_root(0)` is 0.",
        '''
        def digital_root(n):
            while n >= 10:
                n = sum(int(d) for d in str(n))
            return n
        ''',
        '''
        assert digital_root(0) == 0
        assert digital_root(7) == 7
        assert digital_root(9875) == 2
        assert digital_root(10) == 1
        assert digital_root(999999999999) == 9
        assert digital_root(38) == 2
        assert digital_root(123456789) == 9
        ''',
    ),
    (
        "chunk",
        "Write a function `chunk(items: list, size: int) -> list[list]` that splits `items` "
        "into consecutive sub-lists of length `size`; the last sub-list holds whatever is left "
        "and may be shorter. An empty list gives `[]`. If size is less than 1, raise "
        "`ValueError`.",
        '''
        def chunk(items, size):
            if size < 1:
                raise ValueError("size must be at least 1")
            return [items[i : i + size] for i in range(0, len(items), size)]
        ''',
        '''
        assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
        assert chunk([1, 2, 3, 4], 2) == [[1, 2], [3, 4]]
        assert chunk([], 3) == []
        assert chunk([1, 2], 5) == [[1, 2]]
        assert chunk(["a", "b", "c"], 1) == [["a"], ["b"], ["c"]]
        def _raises(size):
            try:
                chunk([1, 2], size)
            except ValueError:
                return True
            return False
        assert _raises(0) and _raises(-2)
        ''',
    ),
    (
        "rotate_right",
        "Write a function `rotate_right(items: list, k: int) -> list` that returns a new list "
        "with the elements rotated k places to the right (the last k elements move to the "
        "front), e.g. `rotate_right([1, 2, 3, 4, 5], 2)` is `[4, 5, 1, 2, 3]`. k may be larger "
        "than the length or negative (a negative k rotates left). An empty list gives `[]`. "
        "The input must not be modified.",
        '''
        def rotate_right(items, k):
            if not items:
                return []
            k %= len(items)
            return items[-k:] + items[:-k] if k else list(items)
        ''',
        '''
        assert rotate_right([1, 2, 3, 4, 5], 2) == [4, 5, 1, 2, 3]
        assert rotate_right([1, 2, 3], 0) == [1, 2, 3]
        assert rotate_right([1, 2, 3], 3) == [1, 2, 3]
        assert rotate_right([1, 2, 3], 7) == [3, 1, 2]
        assert rotate_right([1, 2, 3], -1) == [2, 3, 1]
        assert rotate_right([], 4) == []
        data = [1, 2, 3]
        assert rotate_right(data, 1) == [3, 1, 2] and data == [1, 2, 3]
        ''',
    ),
    (
        "longest_common_prefix",
        "Write a function `longest_common_prefix(words: list[str]) -> str` that returns the "
        "longest string that every word in the list starts with (case-sensitive). An empty "
        "list, or words with nothing in common, give `''`.",
        '''
        def longest_common_prefix(words):
            if not words:
                return ""
            prefix = words[0]
            for word in words[1:]:
                while not word.startswith(prefix):
                    prefix = prefix[:-1]
            return prefix
        ''',
        '''
        assert longest_common_prefix(["flower", "flow", "flight"]) == "fl"
        assert longest_common_prefix(["dog", "racecar", "car"]) == ""
        assert longest_common_prefix([]) == ""
        assert longest_common_prefix(["alone"]) == "alone"
        assert longest_common_prefix(["same", "same"]) == "same"
        assert longest_common_prefix(["ab", "a", "abc"]) == "a"
        assert longest_common_prefix(["Apple", "apple"]) == ""
        assert longest_common_prefix(["", "abc"]) == ""
        ''',
    ),
    (
        "most_common_char",
        "Write a function `most_common_char(s: str) -> str` that returns the character that "
        "occurs most often in `s` (case-sensitive, spaces count). If several characters tie, "
        "return the one whose first occurrence comes earliest in `s`. For the empty string "
        "return `''`.",
        '''
        def most_common_char(s):
            counts = {}
            for ch in s:
                counts[ch] = counts.get(ch, 0) + 1
            best = ""
            for ch in counts:  # insertion order is first-occurrence order
                if not best or counts[ch] > counts[best]:
                    best = ch
            return best
        ''',
        '''
        assert most_common_char("banana") == "a"
        assert most_common_char("") == ""
        assert most_common_char("abcabc") == "a"
        assert most_common_char("bbaa") == "b"
        assert most_common_char("aAAb") == "A"
        assert most_common_char("x  y") == " "
        assert most_common_char("z") == "z"
        ''',
    ),
    (
        "spiral_order",
        "Write a function `spiral_order(matrix: list[list[int]]) -> list[int]` that returns "
        "the elements of a rectangular matrix in clockwise spiral order, starting at the top "
        "left and going right along the first row, then down the last column, and so on "
        "inwards. An empty matrix (`[]` or `[[]]`) gives `[]`.",
        '''
        def spiral_order(matrix):
            out = []
            rows = [list(r) for r in matrix if r]
            while rows:
                out.extend(rows.pop(0))
                rows = [list(r) for r in zip(*rows)][::-1]
            return out
        ''',
        '''
        assert spiral_order([[1, 2, 3], [4, 5, 6], [7, 8, 9]]) == [1, 2, 3, 6, 9, 8, 7, 4, 5]
        wide = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
        assert spiral_order(wide) == [1, 2, 3, 4, 8, 12, 11, 10, 9, 5, 6, 7]
        assert spiral_order([]) == []
        assert spiral_order([[]]) == []
        assert spiral_order([[7]]) == [7]
        assert spiral_order([[1], [2], [3]]) == [1, 2, 3]
        assert spiral_order([[1, 2], [3, 4]]) == [1, 2, 4, 3]
        ''',
    ),
    (
        "to_base",
        "Write a function `to_base(n: int, base: int) -> str` that writes the integer n in the "
        "given base (2 to 16 inclusive) using the digits 0-9 then lower-case a-f, with no "
        "prefix and no leading zeros; negative numbers get a leading '-'. `to_base(0, b)` is "
        "'0'. For a base outside 2..16 raise `ValueError`.",
        '''
        def to_base(n, base):
            if not 2 <= base <= 16:
                raise ValueError("base must be between 2 and 16")
            if n == 0:
                return "0"
            digits = "0123456789abcdef"
            sign = "-" if n < 0 else ""
            n = abs(n)
            out = []
            while n:
                n, r = divmod(n, base)
                out.append(digits[r])
            return sign + "".join(reversed(out))
        ''',
        '''
        assert to_base(10, 2) == "1010"
        assert to_base(255, 16) == "ff"
        assert to_base(0, 7) == "0"
        assert to_base(-42, 10) == "-42"
        assert to_base(-8, 2) == "-1000"
        assert to_base(35, 5) == "120"
        assert to_base(4095, 16) == "fff"
        def _raises(base):
            try:
                to_base(5, base)
            except ValueError:
                return True
            return False
        assert _raises(1) and _raises(17)
        ''',
    ),
    (
        "dedupe",
        "Write a function `dedupe(items: list) -> list` that returns a new list with duplicate "
        "elements removed, keeping the first occurrence of each and the original order. The "
        "elements are hashable. The input must not be modified.",
        '''
        def dedupe(items):
            seen = set()
            out = []
            for item in items:
                if item not in seen:
                    seen.add(item)
                    out.append(item)
            return out
        ''',
        '''
        assert dedupe([3, 1, 3, 2, 1]) == [3, 1, 2]
        assert dedupe([]) == []
        assert dedupe(["a", "A", "a"]) == ["a", "A"]
        assert dedupe([1, 1, 1, 1]) == [1]
        assert dedupe([(1, 2), (2, 1), (1, 2)]) == [(1, 2), (2, 1)]
        data = [2, 2, 5]
        assert dedupe(data) == [2, 5] and data == [2, 2, 5]
        ''',
    ),
    (
        "parse_duration",
        "Write a function `parse_duration(text: str) -> int` that converts a duration such as "
        "'1h30m', '45s' or '2h5s' into a number of seconds. The text is made of one to three "
        "parts, each a non-negative whole number followed by a unit letter: h (hours), m "
        "(minutes), s (seconds); each unit appears at most once and in the order h, m, s, "
        "with no spaces. For anything else (empty string, unknown unit, wrong order, missing "
        "number, extra characters) raise `ValueError`.",
        '''
        import re

        def parse_duration(text):
            m = re.fullmatch(r"(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?", text)
            if not text or m is None:
                raise ValueError(f"bad duration: {text!r}")
            h, mins, s = (int(g) if g else 0 for g in m.groups())
            return h * 3600 + mins * 60 + s
        ''',
        '''
        assert parse_duration("1h30m") == 5400
        assert parse_duration("45s") == 45
        assert parse_duration("2h5s") == 7205
        assert parse_duration("0m") == 0
        assert parse_duration("1h1m1s") == 3661
        assert parse_duration("90m") == 5400
        def _raises(text):
            try:
                parse_duration(text)
            except ValueError:
                return True
            return False
        assert _raises("") and _raises("5") and _raises("1m1h") and _raises("h")
        assert _raises("1x") and _raises("1h 30m") and _raises("1h1h")
        ''',
    ),
    (
        "count_islands",
        "Write a function `count_islands(grid: list[str]) -> int` that counts islands in a "
        "map given as a list of equal-length strings, where '#' is land and '.' is water. An "
        "island is a group of land cells connected horizontally or vertically (not "
        "diagonally). An empty grid has 0 islands. Large grids (e.g. 200 x 200) must work, "
        "so avoid deep recursion.",
        '''
        def count_islands(grid):
            seen = set()
            count = 0
            for r, row in enumerate(grid):
                for c, cell in enumerate(row):
                    if cell != "#" or (r, c) in seen:
                        continue
                    count += 1
                    seen.add((r, c))
                    stack = [(r, c)]
                    while stack:
                        y, x = stack.pop()
                        for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                            if (0 <= ny < len(grid) and 0 <= nx < len(grid[ny])
                                    and grid[ny][nx] == "#" and (ny, nx) not in seen):
                                seen.add((ny, nx))
                                stack.append((ny, nx))
            return count
        ''',
        '''
        assert count_islands([]) == 0
        assert count_islands(["...", "..."]) == 0
        assert count_islands(["#"]) == 1
        assert count_islands(["#.#", ".#.", "#.#"]) == 5
        assert count_islands(["##..", "#..#", "..##"]) == 2
        assert count_islands(["###", "#.#", "###"]) == 1
        assert count_islands(["#" * 200] * 200) == 1
        assert count_islands(["#." * 50] * 3) == 50
        ''',
    ),
    (
        "snake_to_camel",
        "Write a function `snake_to_camel(name: str) -> str` that converts a snake_case "
        "identifier to lowerCamelCase: the parts between underscores are joined, the first "
        "part lower-cased and every later part with its first letter upper-cased and the rest "
        "lower-cased. Empty parts (from leading, trailing or repeated underscores) are "
        "dropped. For example 'user_id' -> 'userId', '__HTTP_response_' -> 'httpResponse'. "
        "An empty string or one made only of underscores gives ''.",
        '''
        def snake_to_camel(name):
            parts = [p for p in name.split("_") if p]
            if not parts:
                return ""
            return parts[0].lower() + "".join(p[:1].upper() + p[1:].lower() for p in parts[1:])
        ''',
        '''
        assert snake_to_camel("user_id") == "userId"
        assert snake_to_camel("__HTTP_response_") == "httpResponse"
        assert snake_to_camel("") == ""
        assert snake_to_camel("___") == ""
        assert snake_to_camel("single") == "single"
        assert snake_to_camel("a_b_c") == "aBC"
        assert snake_to_camel("get__value2_now") == "getValue2Now"
        ''',
    ),
]


def rows() -> list[dict[str, str]]:
    out = []
    for i, (name, question, solution, tests) in enumerate(PROBLEMS, start=1):
        assert f"`{name}(" in question, name
        out.append({
            "id": f"py-{i:02d}",
            "question": question,
            "tests": _src(tests),
            "solution": _src(solution),
            "verifier": "python",
        })
    return out


def render(problems: list[dict[str, str]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in problems)


def main() -> None:
    problems = rows()
    OUTPUT.write_text(render(problems), encoding="utf-8")
    print(f"wrote {len(problems)} problems to {OUTPUT}")


if __name__ == "__main__":
    main()
