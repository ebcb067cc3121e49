"""The error report of a whole evaluation: counts per type, the confusion, the top words."""

from __future__ import annotations

import doctest
import random

import pytest

import brandner.data.error_analysis
from brandner.data.error_analysis import NONE, WordCount, error_analysis
from brandner.data.metrics import ERROR_KINDS, score
from brandner.data.sentence import Sentence, Span
from tests.conftest import REPO
from tests.data.test_span_errors import flat_spans


def hand_worked() -> tuple[list[Sentence], list[list[Span]]]:
    """Six sentences whose errors are worked out by hand in the tests below."""
    pairs = [
        # spurious 我/DIGITAL, boundary 特步->特步鞋 SHOE, type 华为 DIGITAL->SHOE, missed 手机/PRODUCT
        (Sentence("我买了特步鞋和华为手机", (Span(3, 5, "SHOE"), Span(7, 9, "DIGITAL"), Span(9, 11, "PRODUCT"))),
         [Span(3, 6, "SHOE"), Span(7, 9, "SHOE"), Span(0, 1, "DIGITAL")]),
        # 华为 right; spurious 和/SHOE, missed 小米/DIGITAL
        (Sentence("华为和小米", (Span(0, 2, "DIGITAL"), Span(3, 5, "DIGITAL"))),
         [Span(0, 2, "DIGITAL"), Span(2, 3, "SHOE")]),
        # one gold SHOE cut in two predictions: two boundary errors, one of them also of another type
        (Sentence("耐克耐克", (Span(0, 4, "SHOE"),)), [Span(0, 2, "SHOE"), Span(2, 4, "DIGITAL")]),
        # missed 手机/PRODUCT twice
        (Sentence("手机手机", (Span(0, 2, "PRODUCT"), Span(2, 4, "PRODUCT"))), []),
        (Sentence("没有", ()), []),
        # spurious 小米/DIGITAL
        (Sentence("小米", ()), [Span(0, 2, "DIGITAL")]),
    ]
    return [s for s, _ in pairs], [p for _, p in pairs]


def test_counts_per_type_by_hand():
    analysis = error_analysis(*hand_worked())
    assert analysis.sentences == 6 and analysis.sentences_with_errors == 5
    assert analysis.per_type == {
        "DIGITAL": {"missed": 1, "spurious": 2, "type": 1, "boundary": 0},
        "PRODUCT": {"missed": 3, "spurious": 0, "type": 0, "boundary": 0},
        "SHOE": {"missed": 0, "spurious": 1, "type": 0, "boundary": 3},
    }
    assert analysis.totals() == {"missed": 4, "spurious": 3, "type": 1, "boundary": 3}


def test_confusion_by_hand():
    assert error_analysis(*hand_worked()).confusion == {
        "DIGITAL": {"DIGITAL": 1, "PRODUCT": 0, "SHOE": 1, NONE: 1},
        "PRODUCT": {"DIGITAL": 0, "PRODUCT": 0, "SHOE": 0, NONE: 3},
        "SHOE": {"DIGITAL": 1, "PRODUCT": 0, "SHOE": 2, NONE: 0},
        NONE: {"DIGITAL": 2, "PRODUCT": 0, "SHOE": 1, NONE: 0},
    }


def test_top_words_by_hand_ties_by_word():
    analysis = error_analysis(*hand_worked())
    assert analysis.top == {
        "missed": [WordCount("手机", "PRODUCT", 3), WordCount("小米", "DIGITAL", 1)],
        "spurious": [WordCount("和", "SHOE", 1), WordCount("小米", "DIGITAL", 1), WordCount("我", "DIGITAL", 1)],
    }
    assert error_analysis(*hand_worked(), top=2).top["spurious"] == [WordCount("和", "SHOE", 1),
                                                                     WordCount("小米", "DIGITAL", 1)]


def test_one_word_of_two_types_counts_twice_and_top_keeps_ten():
    sentences = [Sentence(f"小米{i:02}", ()) for i in range(30)]
    predicted = [[Span(0, 2, "DIGITAL" if i % 3 else "SHOE")] + [Span(2, 4, "X")] for i in range(30)]
    top = error_analysis(sentences, predicted).top["spurious"]
    assert top[:2] == [WordCount("小米", "DIGITAL", 20), WordCount("小米", "SHOE", 10)]
    assert len(top) == 10 and all(w.count == 1 and w.type == "X" for w in top[2:])
    assert [w.word for w in top[2:]] == [f"{i:02}" for i in range(8)]


def test_to_dict_and_table():
    analysis = error_analysis(*hand_worked())
    out = analysis.to_dict()
    assert set(out) == {"sentences", "sentences_with_errors", "per_type", "confusion", "top"}
    assert out["top"]["missed"][0] == {"word": "手机", "type": "PRODUCT", "count": 3}
    assert out["confusion"][NONE]["DIGITAL"] == 2
    lines = analysis.table().splitlines()
    assert lines[0].split() == ["errors", "missed", "spurious", "wrong", "type", "wrong", "boundary"]
    assert lines[1].split() == ["DIGITAL", "1", "2", "1", "0"] and lines[4].split() == ["total", "4", "3", "1", "3"]
    confusion = lines[lines.index("") + 1:]
    assert confusion[0].split() == ["gold", "\\", "predicted", "DIGITAL", "PRODUCT", "SHOE", "none"]
    assert confusion[4].split() == ["none", "2", "0", "1", "0"]
    assert "most often missed" in lines and lines[lines.index("most often missed") + 2].split() == ["3", "PRODUCT", "手机"]


def test_nothing_to_compare():
    analysis = error_analysis([], [])
    assert analysis.per_type == {} and analysis.confusion == {NONE: {NONE: 0}}
    assert analysis.top == {"missed": [], "spurious": []}
    assert "total" in analysis.table()
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        error_analysis([Sentence("a"), Sentence("b")], [[]])


def test_agrees_with_the_scores_on_random_spans():
    rng = random.Random(1)
    for _ in range(50):
        sentences, predicted = [], []
        for _ in range(5):
            sentences.append(Sentence("x" * 12, tuple(flat_spans(rng, 12))))
            predicted.append(flat_spans(rng, 12))
        analysis, report = error_analysis(sentences, predicted), score([s.spans for s in sentences], predicted)
        correct = {t: sum(len({s for s in g.spans if s.type == t} & set(p)) for g, p in zip(sentences, predicted))
                   for t in analysis.per_type}
        for t, counts in analysis.per_type.items():
            assert analysis.confusion[t][NONE] == counts["missed"]
            assert analysis.confusion[NONE][t] == counts["spurious"]
            # each exact match counts once, on the diagonal
            assert round(report.per_type[t].recall * report.per_type[t].support) == correct[t]
            assert analysis.confusion[t][t] >= correct[t]
        paired = sum(n for g, row in analysis.confusion.items() for p, n in row.items() if NONE not in (g, p))
        totals = analysis.totals()
        assert paired == sum(correct.values()) + totals["type"] + totals["boundary"]
        assert set(totals) == set(ERROR_KINDS)


def test_docstring_example():
    assert doctest.testmod(brandner.data.error_analysis).failed == 0


def test_the_docs_show_the_hand_worked_table():
    docs = (REPO / "docs" / "evaluation.md").read_text(encoding="utf-8")
    shown = docs.split("```\nerrors ", 1)[1].split("\n```", 1)[0]
    assert "errors " + shown == error_analysis(*hand_worked()).table()
