"""Joint training of several corpora (brandner.data.joint, brandner.training.joint) and fine-tuning
a model of it (``fit(..., init=BASE)``: a new head for the target's types)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from brandner.cli.train import _corpus_names
from brandner.config import Config, ModelConfig, load_config
from brandner.crf.layer import FORBIDDEN
from brandner.data.batching import collate
from brandner.data.corpora import held_out_texts, load_split, public_texts
from brandner.data.encoder import Encoder
from brandner.data.joint import corpus_of, corpus_tags, joint_sentences, joint_type, without_texts
from brandner.data.metrics import Report, Scores
from brandner.data.sentence import Sentence, Span
from brandner.errors import BrandnerError
from brandner.model.model_file import load_model, network_for
from brandner.tagging.tagger import Tagger
from brandner.training.job import fit
from brandner.training.joint import JointData, mean_report
from brandner.training.start import start_model
from tests.conftest import SMALL, brandner, write_jsonl
from tests.training.templated import DRINKS, SETTINGS, SHOES, templated


def retyped(sentences: list[Sentence], type_: str) -> list[Sentence]:
    return [Sentence(s.text, tuple(Span(p.start, p.end, type_) for p in s.spans)) for s in sentences]


def test_joint_types_and_sentences():
    assert joint_type("msra", "PER") == "msra:PER" and corpus_of("msra:PER") == "msra"
    assert corpus_of("PER") is None and corpus_of("weibo:PER.NAM") == "weibo"
    a = [Sentence("我买了特步鞋", (Span(3, 5, "SHOE"),)), Sentence("好")]
    b = [Sentence("可乐", (Span(0, 2, "DRINK"),))]
    sentences, indices = joint_sentences({"a": a, "b": b})
    assert [s.text for s in sentences] == ["我买了特步鞋", "好", "可乐"] and indices == [0, 0, 1]
    assert sentences[0].spans == (Span(3, 5, "a:SHOE"),) and sentences[2].spans == (Span(0, 2, "b:DRINK"),)
    kept, dropped = without_texts(a + b, {"好", "可乐 "})
    assert [s.text for s in kept] == ["我买了特步鞋", "可乐"] and dropped == 1  # exact text only


def test_corpus_tags_allow_O_and_the_corpus_own_tags():
    tags = ["O", "B-a:X", "E-a:X", "B-b:X", "S-b:Y", "B-PLAIN"]
    assert corpus_tags(["a", "b"], tags).tolist() == [[True, True, True, False, False, False],
                                                      [True, False, False, True, True, False]]


def test_mean_report_counts_each_corpus_alike():
    big = Report(Scores(0.9, 0.8, 0.84, 1000), {"a:X": Scores(0.9, 0.8, 0.84, 1000)})
    small = Report(Scores(0.5, 0.4, 0.44, 10), {"b:Y": Scores(0.5, 0.4, 0.44, 10)})
    mean = mean_report({"a": big, "b": small})
    assert mean.micro == Scores(pytest.approx(0.7), pytest.approx(0.6), pytest.approx(0.64), 1010)
    assert set(mean.per_type) == {"a:X", "b:Y"}


def test_the_loss_of_a_sentence_is_over_its_corpus_tags_alone():
    """Oracle: the network's loss of a sentence of corpus b equals log Z over every tag sequence of
    b's tags (and O) that the scheme allows, enumerated, less the gold sequence's score."""
    torch.manual_seed(0)
    data = {"a": [Sentence("特步鞋", (Span(0, 2, "SHOE"),))], "b": [Sentence("喝可乐", (Span(1, 3, "DRINK"),))]}
    sentences, indices = joint_sentences(data)
    config = ModelConfig(char_dim=8, seg_dim=2, hidden_size=4, bigram_dim=0, dropout=0.0, corpora=("a", "b"))
    encoder = Encoder.build(sentences, config)
    model = network_for(config, encoder).eval()
    with torch.no_grad():  # away from 0, so that a path through a ruled-out tag would count
        for param in model.crf.parameters():
            param.uniform_(-1, 1)
    item = JointData(("a", "b"), sentences, indices, {}).with_corpus([encoder.encode_sentence(s) for s in sentences])[1]
    batch = collate([item])
    loss = model.loss(batch).item()
    emissions = model.emissions(batch)[0].detach().double()  # (seq, tags)
    transitions, start, end = (t.detach().double() for t in model.crf.constrained(FORBIDDEN))
    own = [t for t, tag in enumerate(encoder.tags) if tag == "O" or ":" in tag and tag.split("-", 1)[1][0] == "b"]

    def path_score(path) -> float:
        total = start[path[0]] + end[path[-1]] + sum(emissions[i, t] for i, t in enumerate(path))
        return float(total + sum(transitions[x, y] for x, y in zip(path, path[1:])))

    scores = [path_score(p) for p in itertools.product(own, repeat=3)]
    log_z = max(scores) + math.log(sum(math.exp(s - max(scores)) for s in scores if s > -1e30))
    assert loss == pytest.approx(log_z - path_score(item.tags.tolist()), abs=1e-4)
    # without the corpus, the loss is over every tag, and larger
    assert collate([encoder.encode_sentence(sentences[1])]).corpus is None
    assert model.loss(collate([encoder.encode_sentence(sentences[1])])).item() > loss + 1e-3


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A joint model of two corpora of the same sentences typed differently: corpus ``shoe`` calls
    every brand SHOE, corpus ``brand`` calls them BRAND, and ``drinks`` has its own DRINK."""
    path = tmp_path_factory.mktemp("joint") / "base.pt"
    train = {"shoe": templated(40, {"SHOE": SHOES}, 0), "brand": retyped(templated(40, {"SHOE": SHOES}, 0), "BRAND"),
             "drinks": templated(30, {"DRINK": DRINKS}, 2)}
    dev = {"shoe": templated(10, {"SHOE": SHOES}, 1), "brand": retyped(templated(10, {"SHOE": SHOES}, 1), "BRAND"),
           "drinks": templated(10, {"DRINK": DRINKS}, 3)}
    summary = fit(train, dev, load_config(None, SETTINGS + ["max_epochs=12", "workers=1"]), path)
    return path, summary, dev


