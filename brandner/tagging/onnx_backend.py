"""The score backend of an ONNX file written by :mod:`brandner.tagging.export`, run by onnxruntime.

Loading reads the graph and its metadata (config, encoder, CRF scores) and needs
only onnxruntime and numpy; the Tagger decodes in numpy exactly as for a PyTorch
model.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brandner.config import ModelConfig
from brandner.crf.decoding import CRFScores
from brandner.data.batching import Arrays, Batch
from brandner.data.encoder import Encoder
from brandner.errors import BrandnerError

FORMAT, VERSION = "brandner-onnx", 2  # 2: as brandner.model.model_file.VERSION 2
OPSET = 17  # the ONNX opset brandner.tagging.export writes by default
# metadata_props keys (brandner.tagging.export writes them)
META_FORMAT, META_VERSION = "brandner.format", "brandner.version"
META_CONFIG, META_ENCODER, META_CRF = "brandner.model_config", "brandner.encoder", "brandner.crf"
ZIP_MAGIC = b"PK\x03\x04"  # torch.save files are zip archives
ONNX_FIRST_BYTE = b"\x08"  # an ONNX ModelProto starts with field 1 (ir_version), a varint


def is_onnx_file(path: str | Path) -> bool:
    """Whether ``path`` holds an ONNX model rather than a PyTorch model file, by its first byte
    (whatever its suffix). A missing file is not ONNX; loading it reports it missing."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return False
    return head[:1] == ONNX_FIRST_BYTE and head != ZIP_MAGIC


def session(model: str | Path | bytes, threads: int | None):
    """An onnxruntime CPU session for an ONNX file (or its bytes) using ``threads`` threads
    (None: onnxruntime's default, one per physical core)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise BrandnerError("tagging with an ONNX model needs onnxruntime: pip install 'brandner[onnx]'") from None
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only
    # Idle pool threads sleep rather than spin, for cores shared with other work (--workers, a
    # server): on a busy 2-core machine, batch 1 at 2 threads, 1871 sentences/s against 855.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own types for unreadable models
        name = "<bytes>" if isinstance(model, bytes) else model
        raise BrandnerError(f"{name}: not a readable ONNX model ({type(error).__name__}: {error})"
                            .splitlines()[0]) from None


class OnnxBackend:
    """Tag scores ``(batch, seq, tags)`` of padded arrays (brandner.data.batching.pad) from an
    onnxruntime session, and the CRF scores the file holds (None: a softmax head).

    The graph's LSTM steps every row of a batch to the batch's longest sentence, so a
    batch runs as slices of at most ``rows`` sentences of similar length, each cut to its
    own longest (on ecommerce test, batch 256: about 1.6x faster with slices of 16 or 32
    than whole). Scores past a sentence's length are 0.
    """

    def __init__(self, session, crf_scores: CRFScores | None = None, rows: int = 32) -> None:
        self.session = session
        self.rows = rows
        self._crf_scores = crf_scores
        self.inputs = [i.name for i in session.get_inputs()]
        known = {field.name for field in dataclasses.fields(Batch)}
        missing = [name for name in self.inputs if name not in known]
        if missing:
            raise BrandnerError(f"the ONNX graph takes inputs brandner does not make: {', '.join(missing)}")

    def crf_scores(self) -> CRFScores | None:
        return self._crf_scores

    def tag_scores(self, arrays: Arrays) -> np.ndarray:
        feed = {name: arrays[name] for name in self.inputs}
        lengths = arrays["lengths"]
        if len(lengths) <= self.rows:
            return self._run(feed)
        order = np.argsort(-lengths, kind="stable")  # length_batches gives them sorted already
        out: np.ndarray | None = None
        for start in range(0, len(order), self.rows):
            rows = order[start:start + self.rows]
            width = int(lengths[rows].max())
            scores = self._run({name: value[rows, :width] if value.ndim > 1 else value[rows]
                                for name, value in feed.items()})  # (rows, width, tags)
            if out is None:
                out = np.zeros((len(lengths), arrays["chars"].shape[1], scores.shape[2]), dtype=scores.dtype)
            out[rows, :width] = scores
        assert out is not None
        return out

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["emissions"], feed)[0]


@dataclass(frozen=True)
class OnnxModel:
    """What a brandner ONNX file holds, ready for the Tagger."""

    backend: OnnxBackend
    config: ModelConfig
    encoder: Encoder


def load_onnx(path: str | Path, threads: int | None) -> OnnxModel:
    """The graph (run with ``threads`` threads, None: onnxruntime's default), config, encoder and
    CRF scores of an ONNX file written by ``brandner export``."""
    return onnx_from_bytes(path, threads, path)


def onnx_from_bytes(model: str | Path | bytes, threads: int | None, path: str | Path) -> OnnxModel:
    """:func:`load_onnx` for a file or the bytes of one (``path`` names it in errors)."""
    runner = session(model, threads)
    metadata = runner.get_modelmeta().custom_metadata_map
    if metadata.get(META_FORMAT) != FORMAT:
        raise BrandnerError(f"{path}: an ONNX model without brandner's metadata (write it with 'brandner export')")
    version = int(metadata.get(META_VERSION, "0"))
    if version > VERSION:
        raise BrandnerError(f"{path}: written by a newer brandner (ONNX format version {version})")
    try:
        config = ModelConfig.from_saved(json.loads(metadata[META_CONFIG]))
        encoder = Encoder.from_dict(json.loads(metadata[META_ENCODER]), config)
        crf = json.loads(metadata[META_CRF]) if META_CRF in metadata else None
    except (KeyError, TypeError, ValueError, RecursionError) as error:  # RecursionError: JSON nested too deep
        raise BrandnerError(f"{path}: damaged brandner metadata ({type(error).__name__}: {error})") from None
    crf_scores = None
    if crf is not None:
        crf_scores = tuple(np.asarray(crf[key], dtype=np.float32) for key in ("transitions", "start", "end"))
    return OnnxModel(OnnxBackend(runner, crf_scores), config, encoder)
