"""``brandner evaluate``: entity-level precision, recall and F1 of a model, per type; with
``--errors``, what it gets wrong, and with ``--errors-html``, a page of the sentences it gets wrong."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from brandner.atomic import atomic_output
from brandner.cli.common import add_data_dir, add_models, add_overlaps, corpus_split, models, read_sentences
from brandner.data.error_analysis import ErrorAnalysis, error_analysis
from brandner.data.metrics import Report, score
from brandner.data.sentence import Sentence, Span
from brandner.reports.error_page import LIMIT, error_page
from brandner.tagging.tagger import Tagger

log = logging.getLogger("brandner")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="score a model on annotated data", description=__doc__)
    add_models(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", metavar="NAME", help="a named corpus")
    source.add_argument("--file", metavar="FILE", help="an annotated file in any supported format")
    parser.add_argument("--split", default="test", help="split of --corpus (default: test)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--errors", action="store_true",
                        help="also print, per type, the entities missed, spurious, of the wrong type and of the "
                             "wrong boundary, the confusion between types, and the 10 words most often missed "
                             'and spurious (with --json: under "errors")')
    parser.add_argument("--errors-html", metavar="FILE",
                        help="write a self-contained page of the error report and of the sentences with errors "
                             f"(the first {LIMIT:,}), gold and prediction side by side")
    add_overlaps(parser)
    add_data_dir(parser)
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class Evaluation:
    """Annotated sentences, a model's spans for each, and the scores of those spans."""

    sentences: list[Sentence]
    predicted: list[list[Span]]
    report: Report


def tag_and_score(model: str | list[str], corpus: str | None = None, split: str = "test", file: str | None = None,
                  data_dir: str | None = None, backend: str = "auto", overlaps: str = "error",
                  device: str = "cpu") -> Evaluation:
    """The sentences of a corpus split or an annotated file (its overlapping entities as ``overlaps``
    says), tagged by the model in ``model`` (or by the ensemble of a list of files), and the scores
    of its entities."""
    sentences = corpus_split(corpus, split, data_dir) if corpus else read_sentences(file, overlaps)
    predicted = Tagger.load(model, backend=backend, device=device).predict_spans([s.text for s in sentences])
    return Evaluation(sentences, predicted, score([s.spans for s in sentences], predicted))


def evaluate_model(model: str | list[str], corpus: str | None = None, split: str = "test", file: str | None = None,
                   data_dir: str | None = None, backend: str = "auto") -> Report:
    """Scores of the model in ``model`` (or of the ensemble of a list of files) on a corpus
    split or an annotated file."""
    return tag_and_score(model, corpus, split, file, data_dir, backend).report


def write_error_page(path: str | Path, evaluation: Evaluation, analysis: ErrorAnalysis, title: str,
                     limit: int = LIMIT) -> None:
    """The page of :func:`brandner.reports.error_page.error_page` into ``path``, whole or not at all."""
    text = error_page(evaluation.sentences, evaluation.predicted, evaluation.report, analysis, limit, title)
    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    evaluation = tag_and_score(models(args), args.corpus, args.split, args.file, args.data_dir, args.backend,
                               args.overlaps, args.device)
    analysis = error_analysis(evaluation.sentences, evaluation.predicted) if args.errors or args.errors_html else None
    if args.errors_html:
        source = f"{args.corpus} {args.split}" if args.corpus else args.file
        write_error_page(args.errors_html, evaluation, analysis,
                         f"brandner evaluate: {', '.join(args.model)} on {source}")
        log.info("wrote %s: %d sentences with errors%s", args.errors_html, analysis.sentences_with_errors,
                 f", the first {LIMIT:,} shown" if analysis.sentences_with_errors > LIMIT else "")
    if args.json:
        result = evaluation.report.to_dict()
        if args.errors:
            result["errors"] = analysis.to_dict()
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(evaluation.report.table())
        if args.errors:
            print("\n" + analysis.table())
    return 0
