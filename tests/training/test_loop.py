"""The training loop's learning-rate schedule and weight average."""

from __future__ import annotations

import random

import pytest
import torch

from brandner.config import TrainConfig, load_config
from brandner.data.encoder import Encoder
from brandner.data.metrics import score
from brandner.errors import BrandnerError
from brandner.model.model_file import network_for
from brandner.training.loop import EpochEvent, StepEvent, TrainState, epoch_lr, patience_epochs, train_loop
from brandner.training.optim import adam
from brandner.training.steps import WeightAverage, clip_gradients
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


def test_weight_average_is_an_exponential_average_warmed_up_over_the_first_steps():
    layer = torch.nn.Linear(2, 1)
    frozen = torch.nn.Parameter(torch.ones(3), requires_grad=False)
    layer.register_parameter("frozen", frozen)
    average = WeightAverage(layer, decay=0.9)
    expected = layer.weight.detach().clone()
    for n, value in enumerate([1.0, -2.0, 4.0, 0.5] * 5):
        with torch.no_grad():
            layer.weight.fill_(value)
        average.update()
        decay = min(0.9, (1 + n) / (10 + n))  # by hand: 0.1, 2/11, 3/12, ... then 0.9
        expected = decay * expected + (1 - decay) * value
    assert len(average.held) == 2  # weight and bias; the frozen parameter is not averaged
    assert torch.allclose(average.held[0], expected, atol=1e-6)
    trained = layer.weight.detach().clone()
    average.swap()
    assert torch.allclose(layer.weight, expected, atol=1e-6)
    average.swap()
    assert torch.equal(layer.weight, trained)


def test_the_loop_evaluates_the_average_and_trains_the_weights():
    config = load_config(None, ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=0", "lexicon=",
                                "lr=0.05", "max_epochs=3", "patience=100", "weight_average=0.5"])
    sentences = synthetic_sentences(12)
    encoder = Encoder.build(sentences, config.model)
    model = network_for(config.model, encoder)
    average = WeightAverage(model, config.train.weight_average)
    seen = []
    loop = train_loop(model, adam(model, config.train.lr), [encoder.encode_sentence(s) for s in sentences],
                      lambda: seen.append([p.detach().clone() for p in average.params]) or score([], []),
                      config.train, TrainState(), random.Random(0), average=average)
    for event in loop:
        if isinstance(event, EpochEvent):
            # at the event (when the caller saves) the model still holds the average it was evaluated with
            assert all(torch.equal(a, b) for a, b in zip(seen[-1], average.params, strict=True))
            assert not all(torch.equal(a, b) for a, b in zip(average.held, average.params, strict=True))
    assert len(seen) == 3
    # after the loop, the model holds the weights it trained, and the average is held aside
    assert not all(torch.equal(a, b) for a, b in zip(seen[-1], average.params, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(seen[-1], average.held, strict=True))


def test_a_weight_average_decay_outside_0_to_1_is_refused():
    for value in ("1", "-0.1", "1.5"):
        with pytest.raises(BrandnerError, match="weight_average must be in"):
            load_config(None, [f"weight_average={value}"])


@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_gradients_gives_clip_grad_norm_s_numbers(max_norm):
    """Clipped or left alone, the same gradients as torch's clip_grad_norm_."""
    torch.manual_seed(0)
    ours, theirs = ([torch.nn.Parameter(torch.randn(s)) for s in ((3, 4), (5,), (2, 2, 2))] for _ in range(2))
    for a, b in zip(ours, theirs):
        a.data.copy_(b.data)
        a.grad = torch.randn_like(a)
        b.grad = a.grad.clone()
    ours.append(torch.nn.Parameter(torch.zeros(2)))  # no gradient: left out
    clip_gradients(ours, max_norm)
    torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    for a, b in zip(ours, theirs):
        assert torch.equal(a.grad, b.grad)
    assert ours[-1].grad is None


def test_patience_counts_from_the_first_model_that_finds_something():
    """On a few hundred sentences the first epochs find nothing: 9 epochs of dev F1 0 stopped a
    training at patience 8 with a model of F1 0 (Weibo, 100 sentences); now it goes on."""
    config = load_config(None, ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=0",
                                "max_epochs=30", "patience=3", "patience_sentences=0"])
    sentences = synthetic_sentences(6)
    encoder = Encoder.build(sentences, config.model)
    model = network_for(config.model, encoder)
    gold = [[s] for s in sentences[0].spans]
    found_from = 12  # the epoch whose model first finds the entity

    def evaluate():
        evaluate.calls += 1
        return score(gold, gold if evaluate.calls >= found_from else [[]])
    evaluate.calls = 0
    epochs = [e.epoch for e in train_loop(model, adam(model, 0.01), [encoder.encode_sentence(s) for s in sentences],
                                          evaluate, config.train, TrainState(), random.Random(0))
              if isinstance(e, EpochEvent)]
    assert epochs == list(range(1, found_from + 3 + 1))  # on to epoch 12, then patience 3 from there


@pytest.mark.parametrize("sentences_per_epoch,stops_after", [(6, 1 + 10), (30, 1 + 3)])
def test_patience_lasts_at_least_patience_sentences_read_since_the_best_epoch(sentences_per_epoch, stops_after):
    """Fine-tuning on 100 ecommerce titles found something in epoch 1 (dev F1 4.0), nothing better
    in the next 8 epochs of 5 steps each, and stopped there; patience now lasts as long as
    reading patience_sentences (60 here: 10 epochs of 6 sentences, fewer than 3 of 30)."""
    config = load_config(None, ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=0",
                                "max_epochs=30", "patience=3", "patience_sentences=60"])
    sentences = synthetic_sentences(sentences_per_epoch)
    encoder = Encoder.build(sentences, config.model)
    model = network_for(config.model, encoder)
    gold = [[s] for s in sentences[0].spans]

    def evaluate():  # epoch 1's model finds the entity, no later one does better
        evaluate.calls += 1
        return score(gold, gold if evaluate.calls == 1 else [[]])
    evaluate.calls = 0
    epochs = [e.epoch for e in train_loop(model, adam(model, 0.01), [encoder.encode_sentence(s) for s in sentences],
                                          evaluate, config.train, TrainState(), random.Random(0))
              if isinstance(e, EpochEvent)]
    assert epochs == list(range(1, stops_after + 1))


def test_patience_in_epochs_for_the_corpora():
    config = TrainConfig()  # patience 8, patience_sentences 10,000
    assert [patience_epochs(config, n) for n in (100, 250, 1000, 1350, 3989, 41727)] == [100, 40, 10, 8, 8, 8]
    assert patience_epochs(TrainConfig(patience_sentences=0), 100) == 8
    with pytest.raises(BrandnerError, match="train.patience_sentences must be >= 0"):
        TrainConfig(patience_sentences=-1)
