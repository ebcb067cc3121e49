"""The model a training starts from: built for the training data, or a trained one grown for it.

Continued training (``fit(..., init=MODEL)``, ``brandner train --init MODEL``) starts from a model
file: its weights, vocabularies, tags and model settings. Characters (bigrams, lexicon words) of
the training data that it lacks get new embedding rows, and entity types it lacks new tags
(brandner.model.extend); the types it has and the data lacks are kept. Model settings come from
the file: a setting given (other than its default) that differs from the file's is refused, but
for those in :data:`FREE` and gazetteer files for the model's own types, whose words then replace
the stored ones. Otherwise the lexicon and gazetteers are the words the file holds. Training
settings (lr, epochs, batch size...) are the config's, as for any training.

A model of a joint training of several corpora (brandner.training.joint: a base model) gives
its embeddings and BiLSTM, grown alike, but not its tags: the continued training starts a new
projection and CRF for the types of its own training data (fine-tuning).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from brandner.config import Config, ModelConfig
from brandner.data.encoder import Encoder
from brandner.data.lexicon import read_lexicon
from brandner.data.sentence import Sentence
from brandner.data.vectors import read_vectors
from brandner.data.vocab import UNK_ID, Vocab
from brandner.errors import BrandnerError
from brandner.model.embedding import TokenEmbedding
from brandner.model.extend import grown_network
from brandner.model.model_file import EMBEDDINGS, load_model, network_for
from brandner.model.network import BiLSTMTagger

log = logging.getLogger("brandner")
# Model settings a continued training may change: they change neither the weights' shapes nor
# what they mean (regularisation while training, the longest piece tagged at once).
FREE = ("dropout", "output_dropout", "max_chunk_length")
# Which embedding size each kind of vectors sets.
VECTOR_DIMS = {"chars": "char_dim", "bigrams": "bigram_dim", "words": "lexicon_dim"}


def start_model(train: Sequence[Sentence], config: Config,
                init: str | Path | None = None) -> tuple[BiLSTMTagger, Encoder, dict | None]:
    """The network and encoder a training on ``train`` starts from, and what it started from:
    built for ``train`` and None, or with ``init`` (a model file) grown from it and
    ``{"path": init, "sha256": the file's}``. Call after seeding torch: new weights are random."""
    if init is None:
        return (*build(train, config), None)
    return grow(Path(init), train, config)


def build(train: Sequence[Sentence], config: Config) -> tuple[BiLSTMTagger, Encoder]:
    """A fresh network and an encoder with the vocabularies and tags of ``train``."""
    m = config.model
    vectors = _read_vectors(config.train.embeddings, m)
    # the vectors decide the embedding sizes
    m = dataclasses.replace(m, **{VECTOR_DIMS[kind]: matrix.shape[1] for kind, (_, matrix) in vectors.items()})
    encoder = Encoder.build(train, m, config.train.min_char_count, {k: tokens for k, (tokens, _) in vectors.items()})
    model = network_for(m, encoder)
    _set_vectors(model, encoder, vectors, config.train.embeddings)
    return model, encoder


def grow(init: Path, train: Sequence[Sentence], config: Config) -> tuple[BiLSTMTagger, Encoder, dict]:
    """The model file ``init`` grown for ``train`` (see the module's docstring), and what it was."""
    trained, encoder = load_model(init)
    settings = continued_settings(trained.config, config.model, init)
    if config.model.gazetteers:  # read afresh, even from the paths the model was trained with
        encoder = encoder.with_gazetteers({type_: read_lexicon(files, encoder.normalizer)
                                           for type_, files in config.model.gazetteer_lists.items()})
    vectors = _read_vectors(config.train.embeddings, settings)
    for kind, (_, matrix) in vectors.items():
        if matrix.shape[1] != getattr(settings, VECTOR_DIMS[kind]):
            raise BrandnerError(f"{config.train.embeddings}: {kind} vectors of size {matrix.shape[1]}; the model "
                                f"{init} has {VECTOR_DIMS[kind]} = {getattr(settings, VECTOR_DIMS[kind])}")
    grown = encoder.extended(train, config.train.min_char_count, {k: tokens for k, (tokens, _) in vectors.items()})
    base = bool(trained.config.corpora)  # a joint training's model: a new head, for the training's types alone
    if base:
        settings = dataclasses.replace(settings, corpora=())
        grown = dataclasses.replace(grown, tags=grown.scheme.tags_for({span.type for s in train for span in s.spans}))
    model = grown_network(trained, encoder, grown, settings, new_head=base)
    new_rows = {kind: {i for i, token in enumerate(vocab.tokens) if token not in encoder.vocabularies[kind]}
                for kind, vocab in grown.vocabularies.items()}
    _set_vectors(model, grown, vectors, config.train.embeddings, new_rows)
    digest = file_sha256(init)
    new_types = grown.types if base else sorted(set(grown.types) - set(encoder.types))
    log.info("continuing from %s (sha256 %s…): new %s; %s: %s", init, digest[:12],
             ", ".join(f"{kind} {len(rows)}" for kind, rows in new_rows.items()),
             f"a new head (the model was trained on {', '.join(trained.config.corpora)}) for" if base else "new types",
             " ".join(new_types) or "none")
    return model, grown, {"path": str(init), "sha256": digest}


def continued_settings(trained: ModelConfig, given: ModelConfig, source: str | Path) -> ModelConfig:
    """The model settings of a training continued from a model of settings ``trained``: those,
    but for the settings ``given`` asks for (those that differ from ModelConfig's defaults): one
    :data:`FREE` lists, or gazetteer files for some of ``trained``'s types, is taken; any other must be
    ``trained``'s, or it is refused (a BrandnerError naming each, from ``source``)."""
    default = ModelConfig()
    changes, conflicts = {}, []
    for name in (field.name for field in dataclasses.fields(ModelConfig)):
        value, old = getattr(given, name), getattr(trained, name)
        if value == getattr(default, name):
            continue
        if name == "gazetteers" and set(given.gazetteer_lists) <= set(trained.gazetteer_lists):
            lists = {**trained.gazetteer_lists, **given.gazetteer_lists}  # in the model's order: its inputs
            changes[name] = tuple(f"{t}={f}" for t, files in lists.items() for f in files)
        elif name in FREE:
            changes[name] = value
        elif value != old:
            conflicts.append(f"{name} ({_setting(old)} in the model, {_setting(value)} given)")
    if conflicts:
        raise BrandnerError(f"{source}: a training continued from this model keeps its settings; these differ: "
                            f"{'; '.join(conflicts)} (leave them out, or train a new model)")
    return dataclasses.replace(trained, **changes)


def _setting(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_vectors(path: str, model: ModelConfig) -> dict[str, tuple[list[str], np.ndarray]]:
    """The pretrained vectors at ``path`` (train.embeddings; none for "") for the tables ``model`` has."""
    if not path:
        return {}
    return read_vectors(path, ["chars"] + ["bigrams"] * bool(model.bigram_dim) + ["words"] * bool(model.lexicon))


def _set_vectors(model: BiLSTMTagger, encoder: Encoder, vectors: dict[str, tuple[list[str], np.ndarray]],
                 source: str, rows: dict[str, set[int]] | None = None) -> None:
    """Copy ``vectors`` (by kind) into ``model``'s embedding rows of ``encoder``'s tokens, only
    into ``rows`` (by kind) when given; log how many."""
    for kind, (tokens, matrix) in vectors.items():
        vocab = encoder.vocabularies[kind]
        only = None if rows is None else rows[kind]
        found = _init_embedding(getattr(model, EMBEDDINGS[kind]), vocab, tokens, matrix, encoder.normalizer, only)
        log.info("initialised %d of %d %s embeddings from %s (%d fixed: unseen in training)", found, len(vocab),
                 kind, source, len(vocab) - vocab.learned)


def _init_embedding(embedding: TokenEmbedding, vocab: Vocab, tokens: list[str], matrix: np.ndarray,
                    normalize: Callable[[str], str], only: set[int] | None = None) -> int:
    """Copy the rows of ``matrix`` into ``embedding`` for the (normalised) tokens ``vocab``
    has, other than <PAD> and <UNK> (and only those of ids in ``only``, when given); returns how
    many rows were set.

    Where tokens normalise alike (``，`` and ``,``; ``Ａ`` and ``a``), the first in the file
    gives the row: word2vec writes the most frequent first, and its vector is the best trained.
    """
    target: dict[int, int] = {}  # vocabulary index -> row of matrix
    for row, token in enumerate(tokens):
        index = vocab.index.get(normalize(token), UNK_ID)
        if index > UNK_ID and (only is None or index in only):
            target.setdefault(index, row)
    if target:
        embedding.set_rows(list(target), torch.from_numpy(matrix[list(target.values())]))
    return len(target)
