"""Radical features (model.radical_dim): the table, encoding, model files that carry the table,
training, continued training and the command line."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from brandner import Tagger
from brandner.config import ModelConfig, load_config
from brandner.data import radicals
from brandner.data.batching import collate
from brandner.data.encoder import Encoder
from brandner.data.radicals import pack, read_radicals, unpack
from brandner.data.sentence import Sentence, Span
from brandner.data.vocab import UNK_ID
from brandner.errors import BrandnerError
from brandner.model.extend import grown_network
from brandner.model.model_file import atomic_save, load_model, model_payload, network_for, safe_load
from brandner.model.network import BiLSTMTagger
from brandner.training.job import fit, training_singletons
from tests.conftest import SMALL, brandner, synthetic_sentences, train_tiny, write_jsonl

TINY = ModelConfig(char_dim=8, seg_dim=4, hidden_size=8, radical_dim=4)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    """An encoder with radicals for the synthetic sentences (module-scoped: built before ``no_package``)."""
    return Encoder.build(synthetic_sentences(20), TINY)


@pytest.fixture
def no_package(monkeypatch):
    """As if the cnradical package were not installed (the table read afresh)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cnradical" else real(name, *a))
    read_radicals.cache_clear()
    yield
    read_radicals.cache_clear()


@pytest.mark.parametrize("char, radical", [("河", "氵"), ("妈", "女"), ("品", "口"), ("鸡", "鸟"), ("鷄", "鳥"),
                                            ("国", "囗"), ("牌", "片"), ("耐", "而"), ("一", "一"), ("㐀", "一")])
def test_known_radicals(char, radical):
    assert read_radicals()[char] == radical


@pytest.mark.parametrize("char", ["a", "A", "1", "，", "。", " ", "😀", "ア", "가", "\U00020000"])
def test_characters_that_are_not_cjk_or_beyond_the_table_have_no_radical(char):
    assert char not in read_radicals()


def test_the_table_has_no_placeholder_radical():
    table = read_radicals()
    assert len(table) == 27476 and len(set(table.values())) == 273
    assert radicals.NO_RADICAL not in table.values() and all(len(r) == 1 for r in table.values())


def test_the_table_is_read_without_unpickling_any_object(tmp_path):
    """The unpickler refuses every class: a pickle that would call a function is an error, not a call."""
    class Evil:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "ran",))

    with pytest.raises(pickle.UnpicklingError, match="plain data only"):
        radicals._PlainData(io.BytesIO(pickle.dumps({"radical": Evil()}))).load()
    assert not (tmp_path / "ran").exists()


def test_a_missing_package_is_a_clear_error(no_package):
    with pytest.raises(BrandnerError, match=r"model.radical_dim needs the cnradical package \(pip install"):
        Encoder.build([Sentence("河", ())], TINY)


def test_pack_and_unpack_are_inverse():
    table = read_radicals()
    packed = pack(table)
    assert unpack(packed) == table and len(packed) == 273 and packed["女"].count("妈") == 1


def test_radical_ids_come_from_the_radicals_of_the_training_characters():
    encoder = Encoder.build([Sentence("我在河边看妈妈", ())], TINY)
    # by count (女 twice), then by code point; <PAD>, <UNK> first
    assert encoder.radicals.tokens == ["<PAD>", "<UNK>", "女", "土", "戈", "氵", "目", "辶"]
    ids = encoder.encode_text("河海a妈湖鸡，").radicals
    index = encoder.radicals.index
    # 海 and 湖 are not training characters but their radical is; a, ， have none; 鸟 was never seen
    assert ids.tolist() == [index["氵"], index["氵"], UNK_ID, index["女"], index["氵"], UNK_ID, UNK_ID]
    assert ids.dtype == np.int64 and encoder.encode_text("").radicals.shape == (0,)
    off = Encoder.build([Sentence("河", ())], dataclasses.replace(TINY, radical_dim=0))
    assert off.radicals is None and off.encode_text("河").radicals is None


