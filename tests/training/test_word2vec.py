"""`brandner embed` (self-trained vectors) and training with a vectors folder."""

from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pytest
import torch

from brandner.config import load_config
from brandner.data.features import bigrams
from brandner.data.sentence import Sentence
from brandner.data.vectors import KINDS, read_vectors, read_word2vec, write_word2vec
from brandner.errors import BrandnerError, InputFileError
from brandner.model.model_file import load_model
from brandner.training.job import fit
from brandner.training.word2vec import EmbedConfig, read_texts, token_sequences, train_vectors
from tests.conftest import brandner, synthetic_sentences

SMALL = ["char_dim=8", "seg_dim=4", "hidden_size=8", "lr=0.000001", "patience=100", "max_epochs=1"]
TINY = EmbedConfig(char_dim=6, bigram_dim=4, word_dim=5, min_count=1, epochs=2)


def texts() -> list[str]:
    return [s.text for s in synthetic_sentences(60)] + ["Ａｄｉｄａｓ 新款 跑鞋"]


def test_three_kinds_of_vectors_are_written_and_read_back(tmp_path):
    summary = train_vectors(texts(), tmp_path / "vec", TINY, sources=["synthetic"])
    vectors = read_vectors(tmp_path / "vec")
    assert set(vectors) == set(KINDS)
    assert {k: m.shape[1] for k, (_, m) in vectors.items()} == {"chars": 6, "bigrams": 4, "words": 5}
    chars, bigram_tokens, word_tokens = (vectors[k][0] for k in ("chars", "bigrams", "words"))
    assert "买" in chars and "特步" in word_tokens and "买了" in bigram_tokens
    assert "adidas" in word_tokens and "Ａ" not in chars  # normalised as models normalise
    assert not any(c.isspace() for t in chars + bigram_tokens + word_tokens for c in t)
    saved = json.loads((tmp_path / "vec" / "vectors.json").read_text(encoding="utf-8"))
    assert saved == summary and saved["texts"] == 61 and saved["sources"] == ["synthetic"]
    assert saved["kinds"]["chars"]["vectors"] == len(chars) and saved["settings"]["word_dim"] == 5


def test_training_vectors_is_repeatable(tmp_path):
    train_vectors(texts(), tmp_path / "a", TINY)
    train_vectors(texts(), tmp_path / "b", TINY)
    for name in KINDS.values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_token_sequences_follow_the_model_features():
    sequences = token_sequences(["我买了 富士康手机", "  "], TINY)
    assert sequences["chars"] == [list("我买了富士康手机")]
    assert sequences["bigrams"] == [[b for b in bigrams("我买了 富士康手机") if " " not in b]]
    assert sequences["words"] == [["我", "买", "了", "富士康", "手机"]]


def test_bad_input_is_reported(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("好\n".encode() + b"\xff\xfe\n")
    with pytest.raises(InputFileError, match=r"bad.txt:2: not UTF-8"):
        read_texts(bad)
    with pytest.raises(BrandnerError, match="no text"):
        train_vectors(["   "], tmp_path / "none", TINY)
    with pytest.raises(BrandnerError, match="window must be positive"):
        EmbedConfig(window=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BrandnerError, match="no vectors here"):
        read_vectors(tmp_path / "empty")


def test_too_little_text_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(BrandnerError, match="no bigram occurs 2 times or more in the text"):
        train_vectors(["啊啊"], tmp_path / "out", dataclasses.replace(TINY, min_count=2))  # 啊 twice, 啊啊 once
    assert not (tmp_path / "out").exists()


def test_a_byte_order_mark_is_not_text(tmp_path):
    path = tmp_path / "raw.txt"
    path.write_bytes("\ufeff特步鞋\r\n\n李宁\n".encode())
    assert read_texts(path) == ["特步鞋", "李宁"]


def test_an_output_that_is_a_file_is_one_line_and_exit_1(tmp_path):
    (tmp_path / "raw.txt").write_text("特步鞋\n" * 3, encoding="utf-8")
    (tmp_path / "taken").write_text("", encoding="utf-8")
    result = brandner("embed", "raw.txt", "-o", "taken", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == ["brandner: error: taken: File exists"]


def test_vectors_files_name_the_line_of_a_bad_byte_and_warn_when_cut_short(tmp_path, caplog):
    path = tmp_path / "v.vec"
    write_word2vec(path, [f"字{i}" for i in range(400)], np.ones((400, 3), dtype=np.float32))
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:300]) + b"\xff 1 2 3\n" + b"".join(lines[300:]))
    with pytest.raises(InputFileError, match=r"v.vec:301: not UTF-8 text"):
        read_word2vec(path)
    path.write_bytes(b"".join(lines[:5]))
    with caplog.at_level(logging.WARNING, logger="brandner"):
        assert len(read_word2vec(path)[0]) == 4
    expected = f"{path}: the header says 400 vectors, the file has 4 (cut short?)"
    assert [r.getMessage() for r in caplog.records] == [expected]


