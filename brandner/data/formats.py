"""Reading and writing annotated corpora: column files and JSON lines.

Every reader returns :class:`Sentence` objects whose text keeps the file's own
characters (normalisation is ``text.py``'s job). Three formats:

``columns`` (read and written by brandner.data.columns): one character and its tag a
line, tab or space between them, a blank line between sentences; BIO, IOBES (B/I/E/S)
or BMES (B/M/E/S) tags::

    特	B-SHOE
    步	I-SHOE
    鞋	O

``jsonl``: ours, also what ``brandner tag`` writes (``end`` exclusive; ``text``
is accepted for ``string``, ``word`` is optional but checked)::

    {"string": "我买了特步鞋", "entities": [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]}

``cluener``: CLUENER2020 (positions ``[start, end_inclusive]``; no ``label``
means no entities)::

    {"text": "浙商银行企业信贷部", "label": {"company": {"浙商银行": [[0, 3]]}}}

A bad file raises :class:`InputFileError`, shown as ``path:line: what is wrong``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from brandner.atomic import atomic_output
from brandner.data.columns import format_columns, parse_columns
from brandner.data.schemes import IOBES, Scheme, as_scheme, check_type
from brandner.data.sentence import Sentence, Span
from brandner.data.text import LONE_SURROGATE, writable
from brandner.errors import BrandnerError, InputFileError, NotJSONError, past_python_limit, quote

FORMATS = ("columns", "jsonl", "cluener")
OVERLAP_POLICIES = ("error", "outer")
# How deep JSON input may nest (our formats need 5 levels): deeper, a record could reach Python's
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
    (only with ``overlaps="outer"``).
    """

    sentences: list[Sentence]
    scheme: Scheme | None = None
    repairs: int = 0
    dropped: int = 0
    unclosed: int = 0


# ---------------------------------------------------------------- reading


def read_file(path: str | Path, fmt: str = "auto", scheme: Scheme | str | None = None,
              char_digit: bool | None = None, overlaps: str = "error") -> ReadResult:
    """Sentences from a file in one of :data:`FORMATS`, or ``"auto"``.

    ``auto`` decides by content: a first non-blank line that is a JSON object
    means JSON lines (``cluener`` when it has a ``label`` key, else ``jsonl``),
    anything else a column file. ``scheme`` and ``char_digit`` concern column
    files only (None: detected); ``overlaps`` concerns JSON files only:
    ``"error"`` rejects overlapping entities, ``"outer"`` keeps the earliest,
    longest one and drops (and counts) the others.
    """
    name = str(path)
    lines = read_lines(path)
    fmt = _check_choice("format", fmt, FORMATS + ("auto",))
    if fmt == "auto":
        fmt = guess_format(lines)
    if fmt == "columns":
        found = parse_columns(lines, name, scheme, char_digit)
        return ReadResult(found.sentences, found.scheme, found.repairs, unclosed=found.unclosed)
    parse = parse_jsonl if fmt == "jsonl" else parse_cluener
    return parse(lines, name, overlaps)


def read_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 file (a BOM is dropped); not UTF-8 is an error naming the line."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise InputFileError(str(path), line,
                             f"not UTF-8: byte {raw[error.start]:#04x} cannot be decoded") from None
    # split("\n"), not splitlines(): U+2028, U+0085 and friends are characters of the corpus.
    return text.removeprefix("\ufeff").split("\n")


def decoded_lines(raw_lines: Iterable[bytes], path: str | Path) -> Iterator[tuple[int, str]]:
    """``(number, line)`` for the lines of a file opened in binary mode, each decoded on its own
    (:func:`decode_line`), so that a byte that is not UTF-8 is reported on its line."""
    for number, raw in enumerate(raw_lines, start=1):
        yield number, decode_line(raw, path, number)


def decode_line(raw: bytes, path: str | Path, number: int) -> str:
    """Line ``number`` of a file opened in binary mode as text: line end removed, a byte-order mark
    dropped from line 1; not UTF-8 is an :class:`InputFileError`. Lines end at a line feed only: a
    lone carriage return stays inside its line."""
    try:
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputFileError(str(path), number, "not UTF-8 text") from None
    return line.removeprefix("\ufeff") if number == 1 else line


