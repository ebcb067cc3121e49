"""Tagger.ensemble, Tagger.load of several files and ``-m A -m B`` on the command line:
tagging with the mean of the members' tag and CRF scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brandner import Tagger
from brandner.crf.decoding import decode
from brandner.crf.forward_backward import forward_backward
from brandner.data.batching import pad
from brandner.errors import BrandnerError
from tests.conftest import brandner, synthetic_sentences, train_tiny, write_jsonl

TEXTS = ["我买了特步鞋", "昨天在店里看到小米和安踏", "", "苹果手机真好用", "推荐耐克给大家", "特"]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> list:
    """Two models of one configuration, seeds 1 and 2, trained briefly so that they disagree."""
    folder = tmp_path_factory.mktemp("ensemble")
    return [train_tiny(folder / f"seed{seed}.pt", f"seed={seed}", sentences=100, epochs=2) for seed in (1, 2)]


def mean_scores(taggers: list[Tagger], text: str) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The members' tag scores for one text and their CRF scores, averaged here by hand."""
    arrays = pad([taggers[0].encoder.encode_text(text)])
    emissions = sum(t.backend.tag_scores(arrays).astype(np.float64) for t in taggers) / len(taggers)
    crf = tuple(sum(parts) / len(taggers) for parts in zip(*(t.backend.crf_scores() for t in taggers)))
    return emissions, crf


def test_one_member_tags_as_the_model_does(tiny_model):
    alone, ensemble = Tagger.load(tiny_model), Tagger.load([tiny_model])
    assert ensemble.predict(TEXTS, scores=True) == alone.predict(TEXTS, scores=True)
    assert ensemble.predict(TEXTS[:2], nbest=3) == alone.predict(TEXTS[:2], nbest=3)
    for got, expected in zip(ensemble.marginals(TEXTS), alone.marginals(TEXTS)):
        np.testing.assert_array_equal(got, expected)


def test_decodes_the_crf_of_the_mean_scores(seeds):
    members = [Tagger.load(path) for path in seeds]
    ensemble = Tagger.ensemble(members)
    assert ensemble.model is None and ensemble.types == members[0].types
    assert members[0].predict(TEXTS, scores=True) != members[1].predict(TEXTS, scores=True)  # else a weak test
    for text in [t for t in TEXTS if t]:
        emissions, crf = mean_scores(members, text)
        lengths = np.array([len(text)])
        path = decode(emissions, lengths, crf)
        expected = [(s, e, t) for s, e, t in ensemble.encoder.batch_valid_spans(path, lengths)[0]]
        assert [(e["start"], e["end"], e["type"]) for e in ensemble.predict(text)["entities"]] == expected
        marginals = forward_backward(emissions, lengths, *crf).unary[0, :len(text)]
        np.testing.assert_allclose(ensemble.marginals(text), marginals, atol=1e-5)


def test_load_takes_a_list_of_files(seeds):
    loaded = Tagger.load([str(p) for p in seeds], batch_size=2)
    built = Tagger.ensemble([Tagger.load(p) for p in seeds])
    assert loaded.predict(TEXTS, scores=True) == built.predict(TEXTS, scores=True)
    assert loaded.batch_size == 2


def test_members_must_encode_alike_and_share_a_head(seeds, tmp_path):
    other_features = train_tiny(tmp_path / "bigrams.pt", "bigram_dim=0", sentences=100, epochs=1)
    with pytest.raises(BrandnerError, match="member 1 encodes text differently"):
        Tagger.load([seeds[0], other_features])
    softmax = train_tiny(tmp_path / "softmax.pt", "head=softmax", sentences=100, epochs=1)
    with pytest.raises(BrandnerError, match="member 1 has a softmax head"):
        Tagger.load([seeds[0], softmax])
    with pytest.raises(ValueError, match="at least one"):
        Tagger.load([])
    with pytest.raises(TypeError):
        Tagger.ensemble(["model.pt"])


def test_evaluate_and_tag_take_several_models(seeds, tmp_path):
    ensemble = Tagger.load(seeds)
    sentences = synthetic_sentences(30, seed=3)
    write_jsonl(tmp_path / "test.jsonl", sentences)
    models = ["-m", str(seeds[0]), "-m", str(seeds[1])]
    result = brandner("evaluate", *models, "--file", "test.jsonl", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(json.dumps(ensemble.evaluate(sentences).to_dict()))
    texts = [s.text for s in sentences]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    expected = [r["entities"] for r in ensemble.predict(texts, scores=True)]
    for workers in ("1", "2"):
        result = brandner("tag", *models, "-i", "texts.txt", "--scores", "--workers", workers, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert [json.loads(line)["entities"] for line in result.stdout.splitlines()] == expected


def test_members_may_differ_in_size_and_backend(seeds, tmp_path):
    """Only the encoding must match: another hidden size joins, and an ONNX export of a member
    tags as that member does (float ONNX gives the PyTorch model's entities)."""
    pytest.importorskip("onnxruntime", reason="ONNX members need pip install 'brandner[onnx]'")
    from brandner.tagging.export import export_model
    wider = train_tiny(tmp_path / "wider.pt", "hidden_size=24", "seed=3", sentences=100, epochs=2)
    export_model(seeds[1], tmp_path / "seed2.onnx")
    mixed = Tagger.load([seeds[0], tmp_path / "seed2.onnx", wider])
    assert mixed.predict(TEXTS) == Tagger.load([seeds[0], seeds[1], wider]).predict(TEXTS)
