"""Reading `brandner tag -i` input: line ends, UTF-8 errors by line, byte-order marks, JSON escapes."""

from __future__ import annotations

import pytest

from brandner.errors import InputFileError
from brandner.tagging.streaming import read_documents


def documents(data: bytes, tmp_path) -> list:
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    with path.open("rb") as handle:  # as `brandner tag -i` opens it
        return list(read_documents(handle, str(path)))


def test_a_byte_that_is_not_utf8_is_reported_on_its_own_line(tmp_path):
    lines = "".join(f"我买了特步鞋{i}\n" for i in range(3000)).encode()
    with pytest.raises(InputFileError, match=r"in.txt:2001: not UTF-8 text"):
        documents(lines.replace("鞋2000".encode(), b"\xff2000"), tmp_path)


def test_lines_end_at_line_feeds_only(tmp_path):
    found = documents("我买了特步鞋\r华为手机\r\n小米\n".encode(), tmp_path)
    assert found == [("我买了特步鞋\r华为手机", {}), ("小米", {})]
    as_json = '{"string": "华为手机",\r "id": 1}\n'.encode()  # a carriage return is JSON whitespace
    assert documents(as_json, tmp_path) == [("华为手机", {"id": 1})]


def test_a_byte_order_mark_is_dropped(tmp_path):
    bom = b"\xef\xbb\xbf"
    assert documents(bom + "我买了特步鞋\n".encode(), tmp_path) == [("我买了特步鞋", {})]
    assert documents(bom + '{"string": "华为", "id": 7}\n'.encode(), tmp_path) == [("华为", {"id": 7})]


def test_json_escapes_must_stand_for_characters(tmp_path):
    pair = documents(b'{"string": "\\ud83d\\ude00\\u534e\\u4e3a", "note": "\\u00e9"}\n', tmp_path)
    assert pair == [("😀华为", {"note": "é"})]
    for line in (b'{"string": "\\ud800abc"}\n', b'{"string": "abc", "note": "\\udfff"}\n'):
        with pytest.raises(InputFileError, match=r"in.txt:1: a \\u escape for half of a surrogate pair"):
            documents(line, tmp_path)
