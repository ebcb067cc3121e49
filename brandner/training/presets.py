"""What ``brandner train --preset accurate`` does beyond settings: vectors trained first, when no
``train.embeddings`` is given, so that the most accurate recipe measured (docs/configuration.md)
needs no separate ``brandner embed`` step. They learn from the training text and, by default, from
the text of the named public corpora on disk (:func:`vector_texts`): their training splits, less
every sentence of a test split (brandner.data.corpora.public_texts). Weibo (2.5 points of dev F1)
and ecommerce (0.7) gained from that text (docs/benchmarks.md); it costs about 3 minutes of
word2vec on 2 cores.

The vectors go to the folder ``MODEL.vectors`` beside the model (kept: a model file does not
need them to tag, but a ``--resume`` or a second training can use them again).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Sequence

from brandner.config import VECTOR_TEXTS, Config
from brandner.training.word2vec import SUMMARY, EmbedConfig, train_vectors

log = logging.getLogger("brandner")
# Presets whose recipe has vectors trained on the training text.
WITH_VECTORS = ("accurate",)


def vector_texts(training: Sequence[str], corpora: Sequence[str], source: str = "corpora",
                 data_dir: str | None = None) -> tuple[list[str], list[str]]:
    """The texts a preset's vectors learn from, and their sources: the ``training`` texts (of the
    named ``corpora``, if any) and, for ``source`` "corpora", the other named corpora's training
    text on disk, held-out splits left out (brandner.data.corpora.public_texts)."""
    if source not in VECTOR_TEXTS:
        raise ValueError(f"vector texts are {' or '.join(VECTOR_TEXTS)}, got {source!r}")
    texts, sources = list(training), ["training text"]
    if source == "corpora":
        from brandner.data.corpora import public_texts

        public, read = public_texts(corpora, data_dir)
        texts += public
        sources += read
        log.info("vectors on the training text and on %s", ", ".join(read) or "no named corpus (none found on disk)")
    return texts, sources


def vectors_path(output: str | Path) -> Path:
    return Path(output).with_name(Path(output).name + ".vectors")


def with_trained_vectors(config: Config, training: Sequence[str], output: str | Path, reuse: bool = False,
                         corpora: Sequence[str] = (), source: str = "corpora", data_dir: str | None = None) -> Config:
    """``config`` with ``train.embeddings`` the folder :func:`vectors_path` of ``output``, where
    vectors of the model's sizes, segmenter and seed are trained on :func:`vector_texts` of the
    ``training`` texts (of the named ``corpora``), ``source`` and ``data_dir``, which are read only
    then (with ``reuse``, vectors the folder already holds are kept, and nothing is read). A config
    that names embeddings is returned as it is."""
    if config.train.embeddings:
        return config
    folder = vectors_path(output)
    if not (reuse and (folder / SUMMARY).is_file()):
        texts, sources = vector_texts(training, corpora, source, data_dir)
        m = config.model
        settings = EmbedConfig(char_dim=m.char_dim, bigram_dim=m.bigram_dim or EmbedConfig.bigram_dim,
                               word_dim=m.lexicon_dim, seed=config.train.seed, segmenter=m.segmenter)
        log.info("training vectors on %d texts into %s (--preset)", len(texts), folder)
        train_vectors(texts, folder, settings, sources)
    return Config(config.model, dataclasses.replace(config.train, embeddings=str(folder)))
