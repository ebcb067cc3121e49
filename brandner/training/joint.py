"""A joint training of several corpora (brandner.data.joint): its data, and its dev score.

Every epoch goes through every training sentence of every corpus once, in batches of
similar length that mix the corpora; so a corpus's share of the updates is its share of the
training sentences. Early stopping follows the mean over the corpora of their dev F1, each
corpus's dev split tagged with its own types alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from brandner.data.batching import Encoded
from brandner.data.joint import corpus_of, joint_sentences, renamed
from brandner.data.metrics import Report, Scores
from brandner.data.sentence import Sentence
from brandner.errors import BrandnerError
from brandner.tagging.tagger import Tagger


@dataclass(frozen=True)
class JointData:
    """The training sentences of all corpora (types renamed ``CORPUS:TYPE``), the index of each
    one's corpus, and each corpus's dev sentences (renamed alike)."""

    corpora: tuple[str, ...]
    train: list[Sentence]
    train_corpus: list[int]
    dev: dict[str, list[Sentence]]

    @classmethod
    def of(cls, train: Mapping[str, Sequence[Sentence]], dev: Mapping[str, Sequence[Sentence]]) -> "JointData":
        """From each corpus's training and dev sentences (the same corpora, in the same order);
        sentences without text are left out."""
        if list(train) != list(dev):
            raise BrandnerError(f"a joint training needs a dev split for each corpus, in order: training "
                                f"{', '.join(train)}; dev {', '.join(dev)}")
        if len(train) < 2:
            raise BrandnerError("a joint training needs at least two corpora")
        for name in train:
            if not any(s.text for s in train[name]) or not any(s.text for s in dev[name]):
                raise BrandnerError(f"{name}: a corpus of a joint training needs training and dev sentences")
        sentences, indices = joint_sentences({name: [s for s in items if s.text] for name, items in train.items()})
        return cls(tuple(train), sentences, indices, {name: renamed(name, items) for name, items in dev.items()})

    def with_corpus(self, data: Sequence[Encoded]) -> list[Encoded]:
        """The encoded training sentences (in :attr:`train`'s order), each marked with its corpus."""
        return [dataclasses.replace(item, corpus=np.full(len(item.chars), index, dtype=np.int64))
                for item, index in zip(data, self.train_corpus, strict=True)]


def evaluate(tagger: Tagger, dev: Sequence[Sentence] | Mapping[str, Sequence[Sentence]]) -> Report:
    """The tagger's dev report: of one dev set, or with a mapping of a joint training's corpora,
    :func:`mean_report` of each corpus's dev split tagged with its own types alone."""
    if not isinstance(dev, Mapping):
        return tagger.evaluate(dev)
    return mean_report(corpus_reports(tagger, dev))


def corpus_reports(tagger: Tagger, dev: Mapping[str, Sequence[Sentence]]) -> dict[str, Report]:
    """Each corpus's dev report, its sentences tagged with the corpus's types alone."""
    return {name: tagger.only_types([t for t in tagger.types if corpus_of(t) == name]).evaluate(sentences)
            for name, sentences in dev.items()}


def mean_report(reports: Mapping[str, Report]) -> Report:
    """One report of several corpora's: precision, recall and F1 the means of theirs (each corpus
    counts alike, however many entities it has), support the sum; every corpus's types."""
    means = [sum(getattr(r.micro, name) for r in reports.values()) / len(reports)
             for name in ("precision", "recall", "f1")]
    micro = Scores(*means, sum(r.micro.support for r in reports.values()))
    return Report(micro, {t: s for r in reports.values() for t, s in r.per_type.items()})
