"""Charts as SVG to put inline in a page: matplotlib's SVG backend, never a window or pyplot.

Text stays text (``svg.fonttype = none``), so the browser draws it with a font it has, Chinese
included; the SVG asks for Chinese sans-serif fonts by name first (:data:`FONTS`), which loads
nothing. Math in labels is off (a brand named ``$5`` stays ``$5``), and matplotlib escapes every
label, so a name holding ``</svg><script>`` stays text. Ids are prefixed per chart so that
several charts in one page never share one.
"""

from __future__ import annotations

import datetime
import io
import re
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Sequence

from brandner.reports.mention_tables import char_columns

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Asked for by name, in order; the browser falls back to its own sans-serif.
FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC",
         "DejaVu Sans"]
SETTINGS = {"svg.fonttype": "none", "svg.hashsalt": "brandner", "text.parse_math": False,
            "font.family": ["sans-serif"], "font.sans-serif": FONTS, "font.size": 10,
            "axes.spines.top": False, "axes.spines.right": False}
# Matplotlib's ten colours: the lines of the time chart (and their legend) take them in turn.
LINE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")
# A label longer than this (in columns, Chinese two) is cut with an ellipsis; tables show it whole.
LABEL_COLUMNS = 28
WIDTH_INCHES = 8.0
_ID = re.compile(r'\bid="([^"]+)"')


def bar_chart(labels: Sequence[str], values: Sequence[int], colors: Sequence[str], prefix: str = "bars") -> str:
    """Horizontal bars, the first label at the top, each bar's value at its end; bar ``i`` is the
    group with id ``{prefix}-bar-{i}``."""
    from matplotlib.figure import Figure

    labels = [cut(label) for label in labels]
    with _settings():
        figure = Figure(figsize=(WIDTH_INCHES, 0.8 + 0.3 * max(len(labels), 1)))
        figure.subplots_adjust(left=_left_margin(labels), right=0.92, top=1 - 0.3 / figure.get_figheight(),
                               bottom=0.5 / figure.get_figheight())
        axes = figure.add_subplot()
        bars = axes.barh(range(len(values)), values, color=colors, edgecolor="#555555", linewidth=0.6)
        for i, bar in enumerate(bars):
            bar.set_gid(f"bar-{i}")
        axes.set_yticks(range(len(labels)), labels)
        axes.invert_yaxis()
        axes.bar_label(bars, padding=3)
        axes.set_xlabel("mentions")
        axes.xaxis.get_major_locator().set_params(integer=True)
        return _svg(figure, prefix)


def line_chart(periods: Sequence[datetime.date], series: Sequence[Sequence[int]], prefix: str = "lines") -> str:
    """A line per series over ``periods`` (each series a value per period), coloured by
    :data:`LINE_COLORS` in turn; line ``i`` is the group with id ``{prefix}-line-{i}``."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    with _settings():
        figure = Figure(figsize=(WIDTH_INCHES, 3.4))
        figure.subplots_adjust(left=0.08, right=0.98, top=0.95, bottom=0.14)
        axes = figure.add_subplot()
        marker = "o" if len(periods) <= 60 else None
        for i, values in enumerate(series):
            (line,) = axes.plot(periods, values, color=LINE_COLORS[i % len(LINE_COLORS)], marker=marker,
                                markersize=3.5, linewidth=1.6)
            line.set_gid(f"line-{i}")
        locator = AutoDateLocator()
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes.set_ylim(bottom=0)
        axes.set_ylabel("mentions")
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.grid(axis="y", color="#e5e5e5")
        return _svg(figure, prefix)


def cut(label: str, columns: int = LABEL_COLUMNS) -> str:
    """``label`` cut to ``columns`` columns (Chinese two each) with an ellipsis."""
    used = 0
    for i, character in enumerate(label):
        used += char_columns(character)
        if used > columns:
            return label[:i] + "…"
    return label


def _left_margin(labels: Sequence[str]) -> float:
    """The share of the figure's width the labels need. Measured here, not by matplotlib, whose
    font may lack Chinese glyphs and measure them too narrow: a wide character is 1 em, others 0.6."""
    ems = max((sum(1.0 if char_columns(c) == 2 else 0.6 for c in label) for label in labels), default=1)
    inches = ems * SETTINGS["font.size"] / 72 + 0.25
    return min(inches / WIDTH_INCHES, 0.5)


@contextmanager
def _settings() -> Iterator[None]:
    """matplotlib's settings for these charts, for the block only; warnings about glyphs that its
    own font lacks are silenced (the browser draws the text, with its fonts)."""
    import matplotlib

    with matplotlib.rc_context(SETTINGS), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        yield


def _svg(figure: "Figure", prefix: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return inline(buffer.getvalue(), prefix)


def inline(svg: str, prefix: str) -> str:
    """An SVG file's text as an element to put in HTML: the XML prolog, doctype and metadata
    dropped, every id and reference to one prefixed with ``prefix-``, and the size scaling down
    to the page's width."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r'(href="#|url\(#)', lambda m: f"{m.group(1)}{prefix}-", svg)
    return svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
