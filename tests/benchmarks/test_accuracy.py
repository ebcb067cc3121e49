"""The accuracy benchmarks' own logic: ablation variants and table, and the search's trials."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.accuracy import VARIANTS, ablation_table, read_log, variant_overrides
from brandner.config import load_config
from tests.conftest import REPO


def row(corpus: str, variant: str, seed: int, dev: float, test: float) -> dict:
    return {"corpus": corpus, "variant": variant, "seed": seed, "dev_f1": dev, "test_f1": test,
            "dev_per_type": {"HP": dev - 0.1}, "test_per_type": {"HP": test - 0.1}, "seconds": 10.0 * seed}


def test_every_variant_is_a_valid_config():
    for name in VARIANTS:
        config = load_config(None, variant_overrides(name, "/vec", "/data"))
        assert bool(config.model.bigram_dim) == ("bigrams" in name)
        assert bool(config.model.lexicon) == ("lexicon" in name)
        assert bool(config.train.embeddings) == ("vectors" in name)
        assert ("HP=/data/ecommerce/gazetteers/brand4.dic" in config.model.gazetteers) == ("gazetteers" in name)
    with pytest.raises(SystemExit, match="needs --vectors"):
        variant_overrides("bigrams+vectors", None, "/data")


def test_ablation_table_shows_dev_means_and_test_only_for_the_chosen():
    rows = [row("weibo", "bigrams", 1, 0.60, 0.50), row("weibo", "bigrams", 2, 0.62, 0.54),
            row("weibo", "chars", 1, 0.58, 0.49), row("ecommerce", "bigrams+lexicon", 1, 0.75, 0.74)]
    lines = ablation_table(rows, {"bigrams"}).splitlines()
    assert lines[2] == "| ecommerce | bigrams+lexicon | 1 | 75.00 | 65.00 |  |  | 10 |"
    assert lines[3] == "| weibo | chars | 1 | 58.00 |  |  |  | 10 |"  # variants in VARIANTS order
    assert lines[4] == "| weibo | bigrams | 2 | 61.00 ± 1.41 |  | 52.00 ± 2.83 |  | 15 |"
    lines = ablation_table(rows, {"ecommerce=bigrams+lexicon"}).splitlines()
    assert lines[2] == "| ecommerce | bigrams+lexicon | 1 | 75.00 | 65.00 | 74.00 | 64.00 | 10 |"  # HP = F1 - 0.1 here
    assert lines[4].endswith("| 61.00 ± 1.41 |  |  |  | 15 |")


def test_ensemble_rows_score_the_kept_models(shared_data, tmp_path):
    """--ensemble adds a row for the seeds' ensemble; --ensemble-of scores kept models again, the same."""
    def accuracy(*args: str) -> str:
        done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "accuracy.py"), "--corpus", "brands-sample",
                               "--data-dir", str(shared_data), "--log", "runs.jsonl", "--no-write", *args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = accuracy("--seeds", "1", "2", "--set", "max_epochs=1", "--ensemble", "--models", "kept")
    assert "- brands-sample: the ensemble of seeds 1+2" in out
    assert sorted(p.name for p in (tmp_path / "kept").iterdir() if p.suffix == ".pt") == [
        "brands-sample-1.pt", "brands-sample-2.pt"]
    out = accuracy("--ensemble-of", "kept/brands-sample-1.pt", "kept/brands-sample-2.pt")
    trained, again = (json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()[2:])
    assert again["dev_f1"] == trained["dev_f1"] and again["test_per_type"] == trained["test_per_type"]
    assert trained["seed"] == "1+2" and again["ensemble"] == ["kept/brands-sample-1.pt", "kept/brands-sample-2.pt"]
    assert len(ablation_table(read_log(str(tmp_path / "runs.jsonl")), set()).splitlines()) == 3  # the seeds' row only


def test_search_runs_trials_on_dev(shared_data, tmp_path):
    pytest.importorskip("optuna", reason="the search benchmark needs optuna (pip install '.[bench]')")
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "search.py"), "--corpus", "brands-sample",
                           "--trials", "2", "--set", "max_epochs=1",
                           "--data-dir", str(shared_data), "--no-write"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "hyper-parameter search (optuna) on brands-sample dev F1" in done.stdout
    assert done.stdout.count("| complete |") == 2 and "Best (trial" in done.stdout
    trial_zero = next(line for line in done.stdout.splitlines() if line.startswith("| 0 |"))
    assert trial_zero.startswith("| 0 | 0.001 | 0 | 0.5 | 100 | 20 | 0.5 | 5 |")  # the defaults come first


def test_search_table_marks_pruned_trials():
    optuna = pytest.importorskip("optuna", reason="the search benchmark needs optuna (pip install '.[bench]')")
    from benchmarks.search import SPACE, report_table
    distributions = {"lr": optuna.distributions.FloatDistribution(3e-4, 3e-3, log=True)}
    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.trial.create_trial(params={"lr": 0.001}, distributions=distributions, value=0.6,
                                              user_attrs={"epochs": 20, "seconds": 270.0}))
    study.add_trial(optuna.trial.create_trial(params={"lr": 0.0005}, distributions=distributions,
                                              state=optuna.trial.TrialState.PRUNED,
                                              intermediate_values={4: 0.3, 5: 0.35}))
    lines = report_table(study).splitlines()
    blanks = " | —" * (len(SPACE) - 1)
    assert lines[2] == f"| 0 | 0.001{blanks} | 60.00 | complete | 20 | 270 |"
    assert lines[3] == f"| 1 | 0.0005{blanks} | (35.00) | pruned | 5 | — |"
