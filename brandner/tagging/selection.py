"""Choosing what to annotate next: the N posts the model is least sure of, all different.

Strategies:

``uncertainty``
    A post's uncertainty is that of its least-confident character: one minus the smallest,
    over its characters, of the probability of that character's most likely tag, from
    the CRF's exact marginals (:meth:`Tagger.marginals`). A post where every character
    is clear scores near 0; one with a single character the model cannot decide between
    ``B-HP`` and ``O`` scores near 0.5 or more. (The maximum rather than a sum or mean
    over characters, so a long post is not chosen for being long, and one doubtful
    brand name in an otherwise plain post is enough.)
``random``
    A seeded random choice, the baseline uncertainty must beat.

Near-duplicates (see :mod:`brandner.data.near_duplicates`) are removed as posts stream
in: of a group of posts that nearly repeat each other, at most one is chosen, the
highest-ranked. Only the N best so far are held (a heap), so memory does not grow with
the input.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from itertools import islice
from typing import Iterable, Iterator, Sequence

import numpy as np

from brandner.data.near_duplicates import NearDuplicates
from brandner.tagging.streaming import BadLine, Item
from brandner.tagging.tagger import Tagger

STRATEGIES = ("uncertainty", "random")


@dataclass(frozen=True)
class Chosen:
    """A chosen post: its text, the other fields of its input line, that line's number, and its
    rank value under the strategy (uncertainty, or the random draw)."""

    text: str
    fields: dict
    line: int
    priority: float


def least_confidence(marginals: np.ndarray) -> float:
    """One minus the smallest, over characters (rows), of the most likely tag's probability;
    0 for a text of no characters."""
    return float(1.0 - marginals.max(axis=1).min()) if len(marginals) else 0.0


def uncertainties(tagger: Tagger, texts: Sequence[str]) -> list[float]:
    """:func:`least_confidence` of each text under ``tagger``."""
    return [least_confidence(m) for m in tagger.marginals(list(texts))]


def select(tagger: Tagger, items: Iterable[Item], count: int, strategy: str = "uncertainty", seed: int = 0,
           similarity: float = 0.8, chunk_size: int = 1024) -> list[Chosen]:
    """The ``count`` posts of ``items`` (as :func:`read_documents` yields them) ranked first by
    ``strategy``, no two near-duplicates at ``similarity`` or above (1.0: only posts
    identical after normalising), highest rank first; ties go to the earlier line.

    Posts of white space only are never chosen. A :class:`BadLine` raises its error.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    best = _Best(count, NearDuplicates(similarity, seed))
    rng = random.Random(seed)
    for chunk in _numbered_chunks(items, chunk_size):
        texts = [text for _, text, _ in chunk]
        if strategy == "uncertainty":
            priorities = uncertainties(tagger, texts)
        else:
            priorities = [rng.random() for _ in chunk]
        for (line, text, fields), priority in zip(chunk, priorities):
            best.offer(Chosen(text, fields, line, priority))
    return best.ranked()


def _numbered_chunks(items: Iterable[Item], size: int) -> Iterator[list[tuple[int, str, dict]]]:
    """``(line, text, fields)`` of the posts that are not white space only, ``size`` at a time."""
    numbered = ((line, item) for line, item in enumerate(items, start=1))
    while batch := list(islice(numbered, size)):
        chunk = []
        for line, item in batch:
            if isinstance(item, BadLine):
                raise item.error
            text, fields = item
            if text.strip():
                chunk.append((line, text, fields))
        yield chunk


class _Best:
    """The ``count`` highest-ranked posts offered so far, no two near-duplicates. A min-heap on
    ``(priority, -line)`` with lazy deletion: a post displaced by a better near-duplicate stays
    in the heap, dead, until it comes up."""

    def __init__(self, count: int, seen: NearDuplicates) -> None:
        self.count, self.seen = count, seen
        self.heap: list[tuple[float, int]] = []
        self.alive: dict[int, Chosen] = {}

    def offer(self, post: Chosen) -> None:
        key = (post.priority, -post.line)
        if len(self.alive) >= self.count and key <= self._lowest():
            return
        twin = self.seen.find(post.text)
        if twin is not None:
            if (self.alive[twin].priority, -twin) >= key:
                return
            self._drop(twin)
        self.alive[post.line] = post
        self.seen.add(post.line, post.text)
        heapq.heappush(self.heap, key)
        if len(self.alive) > self.count:
            self._drop(-self._lowest()[1])
        if len(self.heap) > 2 * self.count + 1024:
            self.heap = [(p.priority, -p.line) for p in self.alive.values()]
            heapq.heapify(self.heap)

    def ranked(self) -> list[Chosen]:
        return sorted(self.alive.values(), key=lambda p: (-p.priority, p.line))

    def _lowest(self) -> tuple[float, int]:
        """The lowest live key (some post must be alive)."""
        while -self.heap[0][1] not in self.alive:
            heapq.heappop(self.heap)
        return self.heap[0]

    def _drop(self, line: int) -> None:
        del self.alive[line]
        self.seen.remove(line)
