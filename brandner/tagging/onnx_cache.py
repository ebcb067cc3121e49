"""The fast path by default: a PyTorch model file tagged through onnxruntime, exported once and cached.

``Tagger.load("model.pt")`` exports the network to an ONNX graph (float: the same tag
scores to 1e-4, checked at export, and so the same entities) and keeps it in a cache
folder under the SHA-256 of the model file, so the next load reads the graph and never
imports PyTorch (about 2 s sooner). The folder is ``$BRANDNER_CACHE``, else
``$XDG_CACHE_HOME/brandner``, else ``~/.cache/brandner``; it may be deleted at any time.
Where it cannot be written, the graph is exported in memory at each load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from pathlib import Path

from brandner.atomic import atomic_output
from brandner.errors import BrandnerError
from brandner.tagging.onnx_backend import OPSET, VERSION, OnnxModel, load_onnx, onnx_from_bytes

log = logging.getLogger(__name__)


def cache_folder() -> Path:
    """Where exported graphs are kept (see the module's docstring)."""
    if os.environ.get("BRANDNER_CACHE"):
        return Path(os.environ["BRANDNER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "brandner"


def onnxruntime_available() -> bool:
    """Whether this Python can export (onnx) and run (onnxruntime) a graph. Found, not imported:
    importing onnx takes most of a second, and a cached graph never needs it."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def cached_graph(model_path: str | Path) -> Path:
    """The cache file for the model file at ``model_path``: named by its content, the ONNX
    format version and the opset, so a retrained or upgraded model never reads a stale graph."""
    digest = hashlib.sha256()
    with open(model_path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return cache_folder() / "onnx" / f"{digest.hexdigest()}-v{VERSION}-opset{OPSET}.onnx"


def load_through_onnx(model_path: str | Path, threads: int | None) -> OnnxModel:
    """The model file at ``model_path`` as an onnxruntime graph: from the cache, else exported
    (into the cache where it can be written, else in memory)."""
    cached = cached_graph(model_path)
    if cached.is_file():
        try:
            return load_onnx(cached, threads)
        except BrandnerError as error:  # damaged by hand or by a disk: export it again
            log.warning("%s; exporting the model again", error)
    from brandner.model.model_file import load_model
    from brandner.tagging.export import onnx_bytes

    data = onnx_bytes(*load_model(model_path))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cached) as temporary:
            temporary.write_bytes(data)
    except OSError as error:
        log.debug("cannot cache the ONNX graph at %s (%s); it stays in memory", cached, error)
    return onnx_from_bytes(data, threads, str(model_path))
