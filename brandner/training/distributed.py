"""Training across processes and machines with ``torch.distributed``, as launched by ``torchrun``.

    torchrun --nproc-per-node 2 -m brandner.cli.main train --corpus ecommerce -o model.pt

What a rank does: every rank reads the whole training set; rank 0 builds (or, with
``--resume``, reads) the starting state and sends it to the others, so the vocabularies and
the first weights are rank 0's everywhere (:meth:`Ranks.from_main`); a digest of each rank's
encoded training data must then match rank 0's. An epoch's batches come, as for
``train.workers``, in runs of W (the number of ranks) batches neighbouring in length, the
same runs on every rank (the same seed); rank r takes the r-th batch of each run. A step:
each rank's gradient of its batch, unclipped, weighted by its share of the run's sentences,
summed over the ranks (one all-reduce), clipped, and the same Adam step on every rank. The
loss is a mean over sentences, so that sum is the gradient of the run's sentences as one
batch: W ranks of batch B take the steps of one process of batch W * B. Every rank takes one
step per run, so all take the same number: the last run of an epoch may hold fewer than W
batches, and a rank with none adds nothing (weight 0) to that step (padding, not dropping).

Why not ``torch.nn.parallel.DistributedDataParallel``: it averages the ranks' gradients with
equal weights and needs a forward and backward pass on every rank at every step, which the
last, short run of an epoch does not give; the network's loss is not its ``forward``; and the
one explicit all-reduce of the flattened gradients here is what its hooks would do, without
overlap, which one thread a rank has no use for.

Rank 0 alone evaluates dev (the others wait for its report, so every rank decides the same
early stop) and writes the model, the resume state and the summary. A rank that dies makes
the others' next collective fail (their connection to it closes), unless torchrun, which
watches its ranks, stops them first; one that stops answering makes them give up after
``BRANDNER_DIST_TIMEOUT`` seconds (default :data:`DEFAULT_TIMEOUT`). Either way each rank
raises a :class:`BrandnerError` saying which, and torchrun ends with a non-zero status and
a report naming the rank that failed first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import random
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterator, Mapping, Sequence, TypeVar

import torch
import torch.distributed as dist

from brandner.config import TrainConfig
from brandner.data.batching import Encoded
from brandner.errors import BrandnerError
from brandner.model.network import BiLSTMTagger
from brandner.training.steps import WeightAverage, batch_gradient, clip_gradients

log = logging.getLogger("brandner")
TIMEOUT_VARIABLE = "BRANDNER_DIST_TIMEOUT"
# Seconds a rank waits for the others in a collective before it gives up. Rank 0 builds the
# vocabularies and evaluates dev while the others wait for it: a corpus or dev set that takes
# longer than this needs a larger BRANDNER_DIST_TIMEOUT.
DEFAULT_TIMEOUT = 300.0
# brandner trains on the CPU; NCCL reduces CUDA tensors only, so gloo it is.
BACKEND = "gloo"
# What torchrun sets for each process it starts (MASTER_ADDR and MASTER_PORT: where rank 0's store is).
TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
T = TypeVar("T")


@dataclass(frozen=True)
class Launch:
    """Where this process stands in a job started by torchrun (from its environment)."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    timeout: float  # seconds


def launched(environ: Mapping[str, str] | None = None) -> Launch | None:
    """This process's place in a torchrun job, from ``environ`` (default: ``os.environ``); None
    when it is not one of several (no ``WORLD_SIZE``, or 1). A ``WORLD_SIZE`` above 1 without the
    rest of torchrun's variables, or with values that are not numbers in range, is an error."""
    env = os.environ if environ is None else environ
    world_size = _whole("WORLD_SIZE", env.get("WORLD_SIZE", "1"), 1)
    if world_size == 1:
        return None
    missing = [name for name in TORCHRUN_VARIABLES if not env.get(name)]
    if missing:
        raise BrandnerError(f"WORLD_SIZE={world_size} but {', '.join(missing)} not set: launch with torchrun")
    rank, local_rank = _whole("RANK", env["RANK"], 0), _whole("LOCAL_RANK", env["LOCAL_RANK"], 0)
    local_world_size = _whole("LOCAL_WORLD_SIZE", env["LOCAL_WORLD_SIZE"], 1)
    if rank >= world_size or local_rank >= local_world_size:
        raise BrandnerError(f"RANK={rank} of WORLD_SIZE={world_size}, LOCAL_RANK={local_rank} of "
                            f"LOCAL_WORLD_SIZE={local_world_size}: a rank must be below its world size")
    return Launch(rank, world_size, local_rank, local_world_size, distributed_timeout(env))


