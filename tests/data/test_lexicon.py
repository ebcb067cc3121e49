"""The word-list matcher: every occurrence, checked against a brute-force scan of all windows."""

from __future__ import annotations

import random

import pytest

from brandner.data.lexicon import BEGIN, END, INSIDE, SINGLE, Lexicon, positions, read_lexicon, read_words
from brandner.errors import BrandnerError


def brute_force(words: set[str], text: str) -> list[tuple[int, int]]:
    longest = max(map(len, words), default=0)
    return [(i, j) for i in range(len(text)) for j in range(i + 1, min(len(text), i + longest) + 1)
            if text[i:j] in words]


def test_finds_overlapping_and_nested_words():
    lexicon = Lexicon(["富士", "富士康", "士康", "手机", "我", "康", ""])
    assert lexicon.matches("我买了富士康手机") == [(0, 1), (3, 5), (3, 6), (4, 6), (5, 6), (6, 8)]
    assert len(lexicon) == 6  # the empty word is dropped
    assert lexicon.matches("") == []


def test_positions_of_characters_in_their_words():
    assert list(positions([(0, 1), (3, 6)])) == [(0, SINGLE, 0), (3, BEGIN, 1), (4, INSIDE, 1), (5, END, 1)]


@pytest.mark.parametrize("seed", range(20))
def test_matcher_agrees_with_a_brute_force_scan(seed):
    rng = random.Random(seed)
    alphabet = "abcd"  # few letters, so words overlap and nest often
    words = {"".join(rng.choices(alphabet, k=rng.randint(1, 5))) for _ in range(rng.randint(1, 30))}
    text = "".join(rng.choices(alphabet + "x", k=rng.randint(0, 60)))
    assert Lexicon(words).matches(text) == brute_force(words, text)


def test_jieba_dictionary_against_brute_force():
    words = read_words("jieba")
    assert len(words) > 300_000 and "富士康" in words
    text = "我买了富士康手机，顺丰快递明天到北京市海淀区"
    assert Lexicon(words).matches(text) == brute_force(set(words), text)


def test_word_files_keep_whole_lines_and_normalise(tmp_path):
    path = tmp_path / "brands.txt"
    path.write_text("New Balance\n\n  特步 \nNew Balance\n", encoding="utf-8")
    assert read_words(str(path), str.lower) == ["new balance", "特步"]


def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path):
    path = tmp_path / "brands.txt"
    path.write_bytes("\ufeff华为\n小米\n".encode())
    assert read_words(str(path)) == ["华为", "小米"]
    assert read_lexicon([str(path)]).matches("我买了华为手机和小米") == [(3, 5), (8, 10)]


def test_missing_or_binary_word_files_name_the_path(tmp_path):
    with pytest.raises(BrandnerError, match="nope.txt: word list not found"):
        read_words(str(tmp_path / "nope.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_bytes("特步\n".encode() + b"\xff\xfe\n")
    with pytest.raises(BrandnerError, match="bad.txt:2: not UTF-8"):
        read_words(str(bad))
    bad.write_bytes("\ufeff特步\n李宁\n".encode() + b"\xff\n")
    with pytest.raises(BrandnerError, match="bad.txt:3: not UTF-8"):  # the byte-order mark moves no line
        read_words(str(bad))


def test_an_entry_longer_than_a_word_is_refused(tmp_path):
    # A file whose lines end in \r alone was one entry of 37,409 characters, and its prefixes took 1.4 GB.
    path = tmp_path / "cr.txt"
    path.write_bytes("特步\n".encode() + "\r".join(f"品牌{i}" for i in range(40)).encode() + b"\n")
    with pytest.raises(BrandnerError, match=r"cr.txt:2: an entry of 189 characters \(at most 100\)"):
        read_words(str(path))
    path.write_text("特" * 100 + "\n", encoding="utf-8")
    assert read_words(str(path)) == ["特" * 100]


def test_reading_jiebas_dictionary_leaves_no_file_open():
    import gc
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_words("jieba")
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
