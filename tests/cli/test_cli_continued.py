"""``brandner train --init MODEL`` through the real entry point: a continued training, and the
cases it refuses in one line."""

from __future__ import annotations

import json

import pytest

from brandner.config import load_config
from brandner.training.job import fit
from tests.conftest import SMALL, brandner, write_jsonl
from tests.training.templated import DRINKS, SETTINGS, SHOES, templated


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with shoes.pt (trained on SHOE sentences) and files of SHOE and DRINK sentences."""
    work = tmp_path_factory.mktemp("cli-continued")
    fit(templated(20, {"SHOE": SHOES}, 0), templated(5, {"SHOE": SHOES}, 1),
        load_config(None, SETTINGS + ["max_epochs=2"]), work / "shoes.pt")
    write_jsonl(work / "more.jsonl", templated(20, {"DRINK": DRINKS, "SHOE": SHOES}, 2))
    write_jsonl(work / "dev.jsonl", templated(5, {"DRINK": DRINKS, "SHOE": SHOES}, 3))
    return work


def test_train_init_continues_from_the_model_in_worker_processes_and_the_summary_names_it(work):
    result = brandner("train", "--train", "more.jsonl", "--dev", "dev.jsonl", "--init", "shoes.pt", *SMALL,
                      "--set", "dropout=0.2", "--epochs", "2", "--workers", "2", "-o", "more.pt", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "continuing from shoes.pt (sha256 " in result.stderr and "new types: DRINK" in result.stderr
    summary = json.loads((work / "more.pt.json").read_text(encoding="utf-8"))
    assert summary["init"]["path"] == "shoes.pt" and len(summary["init"]["sha256"]) == 64
    assert summary["config"]["model"]["dropout"] == 0.2 and summary["config"]["model"]["hidden_size"] == 16
    assert summary["config"]["train"]["workers"] == 2 and summary["epochs_run"] == 2


@pytest.mark.parametrize("args,message", [
    (["--init", "shoes.pt", "--resume"], "--init starts a training from a model, --resume goes on"),
    (["--init", "missing.pt"], "missing.pt: no such model file"),
    (["--init", "more.jsonl"], "more.jsonl: not a brandner file"),
    (["--init", "shoes.pt", "--set", "hidden_size=32"],
     "shoes.pt: a training continued from this model keeps its settings; these differ: hidden_size (16 in the model"),
    (["--init", "shoes.pt", "--gazetteer", "SHOE=more.jsonl"], "gazetteers ([] in the model, [SHOE=more.jsonl]"),
    (["--init", "shoes.pt", "-o", "shoes.pt"], "shoes.pt: the model this training starts from (--init)"),
])
def test_what_cannot_be_continued_is_one_line_and_exit_1(work, args, message):
    result = brandner("train", "--train", "more.jsonl", "--dev", "dev.jsonl", "--epochs", "1", *args,
                      *(["-o", "out.pt"] if "-o" not in args else []), cwd=work)
    assert result.returncode == 1
    assert result.stderr.startswith("brandner: error: ") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (work / "out.pt").exists()
