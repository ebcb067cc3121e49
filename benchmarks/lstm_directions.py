"""A BiLSTM's forward and backward pass: its two directions in turn, or at once on two threads.

    python benchmarks/lstm_directions.py                 # batch 20, 40 steps, hidden 100
    python benchmarks/lstm_directions.py --repeats 50 --no-write

A measurement for issue 3 (training speed), not a feature: the LSTM is most of a training
step, and its small matrix products use a second intra-op thread poorly. Timed, per
BiLSTM forward + backward (two one-direction ``nn.LSTM``, input ``--input`` wide, the
sizes of brandner's defaults): both directions one after the other at one intra-op thread
and at two, and each direction on its own Python thread at one intra-op thread each
(autograd runs concurrent backward calls on disjoint graphs). Each figure is the mean over
``--repeats`` passes after a warm-up. The table replaces this script's section of docs/benchmarks.md
unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import publish  # noqa: E402


def one_pass(lstm: nn.LSTM, inputs: torch.Tensor) -> None:
    """One direction's forward and backward pass (weight gradients accumulate)."""
    states = lstm(inputs.detach().requires_grad_())[0]
    states.backward(torch.ones_like(states))


def in_turn(directions: list[nn.LSTM], inputs: torch.Tensor, repeats: int) -> None:
    for _ in range(repeats):
        for lstm in directions:
            one_pass(lstm, inputs)


def at_once(directions: list[nn.LSTM], inputs: torch.Tensor, repeats: int) -> None:
    def work(lstm: nn.LSTM) -> None:
        torch.set_num_threads(1)
        for _ in range(repeats):
            one_pass(lstm, inputs)

    threads = [threading.Thread(target=work, args=(lstm,)) for lstm in directions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def milliseconds(run: Callable[[int], None], repeats: int) -> float:
    """Mean milliseconds of one BiLSTM pass, after a warm-up of a tenth of ``repeats``."""
    run(max(1, repeats // 10))
    start = time.perf_counter()
    run(repeats)
    return (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--steps", type=int, default=40, help="characters per sentence")
    parser.add_argument("--input", type=int, default=120, help="input width (char_dim + seg_dim by default)")
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    machine_threads = torch.get_num_threads()
    torch.manual_seed(0)
    directions = [nn.LSTM(args.input, args.hidden, batch_first=True) for _ in range(2)]
    inputs = torch.randn(args.batch, args.steps, args.input)
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        rows.append((f"directions in turn, {threads} intra-op thread(s)",
                     milliseconds(lambda n: in_turn(directions, inputs, n), args.repeats)))
    rows.append(("one direction per thread, 1 intra-op thread each",
                 milliseconds(lambda n: at_once(directions, inputs, n), args.repeats)))
    torch.set_num_threads(machine_threads)  # the heading reports the process's setting
    body = (f"- batch {args.batch}, {args.steps} steps, input {args.input}, hidden {args.hidden}, "
            f"mean of {args.repeats} passes\n\n"
            "| BiLSTM forward + backward | ms |\n|---|---|\n"
            + "".join(f"| {name} | {ms:.2f} |\n" for name, ms in rows)
            + f"\n- two threads at once against in turn at two intra-op threads: {rows[1][1] / rows[2][1]:.2f}x\n")
    publish("a BiLSTM's forward + backward, directions in turn or on two threads", body, write=not args.no_write)


if __name__ == "__main__":
    main()
