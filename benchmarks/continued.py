"""Continued training (``train --init``) against training on all the data at once.

    python benchmarks/continued.py                              # ecommerce, halves split by seed 0
    python benchmarks/continued.py --set max_epochs=20 --models kept
    python benchmarks/continued.py --quick --no-write           # a tiny run (the tests')

A measurement for issue 24 (the annotation loop): a team that annotates more posts can continue
from the model it has rather than train again on everything. The corpus's training sentences
are shuffled with ``--split-seed`` and cut into two halves; then, with the same settings and
``--seed``:

* ``A``: trained on half 1;
* ``A, continued``: A continued on half 2 (``fit(..., init=A)``: its weights, vocabularies and
  tags, grown for half 2);
* ``B``: trained on all of train, the reference.

Each is chosen on the corpus's dev split. For each: dev and test F1 (micro and per type), the
epochs run (the best), and the wall seconds of its training (``fit``: encoding, the epochs with
their dev evaluations, the summary). The last lines compare A continued with B: test F1, and
the time of A plus its continuation against B's. The runs go to ``--json``; the table replaces
this script's section of docs/benchmarks.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, publish  # noqa: E402

T = TypeVar("T")
FIRST, CONTINUED, ALL = "A: half 1", "A, continued on half 2", "B: all of train"
# --quick: a few sentences, one epoch, a small network: seconds, for the tests.
QUICK = {"train": 80, "dev": 30, "test": 30,
         "settings": ["max_epochs=1", "char_dim=16", "seg_dim=4", "hidden_size=16", "bigram_dim=8", "workers=1"]}


def halves(sentences: Sequence[T], seed: int) -> tuple[list[T], list[T]]:
    """``sentences`` shuffled with ``seed`` and cut in two (the first half the smaller by one at most)."""
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    middle = len(order) // 2
    return [sentences[i] for i in order[:middle]], [sentences[i] for i in order[middle:]]


def train_once(name: str, train: Sequence, dev: Sequence, test: Sequence, overrides: list[str], output: Path,
               init: Path | None = None) -> dict:
    """Train (or continue from ``init``) into ``output``; the run's row of the table."""
    from brandner.config import load_config
    from brandner.training.job import fit

    started = time.perf_counter()
    summary = fit(train, dev, load_config(None, overrides), output, test=test, init=init)
    row = {"run": name, "sentences": len(train), "init": str(init) if init else None,
           "seconds": time.perf_counter() - started, "epochs": summary["epochs_run"],
           "best_epoch": summary["best_epoch"], "dev_f1": summary["dev"]["f1"], "test_f1": summary["test"]["f1"],
           "dev_per_type": {t: s["f1"] for t, s in summary["dev"]["per_type"].items()},
           "test_per_type": {t: s["f1"] for t, s in summary["test"]["per_type"].items()}}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def table(rows: list[dict]) -> str:
    """The runs as a markdown table, then how A continued compares with B."""
    lines = ["| run | sentences | epochs (best) | wall s | dev F1 | test F1 | dev F1 per type | test F1 per type |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['sentences']} | {r['epochs']} ({r['best_epoch']}) | {r['seconds']:.0f} | "
                     f"{r['dev_f1'] * 100:.2f} | {r['test_f1'] * 100:.2f} | {_types(r['dev_per_type'])} | "
                     f"{_types(r['test_per_type'])} |")
    by_name = {r["run"]: r for r in rows}
    if all(name in by_name for name in (FIRST, CONTINUED, ALL)):
        first, continued, whole = by_name[FIRST], by_name[CONTINUED], by_name[ALL]
        f1 = (f"- A continued against B: test F1 {continued['test_f1'] * 100:.2f} against "
              f"{whole['test_f1'] * 100:.2f} ({(continued['test_f1'] - whole['test_f1']) * 100:+.2f} points), "
              f"dev F1 {continued['dev_f1'] * 100:.2f} against {whole['dev_f1'] * 100:.2f}.")
        seconds = (f"- Time: A and its continuation {first['seconds'] + continued['seconds']:.0f} s, the continuation "
                   f"alone {continued['seconds']:.0f} s, against B's {whole['seconds']:.0f} s "
                   f"({continued['seconds'] / whole['seconds']:.2f}x).")
        lines += ["", f1, seconds]
    return "\n".join(lines)


def _types(scores: dict[str, float]) -> str:
    return ", ".join(f"{t} {f * 100:.2f}" for t, f in sorted(scores.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="ecommerce")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="train.seed of every run (default: %(default)s)")
    parser.add_argument("--split-seed", type=int, default=0, help="shuffles train before it is cut in halves "
                        "(default: %(default)s)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="a setting for every run")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['train']} training sentences, one epoch, a small network: for the tests")
    parser.add_argument("--models", type=Path, metavar="DIR", help="keep the models here (default: a temporary folder)")
    parser.add_argument("--json", default="continued-results.json",
                        help="the runs, as a JSON list (default: %(default)s in the current folder)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    from brandner.data.corpora import load_split

    train, dev, test = (load_split(args.corpus, split, args.data_dir) for split in ("train", "dev", "test"))
    overrides = [*(QUICK["settings"] if args.quick else []), *args.overrides, f"seed={args.seed}"]
    if args.quick:
        train, dev, test = train[:QUICK["train"]], dev[:QUICK["dev"]], test[:QUICK["test"]]
    first, second = halves(train, args.split_seed)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.models or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        plan = [(FIRST, first, "A.pt", None), (CONTINUED, second, "A-continued.pt", folder / "A.pt"),
                (ALL, train, "B.pt", None)]
        for name, sentences, file, init in plan:
            rows.append(train_once(name, sentences, dev, test, overrides, folder / file, init))
            Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    body = (f"{args.corpus}: train ({len(train)} sentences) shuffled with seed {args.split_seed} and cut into halves "
            f"of {len(first)} and {len(second)}; seed {args.seed}"
            + (f"; settings {' '.join(overrides[:-1])}" if overrides[:-1] else "; default settings")
            + ". Each model chosen on dev F1; wall s: its fit.\n\n" + table(rows))
    publish(f"continued training (`--init`) against all at once, {args.corpus}", body, write=not args.no_write)


if __name__ == "__main__":
    main()
