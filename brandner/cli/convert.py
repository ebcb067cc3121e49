"""``brandner convert``: rewrite an annotated file in another format or tag scheme."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from brandner.cli.common import add_overlaps
from brandner.data.formats import FORMATS, format_for_path, read_file, write_file
from brandner.data.schemes import IOBES, SCHEMES, as_scheme


@dataclass(frozen=True)
class Converted:
    """What a conversion wrote."""

    sentences: int
    entities: int
    fmt: str
    scheme: str | None  # of a column file written
    repairs: int


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("convert", help="convert between annotation formats and tag schemes",
                                   description=__doc__)
    parser.add_argument("source", metavar="IN", help="annotated file")
    parser.add_argument("target", metavar="OUT", help="file to write (replaced atomically)")
    parser.add_argument("--from", dest="from_format", choices=FORMATS + ("auto",), default="auto",
                        help="format of IN (default: detected from its content; labelstudio: an export of "
                             "Label Studio, doccano: doccano's sequence-labelling JSONL)")
    parser.add_argument("--to", dest="to_format", choices=FORMATS,
                        help="format of OUT (default: jsonl for .json/.jsonl, else columns; labelstudio: "
                             "a JSON array of annotated tasks to import)")
    add_overlaps(parser)
    schemes = [name.lower() for name in SCHEMES] + ["bioes"]
    parser.add_argument("--from-scheme", type=str.lower, choices=schemes,
                        help="tag scheme of a column IN (default: detected)")
    parser.add_argument("--to-scheme", type=str.lower, choices=schemes,
                        help="tag scheme of a column OUT (default: iobes)")
    parser.set_defaults(func=run)


def convert(source: str | Path, target: str | Path, from_format: str = "auto", to_format: str | None = None,
            from_scheme: str | None = None, to_scheme: str | None = None, overlaps: str = "error") -> Converted:
    """Read ``source`` and write its sentences to ``target`` in ``to_format``; ``overlaps`` as
    for :func:`read_file`."""
    result = read_file(source, from_format, scheme=from_scheme, overlaps=overlaps)
    fmt = to_format or format_for_path(target)
    scheme = as_scheme(to_scheme) or IOBES
    write_file(result.sentences, target, fmt, scheme=scheme)
    entities = sum(len(s.spans) for s in result.sentences)
    return Converted(len(result.sentences), entities, fmt, scheme.name if fmt == "columns" else None,
                     result.repairs)


def run(args: argparse.Namespace) -> int:
    done = convert(args.source, args.target, args.from_format, args.to_format, args.from_scheme, args.to_scheme,
                   args.overlaps)
    kind = f"{done.fmt}, {done.scheme}" if done.scheme else done.fmt
    print(f"{args.target}: {done.sentences} sentences, {done.entities} entities ({kind})")
    return 0
