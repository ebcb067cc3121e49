"""brandner.reports.mention_page and charts: the page holds its charts inline, escapes every name
(in the SVG too), refers to nothing outside itself, and gives each chart its own ids."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from brandner.reports.charts import cut, inline
from brandner.reports.mention_page import mention_page
from brandner.reports.mentions import count_mentions
from brandner.reports.tagged import Tagged, read_tagged
from tests.reports import mention_fixture as oracle

HOSTILE = '</svg><script>alert("x")</script>&amp;$5$ \'q\''


@pytest.fixture
def weekly(tmp_path):
    return count_mentions(read_tagged([str(oracle.write_fixture(tmp_path / "posts.jsonl"))]), time_field="date",
                          period="week")


def test_the_page_holds_a_bar_chart_a_line_chart_a_heatmap_and_the_tables(weekly):
    page = mention_page(weekly, top=5)
    assert page.count("<svg ") == 2
    bars = page[page.index('<figure id="names-chart">'):page.index("</figure>")]
    assert len(re.findall(r'<g id="names-bar-\d+">', bars)) == 5
    assert ">Nike (HP)</text>" in bars and ">卫衣 (HC)</text>" in bars  # text stays text
    lines = page[page.index('<figure id="periods-chart">'):]
    assert len(re.findall(r'<g id="periods-line-\d+">', lines)) == 5
    assert '<figure id="heatmap">' in page
    for title in ("Top 5 of 11 names by mentions", "Mentions per week (Monday to Sunday, named by its Monday)",
                  "Top 5 of 16 co-mention pairs (posts naming both)"):
        assert f"<h2>{title}</h2>" in page
    assert '<td class="number">6</td>' in page  # Nike's mentions, right-aligned


def test_ids_are_unique_and_nothing_is_loaded_from_outside(weekly):
    page = mention_page(weekly)
    ids = Counter(re.findall(r'\bid="([^"]+)"', page))
    assert ids and max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]
    references = re.findall(r'(?:href="#|url\(#)([^")]+)', page)
    assert references and set(references) <= set(ids)  # every reference is to this page
    assert not re.search(r'\b(?:src|href)\s*=\s*"(?!#)', page)
    assert "url(http" not in page and "@import" not in page and "<link" not in page
    assert "<metadata>" not in page and "<?xml" not in page


def test_every_name_is_escaped_in_tables_charts_and_heatmap():
    entities = [{"word": HOSTILE, "type": "HP<b>"}, {"word": "耐克", "type": "HP<b>"}]
    counts = count_mentions([Tagged("p", 1, {"entities": entities, "date": "2026-03-02"})], time_field="date")
    page = mention_page(counts, title="<i>mine</i>")
    assert page.count("<script>") == 1 and "<script></script>" in page  # the page's own (empty) script only
    assert "<b>" not in page and "<i>" not in page and "alert(&quot;x&quot;)" in page
    assert "&lt;/svg&gt;&lt;script&gt;" in page and "$5$" in page  # matplotlib took no math from '$'
    assert page.count("</svg>") == 2


def test_without_a_time_field_or_mentions_there_is_less_to_draw(weekly, tmp_path):
    plain = count_mentions(read_tagged([str(oracle.write_fixture(tmp_path / "posts.jsonl"))]))
    page = mention_page(plain)
    assert page.count("<svg ") == 1 and 'id="periods"' not in page
    empty = mention_page(count_mentions([Tagged("p", 1, {"entities": [], "date": "x"})], time_field="date"))
    assert "<svg" not in empty and "No mentions." in empty and empty.count('<p class="note">None.</p>') == 3


def test_inline_prefixes_ids_and_their_references():
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg width="1pt"><metadata>x</metadata><defs><path id="m1"/>'
           '<clipPath id="p1"/></defs><use xlink:href="#m1"/><g clip-path="url(#p1)" id="bar-0"/></svg>')
    assert inline(svg, "a") == ('<svg style="max-width:100%;height:auto" width="1pt"><defs><path id="a-m1"/>'
                                '<clipPath id="a-p1"/></defs><use xlink:href="#a-m1"/>'
                                '<g clip-path="url(#a-p1)" id="a-bar-0"/></svg>')


def test_long_labels_are_cut_by_screen_columns():
    assert cut("耐克" * 20, 8) == "耐克耐克…" and cut("nike" * 10, 8) == "nikenike…" and cut("Nike", 8) == "Nike"
