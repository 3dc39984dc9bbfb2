"""The tests of code problems (the `python` verifier), from the layouts public sets use.

Test code as written (HumanEval's `check`, MBPP's assert list), stdin/stdout cases (APPS,
CodeContests, LiveCodeBench) and call cases (APPS' fn_name, LiveCodeBench's functional
cases) all become one Python test text, which the sandbox runs and a teacher can read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from sml_cli.cells import cell_text, list_cell, parse_json


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


def modules_missing(problems: list[Any]) -> dict[str, int]:
    """The modules that code problems' tests import and the Python running them (this one,
    as `python -I`: see sandbox.py) cannot: module → problems whose tests import it. Such
    tests fail whatever the student writes (EvalPlus' start with `import numpy`)."""
    import importlib.util
    import sys

    found: dict[str, bool] = {}
    missing: dict[str, int] = {}
    for problem in problems:
        if problem.verifier != "python" or not problem.tests:
            continue
        for name in sorted(_imported_modules(problem.tests)):
            if name not in found:
                try:
                    found[name] = (name in sys.stdlib_module_names
                                   or importlib.util.find_spec(name) is not None)
                except (ImportError, ValueError):
                    found[name] = False
            if not found[name]:
                missing[name] = missing.get(name, 0) + 1
    return missing


def _imported_modules(code: str) -> set[str]:
    """Top-level names of the modules `code` imports (`import numpy as np`, `from x.y
    import z`), anywhere in it; none if it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names
