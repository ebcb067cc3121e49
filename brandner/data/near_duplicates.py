"""Near-duplicate texts: a set of texts that answers "is this one nearly one of you?".

Two texts are near-duplicates when the Jaccard similarity of their character-bigram sets,
after normalising (full-width to half-width, lower case, digits to 0, white space dropped),
is at least ``threshold``: reposts, a title with another size or year, a post with one
more emoji. Lookups go through MinHash locality-sensitive hashing (64 hashes in bands),
so a lookup costs the same however many texts the set holds; a candidate is then checked
exactly, so a text is never called a near-duplicate below the threshold. The bands are
chosen so that a pair exactly at the threshold is found with probability 0.95 or more,
and a pair well above it almost surely.

>>> seen = NearDuplicates(0.8)
>>> seen.add(1, "特步男鞋2024新款跑步鞋")
>>> seen.find("特步男鞋2023新款跑步鞋")
1
>>> seen.find("李宁羽毛球拍") is None
True
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from typing import Hashable

import numpy as np

from brandner.data.text import Normalizer

HASHES = 64
_PRIME = (1 << 31) - 1  # a Mersenne prime: the hash family is (a * x + b) mod _PRIME
_NORMALIZE = Normalizer(fullwidth=True, lowercase=True, zero_digits=True)


def shingles(text: str) -> frozenset[str]:
    """The normalised text's character bigrams (a text of one character: that character)."""
    chars = "".join(_NORMALIZE(text).split())
    if len(chars) < 2:
        return frozenset([chars]) if chars else frozenset()
    return frozenset(chars[i:i + 2] for i in range(len(chars) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a & b| / |a | b|; two empty sets are identical (1.0)."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def rows_per_band(threshold: float) -> int:
    """Hashes per band such that a pair at ``threshold`` shares a band with probability >= 0.95
    (fewer rows per band: more candidates, each checked exactly)."""
    for rows in (8, 4, 2, 1):
        if 1 - (1 - threshold ** rows) ** (HASHES // rows) >= 0.95:
            return rows
    return 1


class NearDuplicates:
    """Texts under keys; :meth:`find` gives the key of one at or above ``threshold`` (0..1]."""

    def __init__(self, threshold: float = 0.8, seed: int = 0) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be above 0 and at most 1, got {threshold!r}")
        self.threshold = threshold
        self.rows = rows_per_band(threshold)
        rng = np.random.default_rng(seed)
        self._a = rng.integers(1, _PRIME, size=(HASHES, 1), dtype=np.uint64)
        self._b = rng.integers(0, _PRIME, size=(HASHES, 1), dtype=np.uint64)
        self._buckets: defaultdict[bytes, set[Hashable]] = defaultdict(set)
        self._entries: dict[Hashable, tuple[frozenset[str], list[bytes]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def find(self, text: str) -> Hashable | None:
        """The key of a text in the set that ``text`` nearly duplicates (the most similar one),
        or None."""
        grams = shingles(text)
        best, best_similarity = None, -1.0
        for key in {k for band in self._bands(grams) for k in self._buckets.get(band, ())}:
            similarity = jaccard(grams, self._entries[key][0])
            if similarity >= self.threshold and similarity > best_similarity:
                best, best_similarity = key, similarity
        return best

    def add(self, key: Hashable, text: str) -> None:
        """Put ``text`` in the set under ``key`` (a key already there is replaced)."""
        self.remove(key)
        grams = shingles(text)
        bands = self._bands(grams)
        for band in bands:
            self._buckets[band].add(key)
        self._entries[key] = (grams, bands)

    def remove(self, key: Hashable) -> None:
        """Take ``key``'s text out of the set (nothing happens if it is not there)."""
        entry = self._entries.pop(key, None)
        for band in entry[1] if entry else ():
            bucket = self._buckets[band]
            bucket.discard(key)
            if not bucket:
                del self._buckets[band]

    def _bands(self, grams: frozenset[str]) -> list[bytes]:
        if not grams:
            return [b"empty"]
        values = np.array([zlib.crc32(g.encode("utf-8", "surrogatepass")) % _PRIME for g in grams], dtype=np.uint64)
        signature = ((self._a * values + self._b) % _PRIME).min(axis=1)
        return [bytes([band]) + signature[band * self.rows:(band + 1) * self.rows].tobytes()
                for band in range(HASHES // self.rows)]
