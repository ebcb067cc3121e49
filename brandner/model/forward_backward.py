"""The CRF's log partition function and its gradient by forward-backward, in numpy.

The gradient of log Z is a set of marginal probabilities: for the emissions, the
probability of each tag at each position; for the transitions, the expected number
of times each move is taken. Computing them with one forward and one backward pass
over time (scaled probabilities in float64, so nothing under- or overflows) costs
a few numpy calls per step, where autograd through the forward algorithm records
and replays dozens of small tensor operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Marginals:
    log_z: np.ndarray  # (batch,)
    unary: np.ndarray  # (batch, seq, tags): P(tag at t); 0 past each length
    transitions: np.ndarray  # (batch, tags, tags): expected count of each move
    first: np.ndarray  # (batch, tags): P(first tag)
    last: np.ndarray  # (batch, tags): P(last tag)


@dataclass(frozen=True)
class Passes:
    """Scaled forward and backward probabilities: each ``alpha[b, t]`` and ``beta[b, t]`` sums to 1.

    The exact log forward score ``log alpha_t(i)`` is the log-sum of the scores of every
    prefix ending in tag i at t (its emission included); the log backward score
    ``log beta_t(i)``, that of every suffix after t given tag i at t (the end score
    included); -inf where none is allowed. Past each length both are meaningless.
    """

    alpha: np.ndarray  # (batch, seq, tags)
    alpha_scale: np.ndarray  # (batch, seq): log of what alpha[:, t] was divided by
    beta: np.ndarray  # (batch, seq, tags)
    log_z: np.ndarray  # (batch,)
    local: np.ndarray  # (batch, seq, tags): exp(emissions - their maximum per step)
    moves: np.ndarray  # (from, to): exp(transitions - their maximum)

    def log_alpha(self, rows: np.ndarray, positions: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """Exact ``log alpha_t(i)`` at each ``(row, t, i)`` given by the three index arrays."""
        with np.errstate(divide="ignore"):  # log 0 = -inf: no allowed prefix
            return np.log(self.alpha[rows, positions, tags]) + self.alpha_scale[rows, positions]

    def log_beta(self, rows: np.ndarray, positions: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """Exact ``log beta_t(i)`` at each ``(row, t, i)``. The backward pass keeps no scale of its
        own: ``sum_i alpha_t(i) beta_t(i) = Z`` at every position gives that of the normalised beta."""
        linked = (self.alpha[rows, positions] * self.beta[rows, positions]).sum(axis=-1)
        with np.errstate(divide="ignore"):
            return (np.log(self.beta[rows, positions, tags]) + self.log_z[rows] - self.alpha_scale[rows, positions]
                    - np.log(linked))


def passes(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray,
           end: np.ndarray) -> Passes:
    """The forward and backward passes (arguments as for :func:`forward_backward`).

    Each step is a few whole-batch numpy calls (a step's cost is their call overhead, not
    their arithmetic): the log scales are summed after the forward loop, not in it."""
    emissions = emissions.astype(np.float64)
    batch, seq, num_tags = emissions.shape
    top = transitions.max()
    moves = np.exp(transitions.astype(np.float64) - top)  # (from, to), scaled so no entry exceeds 1
    peaks = emissions.max(axis=2, keepdims=True)  # (batch, seq, 1)
    local = np.exp(emissions - peaks)  # (batch, seq, tags)
    rows = np.arange(batch)
    ends = lengths - 1
    inside = np.arange(seq)[None, :] <= ends[:, None]  # (batch, seq)

    # forward: alpha[t] is P(prefix ending in each tag), normalised per step by norms[t]
    alpha = np.empty((batch, seq, num_tags))
    norms = np.empty((batch, seq, 1))
    step = local[:, 0] * np.exp(start - start.max())
    for t in range(seq):
        if t:
            step = alpha[:, t - 1] @ moves
            step *= local[:, t]
        np.add.reduce(step, axis=1, keepdims=True, out=norms[:, t])
        np.divide(step, norms[:, t], out=alpha[:, t])
    # log alpha_t's scale: the log norms and peaks of the steps so far, frozen past each length
    with np.errstate(divide="ignore"):  # a norm past a length may be 0; it is not counted
        grown = np.where(inside, np.log(norms[:, :, 0]) + peaks[:, :, 0] + top, 0.0)
    grown[:, 0] += float(start.max()) - float(top)
    alpha_scale = np.cumsum(grown, axis=1)
    closing = np.exp(end - end.max()).astype(np.float64)  # float64 steps from the first
    final = alpha[rows, ends] * closing  # (batch, tags)
    log_z = alpha_scale[:, -1] + np.log(final.sum(axis=1)) + end.max()

    # backward: beta[t] is proportional to P(suffix after t | tag at t); each row starts at its own end
    beta = np.empty((batch, seq, num_tags))
    within = inside[:, 1:, None]  # (batch, seq - 1, 1): t < end, so a position after t counts
    for t in range(seq - 1, -1, -1):
        step = np.where(within[:, t], (local[:, t + 1] * beta[:, t + 1]) @ moves.T, closing) if t + 1 < seq \
            else np.broadcast_to(closing, (batch, num_tags))
        np.divide(step, np.add.reduce(step, axis=1, keepdims=True), out=beta[:, t])
    return Passes(alpha, alpha_scale, beta, log_z, local, moves)


def forward_backward(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                     end: np.ndarray) -> Marginals:
    """log Z and marginals of a linear-chain CRF, batched; loops over time steps only.

    emissions ``(batch, seq, tags)``; lengths ``(batch,)`` each >= 1; transitions
    ``(from, to)``; start, end ``(tags,)``. Forbidden moves score -inf or very negative.
    """
    p = passes(emissions, lengths, transitions, start, end)
    alpha, beta, local, moves = p.alpha, p.beta, p.local, p.moves
    seq = alpha.shape[1]
    ends = lengths - 1
    unary = alpha * beta
    unary /= unary.sum(axis=2, keepdims=True)
    unary[np.arange(seq) > ends[:, None]] = 0.0
    # expected move counts: sum over t of P(tag i at t-1, tag j at t), all steps at once
    after = local[:, 1:] * beta[:, 1:]  # (batch, seq - 1, tags)
    norm = ((alpha[:, :-1] @ moves) * after).sum(axis=2, keepdims=True)  # (batch, seq - 1, 1)
    inside = (np.arange(1, seq) <= ends[:, None])[:, :, None]
    counts = np.einsum("bti,btj->bij", alpha[:, :-1], np.where(inside, after / norm, 0.0)) * moves
    return Marginals(p.log_z, unary, counts, unary[:, 0], unary[np.arange(len(ends)), ends])
