"""benchmarks/lstm_directions.py: needs torch only (not the speed benchmark's pytorch-crf)."""

from __future__ import annotations

import subprocess
import sys

import torch

from tests.conftest import REPO


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
    for ours, theirs in zip(*grads, strict=True):
        torch.testing.assert_close(ours, theirs)
    script = REPO / "benchmarks" / "lstm_directions.py"
    result = subprocess.run([sys.executable, str(script), "--repeats", "3", "--steps", "4", "--no-write"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "one direction per thread, 1 intra-op thread each" in result.stdout
    assert "Command: `python" in result.stdout
