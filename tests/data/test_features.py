"""Bigram and lexicon features: encoding on worked examples, batching, training,
and model files that carry them (old files without them still load)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from brandner import Tagger
from brandner.config import Config, ModelConfig, load_config
from brandner.data.batching import collate
from brandner.data.encoder import LEXICON_SLOTS, Encoder
from brandner.data.features import bigrams
from brandner.data.lexicon import BEGIN, END, INSIDE, NUM_POSITIONS, SINGLE, outermost
from brandner.data.sentence import Sentence
from brandner.data.vocab import UNK_ID
from brandner.errors import BrandnerError
from brandner.model.model_file import atomic_save, load_model, model_payload, network_for, safe_load
from brandner.model.network import BiLSTMTagger
from brandner.training.job import fit
from brandner.training.steps import singleton_ids, with_unknowns
from tests.conftest import synthetic_sentences

TEXT = "我买了富士康手机"
SMALL = ["max_epochs=6", "char_dim=16", "seg_dim=4", "hidden_size=16", "dropout=0.1", "lr=0.02",
         "bigram_dim=8", "lexicon_dim=8"]


@pytest.fixture
def words_file(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("富士\n富士康\n士康\n手机\n我\n康\n鞋\n新款\n", encoding="utf-8")
    return path


def words_at(encoder: Encoder, ids: np.ndarray) -> dict[tuple[int, int], set[str]]:
    """The lexicon ids of one text as {(char, position): words}."""
    found: dict[tuple[int, int], set[str]] = {}
    for char, position, slot in zip(*np.nonzero(ids)):
        found.setdefault((int(char), int(position)), set()).add(encoder.words.tokens[ids[char, position, slot]])
    return found


def test_bigrams_of_a_sentence():
    assert bigrams(TEXT) == ["我买", "买了", "了富", "富士", "士康", "康手", "手机", "机</s>"]
    assert bigrams("我") == ["我</s>"] and bigrams("") == []


def test_bigram_ids_come_from_the_training_vocabulary():
    encoder = Encoder.build([Sentence("我买了", ())], ModelConfig(bigram_dim=4))
    assert encoder.bigrams.tokens[2:] == sorted(["我买", "买了", "了</s>"])
    ids = encoder.encode_text("我买了鞋").bigrams
    assert [encoder.bigrams.tokens[i] for i in ids] == ["我买", "买了", "<UNK>", "<UNK>"]
    assert Encoder.build([Sentence("我", ())], ModelConfig(bigram_dim=0)).encode_text("我").bigrams is None


def test_lexicon_words_by_position_worked_example(words_file):
    encoder = Encoder.build([Sentence(TEXT, ())], ModelConfig(lexicon=str(words_file)))
    assert set(encoder.words.tokens[2:]) == {"我", "富士", "富士康", "士康", "康", "手机"}  # found in training
    ids = encoder.encode_text(TEXT).lexicon
    assert ids.shape == (8, 4, LEXICON_SLOTS)
    assert words_at(encoder, ids) == {
        (0, SINGLE): {"我"},
        (3, BEGIN): {"富士", "富士康"},
        (4, INSIDE): {"富士康"}, (4, END): {"富士"}, (4, BEGIN): {"士康"},
        (5, END): {"富士康", "士康"}, (5, SINGLE): {"康"},
        (6, BEGIN): {"手机"}, (7, END): {"手机"}}


def test_lexicon_words_unseen_in_training_read_as_unknown(words_file):
    encoder = Encoder.build([Sentence(TEXT, ())], ModelConfig(lexicon=str(words_file)))
    ids = encoder.encode_text("新款鞋").lexicon  # in the word list, not in the training text
    assert ids[0, BEGIN, 0] == UNK_ID and ids[1, END, 0] == UNK_ID and ids[2, SINGLE, 0] == UNK_ID
    assert np.count_nonzero(ids) == 3


def test_lexicon_words_are_normalised_like_the_text(tmp_path):
    path = tmp_path / "brands.txt"
    path.write_text("ＮＥＷ Balance\n", encoding="utf-8")
    encoder = Encoder.build([Sentence("买new balance鞋", ())], ModelConfig(lexicon=str(path)))
    assert words_at(encoder, encoder.encode_text("买NEW BALANCE鞋").lexicon) == {
        (1, BEGIN): {"new balance"}, **{(i, INSIDE): {"new balance"} for i in range(2, 11)},
        (11, END): {"new balance"}}


def test_extra_words_beyond_the_slots_are_dropped(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("\n".join("a" * k for k in range(2, 9)), encoding="utf-8")
    encoder = Encoder.build([Sentence("a" * 8, ())], ModelConfig(lexicon=str(path)))
    ids = encoder.encode_text("a" * 8).lexicon
    assert (ids[0, BEGIN] > 0).all()  # seven words begin at 0, four kept
    assert [encoder.words.tokens[i] for i in ids[0, BEGIN]] == ["aa", "aaa", "aaaa", "aaaaa"]


def test_outermost_matches_are_those_no_other_match_covers():
    assert outermost([(0, 1), (3, 5), (3, 6), (4, 6), (5, 6), (6, 8)]) == [(0, 1), (3, 6), (6, 8)]
    assert outermost([(2, 4), (2, 4), (1, 3)]) == [(1, 3), (2, 4)]  # overlapping, not covering: both
    assert outermost([(0, 4), (1, 2), (0, 2), (2, 4)]) == [(0, 4)] and outermost([]) == []


def test_lexicon_word_counts_skip_occurrences_inside_longer_words(words_file):
    """SoftLexicon's frequencies: 富士 and 士康 occur only inside 富士康 and count 0."""
    texts = [TEXT, "富士手机", "手机"]
    config = ModelConfig(lexicon=str(words_file))
    encoder = Encoder.build([Sentence(t, ()) for t in texts], config)
    counts = dict(zip(encoder.words.tokens, encoder.word_counts.tolist()))
    assert counts == {"<PAD>": 0, "<UNK>": 0, "富士": 1, "富士康": 1, "士康": 0, "手机": 3, "我": 1, "康": 0}
    weights = dict(zip(encoder.words.tokens, encoder.word_weights().tolist()))
    assert weights["<PAD>"] == 0 and weights["<UNK>"] == 1 and weights["手机"] == 4 and weights["康"] == 1
    copy = Encoder.from_dict(encoder.to_dict(), config)
    assert np.array_equal(copy.word_counts, encoder.word_counts)
    data = encoder.to_dict()
    del data["lexicon_counts"]  # a file from before the counts were kept
    assert Encoder.from_dict(data, config).word_counts is None
    twin = dataclasses.replace(encoder, word_counts=encoder.word_counts.copy())
    assert encoder == encoder and encoder != twin  # identity, not numpy's ambiguous element-wise ==
    with pytest.raises(BrandnerError, match="no lexicon word counts"):
        Encoder.from_dict(data, config).word_weights()


