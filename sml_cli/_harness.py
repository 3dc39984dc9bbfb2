"""Runs inside the sandbox subprocess (never imported by sml itself).

Reads {"code", "tests", "nonce", limits} as JSON on stdin, confines itself with rlimits, runs
the student's code, then each top-level statement of the tests on its own so that a failure
report can name the failing checks. The last stdout line is `<nonce> <json result>`.
"""

import ast
import contextlib
import io
import json
import os
import resource
import sys
import traceback
import types
import typing
from collections.abc import Callable

# typing's names (List, Optional, …) are there without an import, as on LeetCode, whose
# starter code (LiveCodeBench's too) annotates with them: a missing import is not the skill
# a code problem tests.
_PRELUDE = {name: getattr(typing, name) for name in typing.__all__}


def _limit(kind: int, value: int) -> None:
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


def _main() -> None:
    request = json.loads(sys.stdin.read())
    nonce = request.pop("nonce")
    _limit(resource.RLIMIT_CPU, int(request["cpu_seconds"]))
    _limit(resource.RLIMIT_AS, int(request["memory_bytes"]))
    _limit(resource.RLIMIT_FSIZE, int(request["file_bytes"]))
    _limit(resource.RLIMIT_NOFILE, 64)
    _limit(resource.RLIMIT_CORE, 0)

    failures: list[dict[str, object]] = []
    result: dict[str, object] = {"compiled": False, "tests": 0, "failures": failures,
                                 "error": None}
    namespace: dict = {**_PRELUDE, "__name__": "solution"}
    sink = io.StringIO()
    out = sys.stdout
    try:
        code = compile(request["code"], "solution.py", "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
        lineno = getattr(exc, "lineno", None)
        line = f" (line {lineno})" if lineno else ""
        result["error"] = f"the code does not compile: {getattr(exc, 'msg', exc)}{line}"
        print(nonce, json.dumps(result), file=out, flush=True)
        return
    result["compiled"] = True
    try:
        statements = ast.parse(request["tests"]).body
    except SyntaxError as exc:
        result["error"] = f"tests do not parse: {exc}"
        print(nonce, json.dumps(result), file=out, flush=True)
        return
    checking = _checking_functions(statements)
    if any(_calls(s, {IO_CASE}) for s in statements):
        # A program that reads stdin runs once per case, not once up front (it would read
        # an empty stdin there and fail before any case ran).
        namespace[IO_CASE] = _io_case_runner(code)
        checking.add(IO_CASE)
    else:
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                exec(code, namespace)
        except BaseException as exc:  # the student's code may raise anything, SystemExit too
            result["error"] = "the code raised " + _describe(exc)
            print(nonce, json.dumps(result), file=out, flush=True)
            return

    lines = request["tests"].splitlines()
    plan = [(s, _is_check(s, checking)) for s in statements]
    # pytest-style `def test_x(): assert ...` that the tests never call are run at the end.
    called = {n.func.id for s in statements for n in ast.walk(s)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    pending_tests = [s for s in statements if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                     and s.name.startswith("test") and s.name not in called
                     and not s.args.args and not s.args.posonlyargs and not s.args.kwonlyargs]
    checks = sum(is_check for _, is_check in plan) + len(pending_tests)
    result["tests"] = checks
    for statement, is_check in plan:
        source = "\n".join(lines[statement.lineno - 1 : statement.end_lineno]).strip()
        module = ast.Module(body=[statement], type_ignores=[])
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                exec(compile(module, "tests.py", "exec"), namespace)
        except BaseException as exc:
            failures.append(
                {"test": source[:300], "error": _describe(exc), "check": is_check}
            )
            if not is_check:
                # A failing setup line (import, helper definition) invalidates what follows.
                print(nonce, json.dumps(result), file=out, flush=True)
                return
    for fn in pending_tests:
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                namespace[fn.name]()
        except BaseException as exc:
            failures.append({"test": fn.name, "error": _describe(exc), "check": True})
    classes = [namespace.get(s.name) for s in statements if isinstance(s, ast.ClassDef)]
    result["tests"] = checks + _run_test_cases(classes, failures, sink)
    print(nonce, json.dumps(result), file=out, flush=True)


def _run_test_cases(classes: list[object], failures: list[dict[str, object]],
                    sink: io.StringIO) -> int:
    """unittest.TestCase classes the tests define (BigCodeBench writes its tests so; nothing
    calls unittest.main here): each test method is a check. Returns how many ran."""
    if "unittest" not in sys.modules:  # (no test case without it: skip the import)
        return 0
    import unittest

    ran = 0
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, unittest.TestCase)):
            continue
        outcome = unittest.TestResult()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            unittest.defaultTestLoader.loadTestsFromTestCase(cls).run(outcome)
        ran += outcome.testsRun - len(outcome.skipped)
        for test, trace in outcome.failures + outcome.errors:
            lines = [line for line in trace.strip().splitlines() if line.strip()]
            name = test.id().rsplit(".", 2)
            failures.append({"test": ".".join(name[-2:]), "error": (lines or ["failed"])[-1][:500],
                             "check": True})
    return ran


# The function I/O tests call: `run_io_case(stdin_text, expected_stdout)` (see
# sml_cli.code_tests.io_tests_code, which writes them).
IO_CASE = "run_io_case"


def _io_case_runner(code: types.CodeType) -> Callable[[str, str], None]:
    def run_io_case(given: str, expected: str) -> None:
        stdin = io.TextIOWrapper(io.BytesIO(given.encode()), encoding="utf-8")
        stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
        saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, io.StringIO()
        try:
            exec(code, {**_PRELUDE, "__name__": "__main__"})
        except SystemExit as exc:  # exit() / sys.exit(0) ends a program normally
            if exc.code not in (None, 0):
                raise RuntimeError(f"the program exited with status {exc.code!r}") from None
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
        got = stdout.buffer.getvalue().decode("utf-8", "replace")
        if not _same_output(got, expected):
            raise AssertionError(f"input {_clip(given)!r}: expected {_clip(expected)!r}, "
                                 f"printed {_clip(got)!r}")

    return run_io_case


def _same_output(got: str, expected: str) -> bool:
    """Judged as contest checkers do: whitespace-separated tokens equal, numbers with a
    decimal point within 1e-6 (absolute or relative)."""
    a, b = got.split(), expected.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        if "." not in x + y:
            return False
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if abs(fx - fy) > 1e-6 * max(1.0, abs(fy)):
            return False
    return True


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _calls(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names
               for n in ast.walk(node))


def _contains_assert(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def _checking_functions(statements: list[ast.stmt]) -> set[str]:
    """Names of the test file's own functions that assert something (HumanEval's `check`)."""
    return {s.name for s in statements
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and _contains_assert(s)}


def _is_check(statement: ast.stmt, checking: set[str]) -> bool:
    """A statement that checks something: an assert (also inside a loop or `with`), or a call
    of a test function that asserts (`check(candidate)`). Definitions and imports are setup."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return False
    return _contains_assert(statement) or _calls(statement, checking)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AssertionError) and not str(exc):
        return "AssertionError"
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:500]


if __name__ == "__main__":
    _main()
    sys.stdout.flush()
    os._exit(0)  # do not run the student's atexit handlers or __del__ methods after the verdict
