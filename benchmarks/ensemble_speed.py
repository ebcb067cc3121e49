"""What an ensemble costs: tagging throughput of the ensemble of the first k of the given models.

    python benchmarks/ensemble_speed.py --corpus resume --models models/resume-{1,2,3,4,5}.pt

Tags the corpus's test sentences (raw strings to result dicts, in process, at ``--threads``
torch threads) with the first model alone, then with the ensembles of its first 2, 3, …
models (``Tagger.load([...])``). The sizes take turns in each of ``--rounds`` rounds; a
size's time is its best round. The table replaces this script's section of docs/benchmarks.md unless
``--no-write``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, publish, timed  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.tagging.tagger import Tagger  # noqa: E402


def measure(models: list[Path], texts: list[str], rounds: int) -> list[tuple[int, float]]:
    """``(members, sentences/s)`` for the ensembles of the first 1, 2, … ``models``."""
    taggers = [Tagger.load(models[:k]) for k in range(1, len(models) + 1)]
    best = [float("inf")] * len(taggers)
    for _ in range(rounds):
        for i, tagger in enumerate(taggers):
            best[i] = min(best[i], timed(lambda: tagger.predict(texts)))
    return [(k, len(texts) / seconds) for k, seconds in zip(range(1, len(models) + 1), best)]


def table(rates: list[tuple[int, float]]) -> str:
    single = rates[0][1]
    lines = ["| models | sentences/s | of one model's rate |", "|---|---|---|"]
    lines += [f"| {k} | {rate:.1f} | {rate / single:.2f} |" for k, rate in rates]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="resume")
    parser.add_argument("--models", type=Path, nargs="+", required=True, metavar="MODEL")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = [s.text for s in load_split(args.corpus, "test", args.data_dir)]
    body = (f"{args.corpus} test, {len(texts)} sentences, raw strings -> result dicts, best of {args.rounds} "
            f"rounds, {args.threads} torch thread(s)\n\n" + table(measure(args.models, texts, args.rounds)))
    publish('tagging rate of an ensemble of 1 to N models', body, write=not args.no_write)


if __name__ == "__main__":
    main()
