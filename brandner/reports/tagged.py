"""Reading tagged posts back, one record at a time, whatever wrote them: ``brandner tag`` (JSON
lines), ``tag --engine spark|ray`` and brandner.spark / brandner.ray (a folder of part files,
JSON lines or Parquet).

A record is a dict as JSON gives it, with the path and line it came from (for a Parquet file,
the row, counted from 1)::

    ("tagged.jsonl", 3, {"string": "我买了耐克鞋", "entities": [{"word": "耐克", "type": "HP",
                         "start": 3, "end": 5}], "date": "2026-03-01"})

Sources are read in the order given: a file, ``-`` for stdin, or a folder, whose files are
read in name order, those of its subfolders after them; names starting with ``.`` or ``_``
(Spark's ``_SUCCESS`` and ``.crc`` files) are left out, and so is every file that does not end
in ``.json``, ``.jsonl`` or ``.parquet``. A file named ``*.parquet`` is Parquet (read with
pyarrow, a row group at a time), any other file JSON lines (blank lines skipped). Nothing is
held beyond the record at hand and one Parquet batch, so files of any size stream through.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import IO, Iterator, NamedTuple, Sequence

from brandner.data.formats import decode_line
from brandner.data.records import json_record
from brandner.errors import BrandnerError

PART_SUFFIXES = (".json", ".jsonl", ".parquet")
# Rows of a Parquet file converted to Python at once.
PARQUET_BATCH = 4096
_ARROW_ERRORS = (OSError, ValueError)


class Tagged(NamedTuple):
    """One record and where it is: ``path:line``."""

    path: str
    line: int
    record: dict


def read_tagged(sources: Sequence[str], stdin: IO[bytes] | None = None) -> Iterator[Tagged]:
    """The records of ``sources`` in order (see the module's docstring); ``-`` reads ``stdin``
    (default: this process's). A line that is not a JSON object is an InputFileError
    (``path:line: what``); a source that is not there, a FileNotFoundError; a folder without
    part files, a BrandnerError."""
    for source in sources:
        if source == "-":
            yield from _json_lines(stdin if stdin is not None else sys.stdin.buffer, "<stdin>")
            continue
        for path in part_files(source) if os.path.isdir(source) else [source]:
            if path.endswith(".parquet"):
                yield from _parquet_rows(path)
            else:
                with open(path, "rb") as handle:
                    yield from _json_lines(handle, path)


def part_files(folder: str) -> list[str]:
    """The files of ``folder`` to read, in order (see the module's docstring); none is an error."""
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith((".", "_")))
        found.extend(os.path.join(root, name) for name in sorted(files)
                     if not name.startswith((".", "_")) and name.endswith(PART_SUFFIXES))
    if not found:
        raise BrandnerError(f"{folder}: a folder without part files to read ({', '.join(PART_SUFFIXES)})")
    return found


def _json_lines(lines: IO[bytes], path: str) -> Iterator[Tagged]:
    for number, raw in enumerate(lines, start=1):
        line = decode_line(raw, path, number)
        if line.strip():
            yield Tagged(path, number, json_record(line, path, number))


def _parquet_rows(path: str) -> Iterator[Tagged]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BrandnerError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from None
    if not Path(path).is_file():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH)
        number = 0
        while (batch := next(batches, None)) is not None:
            rows = batch.to_pylist()
            yield from (Tagged(path, number + i, row) for i, row in enumerate(rows, start=1))
            number += len(rows)
    except _ARROW_ERRORS as error:  # pyarrow's ArrowInvalid is a ValueError, its IO errors OSErrors
        raise BrandnerError(f"{path}: not a Parquet file that can be read ({error})") from None
