"""The ``report --html`` page in a real headless Chromium: its SVG charts render with bars and lines
of the right sizes, Chinese labels take room, and not one request leaves the page (any that
tried would be recorded and refused).

Needs Debian's ``chromium`` and the ``playwright`` package, as tests/serving/test_browser.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="the test extra is not installed")

from brandner.reports.mention_page import mention_page  # noqa: E402
from brandner.reports.mentions import count_mentions  # noqa: E402
from brandner.reports.tagged import read_tagged  # noqa: E402
from tests.browser import need_chromium, offline_page  # noqa: E402
from tests.reports import mention_fixture as oracle  # noqa: E402

BOXES = "nodes => nodes.map(n => { const b = n.getBBox(); return [b.width, b.height]; })"


@pytest.fixture
def page_file(tmp_path) -> Path:
    need_chromium()
    counts = count_mentions(read_tagged([str(oracle.write_fixture(tmp_path / "posts.jsonl"))]), time_field="date",
                            period="day")
    path = tmp_path / "report.html"
    path.write_text(mention_page(counts, top=5), encoding="utf-8")
    return path


def test_the_charts_render_and_nothing_leaves_the_page(page_file, tmp_path):
    with offline_page(page_file, viewport={"width": 1100, "height": 900}) as opened:
        page = opened.page
        for chart in ("#names-chart svg", "#periods-chart svg"):
            box = page.locator(chart).bounding_box()
            assert box["width"] > 300 and box["height"] > 100, (chart, box)
        bars = page.locator('#names-chart svg g[id^="names-bar-"] path').evaluate_all(BOXES)
        assert len(bars) == 5 and all(w > 0 and h > 0 for w, h in bars)
        widths = [w for w, _ in bars]  # Nike 6, 卫衣 4, 李宁 4, 跑鞋 4, Adidas 3 mentions
        assert widths[0] == pytest.approx(widths[4] * 2, rel=0.02) and widths[1] == pytest.approx(widths[3])
        lines = page.locator('#periods-chart svg g[id^="periods-line-"] > path').evaluate_all(BOXES)
        assert len(lines) == 5 and all(w > 300 for w, _ in lines)  # each line spans the two weeks
        label = page.locator("#names-chart svg text", has_text="卫衣 (HC)")
        assert label.count() == 1 and label.evaluate("n => n.getBBox().width") > 20
        assert page.locator("#heatmap td").count() == 100  # 10 names by 10
        assert page.locator("#names table tbody tr").count() == 5
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert opened.failures == []
    assert opened.refused == [] and opened.requests == [page_file.as_uri()]  # the page itself, nothing else
