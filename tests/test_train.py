"""The training loop's learning-rate schedule."""

from __future__ import annotations

import random

import pytest
import torch

from brandner.checkpoint import network_for
from brandner.config import TrainConfig, load_config
from brandner.encoding import Encoder
from brandner.errors import BrandnerError
from brandner.evaluate import score
from brandner.fit import adam
from brandner.train import StepEvent, TrainState, epoch_lr, train_loop
from tests.conftest import synthetic_sentences


def test_epoch_lr_divides_by_one_plus_decay_per_past_epoch():
    assert [epoch_lr(TrainConfig(lr=0.1, lr_decay=0.5), e) for e in (1, 2, 3, 5)] == pytest.approx(
        [0.1, 0.1 / 1.5, 0.1 / 2, 0.1 / 3])
    assert {epoch_lr(TrainConfig(lr=0.1), e) for e in range(1, 20)} == {0.1}


@pytest.mark.parametrize("first", [1, 3])
def test_each_epoch_trains_at_its_rate_also_when_resumed(first):
    config = load_config(None, ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=0",
                                "lr=0.02", "lr_decay=1", "max_epochs=4", "patience=100"])
    sentences = synthetic_sentences(12)
    encoder = Encoder.build(sentences, config.model)
    model = network_for(config.model, encoder)
    optimizer = adam(model, config.train.lr)
    state = TrainState(epoch=first - 1)  # as a resumed run starts
    rates = {}
    for event in train_loop(model, optimizer, [encoder.encode_sentence(s) for s in sentences],
                            lambda: score([], []), config.train, state, random.Random(0)):
        if isinstance(event, StepEvent):
            rates.setdefault(event.epoch, [group["lr"] for group in optimizer.param_groups])
    groups = len(optimizer.param_groups)
    assert rates == {e: [pytest.approx(0.02 / e)] * groups for e in range(first, 5)}
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_negative_decay_is_refused():
    with pytest.raises(BrandnerError, match="lr_decay must be >= 0"):
        load_config(None, ["lr_decay=-0.1"])
