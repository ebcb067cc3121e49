"""Where a brandner training step's time goes, phase by phase, and how near the BiLSTM is to the machine.

    python benchmarks/train_profile.py                      # ecommerce, 2 timed epochs, all threads
    python benchmarks/train_profile.py --threads 1 --set bigram_dim=50 --no-write

A measurement for issue 3 (training speed). It trains brandner's network as
``brandner.training.loop.train_loop`` does (the same batches, singleton ``<UNK>`` replacement,
loss, clipping and fused Adam) but with a clock between the phases of each step:
building the batch, the ``<UNK>`` replacement, embeddings and dropout, the BiLSTM,
the projection, the CRF loss, the backward passes of the CRF and projection, of the
BiLSTM and of the embeddings (the graph cut in three, the same gradients), clipping
and the Adam update. Bigrams are off unless ``--set bigram_dim=N``, as in
benchmarks/speed.py, whose pytorch-crf reference has none.

It also gives the BiLSTM's floating-point work per step (forward: the input and
recurrent products; backward: twice those, the gradients of the inputs, the states
and both weight matrices) and the rate that its forward and backward passes reach,
against this machine's float32 matmul rate at the same thread count. The table is
written to docs/benchmarks.md (this script's section, rewritten) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, matmul_gflops, publish  # noqa: E402
from brandner.config import Config, load_config  # noqa: E402
from brandner.data.batching import Encoded, collate, length_batches  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.data.encoder import Encoder  # noqa: E402
from brandner.model.model_file import network_for  # noqa: E402
from brandner.model.network import BiLSTMTagger  # noqa: E402
from brandner.training.job import training_singletons  # noqa: E402
from brandner.training.optim import adam  # noqa: E402
from brandner.training.steps import clip_gradients, with_unknowns  # noqa: E402

PHASES = ["batch", "<UNK> replacement", "embeddings + dropout", "BiLSTM forward", "projection", "CRF loss",
          "CRF + projection backward", "BiLSTM backward", "embeddings backward", "clipping", "Adam"]

class Clock:
    """Seconds per named phase, summed over steps."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.last = time.perf_counter()

    def start(self) -> None:
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] += now - self.last
        self.last = now


def timed_epoch(model: BiLSTMTagger, optimizer: torch.optim.Optimizer, data: list[Encoded],
                singletons: dict[str, torch.Tensor], config: Config, rng: random.Random,
                clock: Clock) -> tuple[int, int]:
    """One epoch of train_loop's steps with a lap per phase; (steps, sentences).

    The graph is cut at the BiLSTM's input and output so that its backward pass is
    clocked alone: the same gradients as one ``loss.backward()``, in three calls."""
    model.train()
    train = config.train
    batches = length_batches([len(item.chars) for item in data], train.batch_size, rng)
    trained = [p for p in model.parameters() if p.requires_grad]
    for indices in batches:
        clock.start()
        batch = collate([data[i] for i in indices])
        clock.lap("batch")
        for field, mask in singletons.items():
            batch = with_unknowns(batch, mask, train.unk_replace, field)
        clock.lap("<UNK> replacement")
        optimizer.zero_grad(set_to_none=True)
        embedded = model.dropout(model.embed(batch))
        clock.lap("embeddings + dropout")
        inputs = embedded.detach().requires_grad_()
        states = model.bilstm(inputs, batch.lengths)
        clock.lap("BiLSTM forward")
        outputs = states.detach().requires_grad_()
        emissions = model.projection(model.output_dropout(outputs))
        clock.lap("projection")
        loss = model.crf.nll(emissions, batch.tags, batch.mask).mean()
        clock.lap("CRF loss")
        loss.backward()
        clock.lap("CRF + projection backward")
        states.backward(outputs.grad)
        clock.lap("BiLSTM backward")
        embedded.backward(inputs.grad)
        clock.lap("embeddings backward")
        if train.clip > 0:
            clip_gradients(trained, train.clip)
        clock.lap("clipping")
        optimizer.step()
        clock.lap("Adam")
    return len(batches), len(data)


def lstm_flops(lengths: list[int], batch_size: int, input_size: int, hidden: int) -> float:
    """The BiLSTM's multiply-adds x 2 over one epoch of brandner's batches (padding included):
    per direction and step, ``B x (input + hidden) x 4 hidden`` forward and twice that backward."""
    total = 0
    for indices in length_batches(lengths, batch_size):
        steps = max(lengths[i] for i in indices)
        total += 2 * 3 * 2 * len(indices) * steps * (input_size + hidden) * 4 * hidden
    return float(total)


def run(args: argparse.Namespace) -> str:
    torch.set_num_threads(args.threads)
    train = [s for s in load_split(args.corpus, "train", args.data_dir) if s.text][:args.limit_train]
    config = load_config(None, ["bigram_dim=0"] + args.overrides)
    torch.manual_seed(config.train.seed)
    encoder = Encoder.build(train, config.model)
    model = network_for(config.model, encoder)
    if model.crf is None:
        raise SystemExit("train_profile times the CRF head; drop --set head=softmax")
    optimizer = adam(model, config.train.lr)
    data = [encoder.encode_sentence(s) for s in train]
    singletons = training_singletons(data, encoder)
    rng = random.Random(config.train.seed)
    timed_epoch(model, optimizer, data, singletons, config, rng, Clock())  # warm-up
    clock, steps, sentences = Clock(), 0, 0
    started = time.perf_counter()
    for _ in range(args.epochs):
        done = timed_epoch(model, optimizer, data, singletons, config, rng, clock)
        steps, sentences = steps + done[0], sentences + done[1]
    wall = time.perf_counter() - started
    return report(args, config, clock, steps, sentences, wall,
                  lstm_flops([len(d.chars) for d in data], config.train.batch_size, model.lstm.input_size,
                             model.lstm.hidden_size) * args.epochs)


def report(args: argparse.Namespace, config: Config, clock: Clock, steps: int, sentences: int, wall: float,
           flops: float) -> str:
    phased = sum(clock.seconds.values())
    lines = [f"{args.corpus}: {sentences // args.epochs} training sentences, {args.epochs} timed epoch(s) after "
             f"one warm-up, batch {config.train.batch_size}, {args.threads} thread(s); "
             f"{sentences / wall:.0f} sentences/s, {wall / steps * 1e3:.2f} ms a step", "",
             "| phase | ms a step | share |", "|---|---|---|"]
    for phase in PHASES:
        seconds = clock.seconds.get(phase, 0.0)
        lines.append(f"| {phase} | {seconds / steps * 1e3:.2f} | {seconds / phased:.0%} |")
    lines.append(f"| between the phases (the loop itself) | {(wall - phased) / steps * 1e3:.2f} | |")
    rate = matmul_gflops()
    lstm = clock.seconds["BiLSTM forward"] + clock.seconds["BiLSTM backward"]
    lines += ["", f"- BiLSTM: {flops / steps / 1e6:.0f} MFLOP a step forward and backward (padding included), "
              f"done at {flops / lstm / 1e9:.1f} GFLOP/s; float32 matmul here: {rate:.1f} GFLOP/s at "
              f"{args.threads} thread(s) (2048 x 2048), at which the BiLSTM's products alone would take "
              f"{flops / steps / (rate * 1e9) * 1e3:.2f} ms a step"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="ecommerce")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs, after one warm-up epoch")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--limit-train", type=int, help="use only the first N training sentences")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    publish("where a training step's time goes", run(args), write=not args.no_write)


if __name__ == "__main__":
    main()
