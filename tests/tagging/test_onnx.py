"""ONNX export and the onnxruntime backend: the same entities as the PyTorch model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from brandner import Tagger
from brandner.cpus import available_cpus
from brandner.cli.main import main
from brandner.config import ModelConfig, load_config
from brandner.data.batching import pad
from brandner.data.encoder import Encoder
from brandner.data.text import split_chunks
from brandner.errors import BrandnerError
from brandner.model.model_file import load_model, network_for
from tests.conftest import brandner, synthetic_sentences, train_tiny, write_jsonl

pytest.importorskip("onnx", reason="ONNX export needs onnx (pip install '.[onnx]')")
pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime (pip install '.[onnx]')")

from brandner.tagging.export import export_model, export_onnx  # noqa: E402


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory):
    """The tiny model's file and its ONNX export, written through the real command line."""
    work = tmp_path_factory.mktemp("onnx")
    shutil.copy(tiny_model, work / "model.pt")
    result = brandner("export", "-m", "model.pt", "-o", "model.onnx", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "wrote model.onnx" in result.stdout and result.stderr == ""
    return work


@pytest.fixture(scope="module")
def taggers(exported) -> tuple[Tagger, Tagger]:
    return Tagger.load(exported / "model.pt", backend="torch"), Tagger.load(exported / "model.onnx")


def mixed_texts() -> list[str]:
    """Short and long texts (long ones are split into chunks), odd inputs, one-character ones."""
    texts = [s.text for s in synthetic_sentences(150, seed=7)]
    return texts + ["我买了特步鞋，" * 30, "华为手机真好用" * 12, "", " ", "特", "ＡＢＣ耐克１２３", "😀安踏😀"]


def test_the_onnx_file_tags_like_the_pytorch_model(taggers):
    pytorch, onnx = taggers
    assert onnx.model is None and onnx.config == pytorch.config
    texts = mixed_texts()
    assert len(split_chunks(texts[-7], pytorch.config.max_chunk_length)) > 1
    expected = pytorch.predict(texts)
    assert sum(len(r["entities"]) for r in expected) > 150  # a test that finds entities
    for batch_size in (1, 7, 256):  # batches of mixed lengths, and single sentences
        onnx.batch_size = batch_size
        assert onnx.predict(texts) == expected


def test_scores_nbest_and_marginals_match(taggers):
    """Confidence decodes the same tag scores in numpy, so it needs nothing of its own."""
    pytorch, onnx = taggers
    texts = [s.text for s in synthetic_sentences(30, seed=9)]

    def close(ours, theirs) -> bool:
        if isinstance(ours, dict):
            return ours.keys() == theirs.keys() and all(close(ours[k], theirs[k]) for k in ours)
        if isinstance(ours, list):
            return len(ours) == len(theirs) and all(close(a, b) for a, b in zip(ours, theirs))
        return ours == pytest.approx(theirs, rel=1e-3) if isinstance(ours, float) else ours == theirs

    assert close(onnx.predict(texts, scores=True), pytorch.predict(texts, scores=True))
    assert close(onnx.predict(texts[:5], nbest=3, scores=True), pytorch.predict(texts[:5], nbest=3, scores=True))
    for ours, theirs in zip(onnx.marginals(texts), pytorch.marginals(texts)):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("rows", [32, 2])
@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 1, 0, 2, 1], [2, 2, 2]])
def test_scores_at_valid_positions_of_padded_batches_match(taggers, monkeypatch, order, rows):
    """Sorted, unsorted and unpadded batches, whole or run in slices of ``rows`` sentences:
    the ONNX LSTM honours each sentence's length."""
    pytorch, onnx = taggers
    monkeypatch.setattr(onnx.backend, "rows", rows)
    texts = ["我买了特步鞋", "华为", "昨天在店里看到苹果和小米", "推荐李宁给大家"]
    arrays = pad([pytorch.encoder.encode_text(texts[i]) for i in order])
    expected = pytorch.backend.tag_scores(arrays)
    got = onnx.backend.tag_scores(arrays)
    assert got.shape == expected.shape
    mask = arrays["mask"]
    np.testing.assert_allclose(got[mask], expected[mask], rtol=1e-5, atol=1e-5)


