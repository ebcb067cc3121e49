"""Canonical brand names: how spellings meet (name_key), which line wins, errors in a brand list,
and the ``canonical`` key on the Tagger's entities."""

from __future__ import annotations

import re

import pytest

from brandner import Tagger
from brandner.data.lexicon import read_words
from brandner.errors import InputFileError
from brandner.tagging.canonical import CanonicalNames, name_key


@pytest.mark.parametrize("a, b", [("NIKE", "nike"), ("ＮＩＫＥ", "Nike"), ("李寧", "李宁"), ("皮爾卡丹", "皮尔卡丹"),
                                  ("New  Balance", "new balance"), ("\u3000New\tBalance ", "new balance"),
                                  ("ＬＩ－ＮＩＮＧ", "li-ning")])
def test_spellings_of_one_name_share_a_key(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize("a, b", [("耐克", "nike"), ("李宁", "李宁2"), ("new balance", "newbalance"),
                                  ("361度", "000度")])
def test_other_names_do_not(a, b):
    assert name_key(a) != name_key(b)


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_aliases_bare_lines_and_canonical_spellings(tmp_path):
    brands = write(tmp_path / "brands.txt", "耐克\tNike\nNIKE\tNike\n李宁\n\n  new balance \tNew Balance\n特步\t特步\n")
    names = CanonicalNames.read(brands)
    assert names("耐克") == names("ｎｉｋｅ") == names("Nike") == "Nike"  # the canonical name is a name too
    assert names("李寧") == "李宁"  # a bare line is its own canonical name, in any script
    assert names("NEW BALANCE") == "New Balance"
    assert names("特步") == "特步"
    assert names("阿迪达斯") is None and names("耐") is None
    assert len(names) == 5  # 耐克, nike, 李宁, new balance, 特步


def test_an_alias_line_wins_over_a_canonical_spelling_which_wins_over_a_bare_line(tmp_path):
    first = write(tmp_path / "a.txt", "nike\n阿迪\tadidas\n")
    second = write(tmp_path / "b.txt", "耐克\tNike\nADIDAS\tAdidas AG\n")
    names = CanonicalNames.read([first, second])
    assert names("NIKE") == "Nike"  # "Nike", canonical of b.txt:1, beats the bare "nike" of a.txt:1
    assert names("adidas") == "Adidas AG"  # the alias line b.txt:2 beats a.txt:2's canonical spelling
    assert names("阿迪") == "adidas"  # an alias keeps the canonical name its line gives


def test_the_first_bare_spelling_wins(tmp_path):
    names = CanonicalNames.read(write(tmp_path / "brands.txt", "Nike\nNIKE\nnike\n"))
    assert names("nike") == "Nike"


def test_one_alias_of_two_brands_names_both_lines(tmp_path):
    first = write(tmp_path / "a.txt", "苹果\tApple\n")
    second = write(tmp_path / "b.txt", "华为\tHuawei\n蘋果\t苹果手机\n")
    with pytest.raises(InputFileError) as caught:
        CanonicalNames.read([first, second])
    assert str(caught.value) == (f"{second}:2: '蘋果' is an alias of '苹果手机' here and of 'Apple' at {first}:1")


def test_the_same_alias_twice_for_one_brand_is_fine(tmp_path):
    names = CanonicalNames.read(write(tmp_path / "brands.txt", "耐克\tNike\n耐克\tNike\nNIKE\tNike\n"))
    assert names("耐克") == "Nike"


@pytest.mark.parametrize("line, message", [("a\tb\tc", "got 2 tab(s) and 3 name(s)"),
                                           ("\tNike", "got 1 tab(s) and 1 name(s)"),
                                           ("耐克\t ", "got 1 tab(s) and 1 name(s)"),
                                           ("x" * 101, "an entry of 101 characters")])
def test_bad_lines_name_their_line(tmp_path, line, message):
    brands = write(tmp_path / "brands.txt", f"李宁\n{line}\n")
    with pytest.raises(InputFileError, match=f"^{re.escape(str(brands))}:2: .*{re.escape(message)}"):
        CanonicalNames.read(brands)


def test_a_brand_list_as_a_word_list_gives_both_names(tmp_path):
    brands = write(tmp_path / "brands.txt", "耐克\tNike\n李宁\nＮＩＫＥ\tNike\n")
    assert read_words(str(brands)) == ["耐克", "Nike", "李宁", "ＮＩＫＥ"]
    assert read_words(str(brands), str.lower) == ["耐克", "nike", "李宁", "ｎｉｋｅ"]


def test_annotate_adds_the_key_only_where_the_list_names_the_word():
    entities = [{"word": "耐克", "type": "SHOE"}, {"word": "安踏", "type": "SHOE"}]
    CanonicalNames({"耐克": "Nike"}).annotate(entities)
    assert entities == [{"word": "耐克", "type": "SHOE", "canonical": "Nike"}, {"word": "安踏", "type": "SHOE"}]


@pytest.fixture(scope="module")
def brands(tmp_path_factory):
    return write(tmp_path_factory.mktemp("brands") / "brands.txt", "特步\tXtep\n耐克\tNike\nNIKE\tNike\n华为\n")


def test_tagger_entities_carry_canonical_names(tiny_model, brands):
    tagger = Tagger.load(tiny_model, canonical=brands)
    plain = Tagger.load(tiny_model)
    texts = ["我买了特步鞋", "昨天在店里看到耐克和安踏", "华为手机真好用"]
    results = tagger.predict(texts, scores=True)
    expected = plain.predict(texts, scores=True)
    for result, without in zip(results, expected):
        for entity, bare in zip(result["entities"], without["entities"]):
            names = {"特步": "Xtep", "耐克": "Nike", "华为": "华为"}
            assert entity == ({**bare, "canonical": names[bare["word"]]} if bare["word"] in names else bare)
    assert [e.get("canonical") for e in results[1]["entities"]] == ["Nike", None]  # found by the tiny model
    nbest = tagger.predict("我买了特步鞋", nbest=2)
    assert nbest[0]["entities"][0]["canonical"] == "Xtep"


def test_an_ensemble_and_a_list_of_files(tiny_model, brands, tmp_path):
    more = write(tmp_path / "more.txt", "安踏\tAnta\n")
    tagger = Tagger.load([tiny_model, tiny_model], canonical=[brands, more])
    words = {e["word"]: e.get("canonical") for e in tagger.predict("昨天在店里看到耐克和安踏")["entities"]}
    assert words == {"耐克": "Nike", "安踏": "Anta"}


def test_a_bad_brand_list_fails_at_load(tiny_model, tmp_path):
    with pytest.raises(InputFileError, match=":1: "):
        Tagger.load(tiny_model, canonical=write(tmp_path / "bad.txt", "a\tb\tc\n"))
