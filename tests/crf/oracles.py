"""The CRF layer's scores computed the plain way, for the tests to hold the fast paths to.

Not used by brandner itself: training takes ``CRF.nll`` (loss and gradient outside
autograd) and decoding runs in numpy on ``CRF.decoding_scores``.
"""

from __future__ import annotations

import numpy as np
import torch

from brandner.crf.decoding import viterbi
from brandner.crf.forward_backward import forward_backward
from brandner.crf.layer import CRF, FORBIDDEN, log_z_gradients, to_torch


def score(crf: CRF, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unnormalised score of each sentence's tag sequence ``(batch,)``, by autograd-able gathers."""
    transitions, start, end = crf.constrained(FORBIDDEN)
    maskf = mask.to(emissions.dtype)  # (batch, seq)
    emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (batch, seq)
    moved = transitions[tags[:, :-1], tags[:, 1:]]  # (batch, seq - 1)
    last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)  # (batch,)
    return start[tags[:, 0]] + (emitted * maskf).sum(1) + (moved * maskf[:, 1:]).sum(1) + end[last]


def log_partition(crf: CRF, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log Z per sentence ``(batch,)`` by numpy's forward algorithm, its gradient the marginals."""
    return LogPartition.apply(emissions, mask.sum(1), *crf.constrained(FORBIDDEN))


def decode(crf: CRF, emissions: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Viterbi on the layer's decoding scores: best paths ``(batch, seq)`` (0 past each length)
    and their scores ``(batch,)``."""
    paths, best = viterbi(emissions.detach().numpy(), mask.sum(1).numpy(), *crf.decoding_scores())
    return torch.from_numpy(paths), torch.from_numpy(best)


class LogPartition(torch.autograd.Function):
    """log Z ``(batch,)`` with its gradient from :func:`forward_backward`."""

    @staticmethod
    def forward(ctx, emissions: torch.Tensor, lengths: torch.Tensor, transitions: torch.Tensor,
                start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
        ctx.marginals = forward_backward(*[x.detach().numpy() for x in (emissions, lengths, transitions, start, end)])
        return torch.from_numpy(ctx.marginals.log_z).to(emissions.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        unary, moves, first, last = log_z_gradients(ctx.marginals, grad.detach().numpy().astype(np.float64))
        return to_torch(unary, grad), None, to_torch(moves, grad), to_torch(first, grad), to_torch(last, grad)
