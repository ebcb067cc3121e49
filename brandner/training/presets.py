"""What ``brandner train --preset accurate`` does beyond settings: vectors trained on the training
text first, when no ``train.embeddings`` is given, so that the most accurate recipe measured
(docs/configuration.md) needs no separate ``brandner embed`` step.

The vectors go to the folder ``MODEL.vectors`` beside the model (kept: a model file does not
need them to tag, but a ``--resume`` or a second training can use them again).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Sequence

from brandner.config import Config
from brandner.training.word2vec import SUMMARY, EmbedConfig, train_vectors

log = logging.getLogger("brandner")
# Presets whose recipe has vectors trained on the training text.
WITH_VECTORS = ("accurate",)


def vectors_path(output: str | Path) -> Path:
    return Path(output).with_name(Path(output).name + ".vectors")


def with_trained_vectors(config: Config, texts: Sequence[str], output: str | Path, reuse: bool = False) -> Config:
    """``config`` with ``train.embeddings`` the folder :func:`vectors_path` of ``output``, where
    vectors of the model's sizes, segmenter and seed are trained on ``texts`` (or, with ``reuse``,
    kept from before when the folder holds them). A config that names embeddings is returned as
    it is."""
    if config.train.embeddings:
        return config
    folder = vectors_path(output)
    if not (reuse and (folder / SUMMARY).is_file()):
        m = config.model
        settings = EmbedConfig(char_dim=m.char_dim, bigram_dim=m.bigram_dim or EmbedConfig.bigram_dim,
                               word_dim=m.lexicon_dim, seed=config.train.seed, segmenter=m.segmenter)
        log.info("training vectors on the %d training texts into %s (--preset)", len(texts), folder)
        train_vectors(texts, folder, settings, ["training text"])
    return Config(config.model, dataclasses.replace(config.train, embeddings=str(folder)))
