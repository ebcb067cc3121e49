"""ONNX export: the network's tag scores as an ONNX graph; decoding stays in numpy.

The graph takes the padded batch (``chars`` and ``segments`` ``(batch, seq)``
int64, ``lengths`` ``(batch,)`` int64; batch and sequence sizes are free) and
gives ``emissions`` ``(batch, seq, tags)``. The BiLSTM is exported from its
packed form, so it becomes an ONNX ``LSTM`` with ``sequence_lens``: the scores
at the valid positions of a padded batch are those of each sentence alone.

The file is self-contained. Its metadata (``metadata_props``) holds, as JSON,
the model config, the encoder (normaliser, characters, tags, scheme,
segmenter) and the CRF's constrained ``(transitions, start, end)`` scores
(``-Infinity`` for forbidden moves; absent for the softmax head), so loading it
(:mod:`brandner.tagging.onnx_backend`) needs neither torch weights nor a pickle.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import logging
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from brandner.atomic import atomic_output
from brandner.data.batching import Batch, as_batch, collate, pad
from brandner.data.encoder import Encoder
from brandner.errors import BrandnerError
from brandner.model.model_file import load_model
from brandner.model.network import BiLSTMTagger
from brandner.tagging.onnx_backend import (
    FORMAT,
    META_CONFIG,
    META_CRF,
    META_ENCODER,
    META_FORMAT,
    META_VERSION,
    OPSET,
    VERSION,
    OnnxBackend,
    is_onnx_file,
    session,
)

MIN_OPSET = 11  # 7 to 9 cannot sort a batch of unknown size; 10 writes a graph onnxruntime refuses
NOT_INPUTS = ("mask", "tags")  # Batch fields the graph does not take (the mask follows from the lengths)


class _Emissions(nn.Module):
    """``model.emissions`` on plain tensors (the Batch fields in ``names``), for tracing."""

    def __init__(self, model: BiLSTMTagger, names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        fields = dict(zip(self.names, tensors))
        mask = torch.arange(fields["chars"].size(1)) < fields["lengths"][:, None]
        return self.model.emissions(Batch(mask=mask, **fields))  # (batch, seq, tags)


def input_names(batch: Batch) -> list[str]:
    """The Batch fields the graph takes, in order (``chars``, ``segments``, ``lengths``, ...)."""
    return [f.name for f in dataclasses.fields(Batch)
            if f.name not in NOT_INPUTS and getattr(batch, f.name) is not None]


def export_onnx(model: BiLSTMTagger, encoder: Encoder, path: str | Path, opset: int = OPSET,
                int8: bool = False) -> None:
    """Write ``model`` and ``encoder`` as one ONNX file at ``path`` (atomically), after checking
    that onnxruntime gives the model's tag scores on padded and unpadded batches.

    ``int8`` then stores the LSTM and projection weights as 8-bit integers (onnxruntime's
    dynamic quantisation, as ``Tagger(int8=True)`` does in torch): faster, scores not exact.
    """
    data = onnx_bytes(model, encoder, opset)
    if int8:
        data = _quantized(data)
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)


def onnx_bytes(model: BiLSTMTagger, encoder: Encoder, opset: int = OPSET) -> bytes:
    """The float ONNX file of ``model`` and ``encoder`` as bytes, checked to give the model's tag scores."""
    if opset < MIN_OPSET:
        raise BrandnerError(f"opset {opset} is too old for this graph (its sorting needs {MIN_OPSET} or later)")
    was_training = model.training
    model.eval()  # no dropout in the graph
    try:
        data = _onnx_bytes(model, encoder, opset)
        _check_scores(model, encoder, data)
    finally:
        model.train(was_training)
    return data


