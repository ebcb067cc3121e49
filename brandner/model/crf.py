"""A linear-chain CRF over tensors, batched over sentences.

Scores a tag sequence y for emissions x as
``start[y_0] + sum_t x_t[y_t] + sum_t trans[y_{t-1}, y_t] + end[y_last]``.
The loss is the negative log-likelihood (the forward algorithm gives the log
partition function); decoding is Viterbi. Both loop over time steps only.

Training and decoding both respect the moves the tag scheme allows: the partition
function sums over valid sequences only (forbidden moves cost ``FORBIDDEN``, a
finite stand-in for -inf that keeps gradients finite), and Viterbi never takes them.

Masks are ``(batch, seq)`` booleans whose true entries form a prefix of at least
one position in every row (padding comes last).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from brandner.model.forward_backward import LogPartition

FORBIDDEN = -1e4  # exp(-1e4) is 0 in float32 and float64, yet its gradient is not NaN


class CRF(nn.Module):
    """Learned transition, start and end scores for ``num_tags`` tags.

    ``allowed`` (optional) is ``(transitions, start, end)`` as boolean tensors of
    shapes ``(tags, tags)``, ``(tags,)``, ``(tags,)``: what the tag scheme permits.
    Decoding never takes a forbidden transition.
    """

    def __init__(self, num_tags: int,
                 allowed: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be positive, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))  # (from, to)
        self.start = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        if allowed is None:
            allowed = (torch.ones(num_tags, num_tags, dtype=torch.bool),
                       torch.ones(num_tags, dtype=torch.bool), torch.ones(num_tags, dtype=torch.bool))
        self.register_buffer("allowed_transitions", allowed[0].clone(), persistent=False)
        self.register_buffer("allowed_start", allowed[1].clone(), persistent=False)
        self.register_buffer("allowed_end", allowed[2].clone(), persistent=False)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``tags`` (a valid sequence) per sentence: ``(batch,)``.

        emissions ``(batch, seq, tags)``, tags ``(batch, seq)`` long, mask ``(batch, seq)`` bool.
        """
        return self.log_partition(emissions, mask) - self.score(emissions, tags, mask)

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalised score of each sentence's tag sequence: ``(batch,)``."""
        transitions, start, end = self.constrained(FORBIDDEN)
        maskf = mask.to(emissions.dtype)  # (batch, seq)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (batch, seq)
        moved = transitions[tags[:, :-1], tags[:, 1:]]  # (batch, seq - 1)
        lengths = mask.sum(1)  # (batch,)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)  # (batch,)
        return (start[tags[:, 0]] + (emitted * maskf).sum(1)
                + (moved * maskf[:, 1:]).sum(1) + end[last])

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z per sentence by the forward algorithm: ``(batch,)``; its gradient
        (the marginals) comes from the backward pass of forward-backward."""
        return LogPartition.apply(emissions, mask.sum(1), *self.constrained(FORBIDDEN))

    def constrained(self, forbidden: float = float("-inf")) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Transition, start and end scores with forbidden moves set to ``forbidden``."""
        return (self.transitions.masked_fill(~self.allowed_transitions, forbidden),
                self.start.masked_fill(~self.allowed_start, forbidden),
                self.end.masked_fill(~self.allowed_end, forbidden))

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Viterbi: the best allowed tag sequence ``(batch, seq)`` (0 past each length) and its score ``(batch,)``.

        Runs in numpy: a step costs a few microseconds there against tens in torch,
        which is most of the decoding time for short sentences.
        """
        transitions, start, end = self._decoding_scores()
        lengths = mask.sum(1).cpu().numpy()
        paths, scores = viterbi(emissions.detach().cpu().numpy(), lengths,
                                transitions, start, end)
        return torch.from_numpy(paths).to(emissions.device), torch.from_numpy(scores).to(emissions.device)

    def _decoding_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The constrained scores as numpy arrays, rebuilt only after the parameters change."""
        version = (self.transitions._version, self.start._version, self.end._version,
                   self.transitions.data_ptr())
        if getattr(self, "_cached_version", None) != version:
            self._cached_scores = tuple(t.detach().cpu().numpy().copy() for t in self.constrained())
            self._cached_version = version
        return self._cached_scores


