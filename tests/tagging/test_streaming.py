"""Reading `brandner tag -i` input: line ends, UTF-8 errors by line, byte-order marks, JSON escapes;
bad lines passed along in their place, and tagging that stops at one or skips it."""

from __future__ import annotations

import io
import json

import pytest

from brandner.errors import BrandnerError, InputFileError
from brandner.tagging.streaming import (
    BadLine,
    read_documents,
    tag_documents,
    tag_documents_parallel,
)
from brandner.tagging.tagger import Tagger


def documents(data: bytes, tmp_path) -> list:
    """The documents of a file, or the error of its first bad line."""
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    with path.open("rb") as handle:  # as `brandner tag -i` opens it
        items = list(read_documents(handle, str(path)))
    for item in items:
        if isinstance(item, BadLine):
            raise item.error
    return items


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


# ---------------------------------------------------------------- bad lines


DEEP = '{"string": "特步", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
LONG_NUMBER = '{"string": "特步", "n": ' + "1" * 5000 + "}"
TOO_DEEP = '{"string": "a", "x": ' + "[" * 150 + "]" * 150 + "}"  # Python reads it, the limit is 100
BAD = [b'{"string": \n', b'{"text": 7}\n', b"\xff\n", b"[1]\n"]


def mixed_input(count: int, bad_at: dict[int, bytes]) -> list[bytes]:
    """JSON lines ``{"string": "我买了特步鞋N", "n": N}``, with the given raw lines at some (1-based) numbers."""
    return [bad_at.get(n, json.dumps({"string": f"我买了特步鞋{n}", "n": n}, ensure_ascii=False).encode() + b"\n")
            for n in range(1, count + 1)]


def test_a_bad_line_is_passed_along_in_its_place_and_reading_goes_on():
    items = list(read_documents(mixed_input(6, dict(zip((2, 3, 4, 5), BAD))), "in.jsonl"))
    assert items[0] == ("我买了特步鞋1", {"n": 1}) and items[5] == ("我买了特步鞋6", {"n": 6})
    bad = items[1:5]
    assert all(isinstance(item, BadLine) for item in bad)
    assert [str(item.error) for item in bad] == [
        "in.jsonl:2: invalid JSON: Expecting value (column 12)",
        "in.jsonl:3: expected a 'string' or 'text' field holding a string",
        "in.jsonl:4: not UTF-8 text",
        "in.jsonl:5: expected a JSON object, got an array"]
    assert json.loads(bad[2].record()) == {"error": "in.jsonl:4: not UTF-8 text", "line": 4}


@pytest.mark.parametrize("line", [DEEP, LONG_NUMBER, TOO_DEEP])
def test_tag_input_past_pythons_limits_is_a_bad_line(line):
    raw = io.BytesIO(('{"string": "ok"}\n' + line + '\n{"string": "好"}\n').encode())
    items = list(read_documents(raw, "in.jsonl"))
    assert items[0] == ("ok", {}) and items[2] == ("好", {})
    assert isinstance(items[1], BadLine) and str(items[1].error).startswith("in.jsonl:2: ")


def test_a_deep_first_line_still_makes_the_input_json_lines():
    items = list(read_documents(io.BytesIO((DEEP + '\n{"string": "好"}\n').encode()), "in.jsonl"))
    assert isinstance(items[0], BadLine) and items[1] == ("好", {})


@pytest.fixture(scope="module")
def tagger(tiny_model) -> Tagger:
    return Tagger.load(tiny_model)


def expected_lines(tagger: Tagger, count: int) -> list[str]:
    return list(tag_documents(tagger, [(f"我买了特步鞋{n}", {"n": n}) for n in range(1, count + 1)]))


@pytest.mark.parametrize("bad_line", [1, 7, 8, 9, 30])
def test_fail_writes_every_line_before_the_bad_one_then_raises(tagger, bad_line):
    tagged: list[str] = []
    items = read_documents(mixed_input(30, {bad_line: b"{broken\n"}), "in.jsonl")
    with pytest.raises(InputFileError, match=f"^in.jsonl:{bad_line}: invalid JSON"):
        for line in tag_documents(tagger, items, chunk_size=8):
            tagged.append(line)
    assert tagged == expected_lines(tagger, bad_line - 1)