def _onnx_bytes(model: BiLSTMTagger, encoder: Encoder, opset: int) -> bytes:
    """The serialised ModelProto: the traced tag-score graph and brandner's metadata."""
    onnx = _require("onnx")
    # The example must be padded and not sorted longest first: tracing keeps the branch
    # the example takes, and only the packed, unsorted one is right for every batch.
    example = collate([encoder.encode_text("品牌"), encoder.encode_text("品牌名")])
    names = input_names(example)
    dynamic = {name: ({0: "batch"} if getattr(example, name).dim() == 1 else {0: "batch", 1: "seq"})
               for name in names}
    buffer = io.BytesIO()
    # eval() on the wrapper too: the exporter leaves the module it is given in that module's
    # mode, recursively, and a new module is in training mode (dropout on).
    traced = _Emissions(model, names).eval()
    with torch.no_grad(), _quiet():
        try:
            torch.onnx.export(traced, tuple(getattr(example, n) for n in names), buffer,
                              dynamo=False, input_names=names, output_names=["emissions"],
                              dynamic_axes={**dynamic, "emissions": {0: "batch", 1: "seq"}}, opset_version=opset)
        except RuntimeError as error:
            if "Unsupported onnx_opset_version" not in str(error):
                raise
            raise BrandnerError(f"opset {opset} is newer than this torch {torch.__version__} can write") from None
    proto = onnx.load_from_string(buffer.getvalue())
    metadata = {META_FORMAT: FORMAT, META_VERSION: str(VERSION),
                META_CONFIG: json.dumps(dataclasses.asdict(model.config)),
                META_ENCODER: json.dumps(encoder.to_dict(), ensure_ascii=False)}
    crf_scores = model.crf_scores()
    if crf_scores is not None:
        transitions, start, end = crf_scores
        # float32 -> JSON float -> float32 is exact; -inf is written as -Infinity
        metadata[META_CRF] = json.dumps({"transitions": transitions.tolist(), "start": start.tolist(),
                                         "end": end.tolist()})
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "brandner"
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def export_model(model_path: str | Path, output: str | Path, opset: int = OPSET, int8: bool = False) -> dict:
    """Export the model file at ``model_path`` to ONNX at ``output``; returns what was written."""
    if Path(output).resolve() == Path(model_path).resolve():
        raise BrandnerError(f"{output}: the ONNX file would overwrite the model file")
    if is_onnx_file(model_path):
        raise BrandnerError(f"{model_path}: already an ONNX file; export takes a model file from 'brandner train'")
    model, encoder = load_model(model_path)
    export_onnx(model, encoder, output, opset, int8)
    return {"model": str(model_path), "output": str(output), "bytes": Path(output).stat().st_size, "int8": int8,
            "head": model.config.head, "tags": len(encoder.tags), "chars": len(encoder.chars)}


def _check_scores(model: BiLSTMTagger, encoder: Encoder, data: bytes) -> None:
    """Raise unless onnxruntime gives the model's scores for a padded unsorted batch and
    an unpadded one (catches an export that kept the wrong traced branch)."""
    graph = OnnxBackend(session(data, threads=1))
    texts = [["华为手机", "我买了特步鞋", "好"], ["特步", "耐克"]]
    for arrays in (pad([encoder.encode_text(t) for t in group]) for group in texts):
        with torch.no_grad():
            expected = model.emissions(as_batch(arrays)).numpy()
        got = graph.tag_scores(arrays)
        mask = arrays["mask"]
        if got.shape != expected.shape or not np.allclose(got[mask], expected[mask], rtol=1e-4, atol=1e-4):
            raise BrandnerError("the exported graph does not reproduce the model's tag scores")


def _quantized(data: bytes) -> bytes:
    """The model with int8 weights in its LSTM and MatMul (the projection); metadata kept."""
    quantization = _require("onnxruntime.quantization")
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "float.onnx"), Path(folder, "int8.onnx")
        source.write_bytes(data)
        logging.disable(logging.WARNING)  # it advises pre-processing, made for image models
        try:
            quantization.quantize_dynamic(source, target, op_types_to_quantize=["LSTM", "MatMul"],
                                          weight_type=quantization.QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        return target.read_bytes()


def _require(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        raise BrandnerError(f"ONNX export needs {name}: pip install 'brandner[onnx]'") from None


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter: its deprecation notice, and C++ shape-inference warnings
    about PackPadded that it prints straight to file descriptor 2 (the check after the
    export is what tells whether the graph is right)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