def viterbi(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched Viterbi over numpy arrays, looping over time steps only.

    emissions ``(batch, seq, tags)``, lengths ``(batch,)`` (each at least 1),
    transitions ``(from, to)``, start and end ``(tags,)``; -inf marks forbidden moves.
    Returns the best paths ``(batch, seq)`` (0 past each length) and their scores ``(batch,)``.
    """
    batch, seq, num_tags = emissions.shape
    score = start + emissions[:, 0]  # (batch, tags)
    history = np.empty((max(seq - 1, 0), batch, num_tags), dtype=np.int64)
    stay = np.arange(num_tags)
    shortest = int(lengths.min())
    for t in range(1, seq):
        candidates = score[:, :, None] + transitions  # (batch, from, to)
        previous = candidates.argmax(axis=1)  # (batch, to)
        best = candidates.max(axis=1) + emissions[:, t]
        if t < shortest:  # every sentence goes on: no masking needed
            score, history[t - 1] = best, previous
            continue
        on = (t < lengths)[:, None]
        score = np.where(on, best, score)
        history[t - 1] = np.where(on, previous, stay)  # past the end a tag points to itself
    final = score + end
    last = final.argmax(axis=1)  # (batch,)
    best_score = final[np.arange(batch), last]
    paths = np.empty((batch, seq), dtype=np.int64)
    paths[:, seq - 1] = last
    rows = np.arange(batch)
    for t in range(seq - 2, -1, -1):
        last = history[t, rows, last]
        paths[:, t] = last
    paths[np.arange(seq) >= lengths[:, None]] = 0
    return paths, best_score


def kbest_viterbi(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                  end: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best allowed tag sequences per sentence, batched, looping over time steps only.

    Arguments as for :func:`viterbi`. Each (tag, rank) cell keeps the ``k`` best distinct
    prefixes ending in that tag, so the list is exact. Returns paths ``(batch, k, seq)``
    (0 past each length) and scores ``(batch, k)``, best first; a sentence with fewer
    than ``k`` allowed sequences has -inf scores (and meaningless paths) in the rest.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    batch, seq, num_tags = emissions.shape
    score = np.full((batch, num_tags, k), -np.inf)  # (batch, tag, rank)
    score[:, :, 0] = start + emissions[:, 0]
    # history[t - 1, b, tag, rank] = from_tag * k + from_rank of that cell at step t
    history = np.empty((max(seq - 1, 0), batch, num_tags, k), dtype=np.int64)
    stay = np.arange(num_tags * k).reshape(num_tags, k)  # past the end a cell points to itself
    moves = transitions[None, :, None, :]  # (1, from, 1, to)
    for t in range(1, seq):
        candidates = (score[:, :, :, None] + moves).reshape(batch, num_tags * k, num_tags)  # (batch, from*rank, to)
        order = np.argsort(-candidates, axis=1, kind="stable")[:, :k]  # (batch, k, to)
        best = np.take_along_axis(candidates, order, axis=1).transpose(0, 2, 1) + emissions[:, t, :, None]
        on = (t < lengths)[:, None, None]
        score = np.where(on, best, score)  # (batch, tag, rank)
        history[t - 1] = np.where(on, order.transpose(0, 2, 1), stay)
    final = (score + end[None, :, None]).reshape(batch, num_tags * k)
    cells = np.argsort(-final, axis=1, kind="stable")[:, :k]  # (batch, k): tag * k + rank
    scores = np.take_along_axis(final, cells, axis=1)
    paths = np.empty((batch, k, seq), dtype=np.int64)
    paths[:, :, seq - 1] = cells // k
    rows = np.arange(batch)[:, None]
    for t in range(seq - 1, 0, -1):
        cells = history[t - 1, rows, cells // k, cells % k]
        paths[:, :, t - 1] = cells // k
    paths[np.broadcast_to(np.arange(seq) >= lengths[:, None, None], paths.shape)] = 0
    return paths, scores
