"""Training in worker processes (``train.workers``) against one process: the rates, and where a worker's time goes.

    python benchmarks/train_workers.py                          # ecommerce: 1 process, then 2 workers
    python benchmarks/train_workers.py --workers 1 2 3 --no-write

A measurement for issue 3 (training speed). For each worker count W it trains brandner's
network with ``brandner.training.loop.train_loop``, as ``brandner train`` does (bigrams off unless
``--set bigram_dim=N``, as in benchmarks/speed.py), from the same initial weights, for one
warm-up epoch and ``--epochs`` timed ones, and gives sentences/s and ms a step. W = 1 runs
at ``--threads`` torch threads; each worker runs one. For W > 1 it also clocks, inside
each worker, per run of W batches: computing its batch's gradient, the Adam (and weight
average) updates of its share of the parameters, and waiting at the two barriers (for
the slower worker's gradient, and for the other shares' updates); the ideal is W steps in
the time of one. ``--set sparse_embeddings=true`` (lazy Adam for the bigram and word tables)
works with ``--workers 1`` only. The table replaces this script's section of docs/benchmarks.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import random
import sys
import time
from pathlib import Path
from typing import Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, publish  # noqa: E402
from brandner.config import Config, load_config  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.data.encoder import Encoder  # noqa: E402
from brandner.data.metrics import score  # noqa: E402
from brandner.model.model_file import network_for  # noqa: E402
from brandner.model.network import BiLSTMTagger  # noqa: E402
from brandner.training import parallel  # noqa: E402
from brandner.training.job import training_singletons  # noqa: E402
from brandner.training.loop import EpochEvent, TrainState, train_loop  # noqa: E402
from brandner.training.optim import adam  # noqa: E402

PARTS = ("gradient", "waiting", "run")  # seconds per worker; Adam and the rest = run - gradient - waiting


class WorkerClocks:
    """Seconds per worker and part, in shared memory, added to by the workers through
    wrappers around ParallelSteps.train_work, ParallelSteps.worker_gradient and SpinBarrier.wait
    (set before the workers are forked, so they run the wrapped methods)."""

    def __init__(self, workers: int) -> None:
        self.seconds = parallel.shared_zeros((workers, len(PARTS)), torch.float64).numpy()
        self.party = 0  # which worker this process is: set in each worker as its first run starts
        self.saved = (parallel.ParallelSteps.train_work, parallel.ParallelSteps.worker_gradient, parallel.SpinBarrier.wait)

    def __enter__(self) -> "WorkerClocks":
        run, gradient, wait = self.saved
        clocks = self

        def timed(part: int, method):
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return method(*args, **kwargs)
                finally:
                    clocks.seconds[clocks.party, part] += time.perf_counter() - started
            return wrapper

        def run_as(steps, k, work, optimizer):
            clocks.party = k
            return timed(2, run)(steps, k, work, optimizer)

        parallel.ParallelSteps.train_work = run_as
        parallel.ParallelSteps.worker_gradient = timed(0, gradient)
        parallel.SpinBarrier.wait = timed(1, wait)
        return self

    def __exit__(self, *exc_info: object) -> None:
        parallel.ParallelSteps.train_work, parallel.ParallelSteps.worker_gradient, parallel.SpinBarrier.wait = self.saved


def train_rate(model: BiLSTMTagger, data: list, encoder: Encoder, config: Config, epochs: int
               ) -> tuple[float, int]:
    """Sentences/s over ``epochs`` epochs after a warm-up epoch, and the steps an epoch."""
    optimizer = adam(model, config.train.lr, config.train.sparse_embeddings)
    state = TrainState()
    train = dataclasses.replace(config.train, max_epochs=epochs + 1, patience=epochs + 2)
    steps, warm_seconds = 0, 0.0
    for event in train_loop(model, optimizer, data, lambda: score([], []), train, state, random.Random(1),
                            training_singletons(data, encoder)):
        if isinstance(event, EpochEvent):
            if event.epoch == 1:
                warm_seconds = state.step_seconds
        else:
            steps += event.epoch == 1
    return epochs * len(data) / (state.step_seconds - warm_seconds), steps


def run(args: argparse.Namespace) -> str:
    train = [s for s in load_split(args.corpus, "train", args.data_dir) if s.text][:args.limit_train]
    config = load_config(None, ["bigram_dim=0"] + args.overrides)
    torch.manual_seed(config.train.seed)
    encoder = Encoder.build(train, config.model)
    initial = network_for(config.model, encoder)
    data = [encoder.encode_sentence(s) for s in train]
    lines = [f"{args.corpus}: {len(data)} training sentences, batch {config.train.batch_size}, "
             f"{args.epochs} timed epoch(s) after one warm-up; one process at {args.threads} thread(s), each "
             "worker at one", "",
             "| workers | sentences/s | x one process | ms a step | per run of W batches, in a worker: gradient "
             "| Adam and the rest | waiting |", "|---|---|---|---|---|---|---|"]
    base = None
    for workers in args.workers:
        torch.set_num_threads(args.threads)
        setting = Config(config.model, dataclasses.replace(config.train, workers=workers))
        clocks = WorkerClocks(max(workers, 1))
        with clocks:
            rate, steps = train_rate(copy.deepcopy(initial), data, encoder, setting, args.epochs)
        base = base or rate
        cells = ["", "", ""]
        if workers > 1:
            runs = (args.epochs + 1) * -(-steps // workers)  # the warm-up epoch is clocked too
            gradient, waiting, whole = (clocks.seconds[:, i].mean() / runs * 1e3 for i in range(3))
            cells = [f"{gradient:.2f} ms", f"{whole - gradient - waiting:.2f} ms", f"{waiting:.2f} ms"]
        lines.append(f"| {workers} | {rate:.0f} | {rate / base:.2f} | {len(data) / rate / steps * 1e3:.2f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="ecommerce")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs, after one warm-up epoch")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="of the one process (W = 1)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run, in turn")
    parser.add_argument("--limit-train", type=int, help="use only the first N training sentences")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.threads < 1 or min(args.workers) < 1:
        parser.error("--epochs, --threads and --workers must be at least 1")
    publish('training in worker processes (`train.workers`) against one process', run(args), write=not args.no_write)


if __name__ == "__main__":
    main()
