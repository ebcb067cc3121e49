"""Label Studio: predictions built from brandner's entities, exports read, tasks written."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from brandner.data.formats import guess_format, read_file, write_file
from brandner.data.labelstudio import annotated_task, predicted_task, prediction
from brandner.data.sentence import Sentence, Span
from brandner.errors import InputFileError


def test_a_prediction_carries_each_entity_with_its_offsets_type_and_score():
    entities = [{"word": "特步", "type": "SHOE", "start": 3, "end": 5, "score": 0.91},
                {"word": "李宁", "type": "HP", "start": 6, "end": 8}]
    made = prediction(entities, "ecommerce-1", score=0.5)
    assert made["model_version"] == "ecommerce-1" and made["score"] == 0.5
    first, second = made["result"]
    assert first == {"id": "e0", "from_name": "label", "to_name": "text", "type": "labels", "score": 0.91,
                     "value": {"start": 3, "end": 5, "text": "特步", "labels": ["SHOE"]}}
    assert "score" not in second and second["id"] == "e1"


def test_names_of_the_labelling_config_are_used_and_no_score_is_left_out():
    made = prediction([], "m", from_name="brand", to_name="title")
    assert made == {"model_version": "m", "result": []}
    one = prediction([{"word": "a", "type": "T", "start": 0, "end": 1}], "m", from_name="brand", to_name="title")
    assert one["result"][0]["from_name"] == "brand" and one["result"][0]["to_name"] == "title"


# ---------------------------------------------------------------- reading exports

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "annotation"
EXPORT = FIXTURES / "labelstudio-export.json"
# What the hand-made export holds: tasks 104 (not annotated) and 107 (cancelled) are skipped.
EXPECTED = [
    Sentence("😀我买了特步鞋，推荐李宁", (Span(4, 6, "SHOE"), Span(10, 12, "SHOE"))),  # 😀 is one character
    Sentence("昨天在店里\r\n看到华为和小米", (Span(9, 11, "DIGITAL"), Span(12, 14, "DIGITAL"))),  # \r\n is two
    Sentence("耐克的新款不错", (Span(0, 2, "SHOE"),)),  # the latest annotation not cancelled, first in the list
    Sentence("苹果手机真好用", (Span(0, 2, "DIGITAL"),)),  # the text under data[to_name]
    Sentence("这双鞋一般"),  # annotated, nothing there
]


def task(text: str = "我买了特步鞋", *results: dict, **annotation: object) -> dict:
    return {"id": 12, "data": {"text": text}, "annotations": [{"result": list(results), **annotation}]}


def labels(start: int, end: int, *types: str, text: str | None = None, **extra: object) -> dict:
    value: dict = {"start": start, "end": end, "labels": list(types)}
    if text is not None:
        value["text"] = text
    return {"type": "labels", "from_name": "label", "to_name": "text", "value": value, **extra}


def write_tasks(tmp_path: Path, tasks: list[dict], lines: bool = False, name: str = "export.json") -> Path:
    path = tmp_path / name
    if lines:
        path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks), encoding="utf-8")
    else:
        path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def read_error(path: Path, **options: object) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        read_file(path, **options)
    return caught.value


def test_the_hand_made_export_reads_as_label_studio_shows_it(caplog):
    with caplog.at_level(logging.INFO, logger="brandner"):
        result = read_file(EXPORT)
    assert result.sentences == EXPECTED and result.skipped == 2
    assert "skipped 2 tasks without an annotation" in caplog.text
    assert read_file(EXPORT, fmt="labelstudio").sentences == EXPECTED


def test_one_task_a_line_reads_as_the_array(tmp_path):
    tasks = json.loads(EXPORT.read_text(encoding="utf-8"))
    path = write_tasks(tmp_path, tasks, lines=True, name="export.jsonl")
    assert guess_format(path.read_text(encoding="utf-8").split("\n")) == "labelstudio"
    assert read_file(path).sentences == EXPECTED
    minified = tmp_path / "min.json"
    minified.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    assert read_file(minified).sentences == EXPECTED


@pytest.mark.parametrize("stamps, expected", [
    ([("updated_at", "2024-05-02T00:00:00Z"), ("updated_at", "2024-05-01T00:00:00Z")], "特步"),
    ([("created_at", "2024-05-01T00:00:00Z"), ("created_at", "2024-05-02T00:00:00+00:00")], "买了"),
    ([("updated_at", "2024-05-02T08:00:00+08:00"), ("updated_at", "2024-05-01T23:30:00")], "特步"),  # 00:00 UTC
    ([("updated_at", "2024-05-01T00:00:00Z"), None], "买了"),  # one without a time: the last in the list
    ([("updated_at", "not a time"), ("updated_at", "2024-05-01T00:00:00Z")], "买了"),
])
def test_the_latest_annotation_counts(tmp_path, stamps, expected):
    annotations = []
    for (start, end, word), stamp in zip([(3, 5, "特步"), (1, 3, "买了")], stamps):
        annotation: dict = {"result": [labels(start, end, "X", text=word)], "was_cancelled": False}
        if stamp:
            annotation[stamp[0]] = stamp[1]
        annotations.append(annotation)
    path = write_tasks(tmp_path, [{"id": 1, "data": {"text": "我买了特步鞋"}, "annotations": annotations}])
    (sentence,) = read_file(path).sentences
    assert [sentence.text[s.start:s.end] for s in sentence.spans] == [expected]


def test_cancelled_annotations_are_passed_over_and_a_task_of_nothing_else_skipped(tmp_path):
    cancelled = {"result": [labels(3, 5, "X")], "was_cancelled": True, "updated_at": "2030-01-01T00:00:00Z"}
    kept = {"result": [labels(1, 3, "Y")], "was_cancelled": False, "updated_at": "2020-01-01T00:00:00Z"}
    tasks = [{"id": 1, "data": {"text": "我买了特步鞋"}, "annotations": [cancelled, kept]},
             {"id": 2, "data": {"text": "鞋"}, "annotations": [cancelled]},
             {"id": 3, "data": {"text": "鞋"}},
             {"id": 4, "data": {"text": "鞋"}, "predictions": [{"result": [labels(0, 1, "X")]}]}]
    result = read_file(write_tasks(tmp_path, tasks))
    assert result.sentences == [Sentence("我买了特步鞋", (Span(1, 3, "Y"),))] and result.skipped == 3


def test_only_labels_results_are_entities_and_the_text_is_found_by_to_name(tmp_path):
    tasks = [{"id": 1, "data": {"title": "特步", "body": "我买了特步鞋"}, "annotations": [{"result": [
                 {"type": "choices", "to_name": "title", "value": {"choices": ["a"]}},
                 {"type": "relation", "from_id": "a", "to_id": "b"},
                 {**labels(3, 5, "SHOE", text="特步"), "to_name": "body"}]}]},
             {"id": 2, "data": {"headline": "李宁", "n": 3}, "annotations": [{"result": []}]}]
    assert read_file(write_tasks(tmp_path, tasks)).sentences == [
        Sentence("我买了特步鞋", (Span(3, 5, "SHOE"),)), Sentence("李宁")]


def test_several_labels_on_one_region_follow_the_overlap_policy():
    path = FIXTURES / "labelstudio-overlapping.json"
    error = read_error(path)
    assert str(error) == (f"{path}:2: task 201: entities overlap: PRODUCT '安踏鞋子' at 0..4 and SHOE '安踏' at 0..2")
    result = read_file(path, overlaps="outer")
    assert result.sentences == [Sentence("安踏鞋子推荐给大家", (Span(0, 4, "PRODUCT"),)),
                                Sentence("华为手机真好用", (Span(0, 2, "BRAND"),))] and result.dropped == 2


@pytest.mark.parametrize("lines", [False, True])
def test_a_result_whose_text_differs_names_the_task_and_its_line(tmp_path, lines):
    # Label Studio before it counted code points gave UTF-16 offsets: one too far after an emoji.
    bad = task("😀我买了特步鞋", labels(5, 7, "SHOE", text="特步"))
    path = write_tasks(tmp_path, [task(), bad], lines=lines)
    error = read_error(path)
    line = 2 if lines else path.read_text(encoding="utf-8").split("\n").index("  {", 2) + 1
    assert str(error) == (f"{path}:{line}: task 12, result 1: 'text' '特步' differs from the text there, '步鞋'")


@pytest.mark.parametrize("bad, message", [
    ({"id": 5, "data": "我买了"}, "task 5: 'data' must be an object holding the text, got '我买了'"),
    ({"data": {"a": "x", "b": "y"}, "annotations": [{"result": []}]},
     "task number 2 (no id): no 'text' in 'data' and 2 string fields, ['a', 'b']: which is the text cannot be told"),
    ({"id": "t", "data": {"text": 3}, "annotations": [{"result": []}]}, "task 't': data field 'text' must be a string"),
    ({"id": 5, "data": {"text": "ab"}, "annotations": {}}, "task 5: 'annotations' must be a list"),
    ({"id": 5, "data": {"text": "ab"}, "annotations": [3]}, "task 5: an annotation is not an object"),
    ({"id": 5, "data": {"text": "ab"}, "annotations": [{"result": {}}]}, "task 5: an annotation's 'result' must be"),
    ({"id": 5, "data": {"text": "ab"}, "annotations": [{"result": [1]}]}, "task 5: result 1 is not an object"),
    (task("ab", labels(0, 1)), "task 12, result 1: 'labels' must be a non-empty list of types, got []"),
    (task("ab", {"type": "labels", "id": "q", "value": 3}), "task 12, result 'q': 'value' must be an object"),
    (task("ab", labels(0, 3, "X")), "task 12, result 1: span 0..3 is empty or outside the text of 2 characters"),
    (task("ab", labels(0, "1", "X")), "task 12, result 1: start and end must be integers, got 0 and '1'"),
    (task("ab", labels(0, 1, "B-X Y")), "task 12, result 1: entity type 'B-X Y'"),
    (task("ab", {**labels(0, 1, "X"), "to_name": "a"}, {**labels(1, 2, "X"), "to_name": "b"}) | {
        "data": {"a": "xy", "b": "zw"}}, "task 12: results label 2 texts, ['a', 'b']; brandner reads one"),
    ([1, 2], "expected a JSON object, got an array"),
])
def test_a_malformed_task_is_one_line_naming_it(tmp_path, bad, message):
    path = write_tasks(tmp_path, [bad], lines=True, name="bad.jsonl")
    path.write_text('{"id": 0, "data": {"text": "a"}, "annotations": []}\n' + path.read_text(encoding="utf-8"),
                    encoding="utf-8")
    error = read_error(path, fmt="labelstudio")
    assert str(error).startswith(f"{path}:2: {message}") and "\n" not in str(error)
    if not isinstance(bad, list):
        array = write_tasks(tmp_path, [{"id": 0, "data": {"text": "a"}}, bad], name="bad.json")
        error = read_error(array)
        assert error.line > 2 and error.message.startswith(message)


@pytest.mark.parametrize("text, line, message", [
    ('[\n  {"id": 1, "data": {"text": "a"}},\n  {"id": 2, "data": \n]\n', 4, "invalid JSON: Expecting value"),
    ('[\n  {"id": 1, "data": {"text": "a"}}\n  {"id": 2}\n]\n', 3, "invalid JSON: expected ',' or ']'"),
    ('[{"id": 1, "data": {"text": "a"}},]', 1, "invalid JSON: Expecting value"),
    ('[\n  {"id": 1, "data": {"text": "a"}}\n', 3, "invalid JSON: expected ',' or ']' after an element of the array, "
                                                 "got the end of the file"),
    ('[{"id": 1, "data": {"text": "a"}}]\n[]\n', 2, "invalid JSON: more after the array's closing ']'"),
    ('[\n  {"id": 1, "data": {"text": "a"}, "x": ' + "[" * 150 + "]" * 150 + "}\n]", 2, "JSON nested deeper"),
    ('[\n\n  {"id": 1, "data": {"text": "a"}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n]", 3,
     "JSON nested deeper"),
    ('[\n  {"id": 1, "data": {"text": "a"}, "x": ' + "1" * 5000 + "}\n]", 2, "invalid JSON: exceeds the limit"),
    ('[\n  {"id": 1, "data": {"text": "\\ud800"}}\n]', 2, "a \\u escape for half of a surrogate pair"),
])
def test_a_broken_array_is_an_error_at_its_line(tmp_path, text, line, message):
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    error = read_error(path, fmt="labelstudio")
    assert error.line == line and error.message.startswith(message), str(error)


# ---------------------------------------------------------------- writing tasks


def test_annotated_tasks_round_trip_and_a_sentence_without_entities_stays_annotated(tmp_path):
    path = tmp_path / "tasks.json"
    write_file(EXPECTED, path, "labelstudio")
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert tasks[0] == annotated_task(EXPECTED[0]) and tasks[4] == {"data": {"text": "这双鞋一般"},
                                                                     "annotations": [{"result": []}]}
    assert tasks[0]["annotations"][0]["result"][1]["value"] == {"start": 10, "end": 12, "text": "李宁",
                                                                 "labels": ["SHOE"]}
    assert path.read_text(encoding="utf-8").count("\n") == len(EXPECTED) + 2  # [, a task a line, ]
    assert read_file(path).sentences == EXPECTED
    write_file([], path, "labelstudio")
    assert path.read_text(encoding="utf-8") == "[\n]\n" and json.loads(path.read_text(encoding="utf-8")) == []


def test_a_tagged_text_becomes_a_task_with_a_prediction_scored_by_its_weakest_entity():
    tagged = {"string": "我买了特步鞋", "id": 7, "entities": [
        {"word": "特步", "type": "SHOE", "start": 3, "end": 5, "score": 0.9},
        {"word": "鞋", "type": "X", "start": 5, "end": 6, "score": 0.25}]}
    made = predicted_task(tagged, "tiny")
    assert made["data"] == {"id": 7, "text": "我买了特步鞋"}
    (predicted,) = made["predictions"]
    assert predicted["model_version"] == "tiny" and predicted["score"] == 0.25
    assert [r["score"] for r in predicted["result"]] == [0.9, 0.25]
    unscored = predicted_task({"string": "鞋", "entities": [{"word": "鞋", "type": "X", "start": 0, "end": 1}]}, "m")
    assert "score" not in unscored["predictions"][0]
    assert "score" not in predicted_task({"string": "", "entities": []}, "m")["predictions"][0]


@pytest.mark.parametrize("first_line, fmt", [
    ("[", "labelstudio"), ('[{"id": 1, "data": {"text": "a"}}]', "labelstudio"), ("[ ]", "labelstudio"),
    ('{"id": 1, "data": {"text": "a"}, "annotations": []}', "labelstudio"),
    ('{"data": {"text": "a"}, "predictions": []}', "labelstudio"),
    ("[\tO", "columns"), ("[ O", "columns"), ('{"text": "a", "data": {}}', "jsonl"),
])
def test_label_studio_is_told_by_content(first_line, fmt):
    assert guess_format(["", first_line]) == fmt
