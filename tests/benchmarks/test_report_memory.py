"""benchmarks/report_memory.py: the tagged lines it generates are what `brandner tag` writes, and a
small run of the whole script measures, checks and prints its table."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks.report_memory import Generated, canonical_names, tagged_lines
from brandner.data.sentence import Sentence, Span
from brandner.reports.mentions import count_mentions
from brandner.reports.tagged import Tagged
from tests.conftest import REPO

SCRIPT = REPO / "benchmarks" / "report_memory.py"
SENTENCES = [Sentence("耐克跑鞋", (Span(0, 2, "HP"), Span(2, 4, "HC"))), Sentence("特步卫衣", (Span(0, 2, "HP"),)),
             Sentence("nike袜子", (Span(0, 4, "HP"), Span(4, 6, "HC"))), Sentence("回力鞋", (Span(0, 2, "HP"),)),
             Sentence("特步", (Span(0, 2, "HP"),))]


def test_the_generated_lines_are_tagged_posts_with_canonical_names_and_dates():
    canonical = canonical_names(SENTENCES, brands=1)
    assert canonical == {"特步": "特步", "耐克": "Nike", "nike": "Nike"}  # the most frequent HP word, the Latin aliases
    counted: list[Generated] = []
    lines = list(tagged_lines(SENTENCES, canonical, 3000, counted=counted))
    records = [json.loads(line) for line in lines]
    assert records[999] == {"error": "posts.jsonl:1000: not UTF-8 text", "line": 1000}
    assert records[0]["string"] == "耐克跑鞋" and records[0]["entities"][0]["canonical"] == "Nike"
    assert records[2]["entities"][0]["canonical"] == "Nike" and "canonical" not in records[3]["entities"][0]
    assert all(0.5 <= e["score"] <= 1 for r in records[:20] for e in r["entities"])
    dated = [r["date"] for r in records if "date" in r]
    assert 0.9 < len(dated) / len(records) < 1 and all(d.startswith("2025-") for d in dated)
    counts = count_mentions([Tagged("g", i, r) for i, r in enumerate(records, 1)], time_field="date")
    assert counted == [Generated(3000, counts.posts, counts.error_records, counts.total_mentions)]
    assert (counts.posts, counts.error_records) == (2997, 3)
    assert counts.mentions[("Nike", "HP")] == 1200 and counts.mentions[("回力", "HP")] == 600
    assert counts.mentions[("特步", "HP")] == 1197  # lines 1000, 2000 and 3000 (特步 posts) are errors


def test_a_small_run_measures_and_checks(shared_data, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")  # the report of this checkout
    result = subprocess.run([sys.executable, str(SCRIPT), "--lines", "300", "3000", "--data-dir", str(shared_data),
                             "--no-write"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[0] for row in rows] == ["| 300", "| 3,000"]
    for row in rows:
        cells = row.strip("| ").split(" | ")
        assert float(cells[2]) > 0 and float(cells[4]) > 10  # seconds; MB: a Python process at least
    assert rows[0].split(" | ")[5] == "1.00"
    assert "Command: `python benchmarks/report_memory.py --lines 300 3000" in result.stdout