@pytest.mark.parametrize("line, message", [
    ("b nan 1 1", "v.vec:3: a number is nan or infinite"), ("b 1 -inf 1", "v.vec:3: a number is nan or infinite"),
    ("b 1e40 1 1", "v.vec:3: .*too large for float32"), ("b", "v.vec:3: no numbers after the token 'b'"),
])
def test_vectors_that_are_not_finite_numbers_are_refused(tmp_path, line, message):
    # nan was read and trained on: every loss nan, a model that finds nothing, exit code 0.
    (tmp_path / "v.vec").write_text(f"3 3\na 1 2 3\n{line}\nc 1 2 3\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=message):
        read_word2vec(tmp_path / "v.vec")


def test_tokens_that_normalise_alike_take_the_first_vector_in_the_file(tmp_path):
    # Was the last: the rarer ',' overwrote the frequent '，' that the text uses (both normalise to ',').
    (tmp_path / "v.vec").write_text("3 3\n， 1 1 1\nＡ 2 2 2\n, 3 3 3\n", encoding="utf-8")
    train = synthetic_sentences(20) + [Sentence("Ａ，a,")]
    config = load_config(None, SMALL + ["bigram_dim=0", f"embeddings='{tmp_path / 'v.vec'}'"])
    fit(train, synthetic_sentences(5, seed=1), config, tmp_path / "m.pt")
    model, encoder = load_model(tmp_path / "m.pt")
    table = model.char_embedding.table()
    assert torch.allclose(table[encoder.chars.index[","]], torch.ones(3), atol=1e-3)
    assert torch.allclose(table[encoder.chars.index["a"]], torch.full((3,), 2.0), atol=1e-3)


def test_a_vectors_folder_with_nothing_the_model_uses_is_refused(tmp_path):
    # Was ignored without a word: the model trained from random vectors.
    (tmp_path / "vec").mkdir()
    (tmp_path / "vec" / "words.vec").write_text("1 3\n特步 1 2 3\n", encoding="utf-8")
    with pytest.raises(BrandnerError, match=r"holds only words.vec, for features this model does not have"):
        read_vectors(tmp_path / "vec", ["chars", "bigrams"])
    assert set(read_vectors(tmp_path / "vec", ["chars", "words"])) == {"words"}


def test_write_word2vec_leaves_out_tokens_with_spaces(tmp_path):
    write_word2vec(tmp_path / "v.vec", ["a", "b c", "d"], np.arange(6, dtype=np.float32).reshape(3, 2))
    assert read_word2vec(tmp_path / "v.vec")[0] == ["a", "d"]
    assert (tmp_path / "v.vec").read_text(encoding="utf-8").splitlines()[0] == "2 2"


def test_a_vectors_folder_initialises_chars_bigrams_and_lexicon_words(tmp_path):
    train, dev = synthetic_sentences(20), synthetic_sentences(5, seed=1)
    train_vectors(texts() + ["阿迪达斯旗舰店开业"], tmp_path / "vec", TINY)
    words = tmp_path / "words.txt"
    words.write_text("特步\n阿迪达斯\n旗舰店\n耐克\n", encoding="utf-8")
    config = load_config(None, SMALL + ["bigram_dim=3", f"lexicon='{words}'", f"embeddings='{tmp_path / 'vec'}'"])
    fit(train, dev, config, tmp_path / "m.pt")
    model, encoder = load_model(tmp_path / "m.pt")
    # the vectors set the sizes and grow the vocabularies with tokens unseen in training
    assert (model.config.char_dim, model.config.bigram_dim, model.config.lexicon_dim) == (6, 4, 5)
    seen = "".join(s.text for s in train)
    assert "迪" not in seen and "迪" in encoder.chars and "达斯" in encoder.bigrams
    assert "阿迪达斯" not in seen and "阿迪达斯" in encoder.words
    vectors = read_vectors(tmp_path / "vec")
    for kind, token, embedding, vocab in (("chars", "迪", model.char_embedding, encoder.chars),
                                          ("bigrams", "达斯", model.bigram_embedding, encoder.bigrams),
                                          ("words", "阿迪达斯", model.word_embedding, encoder.words),
                                          ("words", "特步", model.word_embedding, encoder.words)):
        tokens, matrix = vectors[kind]
        expected = torch.from_numpy(matrix[tokens.index(token)])
        assert torch.allclose(embedding.table()[vocab.index[token]], expected, atol=1e-3), (kind, token)


def test_a_single_file_is_character_vectors_and_unused_kinds_are_ignored(tmp_path):
    train, dev = synthetic_sentences(20), synthetic_sentences(5, seed=1)
    train_vectors(texts(), tmp_path / "vec", TINY)
    fit(train, dev, load_config(None, SMALL + ["bigram_dim=0", f"embeddings='{tmp_path / 'vec'}'"]), tmp_path / "a.pt")
    model, _ = load_model(tmp_path / "a.pt")
    assert model.config.char_dim == 6 and model.bigram_embedding is None and model.word_embedding is None
    fit(train, dev, load_config(None, SMALL + [f"embeddings='{tmp_path / 'vec' / 'chars.vec'}'"]), tmp_path / "b.pt")
    model, _ = load_model(tmp_path / "b.pt")
    assert model.config.char_dim == 6 and model.config.bigram_dim == 50  # bigrams keep their default size


def test_embed_command_then_train_with_its_vectors(tmp_path):
    (tmp_path / "posts.txt").write_text("\n".join(texts()) + "\n", encoding="utf-8")
    done = brandner("embed", "posts.txt", "-o", "vec", "--char-dim", "8", "--bigram-dim", "4", "--word-dim", "4",
                    "--min-count", "1", "--epochs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "vec/chars.vec:" in done.stdout and "bigrams vectors of 4 dimensions" in done.stdout
    assert sorted(p.name for p in (tmp_path / "vec").iterdir()) == ["bigrams.vec", "chars.vec", "vectors.json",
                                                                     "words.vec"]
    (tmp_path / "own.bio").write_text("阿 B-BRAND\n迪 E-BRAND\n鞋 O\n\n", encoding="utf-8")
    done = brandner("embed", "--corpus", "own.bio", "-o", "vec3", "--min-count", "1", "--epochs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "vec3" / "vectors.json").read_text(encoding="utf-8"))["sources"] == ["own.bio"]
    assert "阿迪" in read_word2vec(tmp_path / "vec3" / "bigrams.vec")[0]
    failed = brandner("embed", "-o", "vec2", cwd=tmp_path)
    assert failed.returncode == 1 and failed.stderr.strip().endswith("nothing to train on: give text files "
                                                                       "and/or --corpus NAME")
    missing = brandner("embed", "nope.txt", "-o", "vec2", cwd=tmp_path)
    assert missing.returncode == 1 and "nope.txt" in missing.stderr


def test_embed_takes_threads_and_still_its_old_workers_flag():
    """gensim's threads are --threads now ("workers" means processes everywhere); --workers stays accepted."""
    from brandner.cli.main import build_parser

    parse = build_parser().parse_args
    assert parse(["embed", "t.txt", "-o", "v"]).threads == 1
    assert parse(["embed", "t.txt", "-o", "v", "--threads", "3"]).threads == 3
    assert parse(["embed", "t.txt", "-o", "v", "--workers", "2"]).threads == 2


def test_embed_leaves_out_the_text_of_held_out_splits_unless_asked(shared_data, tmp_path):
    """Vectors of a named corpus's text feed models scored on test splits (and bases fine-tuned
    for other corpora): a training sentence whose text is in a test split is left out."""
    from brandner.data.corpora import held_out_texts, load_split

    train = [s.text for s in load_split("weibo", "train", shared_data)]
    held_out, _ = held_out_texts({"weibo"}, shared_data)
    inside = sum(text in held_out for text in train)
    texts = [text for text in train if text.strip()]
    assert inside > 0  # Weibo's training split repeats some test posts (short ones, mostly)
    small = ["--epochs", "1", "--char-dim", "4", "--bigram-dim", "4", "--word-dim", "4"]
    done = brandner("embed", "--corpus", "weibo", "-o", "vec", *small, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"weibo:train: left out {inside} of {len(train)} sentences" in done.stderr
    left = sum(text.strip() != "" and text not in held_out for text in train)
    assert json.loads((tmp_path / "vec" / "vectors.json").read_text(encoding="utf-8"))["texts"] == left
    kept = brandner("embed", "--corpus", "weibo", "--keep-held-out", "-o", "all", *small, cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert "left out" not in kept.stderr
    assert json.loads((tmp_path / "all" / "vectors.json").read_text(encoding="utf-8"))["texts"] == len(texts)
