"""Typed gazetteers: match features per type, stored in the model file and replaceable
at tagging time, so a brand never seen in training is found once it is on the list."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from brandner import Tagger
from brandner.config import Config, ModelConfig, load_config
from brandner.data.encoder import Encoder
from brandner.data.lexicon import parse_gazetteers
from brandner.data.sentence import Sentence, Span
from brandner.errors import BrandnerError
from tests.conftest import SMALL, brandner, write_jsonl

POOL = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研"
FRAMES = ["我买了{}鞋", "{}的新款不错", "推荐{}给大家", "昨天看到{}了"]
TYPE = "HP"


def random_words(rng: random.Random, count: int) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choices(POOL, k=rng.randint(2, 3))))
    return sorted(words)


def sentences(brands: list[str], others: list[str], count: int, rng: random.Random) -> list[Sentence]:
    """Frames filled with a brand (an entity) or with another word (none): only the
    brand list tells them apart, as both are random strings."""
    out = []
    for _ in range(count):
        frame = rng.choice(FRAMES)
        start = frame.index("{}")
        if rng.random() < 0.5:
            word = rng.choice(brands)
            out.append(Sentence(frame.format(word), (Span(start, start + len(word), TYPE),)))
        else:
            out.append(Sentence(frame.format(rng.choice(others)), ()))
    return out


def test_gazetteer_specs():
    assert parse_gazetteers("") == {}
    assert parse_gazetteers("brand=a.txt, product = b.txt,brand=c.txt") == {"brand": ["a.txt", "c.txt"],
                                                                           "product": ["b.txt"]}
    assert parse_gazetteers(["brand=a,b.txt", "brand=c.txt"]) == {"brand": ["a,b.txt", "c.txt"]}
    # in one string, a comma not followed by TYPE= is part of the file name (was: "got 'b.txt'")
    assert parse_gazetteers("brand=a,b.txt,product=c,d.txt,") == {"brand": ["a,b.txt"], "product": ["c,d.txt"]}
    for bad in ("brand", "=a.txt", "brand="):
        with pytest.raises(BrandnerError, match="TYPE=FILE"):
            parse_gazetteers(bad)
    with pytest.raises(BrandnerError, match="model.gazetteers: a gazetteer is TYPE=FILE"):
        ModelConfig(gazetteers="brands.txt")
    config = load_config(None, ["gazetteers=brand=a.txt,product=b.txt"])
    assert config.model.gazetteers == ("brand=a.txt", "product=b.txt")
    assert Config.from_dict(config.to_dict()) == config


def test_gazetteers_are_a_list_in_the_config(tmp_path):
    """A list in TOML and in --set, as the one string of before, and the same setting either way."""
    (tmp_path / "c.toml").write_text('[model]\ngazetteers = ["brand=a,1.txt", "product=b.txt", "brand=c.txt"]\n')
    listed = load_config(tmp_path / "c.toml").model
    assert listed.gazetteers == ("brand=a,1.txt", "brand=c.txt", "product=b.txt")  # a type's files together
    assert listed.gazetteer_lists == {"brand": ["a,1.txt", "c.txt"], "product": ["b.txt"]}
    assert load_config(None, ['gazetteers=["brand=a,1.txt", "product=b.txt", "brand=c.txt"]']).model == listed
    assert ModelConfig(gazetteers="brand=a,1.txt,product=b.txt,brand=c.txt") == listed
    with pytest.raises(BrandnerError, match="model.gazetteers must be a list of strings"):
        ModelConfig(gazetteers=["brand=a.txt", 3])
    with pytest.raises(BrandnerError, match="'model.gazetteers' must be tuple"):
        load_config(None, ["gazetteers=3"])


def test_matches_by_type_and_position(tmp_path):
    (tmp_path / "brands.txt").write_text("富士康\n", encoding="utf-8")
    (tmp_path / "products.txt").write_text("手机\n机\n", encoding="utf-8")
    spec = f"brand={tmp_path / 'brands.txt'},product={tmp_path / 'products.txt'}"
    config = ModelConfig(gazetteers=spec)
    encoder = Encoder.build([Sentence("我买了富士康手机", ())], config)
    features = encoder.encode_text("我买了富士康手机").gazetteers
    #        brand: B M E S  product: B M E S
    expected = [[0, 0, 0, 0, 0, 0, 0, 0]] * 3 + [
        [1, 0, 0, 0, 0, 0, 0, 0],  # 富 begins 富士康
        [0, 1, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 1, 0, 0, 0],  # 手 begins 手机
        [0, 0, 0, 0, 0, 0, 1, 1]]  # 机 ends 手机 and is 机
    assert features.tolist() == expected
    copy = Encoder.from_dict(encoder.to_dict(), config)
    assert np.array_equal(copy.encode_text("富士康手机").gazetteers, encoder.encode_text("富士康手机").gazetteers)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained through the CLI with a brand gazetteer listing every training brand."""
    work = tmp_path_factory.mktemp("gazetteers")
    rng = random.Random(0)
    words = random_words(rng, 400)
    brands, others, unseen = words[:150], words[150:300], words[300:]
    (work / "brands.txt").write_text("\n".join(brands) + "\n", encoding="utf-8")
    write_jsonl(work / "train.jsonl", sentences(brands, others, 300, rng))
    write_jsonl(work / "dev.jsonl", sentences(brands, others, 60, rng))
    result = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--gazetteer", "brand=brands.txt",
                      "--epochs", "10", *SMALL, "--set", "unk_replace=0",
                      "--set", "bigram_dim=0",  # the gazetteer alone should tell brands from other words
                      "-o", "model.pt", cwd=work)
    assert result.returncode == 0, result.stderr
    return work, brands, unseen


