"""Training and tagging on a device (``train.device``, ``Tagger.load(device=...)``), checked on the CPU.

CUDA itself is not here: this machine has none (benchmarks/gpu.py runs the GPU checks where
one is lent). What is here: the names, the errors for a device that is not there or a setting
a GPU cannot take, that ``device = cpu`` and ``auto`` without CUDA train the very model they
always did, that a model loads and tags the same on any device name that means the CPU, and
that a whole training with the batched torch loss (what a GPU runs) learns as the CPU's loss does.
"""

from __future__ import annotations

import json

import pytest
import torch

from brandner.config import TrainConfig, load_config
from brandner.crf import layer
from brandner.errors import BrandnerError
from brandner.model import device as devices
from brandner.model.model_file import safe_load
from brandner.tagging.tagger import Tagger
from brandner.training import job
from brandner.training.job import fit
from tests.conftest import synthetic_sentences

SETTINGS = ["char_dim=16", "seg_dim=4", "hidden_size=16", "dropout=0.1", "lr=0.02", "workers=1"]
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_device_names_are_checked_without_torch_and_kept(name):
    assert TrainConfig(device=name).device == name
    assert load_config(None, [f'train.device="{name}"']).train.device == name


@pytest.mark.parametrize("name", ["gpu", "CUDA", "cuda:", "cuda:x", "mps", "", 0])
def test_other_device_names_are_refused(name):
    with pytest.raises(BrandnerError, match=r"train.device must be auto, cpu, cuda or cuda:N"):
        TrainConfig(device=name)


@no_cuda
def test_auto_is_the_cpu_without_cuda_and_cuda_is_an_error_that_says_why():
    assert devices.resolve_device("auto") == devices.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(BrandnerError, match=r"train.device cuda:1: torch sees no CUDA device here"):
        devices.resolve_device("cuda:1", "train.device")


def test_a_gpu_number_past_those_torch_sees_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert devices.resolve_device("auto") == torch.device("cuda")
    assert devices.resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(BrandnerError, match=r"device cuda:2: torch sees 2 CUDA device\(s\), numbered from 0"):
        devices.resolve_device("cuda:2")


def train_twice(tmp_path, first: list[str], second: list[str]) -> tuple[dict, dict]:
    train, dev = synthetic_sentences(40), synthetic_sentences(8, seed=1)
    one = fit(train, dev, load_config(None, SETTINGS + ["max_epochs=2"] + first), tmp_path / "one.pt")
    two = fit(train, dev, load_config(None, SETTINGS + ["max_epochs=2"] + second), tmp_path / "two.pt")
    return one, two


@no_cuda
def test_device_cpu_and_auto_without_cuda_train_the_same_model_and_say_where(tmp_path):
    one, two = train_twice(tmp_path, ['train.device="cpu"'], [])  # the default: auto
    assert one["device"] == two["device"] == "cpu"
    assert one["dev"] == two["dev"]
    first, second = (safe_load(tmp_path / name)["state_dict"] for name in ("one.pt", "two.pt"))
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_the_batched_torch_loss_trains_as_the_cpu_kernel_does(tmp_path, monkeypatch):
    """What a GPU trains with (brandner.crf.batched), here on the CPU: the same losses, epoch by
    epoch, to float32's rounding, and a model that finds the same entities."""
    losses = {}

    def record(name):
        return lambda event: losses.setdefault(name, []).append(event.loss) if hasattr(event, "dev") else None

    train, dev = synthetic_sentences(60), synthetic_sentences(12, seed=1)
    config = load_config(None, SETTINGS + ["max_epochs=3", "patience=100"])
    fit(train, dev, config, tmp_path / "kernel.pt", on_event=record("kernel"))
    monkeypatch.setattr(layer, "runs_in_torch", lambda emissions: True)
    fit(train, dev, config, tmp_path / "torch.pt", on_event=record("torch"))
    assert losses["torch"] == pytest.approx(losses["kernel"], rel=1e-3)
    assert losses["torch"][-1] < losses["torch"][0] / 2
    texts = [s.text for s in dev]
    kernel = Tagger.load(tmp_path / "kernel.pt", backend="torch").predict_spans(texts)
    assert Tagger.load(tmp_path / "torch.pt", backend="torch").predict_spans(texts) == kernel


