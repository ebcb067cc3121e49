"""A Tagger living in a worker process: the pool's initializer loads it once (:func:`load`),
and the tasks sent to that process use it (:func:`tagger`, :func:`predict`). Such a process dies
with its parent, and :func:`naming_the_dead` says which died and how.

Used by ``brandner tag --workers`` (streaming.py) and by the server's tagging process
(serve.py). Functions, not closures, so that spawned processes can unpickle them.
"""

from __future__ import annotations

import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Iterator

from brandner.errors import BrandnerError
from brandner.processes import die_with_parent, exit_status
from brandner.tagging.tagger import Tagger

_tagger: Tagger | None = None


def load(model: str | list[str], threads: int | None, **options: Any) -> None:
    """Load ``model`` (a file, or an ensemble's list of files) for this process (``options``
    as for :meth:`Tagger.load`); ``threads`` is the model's intra-op thread count, torch's or
    onnxruntime's (None: their choice). First, a process that multiprocessing started is made
    to die with its parent (:func:`die_with_parent`): a pool's workers never outlive it."""
    global _tagger
    die_with_parent()
    _tagger = Tagger.load(model, threads=threads, **options)
    if threads is not None:
        torch_threads(threads)


def torch_threads(threads: int) -> None:
    """Give PyTorch ``threads`` threads in this process if a model tagging in PyTorch imported it
    (an ONNX model never does, and this does not import it either)."""
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)


def load_ignoring_interrupts(model: str | list[str], threads: int | None, **options: Any) -> None:
    """:func:`load`, for a pool's worker that its parent stops: Ctrl-C in a terminal reaches the
    whole process group, and the worker must finish the work in flight (``tag --workers``: the
    chunks sent; the server: the requests it finishes) instead of printing a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    load(model, threads, **options)


def tagger() -> Tagger:
    assert _tagger is not None, "worker not initialised"
    return _tagger


def predict(texts: list[str], scores: bool) -> list[dict]:
    return tagger().predict(texts, scores=scores)


@contextmanager
def naming_the_dead(pool: ProcessPoolExecutor, what: str = "tagging worker") -> Iterator[None]:
    """Within the block, ``pool`` broken by a worker that died becomes a :class:`BrandnerError`
    naming the worker (by start order, from 1) and how it ended::

        tagging worker 2 died: killed by signal 9 (SIGKILL)
    """
    # CPython's {pid: Process} in start order (private, there since 3.2); a broken pool keeps it filled
    started = getattr(pool, "_processes", None)
    started = started if started is not None else {}
    try:
        yield
    except BrokenProcessPool:
        pool.shutdown(wait=True)  # the pool ends the others (SIGTERM) and joins them all: every exit code is known
        ends = [(number, process.exitcode) for number, process in enumerate(list(started.values()), start=1)]
        # the one that broke the pool, not those the pool ended; all of them if that cannot be told
        dead = [(n, code) for n, code in ends if code != -signal.SIGTERM] or ends
        raise BrandnerError("; ".join(f"{what} {n} died: {exit_status(code)}" for n, code in dead)
                            or f"a {what} died") from None
