"""What computes one model file's tag scores: :meth:`brandner.tagging.tagger.Tagger.load`'s choice.

An ONNX file runs in onnxruntime. A PyTorch model file runs, as ``backend`` says, in onnxruntime
(exported once and cached, brandner.tagging.onnx_cache) or in PyTorch; with int8 weights always in
PyTorch; and on a GPU (``device``) in PyTorch on that GPU. PyTorch is imported only for the
PyTorch backend, or for a device other than ``"cpu"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from brandner.config import check_device_name
from brandner.data.encoder import Encoder
from brandner.errors import BrandnerError
from brandner.tagging.backend import ScoreBackend
from brandner.tagging.onnx_backend import is_onnx_file
from brandner.tagging.onnx_cache import load_through_onnx, onnxruntime_available

if TYPE_CHECKING:
    import torch

    from brandner.config import ModelConfig

# What computes a PyTorch model file's tag scores (Tagger.load's ``backend``).
BACKENDS = ("auto", "onnx", "torch")


def load_scores(path: str | Path, int8: bool, threads: int | None, backend: str,
                device: str = "cpu") -> tuple[ScoreBackend, ModelConfig, Encoder]:
    """The score backend of the model file or ONNX file at ``path``, its model config and encoder."""
    gpu = gpu_device(device, int8, backend)
    if gpu is not None:
        if is_onnx_file(path):
            raise BrandnerError(f"{path}: an ONNX file tags on the CPU (onnxruntime); on {device}, tag with the "
                                "PyTorch model file it was exported from")
        return _torch(path, False, gpu)
    if is_onnx_file(path):
        if int8:
            raise BrandnerError(f"{path}: int8 quantisation is for PyTorch model files; "
                                "for ONNX, quantise when exporting (brandner export --int8)")
        from brandner.tagging.onnx_backend import load_onnx  # onnxruntime is an optional dependency

        loaded = load_onnx(path, threads)
        return loaded.backend, loaded.config, loaded.encoder
    if backend == "onnx" or (backend == "auto" and not int8 and onnxruntime_available()):
        if int8:
            raise BrandnerError(f"{path}: int8 tags in PyTorch (backend='torch'); for onnxruntime, "
                                "quantise when exporting (brandner export --int8)")
        loaded = load_through_onnx(path, threads)
        return loaded.backend, loaded.config, loaded.encoder
    return _torch(path, int8)


def _torch(path: str | Path, int8: bool, device: torch.device | None = None):
    from brandner.model.model_file import load_model
    from brandner.tagging.torch_backend import TorchBackend

    model, encoder = load_model(path)
    if device is not None:
        model.to(device)
    return TorchBackend(model, int8), model.config, encoder


def gpu_device(device: str, int8: bool, backend: str) -> torch.device | None:
    """The GPU that ``device`` names here, or None for the CPU (``"cpu"``, or ``"auto"`` without
    CUDA), where the backends are as ever; a BrandnerError for a GPU not there, or for what
    only the CPU does (int8, onnxruntime)."""
    check_device_name(device)
    if device == "cpu":
        return None
    from brandner.model.device import resolve_device

    resolved = resolve_device(device)
    if resolved.type == "cpu":
        return None
    if int8:
        raise BrandnerError(f"int8 quantisation tags on the CPU; on {device}, the model tags in float")
    if backend == "onnx":
        raise BrandnerError(f"backend onnx tags on the CPU (onnxruntime); on {device}, a model tags in PyTorch")
    return resolved
