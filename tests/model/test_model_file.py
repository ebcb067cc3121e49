"""Model files: one self-describing file, atomic, never unpickled; training resumes exactly."""

from __future__ import annotations

import json
import pickle
import re

import numpy as np
import pytest
import torch

from brandner import Tagger
from brandner.config import load_config
from brandner.errors import BrandnerError
from brandner.model.model_file import atomic_save, load_model, model_payload, safe_load
from brandner.training.job import fit, resume_path, summary_path
from brandner.training.loop import EpochEvent
from tests.conftest import synthetic_sentences

SMALL = ["char_dim=8", "seg_dim=4", "hidden_size=8", "lr=0.02", "patience=100"]


def test_round_trip_gives_identical_predictions(tiny_model, tmp_path):
    model, encoder = load_model(tiny_model)
    copy = tmp_path / "copy.pt"
    atomic_save(model_payload(model, encoder), copy)
    texts = ["我买了特步鞋", "华为和小米"]
    assert Tagger.load(copy).predict(texts) == Tagger.load(tiny_model).predict(texts)
    payload = torch.load(copy, weights_only=True)
    assert set(payload) >= {"format", "version", "model_config", "encoder", "state_dict"}
    assert payload["encoder"]["scheme"] == "IOBES" and payload["encoder"]["chars"][:2] == ["<PAD>", "<UNK>"]


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("content", [b"not a model at all", pickle.dumps(Evil(), protocol=2)])
def test_foreign_files_are_refused_with_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(BrandnerError, match="bad.pt: not a brandner file"):
        safe_load(path)


def test_a_pickled_object_inside_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "brandner-model", "version": 1, "x": Evil()}, path)
    with pytest.raises(BrandnerError, match="pickled Python objects") as refused:
        safe_load(path)
    # torch's own message suggests weights_only=False, which runs the file's code: never pass that on
    assert "weights_only" not in str(refused.value) and "trust" not in str(refused.value)


def test_a_plain_pickle_is_refused_without_the_unsafe_hint(tmp_path):
    path = tmp_path / "plain.pt"
    path.write_bytes(pickle.dumps({"format": "brandner-model", "obj": Evil()}, protocol=2))
    with pytest.raises(BrandnerError, match="plain.pt: not a brandner file") as refused:
        safe_load(path)
    assert "weights_only" not in str(refused.value)


def _without_encoder(payload):
    del payload["encoder"]


def _a_row_short(payload):
    weight = payload["state_dict"]["char_embedding.weight"]
    payload["state_dict"]["char_embedding.weight"] = weight[:-1]


def _a_newer_setting(payload):
    payload["model_config"]["attention_heads"] = 4


def _a_version_of_text(payload):
    payload["version"] = "2"


@pytest.mark.parametrize("damage, message", [
    (_without_encoder, "cannot rebuild (KeyError: 'encoder')"), (_a_row_short, "cannot rebuild (RuntimeError"),
    (_a_newer_setting, "cannot rebuild (TypeError"), (_a_version_of_text, "written by a newer brandner"),
])
def test_a_model_file_that_does_not_fit_this_version_is_a_one_line_error(tiny_model, tmp_path, damage, message):
    payload = torch.load(tiny_model, weights_only=True)
    damage(payload)
    path = tmp_path / "odd.pt"
    torch.save(payload, path)
    with pytest.raises(BrandnerError, match=r"odd.pt: .*" + re.escape(message)) as error:
        Tagger.load(path)
    assert "\n" not in str(error.value)


def test_summary_is_written_beside_the_model(tiny_model):
    summary = json.loads(summary_path(tiny_model).read_text(encoding="utf-8"))
    assert {"epochs_run", "best_epoch", "dev", "train_seconds", "train_sentences_per_second"} <= set(summary)
    assert 1 <= summary["best_epoch"] <= summary["epochs_run"] <= 8
    assert 0 <= summary["dev"]["f1"] <= 1


def _weights(path):
    return torch.load(resume_path(path), weights_only=True)["model"]["state_dict"]


@pytest.mark.parametrize("schedule", [[], ["lr_decay=0.5"], ["weight_average=0.9"]])
def test_interrupted_training_resumes_to_the_same_weights(tmp_path, schedule):
    train, dev = synthetic_sentences(60), synthetic_sentences(10, seed=1)
    straight = tmp_path / "straight.pt"
    settings = SMALL + schedule + ["max_epochs=4"]
    fit(train, dev, load_config(None, settings), straight)

    interrupted = tmp_path / "interrupted.pt"

    def stop_after_two(event):
        if isinstance(event, EpochEvent) and event.epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(train, dev, load_config(None, settings), interrupted, on_event=stop_after_two)
    assert interrupted.exists() and resume_path(interrupted).exists()  # nothing lost
    summary = fit(train, dev, load_config(None, settings), interrupted, resume=True)
    assert summary["epochs_run"] == 4
    for name, tensor in _weights(straight).items():
        assert torch.equal(tensor, _weights(interrupted)[name]), name
    straight_average = torch.load(resume_path(straight), weights_only=True)["average"]
    interrupted_average = torch.load(resume_path(interrupted), weights_only=True)["average"]
    assert (straight_average is None) == ("weight_average=0.9" not in schedule)
    if straight_average is not None:  # the weights being trained, beside the average in "model"
        assert straight_average["updates"] == interrupted_average["updates"] > 0
        assert all(torch.equal(a, b) for a, b in zip(straight_average["held"], interrupted_average["held"],
                                                     strict=True))