def test_an_unseen_brand_is_found_once_it_is_on_the_list(trained):
    work, brands, unseen = trained
    texts = [frame.format(word) for word in unseen[:20] for frame in FRAMES]
    found = lambda results: sum(bool(r["entities"]) for r in results) / len(results)  # noqa: E731
    assert found(Tagger.load(work / "model.pt").predict(texts)) < 0.2
    (work / "more.txt").write_text("\n".join(unseen[:20]) + "\n", encoding="utf-8")
    tagger = Tagger.load(work / "model.pt", gazetteers={"brand": [work / "brands.txt", work / "more.txt"]})
    results = tagger.predict(texts)
    assert found(results) > 0.8
    assert results[2]["entities"] == [{"word": unseen[0], "type": TYPE, "start": 2, "end": 2 + len(unseen[0])}]


def test_tag_command_replaces_the_gazetteer(trained):
    work, _, unseen = trained
    (work / "new.txt").write_text(unseen[1] + "\n", encoding="utf-8")
    text = f"推荐{unseen[1]}给大家"
    before = brandner("tag", "-m", "model.pt", text, cwd=work)
    after = brandner("tag", "-m", "model.pt", "--gazetteer", "brand=new.txt", text, cwd=work)
    assert before.returncode == 0 and after.returncode == 0, after.stderr
    assert json.loads(before.stdout)["entities"] == []
    assert [e["word"] for e in json.loads(after.stdout)["entities"]] == [unseen[1]]
    wrong = brandner("tag", "-m", "model.pt", "--gazetteer", "product=new.txt", text, cwd=work)
    assert wrong.returncode == 1 and "no gazetteer 'product'; its gazetteers: brand" in wrong.stderr
    missing = brandner("tag", "-m", "model.pt", "--gazetteer", "brand=nope.txt", text, cwd=work)
    assert missing.returncode == 1 and "nope.txt: word list not found" in missing.stderr
    (work / "new, with a comma.txt").write_text(unseen[1] + "\n", encoding="utf-8")  # one --gazetteer, one file
    comma = brandner("tag", "-m", "model.pt", "--gazetteer", "brand=new, with a comma.txt", text, cwd=work)
    assert comma.returncode == 0, comma.stderr
    assert [e["word"] for e in json.loads(comma.stdout)["entities"]] == [unseen[1]]


def test_train_takes_a_gazetteer_file_with_a_comma_and_refuses_a_type_with_one(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [Sentence("我买了特步鞋", (Span(3, 5, "HP"),))] * 4)
    (tmp_path / "brands,2024.txt").write_text("特步\n", encoding="utf-8")
    common = ["train", "--train", "train.jsonl", "--dev", "train.jsonl", *SMALL, "--epochs", "1"]
    result = brandner(*common, "--gazetteer", "brand=brands,2024.txt", "-o", "m.pt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Tagger.load(tmp_path / "m.pt").config.gazetteers == ("brand=brands,2024.txt",)
    result = brandner(*common, "--gazetteer", "a,b=brands,2024.txt", "-o", "n.pt", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("--gazetteer a,b=brands,2024.txt: a gazetteer type cannot contain a comma")


def test_gazetteer_dropout_hides_whole_lists_per_sentence_at_its_rate():
    """train.gazetteer_dropout: each (sentence, gazetteer) block of inputs is either kept as it was
    or all zero, never a part of a match; blocks hidden at the rate asked; 0 changes nothing."""
    import torch

    from brandner.data.batching import Batch
    from brandner.training.steps import without_gazetteers

    torch.manual_seed(0)
    sentences, length, types = 4000, 6, 3
    gazetteers = (torch.rand(sentences, length, types * 4) < 0.5).long()
    gazetteers[:, 0, :] = 1  # every block holds at least one match, so that a hidden one shows
    zeros = torch.zeros(sentences, length, dtype=torch.long)
    batch = Batch(chars=zeros, segments=zeros, mask=zeros.bool(), lengths=torch.full((sentences,), length),
                  gazetteers=gazetteers)
    hidden = without_gazetteers(batch, 0.3).gazetteers.view(sentences, length, types, 4)
    blocks = gazetteers.view(sentences, length, types, 4)
    kept = (hidden == blocks).all(dim=(1, 3))  # (sentences, types)
    zero = (hidden == 0).all(dim=(1, 3))
    assert bool((kept | zero).all())  # a block is whole or gone
    rate = zero.float().mean().item()
    assert abs(rate - 0.3) < 5 * (0.3 * 0.7 / (sentences * types)) ** 0.5  # within 5 standard errors
    assert hidden.dtype == gazetteers.dtype and hidden.shape == blocks.shape


@pytest.mark.parametrize("value", ["-0.1", "1", "1.5"])
def test_gazetteer_dropout_must_be_a_probability_below_1(value):
    with pytest.raises(BrandnerError, match="train.gazetteer_dropout must be in"):
        load_config(None, [f"gazetteer_dropout={value}"])
