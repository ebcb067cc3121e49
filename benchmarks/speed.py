"""Speed of brandner against a pytorch-crf BiLSTM-CRF (benchmarks/reference_torchcrf.py), in one run.

    python benchmarks/speed.py                                    # ecommerce, 2 timed epochs
    python benchmarks/speed.py --set workers=2                    # brandner trains in 2 processes
    python benchmarks/speed.py --corpus weibo --threads 1 --tag-file-lines 100000
    python benchmarks/speed.py --set segmenter=jieba-fast --tag-file-lines 100000 --tag-model onnx_int8 \
        --tag-options '--workers 2'                              # brandner's fastest tagging
    python benchmarks/speed.py --limit-train 300 --limit-test 300 --epochs 1 --no-write   # a quick look

Both networks are the same size and are trained the same way (but for brandner's
default singleton-to-<UNK> replacement) on the same sentences with the same thread
count; the two take turns at every measurement so that both see the same load.
Measured for each, and given as brandner / reference:

- training sentences/s over ``--epochs`` whole epochs after one warm-up epoch
  (training steps only; brandner runs its own ``train_loop`` with no dev evaluation);
- dev F1 after that training, to show the two are comparable models;
- tagging sentences/s from raw strings to result dicts at batch 1 and 256, and the
  model alone (pre-built batches -> tag ids) at the same sizes;
- one-string-at-a-time latency (p50, p99);
- model file size, and the resident memory each phase added (one process holds both,
  so the peak is shared);
- the training floor: the BiLSTM's matrix products alone for one epoch of brandner's
  batches, as sentences/s, against both systems' training rates;
- with ``--tag-file-lines N``, ``brandner tag -i FILE -o OUT`` as a whole process, on the
  PyTorch model file or (``--tag-model``) its ONNX export;
- brandner's trained model tagging four ways, taking turns: PyTorch float and int8,
  ONNX float and int8 (exported, run by onnxruntime): dev F1, sentences/s end to end
  and model-only at batch 1 and 256.

It also estimates the floating-point work of tagging a sentence and compares the
model-only rate at batch 256 with this machine's float32 matmul rate.
The table replaces this script's section of docs/benchmarks.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    best_seconds,
    brandner_command,
    default_data_dir,
    matmul_gflops,
    publish,
    timed,
    write_cycled,
)
from benchmarks.reference_torchcrf import ReferenceNER  # noqa: E402
from brandner.config import Config, ModelConfig, load_config  # noqa: E402
from brandner.crf.decoding import decode  # noqa: E402
from brandner.data.batching import Arrays, collate, length_batches, pad  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.data.encoder import Encoder  # noqa: E402
from brandner.data.metrics import Report, score  # noqa: E402
from brandner.data.sentence import Sentence, Span  # noqa: E402
from brandner.model.model_file import atomic_save, model_payload, network_for  # noqa: E402
from brandner.tagging.export import export_onnx  # noqa: E402
from brandner.tagging.tagger import Tagger  # noqa: E402
from brandner.training.job import training_singletons  # noqa: E402
from brandner.training.loop import EpochEvent, TrainState, train_loop  # noqa: E402
from brandner.training.optim import adam  # noqa: E402

SEED = 1
BATCH_SIZES = (1, 256)


class System(Protocol):
    """What the benchmark needs of each tagger."""

    name: str
    num_tags: int

    def train(self, epochs: int) -> float:
        """Train ``epochs`` more epochs; seconds spent in training steps."""

    def predict(self, texts: Sequence[str], batch_size: int) -> list[dict]: ...

    def predict_spans(self, texts: Sequence[str]) -> list[list[Span]]: ...

    def model_batches(self, texts: Sequence[str], batch_size: int) -> list[Any]:
        """Encoded, padded batches, ready for :meth:`decode`."""

    def decode(self, batches: Sequence[Any]) -> None:
        """Tag ids of every batch as Python lists (the model alone)."""

    def save(self, path: Path) -> None: ...


class Brandner:
    """brandner's encoder, model, training loop and Tagger, at the default configuration
    but for bigrams (off unless --set bigram_dim=N), with its default singleton-to-<UNK>
    replacement (of bigrams and lexicon words too, where the config has them), which the
    reference does not do."""

    name = "brandner"

    def __init__(self, train: Sequence[Sentence], config: Config) -> None:
        torch.manual_seed(SEED)
        m = config.model
        self.encoder = Encoder.build(train, m)
        self.num_tags = len(self.encoder.tags)
        self.model = network_for(m, self.encoder)
        optimizer = adam(self.model, config.train.lr)  # as brandner.training.job trains
        data = [self.encoder.encode_sentence(s) for s in train]
        self.state = TrainState()
        self.taggers: dict[int, Tagger] = {}
        self.epochs = train_loop(self.model, optimizer, data, lambda: score([], []), config.train, self.state,
                                 random.Random(SEED), training_singletons(data, self.encoder))

    def train(self, epochs: int) -> float:
        before, done = self.state.step_seconds, 0
        for event in self.epochs:
            done += isinstance(event, EpochEvent)
            if done == epochs:
                break
        return self.state.step_seconds - before

    def tagger(self, batch_size: int = 256) -> Tagger:
        """One Tagger per batch size, kept as a user would keep it."""
        if batch_size not in self.taggers:
            self.taggers[batch_size] = Tagger.from_model(self.model, self.encoder, batch_size)
        return self.taggers[batch_size]

    def predict(self, texts: Sequence[str], batch_size: int) -> list[dict]:
        return self.tagger(batch_size).predict(texts)

    def predict_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        return self.tagger().predict_spans(texts)

    def model_batches(self, texts: Sequence[str], batch_size: int) -> list[Any]:
        encoded = [self.encoder.encode_text(t) for t in texts if t.strip()]
        return [collate([encoded[i] for i in indices])
                for indices in length_batches([len(e.chars) for e in encoded], batch_size)]

    @torch.inference_mode()
    def decode(self, batches: Sequence[Any]) -> None:
        self.model.eval()
        crf_scores = self.model.crf_scores()
        for batch in batches:
            decode(self.model.emissions(batch).numpy(), batch.lengths.numpy(), crf_scores).tolist()

    def save(self, path: Path) -> None:
        atomic_save(model_payload(self.model, self.encoder), path)


class Reference:
    """The pytorch-crf reference, timed the same way."""

    name = "reference"

    def __init__(self, train: Sequence[Sentence]) -> None:
        self.ner = ReferenceNER.from_sentences(train, SEED)
        self.num_tags = len(self.ner.tags)
        self.batches = self.ner.training_batches(train)
        self.rng = random.Random(SEED)

    def train(self, epochs: int) -> float:
        started = time.perf_counter()
        for _ in range(epochs):
            self.ner.train_epoch(self.batches, self.rng)
        return time.perf_counter() - started

    def predict(self, texts: Sequence[str], batch_size: int) -> list[dict]:
        return self.ner.predict(texts, batch_size)

    def predict_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        return self.ner.predict_spans(texts)

    def model_batches(self, texts: Sequence[str], batch_size: int) -> list[Any]:
        return self.ner.batches([self.ner.encode(t) for t in texts if t], batch_size)

    def decode(self, batches: Sequence[Any]) -> None:
        self.ner.decode_batches(batches)

    def save(self, path: Path) -> None:
        self.ner.save(path)


# ---------------------------------------------------------------- measuring


@dataclass
class Memory:
    """Resident memory added by each named phase (MB), and the process peak."""

    added: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        before = current_rss_mb()
        yield
        self.added[name] = self.added.get(name, 0.0) + current_rss_mb() - before


def current_rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def in_turns(systems: Sequence[System], run: Callable[[System, int], object], rounds: int) -> list[list[float]]:
    """Seconds of ``run(system, round)`` per system and round. The systems take turns in
    every round so that both see the same load from whatever else the machine runs."""
    times: list[list[float]] = [[] for _ in systems]
    for round_ in range(rounds):
        for i, system in enumerate(systems):
            times[i].append(timed(lambda: run(system, round_)))
    return times


def measure_training(systems: Sequence[System], sentences: int, epochs: int, memory: Memory,
                     rows: dict[str, dict[str, float]]) -> list[float]:
    """Into ``rows``: training sentences/s over ``epochs`` epochs after a warm-up epoch,
    the systems taking turns epoch by epoch. Returns the first system's rate over the
    second's in each round of turns (the machine's speed drifts; a round sees one speed)."""
    for system in systems:
        with memory.phase(f"{system.name} train"):
            system.train(1)
    seconds: list[list[float]] = [[] for _ in systems]
    for _ in range(epochs):
        for i, system in enumerate(systems):
            seconds[i].append(system.train(1))
    for system, times in zip(systems, seconds):
        rows[system.name]["train"] = epochs * sentences / sum(times)
    return [theirs / ours for ours, theirs in zip(seconds[0], seconds[-1])]


def measure_tagging(systems: Sequence[System], texts: Sequence[str], repeats: int,
                    rows: dict[str, dict[str, float]]) -> None:
    """Into ``rows``: sentences/s end to end and model-only at each batch size (best of
    ``repeats``), and the p50 and p99 latency of tagging one string per call."""
    for size in BATCH_SIZES:
        batches = {s.name: s.model_batches(texts, size) for s in systems}
        runs: dict[str, Callable[[System, int], object]] = {
            f"e2e_{size}": lambda s, _: s.predict(texts, size),
            f"model_{size}": lambda s, _: s.decode(batches[s.name])}
        for key, run in runs.items():
            for system, times in zip(systems, in_turns(systems, run, repeats)):
                rows[system.name][key] = len(texts) / min(times)
    one_each = in_turns(systems, lambda s, i: s.predict([texts[i]], 1), len(texts))
    for system, times in zip(systems, one_each):
        cuts = statistics.quantiles([t * 1000 for t in times], n=100, method="inclusive")
        rows[system.name]["p50_ms"], rows[system.name]["p99_ms"] = cuts[49], cuts[98]


def dev_f1(system: System, dev: Sequence[Sentence]) -> float:
    report: Report = score([s.spans for s in dev], system.predict_spans([s.text for s in dev]))
    return report.micro.f1


def file_size_mb(system: System, folder: Path) -> tuple[Path, float]:
    path = folder / f"{system.name}.pt"
    system.save(path)
    return path, path.stat().st_size / 2**20


def lstm_products_seconds(lengths: Sequence[int], batch_size: int, input_size: int, hidden: int) -> float:
    """Seconds for only the BiLSTM's matrix products in one training epoch over sentences of
    ``lengths``, batched as brandner batches them, at the current thread count: a floor under
    any implementation of this network's training step that keeps these batches (each product
    is one ``torch.mm`` into a ready buffer, so a few microseconds of dispatch are included).

    Per batch of B sentences padded to T, for each direction: forward, the input projection
    ``(T*B, input) @ (input, 4H)`` once and the recurrent ``(B, H) @ (H, 4H)`` T times;
    backward, the recurrent product T times again (the gradient to the previous state) and
    three large products (the gradients of the inputs and of both weight matrices)."""
    gates = 4 * hidden
    w_in, w_rec = torch.randn(input_size, gates), torch.randn(hidden, gates)
    total = 0.0
    for indices in length_batches(lengths, batch_size):
        steps, rows = max(lengths[i] for i in indices), len(indices)
        buffers = [torch.randn(steps * rows, n) for n in (input_size, hidden, gates)]  # x, states, gate grads
        buffers += [torch.randn(rows, hidden), torch.randn(rows, gates)]  # a state, a step's gate grads
        buffers += [torch.empty(rows, gates), torch.empty(rows, hidden), torch.empty(steps * rows, gates),
                    torch.empty(steps * rows, input_size), torch.empty(input_size, gates), torch.empty(hidden, gates)]
        total += timed(partial(_lstm_products, steps, w_in, w_rec, *buffers))
    return total


def _lstm_products(steps: int, w_in: torch.Tensor, w_rec: torch.Tensor, *buffers: torch.Tensor) -> None:
    """One batch's products for :func:`lstm_products_seconds`, into ready buffers."""
    x, states, grads, h, g, out_gates, out_h, *big = buffers
    for _ in range(2):  # directions
        torch.mm(x, w_in, out=big[0])
        for _ in range(steps):
            torch.mm(h, w_rec, out=out_gates)
        for _ in range(steps):
            torch.mm(g, w_rec.t(), out=out_h)
        torch.mm(grads, w_in.t(), out=big[1])
        torch.mm(x.t(), grads, out=big[2])
        torch.mm(states.t(), grads, out=big[3])


