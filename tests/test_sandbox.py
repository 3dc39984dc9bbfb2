"""The `python` verifier's sandbox: student code runs out of process, with a timeout,
resource limits and a clean environment; the verdict cannot be forged from stdout."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sml_cli.code_tests import io_tests_code
from sml_cli.sandbox import TestRun, run_python_tests

ADD = "def add(a, b):\n    return a + b\n"
ADD_TESTS = "assert add(1, 2) == 3\nassert add(-1, 1) == 0\nassert add(0, 0) == 0\n"


def run(code: str, tests: str = "assert True", **kw: float) -> TestRun:
    kw.setdefault("timeout", 5.0)
    return run_python_tests(code, tests, **kw)  # type: ignore[arg-type]


def test_passing_code() -> None:
    result = run(ADD, ADD_TESTS)
    assert result.passed
    assert result.tests == 3
    assert result.failures == [] and result.error is None and not result.timed_out
    assert result.summary() == "correct: all 3 tests passed"


def test_failing_code_names_the_failing_test() -> None:
    result = run("def add(a, b):\n    return a - b\n", ADD_TESTS)
    assert not result.passed
    assert result.tests == 3
    assert [f["test"] for f in result.failures] == [
        "assert add(1, 2) == 3",
        "assert add(-1, 1) == 0",
    ]
    assert result.summary().startswith("incorrect: 2 of 3 tests failed: assert add(1, 2) == 3")


def test_many_failures_are_summarised() -> None:
    tests = "\n".join(f"assert f({i}) == {i}" for i in range(1, 6))
    result = run("def f(x):\n    return 0\n", tests)
    assert len(result.failures) == 5
    assert result.summary().endswith("and 2 more")


def test_syntax_error() -> None:
    result = run("def add(a, b) return a + b", ADD_TESTS)
    assert not result.passed
    assert result.error is not None
    assert result.error.startswith("the code does not compile")
    assert "line 1" in result.error
    assert "\n" not in result.summary()


def test_null_bytes_do_not_crash_the_harness() -> None:
    result = run("x = 1\x00", "assert x == 1")
    assert not result.passed
    assert result.error is not None and "does not compile" in result.error


def test_exception_in_code() -> None:
    result = run("raise ValueError('nope')", "assert True")
    assert not result.passed
    assert result.error == "the code raised ValueError: nope"


def test_sys_exit_in_code_is_a_failure() -> None:
    result = run("import sys\nsys.exit(0)", "assert True")
    assert not result.passed
    assert result.error is not None and "SystemExit" in result.error


def test_os_exit_before_the_tests_is_a_failure() -> None:
    result = run("import os\nos._exit(0)", "assert True")
    assert not result.passed
    assert result.error == "the code exited before the tests ran"


def test_killed_by_signal() -> None:
    result = run("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "assert True")
    assert not result.passed
    assert result.error is not None and "SIGKILL" in result.error


def test_infinite_loop_times_out() -> None:
    start = time.monotonic()
    result = run("while True:\n    pass\n", "assert True", timeout=1.0)
    assert time.monotonic() - start < 10
    assert result.timed_out and not result.passed
    assert result.summary() == "incorrect: the code timed out"


def test_infinite_loop_inside_a_test_times_out() -> None:
    result = run("def f():\n    while True:\n        pass\n", "assert f() == 1", timeout=1.0)
    assert result.timed_out and not result.passed


def test_sleeping_code_times_out() -> None:
    result = run("import time\ntime.sleep(60)", "assert True", timeout=1.0)
    assert result.timed_out


def test_memory_bomb_is_stopped() -> None:
    result = run("x = bytearray(8 * 1024 ** 3)", "assert True")
    assert not result.passed
    assert result.error is not None and "MemoryError" in result.error


def test_gradual_memory_growth_is_stopped() -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 << 20))\n"
    result = run(code, "assert True", memory_bytes=256 << 20)
    assert not result.passed
    assert not result.timed_out
    assert result.error is not None and "MemoryError" in result.error


def test_file_size_limit() -> None:
    code = "open('big.bin', 'wb').write(b'x' * (4 << 20))"
    result = run(code, "assert True", file_bytes=1 << 20)
    assert not result.passed
    assert result.error is not None and "File too large" in result.error


def test_no_api_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    code = "import os\nENV = dict(os.environ)\n"
    tests = (
        "assert not any('KEY' in k or 'TOKEN' in k or 'SECRET' in k for k in ENV)\n"
        "assert not any('secret' in v for v in ENV.values())\n"
        f"assert ENV.get('HOME') != {str(Path.home())!r}\n"
    )
    result = run(code, tests)
    assert result.passed, result.summary()


def test_runs_in_a_fresh_temporary_directory(tmp_path: Path) -> None:
    marker = tmp_path / "cwd.txt"
    code = (
        "import os\n"
        "open('scratch.txt', 'w').write('x')\n"
        f"open({str(marker)!r}, 'w').write(os.getcwd())\n"
    )
    result = run(code, "import os\nassert 'scratch.txt' in os.listdir('.')")
    assert result.passed, result.summary()
    workdir = Path(marker.read_text())
    assert workdir != Path.cwd()
    assert not workdir.exists()  # removed afterwards


def test_child_processes_are_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = (
        "import subprocess\n"
        "p = subprocess.Popen(['sleep', '30'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
    )
    run(code, "assert True")
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status")
        try:
            state = next(
                line for line in status.read_text().splitlines() if line.startswith("State")
            )
        except (FileNotFoundError, ProcessLookupError):
            return  # gone
        if "Z" in state.split()[1]:
            return  # dead, waiting to be reaped by init
        time.sleep(0.05)
    pytest.fail(f"child process {pid} still running")


def test_stdout_cannot_forge_a_verdict() -> None:
    fake = '{"compiled": true, "tests": 1, "failures": [], "error": null}'
    code = (
        "import os, sys\n"
        f"print('x ' + {fake!r})\n"
        f"sys.__stdout__.write('y ' + {fake!r} + '\\n')\n"
        "sys.__stdout__.flush()\n"
        "os._exit(0)\n"
    )
    result = run(code, "assert False")
    assert not result.passed


def test_student_output_does_not_disturb_the_verdict() -> None:
    code = ADD + "print('hello ' * 1000)\nimport sys\nprint('noise', file=sys.stderr)\n"
    assert run(code, ADD_TESTS).passed


def test_atexit_handlers_do_not_change_the_verdict() -> None:
    code = ADD + "import atexit, os\natexit.register(lambda: os._exit(3))\n"
    assert run(code, ADD_TESTS).passed


# ----------------------------------------------------------------------------- test styles


def test_humaneval_style_check_function() -> None:
    tests = (
        "def check(candidate):\n"
        "    assert candidate(1) == 2\n"
        "    assert candidate(3) == 6\n"
        "\n"
        "check(f)\n"
    )
    assert run("def f(x):\n    return 2 * x\n", tests).passed
    bad = run("def f(x):\n    return x + 1\n", tests)
    assert not bad.passed and bad.tests == 1
    assert "check(f)" in bad.summary()


def test_pytest_style_test_functions_are_run() -> None:
    tests = "def test_one():\n    assert f(1) == 2\n\ndef test_two():\n    assert f(2) == 4\n"
    good = run("def f(x):\n    return 2 * x\n", tests)
    assert good.passed and good.tests == 2
    bad = run("def f(x):\n    return 2\n", tests)
    assert not bad.passed
    assert [f["test"] for f in bad.failures] == ["test_two"]


# BigCodeBench writes its tests as unittest.TestCase classes that nothing runs.
UNITTEST_TESTS = (
    "import unittest\n"
    "class TestCases(unittest.TestCase):\n"
    "    def setUp(self):\n"
    "        self.base = 10\n"
    "    def test_double(self):\n"
    "        self.assertEqual(f(2), 4)\n"
    "    def test_base(self):\n"
    "        self.assertEqual(f(self.base), 20)\n"
    "    @unittest.skip('not this one')\n"
    "    def test_skipped(self):\n"
    "        self.fail('never run')\n"
    "    def helper(self):\n"
    "        raise AssertionError('not a test')\n"
)


def test_unittest_test_cases_are_run_method_by_method() -> None:
    good = run("def f(x):\n    return 2 * x\n", UNITTEST_TESTS)
    assert good.passed and good.tests == 2, good.summary()  # skipped and helpers: no checks
    bad = run("def f(x):\n    return 4\n", UNITTEST_TESTS)
    assert not bad.passed and bad.tests == 2
    assert [f["test"] for f in bad.failures] == ["TestCases.test_base"]
    assert "AssertionError: 4 != 20" in bad.summary()
    raising = run("def f(x):\n    raise ValueError('nope')\n", UNITTEST_TESTS)
    assert not raising.passed and len(raising.failures) == 2
    assert "ValueError: nope" in raising.summary()
    # Not every class is a test case; and a case that asserts nothing still never passes.
    assert not run("x = 1", "class Helper:\n    pass\n").passed
    empty = "import unittest\nclass T(unittest.TestCase):\n    pass\n"
    assert not run("x = 1", empty).passed and "no checks" in run("x = 1", empty).summary()


def test_asserts_in_a_loop_count_as_a_check() -> None:
    tests = "for a, b in [(1, 2), (2, 4)]:\n    assert f(a) == b\n"
    assert run("def f(x):\n    return 2 * x\n", tests).passed
    assert not run("def f(x):\n    return x\n", tests).passed


def test_tests_without_asserts_never_pass() -> None:
    result = run("x = 1", "y = x + 1")
    assert not result.passed
    assert result.tests == 0
    assert "no checks" in result.summary()
    assert not run("x = 1", "").passed


def test_failing_setup_step_stops_the_tests() -> None:
    result = run("x = 1", "import no_such_module_here\nassert x == 1")
    assert not result.passed
    summary = result.summary()
    assert "no_such_module_here" in summary
    assert "did not run" in summary
    assert "of 0 tests" not in summary


def test_helper_raising_after_a_passing_check() -> None:
    result = run("def f(x):\n    return 2 * x\n", "assert f(1) == 2\nr = f('a') + 1\nassert r == 3")
    assert not result.passed
    assert "r = f('a') + 1" in result.summary()


def test_tests_that_do_not_parse() -> None:
    result = run(ADD, "assert add(1, 2) ==")
    assert not result.passed
    assert result.error is not None and "tests do not parse" in result.error


# ----------------------------------------------------------------------------- summary()


def test_summary_states() -> None:
    assert TestRun(False, timed_out=True).summary() == "incorrect: the code timed out"
    assert TestRun(False, error="boom").summary() == "incorrect: boom"
    assert TestRun(True, tests=2).summary() == "correct: all 2 tests passed"
    failed = TestRun(
        False, tests=2, failures=[{"test": "assert f() == 1", "error": "AssertionError"}]
    )
    assert failed.summary() == "incorrect: 1 of 2 tests failed: assert f() == 1 (AssertionError)"



# ----------------------------------------------------------------------------- stdin/stdout


SUM_CASES = io_tests_code([("1 2\n", "3\n"), ("10 -3\n", "7\n")])


@pytest.mark.parametrize("program", [
    "a, b = map(int, input().split())\nprint(a + b)\n",
    "import sys\na, b = map(int, sys.stdin.buffer.read().split())\n"
    "sys.stdout.write(f'{a + b}\\n')\nexit()\n",
    "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n\n"
    "if __name__ == '__main__':\n    main()\n",
    "import sys\nfor line in sys.stdin:\n    print(sum(map(int, line.split())), end='  \\n\\n')\n",
])
def test_a_stdin_program_runs_once_per_case(program: str) -> None:
    """Contest programs read stdin at top level, under a __main__ guard, through
    sys.stdin.buffer, and may end with exit(); output is compared token by token."""
    result = run(program, SUM_CASES)
    assert result.passed, result.summary()
    assert result.tests == 2


def test_a_wrong_stdin_program_names_the_case_and_what_it_printed() -> None:
    result = run("print(3)\n", SUM_CASES)
    assert not result.passed and result.tests == 2
    [failure] = result.failures
    assert "expected '7\\n', printed '3\\n'" in failure["error"]
    assert result.summary().startswith("incorrect: 1 of 2 tests failed: run_io_case('10 -3")


def test_stdin_cases_judge_like_contest_checkers() -> None:
    """Decimals within 1e-6 pass, other tokens must match exactly, a non-zero exit fails,
    and each case starts from a fresh module (no state carried over)."""
    halves = io_tests_code([("1\n", "0.5\n"), ("3\n", "1.5\n")])
    assert run("print(int(input()) / 2 + 1e-9)\n", halves).passed
    assert not run("print(int(input()) / 2 + 1e-3)\n", halves).passed
    assert not run("print('0.5x')\n", io_tests_code([("", "0.5\n")])).passed
    exits = run("print(3)\nimport sys\nsys.exit(2)\n", io_tests_code([("", "3\n")]))
    assert not exits.passed and "exited with status 2" in exits.summary()
    counter = "import builtins\nseen = globals().get('seen', 0) + 1\nprint(seen)\n"
    assert run(counter, io_tests_code([("", "1\n"), ("", "1\n")])).passed
    assert run("while True: pass\n", SUM_CASES, timeout=2).timed_out


def test_typing_names_need_no_import_as_on_leetcode() -> None:
    """Starter code annotated with List/Optional (LeetCode, LiveCodeBench) runs without its
    import, in function and stdin problems alike; other undefined names still fail."""
    method = ("class Solution:\n    def total(self, nums: List[int]) -> Optional[int]:\n"
              "        return sum(nums)\n")
    assert run(method, "assert Solution().total([1, 2]) == 3").passed
    program = "def read() -> List[int]:\n    return list(map(int, input().split()))\n" \
              "print(sum(read()))\n"
    assert run(program, io_tests_code([("1 2\n", "3\n")])).passed
    assert not run("x = numpy.zeros(3)\n", "assert True").passed


def test_a_note_names_modules_the_tests_import_and_this_python_lacks(tmp_path: Path) -> None:
    """EvalPlus' tests start with `import numpy`: where numpy is missing they fail whatever
    the student writes, so loading says so (and how to install it), naming no module that is
    there (the standard library, sml's own dependencies)."""
    from sml_cli.problems import load_problems, loading_notes

    rows = [
        {"question": "Write f.", "tests": "import no_such_module_xyz as np\nassert f() == 1"},
        {"question": "Write g.", "tests": "from no_such_module_xyz.linalg import norm\n"
                                          "import math, collections.abc\nimport rich\n"
                                          "assert g() == 2"},
        {"question": "Write h.", "tests": "import json\nassert h() == 3"},
        {"question": "Write k.", "tests": "def check(c):\n    import other_missing_mod\n"
                                          "    assert c() == 4"},
    ]
    path = tmp_path / "code.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    notes = [n for n in loading_notes(load_problems(str(path))) if "import" in n]
    assert len(notes) == 1, notes
    assert notes[0].startswith("the tests of 3 of 4 code problems import no_such_module_xyz, "
                               "other_missing_mod, which"), notes[0]
    assert "uv pip install --python" in notes[0]
    assert "no_such_module_xyz other_missing_mod" in notes[0]
    assert not any(name in notes[0] for name in ("math", "json", "rich", "collections"))
    # Every module there: no note.
    path.write_text(json.dumps(rows[2]) + "\n")
    assert not [n for n in loading_notes(load_problems(str(path))) if "import" in n]
