"""The score backend of a PyTorch network (the ONNX twin is onnx_backend.py).

Only a Tagger built on a PyTorch model imports this module, so tagging with an
ONNX model never loads PyTorch.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from torch import nn

from brandner.crf.decoding import CRFScores
from brandner.data.batching import Arrays, as_batch
from brandner.model.device import model_device
from brandner.model.network import BiLSTMTagger


class TorchBackend:
    """Tag scores from ``model`` (put in eval mode), or from an int8 copy of it; CRF scores
    from ``model`` itself, read afresh each time (a Tagger built during training sees the
    weights as they are now). ``model`` is the network that computes the tag scores, on the
    device its weights are on (the batch goes there, the scores come back to the host)."""

    def __init__(self, model: BiLSTMTagger, int8: bool = False) -> None:
        self.network = model
        if int8 and model_device(model).type != "cpu":
            raise ValueError(f"int8 quantisation tags on the CPU; this model is on {model_device(model)}")
        self.model = quantized(model) if int8 else model.eval()

    @torch.inference_mode()
    def tag_scores(self, arrays: Arrays) -> np.ndarray:
        batch, device = as_batch(arrays), model_device(self.network)
        if device.type != "cpu":
            return self.model.emissions(batch.to(device)).cpu().numpy()
        return self.model.emissions(batch).numpy()

    def crf_scores(self) -> CRFScores | None:
        return self.network.crf_scores()


def quantized(model: BiLSTMTagger) -> BiLSTMTagger:
    """A copy of ``model`` for CPU inference with int8 weights in its LSTM and Linear layers."""
    with warnings.catch_warnings():  # torch marks its eager-mode quantisation API as deprecated
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), {nn.LSTM, nn.Linear},
                                                      dtype=torch.qint8)
