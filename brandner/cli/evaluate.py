"""``brandner evaluate``: entity-level precision, recall and F1 of a model, per type."""

from __future__ import annotations

import argparse
import json

from brandner.cli.common import add_data_dir, add_models, corpus_split, models, read_sentences
from brandner.data.metrics import Report
from brandner.tagging.tagger import Tagger


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="score a model on annotated data", description=__doc__)
    add_models(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", metavar="NAME", help="a named corpus")
    source.add_argument("--file", metavar="FILE", help="an annotated file in any supported format")
    parser.add_argument("--split", default="test", help="split of --corpus (default: test)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    add_data_dir(parser)
    parser.set_defaults(func=run)


def evaluate_model(model: str | list[str], corpus: str | None = None, split: str = "test", file: str | None = None,
                   data_dir: str | None = None, backend: str = "auto") -> Report:
    """Scores of the model in ``model`` (or of the ensemble of a list of files) on a corpus
    split or an annotated file."""
    sentences = corpus_split(corpus, split, data_dir) if corpus else read_sentences(file)
    return Tagger.load(model, backend=backend).evaluate(sentences)


def run(args: argparse.Namespace) -> int:
    report = evaluate_model(models(args), args.corpus, args.split, args.file, args.data_dir, args.backend)
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.table())
    return 0