def test_a_joint_model_keeps_each_corpus_guidelines(base):
    path, summary, dev = base
    assert set(summary["dev_by_corpus"]) == {"shoe", "brand", "drinks"}
    for name, report in summary["dev_by_corpus"].items():
        assert report["f1"] > 0.9, name  # the same texts, typed two ways, both learned
    assert summary["dev"]["f1"] == pytest.approx(np.mean([r["f1"] for r in summary["dev_by_corpus"].values()]))
    tagger = Tagger.load(path, backend="torch")
    assert tagger.config.corpora == ("shoe", "brand", "drinks")
    assert tagger.types == ["brand:BRAND", "drinks:DRINK", "shoe:SHOE"]
    shoe = tagger.only_types(["shoe:SHOE"]).predict("我买了特步鞋")["entities"]
    assert [(e["word"], e["type"]) for e in shoe] == [("特步", "shoe:SHOE")]
    assert tagger.only_types(["brand:BRAND"]).predict("我买了特步鞋")["entities"][0]["type"] == "brand:BRAND"
    assert tagger.only_types(["drinks:DRINK"]).predict("推荐可乐给大家")["entities"][0]["type"] == "drinks:DRINK"
    with pytest.raises(BrandnerError, match="no entity type 'SHOE'"):
        tagger.only_types(["SHOE"])


def test_fine_tuning_a_joint_model_starts_a_new_head_and_keeps_the_encoder(base, tmp_path):
    path, _, _ = base
    target = retyped(templated(20, {"X": SHOES + DRINKS}, 5), "PRODUCT") + [Sentence("鑫淼")]
    trained, old = load_model(path)
    model, encoder, started = start_model(target, Config(ModelConfig(), load_config(None, SETTINGS).train), path)
    assert encoder.types == ["PRODUCT"] and encoder.tags == ["O", "B-PRODUCT", "I-PRODUCT", "E-PRODUCT", "S-PRODUCT"]
    assert model.config.corpora == () and model.corpus_tags is None and started["path"] == str(path)
    assert torch.equal(model.lstm.weight_hh_l0, trained.lstm.weight_hh_l0)  # the encoder, as trained
    assert model.projection.weight.shape[0] == 5 and model.crf.transitions.shape == (5, 5)
    kept = [encoder.chars.index[c] for c in old.chars.tokens[2:]]  # every old character, its row kept
    assert torch.equal(model.char_embedding.table()[kept], trained.char_embedding.table()[2:])
    assert "鑫" in encoder.chars.index and "鑫" not in old.chars.index
    summary = fit(target, retyped(templated(10, {"X": SHOES + DRINKS}, 6), "PRODUCT"),
                  load_config(None, SETTINGS + ["max_epochs=6", "workers=1"]), tmp_path / "tuned.pt", init=path)
    assert summary["dev"]["f1"] > 0.8 and "dev_by_corpus" not in summary
    assert Tagger.load(tmp_path / "tuned.pt").types == ["PRODUCT"]


def test_joint_training_refusals(base, tmp_path):
    path, _, dev = base
    config = load_config(None, SETTINGS + ["max_epochs=1"])
    with pytest.raises(BrandnerError, match="dev split for each corpus"):
        fit({"shoe": dev["shoe"], "brand": dev["brand"]}, {"shoe": dev["shoe"]}, config, tmp_path / "m.pt")
    with pytest.raises(BrandnerError, match="at least two corpora"):
        fit({"shoe": dev["shoe"]}, {"shoe": dev["shoe"]}, config, tmp_path / "m.pt")
    with pytest.raises(BrandnerError, match="both"):
        fit({"shoe": dev["shoe"], "brand": dev["brand"]}, dev["shoe"], config, tmp_path / "m.pt")
    with pytest.raises(BrandnerError, match="--init and --test go with one corpus"):
        fit(dev, dev, config, tmp_path / "m.pt", init=path)
    with pytest.raises(BrandnerError, match="model.corpora"):
        ModelConfig(corpora=("a:b", "c"))