def flops_per_char(model: ModelConfig, num_tags: int) -> float:
    """Floating-point operations to tag one character (multiply-add = 2).

    BiLSTM: 4 gates of ``hidden x (input + hidden)`` per direction; the projection
    ``2 hidden x tags``; Viterbi an add and a max over ``tags x tags``.
    """
    lstm = 2 * 2 * 4 * model.hidden_size * (model.char_dim + model.seg_dim + model.hidden_size)
    projection = 2 * 2 * model.hidden_size * num_tags
    return lstm + projection + 2 * num_tags**2


class Variant:
    """A way to tag with brandner's trained model (PyTorch float or int8, ONNX): a Tagger per
    batch size, and the model alone as the Tagger runs it (tag scores, then numpy decoding)."""

    def __init__(self, name: str, make: Callable[[int], Tagger], file_mb: float | None = None) -> None:
        self.name, self.make, self.file_mb = name, make, file_mb
        self.taggers: dict[int, Tagger] = {}

    def tagger(self, batch_size: int = 256) -> Tagger:
        if batch_size not in self.taggers:
            self.taggers[batch_size] = self.make(batch_size)
        return self.taggers[batch_size]

    def predict(self, texts: Sequence[str], batch_size: int) -> list[dict]:
        return self.tagger(batch_size).predict(texts)

    def decode(self, batches: Sequence[Arrays]) -> None:
        tagger = self.tagger()
        crf_scores = tagger.backend.crf_scores()
        for arrays in batches:
            decode(tagger.backend.tag_scores(arrays), arrays["lengths"], crf_scores).tolist()


