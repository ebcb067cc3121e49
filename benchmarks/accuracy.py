"""Accuracy of the default configuration on the shared corpora, model chosen on dev.

    python benchmarks/accuracy.py                      # ecommerce, weibo x3 seeds, resume
    python benchmarks/accuracy.py --corpus weibo --seeds 1 2 3 --set max_epochs=30

For each run: dev and test micro F1 (and per-type F1, e.g. HP = brand on ecommerce),
the epochs run and the best epoch, and wall time. Writes a table to
benchmarks/RESULTS.md with the date, the command and the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, publish  # noqa: E402
from brandner.config import load_config  # noqa: E402
from brandner.corpora import load_split  # noqa: E402
from brandner.fit import fit  # noqa: E402

DEFAULT_PLAN = {"ecommerce": [1], "weibo": [1, 2, 3], "resume": [1]}


def run_one(corpus: str, seed: int, overrides: list[str], data_dir: str | None, workdir: Path) -> dict:
    config = load_config(None, overrides + [f"seed={seed}"])
    train, dev, test = (load_split(corpus, split, data_dir) for split in ("train", "dev", "test"))
    started = time.perf_counter()
    summary = fit(train, dev, config, workdir / f"{corpus}-{seed}.pt", test=test)
    row = {"corpus": corpus, "seed": seed, "dev_f1": summary["dev"]["f1"], "test_f1": summary["test"]["f1"],
           "test_per_type": {t: s["f1"] for t, s in summary["test"]["per_type"].items()},
           "dev_per_type": {t: s["f1"] for t, s in summary["dev"]["per_type"].items()},
           "epochs": summary["epochs_run"], "best_epoch": summary["best_epoch"],
           "seconds": time.perf_counter() - started,
           "train_sentences_per_second": summary["train_sentences_per_second"]}
    print(json.dumps(row), flush=True)
    return row


def table(rows: list[dict]) -> str:
    lines = ["| corpus | seed | dev F1 | test F1 | test F1 per type | epochs (best) | wall s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        types = ", ".join(f"{t} {f * 100:.2f}" for t, f in sorted(r["test_per_type"].items()))
        lines.append(f"| {r['corpus']} | {r['seed']} | {r['dev_f1'] * 100:.2f} | {r['test_f1'] * 100:.2f} | "
                     f"{types} | {r['epochs']} ({r['best_epoch']}) | {r['seconds']:.0f} |")
    by_corpus: dict[str, list[dict]] = {}
    for r in rows:
        by_corpus.setdefault(r["corpus"], []).append(r)
    lines.append("")
    for corpus, runs in by_corpus.items():
        lines.append(f"- {corpus}: test F1 {_mean_std([r['test_f1'] for r in runs])}, "
                     f"dev F1 {_mean_std([r['dev_f1'] for r in runs])} over {len(runs)} seed(s)"
                     + (f"; HP (brand) test F1 {_mean_std([r['test_per_type'].get('HP', 0) for r in runs])}"
                        if corpus == "ecommerce" else ""))
    return "\n".join(lines)


def _mean_std(values: list[float]) -> str:
    mean = statistics.mean(values) * 100
    return f"{mean:.2f} ± {statistics.stdev(values) * 100:.2f}" if len(values) > 1 else f"{mean:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", help="corpus to run (repeatable; default: the standard plan)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds for each --corpus (default 1)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    plan = {c: args.seeds or [1] for c in args.corpus} if args.corpus else DEFAULT_PLAN
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for corpus, seeds in plan.items():
            rows.extend(run_one(corpus, seed, args.overrides, args.data_dir, Path(workdir)) for seed in seeds)
    publish("Accuracy (benchmarks/accuracy.py)", table(rows), write=not args.no_write)


if __name__ == "__main__":
    main()
