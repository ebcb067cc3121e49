"""Files written before the move into subpackages (tests/fixtures, commit 4b327e1) load and tag as they did."""

from __future__ import annotations

import json

import pytest

from brandner import Tagger
from brandner.config import load_config
from brandner.model.model_file import safe_load
from brandner.training.job import fit
from tests.conftest import REPO, synthetic_sentences

FIXTURES = REPO / "tests" / "fixtures"
EXPECTED = json.loads((FIXTURES / "legacy-v1.expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name,kind", [("legacy-v1.pt", "pt"), ("legacy-v1.onnx", "onnx")])
def test_a_model_file_from_before_tags_as_it_did(name, kind):
    tagger = Tagger.load(FIXTURES / name)
    assert tagger.config.lexicon == ("words.txt",) and tagger.config.gazetteers == ("SHOE=shoes.txt",)
    assert tagger.encoder.segmenter == "jieba" and tagger.encoder.normalizer.fullwidth
    assert tagger.predict(EXPECTED["texts"], scores=True) == EXPECTED[kind]


def test_training_resumes_from_a_resume_file_from_before(tmp_path):
    (tmp_path / "words.txt").write_text("特步\n耐克\n手机\n新款\n", encoding="utf-8")
    (tmp_path / "shoes.txt").write_text("特步\n安踏\n", encoding="utf-8")
    for suffix in ("", ".resume"):
        (tmp_path / f"legacy.pt{suffix}").write_bytes((FIXTURES / f"legacy-v1.pt{suffix}").read_bytes())
    settings = ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=4", "lexicon=words.txt", "lexicon_dim=4",
                "lexicon_pooling=frequency", "gazetteers=SHOE=shoes.txt", "lr=0.02", "seed=3", "max_epochs=11"]
    summary = fit(synthetic_sentences(150), synthetic_sentences(12, seed=1), load_config(None, settings),
                  tmp_path / "legacy.pt", resume=True)
    assert summary["epochs_run"] == 11
    assert safe_load(tmp_path / "legacy.pt.resume", "brandner-resume")["state"]["epoch"] == 11


def test_files_written_now_say_version_2_and_a_newer_version_is_refused(tiny_model, tmp_path):
    """Version 2 moved the normaliser and segmenter out of the encoder: an older brandner must refuse
    these files as written by a newer one, not fail to rebuild them."""
    import torch

    from brandner.errors import BrandnerError

    payload = safe_load(tiny_model)
    assert payload["version"] == 2 and "segmenter" not in payload["encoder"]
    torch.save({**payload, "version": 3}, tmp_path / "newer.pt")
    with pytest.raises(BrandnerError, match="written by a newer brandner"):
        Tagger.load(tmp_path / "newer.pt")
