"""Vocabularies and encoders grown for more training data (continued training, ``train --init``):
what they had keeps its place, new tokens and tags come after."""

from __future__ import annotations

import numpy as np

from brandner.config import ModelConfig
from brandner.data.encoder import Encoder
from brandner.data.lexicon import Lexicon
from brandner.data.sentence import Sentence, Span
from brandner.data.vocab import PAD, UNK, Vocab


def test_a_grown_vocabulary_keeps_its_learned_ids_and_adds_the_new_tokens_most_frequent_first():
    old = Vocab.build(["aab", "b"])
    grown = old.extended(["dcc", "cdd", "d", "e", "a"], min_count=2)
    assert grown.tokens == [PAD, UNK, "a", "b", "d", "c"]  # e once: below min_count
    assert grown.learned == len(grown) and grown.index["a"] == old.index["a"]
    assert old.tokens == [PAD, UNK, "a", "b"]  # a new vocabulary: the old one as it was


def test_a_fixed_token_now_seen_is_learned_and_extra_tokens_come_after_as_fixed_rows():
    old = Vocab.build(["ab"], extra=["x", "y"])  # x, y from pretrained vectors only
    assert old.learned == 4
    grown = old.extended(["xz"], extra=["w", "y", "a"])
    assert grown.tokens == [PAD, UNK, "a", "b", "x", "z", "y", "w"]
    assert grown.learned == 6  # x now seen in training: learned; y and w fixed
    assert set(old.tokens) <= set(grown.tokens)  # nothing dropped


def _sentences(*items: tuple[str, list[tuple[int, int, str]]]) -> list[Sentence]:
    return [Sentence(text, tuple(Span(*span) for span in spans)) for text, spans in items]


def test_a_grown_encoder_appends_the_tags_of_new_types_and_keeps_the_old_ones_and_their_ids():
    config = ModelConfig()
    old = Encoder.build(_sentences(("我买了特步鞋", [(3, 5, "SHOE")]), ("华为好", [(0, 2, "PHONE")])), config)
    grown = old.extended(_sentences(("喝可乐", [(1, 3, "DRINK")]), ("买安踏", [(1, 3, "SHOE")]),
                                    ("看新闻", [(0, 1, "ALPHA")])))
    assert grown.tags[:len(old.tags)] == old.tags  # PHONE, absent from the new data, is kept
    assert grown.tags[len(old.tags):] == ["B-ALPHA", "I-ALPHA", "E-ALPHA", "S-ALPHA",
                                          "B-DRINK", "I-DRINK", "E-DRINK", "S-DRINK"]
    assert grown.types == ["ALPHA", "DRINK", "PHONE", "SHOE"]
    assert grown.chars.tokens[:len(old.chars)] == old.chars.tokens
    assert set("喝可乐安踏看新闻") <= set(grown.chars.tokens[len(old.chars):])
    assert grown.bigrams.tokens[:len(old.bigrams)] == old.bigrams.tokens and "可乐" in grown.bigrams
    spans = grown.spans(grown.encode_sentence(_sentences(("喝可乐", [(1, 3, "DRINK")]))[0]).tags)
    assert spans == [Span(1, 3, "DRINK")]
    assert grown.normalizer is old.normalizer and grown.segmenter == old.segmenter


def test_a_grown_encoder_keeps_its_lexicon_and_gazetteers_and_the_counts_it_was_trained_with():
    lexicon = Lexicon(["特步", "可乐", "可口可乐", "华为"])
    old = Encoder.build([Sentence("特步特步华为")], ModelConfig(bigram_dim=0))
    old = Encoder(old.normalizer, old.chars, old.tags, lexicon=lexicon, words=Vocab.build([["特步", "特步", "华为"]]),
                  word_counts=np.array([0, 0, 2, 1]), gazetteers={"SHOE": Lexicon(["特步"])})
    grown = old.extended([Sentence("可口可乐和特步可乐")])
    assert grown.lexicon is lexicon and grown.gazetteers == old.gazetteers
    assert grown.words.tokens == [PAD, UNK, "特步", "华为", "可乐", "可口可乐"]
    # 特步 and 华为 keep the counts the network was trained with; the new words are counted here
    # (可乐 inside 可口可乐 does not count: frequency pooling counts outermost words)
    assert grown.word_counts.tolist() == [0, 0, 2, 1, 1, 1]
    assert grown.bigrams is None
