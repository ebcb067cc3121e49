"""Column files: one character and its tag a line, a blank line between sentences.

::

    特	B-SHOE
    步	I-SHOE
    鞋	O

Tags in BIO, IOBES (B/I/E/S) or BMES (B/M/E/S), detected or given; Weibo's
character-and-word-position tokens (``科0``) are read too. Reading and writing; the
other formats and the choice between them are brandner.data.formats.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Iterator

from brandner.data.schemes import IOBES, Role, Scheme, as_scheme, check_type, detect_scheme, spans_from_roles
from brandner.data.sentence import Sentence
from brandner.errors import BrandnerError, InputFileError, quote

log = logging.getLogger("brandner")

# Weibo's files lost their emoji: each became two U+FFFD (one per UTF-16
# surrogate) before the position digit, as in "\ufffd\ufffd0". The line still
# stands for one character, so it reads as one U+FFFD.
_REPLACEMENT = "\ufffd"


def parse_columns(lines: Iterable[str], path: str = "<lines>", scheme: Scheme | str | None = None,
                  char_digit: bool | None = None) -> ColumnsRead:
    """Sentences from the lines of a column file (line ends may be ``\\n`` or ``\\r\\n``).

    Each line is split at its LAST tab or space, so a token that is itself a
    space (``" \\tO"``) survives. With ``char_digit`` (Weibo, ``科0\\tB-PER.NAM``)
    a token is a character followed by its position in a segmented word, and
    only the character is kept; None detects it: every token has two or more
    characters and ends in a digit. ``scheme`` None detects the tag scheme.
    """
    blocks = list(_column_blocks(lines, path))
    if char_digit is None:
        char_digit = _looks_char_digit(blocks)
    declared = as_scheme(scheme)
    distinct = {tag for block in blocks for tag in block.tags}
    used = declared or detect_scheme(distinct)
    parsed = _parse_tags(distinct, blocks, used, path, "given" if declared else "detected from the file's tags")
    sentences: list[Sentence] = []
    repairs = 0
    unclosed: list[int] = []  # the line of each entity's first tag
    for block in blocks:
        roles = [parsed[tag] for tag in block.tags]
        spans, repaired = spans_from_roles(roles)
        sentences.append(Sentence(_block_text(block, char_digit, path), tuple(spans)))
        repairs += repaired
        if used.closes_entities:
            unclosed += [block.first + s.start for s in spans if roles[s.end - 1][0] not in ("end", "single")]
    if repairs:
        log.warning("%s: repaired %d entities whose I-/M-/E- tag did not continue an entity", path, repairs)
    if unclosed:
        log.warning("%s: closed %d entities that had no E-/S- tag (%s), the first at line %d",
                    path, len(unclosed), used.name, unclosed[0])
    return ColumnsRead(sentences, used, repairs, len(unclosed))


@dataclass(frozen=True)
class ColumnsRead:
    """The sentences of a column file, its tag scheme, how many entities were repaired
    (started by an I-/M-/E- tag that continued none) and how many were closed without an end
    tag (in a scheme that has one: IOBES, BMES)."""

    sentences: list[Sentence]
    scheme: Scheme
    repairs: int
    unclosed: int = 0


@dataclass
class _Block:
    """The lines of one sentence in a column file: they are consecutive from line ``first``."""

    first: int
    tokens: list[str]
    tags: list[str]


def _column_blocks(lines: Iterable[str], path: str) -> Iterator[_Block]:
    block = _Block(0, [], [])
    for number, line in enumerate(lines, start=1):
        line = line.rstrip(" \t\r\n")
        if not line:
            if block.tokens:
                yield block
                block = _Block(0, [], [])
            continue
        # Split at the last tab or space, whichever comes later.
        token, sep, tag = line.rpartition("\t")
        if not sep or " " in tag:
            token, sep, tag = line.rpartition(" ")
        if not token:
            raise InputFileError(path, number, f"expected a character, a tab or a space, and a tag; got {quote(line)}")
        if not block.tokens:
            block.first = number
        block.tokens.append(token)
        block.tags.append(tag)
    if block.tokens:
        yield block


def _looks_char_digit(blocks: list[_Block]) -> bool:
    tokens = [token for block in blocks for token in block.tokens]
    return bool(tokens) and all(len(token) >= 2 and token[-1] in "0123456789" for token in tokens)


def _parse_tags(distinct: set[str], blocks: list[_Block], scheme: Scheme, path: str,
                how: str) -> dict[str, tuple[Role | None, str | None]]:
    """Each distinct tag of the file parsed; the first bad one in the file is reported at its line."""
    parsed: dict[str, tuple[Role | None, str | None]] = {}
    errors: dict[str, str] = {}
    for tag in distinct:
        try:
            role, type_ = scheme.parse(tag)
        except ValueError as error:
            errors[tag] = f"{error}; the {scheme.name} scheme was {how}"
            continue
        try:
            parsed[tag] = role, None if type_ is None else check_type(type_)
        except ValueError as error:
            errors[tag] = f"tag {quote(tag)}: {error}"
    if errors:
        number, tag = next((block.first + i, tag) for block in blocks
                           for i, tag in enumerate(block.tags) if tag in errors)
        raise InputFileError(path, number, errors[tag])
    return parsed


def _block_text(block: _Block, char_digit: bool, path: str) -> str:
    if not char_digit:
        text = "".join(block.tokens)
        if len(text) == len(block.tokens):  # the usual case: one character a line
            return text
    return "".join(_token_char(token, char_digit, path, block.first + i) for i, token in enumerate(block.tokens))


def _token_char(token: str, char_digit: bool, path: str, number: int) -> str:
    if char_digit:
        char, position = token[:1], token[1:]
        if char == _REPLACEMENT and position.startswith(_REPLACEMENT):
            position = position[1:]
        if not (position.isascii() and position.isdigit()):
            raise InputFileError(path, number, f"token {quote(token)} is not a character followed by "
                                               "its word position, as in Weibo's '科0'")
        return char
    char = token.rstrip(" \t") or token[0]  # "a  O": two spaces before the tag
    if len(char) != 1:
        raise InputFileError(path, number, f"token {quote(token)} has {len(token)} characters, expected one "
                                           "(or, in a file where every token is so, a character and "
                                           "its word position, as in Weibo's '科0')")
    return char


def format_columns(sentences: Iterable[Sentence], scheme: Scheme = IOBES, sep: str = "\t") -> Iterator[str]:
    """The lines (with ``\\n``) of a column file holding these sentences."""
    if sep not in ("\t", " "):
        raise BrandnerError(f"column separator must be a tab or a space, got {sep!r}")
    for number, sentence in enumerate(sentences, start=1):
        if not sentence.text:
            continue
        bad = next((c for c in sentence.text if c in "\r\n"), None)
        if bad is not None:
            raise BrandnerError(f"sentence {number}: a column file cannot hold the character {bad!r}")
        spans = sorted(sentence.spans)
        if any(a.end > b.start for a, b in zip(spans, spans[1:])):
            raise BrandnerError(f"sentence {number}: overlapping entities cannot be written as tags")
        tags = scheme.to_tags(spans, len(sentence.text))
        yield from (f"{char}{sep}{tag}\n" for char, tag in zip(sentence.text, tags))
        yield "\n"
