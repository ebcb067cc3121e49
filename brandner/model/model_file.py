"""One self-describing model file: config, vocabularies, tag scheme and weights.

Written with ``torch.save`` of plain containers and tensors, read back with
``weights_only=True`` so no Python object is ever unpickled from a file.
Every write goes to a temporary file first and is renamed into place.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path
from typing import Any

import torch

from brandner.atomic import atomic_output
from brandner.config import ModelConfig
from brandner.data.encoder import Encoder
from brandner.data.joint import corpus_tags
from brandner.errors import BrandnerError
from brandner.model.network import BiLSTMTagger

FORMAT = "brandner-model"
# 2: the normaliser and segmenter only in model_config (not the encoder); lexicon and gazetteers
# as lists. Version 1 files load; an older brandner refuses version 2 as written by a newer one.
VERSION = 2


def atomic_save(payload: Any, path: str | Path) -> None:
    """``torch.save`` to a temp file beside ``path``, then rename it over ``path``."""
    with atomic_output(path) as temporary, open(temporary, "wb") as out:
        torch.save(payload, out)
        out.flush()
        os.fsync(out.fileno())


def safe_load(path: str | Path, kind: str = FORMAT) -> dict:
    """Read a file written by :func:`atomic_save` without unpickling objects."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError:
        # torch's message suggests weights_only=False, which would run any code the file holds: never suggest it
        raise BrandnerError(f"{path}: not a brandner file (it holds pickled Python objects, which brandner "
                            "never loads: they can run code)") from None
    except Exception as error:  # torch raises many types for a file that is not a checkpoint
        raise BrandnerError(f"{path}: not a brandner file ({type(error).__name__}: {error})".splitlines()[0]) from None
    if not isinstance(payload, dict) or payload.get("format") != kind:
        raise BrandnerError(f"{path}: not a {kind} file")
    version = payload.get("version", 0)
    if not isinstance(version, int) or version > VERSION:
        raise BrandnerError(f"{path}: written by a newer brandner (format version {version!r})")
    return payload


def model_payload(model: BiLSTMTagger, encoder: Encoder) -> dict:
    """What a model file holds (also embedded in resume files)."""
    return {"format": FORMAT, "version": VERSION, "model_config": dataclasses.asdict(model.config),
            "encoder": encoder.to_dict(),
            "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}


def model_from_payload(payload: dict, source: str | Path = "the model") -> tuple[BiLSTMTagger, Encoder]:
    """The model (in eval mode) and its encoder from what :func:`model_payload` made; ``source``
    names the file in errors. A payload that passes :func:`safe_load` may still not fit this
    version's network (a key missing, a tensor of another shape, a setting it does not know)."""
    try:
        return _rebuild(payload)
    except BrandnerError as error:
        raise BrandnerError(f"{source}: {error}") from None
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as error:
        message = f"{source}: a model this brandner cannot rebuild ({type(error).__name__}: {error})"
        raise BrandnerError(message.splitlines()[0]) from None


def _rebuild(payload: dict) -> tuple[BiLSTMTagger, Encoder]:
    config = ModelConfig.from_saved(payload["model_config"])
    encoder = Encoder.from_dict(payload["encoder"], config)
    state = dict(payload["state_dict"])
    frozen = {}
    for kind, table in EMBEDDINGS.items():
        weight = state.get(f"{table}.weight")
        if weight is not None:  # files written before fixed rows existed have none
            frozen[kind] = state.setdefault(f"{table}.frozen", weight.new_zeros(0, weight.size(1))).size(0)
    model = network_for(config, encoder, frozen)
    model.load_state_dict(state)
    model.eval()
    return model, encoder


# The token embedding tables of a network by the kind of token (and of pretrained vectors).
EMBEDDINGS = {"chars": "char_embedding", "bigrams": "bigram_embedding", "words": "word_embedding",
              "radicals": "radical_embedding"}


def network_for(config: ModelConfig, encoder: Encoder, frozen: dict[str, int] | None = None) -> BiLSTMTagger:
    """A fresh network sized for ``encoder``'s vocabularies and tags. ``frozen`` (by kind)
    is how many last rows of each table are fixed; by default the tokens each vocabulary
    did not learn from training data (those added from pretrained vectors)."""
    vocabs = encoder.vocabularies
    if frozen is None:
        frozen = {kind: len(vocab) - vocab.learned for kind, vocab in vocabs.items()}
    weights = encoder.word_weights() if config.lexicon and config.lexicon_pooling == "frequency" else None
    return BiLSTMTagger(config, len(encoder.chars), len(encoder.tags), encoder.allowed(),
                        num_bigrams=len(vocabs.get("bigrams", ())), num_words=len(vocabs.get("words", ())),
                        frozen=frozen, word_weights=weights, num_radicals=len(vocabs.get("radicals", ())),
                        corpus_tags=corpus_tags(config.corpora, encoder.tags) if config.corpora else None)


def load_model(path: str | Path) -> tuple[BiLSTMTagger, Encoder]:
    """The model (in eval mode) and its encoder from a model file."""
    return model_from_payload(safe_load(path), path)
