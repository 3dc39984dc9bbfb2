"""Error types that map onto the CLI's exit codes (SPEC §9)."""

from __future__ import annotations


class SmlError(Exception):
    """A run-time failure (exit code 1)."""

    exit_code = 1


class UsageError(SmlError):
    """Bad usage or bad input (exit code 2). The message names the file, line or flag at fault."""

    exit_code = 2


class ProblemFileError(UsageError):
    """A problem or transcript file that cannot be used; the message names file and line."""

    def __init__(self, path: str, message: str, line: int | None = None, *,
                 remedy: tuple[tuple[str, str], ...] = ()) -> None:
        self.path = path
        self.line = line
        self.message = message
        # The command-line options that would get past this error, as (flag, value) pairs
        # (`--question-field query`): a loader can try them and suggest them all at once.
        self.remedy = remedy
        where = f"{path}:{line}" if line is not None else path
        label = getattr(line, "label", None)
        if label:
            where += f" ({label})"
        super().__init__(f"{where}: {message}")


class Line(int):
    """A row's line number, and which row it is when several start on that line (a JSON
    array written on one line: "item 2"), so that an error still points at one row."""

    label: str | None

    def __new__(cls, line: int, label: str | None = None) -> Line:
        self = super().__new__(cls, line)
        self.label = label
        return self
