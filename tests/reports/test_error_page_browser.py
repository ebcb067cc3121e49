"""The error page in a real headless Chromium: it renders, gold and prediction stand side by side
with their entities highlighted, the filter works, and it asks nothing of the network.

Needs Debian's ``chromium`` and the ``playwright`` package, as tests/serving/test_browser.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="the test extra is not installed")

from brandner.data.error_analysis import error_analysis  # noqa: E402
from brandner.data.metrics import score  # noqa: E402
from brandner.reports.error_page import error_page  # noqa: E402
from tests.browser import need_chromium, offline_page  # noqa: E402
from tests.data.test_error_analysis import hand_worked  # noqa: E402

MARK_TEXTS = "cell => Array.from(cell.querySelectorAll('mark'), m => m.firstChild.textContent)"


@pytest.fixture
def page_file(tmp_path) -> Path:
    need_chromium()
    sentences, predicted = hand_worked()
    path = tmp_path / "errors.html"
    path.write_text(error_page(sentences, predicted, score([s.spans for s in sentences], predicted),
                               error_analysis(sentences, predicted)), encoding="utf-8")
    return path


def test_the_page_shows_both_sides_filters_and_stays_offline(page_file, tmp_path):
    with offline_page(page_file) as opened:
        page = opened.page
        rows = page.locator("#sentences tbody tr")
        assert rows.count() == 5 and page.inner_text("#shown") == "5"
        gold, predicted = rows.first.locator("td").nth(1), rows.first.locator("td").nth(2)
        assert gold.evaluate(MARK_TEXTS) == ["特步", "华为", "手机"]
        assert predicted.evaluate(MARK_TEXTS) == ["我", "特步鞋", "华为"]
        left, right = gold.bounding_box(), predicted.bounding_box()
        assert left["x"] + left["width"] <= right["x"] + 1 and abs(left["y"] - right["y"]) < 1  # side by side
        mark = gold.locator("mark").first
        assert mark.evaluate("n => getComputedStyle(n).backgroundColor") not in ("rgba(0, 0, 0, 0)", "")
        assert mark.evaluate("n => getComputedStyle(n).outlineStyle") == "solid"  # an error's mark
        right_mark = rows.nth(1).locator("td").nth(1).locator("mark").first  # 华为, found
        assert right_mark.evaluate("n => getComputedStyle(n).outlineStyle") == "none"

        page.select_option("#kind", "spurious")
        assert page.inner_text("#shown") == "3"
        assert [r.locator("td").first.inner_text() for r in rows.all() if r.is_visible()] == ["1", "2", "6"]
        page.select_option("#type", "PRODUCT")
        assert page.inner_text("#shown") == "0"
        page.select_option("#kind", "")
        assert [r.locator("td").first.inner_text() for r in rows.all() if r.is_visible()] == ["1", "4"]
        page.screenshot(path=str(tmp_path / "errors.png"), full_page=True)
    assert opened.failures == []
    assert opened.refused == [] and opened.requests == [page_file.as_uri()]  # the page itself, nothing else
