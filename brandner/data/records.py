"""What every reader of JSON annotations shares: a JSON value parsed within Python's limits, an
entity span checked against its text, overlapping spans resolved, and the file of one record a line.

The formats themselves (brandner.data.formats, labelstudio, doccano) only say where a record
keeps its text and spans. Everything here raises :class:`InputFileError` for bad input, never
another exception.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from brandner.data.schemes import Scheme, check_type
from brandner.data.sentence import Sentence, Span
from brandner.data.text import LONE_SURROGATE, writable
from brandner.errors import BrandnerError, InputFileError, NotJSONError, past_python_limit, quote

OVERLAP_POLICIES = ("error", "outer")
# How deep JSON input may nest (our formats need 7 levels): deeper, a record could reach Python's
# recursion limit wherever it is later written or shown.
MAX_JSON_DEPTH = 100
log = logging.getLogger("brandner")

RawSpans = tuple[str, list[Span]]  # a JSON record's text and its spans, unchecked for overlaps


@dataclass(frozen=True)
class ReadResult:
    """What a reader found.

    ``scheme`` is the tag scheme of a column file (None for JSON formats);
    ``repairs`` counts entities started by an I-/M-/E- tag that continued none,
    ``unclosed`` those closed without their E-/S- tag (IOBES, BMES);
    ``dropped`` counts entities left out because they overlap a longer one
    (only with ``overlaps="outer"``); ``skipped`` counts Label Studio tasks left out
    for want of an annotation that is not cancelled.
    """

    sentences: list[Sentence]
    scheme: Scheme | None = None
    repairs: int = 0
    dropped: int = 0
    unclosed: int = 0
    skipped: int = 0


def parse_json_lines(lines: Iterable[str], path: str, overlaps: str,
                     record_spans: Callable[[dict, str, int], RawSpans]) -> ReadResult:
    """Sentences from a file of one JSON object a line (blank lines skipped); ``record_spans``
    says where a record keeps its text and spans, ``overlaps`` (one of :data:`OVERLAP_POLICIES`)
    what to do with spans that overlap."""
    check_choice("overlap policy", overlaps, OVERLAP_POLICIES)
    sentences: list[Sentence] = []
    dropped = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        text, spans = record_spans(json_record(line, path, number), path, number)
        kept = without_overlaps(text, spans, overlaps, path, number)
        dropped += len(spans) - len(kept)
        sentences.append(Sentence(text, tuple(kept)))
    warn_dropped(path, dropped)
    return ReadResult(sentences, None, 0, dropped)


def warn_dropped(path: str, dropped: int) -> None:
    """Log how many entities ``overlaps="outer"`` left out of ``path``, if any."""
    if dropped:
        log.warning("%s: dropped %d entities that overlap a longer one", path, dropped)


def json_record(line: str, path: str, number: int) -> dict:
    """The JSON object on line ``number`` of ``path``; anything else is an :class:`InputFileError`,
    never another exception: not JSON, not an object, nested deeper than :data:`MAX_JSON_DEPTH`,
    a number too long for Python to convert, or an escape for half of a surrogate pair (a line that
    is not JSON text at all raises the subclass :class:`NotJSONError`).
    Every reader of JSON input goes through here or through :func:`json_values`."""
    with json_errors(path, number):
        record = json.loads(line)
    return checked_object(record, line, path, number)


def json_values(text: str, path: str) -> Iterator[tuple[object, str, int]]:
    """The elements of the JSON array that is the whole of ``text`` (a file's content), each with
    its JSON text and the line it starts on; errors as for :func:`json_record`, at the line where
    they are. The elements come one by one, so an error names the first bad one's line."""
    decoder = json.JSONDecoder()
    at = _skip_blank(text, 0)
    if not text.startswith("[", at):
        raise InputFileError(path, _line_at(text, at), "expected a JSON array, '[...]'")
    at = _skip_blank(text, at + 1)
    line, counted = 1, 0  # the line at offset `counted`, counted as the reading goes
    if text.startswith("]", at):
        at += 1
    else:
        while True:
            line += text.count("\n", counted, at)
            counted = at
            with json_errors(path, line, first=1):  # the decoder counts lines from the file's start
                value, end = decoder.raw_decode(text, at)
            yield value, text[at:end], line
            at = _skip_blank(text, end)
            if text.startswith(",", at):
                at = _skip_blank(text, at + 1)
            elif text.startswith("]", at):
                at += 1
                break
            else:
                got = "the end of the file" if at >= len(text) else quote(text[at:at + 10])
                raise NotJSONError(path, _line_at(text, at), f"invalid JSON: expected ',' or ']' after an "
                                                             f"element of the array, got {got}")
    at = _skip_blank(text, at)
    if at < len(text):
        raise NotJSONError(path, _line_at(text, at), "invalid JSON: more after the array's closing ']'")


def _skip_blank(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _line_at(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


@contextmanager
def json_errors(path: str, number: int, first: int | None = None) -> Iterator[None]:
    """Parsing JSON inside turns its errors into :class:`InputFileError` at line ``number``; a
    syntax error at the decoder's line counted from line ``first`` of the file (default ``number``)."""
    try:
        yield
    except json.JSONDecodeError as error:
        raise NotJSONError(path, (number if first is None else first) + error.lineno - 1,
                           f"invalid JSON: {error.msg} (column {error.colno})") from None
    except RecursionError:
        raise InputFileError(path, number, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as error:  # an integer past sys.get_int_max_str_digits()
        clause = past_python_limit(error)
        raise InputFileError(path, number, f"invalid JSON: {clause[:1].lower()}{clause[1:]}") from None


def checked_object(value: object, source: str, path: str, number: int, where: str = "") -> dict:
    """``value`` (parsed from the JSON text ``source``) if it is an object that can be written,
    compared and shown at any stack depth; else an :class:`InputFileError` (``where`` prefixes it)."""
    if not isinstance(value, dict):
        raise InputFileError(path, number, f"{where}expected a JSON object, got {json_type(value)}")
    if source.count("[") + source.count("{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise InputFileError(path, number, f"{where}JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if "\\u" in source and not writable(value):
        raise InputFileError(path, number, f"{where}{LONE_SURROGATE}")
    return value


def _depth(value: object) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar: 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def json_type(value: object) -> str:
    """What kind of JSON value ``value`` is, in words: "an array", "a string"..."""
    return {list: "an array", dict: "an object", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def record_text(record: dict, keys: tuple[str, ...], path: str, number: int) -> str:
    """The string under the first of ``keys`` that ``record`` has."""
    for key in keys:
        if key in record:
            if not isinstance(record[key], str):
                raise InputFileError(path, number, f"{key!r} must be a string")
            return record[key]
    raise InputFileError(path, number, f"no {' or '.join(repr(k) for k in keys)} field")


def checked_span(text: str, start: object, end: object, type_: object, word: object, where: str,
                 at: tuple[str, int], word_name: str = "word") -> Span:
    """A span after checking it against its text; ``end`` is exclusive. ``word`` (None: not
    given) must be the text there; ``word_name`` is what the format calls it."""
    if not (is_int(start) and is_int(end)):
        raise InputFileError(*at, f"{where}: start and end must be integers, got {quote(start)} and {quote(end)}")
    if not isinstance(type_, str):
        raise InputFileError(*at, f"{where}: 'type' must be a non-empty string, got {quote(type_)}")
    try:
        check_type(type_)
    except ValueError as error:
        raise InputFileError(*at, f"{where}: {error}") from None
    if not 0 <= start < end <= len(text):
        raise InputFileError(*at, f"{where}: span {quote(start)}..{quote(end)} is empty or outside the text "
                                  f"of {len(text)} characters")
    if word is not None and word != text[start:end]:
        raise InputFileError(*at, f"{where}: {word_name} {quote(word)} differs from the text there, "
                                  f"{quote(text[start:end])}")
    return Span(start, end, type_)


def without_overlaps(text: str, spans: list[Span], policy: str, path: str, number: int,
                     where: str = "") -> list[Span]:
    """Spans sorted by start; an overlap is an error (``where`` prefixes it), or (policy "outer")
    the later, shorter span goes (of two on the same characters, the type later in the alphabet)."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end, s.type)):
        if kept and span.start < kept[-1].end:
            if policy == "error":
                raise InputFileError(path, number, f"{where}entities overlap: {_describe(text, kept[-1])} "
                                                   f"and {_describe(text, span)}")
            continue
        kept.append(span)
    return kept


def _describe(text: str, span: Span) -> str:
    return f"{span.type} {quote(text[span.start:span.end])} at {span.start}..{span.end}"


def is_int(value: object) -> bool:
    """An integer, and not a boolean (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a :class:`BrandnerError` naming them."""
    if value not in choices:
        raise BrandnerError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")
    return value
