"""A trained network grown for a grown encoder: the start of continued training (``train --init``).

The encoder grows by :meth:`brandner.data.encoder.Encoder.extended`: new characters (bigrams,
lexicon words) and the tags of new entity types. The network grows with it: each new token gets
an embedding row and each new tag a row of the output projection and a row and a column of the
CRF's transitions (and its start and end scores), all drawn as a fresh network draws them
(:func:`brandner.model.model_file.network_for`); every trained weight is kept, moved with its
token or tag. So a text of old tokens gets the trained network's scores: bit for bit when no tag
is new; with new tags, the old tags' emissions to the rounding of one matrix product of more
columns, their CRF scores exactly, while the new tags take part of the probability until
trained. The CRF's constraints for the new tags come from the scheme, as for the old ones.
"""

from __future__ import annotations

import torch

from brandner.config import ModelConfig
from brandner.data.encoder import Encoder
from brandner.model.model_file import EMBEDDINGS, network_for
from brandner.model.network import BiLSTMTagger

# Weights with a row per tag, and the CRF's (tags, tags) transitions.
TAG_ROWS = ("projection.weight", "projection.bias", "crf.start", "crf.end")
TAG_TABLE = "crf.transitions"


def grown_network(model: BiLSTMTagger, old: Encoder, new: Encoder, config: ModelConfig,
                  new_head: bool = False) -> BiLSTMTagger:
    """A network for ``new`` (``old`` grown by :meth:`Encoder.extended`) holding every weight of
    ``model`` (a network for ``old``), the rows of new tokens and tags drawn fresh. ``config`` is
    ``model.config`` but for settings that leave the weights' shapes alone (e.g. dropout). With
    ``new_head``, ``new``'s tags need not be ``old``'s: the projection and CRF are all drawn fresh
    (fine-tuning a base model for other tags), and only the embeddings and BiLSTM are kept."""
    grown = network_for(config, new)
    for kind, vocab in new.vocabularies.items():
        embedding = getattr(grown, EMBEDDINGS[kind])
        new_ids, old_ids = _kept(old.vocabularies[kind].index, vocab.tokens)
        embedding.set_rows(new_ids.tolist(), getattr(model, EMBEDDINGS[kind]).table().detach()[old_ids])
    tables = {f"{EMBEDDINGS[kind]}.{part}" for kind in new.vocabularies for part in ("weight", "frozen")}
    new_tags, old_tags = _kept(old.tag_index, new.tags)
    state = {name: tensor.clone() for name, tensor in grown.state_dict().items()}
    for name, trained in model.state_dict().items():
        if name in tables:
            continue
        if new_head and (name in TAG_ROWS or name == TAG_TABLE):
            continue
        if name in TAG_ROWS:
            state[name][new_tags] = trained[old_tags]
        elif name == TAG_TABLE:
            state[name][new_tags[:, None], new_tags[None, :]] = trained[old_tags[:, None], old_tags[None, :]]
        else:
            assert state[name].shape == trained.shape, f"{name}: {tuple(trained.shape)} -> {tuple(state[name].shape)}"
            state[name] = trained.clone()
    grown.load_state_dict(state)
    grown.train(model.training)
    return grown


def _kept(index: dict[str, int], tokens: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """For the ``tokens`` (of a grown vocabulary or tag list) that ``index`` (the old one) has:
    their new ids and their old ids, two long tensors."""
    pairs = [(new, index[token]) for new, token in enumerate(tokens) if token in index]
    new_ids, old_ids = zip(*pairs) if pairs else ((), ())
    return torch.tensor(new_ids, dtype=torch.long), torch.tensor(old_ids, dtype=torch.long)
