"""The defaults on a quiet machine and on a busy one, against the pytorch-crf reference, in one run.

    python benchmarks/contention.py                       # ecommerce, 2 epochs, 30,000 lines to tag
    python benchmarks/contention.py --epochs 3 --lines 100000

Users train and tag on shared servers and in containers, beside other jobs. For each way
of running (brandner's defaults; brandner as one process with PyTorch's threads, the
defaults before the CPU-quota work; the pytorch-crf reference of benchmarks/speed.py, in
a process of its own with PyTorch's threads; spaCy's default CPU NER pipeline, trained as
``spacy train`` does, benchmarks/reference_spacy.py, one thread), training (``brandner train --corpus
ecommerce --epochs E``: sentences/s of the training steps, from the summary) and tagging
(``brandner tag -m MODEL -i FILE -o OUT`` as a whole process: lines/s; the reference tags
the same texts in process) are timed quiet, then beside one competing process: a Python
busy loop (one core) or a PyTorch matrix-multiply loop with two threads. Each busy rate is
given as a share of the same way's quiet rate, and each quiet rate as a multiple of the
reference's, all from this run (the machine's speed drifts between runs); then the median
latency of one text tagged alone, quiet. One thing is
timed at a time; the competitor starts before the timed run and is killed after it.

The table replaces this script's section of docs/benchmarks.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import brandner_command, default_data_dir, publish, write_cycled  # noqa: E402

SPACY = "spaCy (default CPU NER pipeline)"
SPACY_SCRIPT = Path(__file__).resolve().with_name("reference_spacy.py")
COMPETITORS = {
    "quiet": None,
    "a busy loop": [sys.executable, "-c", "while True: pass"],
    "torch, 2 threads": [sys.executable, "-c", "import torch\ntorch.set_num_threads(2)\na = torch.randn(512, 512)\n"
                                               "while True: a @ a"],
}
# How each way runs: extra command-line arguments for brandner, or the reference.
WAYS = {"brandner, defaults": [], "brandner, one process, PyTorch threads": ["--workers", "1"],
        "reference (pytorch-crf)": None, SPACY: None}
TAG_WAYS = {"brandner, defaults": [],
            "brandner, one process, PyTorch threads": ["--workers", "1", "--backend", "torch"],
            "reference (pytorch-crf)": None, SPACY: None}


def clean_env(data_dir: str) -> dict[str, str]:
    """This environment without the settings that would override the defaults being measured."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "BRANDNER_CPUS", "MKL_NUM_THREADS")}
    return {**env, "BRANDNER_DATA": data_dir}


def beside(competitor: list[str] | None, run) -> float:
    """``run()`` (which returns a rate) with ``competitor`` running beside it."""
    if competitor is None:
        return run()
    process = subprocess.Popen(competitor, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # let it take its core
        return run()
    finally:
        process.kill()
        process.wait()


def train_rate(args: argparse.Namespace, way: str, extra: list[str] | None, folder: Path) -> float:
    """Training sentences/s of one way (a reference: in a child process of its own)."""
    if extra is None:
        script = [str(SPACY_SCRIPT), "--train-epochs"] if way == SPACY else [__file__, "--reference-train"]
        command = [sys.executable, *script, str(args.epochs), "--data-dir", args.data_dir]
        out = subprocess.run(command, check=True, capture_output=True, text=True, env=clean_env(args.data_dir))
        return json.loads(out.stdout)["rate"]
    output = folder / "trained.pt"
    command = brandner_command() + ["train", "--corpus", "ecommerce", "--epochs", str(args.epochs),
                                    "-o", str(output), *extra]
    subprocess.run(command, check=True, capture_output=True, env=clean_env(args.data_dir))
    return json.loads(output.with_name(output.name + ".json").read_text())["train_sentences_per_second"]


def tag_rate(args: argparse.Namespace, way: str, extra: list[str] | None, model: Path, texts: Path) -> float:
    """Lines/s of ``brandner tag`` as a whole process (a reference: in process, in a child; spaCy
    trains one epoch first, untimed)."""
    if extra is None:
        script = [str(SPACY_SCRIPT), "--tag"] if way == SPACY else [__file__, "--reference-tag"]
        command = [sys.executable, *script, str(texts), "--data-dir", args.data_dir]
        out = subprocess.run(command, check=True, capture_output=True, text=True, env=clean_env(args.data_dir))
        return json.loads(out.stdout)["rate"]
    command = brandner_command() + ["tag", "-m", str(model), "-i", str(texts), "-o", str(texts) + ".out", *extra]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=clean_env(args.data_dir))
    return args.lines / (time.perf_counter() - started)


def latency_ms(args: argparse.Namespace, model: Path | None, texts: Path) -> float:
    """The median milliseconds to tag one text alone (each of the first 500 lines of ``texts`` in
    turn, in process, in a child process of its own): brandner's defaults, or the reference."""
    command = [sys.executable, __file__, "--latency", str(texts), "--data-dir", args.data_dir]
    if model is not None:
        command += ["--model", str(model)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=clean_env(args.data_dir))
    return json.loads(out.stdout)["p50_ms"]


