"""The fast path by default: a model file tagged through onnxruntime, its graph exported once and cached."""

from __future__ import annotations

import subprocess
import sys

import pytest

from brandner import Tagger
from brandner.tagging import loading, onnx_cache
from brandner.tagging.onnx_backend import OnnxBackend
from brandner.tagging.torch_backend import TorchBackend
from tests.conftest import synthetic_sentences

pytest.importorskip("onnxruntime", reason="the default ONNX path needs onnxruntime (pip install '.[onnx]')")

TEXTS = [s.text for s in synthetic_sentences(60, seed=11)] + ["我买了特步鞋，" * 30, "", "😀安踏😀", "ＡＢＣ耐克"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BRANDNER_CACHE", str(folder))
    return folder


def entities(results: list[dict]) -> list[list[tuple]]:
    return [[(e["start"], e["end"], e["type"]) for e in r["entities"]] for r in results]


def test_a_model_file_tags_through_onnxruntime_with_the_entities_of_pytorch(tiny_model, cache):
    fast, torch_tagger = Tagger.load(tiny_model), Tagger.load(tiny_model, backend="torch")
    assert isinstance(fast.backend, OnnxBackend) and fast.model is None
    assert isinstance(torch_tagger.backend, TorchBackend) and torch_tagger.model is not None
    expected = torch_tagger.predict(TEXTS, scores=True)
    got = fast.predict(TEXTS, scores=True)
    assert entities(got) == entities(expected) and sum(map(len, entities(got))) > 50
    for mine, theirs in zip(got, expected):
        assert [e["score"] for e in mine["entities"]] == pytest.approx([e["score"] for e in theirs["entities"]],
                                                                        abs=1e-3)
    assert [p.name for p in (cache / "onnx").iterdir()] == [onnx_cache.cached_graph(tiny_model).name]


def test_a_second_load_reads_the_cached_graph_without_pytorch(tiny_model, cache):
    Tagger.load(tiny_model)  # exports into the cache
    code = ("import sys; from brandner import Tagger; t = Tagger.load(sys.argv[1]); "
            "print(t.predict('我买了特步鞋')['entities'][0]['word'], 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, str(tiny_model)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["特步", "False"]


def test_the_cache_is_named_by_content_so_a_changed_model_is_exported_again(tiny_model, tmp_path, cache):
    copy = tmp_path / "copy.pt"
    copy.write_bytes(tiny_model.read_bytes())
    assert onnx_cache.cached_graph(copy) == onnx_cache.cached_graph(tiny_model)
    copy.write_bytes(tiny_model.read_bytes() + b"\0")
    assert onnx_cache.cached_graph(copy) != onnx_cache.cached_graph(tiny_model)


def test_an_unwritable_cache_exports_in_memory(tiny_model, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BRANDNER_CACHE", str(blocker))
    fast = Tagger.load(tiny_model)
    assert isinstance(fast.backend, OnnxBackend)
    assert entities(fast.predict(TEXTS)) == entities(Tagger.load(tiny_model, backend="torch").predict(TEXTS))


def test_a_damaged_cached_graph_is_exported_again(tiny_model, cache):
    Tagger.load(tiny_model)
    graph = onnx_cache.cached_graph(tiny_model)
    graph.write_bytes(b"\x08garbage")
    assert Tagger.load(tiny_model).predict("我买了特步鞋")["entities"][0]["word"] == "特步"
    assert graph.stat().st_size > 1000


def test_without_onnxruntime_the_default_is_pytorch_and_onnx_is_an_error(tiny_model, cache, monkeypatch):
    monkeypatch.setattr(loading, "onnxruntime_available", lambda: False)
    assert isinstance(Tagger.load(tiny_model).backend, TorchBackend)
    assert isinstance(Tagger.load(tiny_model, int8=True).backend, TorchBackend)  # int8 is PyTorch's
    with pytest.raises(ValueError, match="backend must be one of auto, onnx, torch"):
        Tagger.load(tiny_model, backend="gpu")


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("BRANDNER_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert onnx_cache.cache_folder() == tmp_path / "brandner"
    monkeypatch.setenv("BRANDNER_CACHE", str(tmp_path / "mine"))
    assert onnx_cache.cache_folder() == tmp_path / "mine"
