"""benchmarks/scale.py: the output comparison and the memory of a process tree it reports, and a
whole run of the script on the local engine (Spark and Ray are run by tests/engines)."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.scale import PeakMemory, differing, main, read_output


def test_outputs_are_read_in_part_file_order_with_null_fields_dropped(tmp_path):
    folder = tmp_path / "out.jsonl"
    folder.mkdir()
    (folder / "part-00001.json").write_text('{"id": 1, "entities": []}\n', encoding="utf-8")
    (folder / "part-00000.json").write_text(
        '{"id": 0, "entities": [{"word": "特步", "type": "HP", "start": 0, "end": 2, "score": null}]}\n',
        encoding="utf-8")
    (folder / ".part-00000.json.crc").write_bytes(b"\xa4\x00")
    (folder / "_SUCCESS").write_text("")
    (tmp_path / "tag.jsonl").write_text('{"string": "特步", "id": 0, "entities": [{"word": "特步", "type": "HP", '
                                        '"start": 0, "end": 2}]}\n{"id": 1, "entities": []}\n', encoding="utf-8")
    assert read_output(folder) == read_output(tmp_path / "tag.jsonl")
    assert differing(read_output(folder), read_output(tmp_path / "tag.jsonl")[:1]) == 1


def test_peak_memory_counts_the_children_too():
    grandchild = "b = bytearray(300 << 20); import time; time.sleep(2)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    process = subprocess.Popen([sys.executable, "-c", child])
    memory = PeakMemory(process.pid, every=0.1)
    process.wait(timeout=60)
    assert memory.stop() > 300 << 20


def test_the_script_compares_and_reports_the_local_engine(tiny_model, shared_data, capsys):
    main(["-m", str(tiny_model), "--lines", "300", "--small", "100", "--engines", "local", "--backends", "onnx",
          "--data-dir", str(shared_data), "--no-write"])
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| local | ONNX")][-1]
    assert row.endswith("| 0 of 300 |")
