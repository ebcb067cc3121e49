"""``brandner report --html``: the mention counts as one self-contained page. A bar chart of the
top names, a line chart of the top few over time (with a time field), the co-mentions as a
heatmap of the names most often named together, and the tables of the terminal report.

The charts are SVG inline (brandner.reports.charts); the page's style is inline and it has no
script: it loads nothing, from anywhere. Every piece of text is escaped.
"""

from __future__ import annotations

import html

from brandner.reports.charts import LINE_COLORS, bar_chart, line_chart
from brandner.reports.html import page, table, type_colors
from brandner.reports.mention_tables import Table, series_keys, series_labels, summary, tables
from brandner.reports.mentions import MentionCounts

# Names in the co-mention heatmap, at most.
HEATMAP_NAMES = 10

STYLE = """
body { font-family: sans-serif; margin: 1em 2em; max-width: 70em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; }
td.number, th.number { text-align: right; }
th { text-align: left; }
figure { margin: 0.5em 0; }
.legend span { display: inline-block; margin-right: 1.2em; }
.legend i { display: inline-block; width: 1.6em; height: 0.3em; vertical-align: middle; margin-right: 0.3em; }
#heatmap td { text-align: right; min-width: 2.5em; }
#heatmap th { font-weight: normal; }
p.note { color: #555; }
"""


def mention_page(counts: MentionCounts, top: int = 20, title: str = "brandner: brand mentions") -> str:
    """The page of ``counts``, its tables cut to the ``top`` names and pairs."""
    names, *rest = tables(counts, top)
    periods = rest[0] if counts.period is not None else None
    pairs = rest[-1]
    body = [f"<h1>{html.escape(title)}</h1>", *(f"<p>{html.escape(line)}</p>" for line in summary(counts)),
            '<section id="names">', _heading(names), _names_chart(counts, top), _table(names), "</section>"]
    if periods is not None:
        body += ['<section id="periods">', _heading(periods), _periods_chart(counts), _table(periods), "</section>"]
    body += ['<section id="co-mentions">', _heading(pairs), _heatmap(counts), _table(pairs), "</section>"]
    return page(title, "".join(body), STYLE)


def _heading(table_: Table) -> str:
    return f"<h2>{html.escape(table_.title)}</h2>"


def _table(table_: Table) -> str:
    if not table_.rows:
        return '<p class="note">None.</p>'
    return table(table_.header, table_.rows, numeric=table_.numeric)


def _names_chart(counts: MentionCounts, top: int) -> str:
    rows = counts.top(top)
    if not rows:
        return ""
    colors = type_colors(row.type for row in rows)
    svg = bar_chart([f"{row.name} ({row.type})" for row in rows], [row.mentions for row in rows],
                    [colors[row.type] for row in rows], prefix="names")
    legend = "".join(f'<span><i style="background:{color};height:0.9em;width:0.9em"></i>{html.escape(type_)}</span>'
                     for type_, color in colors.items())
    return f'<figure id="names-chart">{svg}<figcaption class="legend">{legend}</figcaption></figure>'


def _periods_chart(counts: MentionCounts) -> str:
    keys, periods = series_keys(counts), counts.periods()
    if not keys or not periods:
        return ""
    series = [[counts.mentions_by_period[(name, type_, start)] for start in periods] for name, type_ in keys]
    svg = line_chart(periods, series, prefix="periods")
    legend = "".join(f'<span><i style="background:{LINE_COLORS[i % len(LINE_COLORS)]}"></i>{html.escape(label)}</span>'
                     for i, label in enumerate(series_labels(keys)))
    return (f'<figure id="periods-chart">{svg}<figcaption class="legend">Mentions per {html.escape(counts.period)}: '
            f"{legend}</figcaption></figure>")


def _heatmap(counts: MentionCounts) -> str:
    """The names most often named with another, as rows and columns; a cell, posts naming both."""
    names: list[str] = []
    for first, second, _ in counts.top_pairs():
        names += [name for name in (first, second) if name not in names]
        if len(names) >= HEATMAP_NAMES:
            break
    names = names[:HEATMAP_NAMES]
    if len(names) < 2:
        return ""
    cells = {(a, b): counts.pairs.get((min(a, b), max(a, b)), 0) for a in names for b in names if a != b}
    most = max(cells.values()) or 1
    head = "".join(f"<th>{html.escape(name)}</th>" for name in names)
    rows = []
    for a in names:
        row = []
        for b in names:
            value = cells.get((a, b))
            if value is None:
                row.append('<td style="background:#f4f4f4"></td>')
            else:
                shade = f"rgba(31,119,180,{0.08 + 0.8 * value / most:.2f})" if value else "#fff"
                row.append(f'<td style="background:{shade}" title="{html.escape(a)} + {html.escape(b)}">{value}</td>')
        rows.append(f"<tr><th>{html.escape(a)}</th>{''.join(row)}</tr>")
    return (f'<figure id="heatmap"><table><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table><figcaption>Posts naming both: the names most often named together.</figcaption>"
            "</figure>")
