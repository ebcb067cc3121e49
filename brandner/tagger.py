"""The public tagging API.

>>> tagger = Tagger.load("model.pt")                       # doctest: +SKIP
>>> tagger.predict("我买了特步鞋")                          # doctest: +SKIP
{'string': '我买了特步鞋', 'entities': [{'word': '特步', 'type': 'SHOE', 'start': 3, 'end': 5}]}
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Callable, Mapping, Sequence, overload

import numpy as np

import torch
from torch import nn

from brandner.batching import Batch, collate, length_batches
from brandner.checkpoint import load_model
from brandner.encoding import Encoder
from brandner.evaluate import Report, score
from brandner.lexicon import read_lexicon
from brandner.model.crf import viterbi
from brandner.model.network import BiLSTMTagger
from brandner.sentence import Sentence, Span
from brandner.text import split_chunks


class Tagger:
    """A trained model ready to tag raw text; batches and splits long text inside."""

    def __init__(self, model: BiLSTMTagger, encoder: Encoder, batch_size: int = 256, int8: bool = False) -> None:
        """``int8`` tags with the LSTM and projection quantised to 8-bit integers (dynamic
        quantisation): about 1.4x faster on a CPU, F1 within a few tenths of the float model."""
        self.model = quantized(model) if int8 else model.eval()
        self.config = model.config
        self.encoder = encoder
        self.batch_size = batch_size
        # Tagging is two steps: tag scores from the network, then decoding in numpy with the
        # CRF's constrained scores (None: the softmax head, argmax per character).
        self._emissions: Callable[[Batch], np.ndarray] = lambda batch: self.model.emissions(batch).numpy()
        crf = model.crf  # the float model's, read afresh each time: it may still be training
        self._crf_scores: Callable[[], tuple[np.ndarray, ...] | None] = (
            (lambda: crf._decoding_scores()) if crf is not None else (lambda: None))

    @classmethod
    def load(cls, path: str | Path, batch_size: int = 256, int8: bool = False,
             gazetteers: Mapping[str, str | Path | Sequence[str | Path]] | None = None) -> "Tagger":
        """The model in ``path``; ``gazetteers`` (type -> word list file or files) replace
        the word lists of the model's typed gazetteers of those types, no retraining needed:
        ``Tagger.load("model.pt", gazetteers={"brand": "brands.txt"})``."""
        model, encoder = load_model(path)
        if gazetteers:
            encoder = encoder.with_gazetteers({
                type_: read_lexicon([files] if isinstance(files, (str, Path)) else files, encoder.normalizer)
                for type_, files in gazetteers.items()})
        return cls(model, encoder, batch_size, int8)

    @property
    def types(self) -> list[str]:
        return self.encoder.types

    @overload
    def predict(self, texts: str) -> dict: ...
    @overload
    def predict(self, texts: Sequence[str]) -> list[dict]: ...

    def predict(self, texts: str | Sequence[str]) -> dict | list[dict]:
        """Result dicts ``{"string", "entities": [{"word", "type", "start", "end"}]}``.

        One text gives one dict, a list of texts a list in the same order.
        """
        if isinstance(texts, str):
            return self.predict([texts])[0]
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("predict takes a string or a sequence of strings")
        return [{"string": text, "entities": [{"word": text[start:end], "type": type_, "start": start, "end": end}
                                              for start, end, type_ in spans]}
                for text, spans in zip(texts, self._tag(texts))]

    def predict_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        """Entity spans for each text, with offsets into that text."""
        return [[Span(*span) for span in spans] for spans in self._tag(texts)]

    @torch.inference_mode()
    def _tag(self, texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
        """``(start, end, type)`` for each text, sorted; long texts are tagged in chunks."""
        pieces = [(i, start, end) for i, text in enumerate(texts)
                  for start, end in split_chunks(text, self.config.max_chunk_length)
                  if not text[start:end].isspace() and end > start]
        encoded = [self.encoder.encode_text(texts[i][start:end]) for i, start, end in pieces]
        results: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        crf_scores = self._crf_scores()
        for indices in length_batches([len(e.chars) for e in encoded], self.batch_size):
            batch = collate([encoded[i] for i in indices])
            paths = decode(self._emissions(batch), batch.lengths.numpy(), crf_scores)
            for row, i in enumerate(indices):
                text_index, offset, end = pieces[i]
                ids = paths[row, :end - offset]
                spans = (self.encoder.valid_spans(ids) if crf_scores is not None  # Viterbi paths are valid
                         else [(s.start, s.end, s.type) for s in self.encoder.spans(ids.tolist())])
                results[text_index].extend((s + offset, e + offset, t) for s, e, t in spans)
        for spans in results:
            spans.sort()
        return results

    def evaluate(self, sentences: Sequence[Sentence]) -> Report:
        """Entity-level scores of this model's predictions against the sentences' spans."""
        predicted = self.predict_spans([s.text for s in sentences])
        return score([s.spans for s in sentences], predicted)


def decode(emissions: np.ndarray, lengths: np.ndarray, crf_scores: tuple[np.ndarray, ...] | None) -> np.ndarray:
    """Best tag ids ``(batch, seq)`` for tag scores ``(batch, seq, tags)``, 0 past each length:
    Viterbi with the CRF's constrained ``(transitions, start, end)``, or argmax without a CRF."""
    if crf_scores is None:
        paths = emissions.argmax(axis=2)
        paths[np.arange(emissions.shape[1]) >= lengths[:, None]] = 0
        return paths
    return viterbi(emissions, lengths, *crf_scores)[0]


def quantized(model: BiLSTMTagger) -> BiLSTMTagger:
    """A copy of ``model`` for CPU inference with int8 weights in its LSTM and Linear layers."""
    with warnings.catch_warnings():  # torch marks its eager-mode quantisation API as deprecated
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), {nn.LSTM, nn.Linear},
                                                      dtype=torch.qint8)