def guess_format(lines: Iterable[str]) -> str:
    """``"cluener"``, ``"jsonl"`` or ``"columns"``. Columns unless the first non-blank line is a
    JSON object; then the first record with a ``label`` (cluener) or with ``entities`` or
    ``string`` (jsonl) decides. A record of a bare ``text`` is either format's sentence without
    entities, so it does not decide; a file of nothing else is read as jsonl."""
    json_seen = False
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not json_seen and not (line.startswith("{") and line.endswith("}")):
            return "columns"
        json_seen = True
        try:
            record = json_record(line, "<guess>", 0)
        except InputFileError:
            return "jsonl"  # the reader names the line and the error
        if "entities" in record or "string" in record:
            return "jsonl"
        if "label" in record:
            return "cluener"
    return "jsonl" if json_seen else "columns"


def parse_jsonl(lines: Iterable[str], path: str = "<lines>", overlaps: str = "error") -> ReadResult:
    """Sentences from the lines of a file in our JSON-lines format (see the module docstring)."""
    return _parse_json_lines(lines, path, overlaps, _jsonl_spans)


def parse_cluener(lines: Iterable[str], path: str = "<lines>", overlaps: str = "error") -> ReadResult:
    """Sentences from the lines of a CLUENER2020 file (see the module docstring)."""
    return _parse_json_lines(lines, path, overlaps, _cluener_spans)


def _parse_json_lines(lines: Iterable[str], path: str, overlaps: str,
                      record_spans: Callable[[dict, str, int], RawSpans]) -> ReadResult:
    _check_choice("overlap policy", overlaps, OVERLAP_POLICIES)
    sentences: list[Sentence] = []
    dropped = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        text, spans = record_spans(json_record(line, path, number), path, number)
        kept = _without_overlaps(text, spans, overlaps, path, number)
        dropped += len(spans) - len(kept)
        sentences.append(Sentence(text, tuple(kept)))
    if dropped:
        log.warning("%s: dropped %d entities that overlap a longer one", path, dropped)
    return ReadResult(sentences, None, 0, dropped)


