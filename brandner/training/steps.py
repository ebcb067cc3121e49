"""Training steps in this process: a batch's loss and clipped gradient, the optimiser's step,
the weight average, and the training-time input noise (singletons read as ``<UNK>``).

:class:`SerialSteps` runs them one batch after another (``train.workers = 1``);
brandner.training.parallel runs the same :func:`batch_gradient` in worker processes.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Sequence

import numpy as np
import torch

from brandner.config import TrainConfig
from brandner.data.batching import Batch, Encoded, collate
from brandner.data.lexicon import BEGIN, NUM_POSITIONS, SINGLE
from brandner.data.vocab import UNK_ID
from brandner.model.network import BiLSTMTagger


class WeightAverage:
    """An exponential moving average of a model's trained parameters, updated after every
    step, with ``decay`` per step (less over the first steps, as ``min(decay, (1 + n) / (10 + n))``
    after n updates, so the random initial weights fade fast).

    ``swap`` exchanges the average with the model's weights: between two swaps the model
    holds the average, which is what is evaluated on dev and saved.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.held = [p.detach().clone() for p in self.params]  # the average, or the training weights while swapped

    @torch.no_grad()
    def update(self, only: Sequence[int] | None = None) -> None:
        """One step's update: of every parameter, or of those at the positions ``only``
        (of ``model.parameters()`` that are trained; brandner.training.parallel splits them)."""
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        chosen = range(len(self.params)) if only is None else only
        torch._foreach_lerp_([self.held[i] for i in chosen], [self.params[i].detach() for i in chosen], 1.0 - decay)
        self.updates += 1

    @torch.no_grad()
    def swap(self) -> None:
        for param, held in zip(self.params, self.held, strict=True):
            weights = param.detach().clone()
            param.copy_(held)
            held.copy_(weights)

    def state_dict(self) -> dict:
        return {"updates": self.updates, "held": [t.clone() for t in self.held]}

    def load_state_dict(self, state: dict) -> None:
        if len(state["held"]) != len(self.held):
            raise ValueError(f"a weight average of {len(state['held'])} tensors for a model with {len(self.held)}")
        self.updates = int(state["updates"])
        for held, saved in zip(self.held, state["held"], strict=True):
            held.copy_(saved)


class SerialSteps:
    """Training steps in this process, one batch after another (``train.workers = 1``);
    the interface of brandner.training.parallel.ParallelSteps."""

    def __init__(self, model: BiLSTMTagger, optimizer: torch.optim.Optimizer, data: Sequence[Encoded],
                 config: TrainConfig, singletons: dict[str, torch.Tensor] | None,
                 average: WeightAverage | None) -> None:
        self.model, self.optimizer, self.data, self.config = model, optimizer, data, config
        self.singletons, self.average = singletons, average
        self.trained = [p for p in model.parameters() if p.requires_grad]

    def __enter__(self) -> "SerialSteps":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def epoch(self, runs: Sequence[Sequence[Sequence[int]]], seeds: Sequence[int]) -> Iterator[tuple[int, float]]:
        """(sentences, loss) of each batch, trained in turn; ``seeds`` is not used."""
        for run in runs:
            for indices in run:
                loss = batch_gradient(self.model, self.trained, self.data, indices, self.singletons, self.config)
                self.optimizer.step()
                if self.average is not None:
                    self.average.update()
                yield len(indices), loss


def batch_gradient(model: BiLSTMTagger, trained: Sequence[torch.Tensor], data: Sequence[Encoded],
                   indices: Sequence[int], singletons: dict[str, torch.Tensor] | None, config: TrainConfig) -> float:
    """The loss of the batch ``data[indices]`` (see :func:`training_batch`), on the device of the
    ``trained`` parameters; its gradient, clipped
    at ``config.clip``, in the ``.grad`` of each of the ``trained`` parameters, new tensors (not
    added to what those held)."""
    batch = training_batch(data, indices, singletons, config.unk_replace, config.gazetteer_dropout)
    device = trained[0].device
    loss = model.loss(batch if device.type == "cpu" else batch.to(device))  # drawn on the CPU, trained on a GPU
    for param in trained:
        param.grad = None
    loss.backward()
    if config.clip > 0:
        clip_gradients(trained, config.clip)
    return loss.item()


