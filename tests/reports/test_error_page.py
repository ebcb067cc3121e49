"""The error page of ``brandner evaluate --errors-html``: tables, sentences side by side, escaped, bounded."""

from __future__ import annotations

import html
import json
import re

import pytest

from brandner.data.error_analysis import error_analysis
from brandner.data.metrics import score
from brandner.data.sentence import Sentence, Span
from brandner.reports.error_page import error_page
from tests.data.test_error_analysis import hand_worked


def build(sentences, predicted, **options) -> str:
    return error_page(sentences, predicted, score([s.spans for s in sentences], predicted),
                      error_analysis(sentences, predicted), **options)


def sentence_rows(page: str) -> list[tuple[dict, list[str]]]:
    """Each row of the sentences' table: its data-errors, parsed, and its cells' HTML."""
    section = page.split('<div id="sentences">', 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r'<tr data-errors="([^"]*)">(.*?)</tr>', section)
    return [(json.loads(html.unescape(keys)), re.findall(r"<td>(.*?)</td>(?=<td>|$)", cells)) for keys, cells in rows]


def marks(cell: str) -> list[tuple[str, str, str]]:
    """(class, text, type) of each mark in a cell."""
    return [(css, text, type_) for css, text, type_ in
            re.findall(r'<mark(?: class="(\w*)")? style="[^"]*" title="[^"]*">(.*?)<sub>(.*?)</sub></mark>', cell)]


def test_each_sentence_with_errors_gold_and_prediction_side_by_side():
    page = build(*hand_worked())
    rows = sentence_rows(page)
    assert [cells[0] for _, cells in rows] == ["1", "2", "3", "4", "6"]  # sentence 5 has no error
    keys, (_, gold, predicted, errors) = rows[0]
    assert marks(gold) == [("error", "特步", "SHOE"), ("error", "华为", "DIGITAL"), ("error", "手机", "PRODUCT")]
    assert marks(predicted) == [("error", "我", "DIGITAL"), ("error", "特步鞋", "SHOE"), ("error", "华为", "SHOE")]
    assert re.findall(r'<li data-kind="(\w+)">(.*?)</li>', errors) == [
        ("spurious", "spurious: 我 DIGITAL"), ("boundary", "wrong boundary: 特步 SHOE -&gt; 特步鞋 SHOE"),
        ("type", "wrong type: 华为 DIGITAL -&gt; 华为 SHOE"), ("missed", "missed: 手机 PRODUCT")]
    assert keys == [["boundary", "SHOE"], ["missed", "PRODUCT"], ["spurious", "DIGITAL"], ["type", "DIGITAL"],
                    ["type", "SHOE"]]
    _, (_, gold, predicted, _) = rows[1]  # 华为 is right: marked, not as an error
    assert marks(gold) == [("", "华为", "DIGITAL"), ("error", "小米", "DIGITAL")]
    assert marks(predicted) == [("", "华为", "DIGITAL"), ("error", "和", "SHOE")]


def test_the_summary_tables_come_first():
    page = build(*hand_worked())
    summary = page.split("Sentences with errors")[0]
    assert "<td>total</td><td>4</td><td>3</td><td>1</td><td>3</td>" in summary
    assert "<tr><td>none</td><td>2</td><td>0</td><td>1</td><td>0</td></tr>" in summary  # confusion's none row
    assert "<tr><td>3</td><td>PRODUCT</td><td>手机</td></tr>" in summary  # most often missed
    assert "<td>micro</td>" in summary and "6 sentences, 5 with errors." in summary
    for option in ("SHOE", "DIGITAL", "PRODUCT", "missed", "spurious", "type", "boundary"):
        assert f'<option value="{option}">' in page


def test_the_page_is_bounded_and_says_how_many_are_left_out():
    page = build(*hand_worked(), limit=2)
    assert [cells[0] for _, cells in sentence_rows(page)] == ["1", "2"]
    assert "3 more with errors left out (at most 2 on a page)" in page
    assert "left out" not in build(*hand_worked(), limit=5)
    assert sentence_rows(build(*hand_worked(), limit=0)) == []


def test_text_and_types_are_escaped():
    sentences = [Sentence("<script>alert(1)</script>", (Span(0, 8, "<b>"),))]
    page = build(sentences, [[Span(8, 13, 'x"y')]], title="<i>t</i>")
    assert "<script>alert" not in page and "<b>" not in page and "<i>t" not in page
    assert "&lt;script&gt;<sub>&lt;b&gt;</sub>" in page and 'value="x&quot;y"' in page
    assert page.count("<script>") == 1  # the page's own


def test_bad_arguments():
    sentences, predicted = hand_worked()
    with pytest.raises(ValueError, match="6 gold sentences but 5 predicted"):
        error_page(sentences, predicted[:5], score([], []), error_analysis(sentences, predicted))
    with pytest.raises(ValueError, match="limit must be 0 or more"):
        build(sentences, predicted, limit=-1)
