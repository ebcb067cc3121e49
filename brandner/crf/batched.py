"""The CRF's training loss in torch, batched over sentences, its gradient by autograd: the loss of
a network on a GPU.

On the CPU the loss and its gradient are computed outside autograd, a sentence at a time
(brandner.crf.compiled, or numpy's forward-backward): cheaper there than a graph of small
tensor operations. On a GPU the scores would travel to the host and back at every step, so
there the forward algorithm runs where the scores are, in log space, one ``logsumexp`` over
the whole batch per time step; autograd gives the marginals as its gradient. Both compute
``log Z - score(tags)`` with the same constrained scores (brandner.crf.layer), and the tests
hold both to the same brute-force oracle.
"""

from __future__ import annotations

import torch


def nll(emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, transitions: torch.Tensor,
        start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """``log Z - score(tags)`` per sentence ``(batch,)``, differentiable by autograd.

    emissions ``(batch, seq, tags)``; tags ``(batch, seq)`` long, a valid sequence within each
    length (any tag in the padding); mask ``(batch, seq)`` bool, a prefix of at least one
    position per row; transitions ``(from, to)``, start and end ``(tags,)``: the constrained
    scores, forbidden moves a finite very negative number (layer.FORBIDDEN), so that no
    gradient is NaN. All on one device."""
    return log_partition(emissions, mask, transitions, start, end) - path_score(emissions, tags, mask, transitions,
                                                                                start, end)


def log_partition(emissions: torch.Tensor, mask: torch.Tensor, transitions: torch.Tensor, start: torch.Tensor,
                  end: torch.Tensor) -> torch.Tensor:
    """log Z per sentence ``(batch,)``: the forward algorithm, ``alpha_t(j) = logsumexp_i(alpha_{t-1}(i)
    + transitions(i, j)) + emissions_t(j)``, each row's alpha kept as it was past its length."""
    alpha = start + emissions[:, 0]  # (batch, tags)
    for t in range(1, emissions.size(1)):
        moved = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]  # (batch, tags)
        alpha = torch.where(mask[:, t, None], moved, alpha)
    return torch.logsumexp(alpha + end, dim=1)


def path_score(emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, transitions: torch.Tensor,
               start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """The score of each sentence's ``tags`` ``(batch,)``; the padding's tags and scores are not read
    (chosen away with ``where``, so that even an infinite score there adds nothing)."""
    emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (batch, seq)
    moved = transitions[tags[:, :-1], tags[:, 1:]]  # (batch, seq - 1)
    last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)  # (batch,)
    zero = emissions.new_zeros(())
    return (start[tags[:, 0]] + torch.where(mask, emitted, zero).sum(1)
            + torch.where(mask[:, 1:], moved, zero).sum(1) + end[last])