def onnx_paths(folder: Path) -> dict[str, Path]:
    """Where :func:`measure_variants` writes the ONNX exports of brandner's model."""
    return {"onnx": folder / "brandner.onnx", "onnx_int8": folder / "brandner-int8.onnx"}


def measure_variants(ours: "Brandner", dev: Sequence[Sentence], texts: Sequence[str], repeats: int,
                     folder: Path) -> dict[str, dict[str, float]]:
    """brandner's trained model tagging as PyTorch float and int8 and as ONNX float and int8
    (exported, run by onnxruntime with the same thread count): dev F1, sentences/s end to end
    and model-only at each batch size, the variants taking turns."""
    paths = onnx_paths(folder)
    export_onnx(ours.model, ours.encoder, paths["onnx"])
    export_onnx(ours.model, ours.encoder, paths["onnx_int8"], int8=True)
    variants = [Variant("float", lambda size: Tagger.from_model(ours.model, ours.encoder, size)),
                Variant("int8", lambda size: Tagger.from_model(ours.model, ours.encoder, size, int8=True))]
    variants += [Variant(name, lambda size, path=path: Tagger.load(path, batch_size=size),  # type: ignore[misc]
                         path.stat().st_size / 2**20) for name, path in paths.items()]
    rows: dict[str, dict[str, float]] = {v.name: {"dev_f1": v.tagger().evaluate(dev).micro.f1 * 100}
                                         for v in variants}  # also the warm-up
    encoded = [ours.encoder.encode_text(t) for t in texts if t.strip()]
    for size in BATCH_SIZES:
        batches = [pad([encoded[i] for i in indices])
                   for indices in length_batches([len(e.chars) for e in encoded], size)]
        runs: dict[str, Callable[[Variant, int], object]] = {
            f"e2e_{size}": lambda v, _: v.predict(texts, size), f"model_{size}": lambda v, _: v.decode(batches)}
        for key, run in runs.items():
            for variant, times in zip(variants, in_turns(variants, run, repeats)):
                rows[variant.name][key] = len(texts) / min(times)
    for variant in variants:
        if variant.file_mb is not None:
            rows[variant.name]["file_mb"] = variant.file_mb
    return rows


