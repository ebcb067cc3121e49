"""``--device`` on the command line (train, tag, evaluate, select, serve) on a machine without CUDA."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import brandner, synthetic_sentences, write_jsonl

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
NO_CUDA = "device cuda: torch sees no CUDA device here (a CPU build of torch"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("device")
    write_jsonl(folder / "train.jsonl", synthetic_sentences(30))
    write_jsonl(folder / "dev.jsonl", synthetic_sentences(6, seed=1))
    (folder / "posts.txt").write_text("我买了特步鞋\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("command", [
    ["train", "--train", "train.jsonl", "--dev", "dev.jsonl", "-o", "m.pt"],
    ["tag", "-m", "MODEL", "我买了特步鞋"],
    ["evaluate", "-m", "MODEL", "--file", "dev.jsonl"],
    ["select", "-m", "MODEL", "-i", "posts.txt", "-n", "1", "-o", "chosen.json"],
    ["serve", "-m", "MODEL", "--port", "0"],
])
def test_cuda_without_cuda_is_one_line_and_exit_1_and_a_bad_name_exit_2(folder, tiny_model, command):
    command = [str(tiny_model) if part == "MODEL" else part for part in command]
    result = brandner(*command, "--device", "cuda", cwd=folder)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"brandner: error: {'train.' * (command[0] == 'train')}"
                                                             f"{NO_CUDA}")
    assert not (folder / "m.pt").exists() and not (folder / "chosen.json").exists()
    bad = brandner(*command, "--device", "gpu", cwd=folder)
    assert bad.returncode == 2 and "argument --device: must be auto, cpu, cuda or cuda:N, got 'gpu'" in bad.stderr


def test_train_and_tag_with_device_auto_run_on_the_cpu(folder):
    trained = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--epochs", "1", "--workers", "1",
                       "--device", "auto", "-o", "auto.pt", cwd=folder)
    assert trained.returncode == 0, trained.stderr
    summary = json.loads((folder / "auto.pt.json").read_text())
    assert summary["device"] == "cpu" and summary["config"]["train"]["device"] == "auto"
    tagged = brandner("tag", "-m", "auto.pt", "--device", "auto", "我买了特步鞋", cwd=folder)
    assert tagged.returncode == 0, tagged.stderr
    assert json.loads(tagged.stdout)["string"] == "我买了特步鞋"


def test_the_engines_refuse_a_gpu(folder, tiny_model):
    result = brandner("tag", "-m", str(tiny_model), "--engine", "ray", "-i", "posts.txt", "-o", "out",
                      "--device", "cuda", cwd=folder)
    assert result.returncode == 1 and "--engine ray does not take --device cuda" in result.stderr
