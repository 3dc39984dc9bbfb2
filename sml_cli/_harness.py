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


def _limit(kind: int, value: int) -> None:
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(kind)
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

    result = {"compiled": False, "tests": 0, "failures": [], "error": None}
    namespace: dict = {"__name__": "solution"}
    sink = io.StringIO()
    out = sys.stdout
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            code = compile(request["code"], "solution.py", "exec")
            result["compiled"] = True
            exec(code, namespace)
    except BaseException as exc:  # the student's code may raise anything, SystemExit included
        result["error"] = "the code raised " + _describe(exc)
        print(nonce, json.dumps(result), file=out, flush=True)
        return

    try:
        statements = ast.parse(request["tests"]).body
    except SyntaxError as exc:
        result["error"] = f"tests do not parse: {exc}"
        print(nonce, json.dumps(result), file=out, flush=True)
        return
    lines = request["tests"].splitlines()
    for statement in statements:
        source = "\n".join(lines[statement.lineno - 1 : statement.end_lineno]).strip()
        module = ast.Module(body=[statement], type_ignores=[])
        is_check = isinstance(statement, ast.Assert)
        if is_check:
            result["tests"] += 1
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                exec(compile(module, "tests.py", "exec"), namespace)
        except BaseException as exc:
            result["failures"].append({"test": source[:300], "error": _describe(exc)})
            if not is_check:
                # A failing setup line (import, helper definition) invalidates what follows.
                break
    print(nonce, json.dumps(result), file=out, flush=True)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AssertionError) and not str(exc):
        return "AssertionError"
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:500]


if __name__ == "__main__":
    _main()
    sys.stdout.flush()
    os._exit(0)  # do not run the student's atexit handlers or __del__ methods after the verdict