def time_tag_command(model: Path, texts: Sequence[str], lines: int, threads: int, folder: Path,
                     options: Sequence[str] = ()) -> float:
    """Lines/s of ``brandner tag -m MODEL -i FILE -o OUT`` as a whole process, model loading included."""
    source, target = folder / "lines.txt", folder / "tagged.jsonl"
    write_cycled(texts, lines, source)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    started = time.perf_counter()
    subprocess.run(brandner_command() + ["tag", "-m", str(model), "-i", str(source), "-o", str(target), *options],
                   check=True, env=env, stderr=subprocess.DEVNULL)
    return lines / (time.perf_counter() - started)


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> str:
    train, dev, test = (load_split(args.corpus, split, args.data_dir)[:limit] for split, limit in
                        (("train", args.limit_train), ("dev", args.limit_test), ("test", args.limit_test)))
    train = [s for s in train if s.text]
    texts = [s.text for s in test]
    # bigrams off unless asked for: the reference has no bigram embedding, and the two
    # networks are compared at the same size
    config = load_config(None, ["bigram_dim=0"] + args.overrides
                         + [f"max_epochs={1 + args.epochs}", f"patience={10**6}"])
    memory = Memory()
    with memory.phase("brandner build"):
        ours = Brandner(train, config)
    with memory.phase("reference build"):
        ref = Reference(train)
    systems: list[System] = [ours, ref]
    rows: dict[str, dict[str, float]] = {s.name: {} for s in systems}
    epoch_ratios = measure_training(systems, len(train), args.epochs, memory, rows)
    for system in systems:
        with memory.phase(f"{system.name} tag"):  # also the warm-up for the tagging measurements
            rows[system.name]["dev_f1"] = dev_f1(system, dev) * 100
    measure_tagging(systems, texts, args.repeats, rows)
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for system in systems:
            paths[system.name], rows[system.name]["file_mb"] = file_size_mb(system, Path(folder))
        variants = measure_variants(ours, dev, texts, args.repeats, Path(folder))
        tag_model = paths[ours.name] if args.tag_model == "pytorch" else onnx_paths(Path(folder))[args.tag_model]
        tag_file, reference_rate = None, rows[ref.name]["e2e_256"]
        if args.tag_file_lines:
            # the reference's in-process rate again just before and just after the command, and
            # the best of all counts: the ratio then holds even if the machine was faster then
            def reference_e2e() -> float:
                return len(texts) / best_seconds(lambda: ref.predict(texts, 256), args.repeats)

            before = reference_e2e()
            tag_file = time_tag_command(tag_model, texts, args.tag_file_lines, args.threads, Path(folder),
                                        shlex.split(args.tag_options))
            reference_rate = max(reference_rate, before, reference_e2e())
    work = flops_per_char(config.model, ours.num_tags) * statistics.mean(len(t) for t in texts)
    model = config.model
    floor = min(lstm_products_seconds([len(s.text) for s in train], config.train.batch_size,
                                      model.char_dim + model.seg_dim + model.bigram_dim, model.hidden_size)
                for _ in range(2))
    facts = {"train": len(train), "dev": len(dev), "test": len(texts), "flops": work,
             "gflops": matmul_gflops(), "peak_mb": peak_rss_mb(), "memory": memory.added, "tag_file": tag_file,
             "tag_file_reference": reference_rate, "lstm_floor": floor,
             "variants": variants, "workers": config.train.workers, "epoch_ratios": epoch_ratios}
    return report(rows, facts, args)


