"""The tables of ``brandner report`` (brandner.reports.mentions counts them): as text for the
terminal, as one tidy CSV, and as :class:`Table` values that the HTML page lays out.

The CSV (UTF-8 with a byte-order mark, so that spreadsheets show Chinese) has one row per count,
the column ``table`` saying which count it is; empty cells are "not this table's"::

    table,period,name,type,name_2,mentions,posts
    total,,,,,20,12              all mentions counted; all posts read
    name,,Nike,HP,,5,4           a name's mentions and posts
    period,2026-03-02,,,,8,5     a period's mentions and dated posts (the period's first day)
    name_period,2026-03-02,Nike,HP,,2,2
    pair,,Adidas,,Nike,,2        posts naming both names (co-mentions)

Every name, period and pair is there (``--top`` cuts the terminal's and the page's tables
only); periods and names per period only with a time field, and only where a count is not zero.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from typing import IO, Sequence

from brandner.reports.mentions import Key, MentionCounts

CSV_COLUMNS = ("table", "period", "name", "type", "name_2", "mentions", "posts")
# Names followed over time: the per-period table's columns and the line chart's lines.
SERIES = 5
PERIOD_NAMES = {"day": "", "week": " (Monday to Sunday, named by its Monday)", "month": " (named by its first day)"}


@dataclass(frozen=True)
class Table:
    """A titled table: ``numeric`` columns are right-aligned."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[object, ...]]
    numeric: tuple[bool, ...]


def summary(counts: MentionCounts) -> list[str]:
    """What was read and counted, a sentence a line."""
    read = f"{plural(counts.posts, 'post')} read"
    if counts.error_records:
        read += f"; {plural(counts.error_records, 'error record')} (posts that failed to tag) skipped"
    names = "canonical name, else the entity's word" if counts.by == "canonical" else "the entity's word"
    kept = f" (type {', '.join(counts.types)})" if counts.types else ""
    found = (f"{plural(counts.total_mentions, 'mention')}{kept} of {plural(len(counts.mentions), 'name')} "
             f"({names}), in {plural(counts.posts_with_mentions, 'post')}.")
    lines = [read + ".", found if counts.mentions else f"No mentions{kept}."]
    if counts.time_field is not None:
        dated = counts.posts - counts.undated
        undated = (f"; {plural(counts.undated, 'post')} without a time there that can be read, counted in the "
                   f"totals but in no {counts.period} (the first: {counts.first_undated})." if counts.undated else ".")
        lines.append(f"{plural(dated, 'post')} dated by '{counts.time_field}', counted per {counts.period}{undated}")
    if counts.pairs_shortfall:
        lines.append(f"More than {plural(counts.max_pairs, 'pair')} of names (--max-pairs): the co-mention counts "
                     f"may each be up to {counts.pairs_shortfall:,} below the true count (never above it).")
    return lines


def plural(count: int, noun: str) -> str:
    """``1 post``, ``1,234 posts``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def tables(counts: MentionCounts, top: int) -> list[Table]:
    """The report's tables: the ``top`` names, mentions per period (with a time field) and the
    ``top`` co-mention pairs."""
    top_names, top_pairs = counts.top(top), counts.top_pairs(top)
    names = Table(f"Top {len(top_names)} of {plural(len(counts.mentions), 'name')} by mentions",
                  ("name", "type", "mentions", "posts", "share"),
                  [(c.name, c.type, c.mentions, c.posts, f"{c.share * 100:.1f}%") for c in top_names],
                  (False, False, True, True, True))
    pairs = Table(f"Top {len(top_pairs)} of {plural(len(counts.pairs), 'co-mention pair')} (posts naming both)",
                  ("name", "name", "posts"), [tuple(pair) for pair in top_pairs], (False, False, True))
    if counts.period is None:
        return [names, pairs]
    keys = series_keys(counts)
    labels = series_labels(keys)
    periods = Table(f"Mentions per {counts.period}{PERIOD_NAMES[counts.period]}",
                    (counts.period, "posts", "mentions", *labels),
                    [(start.isoformat(), counts.period_posts[start], counts.period_mentions[start],
                      *(counts.mentions_by_period[(name, type_, start)] for name, type_ in keys))
                     for start in counts.periods()], (False, *[True] * (2 + len(keys))))
    return [names, periods, pairs]


def series_keys(counts: MentionCounts) -> list[Key]:
    """The names followed over time: the :data:`SERIES` with most mentions."""
    return [(c.name, c.type) for c in counts.top(SERIES)]


def series_labels(keys: Sequence[Key]) -> list[str]:
    """A label per (name, type): the name, with its type where the name is there twice."""
    names = [name for name, _ in keys]
    return [name if names.count(name) == 1 else f"{name} ({type_})" for name, type_ in keys]


def text_report(counts: MentionCounts, top: int) -> str:
    """The summary and the tables as aligned plain text (Chinese counted two columns wide)."""
    parts = ["\n".join(summary(counts))]
    for table in tables(counts, top):
        parts.append(table.title + "\n" + aligned(table) if table.rows else f"{table.title}: none")
    return "\n\n".join(parts) + "\n"


def aligned(table: Table) -> str:
    """``table``'s header and rows in columns two spaces apart, numbers right-aligned."""
    cells = [[_printable(str(cell)) for cell in row] for row in [table.header, *table.rows]]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(table.header))]
    lines = []
    for row in cells:
        padded = [_pad(cell, width, right) for cell, width, right in zip(row, widths, table.numeric)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (East Asian) characters two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else char_columns(c) for c in text)


def char_columns(character: str) -> int:
    """Columns ``character`` takes: two for a wide (East Asian) one, else one."""
    return 2 if unicodedata.east_asian_width(character) in "WF" else 1


def _pad(cell: str, width: int, right: bool) -> str:
    space = " " * (width - display_width(cell))
    return space + cell if right else cell + space


def _printable(text: str) -> str:
    """``text`` with line breaks, tabs and other control characters escaped, so a row stays a row."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def write_csv(counts: MentionCounts, out: IO[str]) -> int:
    """Every count as one tidy CSV (see the module's docstring) into ``out`` (opened with
    ``newline=""``); gives the number of rows written, header aside."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = 1
    writer.writerow(("total", "", "", "", "", counts.total_mentions, counts.posts))
    for name in counts.top():
        writer.writerow(("name", "", name.name, name.type, "", name.mentions, name.posts))
        rows += 1
    for start in sorted(counts.period_posts):
        writer.writerow(("period", start.isoformat(), "", "", "", counts.period_mentions[start],
                         counts.period_posts[start]))
        rows += 1
    for name, type_, start in sorted(counts.mentions_by_period, key=lambda key: (key[2], key[0], key[1])):
        writer.writerow(("name_period", start.isoformat(), name, type_, "",
                         counts.mentions_by_period[(name, type_, start)], counts.posts_by_period[(name, type_, start)]))
        rows += 1
    for first, second, posts in counts.top_pairs():
        writer.writerow(("pair", "", first, "", second, "", posts))
        rows += 1
    return rows
