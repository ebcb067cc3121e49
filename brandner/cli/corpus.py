"""``brandner corpus``: the named corpora, and counts of what their splits hold."""

from __future__ import annotations

import argparse
import json

from brandner.cli.common import add_data_dir
from brandner.data.corpora import CorpusInfo, corpus_stats, list_corpora


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("corpus", help="list the named corpora, count what they hold",
                                   description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the named corpora, their splits and sources")
    stats = actions.add_parser("stats", help="sentences, characters and entities per type of each split")
    stats.add_argument("name", metavar="NAME", help="a corpus name, as `brandner corpus list` shows")
    stats.add_argument("--json", action="store_true", help="print the counts as JSON")
    add_data_dir(stats)
    parser.set_defaults(func=run)


def corpus_table(corpora: list[CorpusInfo]) -> str:
    """One block per corpus: name, splits, format and scheme, description, source."""
    blocks = []
    for info in corpora:
        kind = f"{info.format}, {info.scheme}" if info.scheme else info.format
        blocks.append(f"{info.name:<14} {'/'.join(info.splits)} ({kind})\n"
                      f"{'':<14} {info.description}\n{'':<14} source: {info.source}")
    return "\n".join(blocks)


def stats_table(name: str, stats: dict) -> str:
    """Counts per split, then entities per type and split, as aligned columns."""
    splits = list(stats)
    types = sorted({t for counts in stats.values() for t in counts["entities"]})
    rows = [[name, *splits],
            ["sentences", *(str(stats[s]["sentences"]) for s in splits)],
            ["chars", *(str(stats[s]["chars"]) for s in splits)],
            ["entities", *(str(sum(stats[s]["entities"].values())) for s in splits)]]
    rows += [[f"  {t}", *(str(stats[s]["entities"].get(t, 0)) for s in splits)] for t in types]
    width = max(len(row[0]) for row in rows)
    return "\n".join(row[0].ljust(width) + "".join(cell.rjust(10) for cell in row[1:]) for row in rows)


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        print(corpus_table(list_corpora()))
        return 0
    stats = corpus_stats(args.name, args.data_dir)
    print(json.dumps(stats, ensure_ascii=False, indent=1) if args.json else stats_table(args.name, stats))
    return 0
