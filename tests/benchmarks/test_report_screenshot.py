"""benchmarks/report_screenshot.py: a small run draws a report page in Chromium into a small PNG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import CHROMIUM
from tests.conftest import REPO

SCRIPT = REPO / "benchmarks" / "report_screenshot.py"


@pytest.mark.parametrize("height", [0, 600])
def test_a_small_run_writes_a_png(shared_data, tmp_path, height):
    pytest.importorskip("playwright.sync_api", reason="the test extra is not installed")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium")
    from PIL import Image

    target = tmp_path / "images" / "report.png"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")  # the report of this checkout
    result = subprocess.run([sys.executable, str(SCRIPT), "--lines", "300", "--out", str(target), "--data-dir",
                             str(shared_data), "--height", str(height)],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    with Image.open(target) as image:
        assert image.format == "PNG" and image.mode == "P" and image.width == 1000
        assert image.height == height if height else image.height > 1000  # the page's top, or all of it
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.png"]  # the raw screenshot removed
