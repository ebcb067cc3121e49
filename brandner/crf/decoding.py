"""Decoding tag scores in numpy: Viterbi, k-best Viterbi, or argmax for a softmax head.

No torch here: a Tagger running an ONNX graph decodes with these and never loads
PyTorch (about 2 s of start-up per process).
"""

from __future__ import annotations

import numpy as np

CRFScores = tuple[np.ndarray, np.ndarray, np.ndarray]  # constrained transitions (from, to), start, end


def decode(emissions: np.ndarray, lengths: np.ndarray, crf_scores: CRFScores | None) -> np.ndarray:
    """Best tag ids ``(batch, seq)`` for tag scores ``(batch, seq, tags)``, 0 past each length:
    Viterbi with the CRF's constrained ``(transitions, start, end)``, or argmax without a CRF."""
    if crf_scores is None:
        paths = emissions.argmax(axis=2)
        paths[np.arange(emissions.shape[1]) >= lengths[:, None]] = 0
        return paths
    return viterbi(emissions, lengths, *crf_scores)[0]


def viterbi(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched Viterbi over numpy arrays, looping over time steps only.

    emissions ``(batch, seq, tags)``, lengths ``(batch,)`` (each at least 1),
    transitions ``(from, to)``, start and end ``(tags,)``; -inf marks forbidden moves.
    Returns the best paths ``(batch, seq)`` (0 past each length) and their scores ``(batch,)``.
    """
    batch, seq, num_tags = emissions.shape
    score = start + emissions[:, 0]  # (batch, tags)
    history = np.empty((max(seq - 1, 0), batch, num_tags), dtype=np.intp)
    stay = np.arange(num_tags)
    # (to, from): the max and argmax then run over contiguous memory, and the max is read
    # at the argmax rather than computed again; a third faster than reducing over "from"
    # in (batch, from, to)
    moves = np.ascontiguousarray(transitions.T)
    shortest = int(lengths.min())
    for t in range(1, seq):
        candidates = score[:, None, :] + moves  # (batch, to, from)
        previous = candidates.argmax(axis=2)  # (batch, to)
        best = np.take_along_axis(candidates, previous[:, :, None], axis=2)[:, :, 0] + emissions[:, t]
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
