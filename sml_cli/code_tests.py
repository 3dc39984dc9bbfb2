"""The tests of code problems (the `python` verifier), from the layouts public sets use.

Test code as written (HumanEval's `check`, MBPP's assert list), stdin/stdout cases (APPS,
CodeContests, LiveCodeBench) and call cases (APPS' fn_name, LiveCodeBench's functional
cases) all become one Python test text, which the sandbox runs and a teacher can read.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib.util
import typing
from dataclasses import dataclass
from typing import Any

from sml_cli.cells import cell_text, collection_paused, list_cell, parse_json


class CallBasedCases(ValueError):
    """Cases that call a function this loader cannot name (LiveCodeBench's functional)."""


@dataclass(frozen=True)
class CallCases:
    """APPS/TACO call-based cases: `fn_name` called with each input's arguments must return
    its output (which APPS wraps in a one-item list)."""

    fn_name: str
    pairs: list[tuple[Any, Any]]

    def tests_code(self) -> str:
        name = self.fn_name
        if not name.isidentifier():
            raise ValueError(f"fn_name {name!r} is not a Python function name")
        lines = [
            f"# Each case calls {name} with the listed arguments; it must return the output.",
            "def _call(*args):",
            f"    if {name!r} in globals():",
            f"        return {name}(*args)",
            f"    return Solution().{name}(*args)  # LeetCode style",
            "",
            "def _same(got, expected):",
            "    if isinstance(got, tuple):",
            "        got = list(got)",
            "    return got == expected or [got] == expected",
            "",
        ]
        for args, expected in self.pairs:
            args = args if isinstance(args, list) else [args]
            lines.append(f"assert _same(_call(*{args!r}), {expected!r})")
        return "\n".join(lines) + "\n"


def io_cases(value: Any, entry_point: str | None = None
             ) -> list[tuple[str, str]] | CallCases | None:
    """stdin/stdout cases in the layouts public code sets use, or None for anything else:
    {"inputs": [...], "outputs": [...]} (APPS, TACO: `input_output`, often a JSON string),
    {"input": [...], "output": [...]} (CodeContests' public_tests), or a list of
    {"input", "output"} objects (LiveCodeBench's public_test_cases)."""
    value = list_cell(value)
    if isinstance(value, dict):
        keys = next((k for k in (("inputs", "outputs"), ("input", "output"))
                     if all(isinstance(list_cell(value.get(x)), list) for x in k)), None)
        if keys is None:
            return None
        inputs, outputs = (list_cell(value[k]) for k in keys)
        if len(inputs) != len(outputs):
            raise ValueError(f"{len(inputs)} inputs but {len(outputs)} outputs")
        if value.get("fn_name"):
            return CallCases(str(value["fn_name"]), list(zip(inputs, outputs, strict=True)))
        pairs = list(zip(inputs, outputs, strict=True))
    elif isinstance(value, list) and value and all(
            isinstance(v, dict) and "input" in v and "output" in v for v in value):
        if any(str(v.get("testtype", "stdin")).casefold() == "functional" for v in value):
            if not entry_point:
                raise CallBasedCases("are functional (calls of a method whose name is not "
                                     "given with them)")
            return CallCases(entry_point, [(_json_lines(v["input"]), _json_value(v["output"]))
                                           for v in value])
        pairs = [(v["input"], v["output"]) for v in value]
    else:
        return None
    return [(_io_text(given), _io_text(expected)) for given, expected in pairs]


def _json_value(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return parse_json(text)
    except (ValueError, RecursionError):
        raise ValueError(f"a functional case's value {text[:60]!r} is not JSON") from None


def _json_lines(text: Any) -> list[Any]:
    """A functional case's arguments: one JSON value per line (LiveCodeBench)."""
    if not isinstance(text, str):
        return text if isinstance(text, list) else [text]
    return [_json_value(line) for line in text.splitlines() if line.strip()]


def _io_text(value: Any) -> str:
    """A case's stdin or stdout: text, or its lines as a list."""
    if isinstance(value, list):
        return "".join(f"{v}\n" for v in value)
    return "" if value is None else str(value)


def io_tests_code(cases: list[tuple[str, str]]) -> str:
    """The `python` verifier's tests for stdin/stdout cases: one `run_io_case` per case,
    which the sandbox runs the program on (and which a teacher can read)."""
    lines = ["# Each case runs the program with the input on stdin; what it prints must "
             "match the output", "# (whitespace-separated tokens; decimals within 1e-6)."]
    lines += [f"run_io_case({given!r}, {expected!r})" for given, expected in cases]
    return "\n".join(lines) + "\n"


def tests_text(value: Any, entry_point: str | None = None) -> str | None:
    """Test code from a cell: a string, a list of statements (MBPP's `test_list`), or
    stdin/stdout or call cases (see `io_cases`)."""
    value = list_cell(value)
    cases = io_cases(value, entry_point)
    if isinstance(cases, CallCases):
        return cases.tests_code() if cases.pairs else None
    if cases is not None:
        return io_tests_code(cases) if cases else None
    if isinstance(value, list):
        lines = [str(v) for v in value if v is not None and str(v).strip()]
        return "\n".join(lines) or None
    return cell_text(value)


# Names the sandbox gives the tests without a definition: `run_io_case` (stdin/stdout cases)
# and typing's (see _harness.py).
HARNESS_NAMES = frozenset({"run_io_case", *typing.__all__, *dir(builtins)})
# Names tests may call that the student need not write: call cases try the function, then
# LeetCode's Solution class (see CallCases), and either will do.
_EITHER_NAMES = frozenset({"Solution"})


@functools.lru_cache(maxsize=4)  # (the notes read one problem's tests twice in a row)
def _parsed(tests: str) -> ast.Module | None:
    try:
        with collection_paused():
            return ast.parse(tests)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def functions_called(tests: str) -> list[str]:
    """The functions the tests call without defining or importing them, first called first:
    the ones the student must write. MBPP's `assert similar_elements(…) == …`, MBPP+'s
    `assertion(similar_elements(*inp), exp, 0)`, and a function handed to one the tests
    define, HumanEval's `check(has_close_elements)`."""
    tree = _parsed(tests)
    if tree is None:
        return []
    bound = set(HARNESS_NAMES | _EITHER_NAMES)
    defined: set[str] = set()
    calls: list[ast.Call] = []
    for node in ast.walk(tree):  # (once: a set's tests may run to thousands of lines)
        if isinstance(node, ast.Call):
            calls.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    bound |= defined
    called: list[str] = []
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):  # (as written)
        if not isinstance(call.func, ast.Name):
            continue
        names = [call.func.id]
        if call.func.id in defined:  # (check(candidate) is handed the function to test)
            names += [a.id for a in call.args if isinstance(a, ast.Name)]
        called += [n for n in names if n not in bound and n not in called]
    return called


def modules_missing(tests: str) -> list[str]:
    """The modules the tests import that this Python, the one the sandbox runs them with,
    does not have (MBPP+'s tests import numpy): every attempt at them would fail. Imports
    at the top level, or one level into a function or class, are the ones looked at."""
    if "import" not in tests:
        return []
    tree = _parsed(tests)
    if tree is None:
        return []
    statements = [*tree.body, *(s for node in tree.body if isinstance(
        node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for s in node.body)]
    names = [alias.name for node in statements if isinstance(node, ast.Import)
             for alias in node.names]
    names += [node.module for node in statements
              if isinstance(node, ast.ImportFrom) and node.module and not node.level]
    return [m for m in dict.fromkeys(n.split(".")[0] for n in names) if not _installed(m)]


@functools.lru_cache(maxsize=256)
def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def call_check_function(tests: str, entry_point: str) -> str:
    """HumanEval's tests define `check(candidate)` and leave calling it to the harness: call
    it on the entry point, or no assertion would ever run."""
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return tests
    defines = any(isinstance(s, ast.FunctionDef) and s.name == "check" and s.args.args
                  for s in tree.body)
    called = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "check"
                 for n in ast.walk(tree))
    if defines and not called:
        return f"{tests.rstrip()}\n\n\ncheck({entry_point})\n"
    return tests
