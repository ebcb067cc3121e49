"""``brandner train --preset accurate``: the recipe's settings, and vectors trained on the
training text first (brandner.training.presets), through the real entry point."""

from __future__ import annotations

import json

from tests.conftest import SMALL, brandner, synthetic_sentences, write_jsonl


def test_the_accurate_preset_trains_vectors_first_and_reads_the_lexicon(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", synthetic_sentences(60))
    write_jsonl(tmp_path / "dev.jsonl", synthetic_sentences(12, seed=1))
    args = ["train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--preset", "accurate", *SMALL,
            "--epochs", "2", "--workers", "1", "-o", "m.pt"]
    run = brandner(*args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "training vectors on the 60 training texts" in run.stderr
    vectors = json.loads((tmp_path / "m.pt.vectors" / "vectors.json").read_text(encoding="utf-8"))
    assert vectors["texts"] == 60 and vectors["settings"]["char_dim"] == 16  # the model's sizes (SMALL)
    config = json.loads((tmp_path / "m.pt.json").read_text(encoding="utf-8"))["config"]
    assert config["model"]["lexicon"] == ["jieba"] and config["train"]["weight_average"] == 0.998
    assert config["train"]["embeddings"] == "m.pt.vectors"  # beside the model, as -o names it
    assert config["model"]["char_dim"] == 16
    # --set wins over the preset, and given vectors are used as they are
    again = brandner(*args[:-2], "-o", "n.pt", "--set", "weight_average=0", "--embeddings", "m.pt.vectors",
                     cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert not (tmp_path / "n.pt.vectors").exists()
    config = json.loads((tmp_path / "n.pt.json").read_text(encoding="utf-8"))["config"]
    assert config["train"]["weight_average"] == 0 and config["train"]["embeddings"] == "m.pt.vectors"
    unknown = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--preset", "fast", "-o", "x.pt",
                       cwd=tmp_path)
    assert unknown.returncode != 0 and "invalid choice: 'fast'" in unknown.stderr
    with_init = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--preset", "accurate",
                         "--init", "m.pt", "-o", "x.pt", cwd=tmp_path)
    assert with_init.returncode == 1 and "--preset and --init" in with_init.stderr
