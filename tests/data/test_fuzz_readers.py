"""Fuzzing the readers (hypothesis, a fixed budget, derandomised so CI is repeatable): random bytes,
column lines, JSON records and their mangled text fed to the column, JSON lines and CLUENER readers,
to ``tag -i``'s read_documents and to the word2vec vectors reader. Each either reads or raises InputFileError as one short line
``path:line: what``; nothing else escapes, and what is read holds only valid spans and types."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandner.data.formats import ReadResult, parse_cluener, parse_columns, parse_jsonl, read_file
from brandner.data.schemes import check_type
from brandner.data.vectors import read_word2vec
from brandner.errors import MESSAGE_LIMIT, InputFileError
from brandner.tagging.streaming import BadLine, read_documents

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


@FUZZ
@given(json_lines(JSONL_RECORD))
def test_json_lines_reader(lines):
    read_or_error(parse_jsonl, lines)


@FUZZ
@given(json_lines(CLUENER_RECORD))
def test_cluener_reader(lines):
    read_or_error(parse_cluener, lines)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def as_bytes(lines: list[str]) -> bytes:
    return "\n".join(lines).encode("utf-8", "surrogatepass")


FILES = st.one_of(st.binary(max_size=200), st.lists(COLUMN_LINE, max_size=8).map(as_bytes),
                  json_lines(JSONL_RECORD).map(as_bytes), json_lines(CLUENER_RECORD).map(as_bytes))


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