def test_frequency_pooling_worked_example(words_file):
    """A character's vector at each position: positions * sum(weight * vector) / the weights
    of all its words; the mean pooling averages within each position instead."""
    texts = [TEXT, "富士手机", "手机"]
    encoder = Encoder.build([Sentence(t, ()) for t in texts], ModelConfig(lexicon=str(words_file)))
    batch = collate([encoder.encode_text(TEXT)])
    found = words_at(encoder, batch.lexicon[0].numpy())
    assert found[(4, INSIDE)] == {"富士康"} and found[(4, END)] == {"富士"} and found[(4, BEGIN)] == {"士康"}
    config = ModelConfig(char_dim=4, seg_dim=2, hidden_size=4, bigram_dim=0, lexicon=str(words_file),
                         lexicon_dim=3, lexicon_pooling="frequency")
    torch.manual_seed(0)
    model = network_for(config, encoder)
    vector = {w: model.word_embedding.table()[i] for i, w in enumerate(encoder.words.tokens)}
    weight = {w: float(encoder.word_weights()[i]) for i, w in enumerate(encoder.words.tokens)}
    pooled = model.embed(batch)[0, :, -NUM_POSITIONS * 3:].reshape(len(TEXT), NUM_POSITIONS, 3)
    for char in range(len(TEXT)):
        total = sum(weight[w] for p in range(NUM_POSITIONS) for w in found.get((char, p), ()))
        for position in range(NUM_POSITIONS):
            words = found.get((char, position), ())
            expected = sum((weight[w] * vector[w] for w in words), torch.zeros(3))
            expected = expected * NUM_POSITIONS / total if total else expected
            torch.testing.assert_close(pooled[char, position], expected)
    assert weight["富士"] == 2 and weight["士康"] == 1  # so 士 leans to 富士康's and 富士's vectors
    mean = network_for(dataclasses.replace(config, lexicon_pooling="mean"), encoder)
    mean.load_state_dict(model.state_dict())  # the weights are not in the state: same keys
    pooled_mean = mean.embed(batch)[0, 4, -NUM_POSITIONS * 3:].reshape(NUM_POSITIONS, 3)
    torch.testing.assert_close(pooled_mean[END], vector["富士"])


