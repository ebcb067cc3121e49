"""benchmarks/continued.py: train on half 1, continue on half 2 (--init), against all at once."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from benchmarks.continued import ALL, CONTINUED, FIRST, halves, table
from tests.conftest import REPO


def test_the_halves_are_a_shuffle_of_train_cut_in_two_the_same_for_a_seed():
    first, second = halves(list(range(11)), 0)
    assert len(first) == 5 and len(second) == 6 and sorted(first + second) == list(range(11))
    assert (first, second) == halves(list(range(11)), 0) and first != list(range(5))
    assert halves(list(range(11)), 1) != (first, second)


def row(name: str, seconds: float, test: float) -> dict:
    return {"run": name, "sentences": 10, "seconds": seconds, "epochs": 3, "best_epoch": 2, "dev_f1": 0.5,
            "test_f1": test, "dev_per_type": {"HP": 0.5}, "test_per_type": {"HP": test, "HC": 0.25}}


def test_the_table_compares_the_continued_model_with_the_one_trained_on_all():
    lines = table([row(FIRST, 10, 0.6), row(CONTINUED, 5, 0.7), row(ALL, 20, 0.75)]).splitlines()
    assert lines[3] == "| A, continued on half 2 | 10 | 3 (2) | 5 | 50.00 | 70.00 | HP 50.00 | HC 25.00, HP 70.00 |"
    assert lines[-2] == ("- A continued against B: test F1 70.00 against 75.00 (-5.00 points), "
                         "dev F1 50.00 against 50.00.")
    assert lines[-1] == "- Time: A and its continuation 15 s, the continuation alone 5 s, against B's 20 s (0.25x)."


def test_the_script_trains_the_three_models_quickly(shared_data, tmp_path):
    script = REPO / "benchmarks" / "continued.py"
    result = subprocess.run([sys.executable, str(script), "--quick", "--no-write", "--json",
                             str(tmp_path / "runs.json"), "--data-dir", str(shared_data),
                             "--models", str(tmp_path / "models")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    runs = json.loads((tmp_path / "runs.json").read_text(encoding="utf-8"))
    assert [(r["run"], r["sentences"]) for r in runs] == [(FIRST, 40), (CONTINUED, 40), (ALL, 80)]
    assert runs[1]["init"] == str(tmp_path / "models" / "A.pt") and runs[0]["init"] is None
    assert all(r["epochs"] == 1 and 0 <= r["test_f1"] <= 1 for r in runs)
    summary = json.loads((tmp_path / "models" / "A-continued.pt.json").read_text(encoding="utf-8"))
    assert summary["init"]["path"] == runs[1]["init"]
    assert re.search(r"^\| B: all of train \| 80 \| 1 \(1\) \| \d+ \| [\d.]+ \| [\d.]+ \|", result.stdout, re.M)
    assert "- A continued against B: test F1" in result.stdout and "Command: `python" in result.stdout
