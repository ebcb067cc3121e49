"""benchmarks/tag_stream.py: the memory it samples, the output check, and a small run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from benchmarks.tag_stream import check_output, process_tree, resident_mb
from tests.conftest import REPO

SCRIPT = REPO / "benchmarks" / "tag_stream.py"


def test_process_tree_holds_the_children_of_children():
    code = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'import time; time.sleep(30)'])"
    with subprocess.Popen([sys.executable, "-c", code]) as child:
        try:
            for _ in range(100):  # until the grandchild has started
                tree = process_tree(child.pid)
                if len(tree) == 2:
                    break
                time.sleep(0.05)
            assert tree[0] == child.pid and len(tree) == 2
            assert child.pid in process_tree(os.getpid())
            assert all(resident_mb(pid) > 1 for pid in tree)
        finally:
            for pid in process_tree(child.pid)[::-1]:
                os.kill(pid, 9)
    assert resident_mb(child.pid) == 0.0  # reaped: no memory to read


def test_check_output_names_the_first_line_out_of_order(tmp_path):
    source, target = tmp_path / "in.txt", tmp_path / "out.jsonl"
    source.write_text("我买了特步鞋\n今天天气不错\n华为\n", encoding="utf-8")
    target.write_text("".join(json.dumps({"string": t, "entities": []}, ensure_ascii=False) + "\n"
                              for t in ("我买了特步鞋", "华为", "今天天气不错")), encoding="utf-8")
    with pytest.raises(SystemExit, match=r"out.jsonl:2: not the result for line 2"):
        check_output(source, target)
    target.write_text(target.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
    with pytest.raises(ValueError):  # a line missing
        check_output(source, target)


@pytest.mark.slow
def test_tag_stream_benchmark_runs_on_a_tiny_model(tiny_model, shared_data, tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--model", str(tiny_model), "--lines", "40", "300",
                             "--workers", "2", "--data-dir", str(shared_data), "--no-write"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[:2] for row in rows] == [["| 40", "2"], ["| 300", "2"]]
    for row in rows:
        cells = row.strip("| ").split(" | ")
        assert float(cells[3]) > 0 and float(cells[4]) >= float(cells[5]) > 0
    assert "Command: `python" in result.stdout
