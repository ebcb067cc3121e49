"""One input, three engines: `brandner tag --workers 2`, Spark `local[2]` and Ray with 2 actors.

    python benchmarks/scale.py -m MODEL.pt                    # 1,000,000 lines, ONNX and PyTorch
    python benchmarks/scale.py -m MODEL.pt --lines 100000 --backends onnx --no-write

Each engine tags the same JSON lines file (``{"id": N, "text": …}``, ecommerce's titles over
and over) through the real command line, twice: ``--small`` lines, which is almost all start-up
(Python, the model; the JVM and Spark session; Ray's processes and actors), and ``--lines``
lines. Lines per second "excluding start-up" is the difference of lines over the difference of
time: the rate once running. Peak memory is the proportional set size (PSS: shared pages split
between the processes sharing them) summed over the command and every process under it (Spark's
JVM and Python workers, Ray's raylet and actors), sampled every half second. The outputs of the
big runs are compared row for row (id and entities) with `brandner tag`'s. "Per core" is the
rate excluding start-up over the 2 cores each engine was given: what one core tags per second,
to size a cluster. The table replaces this script's section of docs/benchmarks.md unless
``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import brandner_command, default_data_dir, publish  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402

ENGINES = {
    "local": ["--workers", "2"],
    "spark": ["--engine", "spark", "--master", "local[2]", "--conf", "spark.ui.enabled=false"],
    "ray": ["--engine", "ray", "--workers", "2"],
}
CORES = 2


def write_input(texts: list[str], lines: int, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            out.write(json.dumps({"id": i, "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n")


class PeakMemory:
    """The peak, over samples every ``every`` seconds, of the PSS summed over a process and all under it."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.root, self.every, self.peak = psutil.Process(pid), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            total = 0
            try:
                processes = [self.root] + self.root.children(recursive=True)
            except psutil.Error:
                continue
            for process in processes:
                try:
                    total += process.memory_full_info().pss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run(engine: str, model: str, backend: list[str], source: Path, output: Path) -> tuple[float, int]:
    """Seconds and peak memory (bytes) of one ``brandner tag`` run."""
    command = brandner_command() + ["tag", "-m", model, *backend, *ENGINES[engine], "-i", str(source),
                                    "-o", str(output)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(process.pid)
    _, errors = process.communicate()
    seconds = time.perf_counter() - started
    peak = memory.stop()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{errors[-3000:]}")
    return seconds, peak


def read_output(path: Path) -> list[tuple[int, list]]:
    """(id, entities) per row, in order: a file, or a folder of part files (Spark's and Ray's names
    sort in order; hidden and ``_`` files skipped); null fields dropped."""
    files = sorted(p for p in path.iterdir() if not p.name.startswith((".", "_"))) if path.is_dir() else [path]
    rows = []
    for file in files:
        with file.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                entities = [{k: v for k, v in entity.items() if v is not None} for entity in record["entities"] or []]
                rows.append((record["id"], entities))
    return rows


def differing(ours: list, theirs: list) -> int:
    return sum(a != b for a, b in zip(ours, theirs)) + abs(len(ours) - len(theirs))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-m", "--model", required=True, help="a PyTorch model file (exported to ONNX here)")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=2_000, help="lines of the start-up run")
    parser.add_argument("--engines", default="local,spark,ray")
    parser.add_argument("--backends", default="onnx,torch")
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    engines, backends = args.engines.split(","), args.backends.split(",")
    texts = [s.text for split in ("train", "dev", "test") for s in load_split("ecommerce", split, args.data_dir)]
    rows = [f"| engine | model | start-up s | {args.lines:,} lines, s | lines/s | lines/s excluding start-up | "
            "per core | peak memory | rows differing from `tag` |", "|---|---|---|---|---|---|---|---|---|"]
    rates: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        write_input(texts, args.small, scratch / "small.jsonl")
        write_input(texts, args.lines, scratch / "big.jsonl")
        subprocess.run(brandner_command() + ["export", "-m", args.model, "-o", str(scratch / "model.onnx")],
                       check=True, stdout=subprocess.DEVNULL)
        models = {"onnx": (str(scratch / "model.onnx"), []), "torch": (args.model, ["--backend", "torch"])}
        for backend in backends:
            model, options = models[backend]
            reference = None
            for engine in engines:
                small, _ = run(engine, model, options, scratch / "small.jsonl", scratch / f"{engine}-small.jsonl")
                big, peak = run(engine, model, options, scratch / "big.jsonl", scratch / f"{engine}-big.jsonl")
                output = read_output(scratch / f"{engine}-big.jsonl")
                reference = reference or output
                running = (args.lines - args.small) / (big - small)
                rates[engine, backend] = running
                rows.append(f"| {engine} | {'ONNX' if backend == 'onnx' else 'PyTorch'} | {small:.1f} | {big:.1f} | "
                            f"{args.lines / big:,.0f} | {running:,.0f} | {running / CORES:,.0f} | "
                            f"{peak / 2**30:.2f} GiB | {differing(reference, output):,} of {len(output):,} |")
                print(rows[-1], flush=True)
                for name in (f"{engine}-small.jsonl", f"{engine}-big.jsonl"):
                    subprocess.run(["rm", "-rf", str(scratch / name)], check=True)
    ratios = [f"{engine} {backend}: {rates[engine, backend] / rates['local', backend]:.2f}x `tag --workers 2`"
              for backend in backends for engine in engines if engine != "local" and ("local", backend) in rates]
    body = (f"{args.lines:,} lines (ecommerce's titles over and over, `{{\"id\", \"text\"}}` JSON lines) through "
            f"`brandner tag -m MODEL` on each engine with 2 cores; start-up from a {args.small:,}-line run; model "
            f"`{Path(args.model).name}`.\n\n" + "\n".join(rows) + "\n\nExcluding start-up: " + "; ".join(ratios)
            + ".\n")
    publish("one million lines on one machine, Spark and Ray", body, not args.no_write)


if __name__ == "__main__":
    main()
