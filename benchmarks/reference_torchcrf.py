"""The reference for the speed benchmark: a BiLSTM-CRF as a user would write it with pytorch-crf.

Same network as brandner's default (character embedding 100 + jieba segmentation
embedding 20, dropout 0.5, BiLSTM 100 per direction over packed sequences, a linear
projection, a CRF over IOBES tags), same training (Adam lr 1e-3, gradient norm
clipped at 5, batches of 20 sentences of similar length), but with the CRF of the
``pytorch-crf`` package and its own small vocabulary and batching code. Only the
corpus readers, the tag scheme tables and the jieba features come from brandner.

>>> ner = ReferenceNER.from_sentences(train)                    # doctest: +SKIP
>>> batches = ner.training_batches(train)                       # doctest: +SKIP
>>> ner.train_epoch(batches, random.Random(1))                  # doctest: +SKIP
>>> ner.predict(["我买了特步鞋"])                                # doctest: +SKIP
[{'string': '我买了特步鞋', 'entities': [{'word': '特步', 'type': 'SHOE', 'start': 3, 'end': 5}]}]
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import NamedTuple, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torchcrf import CRF

from brandner.data.features import NUM_SEGMENT_IDS, segment_ids
from brandner.data.schemes import IOBES, spans_from_tags
from brandner.data.sentence import Sentence, Span

PAD_ID, UNK_ID = 0, 1


class Item(NamedTuple):
    """One sentence as ids; ``tags`` is None when tagging."""

    chars: list[int]
    segments: list[int]
    tags: list[int] | None = None


class Batch(NamedTuple):
    """Padded tensors of sentences sorted longest first (as packing with ``enforce_sorted`` wants)."""

    chars: torch.Tensor  # (batch, seq) long
    segments: torch.Tensor  # (batch, seq) long
    lengths: torch.Tensor  # (batch,) long
    mask: torch.Tensor  # (batch, seq) bool
    tags: torch.Tensor | None  # (batch, seq) long


class BiLSTMCRF(nn.Module):
    def __init__(self, num_chars: int, num_tags: int, char_dim: int = 100, seg_dim: int = 20,
                 hidden_size: int = 100, dropout: float = 0.5) -> None:
        super().__init__()
        self.char_embedding = nn.Embedding(num_chars, char_dim, padding_idx=PAD_ID)
        self.segment_embedding = nn.Embedding(NUM_SEGMENT_IDS, seg_dim)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(char_dim + seg_dim, hidden_size, batch_first=True, bidirectional=True)
        self.projection = nn.Linear(2 * hidden_size, num_tags)
        self.crf = CRF(num_tags, batch_first=True)

    def emissions(self, batch: Batch) -> torch.Tensor:
        embedded = torch.cat([self.char_embedding(batch.chars), self.segment_embedding(batch.segments)], dim=-1)
        packed = pack_padded_sequence(self.dropout(embedded), batch.lengths, batch_first=True)
        hidden, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=batch.chars.size(1))
        return self.projection(hidden)  # (batch, seq, tags)

    def forward(self, batch: Batch) -> torch.Tensor:
        """Mean negative log-likelihood per sentence."""
        return -self.crf(self.emissions(batch), batch.tags, batch.mask, reduction="mean")

    @torch.no_grad()
    def decode(self, batch: Batch) -> list[list[int]]:
        return self.crf.decode(self.emissions(batch), batch.mask)


class ReferenceNER:
    """Vocabulary, tags, network and optimiser of the reference tagger."""

    def __init__(self, chars: dict[str, int], tags: list[str], seed: int = 1) -> None:
        torch.manual_seed(seed)
        self.chars = chars
        self.tags = tags
        self.tag_index = {tag: i for i, tag in enumerate(tags)}
        self.model = BiLSTMCRF(len(chars), len(tags))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)

    @classmethod
    def from_sentences(cls, sentences: Sequence[Sentence], seed: int = 1) -> "ReferenceNER":
        chars = {"<PAD>": PAD_ID, "<UNK>": UNK_ID}
        for sentence in sentences:
            for char in sentence.text:
                chars.setdefault(char, len(chars))
        types = {span.type for sentence in sentences for span in sentence.spans}
        return cls(chars, IOBES.tags_for(types), seed)

    # ------------------------------------------------------------------ ids and tensors

    def encode(self, text: str, spans: Sequence[Span] | None = None) -> Item:
        chars = [self.chars.get(char, UNK_ID) for char in text]
        tags = None if spans is None else [self.tag_index[t] for t in IOBES.to_tags(spans, len(text))]
        return Item(chars, segment_ids(text), tags)

    def batches(self, items: Sequence[Item], batch_size: int) -> list[tuple[list[int], Batch]]:
        """Items grouped longest first into padded batches, with the item indices of each."""
        order = sorted(range(len(items)), key=lambda i: -len(items[i].chars))
        groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        return [(group, pad([items[i] for i in group])) for group in groups]

    def training_batches(self, sentences: Sequence[Sentence], batch_size: int = 20) -> list[Batch]:
        """Tensors built once; each epoch only shuffles their order."""
        items = [self.encode(s.text, s.spans) for s in sentences if s.text]
        return [batch for _, batch in self.batches(items, batch_size)]

    # ------------------------------------------------------------------ training and tagging

    def train_epoch(self, batches: list[Batch], rng: random.Random) -> float:
        """One pass over the batches in a shuffled order; returns the mean batch loss."""
        self.model.train()
        order = list(range(len(batches)))
        rng.shuffle(order)
        total = 0.0
        for i in order:
            loss = self.model(batches[i])
            self.optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
            self.optimizer.step()
            total += loss.item()
        return total / max(len(batches), 1)

    def decode_batches(self, batches: Sequence[tuple[list[int], Batch]]) -> list[list[int]]:
        """Best tag ids of every item, in item order."""
        self.model.eval()
        paths: list[list[int]] = [[] for _ in range(sum(len(group) for group, _ in batches))]
        for group, batch in batches:
            for i, path in zip(group, self.model.decode(batch)):
                paths[i] = path
        return paths

    def predict_spans(self, texts: Sequence[str], batch_size: int = 256) -> list[list[Span]]:
        """Entity spans of each text (empty texts have none)."""
        nonempty = [i for i, text in enumerate(texts) if text]
        items = [self.encode(texts[i]) for i in nonempty]
        spans: list[list[Span]] = [[] for _ in texts]
        for i, path in zip(nonempty, self.decode_batches(self.batches(items, batch_size))):
            spans[i] = spans_from_tags([self.tags[t] for t in path], IOBES)[0]
        return spans

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> list[dict]:
        """Result dicts ``{"string", "entities": [{"word", "type", "start", "end"}]}``, one per text."""
        return [{"string": text, "entities": [{"word": text[s.start:s.end], "type": s.type,
                                               "start": s.start, "end": s.end} for s in spans]}
                for text, spans in zip(texts, self.predict_spans(texts, batch_size))]

    def save(self, path: str | Path) -> None:
        torch.save({"state_dict": self.model.state_dict(), "chars": list(self.chars), "tags": self.tags}, path)


def pad(items: Sequence[Item]) -> Batch:
    """Padded tensors of items already sorted longest first."""
    lengths = torch.tensor([len(item.chars) for item in items])
    mask = torch.arange(int(lengths[0])) < lengths.unsqueeze(1)  # (batch, seq)

    def padded(rows: list[list[int]]) -> torch.Tensor:
        out = torch.zeros(mask.shape, dtype=torch.long)
        out[mask] = torch.tensor([x for row in rows for x in row], dtype=torch.long)
        return out

    tags = padded([item.tags for item in items]) if items[0].tags is not None else None
    return Batch(padded([item.chars for item in items]), padded([item.segments for item in items]),
                 lengths, mask, tags)