METRICS = [  # key, label, format, whether higher is better
    ("train", "training sentences/s", "{:.1f}", True),
    ("dev_f1", "dev F1 after training", "{:.2f}", True),
    ("e2e_1", "tagging sentences/s, raw text -> dicts, batch 1", "{:.1f}", True),
    ("e2e_256", "tagging sentences/s, raw text -> dicts, batch 256", "{:.1f}", True),
    ("model_1", "model only sentences/s, batch 1", "{:.1f}", True),
    ("model_256", "model only sentences/s, batch 256", "{:.1f}", True),
    ("p50_ms", "latency p50 ms, one string per call", "{:.2f}", False),
    ("p99_ms", "latency p99 ms, one string per call", "{:.2f}", False),
    ("file_mb", "model file MB", "{:.2f}", False),
]


def report(rows: dict[str, dict[str, float]], facts: dict, args: argparse.Namespace) -> str:
    ours, ref = rows["brandner"], rows["reference"]
    workers = facts["workers"]
    training = (f"brandner trains in {workers} processes (`train.workers`) of one thread each" if workers > 1
                else f"brandner trains in one process of {args.threads} thread(s)")
    lines = [f"{args.corpus}: {facts['train']} train, {facts['dev']} dev, {facts['test']} test sentences; "
             f"{args.epochs} timed epoch(s) after 1 warm-up; {training}, the reference with {args.threads}; "
             f"tagging rates best of {args.repeats}; the two systems take turns at every measurement.", "",
             "| | brandner | reference (pytorch-crf) | brandner / reference |", "|---|---|---|---|"]
    for key, label, form, higher in METRICS:
        arrow = "higher is better" if higher else "lower is better"
        ratio = f"{ours[key] / ref[key]:.2f}" if ref[key] else "n/a"
        lines.append(f"| {label} | {form.format(ours[key])} | {form.format(ref[key])} | {ratio} ({arrow}) |")
    useful = ours["model_256"] * facts["flops"] / 1e9
    lines += ["", f"- work per test sentence ≈ {facts['flops'] / 1e6:.1f} MFLOP (BiLSTM + projection + Viterbi); "
              f"float32 matmul here: {facts['gflops']:.1f} GFLOP/s; brandner model-only at batch 256 does "
              f"{useful:.2f} GFLOP/s = {useful / facts['gflops']:.1%} of it "
              f"(reference {ref['model_256'] * facts['flops'] / 1e9 / facts['gflops']:.1%})",
              f"- peak RSS of the process (both systems): {facts['peak_mb']:.0f} MB; resident memory added by "
              + ", ".join(f"{name} {mb:+.0f} MB" for name, mb in facts["memory"].items())
              + " (the later system may reuse memory the earlier one freed)"]
    ratios = sorted(facts["epoch_ratios"])
    lines.append(f"- training epoch by epoch (each brandner epoch beside the reference epoch after it): "
                 f"brandner / reference median {statistics.median(ratios):.2f}, from {ratios[0]:.2f} to "
                 f"{ratios[-1]:.2f} over {len(ratios)} epochs; at least 3x in {sum(r >= 3 for r in ratios)}")
    floor_rate = facts["train"] / facts["lstm_floor"]
    lines.append(f"- training floor: the BiLSTM's matrix products alone (forward and backward, brandner's batches, "
                 f"no other work) take {facts['lstm_floor']:.2f} s an epoch here = {floor_rate:.0f} sentences/s, "
                 f"{floor_rate / ref['train']:.2f} x the reference's training rate; brandner trains at "
                 f"{ours['train'] / floor_rate:.0%} of that")
    lines += variants_table(facts["variants"], ours, ref)
    if facts["tag_file"] is not None:
        model = {"pytorch": "MODEL.pt", "onnx": "MODEL.onnx", "onnx_int8": "MODEL-int8.onnx"}[args.tag_model]
        rate, reference = facts["tag_file"], facts["tag_file_reference"]
        lines.append(f"- `brandner tag -m {model} -i FILE -o OUT {args.tag_options}`, {args.tag_file_lines} lines, "
                     f"as a process with model loading: {rate:.1f} lines/s = {rate / reference:.2f} x the reference "
                     f"in process at batch 256 ({reference:.1f} sentences/s: the best of the table's figure and "
                     f"runs just before and after the command) and {rate / ours['e2e_256']:.2f} x brandner in "
                     "process (PyTorch float)")
    return "\n".join(lines)