def distributed_timeout(environ: Mapping[str, str]) -> float:
    """``$BRANDNER_DIST_TIMEOUT`` in seconds (a positive number), else :data:`DEFAULT_TIMEOUT`."""
    text = environ.get(TIMEOUT_VARIABLE)
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise BrandnerError(f"{TIMEOUT_VARIABLE} must be a positive number of seconds, got {text!r}")
    return seconds


def _whole(name: str, text: str, least: int) -> int:
    if not text.strip().isdigit() or int(text) < least:
        raise BrandnerError(f"{name} must be a whole number at least {least}, got {text!r}")
    return int(text)


def distributed_train_config(config: TrainConfig, world_size: int) -> TrainConfig:
    """``config`` as every rank trains with it: ``workers = 1`` (each rank is one process; said in
    a log line). ``sparse_embeddings`` is refused: the ranks sum dense gradients."""
    if config.sparse_embeddings:
        raise BrandnerError("train.sparse_embeddings does not work under torchrun (the ranks sum dense "
                            "gradients): train without it")
    log.info("%d ranks, each one process at %d torch thread(s), so train.workers=1%s", world_size,
             torch.get_num_threads(), "" if config.workers == 1 else f" (not {config.workers})")
    return dataclasses.replace(config, workers=1)


class Ranks:
    """This rank's view of the process group: who it is, and the collectives training uses, each
    raising a :class:`BrandnerError` that says what happened when another rank is gone."""

    def __init__(self, launch: Launch) -> None:
        self.rank, self.world_size, self.timeout = launch.rank, launch.world_size, launch.timeout

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce(self, tensor: torch.Tensor) -> None:
        """Sum ``tensor`` over the ranks, in place."""
        with self._collective():
            dist.all_reduce(tensor)

    def all_gather(self, value: T) -> list[T]:
        """Every rank's ``value`` (picklable), by rank."""
        gathered: list = [None] * self.world_size
        with self._collective():
            dist.all_gather_object(gathered, value)
        return gathered

    def from_main(self, produce: Callable[[], T]) -> T:
        """``produce()`` run on rank 0, its result on every rank (the others do not call it). An
        exception on rank 0 is raised there, and on the others as a BrandnerError quoting it."""
        box: list = [None]
        if self.is_main:
            try:
                box[0] = (True, produce())
            except Exception as error:
                box[0] = (False, str(error) if isinstance(error, BrandnerError) else f"{type(error).__name__}: {error}")
                self._broadcast(box)
                raise
        self._broadcast(box)
        done, value = box[0]
        if not done:
            raise BrandnerError(f"rank 0 failed: {value}")
        return value

    def _broadcast(self, box: list) -> None:
        with self._collective():
            dist.broadcast_object_list(box, src=0)

    @contextmanager
    def _collective(self) -> Iterator[None]:
        try:
            yield
        except RuntimeError as error:  # gloo's: a connection closed, or a timeout
            said = error_line(error)
            where = f"rank {self.rank} of {self.world_size}"
            if "timed out" in said.lower():
                raise BrandnerError(f"{where}: no answer from another rank for {self.timeout:g} s "
                                    f"({TIMEOUT_VARIABLE}): it is stuck, or out of reach: {said}") from None
            raise BrandnerError(f"{where}: lost the other ranks (one ended: see its error, or torchrun's "
                                f"report): {said}") from None


def error_line(error: Exception) -> str:
    """The first line of ``error``'s message without gloo's ``[source.cc:123] `` prefix, cut to 200
    characters; its type's name if it has none."""
    text = str(error).strip()
    line = re.sub(r"^\[[^\]]*\] ", "", text.splitlines()[0]) if text else type(error).__name__
    return line if len(line) <= 200 else line[:199] + "…"


