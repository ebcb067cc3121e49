"""How sure the model is: per-character tag probabilities and the probability of an entity.

Both heads are covered, batched in numpy over sentences:

- CRF (``crf_scores`` = the constrained ``(transitions, start, end)``, -inf for forbidden
  moves): exact posteriors by forward-backward. An entity's probability is that of its
  exact tags at its positions (``B-X I-X … E-X`` or ``S-X``) whatever the rest of the
  sentence: ``alpha_start(first tag) + the path's scores inside + beta_end(last tag) - log Z``.
- softmax head (``crf_scores`` None): characters are independent, so a tag's probability
  is its softmax and an entity's is the product of its tags' probabilities.
"""

from __future__ import annotations

import numpy as np

from brandner.crf.decoding import CRFScores
from brandner.crf.forward_backward import forward_backward, passes


def tag_probabilities(emissions: np.ndarray, lengths: np.ndarray, crf_scores: CRFScores | None) -> np.ndarray:
    """P(tag at t | sentence) ``(batch, seq, tags)`` in float64, 0 past each length.

    emissions ``(batch, seq, tags)``, lengths ``(batch,)`` each >= 1.
    """
    if crf_scores is not None:
        return forward_backward(emissions, lengths, *crf_scores).unary
    probabilities = _log_softmax(emissions)
    np.exp(probabilities, out=probabilities)
    probabilities[np.arange(emissions.shape[1]) >= lengths[:, None]] = 0.0
    return probabilities


def span_log_probabilities(emissions: np.ndarray, lengths: np.ndarray, crf_scores: CRFScores | None,
                           tags: np.ndarray, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """log P(positions ``start..end-1`` of sentence ``row`` carry ``tags[row, start:end]``), one per span.

    emissions ``(batch, seq, tags)``; tags ``(batch, seq)`` tag ids, read only inside the
    spans; rows, starts, ends ``(spans,)`` with ``0 <= start < end <= lengths[row]``.
    Spans of one sentence must not overlap. Returns ``(spans,)`` float64, each <= 0.
    """
    if len(rows) == 0:
        return np.zeros(0)
    if crf_scores is None:
        per_char = np.take_along_axis(_log_softmax(emissions), tags[:, :, None], axis=2)[:, :, 0]
        total = np.concatenate([np.zeros((len(tags), 1)), per_char.cumsum(axis=1)], axis=1)  # (batch, seq + 1)
        return np.minimum(total[rows, ends] - total[rows, starts], 0.0)
    transitions, start, end = crf_scores
    emitted = np.take_along_axis(emissions, tags[:, :, None], axis=2)[:, :, 0].astype(np.float64)  # (batch, seq)
    scaled = passes(emissions, lengths, transitions, start, end)
    step = np.zeros(tags.shape)  # score of moving into t from t - 1 along ``tags``
    step[:, 1:] = transitions[tags[:, :-1], tags[:, 1:]] + emitted[:, 1:]
    # only moves inside a span count; others may be forbidden (-inf) and must not reach the sums
    total = np.where(_interiors(tags.shape, rows, starts, ends), step, 0.0).cumsum(axis=1)
    last = ends - 1
    log_p = (scaled.log_alpha(rows, starts, tags[rows, starts]) + total[rows, last] - total[rows, starts]
             + scaled.log_beta(rows, last, tags[rows, last]) - scaled.log_z[rows])
    return np.minimum(log_p, 0.0)  # rounding may leave a certain span a hair above 0


def entity_probabilities(emissions: np.ndarray, lengths: np.ndarray, crf_scores: CRFScores | None,
                         tags: np.ndarray, found: list[list[tuple[int, int, str]]]) -> list[list[float]]:
    """The probability of each ``(start, end, type)`` span in ``found`` (one list per row of the
    batch), given the tag ids ``tags`` ``(batch, seq)`` that spell each span (a Viterbi path does):
    :func:`span_log_probabilities` for all spans at once, handed back row by row."""
    counts = [len(spans) for spans in found]
    rows = np.repeat(np.arange(len(found)), counts)
    starts = np.array([s for spans in found for s, _, _ in spans], dtype=np.int64)
    ends = np.array([e for spans in found for _, e, _ in spans], dtype=np.int64)
    probabilities = np.exp(span_log_probabilities(emissions, lengths, crf_scores, tags, rows, starts, ends))
    values, bounds = probabilities.tolist(), np.cumsum([0] + counts).tolist()
    return [values[first:last] for first, last in zip(bounds, bounds[1:])]


def _interiors(shape: tuple[int, int], rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``(batch, seq)`` booleans: positions t with ``start < t < end`` for some span of that row."""
    opens = np.zeros((shape[0], shape[1] + 1), dtype=np.int8)
    closes = np.zeros_like(opens)
    opens[rows, starts + 1] = 1  # spans of a row do not overlap, so no index repeats
    closes[rows, ends] = 1
    return (opens - closes).cumsum(axis=1)[:, :shape[1]] > 0


def _log_softmax(emissions: np.ndarray) -> np.ndarray:
    shifted = emissions.astype(np.float64) - emissions.max(axis=2, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