def test_frequency_pooling_needs_the_weights(words_file):
    encoder = Encoder.build([Sentence(TEXT, ())], ModelConfig(lexicon=str(words_file)))
    config = ModelConfig(lexicon=str(words_file), lexicon_pooling="frequency")
    with pytest.raises(ValueError, match="frequency pooling needs a weight for each"):
        BiLSTMTagger(config, len(encoder.chars), len(encoder.tags), num_bigrams=len(encoder.bigrams),
                     num_words=len(encoder.words))
    with pytest.raises(BrandnerError, match="lexicon_pooling must be one of mean, frequency"):
        ModelConfig(lexicon_pooling="max")


def test_encoder_round_trip_keeps_the_features(words_file):
    config = ModelConfig(bigram_dim=4, lexicon=f"jieba,{words_file}")
    encoder = Encoder.build([Sentence(TEXT, ())], config)
    assert "士康" in encoder.lexicon.words and "海淀区" in encoder.lexicon.words  # the file's and jieba's
    copy = Encoder.from_dict(encoder.to_dict(), config)
    for text in (TEXT, "新款鞋", "康"):
        a, b = encoder.encode_text(text), copy.encode_text(text)
        assert np.array_equal(a.bigrams, b.bigrams) and np.array_equal(a.lexicon, b.lexicon)


def test_collate_pads_bigrams_and_lexicon(words_file):
    encoder = Encoder.build([Sentence(TEXT, ())], ModelConfig(bigram_dim=4, lexicon=str(words_file)))
    batch = collate([encoder.encode_text(TEXT), encoder.encode_text("手机")])
    assert batch.bigrams.shape == (2, 8) and batch.lexicon.shape == (2, 8, 4, LEXICON_SLOTS)
    assert (batch.bigrams[1, 2:] == 0).all() and (batch.lexicon[1, 2:] == 0).all()
    assert torch.equal(batch.lexicon[1, :2], torch.from_numpy(encoder.encode_text("手机").lexicon))


def test_singleton_bigrams_and_words_can_become_unknown(words_file):
    encoder = Encoder.build([Sentence(TEXT, ())], ModelConfig(bigram_dim=4, lexicon=str(words_file)))
    data = [encoder.encode_text(TEXT), encoder.encode_text("手机手机")]
    words = singleton_ids(data, len(encoder.words), "lexicon")
    index = encoder.words.index
    assert words[index["富士康"]] and not words[index["手机"]]  # 手机 occurs three times, counted once each
    batch = collate(data)
    torch.manual_seed(0)
    replaced = with_unknowns(batch, words, 0.999, "lexicon")
    assert not (replaced.lexicon == index["富士康"]).any() and (replaced.lexicon == index["手机"]).any()
    assert torch.equal(replaced.chars, batch.chars)
    bigram_singletons = singleton_ids(data, len(encoder.bigrams), "bigrams")
    first = with_unknowns(batch, bigram_singletons, 0.999, "bigrams").bigrams[0]
    assert (first[:6] == UNK_ID).all() and (first[6:] == batch.bigrams[0, 6:]).all()  # 手机, 机</s> occur twice


def test_config_round_trip_and_checks():
    config = load_config(None, ["bigram_dim=50", "lexicon=jieba,brands.txt", "lexicon_dim=30"])
    assert (config.model.bigram_dim, config.model.lexicon, config.model.lexicon_dim) == (50, ("jieba", "brands.txt"), 30)
    assert Config.from_dict(config.to_dict()) == config
    assert load_config(None, ['lexicon=["jieba", "brands.txt"]']).model.lexicon == ("jieba", "brands.txt")
    with pytest.raises(BrandnerError, match="bigram_dim must be >= 0"):
        ModelConfig(bigram_dim=-1)
    with pytest.raises(BrandnerError, match="model.lexicon must list"):
        ModelConfig(lexicon="jieba,,x")
    with pytest.raises(BrandnerError, match="lexicon_dim must be positive"):
        ModelConfig(lexicon_dim=0)


