"""``brandner train``: train a model on a named corpus or on files; launched by ``torchrun``, on
every rank it starts (rank 0 writes the files)."""

from __future__ import annotations

import argparse
import json
import logging
from typing import TYPE_CHECKING

from tqdm import tqdm

from brandner.cli.common import add_data_dir, add_device, add_overlaps, corpus_split, read_sentences
from brandner.config import PRESETS, VECTOR_TEXTS, load_config
from brandner.errors import BrandnerError
from brandner.processes import sigterm_exits

if TYPE_CHECKING:
    from brandner.training.job import Event

# PyTorch loads inside run(), not when the CLI starts (see cli/main.py)

log = logging.getLogger("brandner")
CORPUS_TEST = "<corpus test split>"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a model", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", metavar="NAME", action="append",
                        help="a named corpus (see 'brandner corpus list'); several: a joint training, a base "
                             "model for --init (docs/training.md)")
    source.add_argument("--train", metavar="FILE", action="append",
                        help="training file (columns, JSON lines, CLUENER, a Label Studio export or doccano JSONL); "
                             "several, each with its --dev: a joint training")
    parser.add_argument("--dev", metavar="FILE", action="append",
                        help="dev file for model selection (with --train, one each)")
    parser.add_argument("--test", metavar="FILE", nargs="?", const=CORPUS_TEST,
                        help="also score a test file (alone, with --corpus: the corpus's test split)")
    parser.add_argument("--config", metavar="FILE", help="TOML file with [model] and [train] settings")
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        help="a named recipe under --config and --set: 'accurate' first trains vectors on the "
                             "training text and the named corpora's on disk (see --vectors-from; unless --embeddings; "
                             "needs brandner[embed]; about 3 minutes on 2 cores) and reads the jieba lexicon, with "
                             "radicals and weight averaging: the most accurate recipe measured for one model "
                             "(Weibo: 5-7 minutes a run against under one for the defaults; docs/configuration.md)")
    parser.add_argument("--vectors-from", choices=VECTOR_TEXTS,
                        help="what --preset accurate's vectors learn from: the training text and the training text "
                             "of the named corpora on disk, less every test split (corpora, the default: about "
                             "3 minutes more), or the training text alone (training)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                        help="override a setting, e.g. --set hidden_size=200 (repeatable)")
    parser.add_argument("--seed", type=int, help="random seed (train.seed)")
    parser.add_argument("--epochs", type=int, metavar="MAX", help="maximum epochs (train.max_epochs)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="train in N processes, a batch each (train.workers; default: as many as the CPUs "
                             "allow, from the CPU quota); the model depends on N, not on timing: set N for runs "
                             "that must match across machines")
    add_device(parser, None, "where to train: cpu, cuda or cuda:N (one GPU, one process), or auto: a GPU where "
                             "torch sees one, else the CPU (train.device; default auto)")
    parser.add_argument("--gazetteer", metavar="TYPE=FILE", action="append", default=[],
                        help="a typed gazetteer as input features, e.g. --gazetteer brand=brands.txt "
                             "(repeatable; model.gazetteers)")
    parser.add_argument("--embeddings", metavar="PATH",
                        help="pretrained vectors: a folder from 'brandner embed' (character, bigram and lexicon word "
                             "vectors) or one word2vec text file of character vectors (train.embeddings)")
    parser.add_argument("--init", metavar="MODEL",
                        help="continue training from this model file: its weights, vocabularies, tags and model "
                             "settings, grown for new characters and entity types (docs/training.md)")
    parser.add_argument("--resume", action="store_true", help="continue from MODEL.resume after an interruption")
    parser.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard scalars (loss, dev P/R/F1) here")
    parser.add_argument("-o", "--output", metavar="MODEL", required=True, help="model file to write")
    add_overlaps(parser)
    add_data_dir(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from brandner.training.distributed import launched, process_group
    from brandner.training.job import fit
    from brandner.training.presets import WITH_VECTORS, with_trained_vectors

    overrides = list(args.overrides)
    for key, value in (("seed", args.seed), ("max_epochs", args.epochs), ("workers", args.workers),
                       ("device", args.device and json.dumps(args.device))):
        if value is not None:
            overrides.append(f"train.{key}={value}")
    # As TOML values: json.dumps writes a string or a list of strings TOML reads, unless ensure_ascii
    # escapes emoji as surrogate pairs, which TOML refuses.
    if args.gazetteer:
        for item in args.gazetteer:  # a comma in a type would read as two items in the string form of the setting
            if "," in item.partition("=")[0]:
                raise BrandnerError(f"--gazetteer {item}: a gazetteer type cannot contain a comma")
        overrides.append(f"model.gazetteers={json.dumps(args.gazetteer, ensure_ascii=False)}")
    if args.embeddings:
        overrides.append(f"train.embeddings={json.dumps(args.embeddings, ensure_ascii=False)}")
    if args.vectors_from and args.preset not in WITH_VECTORS:
        raise BrandnerError("--vectors-from goes with --preset accurate (give your own vectors with --embeddings)")
    if args.preset and args.init:
        raise BrandnerError("--preset and --init: a continued training keeps the model's settings; give the "
                            "training settings you want with --set")
    config = load_config(args.config, overrides, args.preset)
    launch = launched()  # one of several processes started by torchrun, or None
    train, dev, test = _data(args)
    if args.preset in WITH_VECTORS and not config.train.embeddings:
        if launch is not None:
            raise BrandnerError(f"--preset {args.preset} under torchrun needs --embeddings (a folder from "
                                "'brandner embed'): the ranks must not each train vectors")
        texts = [s.text for part in (train.values() if isinstance(train, dict) else [train]) for s in part if s.text]
        config = with_trained_vectors(config, texts, args.output, reuse=args.resume, corpora=args.corpus or [],
                                      source=args.vectors_from or "corpora", data_dir=args.data_dir)
    # SIGTERM unwinds like Ctrl-C: the workers stopped, unfinished files removed
    with sigterm_exits(), process_group(launch) as ranks:
        if ranks is not None and not ranks.is_main:  # rank 0 speaks for the job; the others only of errors
            log.setLevel(logging.WARNING)
        summary = fit(train, dev, config, args.output, test=test, resume=args.resume, init=args.init,
                      on_event=_Progress() if ranks is None or ranks.is_main else None,
                      tensorboard=args.tensorboard, ranks=ranks)
    if summary is not None:
        _print_summary(summary)
    return 0


def _data(args: argparse.Namespace):
    """Training, dev and test sentences; for a joint training, training and dev by corpus."""
    if args.corpus:
        if args.dev:
            raise BrandnerError("--dev goes with --train, not --corpus")
        if len(args.corpus) > 1:
            return _joint(args, {name: (corpus_split(name, "train", args.data_dir),
                                        corpus_split(name, "dev", args.data_dir)) for name in args.corpus})
        name = args.corpus[0]
        train = corpus_split(name, "train", args.data_dir)
        dev = corpus_split(name, "dev", args.data_dir)
        test = corpus_split(name, "test", args.data_dir) if args.test == CORPUS_TEST else None
    else:
        if not args.dev or len(args.dev) != len(args.train):
            raise BrandnerError("each --train needs its --dev (model selection is on dev F1)")
        if len(args.train) > 1:
            return _joint(args, {name: (read_sentences(path, args.overlaps), read_sentences(dev, args.overlaps))
                                 for name, path, dev in zip(_corpus_names(args.train), args.train, args.dev)})
        train, dev = read_sentences(args.train[0], args.overlaps), read_sentences(args.dev[0], args.overlaps)
        test = None
    if args.test not in (None, CORPUS_TEST):
        test = read_sentences(args.test, args.overlaps)
    elif args.test == CORPUS_TEST and not args.corpus:
        raise BrandnerError("--test without a file needs --corpus")
    return train, dev, test


def _joint(args: argparse.Namespace, corpora: dict[str, tuple[list, list]]):
    """A joint training's sentences by corpus, less every training sentence whose text is that of
    a held-out split (brandner.data.corpora.held_out_texts)."""
    from brandner.data.corpora import held_out_texts
    from brandner.data.joint import without_texts

    given = args.corpus or args.train
    if len(corpora) < len(given):
        raise BrandnerError(f"a corpus is given twice: {' '.join(given)}")
    if args.test is not None:
        raise BrandnerError("--test goes with one corpus: a joint training scores each corpus's dev split")
    held_out, splits = held_out_texts(list(corpora), args.data_dir)
    train = {}
    for name, (sentences, _) in corpora.items():
        train[name], dropped = without_texts(sentences, held_out)
        if dropped:
            log.info("%s: left out %d training sentences that are in a held-out split", name, dropped)
    log.info("held out of the training: %s", ", ".join(splits) or "no split found on disk")
    return train, {name: dev for name, (_, dev) in corpora.items()}, None


def _corpus_names(paths: list[str]) -> list[str]:
    """The names of a joint training's corpora read from files: each file's name without the
    extension (``:`` replaced); where two files share one, both get their position (``train1``)."""
    from collections import Counter
    from pathlib import Path

    stems = [Path(path).stem.replace(":", "_") or "corpus" for path in paths]
    shared = Counter(stems)
    return [f"{stem}{i + 1}" if shared[stem] > 1 else stem for i, stem in enumerate(stems)]


class _Progress:
    """A progress bar per epoch (on a terminal) and one log line per epoch."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def __call__(self, event: Event) -> None:
        from brandner.training.loop import EpochEvent, StepEvent

        if isinstance(event, StepEvent):
            if self.bar is None:
                self.bar = tqdm(total=event.steps, desc=f"epoch {event.epoch}", unit="batch",
                                leave=False, disable=None)
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{event.loss:.3f}", refresh=False)
        elif isinstance(event, EpochEvent):
            if self.bar is not None:
                self.bar.close()
                self.bar = None
            m = event.dev.micro
            log.info("epoch %d: loss %.3f, dev P %.2f R %.2f F1 %.2f%s (%.1fs)", event.epoch, event.loss,
                     100 * m.precision, 100 * m.recall, 100 * m.f1, "  best" if event.improved else "",
                     event.seconds)


def _print_summary(summary: dict) -> None:
    print(f"model: {summary['model']} (best epoch {summary['best_epoch']} of {summary['epochs_run']}, "
          f"{summary['train_seconds']:.0f}s, {summary['train_sentences_per_second']:.0f} sentences/s)")
    for split in ("dev", "test"):
        if split in summary:
            print(f"{split}: " + ", ".join(f"{t} F1 {s['f1'] * 100:.2f}" for t, s in summary[split]["per_type"].items())
                  + f"; micro P {summary[split]['precision'] * 100:.2f} R {summary[split]['recall'] * 100:.2f}"
                  f" F1 {summary[split]['f1'] * 100:.2f}")