def json_record(line: str, path: str, number: int) -> dict:
    """The JSON object on line ``number`` of ``path``; anything else is an :class:`InputFileError`,
    never another exception: not JSON, not an object, nested deeper than :data:`MAX_JSON_DEPTH`,
    a number too long for Python to convert, or an escape for half of a surrogate pair (a line that
    is not JSON text at all raises the subclass :class:`NotJSONError`).
    Every reader of JSON input goes through here."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise NotJSONError(path, number, f"invalid JSON: {error.msg} (column {error.colno})") from None
    except RecursionError:
        raise InputFileError(path, number, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as error:  # an integer past sys.get_int_max_str_digits()
        clause = past_python_limit(error)
        raise InputFileError(path, number, f"invalid JSON: {clause[:1].lower()}{clause[1:]}") from None
    if not isinstance(record, dict):
        raise InputFileError(path, number, f"expected a JSON object, got {_json_type(record)}")
    # Shallower than the limit, the record can be written, compared and shown at any stack depth.
    if line.count("[") + line.count("{") > MAX_JSON_DEPTH and _depth(record) > MAX_JSON_DEPTH:
        raise InputFileError(path, number, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if "\\u" in line and not writable(record):
        raise InputFileError(path, number, LONE_SURROGATE)
    return record


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


def _json_type(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def _record_text(record: dict, keys: tuple[str, ...], path: str, number: int) -> str:
    for key in keys:
        if key in record:
            if not isinstance(record[key], str):
                raise InputFileError(path, number, f"{key!r} must be a string")
            return record[key]
    raise InputFileError(path, number, f"no {' or '.join(repr(k) for k in keys)} field")


def _jsonl_spans(record: dict, path: str, number: int) -> RawSpans:
    text = _record_text(record, ("string", "text"), path, number)
    if "label" in record and "entities" not in record:
        raise InputFileError(path, number, "a 'label' field and no 'entities': this is the CLUENER2020 "
                                           "format, read it as 'cluener'")
    entities = record.get("entities") or []
    if not isinstance(entities, list):
        raise InputFileError(path, number, "'entities' must be a list")
    spans = []
    for k, entity in enumerate(entities, start=1):
        if not isinstance(entity, dict):
            raise InputFileError(path, number, f"entity {k} is not an object")
        spans.append(_checked_span(text, entity.get("start"), entity.get("end"), entity.get("type"),
                                   entity.get("word"), f"entity {k}", (path, number)))
    return text, spans


def _cluener_spans(record: dict, path: str, number: int) -> RawSpans:
    text = _record_text(record, ("text",), path, number)
    label = record.get("label") or {}
    if not isinstance(label, dict):
        raise InputFileError(path, number, "'label' must be an object {type: {mention: [[start, end], ...]}}")
    spans = []
    for type_, mentions in label.items():
        if not isinstance(mentions, dict):
            raise InputFileError(path, number,
                                 f"label {quote(type_)} must be an object {{mention: [[start, end], ...]}}")
        for word, positions in mentions.items():
            for position in positions if isinstance(positions, list) else [positions]:
                where = f"{quote(type_)} {quote(word)} at {quote(position)}"
                if not (isinstance(position, list) and len(position) == 2):
                    raise InputFileError(path, number, f"{where}: expected [start, end_inclusive]")
                start, last = position
                end = last + 1 if _is_int(last) else last
                spans.append(_checked_span(text, start, end, type_, word, where, (path, number)))
    return text, spans


def _checked_span(text: str, start: object, end: object, type_: object, word: object, where: str,
                  at: tuple[str, int]) -> Span:
    """A span after checking it against its text; ``end`` is exclusive."""
    if not (_is_int(start) and _is_int(end)):
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
        raise InputFileError(*at, f"{where}: word {quote(word)} differs from the text there, "
                                  f"{quote(text[start:end])}")
    return Span(start, end, type_)


def _without_overlaps(text: str, spans: list[Span], policy: str, path: str, number: int) -> list[Span]:
    """Spans sorted by start; an overlap is an error, or (policy "outer") the later, shorter span goes."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end, s.type)):
        if kept and span.start < kept[-1].end:
            if policy == "error":
                raise InputFileError(path, number, f"entities overlap: {_describe(text, kept[-1])} "
                                                   f"and {_describe(text, span)}")
            continue
        kept.append(span)
    return kept


def _describe(text: str, span: Span) -> str:
    return f"{span.type} {quote(text[span.start:span.end])} at {span.start}..{span.end}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------- writing


def write_file(sentences: Iterable[Sentence], path: str | Path, fmt: str,
               scheme: Scheme | str = IOBES, sep: str = "\t") -> None:
    """Write sentences to ``path`` in one of :data:`FORMATS`, atomically.

    ``scheme`` and ``sep`` (tab or space) concern column files, which cannot
    hold an empty sentence (it is left out), a line break as a character, or
    overlapping entities (an error).
    """
    fmt = _check_choice("format", fmt, FORMATS)
    if fmt == "columns":
        chunks = format_columns(sentences, as_scheme(scheme) or IOBES, sep)
    else:
        to_record = _to_cluener if fmt == "cluener" else Sentence.to_dict
        chunks = (json.dumps(to_record(s), ensure_ascii=False) + "\n" for s in sentences)
    with atomic_output(path) as temporary, open(temporary, "w", encoding="utf-8", newline="") as out:
        out.writelines(chunks)
        out.flush()
        os.fsync(out.fileno())


def _to_cluener(sentence: Sentence) -> dict:
    label: dict[str, dict[str, list[list[int]]]] = {}
    for span in sentence.spans:
        word = sentence.text[span.start:span.end]
        label.setdefault(span.type, {}).setdefault(word, []).append([span.start, span.end - 1])
    return {"text": sentence.text, "label": label}


def format_for_path(path: str | Path) -> str:
    """The format a file name suggests: ``.json``/``.jsonl`` -> jsonl, anything else columns."""
    return "jsonl" if Path(path).suffix.lower() in (".json", ".jsonl") else "columns"


# ---------------------------------------------------------------- arguments


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise BrandnerError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")
    return value