@pytest.fixture(scope="module")
def feature_model(tmp_path_factory) -> tuple:
    directory = tmp_path_factory.mktemp("features")
    words = directory / "words.txt"
    words.write_text("特步\n耐克\n新款\n手机\n好用\n", encoding="utf-8")
    path = directory / "features.pt"
    summary = fit(synthetic_sentences(200), synthetic_sentences(40, seed=1),
                  load_config(None, SMALL + [f"lexicon={words}"]), path)
    return path, summary


def test_a_model_with_both_features_trains_and_tags(feature_model):
    path, summary = feature_model
    assert summary["dev"]["f1"] > 0.8
    model, encoder = load_model(path)
    assert model.config.bigram_dim == 8 and model.bigram_embedding.num_embeddings == len(encoder.bigrams)
    assert model.word_embedding.num_embeddings == len(encoder.words) > 2
    result = Tagger.load(path).predict("我买了特步鞋")
    assert result["entities"] == [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]


def test_model_file_round_trip_with_features(feature_model, tmp_path):
    path, _ = feature_model
    model, encoder = load_model(path)
    copy = tmp_path / "copy.pt"
    atomic_save(model_payload(model, encoder), copy)
    texts = ["我买了特步鞋", "华为和小米的新款", "推荐耐克给大家"]
    assert Tagger.load(copy).predict(texts) == Tagger.load(path).predict(texts)
    saved = safe_load(copy)["encoder"]
    assert saved["lexicon"].split("\n") == sorted(["特步", "耐克", "新款", "手机", "好用"])


def test_a_frequency_pooling_model_trains_saves_and_tags(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("特步\n耐克\n新款\n手机\n好用\n", encoding="utf-8")
    path = tmp_path / "frequency.pt"
    summary = fit(synthetic_sentences(200), synthetic_sentences(40, seed=1),
                  load_config(None, SMALL + [f"lexicon={words}", "lexicon_pooling=frequency"]), path)
    assert summary["dev"]["f1"] > 0.8
    model, encoder = load_model(path)
    assert model.config.lexicon_pooling == "frequency" and encoder.word_counts.sum() > 0
    torch.testing.assert_close(model.word_weights, torch.from_numpy(encoder.word_weights()))
    assert "word_weights" not in model.state_dict()  # they come from the encoder
    tagger = Tagger.load(path)
    assert tagger.predict("我买了特步鞋")["entities"] == [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]
    texts = [s.text for s in synthetic_sentences(30, seed=5)]
    assert Tagger.from_model(model, encoder).predict(texts) == tagger.predict(texts)


def test_model_files_from_before_the_features_load_with_them_off(tmp_path):
    config = ModelConfig(char_dim=8, seg_dim=4, hidden_size=8, bigram_dim=0)  # what older files held
    encoder = Encoder.build(synthetic_sentences(20), config)
    torch.manual_seed(0)
    new = tmp_path / "new.pt"
    atomic_save(model_payload(network_for(config, encoder), encoder), new)
    payload = safe_load(new)
    for key in ("bigram_dim", "lexicon", "lexicon_dim", "gazetteers", "lexicon_pooling", "radical_dim"):
        del payload["model_config"][key]
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    model, _ = load_model(old)  # the bigram default (on) must not apply to a file without the key
    assert model.config.bigram_dim == 0 and model.config.lexicon == () and model.config.gazetteers == ()
    assert model.bigram_embedding is None and model.word_embedding is None
    texts = ["我买了特步鞋", "华为手机"]
    assert Tagger.load(old).predict(texts) == Tagger.load(new).predict(texts)


def test_a_batch_without_the_features_the_model_reads_is_refused(feature_model):
    model, encoder = load_model(feature_model[0])
    batch = dataclasses.replace(collate([encoder.encode_text("特步")]), bigrams=None)
    with pytest.raises(ValueError, match="reads bigrams"):
        model.emissions(batch)


def test_a_network_without_the_vocabulary_sizes_is_refused():
    encoder = Encoder.build(synthetic_sentences(5), ModelConfig(char_dim=4, seg_dim=2, hidden_size=4))
    with pytest.raises(ValueError, match="bigram vocabulary has 0 entries; build the network with"):
        BiLSTMTagger(ModelConfig(bigram_dim=4), len(encoder.chars), len(encoder.tags))
