"""Readers and writers: every quirk on tiny fixtures, then on the real shared corpora."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from brandner.data.formats import format_columns, guess_format, parse_columns, read_file, read_lines, write_file
from brandner.data.schemes import BIO, BMES, IOBES
from brandner.data.sentence import Sentence, Span
from brandner.errors import BrandnerError, InputFileError


def put(tmp_path: Path, text: str | bytes, name: str = "in.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def read_error(path: Path, **options: object) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        read_file(path, **options)
    return caught.value


# ---------------------------------------------------------------- column files


def test_tab_and_space_separators_keep_a_literal_space_token(tmp_path: Path) -> None:
    tabbed = read_file(put(tmp_path, "特\tB-HP\n \tI-HP\n步\tE-HP\n鞋\tO\n\n"))
    spaced = read_file(put(tmp_path, "a B-X\n  I-X\nb O\n", "spaced.txt"))
    assert tabbed.sentences == [Sentence("特 步鞋", (Span(0, 3, "HP"),))]
    assert spaced.sentences == [Sentence("a b", (Span(0, 2, "X"),))]


def test_crlf_line_ends_and_no_final_blank_line(tmp_path: Path) -> None:
    result = read_file(put(tmp_path, b"\xe7\x89\xb9 B-SHOE\r\n\xe6\xad\xa5 I-SHOE\r\n\r\n\xe9\x9e\x8b O"))
    assert result.sentences == [Sentence("特步", (Span(0, 2, "SHOE"),)), Sentence("鞋")]


def test_characters_are_kept_as_they_are(tmp_path: Path) -> None:
    result = read_file(put(tmp_path, "Ａ O\n１ O\n\u2028 O\n"))
    assert result.sentences[0].text == "Ａ１\u2028"  # no normalisation, no split at U+2028


@pytest.mark.parametrize("declared", [None, True])
def test_weibo_char_digit_tokens(tmp_path: Path, declared: bool | None) -> None:
    text = "科0\tB-ORG.NAM\n学1\tI-ORG.NAM\n院12\tI-ORG.NAM\np10\tO\n\ufffd\ufffd0\tO\n"
    result = read_file(put(tmp_path, text), char_digit=declared)
    assert result.sentences == [Sentence("科学院p\ufffd", (Span(0, 3, "ORG.NAM"),))]


def test_char_digit_not_detected_when_one_token_lacks_its_digit(tmp_path: Path) -> None:
    error = read_error(put(tmp_path, "科0\tO\n学\tO\n院1\tO\n"))
    assert error.line == 1 and "'科0' has 2 characters" in error.message


def test_declared_char_digit_needs_the_digit(tmp_path: Path) -> None:
    error = read_error(put(tmp_path, "科0\tO\n学x\tO\n"), char_digit=True)
    assert error.line == 2 and "word position" in error.message


def test_digit_characters_alone_are_not_char_digit(tmp_path: Path) -> None:
    assert read_file(put(tmp_path, "1 O\n9 O\n")).sentences == [Sentence("19")]


@pytest.mark.parametrize("tags, scheme", [
    (["B-P", "I-P", "O", "B-L", "B-L", "I-L"], BIO),
    (["B-P", "E-P", "O", "S-L", "B-L", "E-L"], IOBES),
    (["B-P", "M-P", "E-P", "S-L", "O", "O"], BMES),
])
def test_scheme_is_detected(tmp_path: Path, tags: list[str], scheme: object) -> None:
    result = read_file(put(tmp_path, "".join(f"{c} {t}\n" for c, t in zip("abcdef", tags))))
    assert result.scheme == scheme and result.repairs == 0


def test_unknown_prefix_names_prefix_scheme_and_line(tmp_path: Path) -> None:
    error = read_error(put(tmp_path, "a B-PER\nb X-PER\nc Y-PER\n"))
    assert str(error).startswith(f"{tmp_path / 'in.txt'}:2: ")
    assert "'X'" in error.message and "BIO" in error.message and "detected" in error.message


def test_declared_scheme_rejects_other_prefixes(tmp_path: Path) -> None:
    error = read_error(put(tmp_path, "a O\n\nb B-PER\nc M-PER\n"), scheme="bio")
    assert error.line == 4 and "'M'" in error.message and "BIO scheme was given" in error.message


@pytest.mark.parametrize("text, line", [("a O\nb\n", 2), ("a O\n\n\tO\n", 3), ("a O\nO\n", 2)])
def test_a_line_without_tag_or_character_is_an_error(tmp_path: Path, text: str, line: int) -> None:
    assert read_error(put(tmp_path, text)).line == line


def test_a_token_of_several_characters_is_an_error(tmp_path: Path) -> None:
    error = read_error(put(tmp_path, "a O\nbc O\n"))
    assert error.line == 2 and "'bc' has 2 characters" in error.message


def test_repairs_are_counted_and_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = put(tmp_path, "a I-PER\nb O\nc I-PER\n\nd B-LOC\ne I-PER\n")
    with caplog.at_level(logging.WARNING, logger="brandner"):
        result = read_file(path)
    assert result.repairs == 3
    assert result.sentences[1].spans == (Span(0, 1, "LOC"), Span(1, 2, "PER"))
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: repaired 3 entities whose I-/M-/E- tag did not continue an entity"]


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    error = read_error(put(tmp_path, b"a O\nb O\n\xff O\n"))
    assert (error.line, error.message[:9]) == (3, "not UTF-8")
    assert read_error(put(tmp_path, b'{"string": "a"}\n\xe7\x89"}\n', "x.jsonl")).line == 2


def test_a_bom_is_dropped(tmp_path: Path) -> None:
    assert read_file(put(tmp_path, "\ufeffa O\n")).sentences == [Sentence("a")]


def test_parse_columns_takes_lines() -> None:
    result = parse_columns(["特 B-HP", "步 E-HP", ""], scheme=IOBES)
    assert result.sentences == [Sentence("特步", (Span(0, 2, "HP"),))]


# ---------------------------------------------------------------- JSON lines


def test_jsonl_reads_string_or_text_and_checks_words(tmp_path: Path) -> None:
    lines = ['{"string": "我买了特步鞋", "entities": [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]}',
             "", '{"text": "鞋", "entities": [{"type": "X", "start": 0, "end": 1}]}', '{"string": ""}']
    result = read_file(put(tmp_path, "\n".join(lines), "in.jsonl"))
    assert result.sentences == [Sentence("我买了特步鞋", (Span(3, 5, "SHOE"),)),
                                Sentence("鞋", (Span(0, 1, "X"),)), Sentence("")]
    assert result.scheme is None


ENTITY = '{"string": "特步鞋", "entities": [%s]}'


@pytest.mark.parametrize("record, expected", [
    ('{"string": "a", ', "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"entities": []}', "no 'string' or 'text' field"),
    (ENTITY % '{"type": "X", "start": 2, "end": 4}', "outside the text of 3 characters"),
    (ENTITY % '{"type": "X", "start": 2, "end": 2}', "span 2..2 is empty"),
    (ENTITY % '{"type": "X", "start": -1, "end": 1}', "span -1..1"),
    (ENTITY % '{"type": "X", "start": "0", "end": 1}', "must be integers"),
    (ENTITY % '{"start": 0, "end": 1}', "'type' must be a non-empty string"),
    (ENTITY % '{"word": "特", "type": "X", "start": 0, "end": 2}', "word '特' differs from the text there, '特步'"),
    (ENTITY % '{"type": "X", "start": 0, "end": 2}, {"type": "Y", "start": 1, "end": 3}',
     "entities overlap: X '特步' at 0..2 and Y '步鞋' at 1..3"),
    ('{"text": "a", "label": {}}', "read it as 'cluener'"),
    ('{"string": "a\\ud800"}', "a \\u escape for half of a surrogate pair"),
    ('{"string": "a", "entities": [{"type": "\\udfff", "start": 0, "end": 1}]}', "half of a surrogate pair"),
])
def test_jsonl_errors_name_the_line(tmp_path: Path, record: str, expected: str) -> None:
    path = put(tmp_path, '{"string": "ok"}\n' + record + "\n", "in.jsonl")
    error = read_error(path, fmt="jsonl")
    assert str(error).startswith(f"{path}:2: ") and expected in error.message


def test_cluener_end_is_inclusive_and_label_optional(tmp_path: Path) -> None:
    lines = ['{"text": "浙商银行叶老桂", "label": {"company": {"浙商银行": [[0, 3]]}, "name": {"叶老桂": [[4, 6]]}}}',
             '{"text": "无"}']
    result = read_file(put(tmp_path, "\n".join(lines), "in.json"))
    assert result.sentences == [Sentence("浙商银行叶老桂", (Span(0, 4, "company"), Span(4, 7, "name"))),
                                Sentence("无")]


@pytest.mark.parametrize("label, expected", [
    ('{"name": {"叶老": [[0, 2]]}}', "word '叶老' differs"),
    ('{"name": {"叶老桂": [[0, 3]]}}', "outside the text"),
    ('{"name": {"叶老桂": [0, 2]}}', "expected [start, end_inclusive]"),
    ('{"name": ["叶老桂"]}', "must be an object"),
    ('{"name": {"叶老桂": [[0, 2]]}, "x": {"老桂": [[1, 2]]}}', "entities overlap"),
])
def test_cluener_errors_name_the_line(tmp_path: Path, label: str, expected: str) -> None:
    path = put(tmp_path, '{"text": "ok"}\n{"text": "叶老桂", "label": %s}\n' % label, "in.json")
    error = read_error(path, fmt="cluener")
    assert error.line == 2 and expected in error.message


def test_overlaps_outer_keeps_the_longest_and_counts(tmp_path: Path) -> None:
    line = '{"text": "《招商银行》", "label": {"book": {"《招商银行》": [[0, 5]]}, "company": {"招商银行": [[1, 4]]}}}'
    result = read_file(put(tmp_path, line, "in.json"), overlaps="outer")
    assert result.sentences[0].spans == (Span(0, 6, "book"),) and result.dropped == 1


@pytest.mark.parametrize("first_line, fmt", [
    ('{"string": "a"}', "jsonl"), ('  {"text": "a", "label": {}}', "cluener"),
    ('{"text": "a"}', "jsonl"), ("{\tO", "columns"), ("a O", "columns"), ("{bad}", "jsonl")])
def test_format_is_guessed_from_the_first_line(first_line: str, fmt: str) -> None:
    assert guess_format(["", first_line, "x"]) == fmt


def test_records_of_bare_text_leave_the_format_to_the_first_that_tells(tmp_path: Path) -> None:
    bare = '{"text": "今天天气好"}'
    assert guess_format([bare, "", bare, '{"text": "叶老桂", "label": {"name": {"叶老桂": [[0, 2]]}}}']) == "cluener"
    assert guess_format([bare, '{"text": "特步", "entities": []}']) == "jsonl"
    assert guess_format([bare, bare]) == "jsonl"
    path = put(tmp_path, bare + '\n{"text": "叶老桂", "label": {"name": {"叶老桂": [[0, 2]]}}}\n', "in.json")
    assert read_file(path).sentences == [Sentence("今天天气好"), Sentence("叶老桂", (Span(0, 3, "name"),))]


def test_unknown_format_and_scheme_are_errors(tmp_path: Path) -> None:
    path = put(tmp_path, "a O\n")
    with pytest.raises(BrandnerError, match="unknown format 'conll'"):
        read_file(path, fmt="conll")
    with pytest.raises(BrandnerError, match="unknown tag scheme 'bilou'"):
        read_file(path, scheme="bilou")


# ---------------------------------------------------------------- writing


SENTENCES = [Sentence("我买了特步 鞋", (Span(3, 5, "SHOE"), Span(6, 7, "X"))),
             Sentence("三星Galaxy手机", (Span(0, 8, "DIGITAL"),)),
             Sentence("无")]


@pytest.mark.parametrize("chain", [(BIO, IOBES, BMES), (BMES, IOBES, BIO), (IOBES, BIO, BMES)])
def test_schemes_round_trip_through_files(tmp_path: Path, chain: tuple) -> None:
    sentences = SENTENCES
    for i, scheme in enumerate(chain):
        path = tmp_path / f"{i}.txt"
        write_file(sentences, path, "columns", scheme=scheme, sep=" " if i % 2 else "\t")
        result = read_file(path)
        assert result.sentences == SENTENCES and result.scheme is scheme
        sentences = result.sentences


@pytest.mark.parametrize("fmt", ["jsonl", "cluener"])
def test_json_formats_round_trip(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "out.json"
    write_file(SENTENCES, path, fmt)
    assert read_file(path).sentences == SENTENCES
    assert json.loads(read_lines(path)[0]).keys() == ({"string", "entities"} if fmt == "jsonl"
                                                      else {"text", "label"})


def test_written_columns_look_like_the_corpora() -> None:
    lines = list(format_columns(SENTENCES[:1], BMES, " "))
    assert lines[3:6] == ["特 B-SHOE\n", "步 E-SHOE\n", "  O\n"] and lines[-2:] == ["鞋 S-X\n", "\n"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = put(tmp_path, "old", "out.txt")

    def broken():
        yield SENTENCES[0]
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_file(broken(), path, "jsonl")
    with pytest.raises(BrandnerError, match="cannot hold the character '\\\\n'"):
        write_file([Sentence("a\nb")], path, "columns")
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["out.txt"]


def test_columns_cannot_hold_overlapping_entities(tmp_path: Path) -> None:
    with pytest.raises(BrandnerError, match="overlapping"):
        write_file([Sentence("abc", (Span(0, 2, "X"), Span(1, 3, "Y")))], tmp_path / "o.txt", "columns")


def test_written_files_get_the_usual_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_file(SENTENCES, path, "jsonl")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


# ---------------------------------------------------------------- the real corpora


def entity_count(result: object) -> int:
    return sum(len(s.spans) for s in result.sentences)


def test_ecommerce_literal_space_inside_a_brand(shared_data: Path) -> None:
    path = shared_data / "ecommerce" / "dev.txt.bieos"
    lines = read_lines(path)
    assert lines[94] == " \tI-HP"  # line 95
    index = lines[:94].count("")  # sentences ended before line 95
    offset = 94 - max((i for i in range(94) if not lines[i]), default=-1) - 1
    sentence = read_file(path).sentences[index]
    assert sentence.text[offset] == " "
    assert any(s.type == "HP" and s.start < offset < s.end - 1 for s in sentence.spans)


def test_ecommerce_train_counts(shared_data: Path) -> None:
    result = read_file(shared_data / "ecommerce" / "train.txt.bieos")
    assert (len(result.sentences), entity_count(result), result.scheme) == (3989, 12110, IOBES)


def test_weibo_char_digit_and_repairs(shared_data: Path) -> None:
    path = shared_data / "weibo" / "weiboNER_2nd_conll.train"
    lines = [line for line in read_lines(path) if line]
    assert any(line.split("\t")[0][1:] == "10" for line in lines)  # multi-digit positions occur
    result = read_file(path)
    assert sum(len(s.text) for s in result.sentences) == len(lines)  # one character a line
    # The README counts 1,885 entities: those begun by B-. Ten more start with an I- tag.
    assert (len(result.sentences), entity_count(result), result.repairs) == (1350, 1895, 10)
    assert entity_count(result) - result.repairs == 1885


def test_weibo_lost_emoji_read_as_one_character(shared_data: Path) -> None:
    path = shared_data / "weibo" / "weiboNER_2nd_conll.dev"
    lines = read_lines(path)
    assert lines[995].startswith("\ufffd\ufffd0\t")  # line 996
    texts = "".join(s.text for s in read_file(path).sentences)
    assert texts.count("\ufffd") == sum(line.startswith("\ufffd") for line in lines)


def test_resume_bmes_with_repairs(shared_data: Path) -> None:
    result = read_file(shared_data / "resume" / "train.char.bmes")
    assert (len(result.sentences), entity_count(result), result.repairs) == (3821, 13440, 2)
    assert result.scheme is BMES


def test_msra_official_test_counts_and_raw_types(shared_data: Path) -> None:
    result = read_file(shared_data / "msra" / "msra_official_test.char.bmes")
    assert (len(result.sentences), entity_count(result), result.scheme) == (4365, 6181, BMES)
    assert {s.type for x in result.sentences for s in x.spans} == {"NR", "NS", "NT"}


def test_crlf_files_without_final_blank_line(shared_data: Path) -> None:
    assert read_lines(shared_data / "brands-sample" / "brands.dev")[0].endswith("\r")
    result = read_file(shared_data / "brands-sample" / "brands.dev")
    assert (len(result.sentences), entity_count(result)) == (12, 13)
    assert not any("\r" in s.text for s in result.sentences)


def test_cluener_counts_and_its_one_nested_entity(shared_data: Path) -> None:
    path = shared_data / "cluener2020" / "train.json"
    result = read_file(path, overlaps="outer")
    assert (len(result.sentences), entity_count(result) + result.dropped) == (10748, 23972)
    assert result.dropped == 2
    error = read_error(path)
    assert error.line == 1507 and "entities overlap" in error.message
