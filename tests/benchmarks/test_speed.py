"""Smoke test of the speed benchmark's pytorch-crf reference: it trains and tags on a tiny corpus."""

from __future__ import annotations

import random

import pytest
import torch

from tests.conftest import synthetic_sentences

pytest.importorskip("torchcrf", reason="the speed benchmark's reference needs pytorch-crf (pip install '.[bench]')")

from benchmarks.reference_torchcrf import ReferenceNER  # noqa: E402


def test_reference_trains_and_tags_with_valid_offsets():
    sentences = synthetic_sentences(30)
    ner = ReferenceNER.from_sentences(sentences)
    loss = ner.train_epoch(ner.training_batches(sentences, batch_size=8), random.Random(0))
    assert loss > 0
    # One tiny epoch finds nothing reliably; make every character a one-character
    # entity so that the offsets of many entities get checked.
    with torch.no_grad():
        ner.model.projection.bias[ner.tag_index["S-SHOE"]] = 100.0
    texts = [s.text for s in synthetic_sentences(5, seed=1)] + ["", "没有品牌的句子"]
    results = ner.predict(texts, batch_size=4)
    assert [r["string"] for r in results] == texts
    for result in results:
        assert len(result["entities"]) == len(result["string"])
        for entity in result["entities"]:
            assert set(entity) == {"word", "type", "start", "end"}
            assert entity["end"] == entity["start"] + 1 and entity["type"] == "SHOE"
            assert result["string"][entity["start"]:entity["end"]] == entity["word"]


def test_training_floor_times_the_lstm_products_of_each_batch():
    """The floor runs on any lengths and batch size; more work takes longer."""
    from benchmarks.speed import lstm_products_seconds

    small = min(lstm_products_seconds([3, 5, 2], 2, input_size=8, hidden=4) for _ in range(3))
    large = min(lstm_products_seconds([300] * 40, 20, input_size=120, hidden=100) for _ in range(3))
    assert 0 < small < large


def test_measure_training_takes_turns_and_gives_each_round_s_ratio():
    from benchmarks.speed import Memory, measure_training

    class Fake:
        def __init__(self, name, seconds):
            self.name, self.seconds, self.calls = name, iter(seconds), []

        def train(self, epochs):
            self.calls.append(epochs)
            return next(self.seconds)

    ours, theirs = Fake("brandner", [9.0, 1.0, 2.0]), Fake("reference", [9.0, 3.0, 8.0])  # warm-up first
    rows = {"brandner": {}, "reference": {}}
    ratios = measure_training([ours, theirs], 100, 2, Memory(), rows)
    assert ratios == [3.0, 4.0] and ours.calls == theirs.calls == [1, 1, 1]
    assert rows["brandner"]["train"] == pytest.approx(200 / 3) and rows["reference"]["train"] == pytest.approx(200 / 11)
