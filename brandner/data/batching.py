"""Length-bucketed batches: padded tensors and masks for the model."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Encoded:
    """One sentence as ids: characters, segmentation positions, (for training) tags,
    and the optional features a model may read (None when it does not)."""

    chars: np.ndarray  # (seq,) int64
    segments: np.ndarray  # (seq,) int64
    tags: np.ndarray | None = None  # (seq,) int64
    bigrams: np.ndarray | None = None  # (seq,) int64
    lexicon: np.ndarray | None = None  # (seq, positions, slots) int64 word ids, 0 = empty slot
    gazetteers: np.ndarray | None = None  # (seq, gazetteer types * positions) int64, 1 = a match
    radicals: np.ndarray | None = None  # (seq,) int64
    # joint training (brandner.training.joint): the index of the sentence's corpus, at every character
    corpus: np.ndarray | None = None  # (seq,) int64


Arrays = dict[str, np.ndarray]  # a padded batch in numpy: Batch's fields by name, features absent left out


@dataclass(frozen=True)
class Batch:
    """Padded tensors for the model; padding is 0 and comes after each sentence."""

    chars: torch.Tensor  # (batch, seq) long
    segments: torch.Tensor  # (batch, seq) long
    mask: torch.Tensor  # (batch, seq) bool
    lengths: torch.Tensor  # (batch,) long, on the CPU
    tags: torch.Tensor | None = None  # (batch, seq) long
    bigrams: torch.Tensor | None = None  # (batch, seq) long
    lexicon: torch.Tensor | None = None  # (batch, seq, positions, slots) long
    gazetteers: torch.Tensor | None = None  # (batch, seq, types * positions) long, 0 or 1
    radicals: torch.Tensor | None = None  # (batch, seq) long
    corpus: torch.Tensor | None = None  # (batch, seq) long: each sentence's corpus (joint training)

    def to(self, device: torch.device | str) -> "Batch":
        moved = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "lengths"}
        return dataclasses.replace(self, **{k: None if t is None else t.to(device) for k, t in moved.items()})


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random | None = None) -> list[list[int]]:
    """Indices grouped into batches of similar length.

    With ``rng``, sentences of equal length are shuffled among themselves and the
    batch order is shuffled, so each epoch sees different batches; without, the
    order is deterministic (longest first).
    """
    return [batch for run in length_runs(lengths, batch_size, rng) for batch in run]


def length_runs(lengths: Sequence[int], batch_size: int, rng: random.Random | None = None,
                group: int = 1) -> list[list[list[int]]]:
    """:func:`length_batches` in runs of ``group`` neighbours in length (the last run may
    be shorter), shuffled as runs: parallel training takes a run at a time, a batch a
    worker, and batches of similar length keep the workers finishing together.
    ``group=1`` draws the same random numbers as :func:`length_batches` always has."""
    if batch_size < 1 or group < 1:
        raise ValueError(f"batch_size and group must be positive, got {batch_size} and {group}")
    keys = [rng.random() for _ in lengths] if rng else range(len(lengths))
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], keys[i]))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    runs = [batches[i:i + group] for i in range(0, len(batches), group)]
    if rng:
        rng.shuffle(runs)
    return runs


def pad(items: Sequence[Encoded]) -> Arrays:
    """Pad a list of encoded sentences (each at least one character long) into numpy arrays,
    one per Batch field that every sentence has."""
    lengths = np.fromiter((len(item.chars) for item in items), dtype=np.int64, count=len(items))
    if len(items) == 0 or lengths.min() < 1:
        raise ValueError("a batch needs at least one sentence and no empty ones")
    mask = np.arange(lengths.max()) < lengths[:, None]  # (batch, seq)
    arrays = {"mask": mask, "lengths": lengths}
    for field in dataclasses.fields(Encoded):
        values = [getattr(item, field.name) for item in items]
        if all(value is not None for value in values):
            padded = np.zeros(mask.shape + values[0].shape[1:], dtype=np.int64)  # (batch, seq, ...)
            padded[mask] = np.concatenate(values)
            arrays[field.name] = padded
    return arrays


def as_batch(arrays: Arrays) -> Batch:
    """The tensors of padded arrays (sharing their memory)."""
    import torch  # here, not at the top: tagging with an ONNX model never loads PyTorch

    return Batch(**{name: torch.from_numpy(array) for name, array in arrays.items()})


def collate(items: Sequence[Encoded]) -> Batch:
    """Pad a list of encoded sentences (each at least one character long) into a Batch."""
    return as_batch(pad(items))
