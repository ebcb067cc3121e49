"""The public tagging API.

>>> tagger = Tagger.load("model.pt")                       # doctest: +SKIP
>>> tagger.predict("我买了特步鞋")                          # doctest: +SKIP
{'string': '我买了特步鞋', 'entities': [{'word': '特步', 'type': 'SHOE', 'start': 3, 'end': 5}]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, overload

import torch

from brandner.batching import collate, length_batches
from brandner.checkpoint import load_model
from brandner.encoding import Encoder
from brandner.evaluate import Report, score
from brandner.model.network import BiLSTMTagger
from brandner.sentence import Sentence, Span
from brandner.text import split_chunks


class Tagger:
    """A trained model ready to tag raw text; batches and splits long text inside."""

    def __init__(self, model: BiLSTMTagger, encoder: Encoder, batch_size: int = 256) -> None:
        self.model = model.eval()
        self.encoder = encoder
        self.batch_size = batch_size

    @classmethod
    def load(cls, path: str | Path, batch_size: int = 256) -> "Tagger":
        model, encoder = load_model(path)
        return cls(model, encoder, batch_size)

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
        return [Sentence(text, tuple(spans)).to_dict() for text, spans in zip(texts, self.predict_spans(texts))]

    @torch.inference_mode()
    def predict_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        """Entity spans for each text, with offsets into that text."""
        pieces = [(i, start, text[start:end]) for i, text in enumerate(texts)
                  for start, end in split_chunks(text, self.model.config.max_chunk_length)
                  if text[start:end].strip()]
        encoded = [self.encoder.encode_text(piece) for _, _, piece in pieces]
        results: list[list[Span]] = [[] for _ in texts]
        for indices in length_batches([len(e.chars) for e in encoded], self.batch_size):
            batch = collate([encoded[i] for i in indices])
            paths = self.model.decode(batch).tolist()
            for row, i in enumerate(indices):
                text_index, offset, piece = pieces[i]
                results[text_index].extend(Span(s.start + offset, s.end + offset, s.type)
                                           for s in self.encoder.spans(paths[row][:len(piece)]))
        return [sorted(spans) for spans in results]

    def evaluate(self, sentences: Sequence[Sentence]) -> Report:
        """Entity-level scores of this model's predictions against the sentences' spans."""
        predicted = self.predict_spans([s.text for s in sentences])
        return score([s.spans for s in sentences], predicted)
