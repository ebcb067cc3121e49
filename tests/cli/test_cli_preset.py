"""``brandner train --preset accurate``: the recipe's settings, and vectors trained on the
training text first (brandner.training.presets), through the real entry point."""

from __future__ import annotations

import json

from tests.conftest import SMALL, brandner, synthetic_sentences, write_jsonl


def test_the_accurate_preset_trains_vectors_first_and_reads_the_lexicon(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", synthetic_sentences(60))
    write_jsonl(tmp_path / "dev.jsonl", synthetic_sentences(12, seed=1))
    args = ["train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--preset", "accurate", *SMALL,
            "--epochs", "2", "--workers", "1", "--vectors-from", "training", "-o", "m.pt"]
    run = brandner(*args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "training vectors on 60 texts" in run.stderr
    vectors = json.loads((tmp_path / "m.pt.vectors" / "vectors.json").read_text(encoding="utf-8"))
    assert vectors["texts"] == 60 and vectors["settings"]["char_dim"] == 16  # the model's sizes (SMALL)
    assert vectors["sources"] == ["training text"]
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
    alone = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--vectors-from", "training",
                     "-o", "x.pt", cwd=tmp_path)
    assert alone.returncode == 1 and "--vectors-from goes with --preset accurate" in alone.stderr


def test_the_preset_s_vectors_also_learn_from_the_named_corpora_on_disk(shared_data, tmp_path):
    """By default the preset's vectors read the training text of the named corpora found under the
    data folder too, less every held-out text; here only the brand sample is there."""
    from brandner.data.corpora import held_out_texts, load_split

    data = tmp_path / "data" / "brands-sample"
    data.mkdir(parents=True)
    for part in ("train", "dev", "test"):
        (data / f"brands.{part}").symlink_to(shared_data / "brands-sample" / f"brands.{part}")
    write_jsonl(tmp_path / "train.jsonl", synthetic_sentences(60))
    write_jsonl(tmp_path / "dev.jsonl", synthetic_sentences(12, seed=1))
    run = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--preset", "accurate", *SMALL,
                   "--epochs", "1", "--workers", "1", "--data-dir", "data", "-o", "m.pt", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "vectors on the training text and on brands-sample train" in run.stderr
    held_out, _ = held_out_texts([], tmp_path / "data")
    sample = [s.text for s in load_split("brands-sample", "train", tmp_path / "data") if s.text not in held_out]
    vectors = json.loads((tmp_path / "m.pt.vectors" / "vectors.json").read_text(encoding="utf-8"))
    assert vectors["sources"] == ["training text", "brands-sample train"]
    assert vectors["texts"] == 60 + len(sample) and len(sample) > 10
