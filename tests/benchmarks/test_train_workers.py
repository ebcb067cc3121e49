"""benchmarks/train_workers.py: one process against worker processes, with each worker's time clocked."""

from __future__ import annotations

import re
import subprocess
import sys

from brandner.training import parallel
from tests.conftest import REPO


def test_the_script_prints_the_rates_and_where_a_worker_s_time_goes(tmp_path):
    script = REPO / "benchmarks" / "train_workers.py"
    result = subprocess.run([sys.executable, str(script), "--limit-train", "60", "--epochs", "1", "--no-write",
                             "--workers", "1", "2"], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^\| (\d) \| (\d+) \| ([\d.]+) \| ([\d.]+) \|(.*)$", result.stdout, re.M)
    assert [row[0] for row in rows] == ["1", "2"]
    assert rows[0][2] == "1.00" and rows[0][4].strip(" |") == ""
    gradient, rest, waiting = (float(cell.split()[0]) for cell in rows[1][4].strip(" |").split(" | "))
    assert gradient > 0 and rest >= 0 and waiting >= 0
    assert "Command: `python" in result.stdout


def test_the_clocks_leave_the_methods_as_they_were():
    from benchmarks.train_workers import WorkerClocks

    before = (parallel.ParallelSteps.train_work, parallel.ParallelSteps.worker_gradient, parallel.SpinBarrier.wait)
    with WorkerClocks(2):
        assert parallel.SpinBarrier.wait is not before[2]
    assert (parallel.ParallelSteps.train_work, parallel.ParallelSteps.worker_gradient, parallel.SpinBarrier.wait) == before
