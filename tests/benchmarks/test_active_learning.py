"""benchmarks/active_learning.py: the table of dev F1 per round and the simulated loop itself."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.active_learning import table
from tests.conftest import REPO


def point(round_: int, sentences: int, f1: float, characters: int = 1000) -> dict:
    return {"round": round_, "sentences": sentences, "dev_f1": f1, "characters": characters, "seconds": 1.0}


def test_the_table_gives_each_strategys_mean_and_spread_per_round_and_who_won():
    done = {"c:10:10/1/start": point(0, 10, 50.0), "c:10:10/2/start": point(0, 10, 52.0),
            "c:10:10/1/uncertainty": [point(1, 20, 60.0, 300)], "c:10:10/2/uncertainty": [point(1, 20, 62.0, 300)],
            "c:10:10/1/random": [point(1, 20, 59.0, 200)], "c:10:10/2/random": [point(1, 20, 63.0, 200)]}
    text, means = table("c:10:10", [1, 2], done)
    assert "| 10 (start) | 51.00 ± 1.41 | 51.00 ± 1.41 | — | — |" in text
    assert "| 20 | 61.00 ± 1.41 | 61.00 ± 2.83 | +0.00 | 1 of 2 |" in text
    assert "uncertainty 300, random 200 (1.50x)" in text
    assert means == {"sizes": [10, 20], "uncertainty": [51.0, 61.0], "random": [51.0, 61.0]}


def test_the_script_runs_every_strategy_from_one_start_and_keeps_its_results(shared_data, tmp_path):
    script = REPO / "benchmarks" / "active_learning.py"
    command = [sys.executable, str(script), "--corpus", "weibo:30:20", "--rounds", "2", "--seeds", "1",
               "--max-epochs", "1", "--no-write", "--json", str(tmp_path / "runs.json"), "--data-dir", str(shared_data)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    done = json.loads((tmp_path / "runs.json").read_text(encoding="utf-8"))
    assert done["weibo:30:20/1/start"]["sentences"] == 30
    for strategy in ("uncertainty", "random"):
        assert [p["sentences"] for p in done[f"weibo:30:20/1/{strategy}"]] == [50, 70]
    assert "| 70 |" in result.stdout and (tmp_path / "runs.png").stat().st_size > 1000
    again = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert again.returncode == 0 and "round" not in again.stdout.split("##")[0]  # nothing trained again
