"""``brandner tag --engine spark|ray``: tagging tables of posts on Spark or Ray (brandner.spark,
brandner.ray) instead of in this machine's processes. Parquet, JSON lines or text in; Parquet or
JSON lines out; files, folders or any URI the engine reads."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import time

from brandner.errors import BrandnerError
from brandner.tagging.rows import TABLE_FORMATS

log = logging.getLogger("brandner")
ENGINES = ("local", "spark", "ray")
_EXTRA = {"spark": "pyspark", "ray": "ray"}


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "engines", "tag -i INPUT into -o OUTPUT on Spark or Ray; the output is a folder of part files, in input order")
    group.add_argument("--engine", choices=ENGINES, default="local",
                       help="local (default): this machine's processes; spark: a Spark session (local[*] unless "
                            "--master or spark-submit says otherwise); ray: Ray Data (a local Ray, or the cluster "
                            "RAY_ADDRESS names)")
    group.add_argument("--master", metavar="URL", help="Spark's master, e.g. local[2], yarn, spark://HOST:7077")
    group.add_argument("--conf", metavar="KEY=VALUE", action="append", default=[],
                       help="a Spark setting (repeatable)")
    group.add_argument("--input-format", choices=TABLE_FORMATS,
                       help="default: told by -i's suffix (.parquet, .json/.jsonl, .txt)")
    group.add_argument("--output-format", choices=TABLE_FORMATS[:2], help="default: told by -o's suffix")
    group.add_argument("--text-field", metavar="NAME", help="the column to tag (default: 'text', else 'string')")


def run_engine(args: argparse.Namespace) -> int:
    """``tag`` with ``--engine spark`` or ``ray``: checks what those engines cannot do, then tags."""
    engine = args.engine
    if args.texts or not args.input or not args.output:
        raise BrandnerError(f"--engine {engine} tags a file, folder or URI: give -i INPUT and -o OUTPUT")
    if args.input == "-":
        raise BrandnerError(f"--engine {engine} reads files, not stdin")
    unsupported = [flag for flag, given in (("--int8", args.int8), ("--gazetteer", args.gazetteer),
                                            ("several -m (an ensemble)", len(args.model) > 1),
                                            ("--on-error skip", args.on_error != "fail"),
                                            (f"--device {args.device}", args.device != "cpu"),
                                            (f"--to {args.to_format}", args.to_format != "jsonl")) if given]
    if engine == "spark" and args.workers is not None:
        unsupported.append("--workers (Spark runs one Python worker per core: --master local[N])")
    if engine == "ray" and (args.master or args.conf):
        unsupported.append("--master/--conf (Spark's)")
    if unsupported:
        raise BrandnerError(f"--engine {engine} does not take {', '.join(unsupported)}")
    if importlib.util.find_spec(_EXTRA[engine]) is None:
        raise BrandnerError(f"--engine {engine} needs {_EXTRA[engine]}: pip install 'brandner[{engine}]'")
    options = dict(input_format=args.input_format, output_format=args.output_format, text_col=args.text_field,
                   scores=args.scores, min_score=args.min_score, batch_size=args.batch_size, backend=args.backend,
                   canonical=args.canonical)
    started = time.perf_counter()
    try:
        if engine == "spark":
            from brandner.spark import tag_files

            tag_files(args.model[0], args.input, args.output, master=args.master, conf=args.conf, **options)
        else:
            from brandner.ray import tag_files as ray_tag_files

            ray_tag_files(args.model[0], args.input, args.output, actors=args.workers, **options)
    except ValueError as error:  # a format or column that is not there
        raise BrandnerError(str(error)) from None
    log.info("tagged %s into %s on %s in %.1f s", args.input, args.output, engine, time.perf_counter() - started)
    return 0
