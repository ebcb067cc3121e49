"""benchmarks/accuracy.py's transfer options (--init, --train-size, --preset) and
benchmarks/transfer.py's table and learning curve."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.accuracy import subset
from benchmarks.transfer import plot, table
from brandner.config import load_config
from brandner.training.job import fit
from tests.conftest import REPO
from tests.training.templated import DRINKS, SETTINGS, SHOES, templated


def row(corpus: str, size: int, seed: int, dev: float, test: float, init: str | None = None, variant: str = "") -> dict:
    return {"corpus": corpus, "variant": variant or ("bigrams+pretrained" if init else ""), "seed": seed,
            "init": init, "train_size": size, "dev_f1": dev, "test_f1": test}


def test_subsets_are_fixed_and_nested():
    items = list(range(100))
    small, large = subset(items, 10), subset(items, 30)
    assert len(small) == 10 and set(small) <= set(large) and small == sorted(small)
    assert subset(items, 10) == small and subset(items, None) == items and subset(items, 500) == items


def test_the_table_pairs_scratch_and_fine_tuned_runs_by_size(tmp_path):
    rows = [row("weibo", 250, 1, 0.40, 0.30), row("weibo", 250, 2, 0.44, 0.34),
            row("weibo", 250, 1, 0.50, 0.45, "base.pt"), row("weibo", 250, 2, 0.54, 0.47, "base.pt"),
            row("weibo", 1350, 1, 0.60, 0.52), row("weibo", 1350, 1, 0.65, 0.58, "base.pt"),
            row("weibo", 1350, 1, 0.99, 0.99, variant="preset accurate")]  # another variant: left out
    lines = table(rows).splitlines()
    assert lines[2] == "| weibo | 250 | 2 / 2 | 42.00 ± 2.83 | 52.00 ± 2.83 | 32.00 ± 2.83 | 46.00 ± 1.41 | +14.00 |"
    assert lines[3] == "| weibo | 1,350 | 1 / 1 | 60.00 | 65.00 | 52.00 | 58.00 | +6.00 |"
    plot(rows, tmp_path / "curve.svg")
    svg = (tmp_path / "curve.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "weibo, fine-tuned" in svg and "weibo, scratch" in svg


def test_accuracy_fine_tunes_a_base_on_a_subset_and_runs_a_preset(shared_data, tmp_path):
    base = tmp_path / "base.pt"
    corpora = {"shoes": templated(30, {"SHOE": SHOES}, 0), "drinks": templated(30, {"DRINK": DRINKS}, 1)}
    dev = {"shoes": templated(6, {"SHOE": SHOES}, 2), "drinks": templated(6, {"DRINK": DRINKS}, 3)}
    fit(corpora, dev, load_config(None, SETTINGS + ["max_epochs=1", "workers=1"]), base)
    common = [sys.executable, str(REPO / "benchmarks" / "accuracy.py"), "--corpus", "brands-sample", "--data-dir",
              str(shared_data), "--log", "runs.jsonl", "--no-write", "--set", "max_epochs=1", "--set", "workers=1"]
    with_preset = ["--preset", "accurate", "--vectors-from", "training", "--set", "char_dim=16"]
    for extra in (["--init", str(base), "--train-size", "10"], with_preset):
        done = subprocess.run(common + extra, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    tuned, preset = (json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines())
    assert tuned["init"] == str(base) and tuned["train_size"] == 10 and tuned["variant"] == "bigrams+pretrained"
    assert preset["variant"] == "preset accurate, vectors from the training text"
    assert preset["train_size"] == 22 and preset["init"] is None