def test_fail_reads_nothing_after_the_bad_line(tagger):
    read = []

    def lines():
        for number, raw in enumerate(mixed_input(30, {5: b"{broken\n"}), start=1):
            read.append(number)
            yield raw

    with pytest.raises(InputFileError):
        list(tag_documents(tagger, read_documents(lines(), "in.jsonl"), chunk_size=8))
    assert read == [1, 2, 3, 4, 5]


def test_skip_writes_an_error_record_in_each_bad_lines_place(tagger):
    bad_at = {1: b"{broken\n", 8: b"\xfe\n", 9: b'{"n": 9}\n', 30: b"[]\n"}
    out = list(tag_documents(tagger, read_documents(mixed_input(30, bad_at), "in.jsonl"), chunk_size=8,
                             on_error="skip"))
    good = iter(expected_lines(tagger, 30))
    for number, line in enumerate(out, start=1):
        want = next(good)
        if number in bad_at:
            record = json.loads(line)
            assert record["line"] == number and record["error"].startswith(f"in.jsonl:{number}: ")
        else:
            assert line == want


def test_a_chunk_of_bad_lines_only(tagger):
    raw = [b'{"string": "a"}\n'] + [b"{x\n"] * 4
    out = list(tag_documents(tagger, read_documents(raw, "in.jsonl"), chunk_size=2, on_error="skip"))
    assert json.loads(out[0])["string"] == "a" and [json.loads(line)["line"] for line in out[1:]] == [2, 3, 4, 5]


def test_a_broken_first_record_does_not_make_json_lines_plain_text():
    raw = [b"\n", b'{"string": \n', b"\xff\n", b'{"text": "a", "id": 1}\n']
    items = list(read_documents(raw, "in.jsonl"))
    assert items[0] == ("", {}) and items[3] == ("a", {"id": 1})
    assert [str(item.error) for item in items[1:3]] == ["in.jsonl:2: invalid JSON: Expecting value (column 12)",
                                                        "in.jsonl:3: not UTF-8 text"]


@pytest.mark.parametrize("raw", [[b"{sale} shoes\n", b"{x}\n"], [b"{sale} shoes\n", b"Nike\n", b'{"text": "a"}\n'],
                                 [b"{x\n"] * 101 + [b'{"text": "a"}\n']])
def test_lines_starting_with_a_brace_can_be_plain_text(raw):
    assert [text for text, _ in read_documents(raw, "in.txt")] == [line.decode().strip() for line in raw]


def test_on_error_is_checked(tagger):
    with pytest.raises(BrandnerError, match="on_error must be one of fail, skip"):
        list(tag_documents(tagger, [("a", {})], on_error="ignore"))


def test_worker_processes_pass_bad_lines_the_same_way(tiny_model, tagger):
    bad_at = {3: b"{broken\n", 11: b"\xff\n"}
    raw = mixed_input(20, bad_at)
    skipped = list(tag_documents_parallel(str(tiny_model), read_documents(raw, "in.jsonl"), workers=1,
                                          chunk_size=4, on_error="skip"))
    assert skipped == list(tag_documents(tagger, read_documents(raw, "in.jsonl"), chunk_size=4, on_error="skip"))
    tagged: list[str] = []
    with pytest.raises(InputFileError, match="^in.jsonl:3: invalid JSON"):
        for line in tag_documents_parallel(str(tiny_model), read_documents(raw, "in.jsonl"), workers=1, chunk_size=4):
            tagged.append(line)
    assert tagged == skipped[:2]


def test_label_studio_tasks_a_line_are_read_by_their_text_not_as_plain_text():
    tasks = [{"id": 1, "data": {"text": "我买了特步鞋", "source": "weibo"}, "annotations": []},
             {"id": 2, "data": {"content": "推荐耐克"}, "predictions": [{"result": [
                 {"type": "labels", "to_name": "content", "value": {"start": 2, "end": 4, "labels": ["X"]}}]}]},
             {"id": 3, "data": {"a": "x", "b": "y"}}]
    raw = [(json.dumps(t, ensure_ascii=False) + "\n").encode("utf-8") for t in tasks]
    first, second, third = read_documents(raw, "tasks.jsonl")
    assert first == ("我买了特步鞋", {"source": "weibo"}) and second == ("推荐耐克", {})
    assert isinstance(third, BadLine) and str(third.error).startswith("tasks.jsonl:3: task 3: no 'text' in 'data'")
