"""Fuzzing the readers (hypothesis, a fixed budget, derandomised so CI is repeatable): random bytes,
column lines, JSON records and their mangled text fed to the column, JSON lines, CLUENER, Label Studio
(one task a line, or a JSON array) and doccano readers, to ``tag -i``'s read_documents and
read_task_array and to the word2vec vectors reader. Each either reads or raises InputFileError as one short line
``path:line: what``; nothing else escapes, and what is read holds only valid spans and types."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandner.data.doccano import parse_doccano
from brandner.data.formats import ReadResult, parse_cluener, parse_columns, parse_jsonl, read_file
from brandner.data.labelstudio import parse_labelstudio
from brandner.data.schemes import check_type
from brandner.data.vectors import read_word2vec
from brandner.errors import MESSAGE_LIMIT, InputFileError
from brandner.tagging.streaming import BadLine, read_documents, read_task_array

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
PATH = "fuzz.in"

# Pieces that have broken readers, or could: separators, line ends, control and invisible characters.
ODD = st.sampled_from(["", " ", "\t", "\r", "\x00", "\x0b", "\x85", "\u2028", "\u200b", "\ufeff", "\ufffd", "O",
                       "-", "{", "}", "[", "]", '"', "\\", "\\u", "\\ud800", "\ud800", "0", "特", "😀"])
CHARS = st.one_of(ODD, st.characters(), st.text(max_size=3))
TAGS = st.one_of(st.sampled_from(["O", "B-A", "I-A", "E-A", "S-A", "M-A", "B-B", "E-B", "B-", "-A", "B-O", "X-A",
                                  "B-A\u200b", "I-\x7f", "B-A-B", "b-a", "B-A.NAM"]), st.text(max_size=4))
COLUMN_LINE = st.one_of(st.tuples(CHARS, st.sampled_from(["\t", " ", "  ", "\t "]), TAGS).map("".join),
                        st.just(""), CHARS)
NUMBERS = st.one_of(st.integers(-3, 12), st.just(10 ** 80), st.booleans(), st.floats(allow_nan=True), st.none(),
                    st.text(max_size=2))
TEXTS = st.lists(st.one_of(ODD, st.characters()), max_size=6).map("".join)
TYPE_NAMES = st.one_of(st.sampled_from(["A", "B", "", "O", "\t", "A B", "A\u200b", "\x00"]), st.text(max_size=3))
TYPES = st.one_of(TYPE_NAMES, st.integers(0, 3), st.none())
ENTITY = st.fixed_dictionaries({"start": NUMBERS, "end": NUMBERS, "type": TYPES},
                               optional={"word": st.one_of(TEXTS, st.none())})
JSONL_RECORD = st.sampled_from(["string", "text"]).flatmap(lambda key: st.fixed_dictionaries(
    {key: st.one_of(TEXTS, NUMBERS)},
    optional={"entities": st.one_of(st.lists(ENTITY, max_size=3), NUMBERS), "id": NUMBERS, "label": NUMBERS}))
POSITION = st.one_of(st.lists(NUMBERS, max_size=3), NUMBERS)
CLUENER_RECORD = st.fixed_dictionaries(
    {"text": st.one_of(TEXTS, NUMBERS)},
    optional={"label": st.one_of(
        st.dictionaries(TYPE_NAMES,
                        st.one_of(st.dictionaries(TEXTS, st.one_of(st.lists(POSITION, max_size=2), POSITION),
                                                  max_size=2), NUMBERS), max_size=2),
        NUMBERS)})
DOCCANO_RECORD = st.fixed_dictionaries(
    {"text": st.one_of(TEXTS, NUMBERS)},
    optional={"label": st.one_of(st.lists(st.one_of(st.tuples(NUMBERS, NUMBERS, TYPES).map(list),
                                                    st.lists(NUMBERS, max_size=4)), max_size=3),
                                 NUMBERS, st.just({})),
              "entities": st.one_of(st.lists(st.one_of(st.fixed_dictionaries(
                  {"start_offset": NUMBERS, "end_offset": NUMBERS, "label": TYPES}, optional={"id": NUMBERS}),
                  NUMBERS), max_size=3), NUMBERS),
              "id": NUMBERS})
LABELS_RESULT = st.fixed_dictionaries(
    {"type": st.sampled_from(["labels", "labels", "choices", "relation", 3])},
    optional={"value": st.one_of(st.fixed_dictionaries(
        {"start": NUMBERS, "end": NUMBERS, "labels": st.one_of(st.lists(TYPES, max_size=2), NUMBERS)},
        optional={"text": st.one_of(TEXTS, NUMBERS)}), NUMBERS),
        "to_name": st.sampled_from(["text", "body", "x", 3]), "id": st.one_of(NUMBERS, TEXTS)})
ANNOTATION = st.one_of(st.fixed_dictionaries(
    {"result": st.one_of(st.lists(st.one_of(LABELS_RESULT, NUMBERS), max_size=3), NUMBERS)},
    optional={"was_cancelled": st.one_of(st.booleans(), NUMBERS),
              "updated_at": st.one_of(st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01T10:00:00+08:00",
                                                       "2024-05-01T02:00:00", "2024-13-01", ""]), NUMBERS),
              "created_at": st.sampled_from(["2024-05-02T10:00:00Z", "x"])}), NUMBERS)
RANDOM_TASK = st.fixed_dictionaries(
    {"data": st.one_of(st.dictionaries(st.sampled_from(["text", "body", "x"]), st.one_of(TEXTS, NUMBERS),
                                       max_size=3), NUMBERS)},
    optional={"id": st.one_of(NUMBERS, TEXTS), "annotations": st.one_of(st.lists(ANNOTATION, max_size=3), NUMBERS),
              "predictions": st.one_of(st.lists(ANNOTATION, max_size=2), NUMBERS)})


@st.composite
def good_task(draw: st.DrawFn) -> dict:
    """A task much as Label Studio exports it: spans inside the text, its words mostly right."""
    text = draw(st.text(min_size=1, max_size=8))
    results = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        value = {"start": start, "end": end, "labels": draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=1,
                                                                        max_size=2))}
        if draw(st.booleans()):
            value["text"] = text[start:end] if draw(st.integers(0, 4)) else draw(TEXTS)
        results.append({"type": "labels", "to_name": "text", "value": value})
    annotation = {"result": results, "was_cancelled": draw(st.booleans()),
                  "updated_at": draw(st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-02T10:00:00+08:00"]))}
    return {"id": draw(st.integers(0, 99)), "data": {"text": text},
            "annotations": draw(st.lists(st.just(annotation), max_size=2))}


TASK = st.one_of(good_task(), RANDOM_TASK)
JSON_VALUES = st.recursive(st.one_of(NUMBERS, TEXTS), lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TEXTS, inner, max_size=3)), max_leaves=8)


@st.composite
def json_lines(draw: st.DrawFn, record: st.SearchStrategy) -> list[str]:
    """Records as JSON text, some of them mangled: cut short, a character dropped in, deeply nested,
    holding a number too long for Python, or any JSON value instead."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        line = json.dumps(draw(st.one_of(record, record, JSON_VALUES)), ensure_ascii=draw(st.booleans()))
        how = draw(st.sampled_from(["keep", "keep", "cut", "insert", "deep", "digits", "blank"]))
        at = draw(st.integers(0, len(line)))
        if how == "cut":
            line = line[:at]
        elif how == "insert":
            line = line[:at] + draw(CHARS) + line[at:]
        elif how == "deep":
            depth = draw(st.sampled_from([99, 101, 5000, 100_000]))
            line = line[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}" if line.endswith("}") else "[" * depth
        elif how == "digits":
            line = line.replace("10000000000", "1" * draw(st.sampled_from([4300, 4301, 6000])), 1)
        elif how == "blank":
            line = draw(st.sampled_from(["", " ", "\t", "\r"]))
        lines.append(line)
    return lines


def check_error(error: InputFileError, lines: int) -> None:
    """One line, ``path:line: what``, no longer than a path and the message limit."""
    text = str(error)
    assert text.startswith(f"{PATH}:{error.line}: ") and 1 <= error.line <= max(lines, 1)
    assert "\n" not in text and len(text) <= len(f"{PATH}:{error.line}: ") + MESSAGE_LIMIT


def check_result(result: ReadResult) -> None:
    for sentence in result.sentences:
        for span in sentence.spans:
            assert 0 <= span.start < span.end <= len(sentence.text)
            assert check_type(span.type) == span.type


def read_or_error(read, lines: list[str]) -> None:
    try:
        result = read(lines, PATH)
    except InputFileError as error:
        check_error(error, len(lines))
    else:
        check_result(result)


@FUZZ
@given(st.lists(COLUMN_LINE, max_size=12))
def test_column_reader(lines):
    read_or_error(parse_columns, lines)


@pytest.mark.parametrize("read, record", [(parse_jsonl, JSONL_RECORD), (parse_cluener, CLUENER_RECORD),
                                          (parse_doccano, DOCCANO_RECORD), (parse_labelstudio, TASK)],
                         ids=["jsonl", "cluener", "doccano", "labelstudio"])
@FUZZ
@given(data=st.data())
def test_json_lines_readers(read, record, data):
    read_or_error(read, data.draw(json_lines(record)))


@st.composite
def task_array(draw: st.DrawFn) -> list[str]:
    """A Label Studio export: tasks (some mangled, as for json_lines) in a JSON array, pretty-printed or
    one a line, maybe cut short or with a character dropped in."""
    tasks = draw(json_lines(TASK))
    if draw(st.booleans()):
        text = "[\n" + ",\n".join(tasks) + "\n]"
    else:
        text = json.dumps([json.loads(t) for t in tasks if _parses(t)], ensure_ascii=draw(st.booleans()),
                          indent=draw(st.sampled_from([None, 1, 2])))
    how = draw(st.sampled_from(["keep", "keep", "cut", "insert"]))
    at = draw(st.integers(0, len(text)))
    if how == "cut":
        text = text[:at]
    elif how == "insert":
        text = text[:at] + draw(CHARS) + text[at:]
    return text.split("\n")


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


@FUZZ
@given(task_array())
def test_label_studio_reader_of_an_array(lines):
    read_or_error(parse_labelstudio, lines)


@FUZZ
@given(task_array())
def test_tag_input_of_an_array(lines):
    try:
        items = read_task_array(lines, PATH)
    except InputFileError as error:
        check_error(error, len(lines))
        return
    for item in items:
        if isinstance(item, BadLine):
            check_error(item.error, len(lines))
        else:
            text, fields = item
            assert isinstance(text, str) and isinstance(fields, dict)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def as_bytes(lines: list[str]) -> bytes:
    return "\n".join(lines).encode("utf-8", "surrogatepass")


FILES = st.one_of(st.binary(max_size=200), st.lists(COLUMN_LINE, max_size=8).map(as_bytes),
                  json_lines(JSONL_RECORD).map(as_bytes), json_lines(CLUENER_RECORD).map(as_bytes),
                  json_lines(DOCCANO_RECORD).map(as_bytes), json_lines(TASK).map(as_bytes), task_array().map(as_bytes))


@FUZZ
@given(FILES)
def test_any_file_read_with_its_format_guessed(folder, data):
    path = folder / PATH
    path.write_bytes(data)
    try:
        result = read_file(path)
    except InputFileError as error:
        assert error.path == str(path)
        check_error(InputFileError(PATH, error.line, error.message), data.count(b"\n") + 1)
    else:
        check_result(result)


@FUZZ
@given(FILES)
def test_tag_input(data):
    raw = io.BytesIO(data).readlines()
    items = list(read_documents(raw, PATH))
    assert len(items) == len(raw)  # one item per line, in place
    for number, item in enumerate(items, start=1):
        if isinstance(item, BadLine):
            assert item.error.line == number
            check_error(item.error, len(raw))
            assert json.loads(item.record()) == {"error": str(item.error), "line": number}
        else:
            text, fields = item
            assert isinstance(text, str) and isinstance(fields, dict)
            json.dumps([text, fields], ensure_ascii=False).encode("utf-8")  # the tagger can write it


VECTOR_LINE = st.lists(st.one_of(CHARS, st.sampled_from(["1", "-0.5", "1e40", "nan", "inf", "²", "1" * 30, "3"])),
                       max_size=4).map(" ".join)


@FUZZ
@given(st.one_of(st.binary(max_size=100), st.lists(VECTOR_LINE, max_size=5).map(as_bytes)))
def test_vectors_reader(folder, data):
    path = folder / PATH
    path.write_bytes(data)
    try:
        tokens, matrix = read_word2vec(path)
    except InputFileError as error:
        check_error(InputFileError(PATH, error.line, error.message), data.count(b"\n") + 1)
    else:
        assert matrix.shape[0] == len(tokens) and matrix.shape[1] > 0
