"""train.gazetteer_swaps: training copies whose listed entities are invented names, read as listed."""

from __future__ import annotations

import random

import numpy as np
import pytest

from brandner.config import ModelConfig, load_config
from brandner.data.encoder import Encoder
from brandner.data.lexicon import Lexicon
from brandner.data.sentence import Sentence, Span
from brandner.data.swaps import MAX_NAME, NameMaker, gazetteer_swaps, swapped_copy
from brandner.errors import BrandnerError
from brandner.training.job import fit
from tests.data.test_gazetteers import random_words, sentences

BRANDS = ["特步", "安踏", "李宁", "耐克", "nike", "阿迪达斯"]


def test_a_swapped_copy_replaces_the_entities_of_the_named_types_and_shifts_the_others():
    sentence = Sentence("特步和苹果手机，安踏好", (Span(0, 2, "HP"), Span(3, 7, "HC"), Span(8, 10, "HP")))
    names = iter(["宝丽雅", "康"])
    copy, replaced = swapped_copy(sentence, lambda t: next(names) if t == "HP" else None)
    assert copy.text == "宝丽雅和苹果手机，康好"
    assert copy.spans == (Span(0, 3, "HP"), Span(4, 8, "HC"), Span(9, 10, "HP"))
    assert replaced == [Span(0, 3, "HP"), Span(9, 10, "HP")]
    assert [copy.text[s.start:s.end] for s in copy.spans] == ["宝丽雅", "苹果手机", "康"]


def test_invented_names_are_made_of_the_list_s_chinese_entries_characters_and_lengths():
    maker, rng = NameMaker(BRANDS + ["一二三四五六七八"]), random.Random(0)
    names = [maker.name(rng) for _ in range(500)]
    chars = set("".join(w for w in BRANDS if w != "nike")) | set("一二三四五六七八")
    assert all(set(name) <= chars for name in names)
    assert {len(name) for name in names} == {2, 4, MAX_NAME}  # 特步 …, 阿迪达斯, the long entry cut
    assert not NameMaker(["nike", "adidas"])  # no Chinese entry: no names


def encoder_with(words: list[str], train: list[Sentence], folder) -> Encoder:
    """An encoder of ``train`` with an HP list of ``words`` and an HC list."""
    (folder / "hp.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    (folder / "hc.txt").write_text("手机\n", encoding="utf-8")
    return Encoder.build(train, ModelConfig(gazetteers=f"HP={folder / 'hp.txt'},HC={folder / 'hc.txt'}"))


def test_a_copy_is_encoded_as_if_its_invented_names_were_on_the_list(tmp_path):
    """The oracle: the copy's text encoded by an encoder whose list holds the invented names."""
    train = [Sentence(f"我买了{b}的手机", (Span(3, 3 + len(b), "HP"),)) for b in BRANDS] + [Sentence("你好", ())]
    encoder = encoder_with(BRANDS, train, tmp_path)
    copies = gazetteer_swaps(train, encoder, 1.0, seed=3)
    assert len(copies) == len(BRANDS)  # every sentence with a brand; none for the one without
    replay = random.Random("brandner-gazetteer-swaps 3")
    maker = NameMaker(BRANDS)
    for sentence, copy in zip(train, copies):
        replay.random()
        name = maker.name(replay)
        expected_sentence, _ = swapped_copy(sentence, lambda t: name)
        listing = encoder.with_gazetteers({"HP": Lexicon(BRANDS + [name])})
        expected = listing.encode_sentence(expected_sentence)
        for field in ("chars", "segments", "tags", "bigrams", "gazetteers"):
            assert np.array_equal(getattr(copy, field), getattr(expected, field)), field
    assert gazetteer_swaps(train, encoder, 0.0, seed=3) == []


def random_listed(tmp_path, count: int) -> tuple[list[Sentence], Encoder, int]:
    """``count`` sentences of 50 random brands on a list, an encoder with that list, and how
    many of the sentences hold a brand."""
    rng = random.Random(0)
    brands = random_words(rng, 50)
    train = sentences(brands, random_words(rng, 50), count, rng)
    return train, encoder_with(brands, train, tmp_path), sum(bool(s.spans) for s in train)


def test_about_the_share_asked_is_copied_the_same_for_one_seed(tmp_path):
    train, encoder, with_brand = random_listed(tmp_path, 2000)
    copies = gazetteer_swaps(train, encoder, 0.3, seed=1)
    assert abs(len(copies) / with_brand - 0.3) < 5 * (0.3 * 0.7 / with_brand) ** 0.5
    again = gazetteer_swaps(train, encoder, 0.3, seed=1)
    assert all(np.array_equal(a.chars, b.chars) for a, b in zip(copies, again)) and len(again) == len(copies)
    other = gazetteer_swaps(train, encoder, 0.3, seed=2)
    assert any(not np.array_equal(a.chars, b.chars) for a, b in zip(copies, other))


def test_a_training_with_swaps_trains_on_the_copies_too(tmp_path, caplog):
    rng = random.Random(0)
    brands = random_words(rng, 30)
    (tmp_path / "brands.txt").write_text("\n".join(brands) + "\n", encoding="utf-8")
    others = random_words(rng, 30)
    train, dev = sentences(brands, others, 40, rng), sentences(brands, others, 10, rng)
    config = load_config(None, ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=0", "max_epochs=1",
                                "workers=1", f"gazetteers=HP={tmp_path / 'brands.txt'}", "gazetteer_swaps=1"])
    with caplog.at_level("INFO"):
        summary = fit(train, dev, config, tmp_path / "m.pt")
    copies = sum(bool(s.spans) for s in train)
    assert f"{copies} copies with invented names on the lists (train.gazetteer_swaps)" in caplog.text
    assert summary["train_sentences"] == len(train)  # the sentences read; the copies are said in the log


