"""Tagging large inputs in order and in constant memory.

An input file holds one document per line, either plain text::

    我买了特步鞋
    今天天气不错

or JSON lines with a ``string`` (or ``text``) field, or Label Studio tasks (``{"data": {"text": ...}}``);
other fields (of a task: of its ``data``) are kept in the output. The first line that tells decides
which (see :func:`read_documents`). A Label Studio export (one JSON array of tasks) is read whole
by :func:`read_task_array`.

A line that cannot be read (not UTF-8, broken JSON, no text field) does not stop
the reading: it comes through as a :class:`BadLine` in its place, and the tagging
functions either stop there, after writing every line before it (``on_error="fail"``),
or write an error record in its place and go on (``"skip"``)::

    {"error": "posts.jsonl:3: invalid JSON: Expecting value (column 11)", "line": 3}
"""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import IO, Iterable, Iterator, Union

from brandner.data.formats import decode_line, json_record
from brandner.data.labelstudio import task_document
from brandner.data.records import checked_object, json_values
from brandner.errors import BrandnerError, InputFileError, NotJSONError
from brandner.tagging import worker
from brandner.tagging.tagger import Tagger

Document = tuple[str, dict]  # the text, and fields to carry into the output
ON_ERROR = ("fail", "skip")
# Lines read, at most, before deciding between plain text and JSON lines (see read_documents).
LOOKAHEAD = 100


@dataclass(frozen=True)
class BadLine:
    """An input line that could not be read, passed along in its place: why, as ``path:line: what``."""

    error: InputFileError

    def record(self) -> str:
        """The JSON line written in its place with ``on_error="skip"``: ``{"error": "path:line: what", "line": N}``."""
        return json.dumps({"error": str(self.error), "line": self.error.line}, ensure_ascii=False)


Item = Union[Document, BadLine]


def read_documents(lines: Iterable[bytes], path: str) -> Iterator[Item]:
    """Documents from the raw lines of a file opened in binary mode, one per line; a line that
    cannot be read is a :class:`BadLine` (naming ``path`` and the line) in its place.

    The first line that tells decides between plain text and JSON lines: one not starting with
    ``{``, or a JSON object (with a ``string`` or ``text`` field: JSON lines). A line that starts
    with ``{`` but is no JSON does not tell, so a broken first record does not make a file of JSON
    lines plain text; after :data:`LOOKAHEAD` such lines, the file is plain text.

    Lines end at a line feed only (a lone carriage return stays inside its line, as in the corpus
    readers), and each is decoded on its own, so a byte that is not UTF-8 is reported on its line.
    A byte-order mark at the start is dropped."""
    json_lines: bool | None = None
    undecided: list[tuple[int, str | InputFileError]] = []
    for number, raw in enumerate(lines, start=1):
        try:
            line: str | InputFileError = decode_line(raw, path, number)
        except InputFileError as error:
            line = error
        if json_lines is None:
            undecided.append((number, line))
            json_lines = _tells_json(line) if isinstance(line, str) else None
            if json_lines is None and len(undecided) < LOOKAHEAD:
                continue
            json_lines = bool(json_lines)
            yield from (_item(n, waiting, json_lines, path) for n, waiting in undecided)
        else:
            yield _item(number, line, json_lines, path)
    if json_lines is None:  # the input ended undecided
        yield from (_item(n, waiting, False, path) for n, waiting in undecided)


def _tells_json(line: str) -> bool | None:
    """True for JSON lines, False for plain text, None when the line does not tell."""
    if not line.strip():
        return None
    if not line.lstrip().startswith("{"):
        return False
    try:
        value = json_record(line, "<first line>", 1)
    except NotJSONError:
        return None
    except InputFileError:  # JSON, but bad: reported on its line
        return True
    return "string" in value or "text" in value or isinstance(value.get("data"), dict)


def _item(number: int, line: str | InputFileError, json_lines: bool, path: str) -> Item:
    if isinstance(line, InputFileError):
        return BadLine(line)
    if not json_lines:
        return line, {}
    try:
        return _parse_json(line, path, number)
    except InputFileError as error:
        return BadLine(error)


def _parse_json(line: str, path: str, number: int) -> Document:
    if not line.strip():
        return "", {}
    value = json_record(line, path, number)
    if "string" not in value and "text" not in value and isinstance(value.get("data"), dict):
        return task_document(value, path, number)
    key = "string" if "string" in value else "text"
    text = value.pop(key, None)
    if not isinstance(text, str):
        raise InputFileError(path, number, "expected a 'string' or 'text' field holding a string")
    value.pop("entities", None)
    return text, value