def test_radicals_are_read_from_the_normalised_text():
    encoder = Encoder.build([Sentence("河", ())], TINY)
    assert encoder.normalizer("河Ａ") == "河a" and encoder.encode_text("河Ａ").radicals.tolist() == [2, UNK_ID]


def test_collate_pads_radicals():
    encoder = Encoder.build([Sentence("我在河边看妈妈", ())], TINY)
    batch = collate([encoder.encode_text("妈妈在河边"), encoder.encode_text("河")])
    assert batch.radicals.shape == (2, 5) and (batch.radicals[1, 1:] == 0).all()
    assert batch.radicals[1, 0] == encoder.radicals.index["氵"]


def test_encoder_round_trip_carries_the_table_so_tagging_needs_no_package(encoder, no_package):
    saved = json.loads(json.dumps(encoder.to_dict(), ensure_ascii=False))  # as the ONNX metadata holds it
    assert saved["radicals"] == encoder.radicals.tokens and unpack(saved["radical_table"]) == encoder.radical_table
    copy = Encoder.from_dict(saved, TINY)
    for text in ("我买了特步鞋", "河海a妈湖鸡", ""):
        assert np.array_equal(copy.encode_text(text).radicals, encoder.encode_text(text).radicals)


def test_an_encoder_needs_both_or_neither_of_the_vocabulary_and_the_table():
    encoder = Encoder.build([Sentence("河", ())], TINY)
    with pytest.raises(ValueError, match="both a radical vocabulary and a radical table, or neither"):
        dataclasses.replace(encoder, radical_table=None)


def test_extended_grows_the_radicals_and_keeps_their_ids():
    encoder = Encoder.build([Sentence("河边", ())], TINY)
    grown = encoder.extended([Sentence("妈妈看鸡", ())])
    assert grown.radicals.tokens[:len(encoder.radicals)] == encoder.radicals.tokens
    assert set(grown.radicals.tokens[len(encoder.radicals):]) == {"女", "目", "鸟"}
    assert grown.radical_table is encoder.radical_table


def test_a_grown_network_keeps_the_trained_radical_rows(encoder):
    torch.manual_seed(0)
    model = network_for(TINY, encoder)
    grown_encoder = encoder.extended([Sentence("河边的鸡", ())])
    grown = grown_network(model, encoder, grown_encoder, TINY)
    old, new = model.radical_embedding.table().detach(), grown.radical_embedding.table().detach()
    assert new.shape[0] > old.shape[0] and torch.equal(new[:old.shape[0]], old)


def test_continued_training_grows_the_radicals(radical_model, tmp_path):
    more = [Sentence("鸡" + s.text, tuple(Span(span.start + 1, span.end + 1, span.type) for span in s.spans))
            for s in synthetic_sentences(20, seed=3)]
    _, before = load_model(radical_model)
    assert "鸟" not in before.radicals
    fit(more, more[:5], load_config(None, ["max_epochs=1", "workers=1"]), tmp_path / "more.pt", init=radical_model)
    model, after = load_model(tmp_path / "more.pt")
    assert after.radicals.tokens[:len(before.radicals)] == before.radicals.tokens and "鸟" in after.radicals
    assert model.config.radical_dim == 6 and model.radical_embedding.num_embeddings == len(after.radicals)


def test_radicals_never_read_as_unknown_while_training(encoder):
    """unk_replace turns singleton characters (bigrams, lexicon words) into <UNK>, not radicals:
    the radical is what such a character still brings."""
    data = [encoder.encode_text(s.text) for s in synthetic_sentences(20)]
    assert set(training_singletons(data, encoder)) == {"chars", "bigrams"}


def test_config_checks():
    assert ModelConfig().radical_dim == 0 and load_config(None, ["radical_dim=30"]).model.radical_dim == 30
    with pytest.raises(BrandnerError, match=r"model.radical_dim must be >= 0 \(0 turns radicals off\), got -1"):
        ModelConfig(radical_dim=-1)


