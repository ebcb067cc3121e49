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
