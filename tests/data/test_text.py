"""Normalisation keeps offsets; long text splits into chunks that cover it exactly."""

from __future__ import annotations

import random

import pytest

from brandner.data.features import segment_ids, word_positions
from brandner.data.text import Normalizer, split_chunks


def test_normalisation_is_character_for_character():
    text = "ＡＢＣ　ａｂｃ１２３İSTANBUL Ǆ ẞ ½ ١٢ 特步😀"
    for options in [(True, True, True), (False, False, False), (True, False, True)]:
        out = Normalizer(*options)(text)
        assert len(out) == len(text)
    assert Normalizer(zero_digits=True)("ＡＢＣ　１２3特步") == "abc 000特步"
    assert Normalizer()("Nike耐克") == "nike耐克"
    assert Normalizer(lowercase=False)("Ｎike") == "Nike"


def test_random_unicode_never_moves_offsets():
    rng = random.Random(0)
    normalizer = Normalizer(zero_digits=True)
    for _ in range(200):
        text = "".join(chr(rng.randrange(0x20, 0x2FFFF)) for _ in range(30))
        assert len(normalizer(text)) == len(text)


def test_segment_ids_follow_jieba_words():
    assert segment_ids("我买了富士康手机") == [0, 0, 0, 1, 2, 3, 1, 3]
    assert word_positions([1, 2, 3, 4]) == [0, 1, 3, 1, 2, 3, 1, 2, 2, 3]
    for text in ["", " ", "  OK 2023年!!", "\t\n", "😀😀 emoji"]:
        assert len(segment_ids(text)) == len(text)


@pytest.mark.parametrize("max_length", [1, 3, 7, 50])
def test_chunks_cover_the_text_in_order(max_length):
    text = "今天天气很好。我买了特步鞋！还有耐克的？没有标点的很长很长很长很长的一段文字" * 3
    chunks = split_chunks(text, max_length)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
    assert all(0 < end - start <= max_length for start, end in chunks)


def test_chunks_prefer_sentence_ends():
    assert split_chunks("你好。我买了鞋！", 6) == [(0, 3), (3, 8)]
    assert split_chunks("abcdefghij", 4) == [(0, 4), (4, 8), (8, 10)]
    assert split_chunks("", 5) == [(0, 0)]
    with pytest.raises(ValueError):
        split_chunks("abc", 0)


def test_a_long_text_is_cut_into_its_sentences():
    # each sentence alone (not packed up to the limit), with the ends and closing quotes that follow
    assert split_chunks("你好。我买了鞋！", 100) == [(0, 8)]  # fits: one piece
    text = "他说：“好！！”买鞋。\r\n卖鞋？）很好"
    assert [text[s:e] for s, e in split_chunks(text, 10)] == ["他说：“好！！”", "买鞋。\r\n", "卖鞋？）", "很好"]


def test_chunks_without_sentence_ends_cut_after_a_comma_or_space():
    # Was cut hard at max_length, which split 阿迪达斯 across two chunks.
    text = "买了耐克的鞋子，阿迪达斯的衣服"
    assert split_chunks(text, 10) == [(0, 8), (8, 15)]
    assert split_chunks("nike air max 90", 10) == [(0, 9), (9, 15)]
    # A sentence end before a later comma still wins.
    assert split_chunks("好。买了耐克，阿迪达斯", 8) == [(0, 2), (2, 7), (7, 11)]


def test_the_fast_segmenter_gives_the_same_kind_of_ids():
    from brandner.data.features import SEGMENTERS
    assert SEGMENTERS == ("jieba", "jieba-fast")
    assert segment_ids("我买了富士康手机", "jieba-fast") == [0, 0, 0, 1, 2, 3, 1, 3]
    for text in ["", " ", "1.2米电脑桌", "😀 emoji"]:
        assert len(segment_ids(text, "jieba-fast")) == len(text)


def test_an_unknown_segmenter_is_an_error():
    from brandner.errors import BrandnerError
    with pytest.raises(BrandnerError, match="unknown segmenter"):
        segment_ids("abc", "thulac")
