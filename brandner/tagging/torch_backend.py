"""Tag scores from a PyTorch model for the Tagger (the ONNX twin is onnx_backend.py).

Only a Tagger built on a PyTorch model imports this module, so tagging with an
ONNX model never loads PyTorch.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from torch import nn

from brandner.data.batching import Arrays, as_batch
from brandner.model.network import BiLSTMTagger


class TorchEmissions:
    """Tag scores ``(batch, seq, tags)`` of padded arrays from ``model`` (put in eval mode),
    or from an int8 copy of it."""

    def __init__(self, model: BiLSTMTagger, int8: bool = False) -> None:
        self.model = quantized(model) if int8 else model.eval()

    @torch.inference_mode()
    def __call__(self, arrays: Arrays) -> np.ndarray:
        return self.model.emissions(as_batch(arrays)).numpy()


def quantized(model: BiLSTMTagger) -> BiLSTMTagger:
    """A copy of ``model`` for CPU inference with int8 weights in its LSTM and Linear layers."""
    with warnings.catch_warnings():  # torch marks its eager-mode quantisation API as deprecated
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), {nn.LSTM, nn.Linear},
                                                      dtype=torch.qint8)
