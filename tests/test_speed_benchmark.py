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
