"""The web page in a real browser: headless Chromium types a sentence, clicks Tag, and
finds the brand highlighted with its type and score.

Needs Debian's ``chromium`` (``make test`` installs it) and the ``playwright`` package
(its own browser download is not used: the machine may be offline).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="the test extra is not installed")

from tests.browser import CHROMIUM, FLAGS, need_chromium  # noqa: E402
from tests.serving.server import running_server  # noqa: E402


@pytest.fixture(scope="module")
def page_url(tiny_model, tmp_path_factory):
    need_chromium()
    brands = tmp_path_factory.mktemp("brands") / "brands.txt"
    brands.write_text("特步\tXtep\n", encoding="utf-8")
    with running_server(tiny_model, "--canonical", str(brands)) as (url, _):
        yield url


@contextmanager
def opened(page_url: str) -> Iterator:
    """The web page in a fresh headless Chromium, closed afterwards."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(page_url + "/")
            yield page
        finally:
            browser.close()


def test_a_typed_sentence_comes_back_with_the_brand_highlighted(page_url, tmp_path):
    with opened(page_url) as page:
        page.wait_for_selector("#legend [data-type='SHOE']")  # the model's types came in
        page.fill("#input", "我买了特步鞋")
        page.click("#tag")
        mark = page.wait_for_selector("#text mark.entity")
        assert mark.get_attribute("data-type") == "SHOE"
        assert mark.evaluate("node => node.firstChild.textContent") == "特步"
        title = mark.get_attribute("title")
        assert title.startswith("SHOE = Xtep ") and 0 < float(title.split()[3]) <= 1  # hover: type, brand, score
        assert page.inner_text("#text").replace("SHOE", "") == "我买了特步鞋"
        cells = page.locator("#entities tbody tr").first.locator("td").all_inner_texts()
        assert cells[:5] == ["特步", "SHOE", "Xtep", "3", "5"]  # the brand list's canonical name
        legend = page.locator("#legend [data-type='SHOE']")
        assert legend.evaluate("n => getComputedStyle(n).backgroundColor") == \
            mark.evaluate("n => getComputedStyle(n).backgroundColor")  # the legend explains the colour
        page.screenshot(path=str(tmp_path / "page.png"))


def test_text_is_shown_as_text_not_html(page_url):
    with opened(page_url) as page:
        page.fill("#input", "<b>耐克</b>")
        page.click("#tag")
        page.wait_for_function("document.querySelector('#text').textContent.includes('<b>')")
        assert page.locator("#text b").count() == 0
        assert page.inner_text("#error") == ""


def test_marks_count_characters_past_an_emoji(page_url):
    """Offsets count code points; the page must not slice by JavaScript's UTF-16 units."""
    with opened(page_url) as page:
        page.wait_for_selector("#legend [data-type='SHOE']")
        page.evaluate("""showResult({string: "😀我买了特步鞋", entities: [
            {word: "特步", type: "SHOE", start: 4, end: 6}]})""")
        mark = page.wait_for_selector("#text mark.entity")
        assert mark.evaluate("node => node.firstChild.textContent") == "特步"
        assert page.inner_text("#text").replace("SHOE", "") == "😀我买了特步鞋"