VARIANT_METRICS = [("dev_f1", "dev F1", "{:.2f}")] + [(k, label, form) for k, label, form, _ in METRICS
                                                      if k.startswith(("e2e_", "model_"))]


VARIANTS = {"float": "float", "int8": "int8", "onnx": "ONNX", "onnx_int8": "ONNX int8"}


def variants_table(variants: dict[str, dict[str, float]], ours: dict[str, float], ref: dict[str, float]) -> list[str]:
    """The PyTorch and ONNX variants of brandner's model side by side, with ratios to float."""
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "n/a"

    others = [name for name in VARIANTS if name != "float"]
    lines = ["", "The same trained brandner model tagging as PyTorch float (`Tagger`), PyTorch int8 "
             "(`Tagger(int8=True)`, `brandner tag --int8`), ONNX (`brandner export`, then `Tagger.load(FILE.onnx)`: "
             "onnxruntime with the same thread count) and ONNX int8 (`brandner export --int8`); model only = the "
             "Tagger's tag scores then numpy decoding on pre-built batches; the four take turns at every "
             "measurement.", "",
             "| | " + " | ".join(VARIANTS.values()) + " | "
             + " | ".join(f"{VARIANTS[name]} / float" for name in others) + " | ONNX / reference |",
             "|---|" + "---|" * (len(VARIANTS) + len(others) + 1)]
    for key, label, form in VARIANT_METRICS:
        values = [variants[name][key] for name in VARIANTS]
        lines.append(f"| {label} | " + " | ".join(form.format(v) for v in values) + " | "
                     + " | ".join(ratio(variants[name][key], values[0]) for name in others)
                     + f" | {ratio(variants['onnx'][key], ref[key])} |")
    lines += ["", f"- ONNX files: {variants['onnx']['file_mb']:.2f} MB, int8 {variants['onnx_int8']['file_mb']:.2f} MB "
              f"(PyTorch model file {ours['file_mb']:.2f} MB)"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="ecommerce")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=2, help="timed training epochs, after one warm-up epoch")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3, help="runs of each tagging measurement; the best counts")
    parser.add_argument("--limit-train", type=int, help="use only the first N training sentences")
    parser.add_argument("--limit-test", type=int, help="use only the first N dev and N test sentences")
    parser.add_argument("--tag-file-lines", type=int, default=0, help="also time 'brandner tag' on N lines")
    parser.add_argument("--tag-model", choices=("pytorch", "onnx", "onnx_int8"), default="pytorch",
                        help="which file of brandner's trained model the timed 'brandner tag' gets: the PyTorch "
                             "file or its ONNX export, float or int8 (default: %(default)s)")
    parser.add_argument("--tag-options", default="", metavar="'OPTIONS'",
                        help="extra options for the timed 'brandner tag', e.g. '--workers 2 --int8'")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="a brandner setting, e.g. --set segmenter=jieba-fast (repeatable)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if args.epochs < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("--epochs, --repeats and --threads must be at least 1")
    torch.set_num_threads(args.threads)
    publish('training and tagging speed against a pytorch-crf BiLSTM-CRF', run(args), write=not args.no_write)


if __name__ == "__main__":
    main()
