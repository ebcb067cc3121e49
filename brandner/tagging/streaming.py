"""Tagging large inputs in order and in constant memory.

An input file holds one document per line, either plain text::

    我买了特步鞋
    今天天气不错

or JSON lines with a ``string`` (or ``text``) field; other fields are kept in the
output. The first non-empty line decides which.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from itertools import islice
from typing import IO, Iterable, Iterator

from brandner.data.formats import decoded_lines
from brandner.data.text import LONE_SURROGATE, writable
from brandner.errors import InputFileError
from brandner.tagging import worker
from brandner.tagging.tagger import Tagger

Document = tuple[str, dict]  # the text, and fields to carry into the output


def read_documents(lines: Iterable[bytes], path: str) -> Iterator[Document]:
    """Documents from the raw lines of a file opened in binary mode; ``path`` names the source in errors.

    Lines end at a line feed only (a lone carriage return stays inside its line, as in the corpus
    readers), and each is decoded on its own, so a byte that is not UTF-8 is reported on its line.
    A byte-order mark at the start is dropped."""
    json_lines: bool | None = None
    for number, line in decoded_lines(lines, path):
        if json_lines is None and line.strip():
            json_lines = _looks_like_json(line)
        yield _parse_json(line, path, number) if json_lines else (line, {})


def _looks_like_json(line: str) -> bool:
    if not line.lstrip().startswith("{"):
        return False
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and ("string" in value or "text" in value)


def _parse_json(line: str, path: str, number: int) -> Document:
    if not line.strip():
        return "", {}
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputFileError(path, number, f"invalid JSON: {error.msg}") from None
    if not isinstance(value, dict):
        raise InputFileError(path, number, "expected a JSON object with a 'string' or 'text' field")
    key = "string" if "string" in value else "text"
    text = value.pop(key, None)
    if not isinstance(text, str):
        raise InputFileError(path, number, "expected a 'string' or 'text' field holding a string")
    value.pop("entities", None)
    if "\\u" in line and not writable([text, value]):
        raise InputFileError(path, number, LONE_SURROGATE)
    return text, value


def tag_documents(tagger: Tagger, documents: Iterable[Document], chunk_size: int = 1024, scores: bool = False,
                  min_score: float | None = None) -> Iterator[str]:
    """JSON lines (without line ends) in input order, tagging ``chunk_size`` documents at a time;
    ``scores`` and ``min_score`` as for :meth:`Tagger.predict`."""
    documents = iter(documents)
    while chunk := list(islice(documents, chunk_size)):
        yield from _json_lines(tagger, chunk, scores, min_score)


def tag_documents_parallel(model: str | list[str], documents: Iterable[Document], workers: int, chunk_size: int = 1024,
                           batch_size: int = 256, int8: bool = False, scores: bool = False,
                           min_score: float | None = None,
                           gazetteers: dict[str, list[str]] | None = None) -> Iterator[str]:
    """Like :func:`tag_documents`, spread over ``workers`` processes (one torch thread each).

    Workers return finished JSON lines, so this process only reads and writes. At
    most two chunks per worker are in flight, so memory stays constant however long
    the input; results come back in input order. ``gazetteers`` replace the model's
    (see :meth:`Tagger.load`). The workers die with this process; one that dies is a
    :class:`BrandnerError` naming it (:func:`worker.naming_the_dead`).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    context = multiprocessing.get_context("spawn")  # forking a process that holds torch threads can hang
    load = partial(worker.load_ignoring_interrupts, model, 1, batch_size=batch_size, int8=int8, gazetteers=gazetteers)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=load) as pool, worker.naming_the_dead(pool):
        pending: deque = deque()
        documents = iter(documents)
        while True:
            while len(pending) < 2 * workers and (chunk := list(islice(documents, chunk_size))):
                pending.append(pool.submit(_tag_chunk, chunk, scores, min_score))
            if not pending:
                return
            yield from pending.popleft().result()


def _json_lines(tagger: Tagger, chunk: list[Document], scores: bool = False,
                min_score: float | None = None) -> list[str]:
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
