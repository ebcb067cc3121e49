"""Where a Tagger's scores come from: the score-backend protocol, and the ensemble's mean of several.

Tagging is two steps: tag scores from a network, then decoding in numpy
(brandner.crf) with the CRF's constrained scores. A backend gives both; the Tagger
does everything else (chunking, encoding, batching, decoding, spans, confidences).
Implementations: :class:`brandner.tagging.torch_backend.TorchBackend` (a PyTorch
network), :class:`brandner.tagging.onnx_backend.OnnxBackend` (an ONNX graph in
onnxruntime, no torch) and :class:`MeanBackend` (an ensemble).
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from brandner.crf.decoding import CRFScores
from brandner.data.batching import Arrays
from brandner.data.joint import RULED_OUT


class ScoreBackend(Protocol):
    """What a Tagger needs of a model."""

    def tag_scores(self, arrays: Arrays) -> np.ndarray:
        """Tag scores ``(batch, seq, tags)`` (float) of a padded batch, as
        brandner.data.batching.pad makes it; scores past a sentence's length are not read."""

    def crf_scores(self) -> CRFScores | None:
        """The CRF's constrained ``(transitions, start, end)`` (-inf for forbidden moves), read
        afresh at each call; None for a softmax head (argmax per character)."""


class MeanBackend:
    """The mean of several backends' tag scores and CRF scores: the CRF whose score of a tag
    sequence is the mean of the members' scores (a product of experts). Members share one
    encoder and one kind of head (all CRF or all softmax); the Tagger checks both."""

    def __init__(self, members: Sequence[ScoreBackend]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = list(members)

    def tag_scores(self, arrays: Arrays) -> np.ndarray:
        return np.mean([member.tag_scores(arrays) for member in self.members], axis=0)

    def crf_scores(self) -> CRFScores | None:
        scores = [member.crf_scores() for member in self.members]
        if scores[0] is None:
            return None
        return tuple(np.mean(parts, axis=0) for parts in zip(*scores))


class MaskedBackend:
    """Another backend's scores with some tags ruled out: their tag scores far below any other's
    (the loss of a joint training rules out another corpus's tags alike, brandner.data.joint), so
    decoding, marginals and confidences are those of the remaining tags alone."""

    def __init__(self, inner: ScoreBackend, keep: np.ndarray) -> None:
        self.inner = inner
        self.keep = np.asarray(keep, dtype=bool)  # (tags,)

    def tag_scores(self, arrays: Arrays) -> np.ndarray:
        scores = np.array(self.inner.tag_scores(arrays), copy=True)
        scores[..., ~self.keep] = RULED_OUT
        return scores

    def crf_scores(self) -> CRFScores | None:
        return self.inner.crf_scores()