@pytest.fixture(scope="module")
def radical_model(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("radicals") / "radicals.pt", "radical_dim=6", "bigram_dim=0",
                      "max_chunk_length=40")


def test_a_radical_model_trains_saves_and_tags(radical_model, tmp_path):
    model, encoder = load_model(radical_model)
    assert model.config.radical_dim == 6 and model.radical_embedding.num_embeddings == len(encoder.radicals) > 2
    assert model.lstm.input_size == 16 + 4 + 6
    tagger = Tagger.load(radical_model, backend="torch")
    assert tagger.predict("我买了特步鞋")["entities"] == [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]
    copy = tmp_path / "copy.pt"
    atomic_save(model_payload(model, encoder), copy)
    texts = [s.text for s in synthetic_sentences(30, seed=5)] + ["河海a妈湖鸡"]
    assert Tagger.load(copy, backend="torch").predict(texts, scores=True) == tagger.predict(texts, scores=True)
    assert safe_load(copy)["encoder"]["radical_table"] == pack(read_radicals())


def test_the_radicals_change_the_scores(radical_model):
    """The radical rows feed the LSTM: zeroing them changes the emissions."""
    model, encoder = load_model(radical_model)
    batch = collate([encoder.encode_text("我买了特步鞋")])
    before = model.emissions(batch)
    with torch.no_grad():
        model.radical_embedding.weight.zero_()
    assert not torch.allclose(before, model.emissions(batch))


def test_a_batch_without_radicals_is_refused(radical_model):
    model, encoder = load_model(radical_model)
    with pytest.raises(ValueError, match="reads radicals; the batch has none"):
        model.emissions(dataclasses.replace(collate([encoder.encode_text("特步")]), radicals=None))


def test_a_network_without_the_radical_vocabulary_is_refused():
    with pytest.raises(ValueError, match="radical vocabulary has 0 entries; build the network with"):
        BiLSTMTagger(dataclasses.replace(TINY, bigram_dim=0), 10, 5)


def test_model_files_from_before_radicals_load_with_them_off(radical_model, tmp_path):
    payload = safe_load(radical_model)
    config = ModelConfig(**{**payload["model_config"], "radical_dim": 0})
    encoder = Encoder.from_dict({k: v for k, v in payload["encoder"].items() if not k.startswith("radical")}, config)
    torch.manual_seed(0)
    new, old = tmp_path / "new.pt", tmp_path / "old.pt"
    saved = model_payload(network_for(config, encoder), encoder)
    atomic_save(saved, new)
    del saved["model_config"]["radical_dim"]  # as a file written before radicals existed
    torch.save(saved, old)
    model, loaded = load_model(old)
    assert model.config.radical_dim == 0 and model.radical_embedding is None and loaded.radicals is None
    texts = ["我买了特步鞋", "河海妈"]
    assert Tagger.load(old, backend="torch").predict(texts) == Tagger.load(new, backend="torch").predict(texts)


@pytest.mark.slow
def test_radical_dim_from_the_command_line(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", synthetic_sentences(60))
    write_jsonl(tmp_path / "dev.jsonl", synthetic_sentences(12, seed=1))
    result = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", *SMALL, "--set", "radical_dim=20",
                      "--epochs", "2", "-o", "r.pt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "r.pt.json").read_text(encoding="utf-8"))
    assert summary["config"]["model"]["radical_dim"] == 20
    model, encoder = load_model(tmp_path / "r.pt")
    assert model.radical_embedding.weight.shape == (len(encoder.radicals), 20)
    tagged = brandner("tag", "-m", "r.pt", "我买了特步鞋", cwd=tmp_path)
    assert tagged.returncode == 0 and "我买了特步鞋" in tagged.stdout, tagged.stderr
    bad = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--set", "radical_dim=-3",
                   "-o", "x.pt", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip().splitlines()[-1].endswith(
        "model.radical_dim must be >= 0 (0 turns radicals off), got -3")
