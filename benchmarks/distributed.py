"""torchrun (DDP) with 2 ranks against ``train.workers=2`` against one process: sentences/s and dev F1 over seeds.

    python benchmarks/distributed.py                                  # ecommerce, 3 epochs, seeds 1 2 3
    python benchmarks/distributed.py --epochs 1 --seeds 1 --limit-train 200 --limit-dev 50 --no-write

The measurement that decides issue 23's question: if DDP comes within 15% of the workers'
rate, ``train.workers`` could give way to it. Each way trains ``brandner train`` as a whole
process (the corpus's train and dev splits written to files first, cut by ``--limit-*``),
for exactly ``--epochs`` epochs (patience past them), once per seed:

* ``one process``: ``--workers 1``, at brandner's default threads (the CPUs it may use);
* ``train.workers=2``: ``--workers 2`` (forked workers, one thread each);
* ``DDP, 2 ranks``: ``torchrun --nproc-per-node 2`` on 127.0.0.1, ``OMP_NUM_THREADS=1`` a rank,
  each rank taking a batch of ``--ddp-batch-size`` sentences (default: ``train.batch_size``,
  as each worker does; with half of it, 2 ranks take the steps of one process).

Rates are the summary's ``train_sentences_per_second`` (training steps only, as in
benchmarks/contention.py); F1 is the summary's best dev F1. A table per run, a table of
means with each way's rate as a multiple of one process's and of the workers', and a line
saying whether DDP comes within 15% of the workers. The runs go to ``--json`` as they
finish; the tables replace this script's section of docs/benchmarks.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import brandner_command, default_data_dir, publish  # noqa: E402

ONE, WORKERS, DDP = "one process", "train.workers=2", "DDP, 2 ranks"
WAYS = (ONE, WORKERS, DDP)
WITHIN = 0.15  # the issue's threshold: DDP's rate at least (1 - WITHIN) of the workers'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(way: str, args: argparse.Namespace, files: Path, seed: int, output: Path) -> tuple[list[str], dict]:
    """The command line and environment of one run."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "BRANDNER_CPUS", "MKL_NUM_THREADS")}
    train = ["train", "--train", str(files / "train.jsonl"), "--dev", str(files / "dev.jsonl"), "--seed", str(seed),
             "--epochs", str(args.epochs), "--set", f"patience={args.epochs + 1}", "-o", str(output),
             *[arg for setting in args.overrides for arg in ("--set", setting)]]
    if way == DDP:
        env["OMP_NUM_THREADS"] = "1"
        launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr",
                    "127.0.0.1", "--master-port", str(free_port()), "-m", "brandner.cli.main"]
        batch = ["--set", f"batch_size={args.ddp_batch_size}"] if args.ddp_batch_size else []
        return launcher + train + batch, env
    return brandner_command() + train + ["--workers", "1" if way == ONE else "2"], env


def train_once(way: str, args: argparse.Namespace, files: Path, seed: int, folder: Path) -> dict:
    """One run's figures, from its summary (and the process's wall time)."""
    output = folder / f"{way.split(',')[0].replace(' ', '-').replace('=', '')}-{seed}.pt"
    line, env = command(way, args, files, seed, output)
    started = time.perf_counter()
    result = subprocess.run(line, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{way}, seed {seed} failed:\n{result.stderr[-3000:]}")
    summary = json.loads(output.with_name(output.name + ".json").read_text(encoding="utf-8"))
    return {"way": way, "seed": seed, "sentences_per_second": summary["train_sentences_per_second"],
            "dev_f1": summary["dev"]["f1"], "best_epoch": summary["best_epoch"], "epochs": summary["epochs_run"],
            "world_size": summary["world_size"], "batch_size": summary["config"]["train"]["batch_size"],
            "process_seconds": round(time.perf_counter() - started, 1)}


def tables(runs: Sequence[dict]) -> str:
    """Markdown: every run, then the means by way, then the verdict on the 15% question."""
    lines = ["| way | seed | sentences/s | dev F1 | best epoch | batch a process | process s |", "|---|---|---|---|---|---|---|"]
    for run in runs:
        lines.append(f"| {run['way']} | {run['seed']} | {run['sentences_per_second']:.0f} | {run['dev_f1'] * 100:.2f} | "
                     f"{run['best_epoch']} | {run['batch_size']} | {run['process_seconds']:.0f} |")
    means = {way: mean_of(runs, way) for way in WAYS if any(run["way"] == way for run in runs)}
    lines += ["", "| way | runs | mean sentences/s | x one process | x train.workers=2 | mean dev F1 (sd) |",
              "|---|---|---|---|---|---|"]
    for way, (count, rate, f1, sd) in means.items():
        cells = [f"{rate / means[base][1]:.2f}" if base in means else "" for base in (ONE, WORKERS)]
        lines.append(f"| {way} | {count} | {rate:.0f} | {cells[0]} | {cells[1]} | {f1 * 100:.2f} ({sd * 100:.2f}) |")
    if DDP in means and WORKERS in means:
        share = means[DDP][1] / means[WORKERS][1]
        verdict = "within" if share >= 1 - WITHIN else "not within"
        lines += ["", f"DDP's rate is {share:.2f} of train.workers=2's: {verdict} {WITHIN:.0%}."]
    return "\n".join(lines) + "\n"


def mean_of(runs: Sequence[dict], way: str) -> tuple[int, float, float, float]:
    """How many runs of ``way``, their mean rate and mean dev F1, and the F1's standard deviation."""
    mine = [run for run in runs if run["way"] == way]
    f1s = [run["dev_f1"] for run in mine]
    return (len(mine), statistics.fmean(run["sentences_per_second"] for run in mine), statistics.fmean(f1s),
            statistics.stdev(f1s) if len(f1s) > 1 else 0.0)


def write_split(sentences: list, path: Path) -> None:
    path.write_text("".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in sentences), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="ecommerce")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of every run (no early stop)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS), metavar="WAY",
                        help=f"which to run, of {', '.join(map(repr, WAYS))} (default: all)")
    parser.add_argument("--ddp-batch-size", type=int, help="sentences a rank takes a step (default: train.batch_size)")
    parser.add_argument("--limit-train", type=int, help="use only the first N training sentences")
    parser.add_argument("--limit-dev", type=int, help="use only the first N dev sentences")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="a setting for every run")
    parser.add_argument("--json", default="distributed-results.json", help="the runs, as a JSON list "
                        "(default: %(default)s in the current folder)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if args.epochs < 1 or (args.ddp_batch_size is not None and args.ddp_batch_size < 1):
        parser.error("--epochs and --ddp-batch-size must be at least 1")
    from brandner.data.corpora import load_split

    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        train = [s for s in load_split(args.corpus, "train", args.data_dir) if s.text][:args.limit_train]
        dev = load_split(args.corpus, "dev", args.data_dir)[:args.limit_dev]
        write_split(train, folder / "train.jsonl")
        write_split(dev, folder / "dev.jsonl")
        for seed in args.seeds:
            for way in args.ways:
                runs.append(train_once(way, args, folder, seed, folder))
                print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
                Path(args.json).write_text(json.dumps(runs, indent=2), encoding="utf-8")
    body = (f"{args.corpus}: {len(train)} training and {len(dev)} dev sentences, {args.epochs} epoch(s) a run, "
            f"seeds {' '.join(map(str, args.seeds))}; {os.cpu_count()} cores. Sentences/s of the training steps "
            "(the summary's); dev F1 of the best epoch.\n\n" + tables(runs))
    publish("DDP (torchrun, 2 ranks) against `train.workers=2` against one process", body, write=not args.no_write)


if __name__ == "__main__":
    main()
