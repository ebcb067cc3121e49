"""The optimiser: Adam, with lazy updates of the large embedding tables on request.

:func:`adam` gives torch's fused Adam over every parameter. With ``train.sparse_embeddings``
it gives :class:`LazyTablesAdam` instead: the bigram and lexicon word tables get sparse
gradients (the rows a batch used) and torch's ``SparseAdam``, the rest fused Adam.

Why: dense Adam moves every row of a table at every step (a row a batch did not use
still has momentum), so a step pays for the whole table: building, clipping and
applying a dense gradient of 48,269 x 50 bigram weights on the ecommerce corpus. Lazy
updates touch only the rows used, and leave the others' weights and moments as they
are until a batch uses them: different numbers, so it is a setting, off by default.
"""

from __future__ import annotations

import torch

from brandner.model.embedding import TokenEmbedding
from brandner.model.network import BiLSTMTagger


def lazy_tables(model: BiLSTMTagger) -> list[TokenEmbedding]:
    """The tables that ``sparse_embeddings`` updates lazily: bigrams and lexicon words, where the model has them."""
    return [table for table in (model.bigram_embedding, model.word_embedding) if table is not None]


class LazyTablesAdam:
    """Fused Adam for every parameter but the weights of ``lazy_tables(model)``, which it
    marks sparse and gives to ``SparseAdam``. Both at ``lr``, with Adam's other defaults.

    It offers what the training loop and the resume file use of an optimiser:
    ``param_groups`` (both optimisers' groups, so setting each group's rate sets both),
    ``zero_grad``, ``step``, ``state_dict`` and ``load_state_dict``."""

    def __init__(self, model: BiLSTMTagger, lr: float) -> None:
        tables = lazy_tables(model)
        for table in tables:
            table.sparse = True
        lazy = [table.weight for table in tables]
        dense = [p for p in model.parameters() if not any(p is weight for weight in lazy)]
        self.dense = torch.optim.Adam(dense, lr=lr, fused=True)
        self.lazy = torch.optim.SparseAdam(lazy, lr=lr) if lazy else None
        self.optimizers = [self.dense] + ([self.lazy] if self.lazy is not None else [])

    @property
    def param_groups(self) -> list[dict]:
        return [group for optimizer in self.optimizers for group in optimizer.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for optimizer in self.optimizers:
            optimizer.step()

    def state_dict(self) -> dict:
        return {"dense": self.dense.state_dict(), "lazy": self.lazy.state_dict() if self.lazy is not None else None}

    def load_state_dict(self, state: dict) -> None:
        if set(state) != {"dense", "lazy"} or (state["lazy"] is None) != (self.lazy is None):
            raise ValueError("the optimiser state was not saved by this model's LazyTablesAdam")
        self.dense.load_state_dict(state["dense"])
        if self.lazy is not None:
            self.lazy.load_state_dict(state["lazy"])


def adam(model: BiLSTMTagger, lr: float, lazy_tables: bool = False) -> torch.optim.Adam | LazyTablesAdam:
    """Adam with its fused CPU kernel: one pass over each parameter instead of a dozen
    tensor operations (an update took 0.4-0.6 ms against 1.9-2.1 ms for ``foreach`` on the
    speed benchmark's ecommerce model at one thread; more with a bigram table). The
    weights it gives differ from ``foreach``'s by float rounding only.

    ``lazy_tables`` (``train.sparse_embeddings``): the bigram and lexicon word tables
    sparse and lazily updated instead (:class:`LazyTablesAdam`)."""
    if lazy_tables:
        return LazyTablesAdam(model, lr)
    return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
