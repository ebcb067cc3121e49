"""Active learning, simulated: does ``select --strategy uncertainty`` beat random choice at equal effort?

    python benchmarks/active_learning.py                     # ecommerce and weibo (two schedules), seeds 1 2 3
    python benchmarks/active_learning.py --corpus weibo:100:100 --rounds 2 --seeds 1 --max-epochs 2 --no-write

A corpus's train split is the pool of posts and its gold annotations stand in for the
annotator. Per seed: a random start set (the same for every strategy) is "annotated" and
a model trained on it; then, each round, each strategy chooses ``step`` more posts from
what is left of the pool with :func:`brandner.tagging.selection.select` (near-duplicates
removed, as ``brandner select`` does), those are added with their gold annotations, and a
model is trained from scratch on the larger set. Each point is the model's best dev F1
(the epoch early stopping keeps); test splits are not touched.

``--corpus NAME:START:STEP`` (repeatable); the defaults are ecommerce 400 + 400 a round
(pool 3,989), and weibo (pool 1,350: too few posts for 400 + 5 x 400) twice: 200 + 200 a
round, whose start model finds nothing yet (a cold start), and 400 + 150 a round. Results go
to ``--json`` as they finish (a rerun skips the runs already there); the table and a plot
(PNG, beside docs/benchmarks.md) replace this script's section of the page unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PAGE, default_data_dir, publish  # noqa: E402

STRATEGIES = ("uncertainty", "random")
DEFAULT_CORPORA = ("ecommerce:400:400", "weibo:200:200", "weibo:400:150")
PLOT = PAGE.parent / "images" / "active_learning.png"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", metavar="NAME:START:STEP",
                        help=f"a corpus, its start size and its step (default: {' and '.join(DEFAULT_CORPORA)})")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of choosing after the start (default: 5)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--max-epochs", type=int, default=30, help="training epochs at most (default: 30)")
    parser.add_argument("--patience", type=int, default=5, help="epochs without a better dev F1 (default: 5)")
    parser.add_argument("--json", type=Path, default=Path("active_learning.json"), help="results, kept across runs")
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--no-write", action="store_true", help="print the section, leave docs/ alone")
    return parser.parse_args(argv)


def corpora(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    """``(name, start, step)`` of each ``--corpus``."""
    parsed = []
    for spec in args.corpus or DEFAULT_CORPORA:
        name, start, step = spec.split(":")
        parsed.append((name, int(start), int(step)))
    return parsed


def train_f1(sentences: list, dev: list, args: argparse.Namespace, seed: int, folder: Path) -> float:
    """The best dev F1 of a model trained from scratch on ``sentences`` (brandner's defaults otherwise)."""
    from brandner.config import load_config
    from brandner.training.job import fit
    config = load_config(None, [f"seed={seed}", f"max_epochs={args.max_epochs}", f"patience={args.patience}"])
    return round(100 * fit(sentences, dev, config, folder / "model.pt")["dev"]["f1"], 2)


def choose(model: Path, pool: list, left: list[int], step: int, strategy: str, seed: int) -> list[int]:
    """Indices into ``pool`` of the ``step`` posts of ``left`` that ``strategy`` chooses."""
    from brandner.tagging.selection import select
    from brandner.tagging.tagger import Tagger
    tagger = Tagger.load(model, backend="torch")
    chosen = select(tagger, [(pool[i].text, {"index": i}) for i in left], step, strategy, seed)
    return [post.fields["index"] for post in chosen]


def curve(pool: list, dev: list, first: list[int], step: int, strategy: str, seed: int, args: argparse.Namespace,
          start_model: Path, folder: Path) -> list[dict]:
    """The points of one strategy's rounds: posts annotated and dev F1 after each."""
    labelled, model, points = list(first), start_model, []
    for round_ in range(1, args.rounds + 1):
        taken = set(labelled)
        left = [i for i in range(len(pool)) if i not in taken]
        labelled += choose(model, pool, left, step, strategy, seed * 100 + round_)
        began = time.perf_counter()
        f1 = train_f1([pool[i] for i in labelled], dev, args, seed, folder / f"{strategy}{round_}")
        points.append({"round": round_, "sentences": len(labelled), "dev_f1": f1,
                       "characters": sum(len(pool[i].text) for i in labelled),
                       "seconds": round(time.perf_counter() - began, 1)})
        model = folder / f"{strategy}{round_}" / "model.pt"
        print(f"{strategy} seed {seed} round {round_}: {len(labelled)} sentences, dev F1 {f1:.2f}", flush=True)
    return points


def run_seed(name: str, start: int, step: int, seed: int, args: argparse.Namespace, done: dict) -> None:
    """Every strategy's curve for one corpus and seed that ``done`` lacks, saved as each ends."""
    from brandner.data.corpora import load_split
    key = f"{name}:{start}:{step}/{seed}"
    missing = [s for s in STRATEGIES if f"{key}/{s}" not in done]
    if not missing:
        return
    pool, dev = load_split(name, "train", args.data_dir), load_split(name, "dev", args.data_dir)
    first = random.Random(seed).sample(range(len(pool)), start)  # the same start for every strategy
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        f1 = train_f1([pool[i] for i in first], dev, args, seed, folder / "start")
        done[f"{key}/start"] = {"round": 0, "sentences": start, "dev_f1": f1}
        print(f"{name} seed {seed} start: {start} sentences, dev F1 {f1:.2f}", flush=True)
        for strategy in missing:
            done[f"{key}/{strategy}"] = curve(pool, dev, first, step, strategy, seed, args,
                                                      folder / "start" / "model.pt", folder)
            save(args.json, done)


def save(path: Path, done: dict) -> None:
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(done, indent=1), encoding="utf-8")
    os.replace(temporary, path)


