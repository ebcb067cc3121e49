"""``brandner select``: choose the posts to annotate next and write them as pre-annotated tasks.

From a file of posts (one a line, plain text or JSON lines, as ``tag -i`` reads them), the
N the model is least sure of (or N at random), no two nearly the same, most uncertain first,
written with the model's entities as pre-annotations: Label Studio tasks (a JSON list to
import; each prediction's ``score`` is the post's confidence, so Label Studio can sort by
it) or doccano JSON lines.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Iterator, Sequence

from brandner.atomic import atomic_output
from brandner.cli.common import add_models, input_lines, models
from brandner.data.doccano import tagged_record
from brandner.data.labelstudio import model_version, predicted_task, write_json_array
from brandner.errors import BrandnerError
from brandner.tagging.selection import STRATEGIES, Chosen, select, uncertainties
from brandner.tagging.streaming import read_documents, write_lines
from brandner.tagging.tagger import Tagger

TARGETS = ("labelstudio", "doccano")
log = logging.getLogger("brandner")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("select", help="choose posts to annotate next", description=__doc__)
    add_models(parser)
    parser.add_argument("-i", "--input", required=True, metavar="FILE",
                        help="posts, one a line: plain text or JSON lines with 'string'/'text' ('-': stdin)")
    parser.add_argument("-n", "--count", type=int, required=True, metavar="N", help="how many posts to choose")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write the tasks")
    parser.add_argument("--strategy", choices=STRATEGIES, default="uncertainty",
                        help="uncertainty (default): the posts whose least sure character the model is least "
                             "sure of (CRF marginals); random: a seeded random choice")
    parser.add_argument("--to", choices=TARGETS, default="labelstudio",
                        help="labelstudio (default): a JSON list of tasks with predictions; doccano: JSON lines "
                             "with the entities as labels")
    parser.add_argument("--similarity", type=float, default=0.8, metavar="S",
                        help="posts whose character-bigram Jaccard similarity is at least S (0 to 1) are "
                             "near-duplicates, of which at most one is chosen (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random strategy (default: 0)")
    parser.add_argument("--batch-size", type=int, default=256, help="sentences per model batch")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.count < 1 or args.batch_size < 1:
        raise BrandnerError("--count and --batch-size must be at least 1")
    if not 0 < args.similarity <= 1:
        raise BrandnerError(f"--similarity must be above 0 and at most 1, got {args.similarity}")
    tagger = Tagger.load(models(args), batch_size=args.batch_size, backend=args.backend, device=args.device)
    with input_lines(args.input) as (lines, name):
        chosen = select(tagger, read_documents(lines, name), args.count, args.strategy, args.seed, args.similarity)
    records = _tagged(tagger, chosen)
    with atomic_output(args.output) as temporary, open(temporary, "w", encoding="utf-8") as out:
        if args.to == "labelstudio":
            tasks = labelstudio_tasks(records, confidences(tagger, chosen, args.strategy), model_version(args.model))
            write_json_array((json.dumps(task, ensure_ascii=False) for task in tasks), out)
        else:
            write_lines((json.dumps(tagged_record(record), ensure_ascii=False) for record in records), out)
    log.info("%s: %d posts chosen by %s from %s", args.output, len(chosen), args.strategy, name)
    return 0


def labelstudio_tasks(records: Sequence[dict], confidences: Sequence[float], version: str) -> Iterator[dict]:
    """Label Studio tasks of the chosen posts as ``tag`` writes them: ``data`` holds ``text`` and the
    post's other fields; one prediction with the entities and their scores, scored by the post's
    confidence (so that Label Studio's order by prediction score is this order) rather than, as
    ``tag`` scores it, by its lowest entity score."""
    for record, confidence in zip(records, confidences):
        task = predicted_task(record, version)
        task["predictions"][0]["score"] = confidence
        yield task


def confidences(tagger: Tagger, chosen: Sequence[Chosen], strategy: str) -> list[float]:
    """1 - each chosen post's uncertainty: the number ``uncertainty`` ranked it by, or (``random``
    ranked by a draw) its uncertainty under ``tagger``."""
    found = ([post.priority for post in chosen] if strategy == "uncertainty"
             else uncertainties(tagger, [post.text for post in chosen]))
    return [round(1.0 - uncertainty, 6) for uncertainty in found]


def _tagged(tagger: Tagger, chosen: Sequence[Chosen]) -> list[dict]:
    """Each chosen post as ``tag`` writes it: its entities with scores and its other fields."""
    results = tagger.predict([post.text for post in chosen], scores=True)
    return [{**post.fields, **result} for post, result in zip(chosen, results)]
