"""benchmarks/ensemble_speed.py: tagging rates of ensembles of 1, 2, … models."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.ensemble_speed import table
from tests.conftest import REPO, train_tiny


def test_table_gives_each_size_as_a_share_of_one_models_rate():
    assert table([(1, 200.0), (2, 110.0)]).splitlines()[2:] == ["| 1 | 200.0 | 1.00 |", "| 2 | 110.0 | 0.55 |"]


def test_runs_on_a_corpus(shared_data, tmp_path):
    models = [str(train_tiny(tmp_path / f"m{seed}.pt", f"seed={seed}", sentences=60, epochs=1)) for seed in (1, 2)]
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "ensemble_speed.py"), "--corpus", "brands-sample",
                           "--models", *models, "--rounds", "1", "--data-dir", str(shared_data), "--no-write"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rows) == 2 and rows[0].endswith("| 1.00 |")
