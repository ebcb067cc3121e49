"""Which torch device a model runs on: ``cpu``, ``cuda``, ``cuda:N``, or ``auto`` (CUDA when torch sees
it, else the CPU). The name is checked without torch (brandner.config.check_device_name); whether
the device is there, here.

On the CPU, brandner trains and tags as it always has. On a GPU, the network and the CRF's loss
(brandner.crf.batched) run there; decoding stays in numpy on the host, on the tag scores, as for
an ONNX model. Model files hold CPU tensors, so a model trained on either loads on either.
"""

from __future__ import annotations

import torch

from brandner.config import check_device_name
from brandner.errors import BrandnerError


def resolve_device(name: str, what: str = "device") -> torch.device:
    """The device ``name`` means here, or a BrandnerError saying why it is not there (``what``
    names the setting in it)."""
    check_device_name(name, what)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU build of torch" if torch.version.cuda is None else f"torch for CUDA {torch.version.cuda}"
            raise BrandnerError(f"{what} {name}: torch sees no CUDA device here ({build}); use cpu, or auto "
                                "to take a GPU only where there is one")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise BrandnerError(f"{what} {name}: torch sees {torch.cuda.device_count()} CUDA device(s), "
                                f"numbered from 0")
    return device


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (a brandner network keeps them all on one)."""
    return next(model.parameters()).device
