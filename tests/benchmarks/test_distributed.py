"""benchmarks/distributed.py: torchrun against train.workers=2 against one process, per run and on average."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from benchmarks.distributed import DDP, ONE, WORKERS, tables
from tests.conftest import REPO


def run(way: str, seed: int, rate: float, f1: float) -> dict:
    return {"way": way, "seed": seed, "sentences_per_second": rate, "dev_f1": f1, "best_epoch": 3, "epochs": 3,
            "world_size": 2 if way == DDP else 1, "batch_size": 20, "process_seconds": 10.0}


def test_the_means_compare_each_way_with_one_process_and_the_workers_and_say_if_ddp_is_within_15_percent():
    runs = [run(ONE, 1, 100, 0.70), run(WORKERS, 1, 180, 0.71), run(DDP, 1, 150, 0.72),
            run(ONE, 2, 100, 0.72), run(WORKERS, 2, 220, 0.73), run(DDP, 2, 170, 0.70)]
    text = tables(runs)
    assert "| DDP, 2 ranks | 2 | 160 | 1.60 | 0.80 | 71.00 (1.41) |" in text
    assert "| train.workers=2 | 2 | 200 | 2.00 | 1.00 | 72.00 (1.41) |" in text
    assert "DDP's rate is 0.80 of train.workers=2's: not within 15%." in text
    assert "within 15%." in tables([run(WORKERS, 1, 100, 0.7), run(DDP, 1, 86, 0.7)]).splitlines()[-1]
    assert "not within" not in tables([run(WORKERS, 1, 100, 0.7), run(DDP, 1, 86, 0.7)])
    assert "| one process | 1 | 100 | 1.00 |  | 70.00 (0.00) |" in tables([run(ONE, 1, 100, 0.7)])


def test_the_script_trains_each_way_and_writes_its_runs(shared_data, tmp_path):
    script = REPO / "benchmarks" / "distributed.py"
    result = subprocess.run([sys.executable, str(script), "--limit-train", "60", "--limit-dev", "20", "--epochs", "1",
                             "--seeds", "1", "--no-write", "--json", str(tmp_path / "runs.json"),
                             "--data-dir", str(shared_data)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    runs = json.loads((tmp_path / "runs.json").read_text(encoding="utf-8"))
    assert [(r["way"], r["world_size"]) for r in runs] == [(ONE, 1), (WORKERS, 1), (DDP, 2)]
    assert all(r["sentences_per_second"] > 0 and r["epochs"] == 1 for r in runs)
    assert re.search(r"^\| DDP, 2 ranks \| 1 \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \(0\.00\) \|$", result.stdout, re.M)
    assert "Command: `python" in result.stdout
