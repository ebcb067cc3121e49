"""Continued training (``fit(..., init=MODEL)``, brandner.training.start): a model trained on one
type, continued on data with a new type, finds both; settings, vectors, gazetteers and refusals."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest
import torch

from brandner.config import load_config
from brandner.data.sentence import Sentence
from brandner.errors import BrandnerError
from brandner.model.model_file import load_model, safe_load
from brandner.tagging.tagger import Tagger
from brandner.training.job import fit, resume_path
from brandner.training.start import start_model
from tests.conftest import write_jsonl
from tests.training.templated import DRINKS, SETTINGS, SHOES, templated


@pytest.fixture(scope="module")
def shoes(tmp_path_factory):
    """A model trained on SHOE sentences alone, and its summary."""
    path = tmp_path_factory.mktemp("continued") / "shoes.pt"
    summary = fit(templated(30, {"SHOE": SHOES}, 0), templated(10, {"SHOE": SHOES}, 1),
                  load_config(None, SETTINGS + ["max_epochs=10"]), path)
    return path, summary


def f1(path, sentences: list[Sentence], type_: str) -> float:
    return Tagger.load(path, backend="torch").evaluate(sentences).per_type[type_].f1


def test_a_continued_model_keeps_the_old_type_and_learns_the_new_one(shoes, tmp_path):
    init, first = shoes
    assert first["init"] is None  # trained from scratch
    held_out_shoes = templated(20, {"SHOE": SHOES}, 5)
    before = f1(init, held_out_shoes, "SHOE")
    assert before > 0.8
    new_data = templated(30, {"DRINK": DRINKS}, 2) + templated(10, {"SHOE": SHOES}, 3)
    dev = templated(10, {"DRINK": DRINKS, "SHOE": SHOES}, 4)
    summary = fit(new_data, dev, load_config(None, SETTINGS + ["max_epochs=10"]), tmp_path / "more.pt", init=init)
    assert summary["init"] == {"path": str(init), "sha256": hashlib.sha256(init.read_bytes()).hexdigest()}
    _, encoder = load_model(tmp_path / "more.pt")
    assert encoder.types == ["DRINK", "SHOE"] and encoder.tags[:5] == load_model(init)[1].tags
    assert f1(tmp_path / "more.pt", held_out_shoes, "SHOE") >= before - 0.1
    held_out_both = templated(30, {"DRINK": DRINKS, "SHOE": SHOES}, 6)
    assert f1(tmp_path / "more.pt", held_out_both, "DRINK") > 0.85
    assert f1(tmp_path / "more.pt", held_out_both, "SHOE") > 0.85
    assert f1(init, held_out_both, "DRINK") == 0  # learned in the continued training, not before


def test_model_settings_come_from_the_init_model_but_for_the_free_ones(shoes):
    init, _ = shoes
    data = templated(5, {"DRINK": DRINKS}, 2) + [Sentence("我喝了红茶")]
    config = load_config(None, ["dropout=0.3", "max_chunk_length=30", "min_char_count=2"])
    model, encoder, started = start_model(data, config, init)
    trained, old_encoder = load_model(init)
    assert model.config.hidden_size == trained.config.hidden_size == 16  # not the default 100
    assert (model.config.dropout, model.config.max_chunk_length) == (0.3, 30)  # free to change
    counts = Counter("".join(s.text for s in data))
    new = {c: n for c, n in counts.items() if c not in old_encoder.chars}
    assert {c for c, n in new.items() if n >= 2} == set(encoder.chars.tokens[len(old_encoder.chars):]) != set()
    assert new["茶"] == 1 and "茶" not in encoder.chars  # seen once: below train.min_char_count, no row
    assert started["path"] == str(init)
    same = load_config(None, SETTINGS)  # the settings it was trained with: no conflict
    assert start_model(data, same, init)[0].config == trained.config


@pytest.mark.parametrize("settings,message", [
    (["hidden_size=32"], "hidden_size (16 in the model, 32 given)"),
    (["bigram_dim=0", "lowercase=false"],
     "lowercase (True in the model, False given); bigram_dim (50 in the model, 0 given)"),
    (["head=softmax"], "head (crf in the model, softmax given)"),
    (["gazetteers=['SHOE=x.txt']"], "gazetteers ([] in the model, [SHOE=x.txt] given)"),
])
def test_a_model_setting_that_differs_from_the_init_model_is_refused(shoes, settings, message):
    init, _ = shoes
    with pytest.raises(BrandnerError, match="keeps its settings; these differ") as error:
        start_model(templated(3, {"SHOE": SHOES}, 2), load_config(None, settings), init)
    assert str(error.value).startswith(f"{init}: ") and message in str(error.value)


def test_new_characters_take_pretrained_vectors_and_old_ones_keep_their_rows(shoes, tmp_path):
    init, _ = shoes
    trained, old_encoder = load_model(init)
    dim = trained.config.char_dim
    rows = {"特": 0.25, "可": 0.5, "鑫": 0.75}  # old; new in the data; in the vectors alone
    (tmp_path / "chars.vec").write_text(f"{len(rows)} {dim}\n" + "".join(
        f"{c} {' '.join([str(v)] * dim)}\n" for c, v in rows.items()), encoding="utf-8")
    config = load_config(None, [f"embeddings='{tmp_path / 'chars.vec'}'"])
    model, encoder, _ = start_model(templated(5, {"DRINK": DRINKS}, 2), config, init)
    table = model.char_embedding.table().detach()
    assert torch.equal(table[encoder.chars.index["特"]], trained.char_embedding.table()[old_encoder.chars.index["特"]])
    assert torch.equal(table[encoder.chars.index["可"]], torch.full((dim,), 0.5))
    assert encoder.chars.index["可"] < encoder.chars.learned  # seen in training: learned
    assert encoder.chars.index["鑫"] >= encoder.chars.learned  # from the vectors alone: a fixed row
    assert torch.equal(table[encoder.chars.index["鑫"]], torch.full((dim,), 0.75))
    (tmp_path / "small.vec").write_text("可 0.5 0.5\n", encoding="utf-8")
    with pytest.raises(BrandnerError, match=f"small.vec: chars vectors of size 2; the model {init} has char_dim = 16"):
        start_model(templated(5, {"DRINK": DRINKS}, 2), load_config(None, [f"embeddings='{tmp_path / 'small.vec'}'"]),
                    init)


def test_gazetteers_continue_from_the_model_or_from_new_files_for_its_types(tmp_path):
    for name, words in (("shoes", "特步\n耐克\n"), ("phones", "华为\n"), ("more", "安踏\n")):
        (tmp_path / f"{name}.txt").write_text(words, encoding="utf-8")
    init, phones = tmp_path / "g.pt", f"PHONE={tmp_path / 'phones.txt'}"
    fit(templated(10, {"SHOE": SHOES}, 0), templated(3, {"SHOE": SHOES}, 1), load_config(
        None, SETTINGS + ["max_epochs=1", f"gazetteers=['SHOE={tmp_path / 'shoes.txt'}', '{phones}']"]), init)
    for name in ("shoes", "phones"):
        (tmp_path / f"{name}.txt").unlink()  # the model holds the words
    data = templated(5, {"DRINK": DRINKS}, 2)
    _, encoder, _ = start_model(data, load_config(None, []), init)
    assert encoder.gazetteers["SHOE"].words == {"特步", "耐克"} and encoder.gazetteers["PHONE"].words == {"华为"}
    model, encoder, _ = start_model(data, load_config(None, [f"gazetteers=['SHOE={tmp_path / 'more.txt'}']"]), init)
    assert encoder.gazetteers["SHOE"].words == {"安踏"} and encoder.gazetteers["PHONE"].words == {"华为"}
    assert list(encoder.gazetteers) == ["SHOE", "PHONE"]  # the order of the network's inputs
    assert model.config.gazetteers == (f"SHOE={tmp_path / 'more.txt'}", phones)
    with pytest.raises(BrandnerError, match=r"gazetteers \(\[SHOE=.*, PHONE=.*\] in the model, \[DRINK="):
        start_model(data, load_config(None, [f"gazetteers=['DRINK={tmp_path / 'more.txt'}']"]), init)


def test_a_continued_training_resumes_and_still_names_its_init_model(shoes, tmp_path):
    init, _ = shoes
    data, dev = templated(10, {"DRINK": DRINKS}, 2), templated(3, {"DRINK": DRINKS}, 4)
    output = tmp_path / "more.pt"
    first = fit(data, dev, load_config(None, SETTINGS + ["max_epochs=1"]), output, init=init)
    assert safe_load(resume_path(output), "brandner-resume")["init"] == first["init"]
    resumed = fit(data, dev, load_config(None, SETTINGS + ["max_epochs=2"]), output, resume=True)
    assert resumed["epochs_run"] == 2 and resumed["init"] == first["init"] is not None


@pytest.mark.parametrize("case,message", [
    ("resume", "--init starts a training from a model, --resume goes on with an interrupted one"),
    ("missing", "missing.pt: no such model file"),
    ("itself", "the model this training starts from (--init); write the continued model to another file"),
    ("resume file", "not a brandner-model file"),
])
def test_what_cannot_be_continued_is_refused(shoes, tmp_path, case, message):
    init, _ = shoes
    output = tmp_path / "out.pt"
    if case == "itself":
        output = tmp_path / "copy.pt"
        output.write_bytes(init.read_bytes())
    start = {"resume": init, "missing": tmp_path / "missing.pt", "itself": output,
             "resume file": resume_path(init)}[case]
    with pytest.raises(BrandnerError, match="^.*" + message.replace("(", r"\(").replace(")", r"\)")):
        fit(templated(3, {"SHOE": SHOES}, 2), templated(2, {"SHOE": SHOES}, 3),
            load_config(None, SETTINGS + ["max_epochs=1"]), output, resume=case == "resume", init=start)
    if case == "itself":
        assert output.read_bytes() == init.read_bytes()


@pytest.mark.slow
def test_two_torchrun_ranks_continue_from_rank_0_s_grown_model_as_one_process_does(tmp_path):
    """Under torchrun rank 0 reads and grows the init model and sends the start to the other rank:
    2 ranks of batch 10 then take the steps of one process of batch 20 continuing from it."""
    from tests.training import test_distributed as ranks

    both = {"DRINK": DRINKS, "SHOE": SHOES}
    train, dev = templated(ranks.UNEQUAL, both, 2), templated(10, both, 3)
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "dev.jsonl", dev)
    init = tmp_path / "shoes.pt"
    fit(templated(20, {"SHOE": SHOES}, 0), templated(5, {"SHOE": SHOES}, 1),
        load_config(None, ranks.SETTINGS + ["max_epochs=1"]), init)
    one_process = ranks.SETTINGS + ["batch_size=20", "workers=1", f"max_epochs={ranks.EPOCHS}"]
    one = fit(train, dev, load_config(None, one_process), tmp_path / "one.pt", init=init)
    result = ranks.run(ranks.torchrun(tmp_path, ranks.free_port(), "--set", "batch_size=10", "--epochs",
                                      str(ranks.EPOCHS), "--init", "shoes.pt", "-o", "ddp.pt"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("continuing from shoes.pt") == 1  # rank 0 alone reads it
    ranks.assert_same_training(tmp_path / "ddp.pt.resume", tmp_path / "one.pt.resume")
    summary = json.loads((tmp_path / "ddp.pt.json").read_text(encoding="utf-8"))
    assert summary["world_size"] == 2 and summary["init"]["sha256"] == one["init"]["sha256"]
