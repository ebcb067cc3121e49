"""Hyper-parameter search on dev F1 (optuna, TPE sampler, median pruning).

    python benchmarks/search.py --corpus weibo --trials 12 --set max_epochs=20
    python benchmarks/search.py --corpus resume --trials 8 --study runs.db   # resumable

Each trial trains one model with settings drawn from SPACE (on top of the defaults
and ``--set``) and scores it on the corpus's dev split only; test is never read.
Trial 0 of a new study is the current defaults. The first 10 trials are drawn at
random (TPE's start-up), later ones by TPE.
Trials are pruned when their dev F1 after an epoch is below the median of earlier
trials at that epoch. Writes the trials (settings, dev F1, epochs, seconds) and the
best settings to docs/benchmarks.md with the date, the command and the machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, publish  # noqa: E402
from brandner.config import load_config  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.training.job import fit  # noqa: E402
from brandner.training.loop import EpochEvent  # noqa: E402

# name -> (kind, choices or (low, high)); "log" floats are drawn on a log scale. Features
# (bigrams, lexicon, vectors) are chosen by the ablation in accuracy.py and fixed with --set;
# embedding sizes follow the vectors when there are vectors.
SPACE = {
    "lr": ("log", (3e-4, 3e-3)),
    "lr_decay": ("float", (0.0, 0.1)),
    "dropout": ("float", (0.2, 0.6)),
    "hidden_size": ("choice", (100, 150, 200)),
    "batch_size": ("choice", (8, 16, 20, 32)),
    "unk_replace": ("float", (0.0, 0.7)),
    "clip": ("choice", (1.0, 5.0)),
}


def suggest(trial, space: dict = SPACE) -> list[str]:
    """``KEY=VALUE`` overrides drawn by ``trial`` from ``space``."""
    overrides = []
    for name, (kind, values) in space.items():
        if kind == "log":
            value = trial.suggest_float(name, *values, log=True)
        elif kind == "float":
            value = trial.suggest_float(name, *values)
        else:
            value = trial.suggest_categorical(name, list(values))
        overrides.append(f"{name}={value}")
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="weibo", help="corpus to tune on (default: %(default)s)")
    parser.add_argument("--trials", type=int, default=10, help="number of trials (default: %(default)s)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="start no new trial after this long (the running one finishes)")
    parser.add_argument("--seed", type=int, default=1, help="sampler and training seed (default: %(default)s)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="fixed settings for every trial, e.g. max_epochs=20")
    parser.add_argument("--study", metavar="FILE", help="keep the study in this SQLite file (resumable)")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    try:
        import optuna
    except ImportError:
        raise SystemExit("this benchmark needs optuna: pip install -e '.[bench]'") from None
    train, dev = (load_split(args.corpus, split, args.data_dir) for split in ("train", "dev"))
    study = optuna.create_study(
        direction="maximize", study_name=f"brandner-{args.corpus}", load_if_exists=True,
        storage=f"sqlite:///{args.study}" if args.study else None,
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=5))

    if not study.trials:  # trial 0: the current defaults, to beat
        defaults = load_config(None, args.overrides)
        study.enqueue_trial({name: getattr(defaults.model, name, getattr(defaults.train, name, None))
                             for name in SPACE})

    def objective(trial) -> float:
        overrides = args.overrides + suggest(trial) + [f"seed={args.seed}"]
        config = load_config(None, overrides)
        started = time.perf_counter()

        def report(event) -> None:
            if isinstance(event, EpochEvent):
                trial.report(event.dev.micro.f1, event.epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()

        with tempfile.TemporaryDirectory() as workdir:
            summary = fit(train, dev, config, Path(workdir) / "trial.pt", on_event=report)
        trial.set_user_attr("seconds", time.perf_counter() - started)
        trial.set_user_attr("epochs", summary["epochs_run"])
        return summary["dev"]["f1"]

    study.optimize(objective, n_trials=args.trials, timeout=args.timeout)
    publish(f"hyper-parameter search (optuna) on {args.corpus} dev F1", report_table(study),
            write=not args.no_write)


def report_table(study) -> str:
    """Every trial's settings and dev F1, best first, and the best settings; a pruned
    trial shows its last dev F1 in brackets and the epoch it was stopped at."""
    names = list(SPACE)
    lines = ["| trial | " + " | ".join(names) + " | dev F1 | state | epochs | s |",
             "|---|" + "---|" * (len(names) + 4)]
    trials = sorted(study.trials, key=lambda t: -(t.value if t.value is not None else -1))
    for t in trials:
        values = [_format(t.params.get(n)) for n in names]
        f1 = f"{t.value * 100:.2f}" if t.value is not None else "—"
        epochs = t.user_attrs.get("epochs", "—")
        if t.state.name == "PRUNED" and t.intermediate_values:  # its last dev F1, in brackets
            epochs = max(t.intermediate_values)
            f1 = f"({t.intermediate_values[epochs] * 100:.2f})"
        seconds = f"{t.user_attrs['seconds']:.0f}" if "seconds" in t.user_attrs else "—"
        lines.append(f"| {t.number} | " + " | ".join(values) + f" | {f1} | {t.state.name.lower()} | "
                     f"{epochs} | {seconds} |")
    completed = [t for t in study.trials if t.value is not None]
    if completed:
        best = study.best_trial
        lines += ["", f"Best (trial {best.number}, dev F1 {best.value * 100:.2f}): "
                  + ", ".join(f"{k}={_format(v)}" for k, v in best.params.items())]
    return "\n".join(lines)


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


if __name__ == "__main__":
    main()
