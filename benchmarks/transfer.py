"""From scratch against fine-tuned from a base model: a table and a learning curve, from a log.

The runs are benchmarks/accuracy.py's, each appended to one log (``--log``), with and without
``--init BASE`` and at several ``--train-size``s; for example::

    brandner train --corpus msra --corpus cluener -o base.pt
    python benchmarks/accuracy.py --corpus weibo --seeds 1 2 3 4 5 --log runs.jsonl --no-write
    python benchmarks/accuracy.py --corpus weibo --seeds 1 2 3 4 5 --init base.pt --log runs.jsonl --no-write
    python benchmarks/accuracy.py --corpus weibo --train-size 250 --log runs.jsonl --no-write
    python benchmarks/transfer.py runs.jsonl --plot docs/images/learning_curve.svg

The table has a row per corpus and training-set size: seeds, dev and test F1 (mean ± standard
deviation over the seeds) from scratch and fine-tuned, and the test gain; the plot, test F1
against training sentences (log scale), a line per corpus and start.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.accuracy import _mean_std as mean_std  # noqa: E402
from benchmarks.accuracy import read_log  # noqa: E402
from benchmarks.common import publish  # noqa: E402

STARTS = ("scratch", "fine-tuned")
PLAIN = ("", "bigrams", "bigrams+pretrained")  # the defaults, from scratch or fine-tuned; other variants left out


def grouped(rows: list[dict]) -> dict[tuple[str, int], dict[str, list[dict]]]:
    """The runs of the defaults (ensembles and other variants left out) by (corpus, training
    sentences), then by start."""
    groups: dict[tuple[str, int], dict[str, list[dict]]] = {}
    for row in rows:
        if "ensemble" in row or "train_size" not in row or row.get("variant", "") not in PLAIN:
            continue
        start = STARTS[1] if row.get("init") else STARTS[0]
        groups.setdefault((row["corpus"], row["train_size"]), {s: [] for s in STARTS})[start].append(row)
    return dict(sorted(groups.items()))


def _mean_std(values: list[float]) -> str:
    """accuracy.py's mean ± std in percent; empty for no runs."""
    return mean_std(values) if values else ""


def _mean_test(runs: list[dict]) -> float:
    return statistics.mean(r["test_f1"] for r in runs)


def table(rows: list[dict]) -> str:
    lines = ["| corpus | training sentences | seeds (scratch / fine-tuned) | dev scratch | dev fine-tuned | "
             "test scratch | test fine-tuned | test gain |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for (corpus, size), runs in grouped(rows).items():
        scratch, tuned = runs[STARTS[0]], runs[STARTS[1]]
        gain = ""
        if scratch and tuned:
            gain = f"{100 * (_mean_test(tuned) - _mean_test(scratch)):+.2f}"
        lines.append(f"| {corpus} | {size:,} | {len(scratch)} / {len(tuned)} | "
                     f"{_mean_std([r['dev_f1'] for r in scratch])} | {_mean_std([r['dev_f1'] for r in tuned])} | "
                     f"{_mean_std([r['test_f1'] for r in scratch])} | {_mean_std([r['test_f1'] for r in tuned])} | "
                     f"{gain} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    """Test F1 (mean over seeds) against training sentences, a line per corpus and start."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    curves: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for (corpus, size), runs in grouped(rows).items():
        for start, found in runs.items():
            if found:
                curves.setdefault((corpus, start), []).append((size, 100 * _mean_test(found)))
    for (corpus, start), points in sorted(curves.items()):
        sizes, scores = zip(*sorted(points))
        axes.plot(sizes, scores, marker="o", linestyle="-" if start == STARTS[1] else "--", label=f"{corpus}, {start}")
    axes.set_xscale("log")
    axes.set_xlabel("training sentences")
    axes.set_ylabel("test F1 (mean over seeds)")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", help="a log of benchmarks/accuracy.py runs (--log)")
    parser.add_argument("--plot", type=Path, metavar="FILE", help="draw the learning curve here (.svg or .png)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    rows = read_log(args.log)
    body = table(rows)
    if args.plot:
        plot(rows, args.plot)
        body += f"\n\nLearning curve: `{args.plot}`."
    publish("from scratch and fine-tuned from a base model", body, write=not args.no_write)


if __name__ == "__main__":
    main()
