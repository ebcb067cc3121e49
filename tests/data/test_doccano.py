"""doccano's sequence-labelling JSONL, in both shapes: read, told by content, written, and its errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from brandner.data.formats import guess_format, read_file, write_file
from brandner.data.sentence import Sentence, Span
from brandner.errors import InputFileError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "annotation"
EXPECTED = [
    Sentence("😀我买了特步鞋，推荐李宁", (Span(4, 6, "SHOE"), Span(10, 12, "SHOE"))),  # 😀 is one character
    Sentence("昨天在店里\r\n看到华为和小米", (Span(9, 11, "DIGITAL"), Span(12, 14, "DIGITAL"))),  # \r\n is two
    Sentence("这双鞋一般"),
    Sentence("苹果手机真好用", (Span(0, 2, "DIGITAL"),)),
]


def put(tmp_path: Path, *records: dict | str) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                            for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["doccano-label.jsonl", "doccano-entities.jsonl"])
def test_both_shapes_read_alike_and_warn_of_entities_after_an_emoji(name, caplog):
    path = FIXTURES / name
    assert guess_format(path.read_text(encoding="utf-8").split("\n")) == "doccano"
    with caplog.at_level(logging.WARNING, logger="brandner"):
        assert read_file(path).sentences == EXPECTED
    assert "2 entities end after a character beyond U+FFFF" in caplog.text
    assert read_file(path, fmt="doccano").sentences == EXPECTED


def test_written_in_the_label_shape_and_read_back(tmp_path):
    path = tmp_path / "out.jsonl"
    write_file(EXPECTED, path, "doccano")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"text": "😀我买了特步鞋，推荐李宁", "label": [[4, 6, "SHOE"], [10, 12, "SHOE"]]}
    assert json.loads(lines[2]) == {"text": "这双鞋一般", "label": []}
    assert read_file(path).sentences == EXPECTED


def test_overlapping_entities_follow_the_overlap_policy():
    path = FIXTURES / "doccano-overlapping.jsonl"
    with pytest.raises(InputFileError, match="1: entities overlap: PRODUCT '安踏鞋子' at 0..4 and SHOE '安踏' at 0..2"):
        read_file(path)
    result = read_file(path, overlaps="outer")
    assert result.sentences == [Sentence("安踏鞋子推荐给大家", (Span(0, 4, "PRODUCT"),))] and result.dropped == 1


@pytest.mark.parametrize("first_line, fmt", [
    ('{"text": "a", "label": []}', "doccano"), ('{"text": "a", "label": [[0, 1, "X"]]}', "doccano"),
    ('{"text": "a", "entities": [{"start_offset": 0, "end_offset": 1, "label": "X"}]}', "doccano"),
    ('{"text": "a", "entities": [{"start": 0, "end": 1, "type": "X"}]}', "jsonl"),
    ('{"text": "a", "label": {}}', "cluener"),
])
def test_doccano_is_told_by_content(first_line, fmt):
    assert guess_format(['{"text": "今天", "entities": []}', first_line]) == fmt


@pytest.mark.parametrize("record, message", [
    ({"text": "ab", "label": [[0, 1]]}, "label 1: expected [start, end, type], got [0, 1]"),
    ({"text": "ab", "label": [[0, 3, "X"]]}, "label 1: span 0..3 is empty or outside the text of 2 characters"),
    ({"text": "😀ab", "label": [[1, 4, "X"]]}, "label 1: span 1..4 is empty or outside the text of 3 characters; "
                                              "the text has a character beyond U+FFFF, which doccano's editor "
                                              "counts as two (doccano issue 2290)"),
    ({"text": "ab", "label": [[0, 1, ""]]}, "label 1: the entity type is empty"),
    ({"text": "ab", "label": 3}, "'label' must be a list of [start, end, type]"),
    ({"text": "ab", "entities": 3}, "'entities' must be a list of {start_offset, end_offset, label}"),
    ({"text": "ab", "entities": [3]}, "entity 1 is not an object"),
    ({"text": "ab", "entities": [{"id": 9, "start_offset": 0, "end_offset": "1", "label": "X"}]},
     "entity 9: start and end must be integers, got 0 and '1'"),
    ({"text": "ab", "label": [[0, 1, "X"]], "entities": [{"start_offset": 0, "end_offset": 1, "label": "X"}]},
     "both 'label' and 'entities'"),
    ({"text": 3, "label": []}, "'text' must be a string"),
])
def test_a_bad_record_is_one_line_at_its_line(tmp_path, record, message):
    path = put(tmp_path, {"text": "ok", "label": []}, record)
    with pytest.raises(InputFileError) as caught:
        read_file(path, fmt="doccano")
    assert str(caught.value).startswith(f"{path}:2: {message}")


def test_a_cluener_label_read_as_doccano_says_so(tmp_path):
    path = put(tmp_path, {"text": "ab", "label": {"X": {"a": [[0, 0]]}}})
    with pytest.raises(InputFileError, match="an object is CLUENER2020's 'label': read it as 'cluener'"):
        read_file(path, fmt="doccano")


def test_a_doccano_label_read_as_jsonl_says_so(tmp_path):
    path = put(tmp_path, {"text": "ab", "label": [[0, 1, "X"]]})
    with pytest.raises(InputFileError, match="this is doccano's format, read it as 'doccano'"):
        read_file(path, fmt="jsonl")
