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

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