def training_batch(data: Sequence[Encoded], indices: Sequence[int], singletons: dict[str, torch.Tensor] | None,
                   unk_replace: float, gazetteer_dropout: float = 0.0) -> Batch:
    """The batch of ``data[indices]``, singletons read as ``<UNK>`` with probability ``unk_replace``,
    and each sentence's matches of each typed gazetteer hidden with ``gazetteer_dropout``."""
    batch = collate([data[i] for i in indices])
    if singletons is not None and unk_replace > 0:
        for field, mask in singletons.items():
            batch = with_unknowns(batch, mask, unk_replace, field)
    if batch.gazetteers is not None and gazetteer_dropout > 0:
        batch = without_gazetteers(batch, gazetteer_dropout)
    return batch


def clip_gradients(parameters: Sequence[torch.Tensor], max_norm: float) -> None:
    """Scale the gradients so that their joint norm is at most ``max_norm``, with the numbers of
    ``clip_grad_norm_``, which multiplies every gradient by ``min(1, max_norm / (norm + 1e-6))``
    even when that is 1; skipping that multiplication, one call per parameter on the CPU,
    changes nothing (and took clipping from 0.40 to 0.30 ms a step on the speed benchmark's
    ecommerce batches). Sparse gradients (``train.sparse_embeddings``) count their rows,
    summed where a row comes twice."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    dense = [g for g in grads if not g.is_sparse]
    norms = list(torch._foreach_norm(dense)) if dense else []
    norms += [torch.linalg.vector_norm(g.coalesce().values()) for g in grads if g.is_sparse]
    norm = torch.linalg.vector_norm(torch.stack(norms))
    scale = max_norm / (norm + 1e-6)
    if bool(scale < 1.0):
        if dense:
            torch._foreach_mul_(dense, scale)
        for grad in grads:
            if grad.is_sparse:
                grad.mul_(scale)


def singleton_ids(data: Sequence[Encoded], vocab_size: int, field: str = "chars") -> torch.Tensor:
    """Which ids of ``field`` occur exactly once in the training data: ``(vocab,)`` bool.

    A lexicon word is counted where it begins (or is a one-character word), so once
    per occurrence however long it is."""
    def occurrences(item: Encoded) -> np.ndarray:
        ids = getattr(item, field)
        return ids[:, [BEGIN, SINGLE]].ravel() if field == "lexicon" else ids

    counts = np.bincount(np.concatenate([occurrences(item) for item in data]), minlength=vocab_size)
    return torch.from_numpy(counts == 1)


def without_gazetteers(batch: Batch, probability: float) -> Batch:
    """The batch with, for each sentence and each typed gazetteer, all that gazetteer's matches in
    the sentence hidden (its B, M, E, S inputs 0) with ``probability``: the sentence reads as if
    the list named none of its words. Whole lists per sentence, never a part of a match, so the
    model sees only inputs that tagging can give it."""
    gazetteers = batch.gazetteers  # (batch, seq, types * positions)
    sentences, length, width = gazetteers.shape
    keep = torch.rand(sentences, 1, width // NUM_POSITIONS, 1) >= probability  # (batch, 1, types, 1)
    hidden = gazetteers.view(sentences, length, -1, NUM_POSITIONS) * keep
    return dataclasses.replace(batch, gazetteers=hidden.view(sentences, length, width))


def with_unknowns(batch: Batch, singletons: torch.Tensor, probability: float, field: str = "chars") -> Batch:
    """The batch with each singleton id of ``field`` (characters unless told) replaced
    by ``<UNK>`` with ``probability``."""
    ids = getattr(batch, field)
    drop = singletons[ids] & (torch.rand(ids.shape) < probability)  # same shape as ids
    return dataclasses.replace(batch, **{field: ids.masked_fill(drop, UNK_ID)})
