"""`brandner tag` at scale: lines/s and peak memory as the input file grows.

    python benchmarks/tag_stream.py                                  # 100k and 1M lines, 2 workers
    python benchmarks/tag_stream.py --model MODEL.onnx --lines 10000 100000 --workers 1 2

Issue 3's "a 1,000,000-line input file streams through in constant memory, in input
order, using all cores". For each line count (``--lines``) and worker count
(``--workers``), a file of that many texts (ecommerce train, dev and test, cycled) goes
through ``brandner tag -m MODEL -i FILE -o OUT --workers N`` as a process, model loading
included. Every ``--interval`` seconds the resident memory of that process and of every
process under it (the workers) is read from /proc, so this runs on Linux only. The output
is then checked: one JSON line per input line, in input order (each line's ``string`` is
its input line). Memory is constant when the peak does not grow with the line count.

Without ``--model`` it first trains a model for one epoch on ecommerce (default settings
unless ``--set``) and exports it to ONNX int8 (``--export``), the fastest way to tag. The table is appended
to docs/benchmarks.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import brandner_command, default_data_dir, publish, write_cycled  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402


@dataclass(frozen=True)
class Run:
    lines: int
    workers: int
    seconds: float
    peak_mb: float  # the process and all under it, summed at the same moment
    peak_parent_mb: float
    processes: int  # the most seen at once

    @property
    def rate(self) -> float:
        return self.lines / self.seconds


def children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone since listdir
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the name in parentheses may hold spaces
        children.setdefault(parent, []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process under it."""
    children, tree, todo = children_by_parent(), [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


def resident_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return 0.0  # gone, or a zombie without memory


def run_tag(model: Path, source: Path, target: Path, lines: int, workers: int, interval: float) -> Run:
    """Time ``brandner tag`` over ``source`` and sample its memory until it exits."""
    command = brandner_command() + ["tag", "-m", str(model), "-i", str(source), "-o", str(target),
                                    "--workers", str(workers)]
    peak = peak_parent = 0.0
    most = 0
    started = time.perf_counter()
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        while process.poll() is None:
            tree = process_tree(process.pid)
            peak = max(peak, sum(resident_mb(pid) for pid in tree))
            peak_parent = max(peak_parent, resident_mb(process.pid))
            most = max(most, len(tree))
            time.sleep(interval)
        seconds = time.perf_counter() - started
        errors = process.stderr.read()
    if process.returncode != 0:
        raise SystemExit(f"brandner tag failed ({process.returncode}): {errors.strip()[-2000:]}")
    return Run(lines, workers, seconds, peak, peak_parent, most)


def check_output(source: Path, target: Path) -> None:
    """One JSON line per input line, in input order; read line by line, whatever the size."""
    with source.open(encoding="utf-8") as inputs, target.open(encoding="utf-8") as outputs:
        for number, (text, line) in enumerate(zip(inputs, outputs, strict=True), start=1):
            if json.loads(line)["string"] != text.rstrip("\n"):
                raise SystemExit(f"{target}:{number}: not the result for line {number} of {source}")


def corpus_texts(corpus: str, data_dir: str) -> list[str]:
    texts = [s.text for split in ("train", "dev", "test") for s in load_split(corpus, split, data_dir)]
    return [t for t in texts if t and "\n" not in t]


def prepare_model(folder: Path, corpus: str, export: str, overrides: Sequence[str] = ()) -> Path:
    """A one-epoch model on ``corpus`` (settings ``KEY=VALUE`` as for ``brandner train --set``),
    exported as asked ("pytorch" keeps the .pt file)."""
    model = folder / "model.pt"
    call("train", "--corpus", corpus, "--epochs", "1", "-o", str(model), *(f"--set={o}" for o in overrides))
    if export == "pytorch":
        return model
    onnx = folder / f"model-{export}.onnx"
    call("export", "-m", str(model), "-o", str(onnx), *["--int8"] * (export == "onnx_int8"))
    return onnx


def call(*arguments: str) -> None:
    """Run ``brandner ARGUMENTS``; stop with its error if it fails."""
    result = subprocess.run(brandner_command() + list(arguments), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"brandner {arguments[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def table(runs: Sequence[Run], model: Path, corpus: str) -> str:
    rows = ["| lines | workers | seconds | lines/s | peak MB, all processes | peak MB, main process | processes |",
            "|---|---|---|---|---|---|---|"]
    rows += [f"| {r.lines} | {r.workers} | {r.seconds:.1f} | {r.rate:.0f} | {r.peak_mb:.0f} | "
             f"{r.peak_parent_mb:.0f} | {r.processes} |" for r in runs]
    size = model.stat().st_size / 2**20
    return (f"`brandner tag -m MODEL -i FILE -o OUT --workers N`, MODEL {model.name} ({size:.2f} MB), "
            f"FILE = the {corpus} texts cycled; every output checked: one line per input line, in input "
            f"order.\n\n" + "\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="model to tag with (default: train and export one)")
    parser.add_argument("--export", choices=("pytorch", "onnx", "onnx_int8"), default="onnx_int8",
                        help="how to save the model trained without --model (default: %(default)s)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="a setting for the model trained without --model, e.g. segmenter=jieba-fast")
    parser.add_argument("--corpus", default="ecommerce", help="texts for the input file (and the model)")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--lines", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between memory samples")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    os.environ["BRANDNER_DATA"] = args.data_dir  # for `brandner train --corpus`
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        model = args.model or prepare_model(folder, args.corpus, args.export, args.overrides)
        texts = corpus_texts(args.corpus, args.data_dir)
        runs = []
        for lines in args.lines:
            source, target = folder / "input.txt", folder / "output.jsonl"
            write_cycled(texts, lines, source)
            for workers in args.workers:
                runs.append(run_tag(model, source, target, lines, workers, args.interval))
                check_output(source, target)
        publish('`brandner tag` on large files: lines/s, peak memory, input order', table(runs, model, args.corpus),
                write=not args.no_write)


if __name__ == "__main__":
    main()
