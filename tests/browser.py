"""Opening a file in a real headless Chromium (Debian's: Playwright's own browser download needs a
network this machine may not have), with every request recorded and any beyond the file refused."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = os.environ.get("BRANDNER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# No background networking: on a closed network Chromium's own connections are refused many at a time.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium "
                    "(or set BRANDNER_CHROMIUM)")


@dataclass
class Opened:
    page: Any  # playwright's Page
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    refused: list[str] = field(default_factory=list)  # those not file: URLs, aborted
    failures: list[str] = field(default_factory=list)  # uncaught script errors


@contextmanager
def offline_page(path: Path, viewport: dict | None = None) -> Iterator[Opened]:
    """``path`` loaded in a fresh headless Chromium that may read files only; closed afterwards."""
    from playwright.sync_api import sync_playwright

    need_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            opened = Opened(browser.new_page(viewport=viewport) if viewport else browser.new_page())
            opened.page.on("request", lambda request: opened.requests.append(request.url))
            opened.page.on("pageerror", lambda error: opened.failures.append(str(error)))
            opened.page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                              else (opened.refused.append(route.request.url), route.abort()))
            opened.page.goto(path.as_uri())
            opened.page.wait_for_load_state("load")
            yield opened
        finally:
            browser.close()
