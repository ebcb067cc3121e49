"""The CRF's training loss and its gradient in one compiled loop (numba), when numba is installed.

:func:`brandner.crf.forward_backward.forward_backward` does the same work in numpy,
a few calls a time step; at the default batch of 20 sentences those calls' overhead,
not their arithmetic, is most of a training step's CRF time (about 1.3 of 14 ms at
one thread on the ecommerce corpus). Here each sentence is one loop over its own
length, with the same scaled probabilities in float64, so there is no padding to skip
and no call to pay per step. The numpy version stays as the fallback (no numba, or a
platform numba does not compile for) and as the oracle the tests hold this one to.

``nll_and_gradients`` is compiled on first use and cached on disk (numba's ``cache``),
so a later process loads it in a fraction of a second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class SentenceGradients:
    """Per sentence, the gradients of its negative log-likelihood: the model's marginals
    minus the given path's indicators. A caller weights them by the loss's gradient."""

    nll: np.ndarray  # (batch,) float64
    unary: np.ndarray  # (batch, seq, tags), the emissions' dtype: for the emissions; 0 past each length
    moves: np.ndarray  # (batch, tags, tags) float64: for the transitions (from, to)
    first: np.ndarray  # (batch, tags) float64: for the start scores
    last: np.ndarray  # (batch, tags) float64: for the end scores


@cache
def compiled_nll():
    """The compiled kernel, or None where numba cannot be imported (said once, in the log)."""
    try:
        import numba
    except ImportError:
        logging.getLogger(__name__).warning("numba is not installed: the CRF loss runs in numpy, "
                                            "which made training 5-7% slower (pip install numba)")
        return None
    try:
        return numba.njit(cache=True, nogil=True)(_nll_and_gradients)
    except RuntimeError:  # nowhere to write the cache (a read-only install and home): compile in each process
        return numba.njit(nogil=True)(_nll_and_gradients)


def nll_and_gradients(emissions: np.ndarray, lengths: np.ndarray, tags: np.ndarray, transitions: np.ndarray,
                      start: np.ndarray, end: np.ndarray) -> SentenceGradients | None:
    """Each sentence's ``log Z - score(tags)`` and its gradients, or None without numba.

    emissions ``(batch, seq, tags)`` float32 or float64; lengths ``(batch,)`` each >= 1; tags
    ``(batch, seq)`` int64, the given path within each length; transitions ``(from, to)``,
    start and end ``(tags,)`` float32, forbidden moves very negative (see brandner.crf.layer).
    """
    kernel = compiled_nll()
    if kernel is None:
        return None
    arrays = (np.ascontiguousarray(emissions), np.ascontiguousarray(lengths, dtype=np.int64),
              np.ascontiguousarray(tags, dtype=np.int64), np.ascontiguousarray(transitions, dtype=np.float64),
              np.ascontiguousarray(start, dtype=np.float64), np.ascontiguousarray(end, dtype=np.float64))
    return SentenceGradients(*kernel(*arrays))


def _nll_and_gradients(emissions, lengths, tags, transitions, start, end):  # noqa: C901 - one compiled loop
    """The kernel (plain Python that numba compiles; also runs, slowly, uncompiled).

    For each sentence: the forward pass ``alpha_t = (alpha_{t-1} @ moves) * local_t`` and
    the backward pass ``beta_t = moves @ (local_{t+1} * beta_{t+1})``, each step divided by
    its sum, with ``moves = exp(transitions - max)`` and ``local_t = exp(emissions_t - max_t)``;
    log Z adds up the logs of the divisors and the maxima. The marginals are then
    ``P(tag j at t) ~ alpha_t(j) beta_t(j)`` and ``P(i at t-1, j at t) ~ alpha_{t-1}(i)
    moves(i, j) local_t(j) beta_t(j)``, each normalised per position."""
    batch, seq, num_tags = emissions.shape
    top, opening, closing = transitions.max(), start.max(), end.max()
    moves = np.exp(transitions - top)
    first_scores = np.exp(start - opening)
    last_scores = np.exp(end - closing)
    nll = np.zeros(batch)
    unary = np.zeros((batch, seq, num_tags), dtype=emissions.dtype)
    counts = np.zeros((batch, num_tags, num_tags))
    first = np.zeros((batch, num_tags))
    last = np.zeros((batch, num_tags))
    local = np.empty((seq, num_tags))
    alpha = np.empty((seq, num_tags))
    beta = np.empty((seq, num_tags))
    ahead = np.empty(num_tags)
    for b in range(batch):
        n = lengths[b]
        log_z = opening + closing + (n - 1) * top
        for t in range(n):
            peak = emissions[b, t, 0]
            for j in range(1, num_tags):
                peak = max(peak, emissions[b, t, j])
            for j in range(num_tags):
                local[t, j] = np.exp(emissions[b, t, j] - peak)
            log_z += peak

        total = 0.0
        for j in range(num_tags):
            alpha[0, j] = first_scores[j] * local[0, j]
            total += alpha[0, j]
        for j in range(num_tags):
            alpha[0, j] /= total
        log_z += np.log(total)
        for t in range(1, n):  # alpha_{t-1} @ moves row by row: moves is read in memory order
            for j in range(num_tags):
                alpha[t, j] = 0.0
            for i in range(num_tags):
                weight = alpha[t - 1, i]
                for j in range(num_tags):
                    alpha[t, j] += weight * moves[i, j]
            total = 0.0
            for j in range(num_tags):
                alpha[t, j] *= local[t, j]
                total += alpha[t, j]
            for j in range(num_tags):
                alpha[t, j] /= total
            log_z += np.log(total)
        total = 0.0
        for j in range(num_tags):
            total += alpha[n - 1, j] * last_scores[j]
        log_z += np.log(total)

        total = 0.0
        for i in range(num_tags):
            beta[n - 1, i] = last_scores[i]
            total += last_scores[i]
        for i in range(num_tags):
            beta[n - 1, i] /= total
        for t in range(n - 1, 0, -1):  # beta_{t-1}; ahead[j] = local_t(j) beta_t(j)
            for j in range(num_tags):
                ahead[j] = local[t, j] * beta[t, j]
            total = 0.0
            linked = 0.0  # sum_i alpha_{t-1}(i) moves(i, j) ahead(j) over i and j: the pairs' norm
            for i in range(num_tags):
                acc = 0.0
                for j in range(num_tags):
                    acc += moves[i, j] * ahead[j]
                beta[t - 1, i] = acc
                total += acc
                linked += alpha[t - 1, i] * acc
            for i in range(num_tags):
                weight = alpha[t - 1, i] / linked
                for j in range(num_tags):
                    counts[b, i, j] += weight * moves[i, j] * ahead[j]
            for i in range(num_tags):
                beta[t - 1, i] /= total

        for t in range(n):
            total = 0.0
            for j in range(num_tags):
                total += alpha[t, j] * beta[t, j]
            for j in range(num_tags):
                marginal = alpha[t, j] * beta[t, j] / total
                unary[b, t, j] = marginal
                if t == 0:
                    first[b, j] = marginal
                if t == n - 1:
                    last[b, j] = marginal

        # the given path: its score, and its indicators taken off the marginals
        score = start[tags[b, 0]] + end[tags[b, n - 1]]
        for t in range(n):
            score += emissions[b, t, tags[b, t]]
            unary[b, t, tags[b, t]] -= 1.0
            if t:
                score += transitions[tags[b, t - 1], tags[b, t]]
                counts[b, tags[b, t - 1], tags[b, t]] -= 1.0
        first[b, tags[b, 0]] -= 1.0
        last[b, tags[b, n - 1]] -= 1.0
        nll[b] = log_z - score
    return nll, unary, counts, first, last
