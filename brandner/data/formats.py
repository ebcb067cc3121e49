"""Reading and writing annotated corpora: column files, JSON lines, and the files of the
annotation tools Label Studio and doccano.

Every reader returns :class:`Sentence` objects whose text keeps the file's own
characters (normalisation is ``text.py``'s job). Five formats:

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

``labelstudio`` (brandner.data.labelstudio): a Label Studio export, a JSON array of tasks or
one task a line; each task's latest annotation that is not cancelled, tasks without one skipped.
Written as a JSON array of tasks with one annotation each::

    [{"id": 12, "data": {"text": "我买了特步鞋"}, "annotations": [{"result": [{"type": "labels",
      "from_name": "label", "to_name": "text", "value": {"start": 3, "end": 5, "text": "特步", "labels": ["SHOE"]}}]}]}]

``doccano`` (brandner.data.doccano): doccano's sequence-labelling JSON lines, ``label``
triples or newer doccano's ``entities`` (``end`` exclusive); written with ``label``::

    {"text": "我买了特步鞋", "label": [[3, 5, "SHOE"]]}

A bad file raises :class:`InputFileError`, shown as ``path:line: what is wrong``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Iterator

from brandner.atomic import atomic_output
from brandner.data.columns import format_columns, parse_columns
from brandner.data.doccano import doccano_record, parse_doccano
from brandner.data.labelstudio import annotated_task, parse_labelstudio, write_json_array
from brandner.data.records import (  # json_record, MAX_JSON_DEPTH, OVERLAP_POLICIES: re-exported
    MAX_JSON_DEPTH,
    OVERLAP_POLICIES,
    RawSpans,
    ReadResult,
    check_choice,
    checked_span,
    is_int,
    json_record,
    parse_json_lines,
    record_text,
)
from brandner.data.schemes import IOBES, Scheme, as_scheme
from brandner.data.sentence import Sentence
from brandner.errors import InputFileError, quote

FORMATS = ("columns", "jsonl", "cluener", "labelstudio", "doccano")
__all__ = ["FORMATS", "MAX_JSON_DEPTH", "OVERLAP_POLICIES", "ReadResult", "decode_line", "decoded_lines",
           "format_for_path", "guess_format", "json_record", "parse_cluener", "parse_columns", "parse_jsonl",
           "read_file", "read_lines", "write_file", "format_columns"]


# ---------------------------------------------------------------- reading


def read_file(path: str | Path, fmt: str = "auto", scheme: Scheme | str | None = None,
              char_digit: bool | None = None, overlaps: str = "error") -> ReadResult:
    """Sentences from a file in one of :data:`FORMATS`, or ``"auto"``.

    ``auto`` decides by content (:func:`guess_format`). ``scheme`` and ``char_digit`` concern column
    files only (None: detected); ``overlaps`` concerns JSON files only:
    ``"error"`` rejects overlapping entities, ``"outer"`` keeps the earliest,
    longest one and drops (and counts) the others.
    """
    name = str(path)
    lines = read_lines(path)
    fmt = check_choice("format", fmt, FORMATS + ("auto",))
    if fmt == "auto":
        fmt = guess_format(lines)
    if fmt == "columns":
        found = parse_columns(lines, name, scheme, char_digit)
        return ReadResult(found.sentences, found.scheme, found.repairs, unclosed=found.unclosed)
    parse = {"jsonl": parse_jsonl, "cluener": parse_cluener, "labelstudio": parse_labelstudio,
             "doccano": parse_doccano}[fmt]
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
    """One of :data:`FORMATS`, from a file's lines. The first non-blank line decides between a
    JSON array (``[`` alone, or followed by ``{`` or ``]``: Label Studio's export), a JSON object
    (JSON lines) and anything else (a column file). Of JSON lines, the first record that tells
    decides: ``data`` with ``annotations`` or ``predictions`` is a Label Studio task; ``label``
    a list (doccano) or anything else (cluener); ``entities`` whose first holds ``start_offset``
    (doccano) or not (jsonl); ``string`` (jsonl). A record of a bare ``text`` (or empty
    ``entities``) is a sentence without entities in every format, so it does not decide; a file of
    nothing else is read as jsonl."""
    json_seen = False
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not json_seen:
            if line == "[" or line.startswith("[") and line[1:].lstrip().startswith(("{", "]")):
                return "labelstudio"
            if not (line.startswith("{") and line.endswith("}")):
                return "columns"
        json_seen = True
        try:
            record = json_record(line, "<guess>", 0)
        except InputFileError:
            return "jsonl"  # the reader names the line and the error
        if (told := _record_format(record)) is not None:
            return told
    return "jsonl" if json_seen else "columns"


def _record_format(record: dict) -> str | None:
    """The format one JSON record tells, None when it could be any."""
    if isinstance(record.get("data"), dict) and ("annotations" in record or "predictions" in record):
        return "labelstudio"
    if "label" in record:
        return "doccano" if isinstance(record["label"], list) else "cluener"
    entities = record.get("entities")
    if isinstance(entities, list) and entities:
        return "doccano" if isinstance(entities[0], dict) and "start_offset" in entities[0] else "jsonl"
    return "jsonl" if "string" in record or (entities is not None and not isinstance(entities, list)) else None


def parse_jsonl(lines: Iterable[str], path: str = "<lines>", overlaps: str = "error") -> ReadResult:
    """Sentences from the lines of a file in our JSON-lines format (see the module docstring)."""
    return parse_json_lines(lines, path, overlaps, _jsonl_spans)


def parse_cluener(lines: Iterable[str], path: str = "<lines>", overlaps: str = "error") -> ReadResult:
    """Sentences from the lines of a CLUENER2020 file (see the module docstring)."""
    return parse_json_lines(lines, path, overlaps, _cluener_spans)


def _jsonl_spans(record: dict, path: str, number: int) -> RawSpans:
    text = record_text(record, ("string", "text"), path, number)
    if "label" in record and "entities" not in record:
        other = "doccano's format, read it as 'doccano'" if isinstance(record["label"], list) else \
            "the CLUENER2020 format, read it as 'cluener'"
        raise InputFileError(path, number, f"a 'label' field and no 'entities': this is {other}")
    entities = record.get("entities") or []
    if not isinstance(entities, list):
        raise InputFileError(path, number, "'entities' must be a list")
    spans = []
    for k, entity in enumerate(entities, start=1):
        if not isinstance(entity, dict):
            raise InputFileError(path, number, f"entity {k} is not an object")
        spans.append(checked_span(text, entity.get("start"), entity.get("end"), entity.get("type"),
                                   entity.get("word"), f"entity {k}", (path, number)))
    return text, spans


def _cluener_spans(record: dict, path: str, number: int) -> RawSpans:
    text = record_text(record, ("text",), path, number)
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
                end = last + 1 if is_int(last) else last
                spans.append(checked_span(text, start, end, type_, word, where, (path, number)))
    return text, spans


# ---------------------------------------------------------------- writing


def write_file(sentences: Iterable[Sentence], path: str | Path, fmt: str,
               scheme: Scheme | str = IOBES, sep: str = "\t") -> None:
    """Write sentences to ``path`` in one of :data:`FORMATS`, atomically.

    ``scheme`` and ``sep`` (tab or space) concern column files, which cannot
    hold an empty sentence (it is left out), a line break as a character, or
    overlapping entities (an error). Label Studio: a JSON array of tasks, one a line, each
    with one annotation (an empty one for a sentence without entities); doccano: the
    ``label`` shape.
    """
    fmt = check_choice("format", fmt, FORMATS)
    if fmt == "columns":
        chunks = format_columns(sentences, as_scheme(scheme) or IOBES, sep)
    elif fmt != "labelstudio":
        to_record = {"jsonl": Sentence.to_dict, "cluener": _to_cluener, "doccano": doccano_record}[fmt]
        chunks = (json.dumps(to_record(s), ensure_ascii=False) + "\n" for s in sentences)
    with atomic_output(path) as temporary, open(temporary, "w", encoding="utf-8", newline="") as out:
        if fmt == "labelstudio":
            write_json_array((json.dumps(annotated_task(s), ensure_ascii=False) for s in sentences), out)
        else:
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
