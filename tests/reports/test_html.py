"""Results as HTML: entities marked by type, everything escaped."""

from __future__ import annotations

import doctest

import pytest

import brandner.reports.html
from brandner.reports.html import PALETTE, Html, highlight, legend, page, render, table, type_colors


def result(text: str, *entities: tuple[int, int, str]) -> dict:
    return {"string": text, "entities": [{"word": text[s:e], "type": t, "start": s, "end": e}
                                         for s, e, t in entities]}


def test_entities_are_marked_in_place_with_their_type():
    out = highlight(result("我买了特步鞋和华为", (3, 5, "SHOE"), (7, 9, "DIGITAL")),
                    {"SHOE": "#111111", "DIGITAL": "#222222"})
    assert out == ('<div class="brandner">我买了'
                   '<mark style="background:#111111;padding:0 2px;border-radius:3px" title="SHOE">'
                   '特步<sub>SHOE</sub></mark>鞋和'
                   '<mark style="background:#222222;padding:0 2px;border-radius:3px" title="DIGITAL">'
                   '华为<sub>DIGITAL</sub></mark></div>')


def test_text_and_types_are_escaped():
    out = highlight(result('<b>"华为"</b>&', (4, 6, "<X>")))
    assert "<b>" not in out and "&lt;b&gt;&quot;" in out and "&amp;</div>" in out
    assert "华为<sub>&lt;X&gt;</sub>" in out and 'title="&lt;X&gt;"' in out


def test_no_entities_and_unsorted_entities():
    assert highlight({"string": "a<b", "entities": []}) == '<div class="brandner">a&lt;b</div>'
    out = highlight(result("abcd", (2, 3, "B"), (0, 1, "A")))
    assert out.index(">a<sub>") < out.index(">c<sub>")


@pytest.mark.parametrize("entity", [(3, 9, "A"), (2, 2, "A"), (-1, 1, "A")])
def test_offsets_outside_the_string_are_refused(entity):
    bad = {"string": "abcd", "entities": [{"type": entity[2], "start": entity[0], "end": entity[1]}]}
    with pytest.raises(ValueError, match="outside a string of 4 characters"):
        highlight(bad)


def test_overlapping_entities_and_non_results_are_refused():
    with pytest.raises(ValueError, match="overlaps"):
        highlight(result("abcd", (0, 2, "A"), (1, 3, "B")))
    with pytest.raises(ValueError, match="result dict"):
        highlight("abcd")


def test_colors_follow_sorted_types_and_render_shares_them():
    assert type_colors(["SHOE", "DIGITAL", "SHOE"]) == {"DIGITAL": PALETTE[0], "SHOE": PALETTE[1]}
    assert len(set(type_colors(f"T{i}" for i in range(len(PALETTE))).values())) == len(PALETTE)
    out = render([result("华为", (0, 2, "DIGITAL")), result("特步", (0, 2, "SHOE"))], types=["BAG"])
    assert out.startswith(legend({"BAG": PALETTE[0], "DIGITAL": PALETTE[1], "SHOE": PALETTE[2]}))
    assert f"background:{PALETTE[2]};" in out.split("特步")[0].rsplit("<mark", 1)[1]


def test_table_escapes_cells():
    assert table(["a", "<b>"], [[1, "x&y"]]) == ("<table><thead><tr><th>a</th><th>&lt;b&gt;</th></tr></thead>"
                                                 "<tbody><tr><td>1</td><td>x&amp;y</td></tr></tbody></table>")


def test_an_entity_class_marks_it_escaped():
    entities = [{"type": "A", "start": 0, "end": 1, "class": 'error" onclick="x'},
                {"type": "A", "start": 1, "end": 2, "class": ""}]
    out = highlight({"string": "ab", "entities": entities}, {"A": "#111111"})
    assert '<mark class="error&quot; onclick=&quot;x" style=' in out
    assert out.count("<mark style=") == 1  # an empty class adds nothing


def test_table_takes_html_cells_as_they_are_and_row_attributes_escaped():
    out = table(["x"], [[Html("<b>1</b>")], ["<b>"]], [{"data-k": '["a", "<"]'}, {}])
    assert out == ('<table><thead><tr><th>x</th></tr></thead><tbody>'
                   '<tr data-k="[&quot;a&quot;, &quot;&lt;&quot;]"><td><b>1</b></td></tr>'
                   '<tr><td>&lt;b&gt;</td></tr></tbody></table>')
    with pytest.raises(ValueError, match="2 rows but 1 row attributes"):
        table(["x"], [[1], [2]], [{}])


def test_a_page_is_one_document_with_its_own_style_and_script():
    out = page("<T>", "<p>body</p>", "p { color: red; }", "let x = 1;")
    assert out.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in out
    assert "<title>&lt;T&gt;</title>" in out and "<style>p { color: red; }</style>" in out
    assert out.index("<p>body</p>") < out.index("<script>let x = 1;</script>") < out.index("</body>")
    assert "src=" not in out and "href=" not in out


def test_docstring_example():
    assert doctest.testmod(brandner.reports.html).failed == 0
