"""Tagging results as HTML: entities as coloured spans, a legend, plain tables.

For notebooks (``IPython.display.HTML``) and reports. Every piece of text is
escaped, so a post containing ``<script>`` or ``&`` shows as typed.

>>> highlight({"string": "我买了特步鞋", "entities": [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]})
...                                                     # doctest: +ELLIPSIS
'<div class="brandner">我买了<mark style="background:#8dd3c7;..." title="SHOE">特步<sub>SHOE</sub></mark>鞋</div>'
"""

from __future__ import annotations

import html
from typing import Iterable, Mapping, Sequence

# ColorBrewer "Set3": pale enough for black text on top.
PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
           "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")
_MARK = "background:{color};padding:0 2px;border-radius:3px"
_NUMBER = ' class="number"'


def type_colors(types: Iterable[str]) -> dict[str, str]:
    """A colour per entity type, in sorted type order (the palette repeats past 12 types)."""
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(sorted(set(types)))}


def highlight(result: dict, colors: Mapping[str, str] | None = None) -> str:
    """One result ``{"string", "entities": [{"type", "start", "end", ...}]}`` as an HTML ``<div>``
    with each entity in a ``<mark>`` coloured by type (``colors``, else :func:`type_colors`).
    An entity's optional ``"class"`` becomes the mark's CSS class (a page's style picks it out).

    Entities must lie inside the string and must not overlap (``ValueError`` otherwise).
    """
    text, entities = _checked(result)
    colors = dict(colors) if colors is not None else type_colors(e["type"] for e in entities)
    pieces, position = [], 0
    for entity in entities:
        start, end, type_ = entity["start"], entity["end"], entity["type"]
        color = colors.get(type_, PALETTE[-1])
        css = f' class="{html.escape(entity["class"])}"' if entity.get("class") else ""
        pieces.append(html.escape(text[position:start]))
        pieces.append(f'<mark{css} style="{_MARK.format(color=html.escape(color))}" title="{html.escape(type_)}">'
                      f"{html.escape(text[start:end])}<sub>{html.escape(type_)}</sub></mark>")
        position = end
    pieces.append(html.escape(text[position:]))
    return f'<div class="brandner">{"".join(pieces)}</div>'


def legend(colors: Mapping[str, str]) -> str:
    """The types and their colours as one line of HTML."""
    marks = " ".join(f'<mark style="{_MARK.format(color=html.escape(color))}">{html.escape(t)}</mark>'
                     for t, color in colors.items())
    return f'<div class="brandner-legend">{marks}</div>'


def render(results: Sequence[dict], types: Iterable[str] = ()) -> str:
    """A legend, then each result highlighted; colours cover ``types`` and every type found."""
    found = [e["type"] for r in results for e in r.get("entities", ())]
    colors = type_colors([*types, *found])
    return legend(colors) + "".join(highlight(r, colors) for r in results)


class Html(str):
    """Text that is HTML already (from :func:`highlight`, say): :func:`table` puts it in as it is."""


def table(header: Sequence[str], rows: Iterable[Sequence[object]],
          row_attributes: Iterable[Mapping[str, str]] | None = None, numeric: Sequence[bool] = ()) -> str:
    """An HTML table of escaped cells (``str()`` of each value; an :class:`Html` cell as it is).
    ``row_attributes``, one mapping a row, become escaped attributes of its ``<tr>``
    (``{"data-kinds": "missed"}``), for a page's script to find. The cells of a column whose
    ``numeric`` flag is true (a flag a column, from the first) get ``class="number"``, for a
    page's style to align."""
    rows = list(rows)
    number = [i < len(numeric) and bool(numeric[i]) for i in range(max([len(header), *map(len, rows)]))]
    head = "".join(f"<th{_NUMBER * number[i]}>{_cell(h)}</th>" for i, h in enumerate(header))
    attributes = list(row_attributes) if row_attributes is not None else [{}] * len(rows)
    if len(attributes) != len(rows):
        raise ValueError(f"{len(rows)} rows but {len(attributes)} row attributes")
    body = "".join(f"<tr{_attributes(extra)}>" + "".join(f"<td{_NUMBER * number[i]}>{_cell(cell)}</td>"
                                                          for i, cell in enumerate(row)) + "</tr>"
                   for row, extra in zip(rows, attributes))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, body: str, style: str = "", script: str = "") -> str:
    """A whole HTML document around ``body`` (HTML), with the page's own ``style`` and ``script``
    inline: it loads nothing from anywhere. The title is escaped; ``style`` and ``script`` are
    the caller's code, not user text."""
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{style}</style></head>\n"
            f"<body>{body}<script>{script}</script></body></html>\n")


def _cell(value: object) -> str:
    return value if isinstance(value, Html) else html.escape(str(value))


def _attributes(attributes: Mapping[str, str]) -> str:
    return "".join(f' {html.escape(name)}="{html.escape(value)}"' for name, value in attributes.items())


def _checked(result: dict) -> tuple[str, list[dict]]:
    """The result's string and its entities sorted by start, after checking their offsets."""
    if not isinstance(result, dict) or not isinstance(result.get("string"), str):
        raise ValueError(f"expected a result dict with a 'string', got {result!r:.80}")
    text = result["string"]
    entities = sorted(result.get("entities", ()), key=lambda e: (e["start"], e["end"]))
    position = 0
    for entity in entities:
        start, end = entity["start"], entity["end"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise ValueError(f"entity {entity} lies outside a string of {len(text)} characters")
        if start < position:
            raise ValueError(f"entity {entity} overlaps the one before it")
        position = end
    return text, entities
