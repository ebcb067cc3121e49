"""Text to ids and tag ids back to spans: the model's input and output contract.

An Encoder holds what a model file must carry besides weights: the normaliser
settings, the character vocabulary and the tag list (IOBES inside, whatever the
scheme of the training files).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

from brandner.batching import Encoded
from brandner.config import ModelConfig
from brandner.features import segment_ids
from brandner.schemes import IOBES, Scheme, get_scheme, spans_from_roles
from brandner.sentence import Sentence, Span
from brandner.text import Normalizer
from brandner.vocab import Vocab


@dataclass
class Encoder:
    normalizer: Normalizer
    chars: Vocab
    tags: list[str]
    scheme: Scheme = IOBES
    segmenter: str = "jieba"

    def __post_init__(self) -> None:
        self.tag_index = {tag: i for i, tag in enumerate(self.tags)}
        self._roles = [self.scheme.parse(tag) for tag in self.tags]
        self._opens = np.array([role in ("begin", "single") for role, _ in self._roles])
        self._closes = np.array([role in ("end", "single") for role, _ in self._roles])
        self._type_names = [type_ for _, type_ in self._roles]

    @classmethod
    def build(cls, sentences: Sequence[Sentence], model: ModelConfig, min_count: int = 1,
              extra_chars: Iterable[str] = ()) -> "Encoder":
        """Vocabulary from the training sentences (plus ``extra_chars``, e.g. from vectors);
        normalisation and segmenter as ``model`` says."""
        normalizer = Normalizer(model.fullwidth, model.lowercase, model.zero_digits)
        texts = [normalizer(s.text) for s in sentences]
        extra = [normalizer(c) for c in extra_chars if len(c) == 1]
        types = {span.type for s in sentences for span in s.spans}
        return cls(normalizer, Vocab.build(texts, min_count, extra), IOBES.tags_for(types), IOBES,
                   model.segmenter)

    @property
    def types(self) -> list[str]:
        return sorted({t for _, t in self._roles if t is not None})

    def encode_text(self, text: str) -> Encoded:
        normal = self.normalizer(text)
        return Encoded(self.chars.encode(normal), np.asarray(segment_ids(normal, self.segmenter), dtype=np.int64))

    def encode_sentence(self, sentence: Sentence) -> Encoded:
        """Ids with gold tags; entity types the model does not know become O."""
        encoded = self.encode_text(sentence.text)
        known = [s for s in sentence.spans if s.type in self.types]
        tags = self.scheme.to_tags(known, len(sentence.text))
        return Encoded(encoded.chars, encoded.segments, np.asarray([self.tag_index[t] for t in tags], dtype=np.int64))

    def spans(self, tag_ids: Sequence[int]) -> list[Span]:
        """Entity spans of one sentence's tag ids (lenient: invalid sequences are repaired)."""
        roles = self._roles
        return spans_from_roles([roles[i] for i in tag_ids])[0]

    def valid_spans(self, tag_ids: np.ndarray) -> list[tuple[int, int, str]]:
        """``(start, end, type)`` of a tag sequence the scheme allows (as constrained
        Viterbi gives): each entity opens with B/S and closes with E/S, so the spans
        pair the opening and closing positions in order, with no per-character loop."""
        starts = np.flatnonzero(self._opens[tag_ids]).tolist()
        ends = np.flatnonzero(self._closes[tag_ids]).tolist()
        assert len(starts) == len(ends), "valid_spans needs a sequence the scheme allows"
        names = self._type_names
        return [(s, e + 1, names[tag_ids[s]]) for s, e in zip(starts, ends)]

    def allowed(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Transitions the scheme permits between this encoder's tags, for the CRF."""
        transitions, start, end = self.scheme.allowed(self.tags)
        return torch.tensor(transitions), torch.tensor(start), torch.tensor(end)

    def to_dict(self) -> dict:
        n = self.normalizer
        return {"normalizer": {"fullwidth": n.fullwidth, "lowercase": n.lowercase, "zero_digits": n.zero_digits},
                "chars": list(self.chars.tokens), "tags": list(self.tags), "scheme": self.scheme.name,
                "segmenter": self.segmenter}

    @classmethod
    def from_dict(cls, data: dict) -> "Encoder":
        return cls(Normalizer(**data["normalizer"]), Vocab(data["chars"]), list(data["tags"]),
                   get_scheme(data["scheme"]), data.get("segmenter", "jieba"))
