"""Vocabularies: tokens <-> ids, with ``<PAD>`` at 0 and ``<UNK>`` at 1."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

PAD, UNK = "<PAD>", "<UNK>"
PAD_ID, UNK_ID = 0, 1


class Vocab:
    """An ordered token list; ids are positions. Unknown tokens map to ``<UNK>``."""

    def __init__(self, tokens: Sequence[str], learned: int | None = None) -> None:
        """``learned``: how many leading tokens (``<PAD>`` and ``<UNK>`` included) came from
        the training data; the rest were added from elsewhere (pretrained vectors) and
        get fixed embedding rows. Default: all of them."""
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {list(tokens[:2])}")
        self.tokens = list(tokens)
        self.index = {token: i for i, token in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("a vocabulary may not list a token twice")
        self.learned = len(self.tokens) if learned is None else learned

    @classmethod
    def build(cls, texts: Iterable[Iterable[str]], min_count: int = 1, extra: Iterable[str] = ()) -> "Vocab":
        """Characters (or the tokens of token lists) seen at least ``min_count`` times,
        most frequent first, then ``extra``."""
        counts = Counter(char for text in texts for char in text)
        tokens = [PAD, UNK] + [c for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                               if n >= min_count]
        known, learned = set(tokens), len(tokens)
        tokens += [t for t in dict.fromkeys(extra) if t not in known]
        return cls(tokens, learned)

    def extended(self, texts: Iterable[Iterable[str]], min_count: int = 1, extra: Iterable[str] = ()) -> "Vocab":
        """This vocabulary grown for more training data: its learned tokens first, at their ids;
        then the tokens of ``texts`` seen at least ``min_count`` times that it lacks, or has only
        from ``extra`` before (fixed rows), most frequent first; then its other fixed tokens and
        ``extra``'s new ones. A token may so move (a fixed one now learned) but is never dropped.

        >>> Vocab.build(["ab"]).extended(["bcc"]).tokens
        ['<PAD>', '<UNK>', 'a', 'b', 'c']
        """
        seen = Vocab.build(texts, min_count)
        learned = self.tokens[:self.learned]
        known = set(learned)
        learned += [t for t in seen.tokens[2:] if t not in known]
        known = set(learned)
        fixed = [t for t in dict.fromkeys([*self.tokens[self.learned:], *extra]) if t not in known]
        return Vocab(learned + fixed, len(learned))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, text: Iterable[str]) -> np.ndarray:
        """Ids of each character (or token), ``<UNK>`` for those not in the vocabulary."""
        get = self.index.get
        return np.fromiter((get(t, UNK_ID) for t in text), dtype=np.int64)
