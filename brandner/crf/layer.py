"""The CRF as a torch layer: its learned scores and the training loss, batched over sentences.

Scores a tag sequence y for emissions x as
``start[y_0] + sum_t x_t[y_t] + sum_t trans[y_{t-1}, y_t] + end[y_last]``.
The loss is the negative log-likelihood, computed on the CPU with its gradient outside autograd
(brandner.crf.compiled, or numpy's forward-backward), and for scores on another device (a GPU)
where they are, batched in torch (brandner.crf.batched). Decoding is not here: it runs in
numpy (brandner.crf.decoding) on :meth:`CRF.decoding_scores`, so that a model without
torch (an ONNX graph) decodes the same way.

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

from brandner.crf import batched
from brandner.crf.compiled import nll_and_gradients
from brandner.crf.forward_backward import Marginals, forward_backward

FORBIDDEN = -1e4  # exp(-1e4) is 0 in float32 and float64, yet its gradient is not NaN


class CRF(nn.Module):
    """Learned transition, start and end scores for ``num_tags`` tags.

    ``allowed`` (optional) is ``(transitions, start, end)`` as boolean tensors or arrays of
    shapes ``(tags, tags)``, ``(tags,)``, ``(tags,)``: what the tag scheme permits.
    Decoding never takes a forbidden transition.
    """

    def __init__(self, num_tags: int,
                 allowed: tuple[torch.Tensor | np.ndarray, ...] | None = None) -> None:
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
        for name, table in zip(("allowed_transitions", "allowed_start", "allowed_end"), allowed, strict=True):
            self.register_buffer(name, torch.as_tensor(table, dtype=torch.bool).clone(), persistent=False)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``tags`` (a valid sequence) per sentence: ``(batch,)``.

        emissions ``(batch, seq, tags)``, tags ``(batch, seq)`` long, mask ``(batch, seq)`` bool.
        Equal to log Z minus the sequence's score. On the CPU computed with its gradient in one
        go, by the compiled kernel of brandner.crf.compiled where numba is installed, else in
        numpy (autograd through the score's gathers and index look-ups cost a training step more
        than computing the gold path's score and counts in numpy); elsewhere (a GPU) batched in
        torch where the scores are (brandner.crf.batched), its gradient by autograd.
        """
        if runs_in_torch(emissions):
            return batched.nll(emissions, tags, mask, *self.constrained(FORBIDDEN))
        return NegLogLikelihood.apply(emissions, tags, mask.sum(1), *self.constrained(FORBIDDEN))

    def constrained(self, forbidden: float = float("-inf")) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Transition, start and end scores with forbidden moves set to ``forbidden``."""
        return (self.transitions.masked_fill(~self.allowed_transitions, forbidden),
                self.start.masked_fill(~self.allowed_start, forbidden),
                self.end.masked_fill(~self.allowed_end, forbidden))

    def decoding_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The constrained ``(transitions, start, end)`` as numpy arrays, -inf for forbidden
        moves: what brandner.crf.decoding and brandner.crf.confidence take. Read afresh each
        time (some 20 us).

        Not cached by the parameters' version counters: Adam's fused kernel updates the
        weights in place without bumping them, and a cache kept the first epoch's scores
        for every later dev evaluation."""
        with torch.no_grad():  # constrained() gives new tensors: no copy needed
            return tuple(t.cpu().numpy() for t in self.constrained())


def runs_in_torch(emissions: torch.Tensor) -> bool:
    """Whether :meth:`CRF.nll` of these scores runs in torch (brandner.crf.batched): for scores
    off the CPU, which would otherwise go to the host and back at every step."""
    return emissions.device.type != "cpu"