def test_a_joint_training_resumes_where_it_stopped(tmp_path):
    train = {"a": templated(20, {"SHOE": SHOES}, 0), "b": templated(20, {"DRINK": DRINKS}, 1)}
    dev = {"a": templated(5, {"SHOE": SHOES}, 2), "b": templated(5, {"DRINK": DRINKS}, 3)}
    settings = SETTINGS + ["workers=1"]
    whole = fit(train, dev, load_config(None, settings + ["max_epochs=3"]), tmp_path / "whole.pt")
    fit(train, dev, load_config(None, settings + ["max_epochs=2"]), tmp_path / "cut.pt")
    resumed = fit(train, dev, load_config(None, settings + ["max_epochs=3"]), tmp_path / "cut.pt", resume=True)
    assert resumed["dev_by_corpus"] == whole["dev_by_corpus"]


def test_held_out_texts_are_every_test_split_and_other_corpora_dev(shared_data):
    texts, splits = held_out_texts(["msra", "cluener"], shared_data)
    assert "ecommerce test" in splits and "weibo dev" in splits and "msra test" in splits
    assert "msra dev" not in splits and "cluener dev" not in splits  # trained on: their dev splits choose the model
    weibo_test = load_split("weibo", "test", shared_data)
    assert {s.text for s in weibo_test} <= texts
    assert not {s.text for s in load_split("cluener", "dev", shared_data)} <= texts


def test_public_texts_are_the_training_splits_on_disk_less_every_held_out_text(shared_data, tmp_path):
    """What a preset's vectors may learn from besides the training text: every named corpus's
    training split found on disk, less the texts of its held-out splits, none downloaded."""
    (tmp_path / "weibo").mkdir()
    (tmp_path / "brands-sample").mkdir()
    for part in ("train", "dev", "test"):
        name = f"weiboNER_2nd_conll.{part}"
        (tmp_path / "weibo" / name).symlink_to(shared_data / "weibo" / name)
    (tmp_path / "brands-sample" / "brands.train").symlink_to(shared_data / "brands-sample" / "brands.train")
    weibo = [s.text for s in load_split("weibo", "train", shared_data) if s.text]
    brands = [s.text for s in load_split("brands-sample", "train", shared_data) if s.text]
    weibo_test = {s.text for s in load_split("weibo", "test", shared_data)}
    texts, read = public_texts([], tmp_path)
    assert read == ["weibo train", "brands-sample train"]  # the registry's order; the others are not on disk
    held_out, _ = held_out_texts([], tmp_path)  # Weibo's test and dev split (its training repeats 40 test posts)
    assert weibo_test <= held_out and texts == [t for t in weibo + brands if t not in held_out]
    assert len(texts) < len(weibo) + len(brands) - 30
    texts, read = public_texts(["weibo"], tmp_path)  # a training of Weibo: its text is the training's
    assert "weibo train" not in read and not set(texts) & (set(weibo) - set(brands))


def test_train_several_files_through_the_command_line(tmp_path, shared_data):
    leaked = load_split("weibo", "test", shared_data)[0]
    for name, count, seed, brands in (("shoes", 30, 0, {"SHOE": SHOES}), ("drinks", 30, 2, {"DRINK": DRINKS})):
        write_jsonl(tmp_path / f"{name}.jsonl", templated(count, brands, seed) + [leaked] * (name == "shoes"))
        write_jsonl(tmp_path / f"{name}_dev.jsonl", templated(8, brands, seed + 1))
    files = ["--train", "shoes.jsonl", "--dev", "shoes_dev.jsonl",
             "--train", "drinks.jsonl", "--dev", "drinks_dev.jsonl"]
    run = brandner("train", *files, *SMALL, "--epochs", "3", "--workers", "1", "-o", "base.pt", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "shoes: left out 1 training sentences that are in a held-out split" in run.stderr
    summary = json.loads((tmp_path / "base.pt.json").read_text(encoding="utf-8"))
    assert set(summary["dev_by_corpus"]) == {"shoes", "drinks"} and summary["train_sentences"] == 60
    assert summary["config"]["model"]["corpora"] == ["shoes", "drinks"]
    unpaired = brandner("train", *files[:6], *SMALL, "-o", "x.pt", cwd=tmp_path)
    assert unpaired.returncode == 1 and "each --train needs its --dev" in unpaired.stderr
    tested = brandner("train", *files, "--test", "shoes_dev.jsonl", "-o", "x.pt", cwd=tmp_path)
    assert tested.returncode == 1 and "--test goes with one corpus" in tested.stderr
    twice = brandner("train", "--corpus", "weibo", "--corpus", "weibo", "-o", "x.pt", cwd=tmp_path)
    assert twice.returncode == 1 and "given twice" in twice.stderr
    assert _corpus_names(["a/train.txt", "b/train.txt", "c/dev:x.jsonl"]) == ["train1", "train2", "dev_x"]
