"""The picture of `brandner report --html` in docs/monitoring.md: a page of realistic counts,
opened in headless Chromium (as tests/reports/test_mention_page_browser.py does) and saved as PNG.

    python benchmarks/report_screenshot.py                      # writes docs/images/report.png
    python benchmarks/report_screenshot.py --lines 2000 --out /tmp/report.png

The posts are benchmarks/report_memory.py's: ecommerce titles with their gold entities as the
tagged entities and canonical names for a few hundred brands; their dates are drawn over twelve
weeks from March 2026, more of them in later weeks. The page comes from the real command line
(``brandner report ... --type HP --time-field date --period week --html``: the brands). The PNG is reduced to 256
colours, which keeps text sharp and the file small. Chromium is Debian's (``BRANDNER_CHROMIUM``
to use another); Chinese shows as boxes where the machine has no Chinese font (Debian:
``apt-get install fonts-wqy-zenhei`` or ``fonts-noto-cjk``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO, brandner_command, default_data_dir  # noqa: E402
from benchmarks.report_memory import canonical_names, tagged_lines  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
FIRST_DAY = datetime.date(2026, 3, 2)  # a Monday
WEEKS = 12


def write_posts(lines: int, data_dir: str, path: Path, seed: int = 0) -> None:
    """``lines`` tagged posts (random titles, dates over :data:`WEEKS` weeks, rising) into ``path``."""
    rng = random.Random(seed)
    sentences = [s for split in ("train", "dev", "test") for s in load_split("ecommerce", split, data_dir)]
    canonical = canonical_names(sentences)
    rng.shuffle(sentences)
    with path.open("w", encoding="utf-8") as out:
        for line in tagged_lines(sentences, canonical, lines, seed):
            record = json.loads(line)
            if "date" in record:
                days = int(rng.betavariate(2.2, 1.6) * 7 * WEEKS)  # more posts in the later weeks
                record["date"] = (FIRST_DAY + datetime.timedelta(days=days)).isoformat()
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def screenshot(page: Path, target: Path, width: int = 1000, height: int = 0) -> None:
    """``page`` in headless Chromium as a 256-colour PNG at ``target``: the whole length, or its
    first ``height`` pixels (the README's picture: the charts, not every table)."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("BRANDNER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    raw = target.with_suffix(".raw.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        try:
            tab = browser.new_page(viewport={"width": width, "height": 800})
            tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                      else route.abort())
            tab.goto(page.as_uri())
            tab.screenshot(path=str(raw), full_page=True)
        finally:
            browser.close()
    with Image.open(raw) as image:
        image = image.crop((0, 0, image.width, min(height, image.height))) if height else image
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    raw.unlink()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20_000, help="tagged posts (default: %(default)s)")
    parser.add_argument("--top", type=int, default=12, help="report --top (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "report.png")
    parser.add_argument("--height", type=int, default=0, help="keep the page's first HEIGHT pixels (default: all)")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        posts, page = folder / "tagged.jsonl", folder / "report.html"
        write_posts(args.lines, args.data_dir, posts)
        command = brandner_command() + ["report", str(posts), "--type", "HP", "--time-field", "date", "--period",
                                        "week", "--top", str(args.top), "--html", str(page),
                                        "--title", "Brand mentions"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"brandner report failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(page, args.out, height=args.height)
    print(f"{args.out}: {args.out.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