def table(name: str, seeds: Sequence[int], done: dict) -> tuple[str, dict]:
    """The markdown table of one corpus run ``name`` (``NAME:START:STEP``: mean and spread of dev F1
    over seeds per round) and the means per strategy, for the plot."""
    rows, means = [], {}
    starts = [done[f"{name}/{seed}/start"]["dev_f1"] for seed in seeds]
    curves = {s: [done[f"{name}/{seed}/{s}"] for seed in seeds] for s in STRATEGIES}
    sizes = [done[f"{name}/{seeds[0]}/start"]["sentences"]] + [p["sentences"] for p in curves[STRATEGIES[0]][0]]
    for strategy in STRATEGIES:
        means[strategy] = [statistics.mean(starts)] + [statistics.mean(c[r]["dev_f1"] for c in curves[strategy])
                                                       for r in range(len(sizes) - 1)]
    rows.append("| sentences annotated | uncertainty | random | uncertainty - random | seeds uncertainty won |")
    rows.append("|---:|---:|---:|---:|---:|")
    rows.append(f"| {sizes[0]:,} (start) | {_spread(starts)} | {_spread(starts)} | — | — |")
    for r in range(len(sizes) - 1):
        by = {s: [c[r]["dev_f1"] for c in curves[s]] for s in STRATEGIES}
        wins = sum(u > v for u, v in zip(by["uncertainty"], by["random"]))
        gap = statistics.mean(by["uncertainty"]) - statistics.mean(by["random"])
        rows.append(f"| {sizes[r + 1]:,} | {_spread(by['uncertainty'])} | {_spread(by['random'])} | "
                    f"{gap:+.2f} | {wins} of {len(seeds)} |")
    last = {s: statistics.mean(c[-1]["characters"] for c in curves[s]) for s in STRATEGIES}
    rows.append(f"\nCharacters in the last round's sentences: uncertainty {last['uncertainty']:,.0f}, "
                f"random {last['random']:,.0f} ({last['uncertainty'] / last['random']:.2f}x).")
    return "\n".join(rows), {"sizes": sizes, **means}


def _spread(values: list[float]) -> str:
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}" if len(values) > 1 else f"{values[0]:.2f}"


def plot(curves: dict[str, dict], path: Path) -> None:
    """Dev F1 against sentences annotated, a panel per corpus, a line per strategy (mean of seeds)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6), squeeze=False)
    for axis, (name, means) in zip(axes[0], curves.items()):
        for strategy, style in zip(STRATEGIES, ("o-", "s--")):
            axis.plot(means["sizes"], means[strategy], style, label=strategy)
        axis.set(title=name, xlabel="sentences annotated", ylabel="dev F1")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("BRANDNER_DATA", args.data_dir)
    done = json.loads(args.json.read_text(encoding="utf-8")) if args.json.exists() else {}
    for name, start, step in corpora(args):
        for seed in args.seeds:
            run_seed(name, start, step, seed, args, done)
    from brandner.data.corpora import load_split
    sections, curves = [], {}
    for name, start, step in corpora(args):
        text, curves[f"{name}, {start} + {step} a round"] = table(f"{name}:{start}:{step}", args.seeds, done)
        pool = len(load_split(name, "train", args.data_dir))
        last = start + args.rounds * step
        sections.append(f"**{name}** (start {start:,}, {step:,} a round; pool: the train split, {pool:,} posts, "
                        f"{last / pool:.0%} of it annotated by the last round; dev F1, mean ± sd over seeds "
                        f"{', '.join(map(str, args.seeds))}):\n\n{text}")
    where = PLOT if not args.no_write else args.json.with_suffix(".png")
    plot(curves, where)
    body = (f"Each round a strategy adds posts chosen from what is left of the pool; a model is trained from scratch "
            f"(at most {args.max_epochs} epochs, patience {args.patience}) and its best dev F1 is the point. "
            f"Uncertainty is the least-confident character's (`brandner select`'s default); both strategies remove "
            f"near-duplicates at 0.8. Only F1 is compared, so corpora may run side by side (here: one process "
            f"each, `OMP_NUM_THREADS=1`, results merged into one `--json`).\n\n"
            + "\n\n".join(sections) + f"\n\n![dev F1 per round]({where.relative_to(PAGE.parent).as_posix()})\n"
            if not args.no_write else "\n\n".join(sections) + f"\n\nplot: {where}\n")
    publish("Active learning: uncertainty against random choice", body, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
