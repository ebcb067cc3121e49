"""Pretrained vectors in word2vec text format, alone or as a folder of three kinds.

The file may start with a ``COUNT DIM`` header line; every other line is a token
and its numbers, separated by spaces::

    1000 200
    ， -0.519849 -0.203379 ...
    的 0.144426 -0.724667 ...

A vectors folder (what ``brandner embed`` writes) holds ``chars.vec``,
``bigrams.vec`` and ``words.vec`` for the character, bigram and lexicon word
embeddings; any of them may be missing. A single file is character vectors.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import numpy as np

from brandner.atomic import atomic_output
from brandner.data.formats import decoded_lines
from brandner.errors import BrandnerError, InputFileError, quote

log = logging.getLogger("brandner")


def read_word2vec(path: str | Path, keep: set[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Tokens and their vectors ``(count, dim)``; only tokens in ``keep`` when given.

    Raises InputFileError naming the line for a malformed line or a wrong dimension; warns
    when the file has another number of vectors than its header's COUNT (a file cut short?).
    """
    tokens: list[str] = []
    rows: list[np.ndarray] = []
    dim = count = -1
    found = number = 0
    with open(path, "rb") as lines:
        for number, line in decoded_lines(lines, path):
            fields = line.rstrip(" ").split(" ")
            # str.isdigit() takes "²" and 5,000 digits, which int() refuses: a header is two plain numbers
            if number == 1 and len(fields) == 2 and all(f.isascii() and f.isdigit() and len(f) < 19 for f in fields):
                count, dim = int(fields[0]), int(fields[1])
                continue
            if not fields[0]:
                if line.strip():
                    raise InputFileError(str(path), number, "line starts with a space; expected TOKEN NUMBERS…")
                continue
            if len(fields) == 1:
                raise InputFileError(str(path), number, f"no numbers after the token {quote(fields[0])}")
            try:
                with np.errstate(over="ignore"):  # a number past float32's range becomes inf, refused below
                    vector = np.asarray(fields[1:], dtype=np.float32)
            except ValueError:
                raise InputFileError(str(path), number, "expected a token followed by numbers") from None
            if not np.isfinite(vector).all():
                raise InputFileError(str(path), number, "a number is nan or infinite (or too large for float32)")
            if dim < 0:
                dim = len(vector)
            if len(vector) != dim or dim == 0:
                raise InputFileError(str(path), number, f"vector has {len(vector)} numbers, expected {dim}")
            found += 1
            if keep is None or fields[0] in keep:
                tokens.append(fields[0])
                rows.append(vector)
    if dim <= 0:
        raise InputFileError(str(path), 1, "no vectors in file")
    if count >= 0 and found != count:
        log.warning("%s: the header says %d vectors, the file has %d (cut short?)", path, count, found)
    matrix = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    return tokens, matrix


# The kinds of vectors and their file names in a vectors folder.
KINDS = {"chars": "chars.vec", "bigrams": "bigrams.vec", "words": "words.vec"}


def read_vectors(path: str | Path, kinds: Iterable[str] = tuple(KINDS)) -> dict[str, tuple[list[str], np.ndarray]]:
    """``{kind: (tokens, matrix)}`` for the wanted ``kinds`` found at ``path``: a folder
    (its files by KINDS) or one file (character vectors)."""
    path = Path(path)
    if not path.is_dir():
        return {"chars": read_word2vec(path)} if "chars" in kinds else {}
    present = [name for name in KINDS.values() if (path / name).exists()]
    if not present:
        raise BrandnerError(f"{path}: no vectors here; a vectors folder holds {', '.join(KINDS.values())}")
    wanted = [kind for kind in kinds if (path / KINDS[kind]).exists()]
    if not wanted:  # vectors given for nothing the model has: almost surely not what was meant
        raise BrandnerError(f"{path}: holds only {', '.join(present)}, for features this model does not have "
                            f"(it takes {', '.join(KINDS[kind] for kind in kinds)})")
    return {kind: read_word2vec(path / KINDS[kind]) for kind in wanted}


def write_word2vec(path: str | Path, tokens: list[str], matrix: np.ndarray) -> None:
    """Write ``tokens`` and their rows of ``matrix`` with a ``COUNT DIM`` header.

    Tokens with whitespace inside cannot be written in this format and are left out.
    """
    keep = [i for i, t in enumerate(tokens) if t and not any(c.isspace() for c in t)]
    with atomic_output(path) as temporary, open(temporary, "w", encoding="utf-8", newline="\n") as out:
        out.write(f"{len(keep)} {matrix.shape[1]}\n")
        for i in keep:
            out.write(tokens[i] + " " + " ".join(f"{x:.5f}" for x in matrix[i].tolist()) + "\n")
