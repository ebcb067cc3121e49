"""benchmarks/long_text.py: joining sentences into one text, and the comparison it reports."""

from __future__ import annotations

from benchmarks.long_text import compare, joined
from brandner import Tagger
from brandner.data.sentence import Sentence, Span


def test_joined_text_shifts_the_gold_spans_into_place():
    sentences = [Sentence("我买了特步鞋", [Span(3, 5, "SHOE")]), Sentence("耐克", [Span(0, 2, "SHOE")])]
    text, gold, offsets = joined(sentences, "。")
    assert text == "我买了特步鞋。耐克" and offsets == [0, 7]
    assert [text[s.start:s.end] for s in gold] == ["特步", "耐克"]


def test_sentences_joined_at_sentence_ends_score_as_they_do_alone(tiny_model):
    tagger = Tagger.load(tiny_model)
    sentences = [Sentence(text, list(tagger.predict_spans([text])[0]))
                 for text in ["我买了特步鞋", "昨天在店里看到小米和安踏", "推荐耐克给大家"] * 10]
    result = compare(tagger, sentences, "。")
    assert result["length"] > tagger.config.max_chunk_length
    assert result["alone"] == 100.0 and result["joined"] == 100.0 and result["agree"] == 100.0
