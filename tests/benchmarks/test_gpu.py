"""benchmarks/gpu.py: training and tagging on a GPU against the CPU (here, the CPU against itself)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from benchmarks.gpu import table
from tests.conftest import REPO

SCRIPT = REPO / "benchmarks" / "gpu.py"


def run(corpus: str, epochs: float, f1: float, device: str, workers: int) -> dict:
    return {"run": device, "device": device, "workers": workers, "epochs": 2, "best_epoch": 2, "wall_seconds": 10.4,
            "sentences_per_second": epochs, "dev_f1": f1, "test_f1": f1, "model": "m.pt"}


def test_the_table_gives_both_runs_and_compares_them():
    tagging = {"sentences": 200, "same_entities": 0.995, "gpu_test_f1": 0.9, "cpu_test_f1": 0.9005,
               "gpu_tag_per_second": 9000.4, "cpu_tag_per_second": 3000.2}
    lines = table([{"corpus": "msra", "gpu": run("msra", 3000, 0.9, "cuda", 1),
                    "cpu": run("msra", 1000, 0.89, "cpu", 16), "tagging": tagging}], "H100, CUDA 12.8").splitlines()
    assert lines[0] == "GPU: H100, CUDA 12.8."
    assert lines[4:6] == ["| msra | cuda | 1 | 2 (2) | 3000.0 | 10 | 90.00 | 90.00 |",
                          "| msra | cpu | 16 | 2 (2) | 1000.0 | 10 | 89.00 | 89.00 |"]
    assert lines[-1] == ("- msra: training 3.00x the CPU's sentences/s; the cuda model's test entities on the CPU: "
                         "99.50% of 200 sentences the same as on the cuda (test F1 90.05 against 90.00); tagging at "
                         "batch 256 9000 sentences/s on the cuda, 3000 on the CPU in PyTorch")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_without_a_gpu_the_script_says_so_before_training(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--no-write"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == ("gpu.py: device cuda: torch sees no CUDA device here (a CPU build of torch); "
                                     "use cpu, or auto to take a GPU only where there is one")


def test_a_quick_run_on_the_cpu_against_itself(shared_data, tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--gpu", "cpu", "--corpus", "ecommerce",
                             "--epochs", "1", "--cpu-workers", "1", "--no-write", "--data-dir", str(shared_data),
                             "--json", str(tmp_path / "runs.json")], capture_output=True, text=True, cwd=tmp_path,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    (corpus,) = json.loads((tmp_path / "runs.json").read_text(encoding="utf-8"))
    assert corpus["gpu"]["device"] == corpus["cpu"]["device"] == "cpu"
    assert corpus["gpu"]["test_f1"] == corpus["cpu"]["test_f1"]  # the same settings, seed and process count
    assert corpus["tagging"]["same_entities"] == 1.0 and corpus["tagging"]["sentences"] == 20
    assert "GPU: cpu (no GPU: the script's own check)." in result.stdout