def measure_latency(args: argparse.Namespace) -> None:
    texts = Path(args.latency).read_text(encoding="utf-8").splitlines()[:500]
    if args.model:
        from brandner.cpus import available_cpus
        from brandner.tagging.tagger import Tagger

        os.environ.setdefault("OMP_NUM_THREADS", str(available_cpus()))  # as the command line does
        predict = Tagger.load(args.model).predict
    else:
        from benchmarks.reference_torchcrf import ReferenceNER
        from brandner.data.corpora import load_split

        ner = ReferenceNER.from_sentences(load_split("ecommerce", "train", args.data_dir), 1)
        predict = lambda text: ner.predict([text], 1)  # noqa: E731
    for text in texts[:50]:  # warm up
        predict(text)
    times = []
    for text in texts:
        started = time.perf_counter()
        predict(text)
        times.append(time.perf_counter() - started)
    print(json.dumps({"p50_ms": 1000 * statistics.median(times)}))


def reference(args: argparse.Namespace) -> None:
    """The reference's rate, printed as JSON: run in a child process by the two functions above."""
    from benchmarks.reference_torchcrf import ReferenceNER
    from brandner.data.corpora import load_split

    train = load_split("ecommerce", "train", args.data_dir)
    ner = ReferenceNER.from_sentences(train, 1)
    if args.reference_train:
        batches, rng = ner.training_batches(train), random.Random(1)
        started = time.perf_counter()
        for _ in range(args.reference_train):
            ner.train_epoch(batches, rng)
        print(json.dumps({"rate": args.reference_train * len(train) / (time.perf_counter() - started)}))
        return
    texts = Path(args.reference_tag).read_text(encoding="utf-8").splitlines()
    started = time.perf_counter()
    ner.predict(texts, 256)
    print(json.dumps({"rate": len(texts) / (time.perf_counter() - started)}))


def table(title: str, rates: dict[str, dict[str, float]], unit: str) -> str:
    names = list(COMPETITORS)
    reference_quiet = rates["reference (pytorch-crf)"]["quiet"]
    rows = [f"| {title} | quiet {unit} | x reference, quiet | " + " | ".join(f"beside {n}" for n in names[1:]) + " |",
            "|---|---|---|" + "---|" * (len(names) - 1)]
    for way, by in rates.items():
        shares = " | ".join(f"{by[n]:,.0f} ({by[n] / by['quiet']:.2f} of quiet, {by['quiet'] / by[n]:.1f}x slower)"
                            for n in names[1:])
        rows.append(f"| {way} | {by['quiet']:,.0f} | {by['quiet'] / reference_quiet:.2f} | {shares} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="training epochs per timed run")
    parser.add_argument("--lines", type=int, default=30_000, help="lines of the file to tag")
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--reference-train", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reference-tag", help=argparse.SUPPRESS)
    parser.add_argument("--latency", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.latency:
        return measure_latency(args)
    if args.reference_train or args.reference_tag:
        return reference(args)
    from brandner.data.corpora import load_split

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        texts = folder / "texts.txt"
        write_cycled([s.text for s in load_split("ecommerce", "test", args.data_dir)], args.lines, texts)
        model = folder / "model.pt"  # one epoch, one process: the model to tag with (not timed)
        subprocess.run(brandner_command() + ["train", "--corpus", "ecommerce", "--epochs", "1", "--workers", "1",
                                             "-o", str(model)], check=True, capture_output=True,
                       env={**clean_env(args.data_dir), "BRANDNER_CACHE": str(folder / "cache")})
        os.environ["BRANDNER_CACHE"] = str(folder / "cache")
        subprocess.run(brandner_command() + ["tag", "-m", str(model), "warm the ONNX cache"], check=True,
                       capture_output=True, env=clean_env(args.data_dir))
        latency = {"brandner, defaults": latency_ms(args, model, texts), "reference (pytorch-crf)":
                   latency_ms(args, None, texts)}
        training: dict[str, dict[str, float]] = {}
        tagging: dict[str, dict[str, float]] = {}
        for name, competitor in COMPETITORS.items():
            for way, extra in WAYS.items():
                rate = beside(competitor, lambda: train_rate(args, way, extra, folder))
                training.setdefault(way, {})[name] = rate
                print(f"train {way}, {name}: {training[way][name]:.0f}", file=sys.stderr)
            for way, extra in TAG_WAYS.items():
                rate = beside(competitor, lambda: tag_rate(args, way, extra, model, texts))
                tagging.setdefault(way, {})[name] = rate
                print(f"tag {way}, {name}: {tagging[way][name]:.0f}", file=sys.stderr)
    body = (f"ecommerce: training {args.epochs} epochs (sentences/s of the steps), tagging {args.lines:,} test "
            f"titles cycled (lines/s, whole process; the reference in process). One competing process at a time; "
            f"{os.cpu_count()} cores.\n\n" + table("training", training, "sentences/s") + "\n"
            + table("tagging", tagging, "lines/s") + "\nOne text at a time, in process, quiet: median "
            + ", ".join(f"{way} {ms:.2f} ms" for way, ms in latency.items()) + ".\n")
    publish("the defaults on a busy machine, against the reference", body, not args.no_write)


if __name__ == "__main__":
    main()
