"""``brandner report``: brand mentions in tagged posts, counted per name and type, per day, week
or month, and in pairs named together; a table in the terminal, one tidy CSV, an HTML page with
charts. Reads what ``brandner tag`` writes (JSON lines) and what ``tag --engine spark|ray``
writes (a folder of JSON or Parquet part files), streaming: files of any size, in the memory the
distinct names take. What each count means: docs/monitoring.md.
"""

from __future__ import annotations

import argparse
import logging
import sys

from brandner.atomic import atomic_output
from brandner.errors import BrandnerError
from brandner.reports.mentions import BY, MAX_PAIRS, MentionCounts, count_mentions
from brandner.reports.periods import PERIODS, time_zone
from brandner.reports.tagged import read_tagged

log = logging.getLogger("brandner")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="count brand mentions in tagged posts: tables, CSV, charts",
                                   description=__doc__)
    parser.add_argument("inputs", nargs="+", metavar="TAGGED",
                        help="tagged posts: a JSON lines file ('-': stdin), a Parquet file, or a folder of part "
                             "files (*.json, *.jsonl, *.parquet) as Spark and Ray write them")
    parser.add_argument("--by", choices=BY, default="canonical",
                        help="what names an entity: canonical (default) its 'canonical' name where it has one, "
                             "else its word; word: always its word")
    parser.add_argument("--type", action="append", default=[], dest="types", metavar="TYPE",
                        help="count only entities of this type (repeatable; default: every type)")
    parser.add_argument("--time-field", metavar="FIELD",
                        help="the field holding when a post was written (an ISO date or date and time, or Unix "
                             "seconds): counts per --period; a post without a readable one is counted as undated")
    parser.add_argument("--period", choices=PERIODS,
                        help="with --time-field: day (default), week (Monday to Sunday) or month")
    parser.add_argument("--timezone", default="UTC", metavar="ZONE",
                        help="the zone whose days a moment falls on (Unix times, times with an offset): UTC "
                             "(default), a name such as Asia/Shanghai, or +08:00")
    parser.add_argument("--top", type=int, default=20, metavar="N",
                        help="names and pairs in the terminal's and the page's tables (default: %(default)s); the "
                             "CSV has all")
    parser.add_argument("--max-pairs", type=int, default=MAX_PAIRS, metavar="N",
                        help="distinct co-mention pairs kept at most (default: %(default)s); past it the pair "
                             "counts become lower bounds, and the report says by how much at most")
    parser.add_argument("--csv", metavar="FILE", help="write every count as one tidy CSV ('-': stdout, then no table)")
    parser.add_argument("--html", metavar="FILE", help="write a self-contained page with charts")
    parser.add_argument("--title", default="brandner: brand mentions", help="the page's title")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1 or args.max_pairs < 1:
        raise BrandnerError("--top and --max-pairs must be at least 1")
    if args.period is not None and args.time_field is None:
        raise BrandnerError("--period needs --time-field: the field that says when a post was written")
    if args.inputs.count("-") > 1:
        raise BrandnerError("stdin ('-') can be read once")
    counts = report(args.inputs, by=args.by, types=args.types, time_field=args.time_field,
                    period=args.period or "day", timezone=args.timezone, max_pairs=args.max_pairs)
    from brandner.reports.mention_tables import text_report, write_csv

    if args.csv == "-":
        write_csv(counts, sys.stdout)
    else:
        sys.stdout.write(text_report(counts, args.top))
        if args.csv:
            with atomic_output(args.csv) as temporary, open(temporary, "w", encoding="utf-8-sig", newline="") as out:
                rows = write_csv(counts, out)
            log.info("%s: %d rows", args.csv, rows)
    if args.html:
        from brandner.reports.mention_page import mention_page

        text = mention_page(counts, args.top, args.title)
        with atomic_output(args.html) as temporary:
            temporary.write_text(text, encoding="utf-8")
        log.info("%s: the report as a page", args.html)
    return 0


def report(inputs: list[str], by: str = "canonical", types: list[str] | tuple[str, ...] = (),
           time_field: str | None = None, period: str = "day", timezone: str = "UTC",
           max_pairs: int = MAX_PAIRS) -> MentionCounts:
    """The counts of the tagged posts in ``inputs`` (files, folders, ``-`` for stdin), as
    brandner.reports.mentions.count_mentions counts them; ``timezone`` is a name or offset."""
    return count_mentions(read_tagged(inputs), by=by, types=types, time_field=time_field, period=period,
                          zone=time_zone(timezone), max_pairs=max_pairs)