@pytest.mark.parametrize("value", ["-0.1", "4.5"])
def test_gazetteer_swaps_must_be_a_probability_or_a_few_copies(value):
    with pytest.raises(BrandnerError, match=r"train.gazetteer_swaps must be in \[0, 4\] \(a probability, or above 1"):
        load_config(None, [f"gazetteer_swaps={value}"])
    assert load_config(None, ["gazetteer_swaps=2.5"]).train.gazetteer_swaps == 2.5


def test_above_1_each_sentence_gets_that_many_copies_with_other_names(tmp_path):
    train, encoder, with_brand = random_listed(tmp_path, 400)
    two = gazetteer_swaps(train, encoder, 2.0, seed=1)
    assert len(two) == 2 * with_brand
    assert sum(not np.array_equal(a.chars, b.chars) for a, b in zip(two[::2], two[1::2])) > 0.9 * with_brand
    one_and_a_half = len(gazetteer_swaps(train, encoder, 1.5, seed=1))
    assert abs(one_and_a_half / with_brand - 1.5) < 5 * (0.25 / with_brand) ** 0.5
    # at most 1, the same random draws as ever: one a sentence, so a share's copies do not move
    assert [c.chars.tolist() for c in gazetteer_swaps(train, encoder, 1.0, seed=1)] == [
        c.chars.tolist() for c in gazetteer_swaps(train, encoder, 1.0 - 1e-12, seed=1)]


def test_only_the_types_named_are_swapped(tmp_path):
    sentence = Sentence("特步手机", (Span(0, 2, "HP"), Span(2, 4, "HC")))
    encoder = encoder_with(BRANDS, [sentence], tmp_path)
    only_brands = gazetteer_swaps([sentence] * 20, encoder, 1.0, seed=0, swapped_types=("HP",))
    assert len(only_brands) == 20
    assert all(encoder.encode_text("手机").chars.tolist() == copy.chars[-2:].tolist() for copy in only_brands)
    both = gazetteer_swaps([sentence] * 20, encoder, 1.0, seed=0)
    assert any(copy.chars[-2:].tolist() != encoder.encode_text("手机").chars.tolist() for copy in both)
    with pytest.raises(BrandnerError, match="train.gazetteer_swap_types: no gazetteer 'BRAND'; the model's "
                                            "gazetteers: HP, HC"):
        gazetteer_swaps([sentence], encoder, 1.0, seed=0, swapped_types=("BRAND",))


def test_the_swapped_types_are_a_list_or_a_comma_joined_string():
    assert load_config(None, ["gazetteer_swap_types=HP, BRAND"]).train.gazetteer_swap_types == ("HP", "BRAND")
    assert load_config(None, ['gazetteer_swap_types=["HP"]']).train.gazetteer_swap_types == ("HP",)
    assert load_config(None, []).train.gazetteer_swap_types == ()
    with pytest.raises(BrandnerError, match="train.gazetteer_swap_types must list gazetteer types"):
        load_config(None, ['gazetteer_swap_types=["HP", ""]'])
