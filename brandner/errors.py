"""Error types that the CLI turns into one line and exit code 1, and the quoting that keeps it one line."""

from __future__ import annotations

# How much of a user's value an error message quotes: enough to find it, not a 200,000-character line.
QUOTE_LIMIT = 80
# Past this, a message is cut whatever it quotes, so that an error stays one readable line.
MESSAGE_LIMIT = 400


class BrandnerError(ValueError):
    """A problem with the user's input or settings, worth one line to the user."""


class InputFileError(BrandnerError):
    """A bad line in an input file, reported as ``path:line: message``.

    The message is cut to :data:`MESSAGE_LIMIT` characters; quote values in it with :func:`quote`.
    """

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = _cut(message, MESSAGE_LIMIT)
        super().__init__(f"{self.path}:{line}: {self.message}")


class NotJSONError(InputFileError):
    """A line that is not JSON text at all (a syntax error), as opposed to JSON that breaks a rule
    (too deep, a number too long, not an object...): a reader guessing a file's format tells them apart."""


def past_python_limit(error: ValueError) -> str:
    """What Python's ValueError for a number past its digit limit says, without how to raise the
    limit: "Exceeds the limit (4300 digits) for integer string conversion"."""
    return str(error).partition(":")[0]


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters with an ellipsis, for quoting input in a message.

    >>> quote("特步"), quote("x" * 100, 10)
    ("'特步'", "'xxxxxxxx…")
    """
    if isinstance(value, str):
        text = repr(value[:limit])  # repr of a prefix: a long string is not copied whole
    else:
        try:
            text = repr(value)
        except RecursionError:
            return "(a value nested too deeply to show)"
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
