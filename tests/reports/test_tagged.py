"""brandner.reports.tagged: tagged posts read back from files, folders of part files (as Spark and
Ray write them), Parquet and stdin, in order, with the path and line of each."""

from __future__ import annotations

import datetime
import io
import json

import pytest

from brandner.errors import BrandnerError, InputFileError
from brandner.reports import tagged as tagged_module
from brandner.reports.tagged import part_files, read_tagged

POST = {"string": "耐克", "entities": [{"word": "耐克", "type": "HP", "start": 0, "end": 2}]}


def lines(*records) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def test_files_and_stdin_in_the_order_given_with_their_lines(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.txt"  # any name is JSON lines
    first.write_text(lines({"n": 1}, {"n": 2}), encoding="utf-8")
    second.write_text("\ufeff" + lines({"n": 3}) + "\n  \n" + lines({"n": 4}), encoding="utf-8")  # BOM, blanks
    stdin = io.BytesIO(lines({"n": 5}).encode())
    found = [(path, line, record["n"]) for path, line, record in read_tagged([str(first), "-", str(second)], stdin)]
    assert found == [(str(first), 1, 1), (str(first), 2, 2), ("<stdin>", 1, 5), (str(second), 1, 3),
                     (str(second), 4, 4)]


def test_a_folder_of_spark_part_files(tmp_path):
    folder = tmp_path / "tagged.json"
    (folder / "sub").mkdir(parents=True)
    (folder / "part-00001-3f2a-c000.json").write_text(lines({"n": 2}), encoding="utf-8")
    (folder / "part-00000-3f2a-c000.json").write_text(lines({"n": 1}), encoding="utf-8")
    (folder / "sub" / "part-00000.jsonl").write_text(lines({"n": 3}), encoding="utf-8")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000-3f2a-c000.json.crc").write_bytes(b"\x00\xff")
    (folder / "_temporary").mkdir()
    (folder / "_temporary" / "part-00009.json").write_text("not json")
    (folder / "README.md").write_text("not a part")
    assert [r.record["n"] for r in read_tagged([str(folder)])] == [1, 2, 3]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "_SUCCESS").write_text("")
    with pytest.raises(BrandnerError, match=r"empty: a folder without part files to read \(.json, .jsonl, .parquet\)"):
        part_files(str(empty))


def test_parquet_files_and_folders_as_spark_and_ray_write_them(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    entity = pa.struct([("word", pa.string()), ("type", pa.string()), ("start", pa.int32()), ("end", pa.int32()),
                        ("score", pa.float64())])
    table = pa.table({"text": ["耐克鞋", "坏", None],
                      "date": pa.array([datetime.date(2026, 3, 1), None, datetime.date(2026, 3, 2)]),
                      "entities": pa.array([[{"word": "耐克", "type": "HP", "start": 0, "end": 2, "score": None}],
                                            None, []], type=pa.list_(entity)),
                      "error": [None, "RuntimeError: boom", None]})
    folder = tmp_path / "tagged.parquet"
    folder.mkdir()
    pq.write_table(table, folder / "part-00000-1a2b.snappy.parquet", row_group_size=2)
    rows = list(read_tagged([str(folder)]))
    assert [(r.line, r.record["text"], r.record["error"]) for r in rows] == [
        (1, "耐克鞋", None), (2, "坏", "RuntimeError: boom"), (3, None, None)]
    assert rows[0].record["date"] == datetime.date(2026, 3, 1)
    assert rows[0].record["entities"] == [{"word": "耐克", "type": "HP", "start": 0, "end": 2, "score": None}]
    assert rows[0].path.endswith("part-00000-1a2b.snappy.parquet")
    not_parquet = tmp_path / "broken.parquet"
    not_parquet.write_text(lines(POST))
    with pytest.raises(BrandnerError, match="broken.parquet: not a Parquet file that can be read"):
        list(read_tagged([str(not_parquet)]))


def test_pyarrow_missing_is_one_line_saying_so(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def without_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_pyarrow)
    with pytest.raises(BrandnerError, match="x.parquet: reading Parquet needs pyarrow"):
        list(tagged_module.read_tagged([str(tmp_path / "x.parquet")]))


@pytest.mark.parametrize("content, message", [
    (b'{"string": "x", "entities": []}\nnot json\n', r"posts.jsonl:2: invalid JSON"),
    (b'{"a": 1}\n[1, 2]\n', r"posts.jsonl:2: expected a JSON object, got an array"),
    (b'{"a": 1}\n{"a": "\xff"}\n', r"posts.jsonl:2: not UTF-8 text"),
    (b'{"a": 1}\n' + b"[" * 200 + b"]" * 200 + b"\n", r"posts.jsonl:2: "),
])
def test_a_line_that_is_not_a_json_object_names_its_line(tmp_path, content, message):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        list(read_tagged([str(path)]))


def test_a_missing_source_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(read_tagged([str(tmp_path / "nowhere.jsonl")]))
    with pytest.raises(FileNotFoundError):
        list(read_tagged([str(tmp_path / "nowhere.parquet")]))