@pytest.mark.parametrize("settings, message", [
    (["workers=2"], "a GPU trains in one process, not 2 workers; set train.workers = 1"),
])
def test_a_gpu_refuses_parallel_workers(tmp_path, monkeypatch, settings, message):
    monkeypatch.setattr(job, "resolve_device", lambda name, what: torch.device("cuda"))
    config = load_config(None, [s for s in SETTINGS if s != "workers=1"] + settings + ['train.device="cuda"'])
    with pytest.raises(BrandnerError, match=message):
        fit(synthetic_sentences(10), synthetic_sentences(3, seed=1), config, tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def test_on_a_gpu_workers_0_means_one_process(monkeypatch):
    """``workers = 0`` (as many as the CPUs allow) trains in one process on a GPU: checked up to
    the model's start, where this machine's lack of CUDA ends it."""
    monkeypatch.setattr(job, "resolve_device", lambda name, what: torch.device("cuda"))
    seen = {}

    def start(train, config, output, init):
        seen["workers"] = config.train.workers
        raise BrandnerError("stop here")

    monkeypatch.setattr(job, "_start_model", start)
    with pytest.raises(BrandnerError, match="stop here"):
        fit(synthetic_sentences(10), synthetic_sentences(3, seed=1), load_config(None, ["workers=0"]), "m.pt")
    assert seen == {"workers": 1}


def test_torchrun_ranks_refuse_a_gpu(monkeypatch):
    monkeypatch.setattr(devices.torch.cuda, "is_available", lambda: True)
    with pytest.raises(BrandnerError, match="torchrun's ranks train on the CPU"):
        job._training_device(TrainConfig(device="cuda"), ranks=object())


@no_cuda
def test_a_resume_may_name_another_device(tmp_path):
    train, dev = synthetic_sentences(30), synthetic_sentences(6, seed=1)
    output = tmp_path / "m.pt"
    fit(train, dev, load_config(None, SETTINGS + ["max_epochs=1", 'train.device="cpu"']), output)
    summary = fit(train, dev, load_config(None, SETTINGS + ["max_epochs=2", 'train.device="auto"']), output,
                  resume=True)
    assert summary["epochs_run"] == 2 and summary["device"] == "cpu"
    assert safe_load(f"{output}.resume", "brandner-resume")["rng"]["cuda"] is None  # a CPU's training


@no_cuda
def test_a_model_tags_alike_on_every_name_of_the_cpu_and_a_gpu_name_is_an_error(tiny_model):
    texts = ["我买了特步鞋", "推荐小米给大家"]
    expected = Tagger.load(tiny_model, backend="torch").predict(texts)
    assert Tagger.load(tiny_model).predict(texts) == expected  # device cpu: the ONNX copy where it can
    assert Tagger.load(tiny_model, device="auto", backend="torch").predict(texts) == expected
    assert Tagger.load([tiny_model, tiny_model], device="auto", backend="torch").predict(texts) == expected
    with pytest.raises(BrandnerError, match="device cuda: torch sees no CUDA device here"):
        Tagger.load(tiny_model, device="cuda")
    with pytest.raises(BrandnerError, match="device must be auto, cpu, cuda or cuda:N, got 'gpu'"):
        Tagger.load(tiny_model, device="gpu")


@pytest.mark.parametrize("options, message", [
    ({"int8": True}, "int8 quantisation tags on the CPU"),
    ({"backend": "onnx"}, "backend onnx tags on the CPU"),
])
def test_what_only_a_cpu_does_is_refused_on_a_gpu(tiny_model, monkeypatch, options, message):
    monkeypatch.setattr(devices, "resolve_device", lambda name, what="device": torch.device("cuda"))
    with pytest.raises(BrandnerError, match=message):
        Tagger.load(tiny_model, device="cuda", **options)


def test_an_onnx_file_is_refused_on_a_gpu(tiny_model, tmp_path, monkeypatch):
    from brandner.tagging.export import export_model

    onnx = tmp_path / "tiny.onnx"
    export_model(tiny_model, onnx)
    monkeypatch.setattr(devices, "resolve_device", lambda name, what="device": torch.device("cuda"))
    with pytest.raises(BrandnerError, match="an ONNX file tags on the CPU"):
        Tagger.load(onnx, device="cuda")


def test_the_summary_names_the_device_the_config_asked_for(tmp_path):
    one, _ = train_twice(tmp_path, ['train.device="cpu"'], ['train.device="cpu"'])
    assert one["config"]["train"]["device"] == "cpu"
    assert json.loads((tmp_path / "one.pt.json").read_text())["device"] == "cpu"


def test_off_the_cpu_a_training_step_keeps_every_tensor_on_the_model_s_device(tmp_path):
    """What a GPU runs, on torch's meta device (which checks devices and shapes without
    computing): the batch moved there, dropout drawn there, the packed LSTM, the batched CRF
    loss, and the backward pass, with every input feature on. A CPU tensor mixed in anywhere
    (a mask, an index, a buffer left behind) is an error here as it would be on a GPU."""
    from brandner.data.batching import collate
    from brandner.data.encoder import Encoder
    from brandner.model.model_file import network_for

    (tmp_path / "brands.txt").write_text("特步\n耐克\n", encoding="utf-8")
    config = load_config(None, ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=4", "radical_dim=4",
                                "lexicon=jieba", "lexicon_dim=4", "lexicon_pooling=frequency", "output_dropout=0.2",
                                f"gazetteers=SHOE={tmp_path / 'brands.txt'}"])
    sentences = sorted(synthetic_sentences(8), key=lambda s: -len(s.text))  # packing on meta needs them sorted
    encoder = Encoder.build(sentences, config.model)
    model = network_for(config.model, encoder).to("meta").train()
    loss = model.loss(collate([encoder.encode_sentence(s) for s in sentences]).to("meta"))
    loss.backward()
    assert loss.device.type == "meta" and loss.shape == ()
    grads = {name: p.grad for name, p in model.named_parameters() if p.requires_grad}
    assert all(g is not None and g.device.type == "meta" for g in grads.values()), sorted(grads)
