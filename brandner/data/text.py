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
    """Cut ``text`` into ``(start, end)`` pieces of at most ``max_length`` characters.

    Pieces end after sentence punctuation where possible and are packed greedily;
    a longer run without it ends after a comma, colon or space, and only a run
    with none of these longer than ``max_length`` is cut hard (where an entity may
    be split). The pieces cover the text exactly, in order, so nothing is dropped.

    >>> split_chunks("你好。我买了鞋！", 6)
    [(0, 3), (3, 8)]
    >>> split_chunks("耐克，阿迪达斯", 5)
    [(0, 3), (3, 7)]
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    chunks: list[tuple[int, int]] = []
    start = 0
    while len(text) - start > max_length:
        limit = start + max_length
        cut = _last_break(text, start, limit, SENTENCE_ENDS) or _last_break(text, start, limit, CLAUSE_BREAKS) or limit
        chunks.append((start, cut))
        start = cut
    if start < len(text) or not chunks:
        chunks.append((start, len(text)))
    return chunks


def _last_break(text: str, start: int, limit: int, breaks: frozenset[str]) -> int:
    """The end of the last character of ``text[start:limit]`` in ``breaks``, plus one; 0 if there is none."""
    for i in range(limit - 1, start - 1, -1):
        if text[i] in breaks:
            return i + 1
    return 0


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
