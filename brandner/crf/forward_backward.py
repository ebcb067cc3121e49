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

    A step's cost is the overhead of its numpy calls, not their arithmetic, so both passes
    run in one loop of four calls a step. The backward pass is run forwards, over each
    sentence reversed within its length, on ``gamma_t = local_t * beta_t``:
    ``gamma_t = local_t * (gamma_{t+1} @ moves.T)`` has the shape of the forward
    recursion ``alpha_t = local_t * (alpha_{t-1} @ moves)``, so the two are one matrix
    product a step; ``beta_t`` is then ``gamma_{t+1} @ moves.T`` for all t at once."""
    emissions = emissions.astype(np.float64)
    batch, seq, num_tags = emissions.shape
    top = transitions.max()
    moves = np.exp(transitions.astype(np.float64) - top)  # (from, to), scaled so no entry exceeds 1
    peaks = emissions.max(axis=2, keepdims=True)  # (batch, seq, 1)
    local = np.exp(emissions - peaks)  # (batch, seq, tags)
    rows = np.arange(batch)
    ends = lengths - 1
    positions = np.arange(seq)[None, :]
    inside = positions <= ends[:, None]  # (batch, seq)
    reverse = np.where(inside, ends[:, None] - positions, positions)[:, :, None]  # (batch, seq, 1), an involution
    closing = np.exp(end - end.max()).astype(np.float64)  # float64 steps from the first

    # chains[t] = [alpha_t | gamma at the t-th position from each sentence's end]: the two
    # recursions side by side, one (batch, 2 tags) @ block-diagonal (2 tags, 2 tags) product a step
    locals_ = np.concatenate([local, np.take_along_axis(local, reverse, axis=1)], axis=2).transpose(1, 0, 2)
    chains = np.empty((seq, batch, 2, num_tags))
    norms = np.empty((seq, batch, 2, 1))
    both = np.zeros((2 * num_tags, 2 * num_tags))
    both[:num_tags, :num_tags], both[num_tags:, num_tags:] = moves, moves.T
    step = locals_[0] * np.concatenate([np.exp(start - start.max()), closing])
    for t in range(seq):
        if t:
            step = chains[t - 1].reshape(batch, 2 * num_tags).dot(both)  # ndarray.dot: a third of @'s overhead
            step *= locals_[t]
        step = step.reshape(batch, 2, num_tags)
        np.add.reduce(step, axis=2, keepdims=True, out=norms[t])
        np.divide(step, norms[t], out=chains[t])
    alpha = chains[:, :, 0].transpose(1, 0, 2)  # (batch, seq, tags), each step normalised
    gamma = np.take_along_axis(chains[:, :, 1].transpose(1, 0, 2), reverse, axis=1)  # back in reading order

    # log alpha_t's scale: the log norms and peaks of the steps so far, frozen past each length
    with np.errstate(divide="ignore"):  # a norm past a length may be 0; it is not counted
        grown = np.where(inside, np.log(norms[:, :, 0, 0].T) + peaks[:, :, 0] + top, 0.0)
    grown[:, 0] += float(start.max()) - float(top)
    alpha_scale = np.cumsum(grown, axis=1)
    final = alpha[rows, ends] * closing  # (batch, tags)
    log_z = alpha_scale[:, -1] + np.log(final.sum(axis=1)) + end.max()

    # beta[t] is proportional to P(suffix after t | tag at t): closing at each sentence's end
    beta = np.empty((batch, seq, num_tags))
    beta[:, :-1] = gamma[:, 1:] @ moves.T  # the last position, never before an end, takes closing below
    beta = np.where(positions[:, :, None] < ends[:, None, None], beta, closing)
    beta /= beta.sum(axis=2, keepdims=True)
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
    # alpha_{t-1}^T @ after_t summed over t, as one batched matmul (np.einsum took 20x as long)
    counts = (alpha[:, :-1].transpose(0, 2, 1) @ np.where(inside, after / norm, 0.0)) * moves
    return Marginals(p.log_z, unary, counts, unary[:, 0], unary[np.arange(len(ends)), ends])
