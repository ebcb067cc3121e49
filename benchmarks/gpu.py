"""Training and tagging on a GPU against the same runs on the CPU.

    python benchmarks/gpu.py                                  # msra and ecommerce, 2 epochs each
    python benchmarks/gpu.py --corpus ecommerce --epochs 20   # to the end of a real training
    python benchmarks/gpu.py --quick --gpu cpu --no-write     # the script's own check, on any machine

For each corpus, two ``brandner train`` commands, each a process of its own, one after the other
(never at once), with the same settings and seed: ``--device GPU --workers 1`` and ``--device cpu``
with ``--cpu-workers`` (default 0: as many processes as the CPUs allow, brandner's default on a
CPU). Both train ``--epochs`` epochs (patience off) on the corpus's train split, are chosen on its
dev split and scored on its test split. Reported for each: training sentences/s (the steps alone:
the summary's ``train_sentences_per_second``), the command's wall seconds, dev and test F1.

Then the GPU's model tags the test split in this process, in PyTorch, on the GPU and on the CPU:
the share of sentences whose entities are the same on both, the test F1 of each, and the tagging
rate (raw text to entities, batch 256, best of 3) of each. A model file holds CPU tensors; this
checks that what the GPU learnt tags the same on a CPU-only machine.

``--quick`` trains on a few sentences with a small network (seconds): with ``--gpu cpu`` it runs
anywhere, which is how the tests check the script. The table replaces this script's section of
docs/benchmarks.md unless ``--no-write``; the runs go to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import best_seconds, brandner_command, default_data_dir, publish  # noqa: E402

QUICK = {"train": 60, "dev": 20, "test": 20,
         "settings": ["char_dim=16", "seg_dim=4", "hidden_size=16", "bigram_dim=8"]}


def train(folder: Path, name: str, device: str, workers: int, epochs: int, seed: int, settings: list[str]) -> dict:
    """One ``brandner train`` process on ``folder``'s train/dev/test files; its row of the table."""
    output = folder / f"{name}.pt"
    command = [*brandner_command(), "train", "--train", str(folder / "train.jsonl"), "--dev", str(folder / "dev.jsonl"),
               "--test", str(folder / "test.jsonl"), "--device", device, "--workers", str(workers),
               "--epochs", str(epochs), "--seed", str(seed), "--set", f"patience={epochs}",
               *(part for setting in settings for part in ("--set", setting)), "-o", str(output)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    summary = json.loads(output.with_name(output.name + ".json").read_text(encoding="utf-8"))
    row = {"run": name, "device": summary["device"], "workers": summary["config"]["train"]["workers"],
           "epochs": summary["epochs_run"], "best_epoch": summary["best_epoch"], "wall_seconds": seconds,
           "sentences_per_second": summary["train_sentences_per_second"], "dev_f1": summary["dev"]["f1"],
           "test_f1": summary["test"]["f1"], "model": str(output)}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def tag_both_ways(model: Path, gpu: str, test: Sequence, repeats: int = 3) -> dict:
    """The model tagging ``test`` on ``gpu`` and on the CPU: agreement, test F1 and sentences/s of each."""
    from brandner import Tagger
    from brandner.data.metrics import score

    texts, gold = [s.text for s in test], [s.spans for s in test]
    result = {}
    for name, where in (("gpu", gpu), ("cpu", "cpu")):
        tagger = Tagger.load(model, backend="torch", device=where)
        spans = tagger.predict_spans(texts)
        seconds = best_seconds(lambda: tagger.predict(texts), repeats)
        result[name] = {"spans": spans, "test_f1": score(gold, spans).micro.f1, "per_second": len(texts) / seconds}
    same = sum(a == b for a, b in zip(result["gpu"]["spans"], result["cpu"]["spans"], strict=True))
    return {"sentences": len(texts), "same_entities": same / max(len(texts), 1),
            "gpu_test_f1": result["gpu"]["test_f1"], "cpu_test_f1": result["cpu"]["test_f1"],
            "gpu_tag_per_second": result["gpu"]["per_second"], "cpu_tag_per_second": result["cpu"]["per_second"]}


def gpu_name(device: str) -> str:
    import torch

    from brandner.model.device import resolve_device

    resolved = resolve_device(device)
    if resolved.type != "cuda":
        return f"{device} (no GPU: the script's own check)"
    return f"{torch.cuda.get_device_name(resolved)}, CUDA {torch.version.cuda}"


def table(corpora: list[dict], gpu: str) -> str:
    lines = [f"GPU: {gpu}.", "",
             "| corpus | device | processes | epochs (best) | training sentences/s | wall s | dev F1 | test F1 |",
             "|---|---|---|---|---|---|---|---|"]
    for c in corpora:
        for r in (c["gpu"], c["cpu"]):
            lines.append(f"| {c['corpus']} | {r['device']} | {r['workers']} | {r['epochs']} ({r['best_epoch']}) | "
                         f"{r['sentences_per_second']:.1f} | {r['wall_seconds']:.0f} | {r['dev_f1'] * 100:.2f} | "
                         f"{r['test_f1'] * 100:.2f} |")
    lines.append("")
    for c in corpora:
        g, cpu, t = c["gpu"], c["cpu"], c["tagging"]
        lines.append(f"- {c['corpus']}: training {g['sentences_per_second'] / cpu['sentences_per_second']:.2f}x the "
                     f"CPU's sentences/s; the {g['device']} model's test entities on the CPU: "
                     f"{t['same_entities'] * 100:.2f}% of {t['sentences']} sentences the same as on the "
                     f"{g['device']} (test F1 {t['cpu_test_f1'] * 100:.2f} against {t['gpu_test_f1'] * 100:.2f}); "
                     f"tagging at batch 256 {t['gpu_tag_per_second']:.0f} sentences/s on the {g['device']}, "
                     f"{t['cpu_tag_per_second']:.0f} on the CPU in PyTorch")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", help="repeatable (default: msra and ecommerce)")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--gpu", default="cuda", help="the device measured against the CPU (default: %(default)s)")
    parser.add_argument("--cpu-workers", type=int, default=0,
                        help="training processes on the CPU (default: 0, as many as the CPUs allow)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of every training (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="a setting for every training")
    parser.add_argument("--quick", action="store_true", help="a few sentences and a small network: for the tests")
    parser.add_argument("--models", type=Path, metavar="DIR", help="keep the models here (default: a temporary folder)")
    parser.add_argument("--json", default="gpu-results.json", help="the runs (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    from brandner.data.corpora import load_split
    from brandner.data.formats import write_file
    from brandner.errors import BrandnerError

    try:
        described = gpu_name(args.gpu)  # no GPU here: say so before any training
    except BrandnerError as error:
        raise SystemExit(f"gpu.py: {error}") from None
    settings = [*(QUICK["settings"] if args.quick else []), *args.overrides]
    corpora = []
    with tempfile.TemporaryDirectory() as scratch:
        root = args.models or Path(scratch)
        for corpus in args.corpus or ["msra", "ecommerce"]:
            folder = root / corpus
            folder.mkdir(parents=True, exist_ok=True)
            splits = {split: load_split(corpus, split, args.data_dir) for split in ("train", "dev", "test")}
            if args.quick:
                splits = {split: sentences[:QUICK[split]] for split, sentences in splits.items()}
            for split, sentences in splits.items():
                write_file(sentences, folder / f"{split}.jsonl", "jsonl")
            gpu = train(folder, "gpu", args.gpu, 1, args.epochs, args.seed, settings)
            cpu = train(folder, "cpu", "cpu", args.cpu_workers, args.epochs, args.seed, settings)
            corpora.append({"corpus": corpus, "gpu": gpu, "cpu": cpu,
                            "tagging": tag_both_ways(Path(gpu["model"]), args.gpu, splits["test"])})
    Path(args.json).write_text(json.dumps(corpora, indent=1), encoding="utf-8")
    publish("training and tagging on a GPU against the CPU", table(corpora, described), write=not args.no_write)


if __name__ == "__main__":
    main()