def test_the_file_is_self_contained_and_known_by_content(exported, tmp_path):
    """A copy with another suffix, alone in a folder, loads with the same CRF scores and vocabulary."""
    shutil.copy(exported / "model.onnx", tmp_path / "model.bin")
    tagger = Tagger.load(tmp_path / "model.bin")
    model, encoder = load_model(exported / "model.pt")
    for ours, theirs in zip(tagger.backend.crf_scores(), model.crf_scores()):
        assert ours.dtype == np.float32
        np.testing.assert_array_equal(ours, theirs)  # exact, -inf for forbidden moves included
    assert np.isneginf(tagger.backend.crf_scores()[0]).any()
    assert tagger.encoder.to_dict() == encoder.to_dict()
    assert tagger.predict("我买了特步鞋")["entities"] == [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]


def test_softmax_head_decodes_by_argmax(tmp_path):
    sentences = synthetic_sentences(20)
    config = ModelConfig(char_dim=8, seg_dim=4, hidden_size=8, head="softmax", max_chunk_length=30)
    encoder = Encoder.build(sentences, config)
    torch.manual_seed(0)
    model = network_for(config, encoder).eval()
    export_onnx(model, encoder, tmp_path / "softmax.onnx")
    onnx = Tagger.load(tmp_path / "softmax.onnx", batch_size=5)
    assert onnx.backend.crf_scores() is None
    texts = mixed_texts()
    assert onnx.predict(texts) == Tagger.from_model(model, encoder, batch_size=5).predict(texts)


def test_int8_export_quantises_the_lstm_and_projection(exported, taggers):
    """int8 weights (onnxruntime dynamic quantisation): results close to the float model's."""
    import onnx
    export_model(exported / "model.pt", exported / "int8.onnx", int8=True)
    ops = {node.op_type for node in onnx.load(exported / "int8.onnx").graph.node}
    assert {"DynamicQuantizeLSTM", "MatMulInteger"} <= ops and "LSTM" not in ops
    pytorch, _ = taggers
    sentences = synthetic_sentences(100, seed=11)
    int8 = Tagger.load(exported / "int8.onnx")
    expected = pytorch.evaluate(sentences).micro.f1
    assert expected > 0.8 and int8.evaluate(sentences).micro.f1 > 0.9 * expected


def test_thread_count_is_settable(exported):
    """Given, or the CPUs this process may use (brandner.cpus), with no call into PyTorch."""
    tagger = Tagger.load(exported / "model.onnx", threads=2)
    assert tagger.backend.session.get_session_options().intra_op_num_threads == 2
    default = Tagger.load(exported / "model.onnx")
    assert default.backend.session.get_session_options().intra_op_num_threads == available_cpus()
    with pytest.raises(ValueError, match="threads"):
        Tagger.load(exported / "model.onnx", threads=0)


def test_float_entities_do_not_depend_on_the_thread_count(exported, taggers):
    """The README promises this for the float model, PyTorch or ONNX (not for int8: dynamic
    quantisation scales by each batch's range, and onnxruntime's int8 kernels vary with threads)."""
    pytorch, _ = taggers
    texts = mixed_texts()
    expected = pytorch.predict(texts)
    for threads in (1, 2):
        assert Tagger.load(exported / "model.onnx", threads=threads).predict(texts) == expected
    previous = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            assert pytorch.predict(texts) == expected
    finally:
        torch.set_num_threads(previous)


def test_export_leaves_a_training_model_in_training_mode(tiny_model, tmp_path):
    model, encoder = load_model(tiny_model)
    model.train()
    export_onnx(model, encoder, tmp_path / "model.onnx")
    assert model.training


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the exporter's notice, for the foreign file
def test_bad_inputs_are_clear_errors(exported, tmp_path):
    with pytest.raises(BrandnerError, match="int8"):
        Tagger.load(exported / "model.onnx", int8=True)
    (tmp_path / "cut.onnx").write_bytes((exported / "model.onnx").read_bytes()[:500])
    with pytest.raises(BrandnerError, match="cut.onnx: not a readable ONNX model"):
        Tagger.load(tmp_path / "cut.onnx")
    torch.onnx.export(torch.nn.Linear(3, 2), (torch.zeros(1, 3),), tmp_path / "other.onnx", dynamo=False)
    with pytest.raises(BrandnerError, match="other.onnx: an ONNX model without brandner's metadata"):
        Tagger.load(tmp_path / "other.onnx")
    with pytest.raises(BrandnerError, match="already an ONNX file"):
        export_model(exported / "model.onnx", tmp_path / "again.onnx")
    with pytest.raises(BrandnerError, match="overwrite"):
        export_model(exported / "model.pt", exported / "model.pt")


