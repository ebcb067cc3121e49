"""Accuracy of the default configuration on the shared corpora, model chosen on dev.

    python benchmarks/accuracy.py                      # ecommerce, weibo x3 seeds, resume
    python benchmarks/accuracy.py --corpus weibo --seeds 1 2 3 --set max_epochs=30

For each run: dev and test micro F1 (and per-type F1, e.g. HP = brand on ecommerce),
the epochs run and the best epoch, and wall time. Writes a table to
docs/benchmarks.md with the date, the command and the machine.

Ablation: ``--variant NAME`` trains with one of the feature sets in VARIANTS (on top of
``--set``) and ``--log FILE`` appends every run as a JSON line, so runs can be spread
over processes; ``--ablation FILE`` then prints (and writes) the table of dev scores by
corpus and variant from such a log, with test scores only for ``--chosen`` variants:

    python benchmarks/accuracy.py --corpus weibo --variant chars --log runs.jsonl
    python benchmarks/accuracy.py --corpus weibo --variant bigrams+lexicon --log runs.jsonl
    python benchmarks/accuracy.py --ablation runs.jsonl --chosen bigrams+lexicon

Ensembles: ``--ensemble`` also scores the ensemble of each corpus's seeds (Tagger.ensemble,
the mean of the models' scores) as one more row; ``--models DIR`` keeps the models, and
``--ensemble-of FILE…`` scores the ensemble of models trained before, training nothing:

    python benchmarks/accuracy.py --corpus resume --seeds 1 2 3 --ensemble --models models
    python benchmarks/accuracy.py --corpus resume --ensemble-of models/resume-1.pt models/resume-2.pt

Transfer: ``--init BASE`` fine-tunes from a base model (``brandner train --corpus msra --corpus
cluener -o BASE``), and ``--train-size N`` trains on a fixed N-sentence subset;
benchmarks/transfer.py makes the table and learning curve of such a log.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, publish  # noqa: E402
from brandner.config import PRESETS, VECTOR_TEXTS, load_config  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.tagging.tagger import Tagger  # noqa: E402
from brandner.training.job import fit  # noqa: E402
from brandner.training.presets import WITH_VECTORS, with_trained_vectors  # noqa: E402

DEFAULT_PLAN = {"ecommerce": [1], "weibo": [1, 2, 3], "resume": [1]}
# The ecommerce corpus's own brand (HP) and product (HC) lists.
GAZETTEERS = ",".join([f"HP={{data}}/ecommerce/gazetteers/brand{i}.dic" for i in range(1, 5)]
                      + [f"HC={{data}}/ecommerce/gazetteers/product{i}.dic" for i in range(1, 4)])
# Feature sets for the ablation, as overrides of the defaults (which have bigrams on).
# {vectors} is --vectors (a `brandner embed` folder), {data} the corpora root.
VARIANTS = {
    "chars": ["bigram_dim=0"],
    "bigrams": [],
    "lexicon": ["bigram_dim=0", "lexicon=jieba"],
    "bigrams+lexicon": ["lexicon=jieba"],
    "vectors": ["bigram_dim=0", "embeddings={vectors}"],
    "bigrams+vectors": ["embeddings={vectors}"],
    "bigrams+lexicon+vectors": ["lexicon=jieba", "embeddings={vectors}"],
    "bigrams+gazetteers": [f"gazetteers={GAZETTEERS}"],
    "bigrams+lexicon+vectors+gazetteers": ["lexicon=jieba", "embeddings={vectors}", f"gazetteers={GAZETTEERS}"],
}


def variant_overrides(name: str, vectors: str | None, data_dir: str) -> list[str]:
    """The ``--set`` overrides of a variant; a variant with vectors needs ``vectors``."""
    overrides = VARIANTS[name]
    if any("{vectors}" in o for o in overrides) and not vectors:
        raise SystemExit(f"variant {name!r} needs --vectors (a folder written by `brandner embed`)")
    return [o.format(vectors=vectors, data=data_dir) for o in overrides]


def model_file(workdir: Path, corpus: str, seed: int) -> Path:
    return workdir / f"{corpus}-{seed}.pt"


def subset(sentences: list, size: int | None) -> list:
    """The first ``size`` sentences of one fixed shuffle (seed 0, whatever the training's seed):
    each smaller subset lies inside each larger one, for a learning curve; all for None."""
    if size is None or size >= len(sentences):
        return list(sentences)
    order = list(range(len(sentences)))
    random.Random(0).shuffle(order)
    return [sentences[i] for i in sorted(order[:size])]


def run_one(corpus: str, seed: int, overrides: list[str], data_dir: str | None, workdir: Path,
            variant: str = "", init: Path | None = None, train_size: int | None = None,
            preset: str | None = None, vectors_from: str = "corpora") -> dict:
    """One training (from ``init``, a base model, when given; on ``train_size`` training sentences
    when given; with ``preset``'s settings and, for "accurate", its vectors, learnt from
    ``vectors_from``'s text): a row of dev and test scores."""
    config = load_config(None, overrides + [f"seed={seed}"], preset)
    train, dev, test = (load_split(corpus, split, data_dir) for split in ("train", "dev", "test"))
    train = subset(train, train_size)
    started = time.perf_counter()
    if preset in WITH_VECTORS:  # as `brandner train --preset` does, counted in the run's time
        config = with_trained_vectors(config, [s.text for s in train if s.text], model_file(workdir, corpus, seed),
                                      corpora=[corpus], source=vectors_from, data_dir=data_dir)
    summary = fit(train, dev, config, model_file(workdir, corpus, seed), test=test, init=init)
    variant = f"{variant or 'bigrams'}+pretrained" if init else variant
    if preset in WITH_VECTORS and vectors_from != "corpora":
        preset = f"{preset}, vectors from the {vectors_from} text"
    variant = f"preset {preset}" + (f" + {variant}" if variant else "") if preset else variant
    row = {"corpus": corpus, "variant": variant, "overrides": overrides, "seed": seed,
           "init": str(init) if init else None, "train_size": len(train),
           **_f1_fields(summary["dev"], summary["test"]),
           "epochs": summary["epochs_run"], "best_epoch": summary["best_epoch"],
           "seconds": time.perf_counter() - started,
           "train_sentences_per_second": summary["train_sentences_per_second"]}
    print(json.dumps(row), flush=True)
    return row


def _f1_fields(dev: dict, test: dict) -> dict:
    """A row's F1 fields from the dev and test ``Report.to_dict()``s."""
    return {"dev_f1": dev["f1"], "test_f1": test["f1"],
            "test_per_type": {t: s["f1"] for t, s in test["per_type"].items()},
            "dev_per_type": {t: s["f1"] for t, s in dev["per_type"].items()}}


def ensemble_row(corpus: str, models: list[Path], data_dir: str | None, variant: str = "",
                 seeds: list[int] | None = None) -> dict:
    """Dev and test F1 of the ensemble of ``models`` (:meth:`Tagger.ensemble`: the mean of their
    scores), in :func:`run_one`'s row shape; ``seeds`` name the members (default: the files)."""
    dev, test = (load_split(corpus, split, data_dir) for split in ("dev", "test"))
    started = time.perf_counter()
    tagger = Tagger.load(models)
    row = {"corpus": corpus, "variant": variant, "ensemble": [str(m) for m in models],
           "seed": "+".join(map(str, seeds)) if seeds else " + ".join(Path(m).name for m in models),
           **_f1_fields(tagger.evaluate(dev).to_dict(), tagger.evaluate(test).to_dict()),
           "epochs": "-", "best_epoch": "-", "seconds": time.perf_counter() - started}
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
        if "ensemble" not in r:
            by_corpus.setdefault(r["corpus"], []).append(r)
    lines.append("")
    for corpus, runs in by_corpus.items():
        lines.append(f"- {corpus}: test F1 {_mean_std([r['test_f1'] for r in runs])}, "
                     f"dev F1 {_mean_std([r['dev_f1'] for r in runs])} over {len(runs)} seed(s)"
                     + (f"; HP (brand) test F1 {_mean_std([r['test_per_type'].get('HP', 0) for r in runs])}"
                        if corpus == "ecommerce" else ""))
    for r in rows:
        if "ensemble" in r:
            lines.append(f"- {r['corpus']}: the ensemble of seeds {r['seed']} (the mean of their scores; wall s = "
                         f"scoring dev and test): test F1 {r['test_f1'] * 100:.2f}, dev F1 {r['dev_f1'] * 100:.2f}"
                         + (f"; HP (brand) test F1 {r['test_per_type'].get('HP', 0) * 100:.2f}"
                            if r["corpus"] == "ecommerce" else ""))
    return "\n".join(lines)


def ablation_table(rows: list[dict], chosen: set[str]) -> str:
    """Dev F1 by corpus and variant (mean ± std over seeds); test F1 only for ``chosen``
    variants (``VARIANT`` for every corpus, ``CORPUS=VARIANT`` for one)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        if "ensemble" not in r:  # a row of its own, not one more seed
            groups.setdefault((r["corpus"], r.get("variant") or "bigrams"), []).append(r)
    order = {name: i for i, name in enumerate(VARIANTS)}
    lines = ["| corpus | variant | seeds | dev F1 | dev HP (brand) | test F1 | test HP | wall s / run |",
             "|---|---|---|---|---|---|---|---|"]
    for (corpus, variant), runs in sorted(groups.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99))):
        shown = variant in chosen or f"{corpus}={variant}" in chosen
        lines.append(f"| {corpus} | {variant} | {len(runs)} | {_mean_std([r['dev_f1'] for r in runs])} | "
                     f"{_brand(runs, 'dev')} | {_mean_std([r['test_f1'] for r in runs]) if shown else ''} | "
                     f"{_brand(runs, 'test') if shown else ''} | "
                     f"{statistics.mean(r['seconds'] for r in runs):.0f} |")
    return "\n".join(lines)


def _brand(runs: list[dict], split: str) -> str:
    """Mean ± std HP (brand) F1 of ecommerce runs; empty for other corpora."""
    if runs[0]["corpus"] != "ecommerce":
        return ""
    return _mean_std([r[f"{split}_per_type"].get("HP", 0) for r in runs])


def _append_log(path: str | None, row: dict) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(row) + "\n")


def read_log(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _mean_std(values: list[float]) -> str:
    mean = statistics.mean(values) * 100
    return f"{mean:.2f} ± {statistics.stdev(values) * 100:.2f}" if len(values) > 1 else f"{mean:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", help="corpus to run (repeatable; default: the standard plan)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds for each --corpus (default 1)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--variant", choices=list(VARIANTS), help="feature set to train with (see VARIANTS)")
    parser.add_argument("--vectors", help="folder written by `brandner embed`, for the variants with vectors")
    parser.add_argument("--log", help="append each run as a JSON line to this file")
    parser.add_argument("--models", type=Path, metavar="DIR",
                        help="keep each run's model as DIR/CORPUS-SEED.pt (default: a temporary folder)")
    parser.add_argument("--ensemble", action="store_true",
                        help="also score the ensemble of each corpus's seeds (needs two seeds or more)")
    parser.add_argument("--ensemble-of", nargs="+", type=Path, metavar="MODEL",
                        help="train nothing: score the ensemble of these model files on --corpus (one)")
    parser.add_argument("--init", type=Path, metavar="MODEL",
                        help="fine-tune from this base model (a joint training's; brandner train --init)")
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        help="train with this preset, as `brandner train --preset`")
    parser.add_argument("--vectors-from", choices=VECTOR_TEXTS, default="corpora",
                        help="what --preset accurate's vectors learn from, as `brandner train --vectors-from`")
    parser.add_argument("--train-size", type=int, metavar="N",
                        help="train on N training sentences (a fixed subset, nested across sizes)")
    parser.add_argument("--ablation", metavar="LOG", help="print the ablation table of a --log file and exit")
    parser.add_argument("--chosen", action="append", default=[], metavar="[CORPUS=]VARIANT",
                        help="with --ablation: show test scores for this variant, on every corpus or on one "
                             "(repeatable)")
    args = parser.parse_args()
    if args.ablation:
        publish("ablation of the input features, over a log of --variant runs",
                ablation_table(read_log(args.ablation), set(args.chosen)), write=not args.no_write)
        return
    if args.ensemble_of:
        if not args.corpus or len(args.corpus) != 1:
            raise SystemExit("--ensemble-of scores one --corpus")
        row = ensemble_row(args.corpus[0], args.ensemble_of, args.data_dir, args.variant or "")
        _append_log(args.log, row)
        publish(section_title(args.corpus, args.variant, "ensemble"), table([row]), write=not args.no_write)
        return
    if args.ensemble and len(args.seeds or [1]) < 2:
        raise SystemExit("--ensemble needs two seeds or more")
    overrides = (variant_overrides(args.variant, args.vectors, args.data_dir) if args.variant else []) + args.overrides
    plan = {c: args.seeds or [1] for c in args.corpus} if args.corpus else DEFAULT_PLAN
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.models or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        for corpus, seeds in plan.items():
            for seed in seeds:
                rows.append(run_one(corpus, seed, overrides, args.data_dir, workdir, args.variant or "", args.init,
                                    args.train_size, args.preset, args.vectors_from))
                _append_log(args.log, rows[-1])
            if args.ensemble:
                rows.append(ensemble_row(corpus, [model_file(workdir, corpus, seed) for seed in seeds], args.data_dir,
                                         args.variant or "", seeds))
                _append_log(args.log, rows[-1])
    publish(section_title(list(plan), args.variant), table(rows), write=not args.no_write)


def section_title(corpora: list[str], variant: str | None, kind: str = "") -> str:
    """The heading of a run's section of docs/benchmarks.md: one per corpus set and variant, so that
    a run replaces the figures of the same measurement and no other."""
    what = f"{kind} " if kind else ""
    return (f"{what}dev and test F1 on {', '.join(corpora)}{f' ({variant})' if variant else ''}, "
            "model chosen on dev F1")


if __name__ == "__main__":
    main()
