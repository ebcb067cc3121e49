"""benchmarks/train_profile.py: a training step clocked phase by phase."""

from __future__ import annotations

import random
import subprocess
import sys

import torch

from benchmarks.train_profile import PHASES, Clock, lstm_flops, timed_epoch
from brandner.config import load_config
from brandner.data.encoder import Encoder
from brandner.data.metrics import score
from brandner.model.model_file import network_for
from brandner.training.job import training_singletons
from brandner.training.loop import TrainState, train_loop
from brandner.training.optim import adam
from tests.conftest import REPO, synthetic_sentences


def test_the_clocked_epoch_trains_the_weights_train_loop_trains():
    """Cutting the graph in three to clock the backward passes changes no weight (beyond rounding)."""
    sentences = synthetic_sentences(30)
    config = load_config(None, ["bigram_dim=4", "hidden_size=8", "char_dim=6", "seg_dim=3", "max_epochs=1",
                                "batch_size=4"])  # bigrams on: their singletons are replaced too
    weights = []
    for clocked in (False, True):
        torch.manual_seed(0)
        encoder = Encoder.build(sentences, config.model)
        model = network_for(config.model, encoder)
        optimizer = adam(model, config.train.lr)
        data = [encoder.encode_sentence(s) for s in sentences]
        singletons = training_singletons(data, encoder)
        if clocked:
            clock = Clock()
            assert timed_epoch(model, optimizer, data, singletons, config, random.Random(1), clock) == (8, 30)
            assert set(clock.seconds) == set(PHASES)
        else:
            list(train_loop(model, optimizer, data, lambda: score([], []), config.train, TrainState(),
                            random.Random(1), singletons))
        weights.append([p.detach().clone() for p in model.parameters()])
    for ours, theirs in zip(*weights, strict=True):
        torch.testing.assert_close(ours, theirs)


def test_lstm_flops_counts_both_directions_forward_and_backward():
    # one batch of 2 sentences padded to 3 steps: 2 directions x 3 (forward + backward) x 2 flops
    assert lstm_flops([3, 2], 20, input_size=5, hidden=4) == 2 * 3 * 2 * 2 * 3 * (5 + 4) * 16


def test_the_script_prints_its_table(tmp_path):
    script = REPO / "benchmarks" / "train_profile.py"
    result = subprocess.run([sys.executable, str(script), "--limit-train", "40", "--epochs", "1", "--no-write"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| BiLSTM backward |" in result.stdout and "GFLOP/s" in result.stdout
    assert "Command: `python" in result.stdout