@contextmanager
def process_group(launch: Launch | None) -> Iterator[Ranks | None]:
    """The process group of ``launch`` (torchrun's ``env://`` rendezvous, gloo, ``launch.timeout``)
    while the block runs; None, and nothing done, without one."""
    if launch is None:
        yield None
        return
    try:
        dist.init_process_group(BACKEND, timeout=timedelta(seconds=launch.timeout))
    except (RuntimeError, ValueError) as error:
        raise BrandnerError(f"rank {launch.rank}: could not join the other {launch.world_size - 1} rank(s) "
                            f"at {os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}: "
                            f"{error_line(error)}") from None
    try:
        yield Ranks(launch)
        # every rank done before any tears down: a rank leaving while another is still in its last
        # collective (rank 0 writes the model after the others are done) aborted it now and then
        # ("terminate called without an active exception", exit -6)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def data_digest(data: Sequence[Encoded]) -> str:
    """sha256 of every id array of the encoded training data, in order: equal on two ranks when
    they read the same sentences and encoded them alike (the same vocabularies and segmenter)."""
    digest = hashlib.sha256()
    for item in data:
        for field in dataclasses.fields(item):
            array = getattr(item, field.name)
            digest.update(field.name.encode() + (b"-" if array is None else repr(array.shape).encode()))
            if array is not None:
                digest.update(array.tobytes())
    return digest.hexdigest()


def check_same_data(ranks: Ranks, data: Sequence[Encoded]) -> None:
    """Raise on every rank if any rank's encoded training data differs from rank 0's."""
    digests = ranks.all_gather(data_digest(data))
    others = [rank for rank, digest in enumerate(digests) if digest != digests[0]]
    if others:
        raise BrandnerError(f"rank(s) {', '.join(map(str, others))} read other training data than rank 0, or "
                            "encoded it otherwise: give every node the same corpus files and brandner install")


def rank_seed(seed: int, epoch: int, rank: int) -> int:
    """The seed of rank ``rank``'s random streams (dropout, ``<UNK>`` replacement) in ``epoch``:
    from these three alone, so a resumed run goes on as an uninterrupted one, and the training
    loop's own random numbers (the batch order) are drawn as in one process."""
    return random.Random(f"brandner-rank {seed} {epoch} {rank}").getrandbits(63)


class DistributedSteps:
    """Training steps of one rank among ``ranks.world_size`` (see the module's docstring); the
    interface of brandner.training.steps.SerialSteps. Every trained parameter gets a gradient
    at every step (zeros where none came), which this network gives them anyway."""

    def __init__(self, model: BiLSTMTagger, optimizer: torch.optim.Optimizer, data: Sequence[Encoded],
                 config: TrainConfig, singletons: dict[str, torch.Tensor] | None,
                 average: WeightAverage | None, ranks: Ranks) -> None:
        self.model, self.optimizer, self.data, self.singletons = model, optimizer, data, singletons
        self.average, self.ranks, self.clip = average, ranks, config.clip
        self.unclipped = dataclasses.replace(config, clip=0.0)  # clipped once summed
        self.trained = [p for p in model.parameters() if p.requires_grad]
        self.flat = torch.zeros(sum(p.numel() for p in self.trained) + 1)  # the gradients, then the loss
        self.views, start = [], 0
        for param in self.trained:
            self.views.append(self.flat[start:start + param.numel()].view_as(param))
            start += param.numel()

    def __enter__(self) -> "DistributedSteps":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def epoch(self, runs: Sequence[Sequence[Sequence[int]]], seeds: Sequence[int]) -> Iterator[tuple[int, float]]:
        """(sentences, mean loss) of each run, all its batches one step; this rank's random
        streams seeded with ``seeds[rank]``."""
        torch.manual_seed(seeds[self.ranks.rank])
        for run in runs:
            sentences = sum(len(batch) for batch in run)
            self.flat.zero_()
            if self.ranks.rank < len(run):
                mine = run[self.ranks.rank]
                loss = batch_gradient(self.model, self.trained, self.data, mine, self.singletons, self.unclipped)
                for view, param in zip(self.views, self.trained, strict=True):
                    if param.grad is not None:
                        view.copy_(param.grad)
                self.flat[-1] = loss
                self.flat.mul_(len(mine) / sentences)  # the loss is a mean over the batch's sentences
            self.ranks.all_reduce(self.flat)
            for view, param in zip(self.views, self.trained, strict=True):
                param.grad = view  # batch_gradient sets new .grad tensors before the next backward
            if self.clip > 0:
                clip_gradients(self.trained, self.clip)
            self.optimizer.step()
            if self.average is not None:
                self.average.update()
            yield sentences, float(self.flat[-1])