@pytest.mark.parametrize("args, message", [
    (["export", "-m", "missing.pt", "-o", "out.onnx"], "missing.pt: No such file or directory"),
    (["export", "-m", "notes.txt", "-o", "out.onnx"], "notes.txt: not a brandner file"),
    (["export", "-m", "model.onnx", "-o", "out.onnx"], "model.onnx: already an ONNX file"),
    (["tag", "-m", "model.onnx", "--int8", "特步"], "model.onnx: int8 quantisation is for PyTorch model files; "
                                                    "for ONNX, quantise when exporting (brandner export --int8)"),
    (["export", "-m", "model.pt", "-o", "out.onnx", "--opset", "9"], "opset 9 is too old for this graph"),
    (["export", "-m", "model.pt", "-o", "out.onnx", "--opset", "99"], "opset 99 is newer than this torch"),
])
def test_cli_errors_are_one_line_and_exit_1(exported, monkeypatch, capsys, args, message):
    """Through the console script's function, in process (a subprocess each costs seconds)."""
    (exported / "notes.txt").write_text("not a model\n", encoding="utf-8")
    monkeypatch.chdir(exported)
    assert main(args) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"brandner: error: {message}") and error.count("\n") == 1
    assert not (exported / "out.onnx").exists()


def test_tag_with_workers_and_evaluate_read_the_onnx_file(exported, taggers, monkeypatch, capsys):
    pytorch, _ = taggers
    sentences = synthetic_sentences(40, seed=3)
    write_jsonl(exported / "gold.jsonl", sentences)
    (exported / "lines.txt").write_text("".join(s.text + "\n" for s in sentences), encoding="utf-8")
    result = brandner("tag", "-m", "model.onnx", "-i", "lines.txt", "-o", "out.jsonl", "--workers", "2",
                      cwd=exported)
    assert result.returncode == 0, result.stderr
    tagged = [json.loads(line) for line in (exported / "out.jsonl").read_text("utf-8").splitlines()]
    assert tagged == pytorch.predict([s.text for s in sentences])
    monkeypatch.chdir(exported)  # evaluate in process: one subprocess for the workers is cost enough
    assert main(["evaluate", "-m", "model.onnx", "--file", "gold.jsonl", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == pytorch.evaluate(sentences).to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["ecommerce", "weibo"])
def test_identical_entities_on_the_test_sets(shared_data, tmp_path, corpus):
    """Acceptance: a small model trained briefly on the corpus, exported; every predicted
    entity on the whole test set is the same from onnxruntime as from PyTorch."""
    from brandner.data.corpora import load_split
    from brandner.training.job import fit
    train, dev, test = (load_split(corpus, split, shared_data) for split in ("train", "dev", "test"))
    config = load_config(None, ["max_epochs=2", "char_dim=32", "seg_dim=8", "hidden_size=32", "lr=0.01",
                                "batch_size=32"])
    fit(train[:1500], dev[:50], config, tmp_path / "model.pt")
    model, encoder = load_model(tmp_path / "model.pt")
    export_onnx(model, encoder, tmp_path / "model.onnx")
    texts = [s.text for s in test]
    expected = Tagger.from_model(model, encoder).predict_spans(texts)
    assert sum(map(len, expected)) > 30  # the model has learnt to find some entities
    assert Tagger.load(tmp_path / "model.onnx").predict_spans(texts) == expected


def test_a_model_with_fixed_vector_rows_exports_and_tags_the_same(tmp_path):
    """Tokens known only from pretrained vectors live in fixed rows (TokenEmbedding)."""
    sentences = synthetic_sentences(20)
    config = ModelConfig(char_dim=8, seg_dim=4, hidden_size=8, bigram_dim=4, max_chunk_length=30)
    encoder = Encoder.build(sentences, config, extra={"chars": list("阿迪达斯"), "bigrams": ["阿迪", "迪达"]})
    torch.manual_seed(0)
    model = network_for(config, encoder).eval()
    assert model.char_embedding.frozen.size(0) == 4 and model.bigram_embedding.frozen.size(0) == 2
    export_onnx(model, encoder, tmp_path / "fixed.onnx")
    texts = mixed_texts() + ["阿迪达斯和特步"]
    assert Tagger.load(tmp_path / "fixed.onnx", batch_size=5).predict(texts, scores=True) == \
        Tagger.from_model(model, encoder, batch_size=5).predict(texts, scores=True)


def test_a_frequency_pooling_lexicon_model_exports_and_tags_the_same(tmp_path):
    """The lexicon word weights are a constant of the graph (they are not in the state dict)."""
    words = tmp_path / "words.txt"
    words.write_text("特步\n耐克\n新款\n手机\n好用\n华为\n", encoding="utf-8")
    sentences = synthetic_sentences(30)
    config = ModelConfig(char_dim=8, seg_dim=4, hidden_size=8, bigram_dim=4, lexicon=str(words), lexicon_dim=4,
                         lexicon_pooling="frequency", max_chunk_length=30)
    encoder = Encoder.build(sentences, config)
    torch.manual_seed(0)
    model = network_for(config, encoder).eval()
    assert model.word_weights.max() > 1
    export_onnx(model, encoder, tmp_path / "frequency.onnx")
    texts = mixed_texts()
    expected = Tagger.from_model(model, encoder, batch_size=5).predict(texts, scores=True)
    assert sum(len(result["entities"]) for result in expected) > 10  # untrained, but it finds some
    assert Tagger.load(tmp_path / "frequency.onnx", batch_size=5).predict(texts, scores=True) == expected


def test_a_radical_model_exports_and_tags_the_same(tmp_path):
    """Radicals (model.radical_dim) are one more input of the graph; the table travels in the metadata."""
    path = train_tiny(tmp_path / "radicals.pt", "radical_dim=6", "max_chunk_length=40", sentences=100, epochs=4)
    export_model(path, tmp_path / "radicals.onnx")
    onnx = Tagger.load(tmp_path / "radicals.onnx", batch_size=5)
    assert "radicals" in onnx.backend.inputs and onnx.encoder.radical_table["河"] == "氵"
    texts = mixed_texts() + ["河海a妈湖鸡的新款", "耐克鞋"]
    expected = Tagger.load(path, backend="torch", batch_size=5).predict(texts, scores=True)
    assert sum(len(result["entities"]) for result in expected) > 100
    assert onnx.predict(texts, scores=True) == expected
    export_model(path, tmp_path / "int8.onnx", int8=True)
    sentences = synthetic_sentences(60, seed=11)
    for int8 in (Tagger.load(tmp_path / "int8.onnx"), Tagger.load(path, int8=True)):
        assert int8.evaluate(sentences).micro.f1 > 0.8


def test_tagging_with_an_onnx_file_never_loads_pytorch(exported):
    """PyTorch's import alone takes about 2 s, most of a short tagging job's time: the command
    line and a --workers process tag with an ONNX file without it."""
    model = str(exported / "model.onnx")
    code = ("import sys\n"
            "from brandner.tagging import worker\n"
            "from brandner.cli.main import main\n"
            f"status = main(['tag', '-m', {model!r}, '我买了特步鞋'])\n"
            f"worker.load({model!r}, 1)\n"
            "worker.predict(['华为手机'], scores=True)\n"
            "assert 'torch' not in sys.modules, 'PyTorch was imported'\n"
            "sys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=exported)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["string"] == "我买了特步鞋"


def test_metadata_nested_past_pythons_limit_is_a_clear_error(exported, tmp_path):
    import onnx

    from brandner.tagging.onnx_backend import META_CONFIG

    proto = onnx.load(exported / "model.onnx")
    for entry in proto.metadata_props:
        if entry.key == META_CONFIG:
            entry.value = "[" * 100_000 + "]" * 100_000  # json.loads: RecursionError, was a traceback
    onnx.save(proto, tmp_path / "deep.onnx")
    with pytest.raises(BrandnerError, match="deep.onnx: damaged brandner metadata"):
        Tagger.load(tmp_path / "deep.onnx")
