"""Smoke test of the speed benchmark's pytorch-crf reference: it trains and tags on a tiny corpus."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

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


def test_lstm_directions_on_two_threads_give_the_gradients_of_one_after_the_other(tmp_path):
    """benchmarks/lstm_directions.py times the same work both ways."""
    from benchmarks.lstm_directions import at_once, in_turn

    torch.manual_seed(0)
    inputs = torch.randn(3, 5, 4)
    grads, threads = [], torch.get_num_threads()
    try:
        for run in (in_turn, at_once):
            torch.manual_seed(1)
            directions = [torch.nn.LSTM(4, 6, batch_first=True) for _ in range(2)]
            run(directions, inputs, 2)
            grads.append([p.grad.clone() for lstm in directions for p in lstm.parameters()])
    finally:
        torch.set_num_threads(threads)  # at_once's threads set one intra-op thread
    assert all(g.abs().sum() > 0 for g in grads[0])
    for ours, theirs in zip(*grads):
        torch.testing.assert_close(ours, theirs)
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "lstm_directions.py"
    result = subprocess.run([sys.executable, str(script), "--repeats", "3", "--steps", "4", "--no-write"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "one direction per thread, 1 intra-op thread each" in result.stdout
    assert "- command: `python" in result.stdout
