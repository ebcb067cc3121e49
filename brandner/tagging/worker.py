"""A Tagger living in a worker process: the pool's initializer loads it once (:func:`load`),
and the tasks sent to that process use it (:func:`tagger`, :func:`predict`).

Used by ``brandner tag --workers`` (streaming.py) and by the server's tagging process
(serve.py). Functions, not closures, so that spawned processes can unpickle them.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from brandner.tagging.tagger import Tagger

_tagger: Tagger | None = None


def load(model: str | list[str], threads: int | None, **options: Any) -> None:
    """Load ``model`` (a file, or an ensemble's list of files) for this process (``options``
    as for :meth:`Tagger.load`); ``threads`` is the model's intra-op thread count, torch's or
    onnxruntime's (None: their choice)."""
    global _tagger
    _tagger = Tagger.load(model, threads=threads, **options)
    if threads is not None and "torch" in sys.modules:  # a model tagged by PyTorch (never imported for ONNX)
        import torch

        torch.set_num_threads(threads)


def load_ignoring_interrupts(model: str | list[str], threads: int | None, **options: Any) -> None:
    """:func:`load`, for the server's tagging process: Ctrl-C in a terminal reaches the whole
    process group, and this process must keep tagging the requests in flight while the server
    finishes them; the server stops it when it is done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    load(model, threads, **options)


def tagger() -> Tagger:
    assert _tagger is not None, "worker not initialised"
    return _tagger


def predict(texts: list[str], scores: bool) -> list[dict]:
    return tagger().predict(texts, scores=scores)
