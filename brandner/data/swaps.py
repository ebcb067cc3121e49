"""Gazetteer swaps: training copies whose listed entities are names the model has never seen.

Trained with typed gazetteers (``--gazetteer HP=brands.txt``), a model sees nearly every
training brand on its list, and learns to find the brands it has read rather than the ones the
list names: a brand added to the list at tagging time is found much less often than a listed
training brand. ``train.gazetteer_swaps`` = p adds, for each training sentence with an entity
of a gazetteer's type, with probability p, one copy in which every such entity is replaced by
an invented name (each its own), and the gazetteer reads the invented name as an entry, as a list the user
extended would. Above 1, p is copies per sentence: 2 gives two copies of each (with other
names), 1.5 one copy and with probability 0.5 a second. The copy keeps the sentence's context
and tags (shifted to the new lengths); the model learns that a listed name in a brand's place
is a brand whatever its characters.

A name is as long as a random entry of the list (at most :data:`MAX_NAME`) and made of
characters drawn from the list's entries (each character as often as it occurs in them), so
names look like the list's, not like any one benchmark's. The copies are drawn once, before
training, from ``random.Random(seed)``: the same on every rank of a torchrun job, and again on
``--resume``.
"""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Callable, Iterable, Sequence

from brandner.data.batching import Encoded
from brandner.data.encoder import Encoder
from brandner.data.lexicon import NUM_POSITIONS, positions
from brandner.data.sentence import Sentence, Span
from brandner.errors import BrandnerError

MAX_NAME = 6
# Names are drawn from the CJK entries of a list (Latin names are spelt, not composed of parts).
CJK = re.compile(r"^[\u4e00-\u9fff]+$")


class NameMaker:
    """Invented names for one gazetteer: lengths and characters as in its CJK entries."""

    def __init__(self, words: Iterable[str]) -> None:
        entries = sorted(w for w in words if CJK.match(w))  # sorted: the same names from a seed
        self.lengths = [min(len(w), MAX_NAME) for w in entries]
        self.chars = [c for w in entries for c in w]

    def __bool__(self) -> bool:
        return bool(self.chars)

    def name(self, rng: random.Random) -> str:
        return "".join(rng.choices(self.chars, k=rng.choice(self.lengths)))


def swapped_copy(sentence: Sentence, name: Callable[[str], str | None]) -> tuple[Sentence, list[Span]]:
    """``sentence`` with each entity replaced by ``name(its type)`` where that is not None (a
    new name each call); the new sentence, and the replaced entities in it."""
    text, spans, replaced, shift, at = [], [], [], 0, 0
    for span in sentence.spans:
        text.append(sentence.text[at:span.start])
        word = name(span.type)
        new_word = word is not None
        word = word if new_word else sentence.text[span.start:span.end]
        new = Span(span.start + shift, span.start + shift + len(word), span.type)
        text.append(word)
        spans.append(new)
        if new_word:
            replaced.append(new)
        shift += len(word) - (span.end - span.start)
        at = span.end
    text.append(sentence.text[at:])
    return Sentence("".join(text), tuple(spans)), replaced


def listed(encoded: Encoded, spans: Sequence[Span], types: Sequence[str]) -> Encoded:
    """``encoded`` with each of ``spans`` read as an entry of its type's gazetteer (``types``: the
    gazetteers in the model's input order), marked as the encoder marks a match (lexicon.positions)."""
    matches = encoded.gazetteers.reshape(len(encoded.chars), len(types), NUM_POSITIONS).copy()
    for char, where, m in positions((span.start, span.end) for span in spans):
        matches[char, types.index(spans[m].type), where] = 1
    return dataclasses.replace(encoded, gazetteers=matches.reshape(len(encoded.chars), -1))


def gazetteer_swaps(sentences: Sequence[Sentence], encoder: Encoder, share: float, seed: int,
                    swapped_types: Sequence[str] = ()) -> list[Encoded]:
    """The encoded swapped copies (see the module's docstring) of about ``share`` of the
    ``sentences`` that hold an entity of a gazetteer's type (of ``swapped_types``, where given),
    ``share`` copies of each above 1; none without gazetteers."""
    if share <= 0 or not encoder.gazetteers:
        return []
    types = list(encoder.gazetteers)
    unknown = [t for t in swapped_types if t not in types]
    if unknown:
        raise BrandnerError(f"train.gazetteer_swap_types: no gazetteer {unknown[0]!r}; the model's gazetteers: "
                            f"{', '.join(types)}")
    makers = {t: NameMaker(g.words) for t, g in encoder.gazetteers.items() if t in swapped_types or not swapped_types}
    makers = {t: maker for t, maker in makers.items() if maker}  # a list without Chinese entries: no names
    rng = random.Random(f"brandner-gazetteer-swaps {seed}")
    copies = []
    whole, part = divmod(share, 1.0)
    for sentence in sentences:
        if not any(span.type in makers for span in sentence.spans):
            continue
        # one draw a sentence, as for a share of at most 1: whole copies, and one more with the rest
        for _ in range(int(whole) + (rng.random() < part)):
            copy, replaced = swapped_copy(sentence, lambda t: makers[t].name(rng) if t in makers else None)
            copies.append(listed(encoder.encode_sentence(copy), replaced, types))
    return copies