class NegLogLikelihood(torch.autograd.Function):
    """``log Z - score(tags)`` ``(batch,)``; its gradient is the marginals minus the gold path's
    indicators (tags per position, moves, first and last tags): each sentence's from the
    compiled kernel, or the marginals from numpy's forward-backward and the path's apart."""

    @staticmethod
    def forward(ctx, emissions: torch.Tensor, tags: torch.Tensor, lengths: torch.Tensor, transitions: torch.Tensor,
                start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
        scores = [x.detach().cpu().numpy() for x in (emissions, transitions, start, end)]
        gold, steps = tags.cpu().numpy(), lengths.cpu().numpy()
        ctx.sentences = nll_and_gradients(scores[0], steps, gold, *scores[1:])
        if ctx.sentences is not None:
            return torch.from_numpy(ctx.sentences.nll).to(emissions.device, emissions.dtype)
        marginals = forward_backward(scores[0], steps, *scores[1:])
        path = GoldPath(gold, steps)
        ctx.marginals, ctx.path = marginals, path
        return torch.from_numpy(marginals.log_z - path.score(*scores)).to(emissions.device, emissions.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        g = grad.detach().cpu().numpy().astype(np.float64)  # (batch,)
        if ctx.sentences is not None:
            s = ctx.sentences
            unary = s.unary * g.astype(s.unary.dtype)[:, None, None]
            return (to_torch(unary, grad), None, None, to_torch(np.tensordot(g, s.moves, axes=1), grad),
                    to_torch(g @ s.first, grad), to_torch(g @ s.last, grad))
        path = ctx.path
        unary, moves, first, last = log_z_gradients(ctx.marginals, g)
        num_tags = unary.shape[2]
        path.subtract_tags(unary, g)
        moves -= path.move_counts(g, num_tags)
        first -= np.bincount(path.first, weights=g, minlength=num_tags)
        last -= np.bincount(path.last, weights=g, minlength=num_tags)
        return (to_torch(unary, grad), None, None, to_torch(moves, grad), to_torch(first, grad),
                to_torch(last, grad))


class GoldPath:
    """The given tag sequences of a batch as numpy index arrays: tags ``(batch, seq)``, lengths ``(batch,)``."""

    def __init__(self, tags: np.ndarray, lengths: np.ndarray) -> None:
        self.tags = tags
        self.inside = np.arange(tags.shape[1])[None, :] < lengths[:, None]  # (batch, seq)
        self.first = tags[:, 0]
        self.last = tags[np.arange(len(tags)), lengths - 1]

    def score(self, emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Each sentence's score of its tags ``(batch,)``, in float64."""
        emitted = np.take_along_axis(emissions, self.tags[:, :, None], axis=2)[:, :, 0].astype(np.float64)
        moved = transitions[self.tags[:, :-1], self.tags[:, 1:]].astype(np.float64)  # (batch, seq - 1)
        return (start[self.first].astype(np.float64) + np.where(self.inside, emitted, 0.0).sum(axis=1)
                + np.where(self.inside[:, 1:], moved, 0.0).sum(axis=1) + end[self.last])

    def subtract_tags(self, unary: np.ndarray, weights: np.ndarray) -> None:
        """``unary -= weights[row]`` at each sentence's tag at each of its positions, in place."""
        rows, positions = np.nonzero(self.inside)
        unary[rows, positions, self.tags[rows, positions]] -= weights[rows]

    def move_counts(self, weights: np.ndarray, num_tags: int) -> np.ndarray:
        """``(from, to)``: how often each move is on the paths, each sentence's moves weighted by ``weights``."""
        pairs = self.tags[:, :-1] * num_tags + self.tags[:, 1:]  # (batch, seq - 1)
        counted = np.where(self.inside[:, 1:], weights[:, None], 0.0)
        return np.bincount(pairs.ravel(), weights=counted.ravel(), minlength=num_tags**2).reshape(num_tags, num_tags)


def log_z_gradients(m: Marginals, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The gradients of ``sum_b g[b] * log Z[b]`` for the emissions, transitions, start and end
    scores: the marginals weighted by ``g`` ``(batch,)``, as new arrays."""
    return (m.unary * g[:, None, None], np.tensordot(g, m.transitions, axes=1), g @ m.first, g @ m.last)


def to_torch(array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(array).to(like.device, like.dtype)
