"""Text normalisation that never moves offsets, and splitting long text into chunks.

Normalisation maps each character to exactly one character, so a position in the
normalised text is the same position in the text the user gave, and results can
always quote the original: ``string[start:end] == word``.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Why a reader refuses a string holding half of a surrogate pair: JSON's "\ud800" escape decodes to one,
# and no UTF-8 output can hold it, so it is refused where it is read rather than failing at write time.
LONE_SURROGATE = "a \\u escape for half of a surrogate pair, not a character"
# Where the model's input should break a long text: the end of a sentence or clause.
SENTENCE_ENDS = frozenset("。！？；!?;…\n\r")
# Where a long run has no sentence end, a cut after one of these is less likely to split an entity than a hard cut.
CLAUSE_BREAKS = frozenset("，、：,: \t\u3000")
# What still belongs to a sentence after its end: closing quotes and brackets.
CLOSERS = frozenset("”’」』）)]】》\"'")
# Code points the translation tables cover: Latin, full-width forms and the digits
# of most scripts; everything else maps to itself.
_COVERED = (range(0x0000, 0x0250), range(0x0370, 0x0400), range(0x0660, 0x0670),
            range(0x06F0, 0x0700), range(0x0966, 0x0970), range(0x3000, 0x3001),
            range(0xFF01, 0xFF5F))


@dataclass(frozen=True)
class Normalizer:
    """Character-for-character normalisation shared by training and tagging.

    >>> Normalizer(zero_digits=True)("ＡＢＣ１２3特步")
    'abc000特步'
    """

    fullwidth: bool = True
    lowercase: bool = True
    zero_digits: bool = False

    def __call__(self, text: str) -> str:
        return text.translate(_table(self.fullwidth, self.lowercase, self.zero_digits))


@lru_cache(maxsize=8)
def _table(fullwidth: bool, lowercase: bool, zero_digits: bool) -> dict[int, str]:
    table: dict[int, str] = {}
    for block in _COVERED:
        for code in block:
            char = out = chr(code)
            if fullwidth:
                out = _halfwidth(out)
            if lowercase and len(out.lower()) == 1:
                out = out.lower()
            if zero_digits and out.isdecimal():
                out = "0"
            if out != char:
                table[code] = out
    return table


def _halfwidth(char: str) -> str:
    if char == "\u3000":
        return " "
    if "\uff01" <= char <= "\uff5e":
        return chr(ord(char) - 0xFEE0)
    decomposed = unicodedata.normalize("NFKC", char)
    return decomposed if len(decomposed) == 1 and decomposed.isdecimal() else char


def split_chunks(text: str, max_length: int) -> list[tuple[int, int]]:
    """Cut ``text`` into ``(start, end)`` pieces of at most ``max_length`` characters, to tag one by one.

    A text that fits is one piece. A longer one is cut into its sentences, each a piece of its own
    (a model learns from sentences, titles and posts: packing several into one piece gives it a
    context it never saw); a sentence longer than ``max_length`` is cut after its commas, colons or
    spaces (packed greedily), and only a run with none of these longer than ``max_length`` is cut
    hard (where an entity may be split). A sentence ends after ``。！？；!?;…`` or a line break,
    with any further ends and closing quotes or brackets. The pieces cover the text exactly, in
    order, so nothing is dropped.

    >>> split_chunks("你好。我买了鞋！", 6)
    [(0, 3), (3, 8)]
    >>> split_chunks("耐克，阿迪达斯", 5)
    [(0, 3), (3, 7)]
    >>> split_chunks("好！！」买鞋。卖鞋", 5)
    [(0, 4), (4, 7), (7, 9)]
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    if len(text) <= max_length:
        return [(0, len(text))]
    return [chunk for start, end in _sentences(text) for chunk in _pack(text, start, end, max_length)]


def _sentences(text: str) -> list[tuple[int, int]]:
    """``text`` cut after each sentence end (and the ends and closers that follow it)."""
    pieces, start, i = [], 0, 0
    while i < len(text):
        i += 1
        if text[i - 1] in SENTENCE_ENDS:
            while i < len(text) and (text[i] in SENTENCE_ENDS or text[i] in CLOSERS):
                i += 1
            pieces.append((start, i))
            start = i
    if start < len(text):
        pieces.append((start, len(text)))
    return pieces


def _pack(text: str, start: int, end: int, max_length: int) -> list[tuple[int, int]]:
    """``text[start:end]`` in pieces of at most ``max_length``: cut after the last clause break
    that fits, else hard."""
    chunks = []
    while end - start > max_length:
        limit = start + max_length
        cut = _last_break(text, start, limit, CLAUSE_BREAKS) or limit
        chunks.append((start, cut))
        start = cut
    chunks.append((start, end))
    return chunks


def _last_break(text: str, start: int, limit: int, breaks: frozenset[str]) -> int:
    """The end of the last character of ``text[start:limit]`` in ``breaks``, plus one; 0 if there is none."""
    for i in range(limit - 1, start - 1, -1):
        if text[i] in breaks:
            return i + 1
    return 0


def is_blank(char: str) -> bool:
    """Whether ``char`` is white space, a control character or an invisible format character (a
    zero-width space, a byte-order mark): never the first or last character of an entity."""
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


def trim_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``text[start:end]`` without the blank characters (:func:`is_blank`) at either end, as
    ``(start, end)``; None if nothing else is left.

    >>> trim_span("\\n\\n小米 手机\\u200b", 0, 8), trim_span(" \\t", 0, 2)
    ((2, 7), None)
    """
    while start < end and is_blank(text[start]):
        start += 1
    while end > start and is_blank(text[end - 1]):
        end -= 1
    return (start, end) if end > start else None


def writable(value: object) -> bool:
    """Whether ``value`` (a string, or JSON data holding strings) can be written as UTF-8; see LONE_SURROGATE.

    >>> writable(["特步", {"id": 1}]), writable("\\ud800abc")
    (True, False)
    """
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
