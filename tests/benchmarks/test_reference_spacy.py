"""benchmarks/reference_spacy.py: spaCy's default CPU NER pipeline, trained and run on brandner's corpora."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.cli.init_config import init_config
from spacy.training import Example

from benchmarks.reference_spacy import INIT_CONFIG, build, main, predict_spans, to_doc, train
from brandner.data.formats import write_file
from brandner.data.metrics import score
from brandner.data.sentence import Sentence, Span
from tests.conftest import BRANDS, REPO, synthetic_sentences

SCRIPT = REPO / "benchmarks" / "reference_spacy.py"


def test_the_pipeline_is_what_spacy_init_config_gives_for_chinese_ner_on_the_cpu(tmp_path: Path):
    trainer = build(synthetic_sentences(20), synthetic_sentences(5, seed=1), tmp_path, 1)
    nlp = trainer.nlp
    assert nlp.pipe_names == ["tok2vec", "ner"] and nlp.tokenizer.segmenter == "char"
    assert nlp.config["components"] == init_config(**INIT_CONFIG)["components"]
    assert nlp.config["components"]["ner"]["model"]["hidden_width"] == 64  # efficiency, not accuracy
    assert [t.text for t in nlp.make_doc("我买了Nike鞋")] == list("我买了Nike鞋")
    assert sorted(nlp.get_pipe("ner").labels) == ["DIGITAL", "SHOE"]


def test_a_span_that_starts_or_ends_with_a_space_is_left_out_and_counted():
    nlp = spacy.blank("zh")
    text = "买 索尼 Nike Air鞋"
    spans = (Span(2, 5, "HP"),  # "索尼 ": its end falls inside a token's trailing space
             Span(1, 4, "HP"),  # " 索尼": the space is the trailing white space of "买"
             Span(5, 13, "HP"))  # "Nike Air": a space inside is fine
    doc, unaligned = to_doc(nlp, Sentence(text, spans))
    assert unaligned == 2
    assert [(e.start_char, e.end_char, e.text) for e in doc.ents] == [(5, 13, "Nike Air")]
    assert all(t.ent_iob_ == "O" for t in doc if t.ent_type_ == "")


def test_training_learns_the_synthetic_brands_and_tagging_gives_character_spans(tmp_path: Path):
    train_set, dev_set = synthetic_sentences(200), synthetic_sentences(40, seed=1)
    trainer = build(train_set, dev_set, tmp_path, 4)
    assert (trainer.spans, trainer.unaligned, len(trainer.examples)) == (sum(len(s.spans) for s in train_set), 0, 200)
    assert train(trainer, 4) > 0
    texts = [s.text for s in dev_set] + [""]
    predicted = predict_spans(trainer.nlp, texts)
    assert len(predicted) == len(texts) and predicted[-1] == []
    brands = {word for words in BRANDS.values() for word in words}
    assert all(isinstance(s, Span) and text[s.start:s.end] in brands for text, spans in zip(texts, predicted)
               for s in spans)
    assert score([s.spans for s in dev_set], predicted[:-1]).micro.f1 > 0.9


def test_the_strict_span_f1_is_the_one_spacys_own_scorer_gives(tmp_path: Path):
    train_set, dev_set = synthetic_sentences(200), synthetic_sentences(40, seed=1)
    trainer = build(train_set, dev_set, tmp_path, 2)
    train(trainer, 2)  # half-trained: some entities wrong
    ours = score([s.spans for s in dev_set], predict_spans(trainer.nlp, [s.text for s in dev_set])).micro
    theirs = trainer.nlp.evaluate([Example(trainer.nlp.make_doc(s.text), to_doc(trainer.nlp, s)[0])
                                   for s in dev_set])
    assert 0 < ours.f1 < 1
    assert (ours.precision, ours.recall, ours.f1) == pytest.approx((theirs["ents_p"], theirs["ents_r"],
                                                                    theirs["ents_f"]))


def fake_ecommerce(root: Path) -> Path:
    """A data root whose ``ecommerce`` corpus is synthetic sentences (local files are not hashed)."""
    (root / "ecommerce").mkdir(parents=True)
    for split, count, seed in (("train", 60, 0), ("dev", 20, 1), ("test", 20, 2)):
        write_file(synthetic_sentences(count, seed), root / "ecommerce" / f"{split}.txt.bieos", "columns")
    return root


def run_script(*args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_command_line_prints_rates_and_scores_as_one_json_line(tmp_path: Path):
    data = str(fake_ecommerce(tmp_path / "data"))
    training = run_script("--train-epochs", "1", "--data-dir", data)
    assert training["rate"] > 0 and (training["sentences"], training["unaligned_spans"]) == (60, 0)
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(s.text + "\n" for s in synthetic_sentences(30, seed=3)), encoding="utf-8")
    assert run_script("--tag", str(texts), "--data-dir", data)["rate"] > 0
    scores = run_script("--f1", "--epochs", "2", "--data-dir", data)
    assert scores["epochs"] == 2 and {"f1", "precision", "recall"} <= set(scores["dev"]) & set(scores["test"])
    assert scores["test"]["support"] == sum(len(s.spans) for s in synthetic_sentences(20, 2))


def test_a_mode_is_required_and_epochs_must_be_positive(capsys: pytest.CaptureFixture[str]):
    for argv in ([], ["--train-epochs", "0"], ["--tag", "x", "--f1"]):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
    assert "expected a positive whole number, got 0" in capsys.readouterr().err