def test_resume_needs_a_resume_file_and_the_same_settings(tmp_path):
    train, dev = synthetic_sentences(20), synthetic_sentences(5, seed=1)
    path = tmp_path / "m.pt"
    with pytest.raises(BrandnerError, match="no resume state"):
        fit(train, dev, load_config(None, SMALL + ["max_epochs=1"]), path, resume=True)
    fit(train, dev, load_config(None, SMALL + ["max_epochs=1"]), path)
    with pytest.raises(BrandnerError, match="different settings: lr"):
        fit(train, dev, load_config(None, SMALL + ["max_epochs=2", "lr=0.5"]), path, resume=True)


def test_a_resume_file_from_before_a_setting_existed_resumes_at_its_default(tmp_path):
    train, dev = synthetic_sentences(20), synthetic_sentences(5, seed=1)
    path = tmp_path / "m.pt"
    fit(train, dev, load_config(None, SMALL + ["max_epochs=1"]), path)
    payload = safe_load(resume_path(path), "brandner-resume")
    del payload["train_config"]["lr_decay"]  # as an older brandner wrote it
    torch.save(payload, resume_path(path))
    assert fit(train, dev, load_config(None, SMALL + ["max_epochs=2"]), path, resume=True)["epochs_run"] == 2
    with pytest.raises(BrandnerError, match="different settings: lr_decay"):
        fit(train, dev, load_config(None, SMALL + ["max_epochs=3", "lr_decay=0.1"]), path, resume=True)


def test_pretrained_vectors_initialise_the_embedding(shared_data, tmp_path):
    from brandner.data.vectors import read_word2vec
    vectors = shared_data / "embeddings-demo" / "char.vec200.demo"
    train, dev = synthetic_sentences(20), synthetic_sentences(5, seed=1)
    path = tmp_path / "m.pt"
    fit(train, dev, load_config(None, SMALL + ["max_epochs=1", "lr=0.000001", f"embeddings='{vectors}'"]), path)
    model, encoder = load_model(path)
    tokens, matrix = read_word2vec(vectors)
    assert model.config.char_dim == 200
    seen = set("".join(s.text for s in train))
    unseen = [t for t in tokens if len(t) == 1 and t not in seen and encoder.normalizer(t) == t]
    assert len(unseen) > 500 and all(t in encoder.chars for t in unseen)  # grown from the vectors
    for char in ["的", unseen[0]]:
        learned = model.char_embedding.table()[encoder.chars.index[char]]
        assert torch.allclose(learned, torch.from_numpy(matrix[tokens.index(char)]), atol=1e-3)


def test_the_model_file_records_the_segmenter(tmp_path):
    train, dev = synthetic_sentences(20), synthetic_sentences(5, seed=1)
    path = tmp_path / "fast.pt"
    fit(train, dev, load_config(None, SMALL + ["max_epochs=1", "segmenter=jieba-fast"]), path)
    tagger = Tagger.load(path)
    assert tagger.encoder.segmenter == "jieba-fast" and tagger.config.segmenter == "jieba-fast"
    assert tagger.predict("我买了特步鞋")["string"] == "我买了特步鞋"


def test_brandners_adam_updates_like_torchs_plain_adam():
    """fit.adam (the fused kernel, for speed) moves the weights as the textbook loop does,
    but for float rounding."""
    from brandner.config import ModelConfig
    from brandner.model.network import BiLSTMTagger
    from brandner.training.optim import adam

    models = []
    for make in (lambda m: adam(m, 1e-3), lambda m: torch.optim.Adam(m.parameters(), lr=1e-3, foreach=False)):
        torch.manual_seed(0)
        model = BiLSTMTagger(ModelConfig(), 30, 5, num_bigrams=40)
        optimizer = make(model)
        gradients = torch.Generator().manual_seed(1)
        for _ in range(20):
            for p in model.parameters():
                p.grad = torch.randn(p.shape, generator=gradients)
            optimizer.step()
        models.append(model)
    for ours, theirs in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


def test_decoding_follows_the_crf_weights_as_the_fused_adam_moves_them():
    """Regression: fused Adam updates weights without bumping their version counters; a
    cache of the CRF's decoding scores keyed on them decoded every later dev evaluation
    with the first epoch's transitions."""
    from brandner.crf.layer import CRF
    from brandner.training.optim import adam

    crf = CRF(3)
    before, version = crf.decoding_scores()[0].copy(), crf.transitions._version
    optimizer = adam(crf, 0.5)
    for p in crf.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    assert crf.transitions._version == version  # the kernel's behaviour that broke the cache
    np.testing.assert_allclose(crf.decoding_scores()[0], crf.transitions.detach().numpy())
    assert not np.allclose(crf.decoding_scores()[0], before)
