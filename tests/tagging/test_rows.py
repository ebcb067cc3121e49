"""brandner.tagging.rows, the batch function the Spark and Ray adapters share: nulls and non-strings
give no entities, lone surrogates keep their offsets, a failing text fails alone; the formats and
the text column told from names; one model load per process."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import pytest

from brandner.tagging import rows
from brandner.tagging.canonical import CanonicalNames
from brandner.tagging.rows import (
    cached_tagger,
    entity_arrow_type,
    table_format,
    tag_arrow,
    tag_texts,
    text_column,
)
from brandner.tagging.tagger import Tagger

TEXTS = ["我买了特步鞋", "华为手机真好用", "推荐小米给大家", "昨天在店里看到安踏和耐克"]


@pytest.fixture(scope="module")
def tagger(tiny_model) -> Tagger:
    return Tagger.load(tiny_model)


def no_scores(result: dict) -> list[dict]:
    """Tagger.predict's entities as rows gives them without scores asked and without a brand list:
    ``score`` and ``canonical`` None."""
    return [dict(entity, score=None, canonical=None) for entity in result["entities"]]


def no_canonical(result: dict) -> list[dict]:
    return [dict(entity, canonical=None) for entity in result["entities"]]


class FailingTagger(Tagger):
    """A real Tagger whose predict raises for any text holding "BOOM", and keeps the size of each
    model call (a list of texts)."""

    calls: ClassVar[list[int]] = []

    def predict(self, texts, **options):  # type: ignore[override]
        if isinstance(texts, str):
            return self.predict([texts], **options)[0]
        FailingTagger.calls.append(len(texts))
        if any("BOOM" in text for text in texts):
            raise RuntimeError("the model broke")
        return super().predict(texts, **options)


def failing(tagger: Tagger) -> FailingTagger:
    FailingTagger.calls = []
    return FailingTagger(tagger.backend, tagger.config, tagger.encoder, tagger.batch_size)


def test_strings_are_tagged_as_the_tagger_tags_them(tagger):
    entities, errors = tag_texts(tagger, TEXTS)
    assert entities == [no_scores(r) for r in tagger.predict(TEXTS)]
    assert sum(map(len, entities)) >= 4 and errors == [None] * 4


def test_scores_only_when_asked_and_min_score_drops_entities(tagger):
    asked, _ = tag_texts(tagger, TEXTS, scores=True)
    assert asked == [[dict(e, canonical=None) for e in r["entities"]] for r in tagger.predict(TEXTS, scores=True)]
    assert all(isinstance(e["score"], float) for row in asked for e in row)
    kept, _ = tag_texts(tagger, TEXTS, min_score=0.9)
    assert kept == [[dict(e, canonical=None) for e in r["entities"]] for r in tagger.predict(TEXTS, min_score=0.9)]
    unasked, _ = tag_texts(tagger, TEXTS)
    assert all(e["score"] is None for row in unasked for e in row)
    assert list(unasked[0][0]) == ["word", "type", "start", "end", "score", "canonical"]


def test_a_brand_list_fills_canonical_where_it_names_the_entity(tagger):
    names = CanonicalNames({"特步": "Xtep", "华为": "Huawei"})
    entities, _ = tag_texts(tagger, TEXTS, names=names)
    expected = [[dict(e, score=None, canonical={"特步": "Xtep", "华为": "Huawei"}.get(e["word"]))
                 for e in r["entities"]] for r in tagger.predict(TEXTS)]
    assert entities == expected
    assert {"Xtep", "Huawei"} <= {e["canonical"] for row in entities for e in row}


def test_nulls_non_strings_and_empty_strings_give_no_entities_and_no_error(tagger):
    odd = [None, 7, 1.5, float("nan"), True, ["我买了特步鞋"], b"\xe7\x89\xb9", {"text": "特步"}, "", "我买了特步鞋"]
    entities, errors = tag_texts(tagger, odd)
    assert entities[:-1] == [[]] * 9 and errors == [None] * 10
    assert entities[-1] == no_scores(tagger.predict("我买了特步鞋"))


def test_a_lone_surrogate_is_replaced_in_place_so_offsets_still_index_the_text(tagger):
    text = "华为\ud800手机和\udfff小米"
    (entities,), (error,) = tag_texts(tagger, [text])
    replaced = text.replace("\ud800", "\ufffd").replace("\udfff", "\ufffd")
    assert error is None and entities == no_scores(tagger.predict(replaced)) and entities
    for entity in entities:
        assert replaced[entity["start"]:entity["end"]] == entity["word"]
    # Arrow's string type cannot hold the text; Ray hands such a column over as Python objects
    arrow, _ = tag_arrow(tagger, PythonObjects([text]))
    arrow.validate(full=True)  # the words are Unicode: Arrow (and Parquet) can hold them
    assert arrow.to_pylist() == [entities]


class PythonObjects:
    """A column of Python objects, such as Ray's pickled-object columns: all tag_arrow asks of a column
    is to_pylist()."""

    def __init__(self, values: list) -> None:
        self.values = values

    def to_pylist(self) -> list:
        return list(self.values)


def test_a_text_that_fails_gets_null_entities_and_its_error_and_the_others_are_tagged(tagger):
    broken = failing(tagger)
    texts = ["我买了特步鞋", "BOOM 华为", None, "推荐小米给大家", "BOOM"]
    entities, errors = tag_texts(broken, texts)
    assert entities[1] is None and entities[4] is None
    assert errors == [None, "RuntimeError: the model broke", None, None, "RuntimeError: the model broke"]
    assert entities[0] == no_scores(tagger.predict(texts[0])) and entities[2] == []
    assert entities[3] == no_scores(tagger.predict(texts[3]))


def test_one_model_call_for_a_batch_that_tags(tagger):
    broken = failing(tagger)
    tag_texts(broken, TEXTS + [None, 3, ""])
    assert FailingTagger.calls == [4]
    tag_texts(broken, TEXTS + ["BOOM"])  # the batch, then each of its five strings alone
    assert FailingTagger.calls == [4, 5, 1, 1, 1, 1, 1]


def test_an_empty_batch_and_a_batch_without_strings(tagger):
    assert tag_texts(tagger, []) == ([], [])
    assert tag_texts(tagger, [None, 1]) == ([[], []], [None, None])


def test_tag_arrow_gives_the_entity_and_error_columns_in_their_types(tagger):
    texts = pa.chunked_array([pa.array(["我买了特步鞋", None]), pa.array(["华为手机真好用"])])
    entities, errors = tag_arrow(tagger, texts, scores=True)
    assert entities.type == entity_arrow_type() and errors.type == pa.string()
    assert str(entities.type) == ("list<item: struct<word: string, type: string, start: int32, end: int32, "
                                  "score: double, canonical: string>>")
    assert entities.to_pylist() == [no_canonical(tagger.predict("我买了特步鞋", scores=True)), [],
                                    no_canonical(tagger.predict("华为手机真好用", scores=True))]
    assert errors.to_pylist() == [None, None, None]
    broken_entities, broken_errors = tag_arrow(failing(tagger), pa.array(["BOOM", "我买了特步鞋"]))
    assert broken_entities.to_pylist()[0] is None and broken_entities.null_count == 1
    assert broken_errors.to_pylist() == ["RuntimeError: the model broke", None]


def test_cached_tagger_loads_a_model_once_per_process_and_options(tiny_model, monkeypatch):
    loads = []
    real_load = Tagger.load

    def counted(path, *args, **options):
        loads.append(path)
        return real_load(path, *args, **options)

    monkeypatch.setattr(rows, "_taggers", {})
    monkeypatch.setattr(Tagger, "load", staticmethod(counted))
    first = cached_tagger(str(tiny_model), threads=1, batch_size=8)
    assert cached_tagger(str(tiny_model), batch_size=8, threads=1) is first  # the options' order does not matter
    assert len(loads) == 1 and first.batch_size == 8
    other = cached_tagger(str(tiny_model), threads=1, batch_size=16)
    assert other is not first and len(loads) == 2
    ensemble = cached_tagger((str(tiny_model), str(tiny_model)), threads=1)  # a tuple of files: an ensemble
    loaded = len(loads)
    assert cached_tagger((str(tiny_model), str(tiny_model)), threads=1) is ensemble and len(loads) == loaded


@pytest.mark.parametrize("path, given, expected", [
    ("posts.parquet", None, "parquet"), ("s3://bucket/posts.PQ", None, "parquet"), ("out/posts.parquet/", None, "parquet"),
    ("posts.jsonl", None, "json"), ("posts.json", None, "json"), ("hdfs://n/x.ndjson", None, "json"),
    ("posts.txt", None, "text"), ("a.b/posts.text", None, "text"),
    ("posts", "parquet", "parquet"), ("posts.txt", "json", "json"),
])
def test_table_format_by_suffix_unless_given(path, given, expected):
    assert table_format(path, given) == expected


@pytest.mark.parametrize("path, given, message", [
    ("posts", None, r"posts: cannot tell its format from the name; say it \(parquet, json, text\)"),
    ("data.v2/posts", None, r"data.v2/posts: cannot tell its format"),
    ("posts.csv", None, r"posts.csv: cannot tell its format"),
    ("posts.parquet", "csv", r"format must be one of parquet, json, text, got 'csv'"),
])
def test_table_format_asks_when_it_cannot_tell(path, given, message):
    with pytest.raises(ValueError, match=message):
        table_format(path, given)


def test_text_column_is_the_given_one_else_text_else_string():
    assert text_column(["id", "text", "string"], None) == "text"
    assert text_column(["id", "string"], None) == "string"
    assert text_column(["body", "text"], "body") == "body"
    with pytest.raises(ValueError, match=r"no column 'body' to tag; the columns are text, id"):
        text_column(["text", "id"], "body")
    with pytest.raises(ValueError, match=r"no column 'text' or 'string' to tag; the columns are id"):
        text_column(["id"], None)
    with pytest.raises(ValueError, match=r"the columns are none"):
        text_column([], None)
