"""An embedding table whose last rows are fixed: pretrained vectors of tokens training never sees.

Pretrained vectors bring tokens that are absent from the training data (they help
at tagging time). Their rows would get a zero gradient, so Adam would never move
them, but a trainable table pays for them on every step all the same: a dense
gradient, clipping and Adam over the whole table (with 184k bigram vectors, half
the training time). Here those rows are a buffer instead of a parameter, which
trains to the same numbers at the cost of the rows that learn.

>>> table = TokenEmbedding(5, 2, frozen=2)
>>> table.weight.shape, table.frozen.shape, table.num_embeddings
(torch.Size([3, 2]), torch.Size([2, 2]), 5)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class TokenEmbedding(nn.Module):
    """``num_embeddings`` rows of size ``dim``: the first trained, the last ``frozen`` fixed.

    Row 0 is padding (zeros, no gradient), as in ``nn.Embedding(..., padding_idx=0)``,
    and the rows are drawn from N(0, 1) in the same way, so a table without frozen
    rows starts from the same numbers as that ``nn.Embedding``.
    """

    def __init__(self, num_embeddings: int, dim: int, frozen: int = 0) -> None:
        super().__init__()
        if not 0 <= frozen < num_embeddings:
            raise ValueError(f"frozen rows must be in [0, {num_embeddings}), got {frozen}")
        table = torch.randn(num_embeddings, dim)
        table[0] = 0.0
        trained = num_embeddings - frozen
        self.weight = nn.Parameter(table[:trained].clone())
        self.register_buffer("frozen", table[trained:].clone())
        # The weight's gradient as the rows the batch used (a sparse tensor) instead of the
        # whole table: brandner.training.parallel's workers, which copy it into shared memory, set it.
        self.sparse = False

    @property
    def num_embeddings(self) -> int:
        return self.weight.size(0) + self.frozen.size(0)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``(..., dim)`` rows for ids ``(...)``."""
        if not self.frozen.size(0):
            return F.embedding(ids, self.weight, padding_idx=0, sparse=self.sparse)
        trained = self.weight.size(0)
        learns = ids < trained
        # two look-ups and a choice: the gradient stays the size of the trained rows
        learned = F.embedding(torch.where(learns, ids, 0), self.weight, padding_idx=0, sparse=self.sparse)
        fixed = F.embedding(torch.where(learns, 0, ids - trained), self.frozen)
        return torch.where(learns.unsqueeze(-1), learned, fixed)

    def table(self) -> torch.Tensor:
        """All rows ``(num_embeddings, dim)``, trained then frozen."""
        return torch.cat([self.weight, self.frozen])

    @torch.no_grad()
    def set_rows(self, ids: list[int], rows: torch.Tensor) -> None:
        """Overwrite rows ``ids`` (trained or frozen) with ``rows`` ``(len(ids), dim)``."""
        index = torch.as_tensor(ids, dtype=torch.long)
        learns = index < self.weight.size(0)
        self.weight[index[learns]] = rows[learns]
        self.frozen[index[~learns] - self.weight.size(0)] = rows[~learns]
