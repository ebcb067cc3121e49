"""Tagger.predict with scores, min_score and nbest, and Tagger.marginals, on a tiny trained model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brandner import Tagger
from brandner.data.text import split_chunks

TEXTS = ["我买了特步鞋", "昨天在店里看到小米和安踏", "", "苹果手机真好用", "   ", "推荐耐克给大家", "特"]


@pytest.fixture(scope="module")
def tagger(tiny_model) -> Tagger:
    return Tagger.load(tiny_model)


@pytest.fixture(scope="module")
def softmax_tagger(tmp_path_factory) -> Tagger:
    from tests.conftest import train_tiny
    path = train_tiny(tmp_path_factory.mktemp("softmax") / "softmax.pt", "head=softmax", sentences=100, epochs=3)
    return Tagger.load(path)


def without_scores(results: list[dict]) -> list[dict]:
    return [dict(r, entities=[{k: v for k, v in e.items() if k != "score"} for e in r["entities"]])
            for r in results]


def test_without_scores_nothing_changes(tagger):
    plain = tagger.predict(TEXTS)
    assert all(set(e) == {"word", "type", "start", "end"} for r in plain for e in r["entities"])
    assert tagger.predict(TEXTS, scores=False, min_score=None, nbest=None) == plain
    assert json.dumps(tagger.predict("我买了特步鞋"), ensure_ascii=False) == (
        '{"string": "我买了特步鞋", "entities": [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]}')


def test_scores_add_a_probability_to_the_same_entities(tagger):
    plain = tagger.predict(TEXTS)
    scored = tagger.predict(TEXTS, scores=True)
    assert without_scores(scored) == plain
    entities = [e for r in scored for e in r["entities"]]
    assert entities and all(0 < e["score"] <= 1 for e in entities)
    assert [list(e) for e in entities] == [["word", "type", "start", "end", "score"]] * len(entities)


def test_score_is_the_probability_of_the_entitys_tags(tagger):
    """Against the marginals: a one-character entity's score is its S- tag's probability; a longer
    one's is at most that of any of its tags, and at least what the tags' chain rule allows."""
    tags = tagger.encoder.tag_index
    for text in ["我买了特步鞋", "昨天在店里看到小米和安踏", "特"]:
        marginals = tagger.marginals(text)
        for entity in tagger.predict(text, scores=True)["entities"]:
            s, e, type_ = entity["start"], entity["end"], entity["type"]
            names = [f"S-{type_}"] if e - s == 1 else [f"B-{type_}"] + [f"I-{type_}"] * (e - s - 2) + [f"E-{type_}"]
            each = [marginals[t, tags[name]] for t, name in zip(range(s, e), names)]
            if e - s == 1:
                assert entity["score"] == pytest.approx(each[0], rel=1e-3)
            assert entity["score"] <= min(each) * (1 + 1e-3)
            assert entity["score"] >= 1 - sum(1 - p for p in each) - 1e-3


def assert_same_up_to_float32(results: list[dict], expected: list[dict]) -> None:
    """Equal entities, scores within what float32 emissions in other batches change."""
    assert without_scores(results) == without_scores(expected)
    scores = [e["score"] for r in results for e in r["entities"]]
    assert scores == pytest.approx([e["score"] for r in expected for e in r["entities"]], abs=2e-4)


def test_scores_do_not_depend_on_batching(tiny_model):
    texts = TEXTS * 3
    one = Tagger.load(tiny_model, batch_size=1).predict(texts, scores=True)
    assert_same_up_to_float32(Tagger.load(tiny_model, batch_size=5).predict(texts, scores=True), one)
    assert_same_up_to_float32([Tagger.load(tiny_model).predict(t, scores=True) for t in texts], one)


def test_long_text_scores_are_those_of_its_chunks(tagger):
    text = "推荐李宁给大家。昨天在店里看到小米和安踏。" * 6
    chunks = split_chunks(text, tagger.config.max_chunk_length)
    assert len(chunks) > 1
    pieces = tagger.predict([text[s:e] for s, e in chunks], scores=True)
    expected = [dict(e, start=e["start"] + s, end=e["end"] + s) for (s, _), r in zip(chunks, pieces)
                for e in r["entities"]]
    assert_same_up_to_float32([tagger.predict(text, scores=True)], [{"string": text, "entities": expected}])


def test_min_score_drops_entities_below_it(tagger):
    scored = [e for r in tagger.predict(TEXTS, scores=True) for e in r["entities"]]
    # halfway between two neighbouring (rounded) scores, so that rounding cannot move a score across it
    ordered = sorted({e["score"] for e in scored})
    threshold = (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2
    kept = [e for r in tagger.predict(TEXTS, min_score=threshold) for e in r["entities"]]
    assert kept and all("score" in e for e in kept)
    assert kept == [e for e in scored if e["score"] >= threshold]
    assert [e for r in tagger.predict(TEXTS, min_score=0) for e in r["entities"]] == scored


@pytest.mark.parametrize("arguments,message", [
    ({"min_score": 1.5}, "min_score must be a probability"),
    ({"min_score": -0.1}, "min_score must be a probability"),
    ({"min_score": "0.5"}, "min_score must be a probability"),
    ({"nbest": 0}, "nbest must be a whole number"),
    ({"nbest": True}, "nbest must be a whole number"),
    ({"nbest": 2.0}, "nbest must be a whole number"),
])
def test_bad_arguments_are_rejected(tagger, arguments, message):
    with pytest.raises(ValueError, match=message):
        tagger.predict("我买了特步鞋", **arguments)


def test_nbest_lists_the_most_probable_sequences(tagger):
    results = tagger.predict(TEXTS, nbest=4)
    assert len(results) == len(TEXTS)
    for text, best, ranked in zip(TEXTS, tagger.predict(TEXTS), results):
        assert 1 <= len(ranked) <= 4 and all(r["string"] == text for r in ranked)
        assert ranked[0]["entities"] == best["entities"]  # the best is Viterbi's
        probabilities = [r["score"] for r in ranked]
        assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-3
        # distinct valid IOBES sequences have distinct entities
        assert len({json.dumps(r["entities"]) for r in ranked}) == len(ranked)
    assert results[2] == [{"string": "", "entities": [], "score": 1.0}]
    assert results[4] == [{"string": "   ", "entities": [], "score": 1.0}]
    assert len(results[0]) == 4


def test_nbest_of_one_string_is_a_list_of_dicts(tagger):
    ranked = tagger.predict("我买了特步鞋", nbest=3)
    assert isinstance(ranked, list) and [set(r) for r in ranked] == [{"string", "entities", "score"}] * 3
    assert tagger.predict("我买了特步鞋", nbest=1) == ranked[:1]
    assert tagger.predict("我买了特步鞋", nbest=np.int64(3), min_score=np.float32(0)) == tagger.predict(
        "我买了特步鞋", nbest=3, min_score=0.0)  # numpy numbers, as a server may pass them


def test_nbest_with_entity_scores_and_min_score(tagger):
    ranked = tagger.predict("昨天在店里看到小米和安踏", nbest=3, scores=True)
    assert without_scores(ranked) == tagger.predict("昨天在店里看到小米和安踏", nbest=3)
    entity_scores = {(e["start"], e["end"], e["type"]): e["score"]
                     for e in tagger.predict("昨天在店里看到小米和安踏", scores=True)["entities"]}
    for entity in ranked[0]["entities"]:
        assert entity["score"] == entity_scores[entity["start"], entity["end"], entity["type"]]
    filtered = tagger.predict("昨天在店里看到小米和安踏", nbest=3, min_score=0.999)
    assert [r["score"] for r in filtered] == [r["score"] for r in ranked]
    assert all(e["score"] >= 0.999 for r in filtered for e in r["entities"])


def test_nbest_probabilities_sum_to_one_when_the_list_is_complete(tagger):
    ranked = tagger.predict("特", nbest=50)  # one character: O or S-X, one result per allowed tag
    assert len(ranked) == 1 + len(tagger.types)
    assert sum(r["score"] for r in ranked) == pytest.approx(1.0, abs=1e-3)


def test_nbest_refuses_text_longer_than_a_chunk(tagger):
    limit = tagger.config.max_chunk_length
    assert len(tagger.predict("特" * limit, nbest=2)) == 2
    with pytest.raises(ValueError, match=f"at most {limit} characters.*text 1 has {limit + 1}"):
        tagger.predict(["特", "特" * (limit + 1)], nbest=2)


def test_marginals_are_probabilities_per_character(tagger):
    texts = ["我买了特步鞋", "", "  ", "推荐李宁给大家。" * 8]
    marginals = tagger.marginals(texts)
    assert [m.shape for m in marginals] == [(len(t), len(tagger.encoder.tags)) for t in texts]
    for m in marginals:
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-9)
    outside = tagger.encoder.tag_index["O"]
    assert (marginals[2][:, outside] == 1).all()  # white space is never tagged
    best = [tagger.encoder.tags[i] for i in marginals[0].argmax(axis=1)]
    assert best[3:5] == ["B-SHOE", "E-SHOE"]
    np.testing.assert_allclose(tagger.marginals("我买了特步鞋"), marginals[0], atol=1e-6)  # float32 batching
    chunks = split_chunks(texts[3], tagger.config.max_chunk_length)
    np.testing.assert_allclose(marginals[3], np.concatenate(tagger.marginals([texts[3][s:e] for s, e in chunks])),
                               atol=1e-6)


def test_softmax_head_scores_are_products_of_character_probabilities(softmax_tagger):
    tags = softmax_tagger.encoder.tag_index
    results = softmax_tagger.predict(TEXTS, scores=True)
    assert without_scores(results) == softmax_tagger.predict(TEXTS)
    checked = 0
    for text, result in zip(TEXTS, results):
        marginals = softmax_tagger.marginals(text)
        for entity in result["entities"]:
            s, e, type_ = entity["start"], entity["end"], entity["type"]
            names = [f"S-{type_}"] if e - s == 1 else [f"B-{type_}"] + [f"I-{type_}"] * (e - s - 2) + [f"E-{type_}"]
            expected = np.prod([marginals[t, tags[name]] for t, name in zip(range(s, e), names)])
            assert entity["score"] == pytest.approx(expected, rel=1e-3)
            checked += 1
    assert checked


def test_softmax_head_has_no_nbest(softmax_tagger):
    with pytest.raises(ValueError, match="needs a model with a CRF head"):
        softmax_tagger.predict("我买了特步鞋", nbest=2)
