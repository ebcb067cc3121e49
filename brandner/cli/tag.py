"""``brandner tag``: tag texts given as arguments, in a file or on stdin; JSON lines out."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from typing import IO, Iterator

from tqdm import tqdm

from brandner.atomic import atomic_output
from brandner.cli.common import add_models, models
from brandner.data.lexicon import parse_gazetteers
from brandner.errors import BrandnerError
from brandner.processes import sigterm_exits
from brandner.tagging.streaming import read_documents, tag_documents, tag_documents_parallel, write_lines
from brandner.tagging.tagger import Tagger


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tag", help="tag raw text", description=__doc__)
    add_models(parser)
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to tag")
    parser.add_argument("-i", "--input", metavar="FILE",
                        help="one document per line, plain text or JSON lines with 'string'/'text' ('-': stdin)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write JSON lines here (default: stdout)")
    parser.add_argument("--batch-size", type=int, default=256, help="sentences per model batch")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes tagging in parallel (one torch thread each); output stays in input order")
    parser.add_argument("--gazetteer", metavar="TYPE=FILE", action="append", default=[],
                        help="replace the model's gazetteer of this type by this word list (repeatable; "
                             "a type given twice reads both files)")
    parser.add_argument("--int8", action="store_true",
                        help="quantise the LSTM and projection to int8 for speed (F1 within a few tenths)")
    parser.add_argument("--scores", action="store_true",
                        help="give each entity a \"score\": the model's probability of exactly that span and type")
    parser.add_argument("--min-score", type=float, metavar="P",
                        help="leave out entities scoring below P (0 to 1); implies --scores")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.texts) == bool(args.input):
        raise BrandnerError("give texts to tag or -i FILE, not both and not neither")
    if args.workers < 1 or args.batch_size < 1:
        raise BrandnerError("--workers and --batch-size must be at least 1")
    if args.min_score is not None and not 0 <= args.min_score <= 1:
        raise BrandnerError(f"--min-score must be between 0 and 1, got {args.min_score}")
    scores = args.scores or args.min_score is not None
    gazetteers = parse_gazetteers(args.gazetteer) or None
    # fails early on a bad model file or word list
    model = models(args)
    tagger = Tagger.load(model, batch_size=args.batch_size, int8=args.int8, gazetteers=gazetteers)
    # SIGTERM unwinds like an error: the workers stopped, the unfinished output removed
    with sigterm_exits(), _input(args.input) as (lines, name), _output(args.output) as out:
        documents = read_documents(lines, name) if args.input else ((t, {}) for t in args.texts)
        if args.workers > 1:
            lines_out = tag_documents_parallel(model, documents, args.workers, batch_size=args.batch_size,
                                             int8=args.int8, scores=scores, min_score=args.min_score,
                                             gazetteers=gazetteers)
        else:
            lines_out = tag_documents(tagger, documents, scores=scores, min_score=args.min_score)
        if args.input:
            lines_out = tqdm(lines_out, unit=" lines", desc="tagging", disable=None, file=sys.stderr)
        write_lines(lines_out, out)
    return 0


@contextmanager
def _input(path: str | None) -> Iterator[tuple[IO[bytes] | list, str]]:
    """The input's raw lines (bytes: ``read_documents`` decodes them line by line) and its name."""
    if path is None:
        yield [], "<args>"
    elif path == "-":
        yield sys.stdin.buffer, "<stdin>"
    else:
        with open(path, "rb") as handle:
            yield handle, path


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """stdout, or a temp file renamed to ``path`` only once everything is written."""
    if path is None:
        yield sys.stdout
        return
    with atomic_output(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        yield out
