"""``brandner tag``: tag texts given as arguments, in a file or on stdin; JSON lines out, or tasks
for Label Studio (the entities as predictions) or doccano."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import contextmanager
from itertools import chain, islice
from typing import IO, Iterable, Iterator

from tqdm import tqdm

from brandner.atomic import atomic_output
from brandner.cli.common import add_models, input_lines, models
from brandner.cli.engines import add_engine_options, run_engine
from brandner.cpus import available_cpus
from brandner.data.doccano import tagged_record
from brandner.data.formats import guess_format, read_lines
from brandner.data.labelstudio import model_version, predicted_task, write_json_array
from brandner.data.lexicon import parse_gazetteers
from brandner.errors import BrandnerError, InputFileError
from brandner.processes import sigterm_exits
from brandner.tagging.streaming import (
    ON_ERROR,
    BadLine,
    Item,
    read_documents,
    read_task_array,
    tag_documents,
    tag_documents_parallel,
    write_lines,
)
from brandner.tagging.tagger import Tagger

log = logging.getLogger("brandner")
TAG_FORMATS = ("jsonl", "labelstudio", "doccano")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tag", help="tag raw text", description=__doc__)
    add_models(parser)
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to tag")
    parser.add_argument("-i", "--input", metavar="FILE",
                        help="one document per line, plain text or JSON lines with 'string'/'text' (or Label "
                             "Studio tasks, 'data' holding the text), or a Label Studio export, a JSON array of "
                             "tasks ('-': stdin)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the output here (default: stdout)")
    parser.add_argument("--to", dest="to_format", choices=TAG_FORMATS, default="jsonl",
                        help="jsonl (default): a JSON line per text; labelstudio: a JSON array of Label Studio "
                             "tasks, the entities as predictions (pre-annotations) whose model_version is the "
                             "model file's name without its suffix and whose score, with --scores, is the lowest "
                             "entity score; doccano: doccano's JSONL ('text', 'label'), without scores. A line "
                             "skipped with --on-error skip is left out of these two")
    parser.add_argument("--batch-size", type=int, default=256, help="sentences per model batch")
    parser.add_argument("--workers", type=int,
                        help="processes tagging in parallel (one thread each); output stays in input order "
                             f"(default: as many as the CPUs allow once the input passes {PARALLEL_FROM:,} lines, "
                             "else 1)")
    parser.add_argument("--gazetteer", metavar="TYPE=FILE", action="append", default=[],
                        help="replace the model's gazetteer of this type by this word list (repeatable; "
                             "a type given twice reads both files)")
    parser.add_argument("--canonical", metavar="FILE", action="append",
                        help="a brand list whose lines are 'alias<TAB>canonical name' or a bare name: an entity "
                             "it names gets \"canonical\": NAME, compared after normalising width, case, "
                             "traditional/simplified characters and spaces (repeatable)")
    parser.add_argument("--int8", action="store_true",
                        help="quantise the LSTM and projection to int8 for speed (F1 within a few tenths)")
    parser.add_argument("--scores", action="store_true",
                        help="give each entity a \"score\": the model's probability of exactly that span and type")
    parser.add_argument("--min-score", type=float, metavar="P",
                        help="leave out entities scoring below P (0 to 1); implies --scores")
    parser.add_argument("--on-error", choices=ON_ERROR, default="fail",
                        help="at a line of -i FILE that cannot be read: 'fail' stops there with its error "
                             "(exit 1) after writing every line before it; 'skip' writes "
                             "{\"error\": \"FILE:LINE: what\", \"line\": LINE} in its place, goes on, and counts "
                             "the skipped lines at the end (exit 0) (default: %(default)s)")
    add_engine_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.texts) == bool(args.input):
        raise BrandnerError("give texts to tag or -i FILE, not both and not neither")
    if (args.workers is not None and args.workers < 1) or args.batch_size < 1:
        raise BrandnerError("--workers and --batch-size must be at least 1")
    if args.min_score is not None and not 0 <= args.min_score <= 1:
        raise BrandnerError(f"--min-score must be between 0 and 1, got {args.min_score}")
    if args.engine != "local":
        return run_engine(args)
    gazetteers = parse_gazetteers(args.gazetteer) or None
    # fails early on a bad model file or word list
    model = models(args)
    tagger = Tagger.load(model, batch_size=args.batch_size, int8=args.int8, gazetteers=gazetteers,
                         backend=args.backend, canonical=args.canonical, device=args.device)
    skipped = _Skipped()
    # an export of Label Studio is one JSON array: read whole, so broken JSON fails before any output
    tasks = read_task_array(read_lines(args.input), args.input) if _is_json_array(args.input) else None
    # SIGTERM unwinds like an error: the workers stopped, the unfinished output removed
    with sigterm_exits(), input_lines(args.input) as (lines, name), _output(args.output) as out:
        documents = (skipped.noted(tasks if tasks is not None else read_documents(lines, name)) if args.input
                     else ((t, {}) for t in args.texts))
        version = model_version(args.model)
        written = _Counted(_as_format(_tagged(args, model, tagger, gazetteers, documents), args.to_format, version))
        try:  # Label Studio imports one JSON array of tasks; the rest are lines
            (write_json_array if args.to_format == "labelstudio" else write_lines)(written, out)
        except InputFileError as error:  # --on-error fail: the lines before it are written, and kept
            failure: InputFileError | None = error
        else:
            failure = None
    if failure is not None:
        unit = "tasks" if args.to_format == "labelstudio" else "lines"
        kept = f"; {args.output} holds the {written.count} {unit} before it" if args.output else ""
        raise BrandnerError(f"{failure}{kept}")
    if skipped.count:
        place = "an error record in the place of each" if args.to_format == "jsonl" else "left out of the output"
        log.warning("%s: %d lines skipped, %s; the first: %s", name, skipped.count, place, skipped.first)
    return 0


def _is_json_array(path: str | None) -> bool:
    """Whether the file at ``path`` is a Label Studio export, a JSON array (by its first line that
    is not blank); stdin is read a line at a time, never as an array."""
    if path in (None, "-"):
        return False
    with open(path, "rb") as handle:
        for raw in handle:
            line = raw.decode("utf-8", "replace").removeprefix("\ufeff").strip()
            if line:
                return line.startswith("[") and guess_format([line]) == "labelstudio"
    return False


class _Counted:
    """Items passing by, counted."""

    def __init__(self, items: Iterable[str]) -> None:
        self.items = items
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        for item in self.items:
            self.count += 1
            yield item


def _as_format(lines: Iterable[str], to_format: str, model_version: str) -> Iterable[str]:
    """Tag's output lines as the JSON texts of ``to_format``: as they are for jsonl; else each
    tagged text as a Label Studio task or a doccano record, and no error record (``--on-error
    skip``'s), which has no place among them."""
    if to_format == "jsonl":
        return lines
    tagged = (record for record in map(json.loads, lines) if "string" in record)
    if to_format == "doccano":
        return (json.dumps(tagged_record(r), ensure_ascii=False) for r in tagged)
    return (json.dumps(predicted_task(r, model_version), ensure_ascii=False) for r in tagged)


def _tagged(args: argparse.Namespace, model: str | list[str], tagger: Tagger, gazetteers: dict[str, list[str]] | None,
            documents: Iterable[Item]) -> Iterable[str]:
    """The output lines: in worker processes or in this one, with a progress bar for a file."""
    scores = args.scores or args.min_score is not None
    workers = args.workers
    if workers is None and args.device != "cpu":
        from brandner.model.device import resolve_device

        if resolve_device(args.device).type != "cpu":
            workers = 1  # the model is on a GPU: one process feeds it
    if workers is None:  # starting workers pays off for a large input only: read ahead to see
        head = list(islice(documents, PARALLEL_FROM))
        workers = available_cpus() if len(head) == PARALLEL_FROM else 1
        documents = chain(head, documents)
        if workers > 1:
            log.info("tagging in %d processes, as many as the CPUs allow (--workers 1: in this one)", workers)
    if workers > 1:
        lines = tag_documents_parallel(model, documents, workers, batch_size=args.batch_size, int8=args.int8,
                                       scores=scores, min_score=args.min_score, gazetteers=gazetteers,
                                       on_error=args.on_error, backend=args.backend, canonical=args.canonical,
                                       device=args.device)
    else:
        lines = tag_documents(tagger, documents, scores=scores, min_score=args.min_score, on_error=args.on_error)
    return tqdm(lines, unit=" lines", desc="tagging", disable=None, file=sys.stderr) if args.input else lines


# Lines of input from which `tag` starts workers by default: below it, starting them (about a
# second) costs more than they save.
PARALLEL_FROM = 10_000


class _Skipped:
    """Counts the bad lines passing by, and keeps the first one's error."""

    def __init__(self) -> None:
        self.count = 0
        self.first: InputFileError | None = None

    def noted(self, items: Iterable[Item]) -> Iterator[Item]:
        for item in items:
            if isinstance(item, BadLine):
                self.count += 1
                self.first = self.first or item.error
            yield item


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """stdout, or a temp file renamed to ``path`` only once everything is written."""
    if path is None:
        yield sys.stdout
        return
    with atomic_output(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        yield out
