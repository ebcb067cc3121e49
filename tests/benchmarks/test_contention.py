"""benchmarks/contention.py: a competing process beside a timed run, and the table of shares."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.contention import beside, table


def test_the_competitor_runs_during_the_timed_run_and_is_gone_after_it():
    seen = []

    def run() -> float:
        listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        seen.append("while True: pass" in listing)
        return 1.0

    assert beside([sys.executable, "-c", "while True: pass"], run) == 1.0 and seen == [True]
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "while True: pass" not in listing
    assert beside(None, lambda: 2.0) == 2.0


def test_the_table_gives_busy_rates_as_shares_of_quiet_and_quiet_as_multiples_of_the_reference():
    rates = {"brandner, defaults": {"quiet": 400.0, "a busy loop": 200.0, "torch, 2 threads": 100.0},
             "reference (pytorch-crf)": {"quiet": 100.0, "a busy loop": 25.0, "torch, 2 threads": 10.0}}
    text = table("training", rates, "sentences/s")
    assert "| brandner, defaults | 400 | 4.00 | 200 (0.50 of quiet, 2.0x slower) | 100 (0.25 of quiet, 4.0x slower) |" \
        in text
    assert "| reference (pytorch-crf) | 100 | 1.00 | 25 (0.25 of quiet, 4.0x slower)" in text
