"""The training loop: epochs of length-bucketed batches, the learning-rate schedule, early stopping.

It does no I/O: it yields events, and the caller (brandner.training.job) saves, logs
and draws progress. The steps themselves are brandner.training.steps (one process)
or brandner.training.parallel (several), or brandner.training.distributed (one rank of several
started by torchrun).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch

from brandner.config import TrainConfig
from brandner.data.batching import Encoded, length_runs
from brandner.data.metrics import Report
from brandner.model.network import BiLSTMTagger
from brandner.training.distributed import DistributedSteps, Ranks, rank_seed
from brandner.training.parallel import ParallelSteps
from brandner.training.steps import SerialSteps, WeightAverage


@dataclass
class TrainState:
    """Where training stands after ``epoch`` finished epochs; enough to resume."""

    epoch: int = 0
    best_f1: float = -1.0
    best_epoch: int = 0
    step_seconds: float = 0.0  # time spent in training steps, all epochs
    sentences_seen: int = 0

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class StepEvent:
    epoch: int
    step: int
    steps: int
    loss: float


@dataclass(frozen=True)
class EpochEvent:
    epoch: int
    loss: float  # mean loss per sentence over the epoch
    dev: Report
    improved: bool
    state: TrainState
    seconds: float


def train_loop(model: BiLSTMTagger, optimizer: torch.optim.Optimizer, data: Sequence[Encoded],
               evaluate: Callable[[], Report], config: TrainConfig, state: TrainState,
               rng: random.Random, singletons: dict[str, torch.Tensor] | None = None,
               average: WeightAverage | None = None, ranks: Ranks | None = None) -> Iterator[StepEvent | EpochEvent]:
    """Train from ``state.epoch + 1`` until ``config.max_epochs`` or :func:`patience_epochs`
    epochs without a better dev F1 (once some epoch's dev F1 is above 0), each at its
    ``epoch_lr``. ``state`` is updated in place.

    ``singletons`` maps an id field of the batch (``chars``, ``bigrams``, ``lexicon``) to
    a bool per id marking those seen once in training; each occurrence is read as
    ``<UNK>`` with probability ``config.unk_replace``, so the model learns what to do
    with ids it has never seen.

    With ``average``, it is updated after every step, and the model holds the average
    from the dev evaluation until the loop goes on after the epoch's event (so a caller
    saving the model at the event saves the average).

    With ``config.workers`` > 1 (0: as many as the CPUs allow) the steps run in that many
    processes (brandner.training.parallel), which share the model's, the optimizer's and the
    average's tensors with this one.

    With ``ranks`` (one of several processes started by torchrun, each with ``config.workers``
    = 1), each step is a run of one batch a rank, its gradients summed over the ranks
    (brandner.training.distributed); ``evaluate`` is called on rank 0 only, and its report is
    every rank's, so all stop at the same epoch.
    """
    config = config.resolved()
    lengths = [len(item.chars) for item in data]
    steps: SerialSteps | ParallelSteps | DistributedSteps
    if ranks is not None:
        steps = DistributedSteps(model, optimizer, data, config, singletons, average, ranks)
    elif config.workers > 1:
        steps = ParallelSteps(model, optimizer, data, config, singletons, average, config.workers)
    else:
        steps = SerialSteps(model, optimizer, data, config, singletons, average)
    per_run = ranks.world_size if ranks is not None else config.workers  # batches in a run
    patience = patience_epochs(config, len(data))
    with steps:
        for epoch in range(state.epoch + 1, config.max_epochs + 1):
            # patience counts from the first model that finds something: on a few hundred
            # sentences the first epochs tag nothing, and stopping there leaves a model of F1 0
            if state.best_f1 > 0 and state.epoch - state.best_epoch >= patience:
                break
            started = time.perf_counter()
            for group in optimizer.param_groups:  # from the epoch alone, so a resumed run continues the schedule
                group["lr"] = epoch_lr(config, epoch)
            model.train()
            runs = length_runs(lengths, config.batch_size, rng, per_run)
            # the workers' random streams; serial training draws from torch's, as it always has
            if ranks is not None:  # a step a run
                seeds, batches = [rank_seed(config.seed, epoch, r) for r in range(per_run)], len(runs)
            else:
                seeds = [rng.getrandbits(63) for _ in range(config.workers)] if config.workers > 1 else []
                batches = sum(len(run) for run in runs)
            total = 0.0
            for step, (sentences, loss) in enumerate(steps.epoch(runs, seeds), start=1):
                total += loss * sentences
                yield StepEvent(epoch, step, batches, loss)
            state.step_seconds += time.perf_counter() - started
            state.sentences_seen += len(data)
            model.eval()
            if average is not None:
                average.swap()
            report = evaluate() if ranks is None else ranks.from_main(evaluate)
            improved = report.micro.f1 > state.best_f1
            state.epoch = epoch
            if improved:
                state.best_f1, state.best_epoch = report.micro.f1, epoch
            yield EpochEvent(epoch, total / max(len(data), 1), report, improved, state,
                             time.perf_counter() - started)
            if average is not None:
                average.swap()


def patience_epochs(config: TrainConfig, sentences: int) -> int:
    """The epochs without a better dev F1 after which training stops: ``patience``, or as many
    as read ``patience_sentences`` training sentences if that is more. Fine-tuning on 100
    ecommerce titles (5 steps an epoch) stopped at epoch 9 with dev F1 4.0, its epoch 1's."""
    return max(config.patience, math.ceil(config.patience_sentences / max(sentences, 1)))


def epoch_lr(config: TrainConfig, epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (from 1)."""
    return config.lr / (1 + config.lr_decay * (epoch - 1))