def read_task_array(lines: list[str], path: str) -> list[Item]:
    """The tasks of a Label Studio export, a JSON array (its lines, as ``read_lines`` gives them),
    as documents: each task's text and the other fields of its ``data``; a task whose text cannot
    be found is a :class:`BadLine` at the line where it starts. An array cannot be read a line at a
    time, so it is read whole, before tagging starts: broken JSON raises its error then."""
    items: list[Item] = []
    for place, (value, source, line) in enumerate(json_values("\n".join(lines), path), start=1):
        try:
            items.append(task_document(checked_object(value, source, path, line), path, line, place))
        except InputFileError as error:
            items.append(BadLine(error))
    return items


def tag_documents(tagger: Tagger, documents: Iterable[Item], chunk_size: int = 1024, scores: bool = False,
                  min_score: float | None = None, on_error: str = "fail") -> Iterator[str]:
    """JSON lines (without line ends) in input order, tagging ``chunk_size`` documents at a time;
    ``scores`` and ``min_score`` as for :meth:`Tagger.predict`. At a :class:`BadLine`, ``on_error``
    ``"fail"`` raises its error once every line before it is yielded (nothing after it is read),
    ``"skip"`` yields its error record and goes on."""
    for chunk in _chunks(documents, chunk_size, on_error):
        yield from _in_place(chunk, _json_lines(tagger, _readable(chunk), scores, min_score), on_error)


def tag_documents_parallel(model: str | list[str], documents: Iterable[Item], workers: int, chunk_size: int = 1024,
                           batch_size: int = 256, int8: bool = False, scores: bool = False,
                           min_score: float | None = None,
                           gazetteers: dict[str, list[str]] | None = None, on_error: str = "fail",
                           backend: str = "auto", canonical: list[str] | None = None,
                           device: str = "cpu") -> Iterator[str]:
    """Like :func:`tag_documents`, spread over ``workers`` processes (one torch thread each).

    Workers return finished JSON lines, so this process only reads and writes. At
    most two chunks per worker are in flight, so memory stays constant however long
    the input; results come back in input order. ``gazetteers`` replace the model's,
    ``canonical`` brand lists name canonical brands, ``device`` is where each worker's model computes
    its scores (see :meth:`Tagger.load`). The workers die
    with this process; one that dies is a :class:`BrandnerError` naming it
    (:func:`worker.naming_the_dead`).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    chunks = _chunks(documents, chunk_size, on_error)
    context = multiprocessing.get_context("spawn")  # forking a process that holds torch threads can hang
    load = partial(worker.load_ignoring_interrupts, model, 1, batch_size=batch_size, int8=int8, gazetteers=gazetteers,
                   backend=backend, canonical=canonical, device=device)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=load) as pool, worker.naming_the_dead(pool):
        pending: deque = deque()
        while True:
            while len(pending) < 2 * workers and (chunk := next(chunks, None)):
                pending.append((chunk, pool.submit(_tag_chunk, _readable(chunk), scores, min_score)))
            if not pending:
                return
            chunk, future = pending.popleft()
            yield from _in_place(chunk, future.result(), on_error)


def _chunks(items: Iterable[Item], size: int, on_error: str) -> Iterator[list[Item]]:
    """Lists of up to ``size`` items; with ``on_error="fail"`` the first bad line ends its list and the reading."""
    if on_error not in ON_ERROR:
        raise BrandnerError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        failed = on_error == "fail" and isinstance(item, BadLine)
        if len(chunk) == size or failed:
            yield chunk
            chunk = []
        if failed:
            return
    if chunk:
        yield chunk


def _readable(chunk: list[Item]) -> list[Document]:
    return [item for item in chunk if not isinstance(item, BadLine)]


def _in_place(chunk: list[Item], tagged: list[str], on_error: str) -> Iterator[str]:
    """The chunk's output lines in input order: its documents' tagged lines, and at each bad line
    its error record (``"skip"``) or, after the lines before it, its error (``"fail"``)."""
    lines = iter(tagged)
    for item in chunk:
        if not isinstance(item, BadLine):
            yield next(lines)
        elif on_error == "fail":
            raise item.error
        else:
            yield item.record()


def _json_lines(tagger: Tagger, chunk: list[Document], scores: bool = False,
                min_score: float | None = None) -> list[str]:
    if not chunk:  # every line of the chunk was bad
        return []
    results = tagger.predict([text for text, _ in chunk], scores=scores, min_score=min_score)
    return [json.dumps({**result, **extra} if extra else result, ensure_ascii=False)
            for (_, extra), result in zip(chunk, results)]


def _tag_chunk(chunk: list[Document], scores: bool, min_score: float | None) -> list[str]:
    return _json_lines(worker.tagger(), chunk, scores, min_score)


def write_lines(lines: Iterable[str], out: IO[str]) -> int:
    """Write each line followed by a line end; returns how many were written."""
    count = 0
    for count, line in enumerate(lines, start=1):
        out.write(line)
        out.write("\n")
    return count
