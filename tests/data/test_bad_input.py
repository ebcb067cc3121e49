"""Hostile and careless input files: every one a one-line ``path:line: what`` error (or a warning),
never a traceback, never an error message the size of the line it quotes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from brandner.cli.common import read_sentences
from brandner.data.formats import MAX_JSON_DEPTH, read_file
from brandner.data.sentence import Sentence, Span
from brandner.data.vectors import read_word2vec
from brandner.errors import BrandnerError, InputFileError

DEEP = '{"string": "特步", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
LONG_NUMBER = '{"string": "特步", "entities": [{"type": "X", "start": ' + "1" * 5000 + ", \"end\": 2}]}"
CLUENER_DEEP = '{"text": "特步", "label": {"X": {"特步": ' + "[" * 100_000 + "]" * 100_000 + "}}}"
CLUENER_LONG_NUMBER = '{"text": "特步", "label": {"X": {"特步": [[0, ' + "9" * 5000 + "]]}}}"


def put(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_error(path: Path, **options: object) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        read_file(path, **options)
    return caught.value


# ---------------------------------------------------------------- JSON past Python's limits


@pytest.mark.parametrize("line, fmt, expected", [
    (DEEP, "jsonl", f"JSON nested deeper than {MAX_JSON_DEPTH} levels"),
    (LONG_NUMBER, "jsonl", "invalid JSON: exceeds the limit (4300 digits) for integer string conversion"),
    (CLUENER_DEEP, "cluener", f"JSON nested deeper than {MAX_JSON_DEPTH} levels"),
    (CLUENER_LONG_NUMBER, "cluener", "invalid JSON: exceeds the limit"),
    ('{"string": "a", "x": ' + "[" * 150 + "]" * 150 + "}", "jsonl", "JSON nested deeper"),  # parses, too deep
])
@pytest.mark.parametrize("declared", [True, False])
def test_json_past_pythons_limits_is_an_error_on_its_line(tmp_path, line, fmt, expected, declared):
    first = '{"text": "ok", "label": {}}' if fmt == "cluener" else '{"string": "ok"}'
    path = put(tmp_path, f"{first}\n{line}\n", "in.json")
    error = read_error(path, fmt=fmt if declared else "auto")
    assert str(error).startswith(f"{path}:2: {expected}")


# ---------------------------------------------------------------- long lines in messages


@pytest.mark.parametrize("text, name", [
    ('{"string": "' + "a" * 200_000 + '"\n', "in.jsonl"),  # not closed: read as a column line
    ("a" * 200_000 + "\tO\n", "in.txt"),
    ("a\tB-" + "X" * 200_000 + "\u200b\n", "in.txt"),
    ("a\t" + "Q-" * 100_000 + "\n", "in.txt"),
    ('{"string": "' + "a" * 200_000 + '", "entities": [{"type": "X", "start": 0, "end": 1, "word": "'
     + "b" * 200_000 + '"}]}\n', "in.jsonl"),
    ('{"text": "ab", "label": {"' + "X" * 200_000 + '": {"ab": [[0, 1], [0, 5]]}}}\n', "in.json"),
    ('{"text": "ab", "label": [[0, 1, "' + "X" * 200_000 + '\u200b"]]}\n', "in.jsonl"),  # doccano
    ('[{"id": "' + "i" * 200_000 + '", "data": {"text": "' + "a" * 200_000 + '"}, "annotations": [{"result": '
     '[{"type": "labels", "value": {"start": 0, "end": 9, "text": "' + "b" * 200_000 + '", "labels": ["X"]}}]}]}]',
     "export.json"),  # Label Studio
])
def test_an_error_about_a_long_line_quotes_a_little_of_it(tmp_path, text, name):
    path = put(tmp_path, text, name)
    message = str(read_error(path))
    assert message.startswith(f"{path}:1: ") and "\n" not in message
    assert len(message) <= len(str(path)) + 300 and "…" in message


@pytest.mark.parametrize("header, line", [("\u00b2 3", 2), ("1" * 5000 + " 3", 2), ("x" * 200_000, 1)])
def test_a_vectors_file_with_an_odd_header_or_long_token_is_a_line_error(tmp_path, header, line):
    path = put(tmp_path, f"{header}\n特 1 2 3\n", "v.vec")
    with pytest.raises(InputFileError) as caught:
        read_word2vec(path)
    assert caught.value.line == line and len(str(caught.value)) < len(str(path)) + 200


# ---------------------------------------------------------------- entity types


@pytest.mark.parametrize("type_, expected", [
    ("", "the entity type is empty"),
    ("O", "'O' is the tag outside entities"),
    ("HP\t", "holds white space or a character that is not printable"),
    ("H\u200bP", "'H\\u200bP' holds white space"),
    ("H P", "holds white space"),
    ("HP\x00", "not printable"),
])
def test_entity_types_are_checked_in_json_lines(tmp_path, type_, expected):
    record = Sentence("特步鞋", (Span(0, 2, "SHOE"),)).to_dict()
    record["entities"][0]["type"] = type_
    path = put(tmp_path, '{"string": "ok"}\n' + json.dumps(record, ensure_ascii=False) + "\n", "in.jsonl")
    error = read_error(path)
    assert error.line == 2 and error.message.startswith("entity 1: ") and expected in error.message


@pytest.mark.parametrize("type_", ["", "O", "\t", "X\u200b", "a b", "\x7f"])
def test_entity_types_are_checked_in_cluener(tmp_path, type_):
    line = json.dumps({"text": "特步", "label": {type_: {"特步": [[0, 1]]}}}, ensure_ascii=False)
    error = read_error(put(tmp_path, '{"text": "ok", "label": {}}\n' + line + "\n", "in.json"), fmt="cluener")
    assert error.line == 2 and ("entity type" in error.message or "'O' is the tag outside" in error.message)


@pytest.mark.parametrize("tag, expected", [
    ("B-O", "'O' is the tag outside entities"),
    ("B-H\u200bP", "holds white space or a character that is not printable"),
    ("S-H\x0bP", "not printable"),
])
def test_entity_types_are_checked_in_column_files(tmp_path, tag, expected):
    error = read_error(put(tmp_path, f"a O\n\n特 B-HP\n步 E-HP\n鞋 {tag}\n", "in.txt"))
    assert error.line == 5 and expected in error.message


# ---------------------------------------------------------------- entities left open


@pytest.mark.parametrize("tags, unclosed", [
    (["B-HP", "O", "B-HC", "E-HC"], [1]),        # B- without E-
    (["B-HP", "I-HP", "S-HC", "O"], [1]),        # ended by the next entity
    (["O", "B-HP", "I-HP", "I-HP"], [2]),         # open at the sentence's end
    (["B-HP", "E-HP", "S-HC", "O"], []),
])
def test_an_entity_never_closed_warns_with_its_line(tmp_path, caplog, tags, unclosed):
    path = put(tmp_path, "x O\n\n" + "".join(f"{c}\t{t}\n" for c, t in zip("特步鞋子", tags)), "in.txt")
    with caplog.at_level(logging.WARNING, logger="brandner"):
        result = read_file(path, scheme="iobes")
    assert result.unclosed == len(unclosed)
    warnings = [r.getMessage() for r in caplog.records if "no E-/S- tag" in r.getMessage()]
    expected = [f"{path}: closed {len(unclosed)} entities that had no E-/S- tag (IOBES), the first at line "
                f"{2 + unclosed[0]}"] if unclosed else []
    assert warnings == expected


def test_bmes_warns_and_bio_never_needs_closing(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="brandner"):
        bmes = read_file(put(tmp_path, "a B-X\nb M-X\nc O\n", "bmes.txt"))
        bio = read_file(put(tmp_path, "a B-X\nb I-X\nc O\n", "bio.txt"))
    assert (bmes.unclosed, bio.unclosed) == (1, 0)
    assert [r.getMessage() for r in caplog.records if "no E-/S-" in r.getMessage()] == [
        f"{tmp_path / 'bmes.txt'}: closed 1 entities that had no E-/S- tag (BMES), the first at line 1"]


# ---------------------------------------------------------------- nothing to read


@pytest.mark.parametrize("text, name", [("", "empty.jsonl"), ("\n  \n\n", "blank.txt"),
                                        ('{"string": ""}\n', "e.jsonl")])
def test_a_set_without_sentences_is_an_error(tmp_path, text, name):
    path = put(tmp_path, text, name)
    with pytest.raises(BrandnerError, match=f"^{path}: no sentences$"):
        read_sentences(path)
