"""Error types that the CLI turns into one line and exit code 1."""

from __future__ import annotations


class BrandnerError(ValueError):
    """A problem with the user's input or settings, worth one line to the user."""


class InputFileError(BrandnerError):
    """A bad line in an input file, reported as ``path:line: message``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}")
