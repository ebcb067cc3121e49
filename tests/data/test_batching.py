"""Length buckets, padding and masks; singleton characters read as <UNK> in training."""

from __future__ import annotations

import random

import numpy as np
import torch

from brandner.data.batching import Encoded, collate, length_batches
from brandner.data.vocab import UNK_ID, Vocab
from brandner.training.steps import with_unknowns


def test_batches_cover_everything_once_with_similar_lengths():
    lengths = [random.Random(0).randint(1, 50) for _ in range(103)]
    batches = length_batches(lengths, 10, random.Random(1))
    assert sorted(i for b in batches for i in b) == list(range(103))
    assert all(len(b) <= 10 for b in batches)
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    assert max(spread) <= 10
    assert length_batches(lengths, 10) == length_batches(lengths, 10)  # no rng: deterministic
    assert length_batches(lengths, 10, random.Random(1)) != length_batches(lengths, 10, random.Random(2))


def test_collate_pads_after_each_sentence():
    items = [Encoded(np.array([5, 6, 7]), np.array([1, 2, 3]), np.array([1, 2, 3])),
             Encoded(np.array([8]), np.array([0]), np.array([4]))]
    batch = collate(items)
    assert batch.chars.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch.segments.tolist() == [[1, 2, 3], [0, 0, 0]]
    assert batch.tags.tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch.mask.tolist() == [[True, True, True], [True, False, False]]
    assert batch.lengths.tolist() == [3, 1]
    assert collate([Encoded(np.array([1]), np.array([0]))]).tags is None


def test_only_singletons_are_replaced_by_unk():
    torch.manual_seed(0)
    items = [Encoded(np.array([2, 3, 4] * 20), np.zeros(60, dtype=np.int64))]
    singletons = torch.tensor([False, False, False, True, False])
    chars = with_unknowns(collate(items), singletons, 0.5).chars[0]
    replaced = chars.eq(UNK_ID)
    assert replaced.any() and not (replaced & ~torch.tensor([False, True, False] * 20)).any()
    assert 5 < int(replaced.sum()) < 16


def test_vocab_maps_unknown_characters_to_unk():
    vocab = Vocab.build(["特步特", "步鞋"], extra=["耐"])
    assert vocab.tokens[:2] == ["<PAD>", "<UNK>"]
    assert vocab.tokens[2:4] == ["步", "特"]  # most frequent first, ties by character
    assert vocab.encode("特X耐").tolist() == [vocab.index["特"], UNK_ID, vocab.index["耐"]]
