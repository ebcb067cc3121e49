"""Several corpora as one training set: each keeps its own entity types, named ``CORPUS:TYPE``.

A joint training (``brandner train --corpus msra --corpus cluener``) trains one network on the
sentences of all its corpora. Every corpus has its own tags: its types, renamed ``CORPUS:TYPE``,
so that MSRA's ``PER`` and Weibo's ``PER.NAM`` are different tags even where two corpora share a
type's name; the tag ``O`` is shared. A sentence's loss is over its corpus's tags alone
(:func:`corpus_tags` gives the mask, the network applies it), which is what a projection and CRF
of its own per corpus would give, but for the shared ``O`` row. So one encoder (embeddings and
BiLSTM) learns from every corpus, and each corpus's annotation guidelines stay its own.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from brandner.data.schemes import IOBES, OUTSIDE
from brandner.data.sentence import Sentence, Span

SEPARATOR = ":"
# The score that rules a tag out (another corpus's, in the loss; a type not asked for, in
# Tagger.only_types): far below any path's, and finite, so that no inf - inf makes a NaN.
RULED_OUT = -1e4


def joint_type(corpus: str, type_: str) -> str:
    """The type ``type_`` of corpus ``corpus`` in a joint training: ``CORPUS:TYPE``."""
    return f"{corpus}{SEPARATOR}{type_}"


def corpus_of(type_: str) -> str | None:
    """The corpus a joint type names (``msra:PER`` -> ``msra``), None for a plain type."""
    corpus, sep, _ = type_.partition(SEPARATOR)
    return corpus if sep else None


def renamed(corpus: str, sentences: Iterable[Sentence]) -> list[Sentence]:
    """The sentences with each span's type renamed ``CORPUS:TYPE``."""
    return [Sentence(s.text, tuple(Span(span.start, span.end, joint_type(corpus, span.type)) for span in s.spans))
            for s in sentences]


def joint_sentences(corpora: Mapping[str, Sequence[Sentence]]) -> tuple[list[Sentence], list[int]]:
    """All the corpora's sentences (in the mapping's order), their types renamed, and the index of
    each sentence's corpus in that order."""
    sentences: list[Sentence] = []
    indices: list[int] = []
    for index, (name, items) in enumerate(corpora.items()):
        sentences.extend(renamed(name, items))
        indices.extend([index] * len(items))
    return sentences, indices


def corpus_tags(corpora: Sequence[str], tags: Sequence[str]) -> np.ndarray:
    """``(corpora, tags)`` bool: which tags a sentence of each corpus may take: ``O`` and the tags
    of the types ``CORPUS:…``."""
    index = {name: i for i, name in enumerate(corpora)}
    allowed = np.zeros((len(corpora), len(tags)), dtype=bool)
    for t, tag in enumerate(tags):
        if tag == OUTSIDE:
            allowed[:, t] = True
            continue
        corpus = corpus_of(IOBES.parse(tag)[1])  # an encoder's tags are IOBES
        if corpus in index:
            allowed[index[corpus], t] = True
    return allowed


def without_texts(sentences: Sequence[Sentence], texts: set[str]) -> tuple[list[Sentence], int]:
    """The sentences whose text is not one of ``texts`` (exactly), and how many were dropped."""
    kept = [s for s in sentences if s.text not in texts]
    return kept, len(sentences) - len(kept)
