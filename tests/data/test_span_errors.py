"""The error report of one sentence: missed, spurious, wrong type, wrong boundary."""

from __future__ import annotations

import random

from brandner.data.metrics import ERROR_KINDS, SpanError, span_errors
from brandner.data.sentence import Span


def test_hand_worked_sentence():
    # 我买了特步鞋和华为手机, gold 特步/SHOE 华为/DIGITAL 手机/PRODUCT
    gold = [Span(3, 5, "SHOE"), Span(7, 9, "DIGITAL"), Span(9, 11, "PRODUCT")]
    predicted = [Span(3, 6, "SHOE"), Span(7, 9, "SHOE"), Span(0, 1, "DIGITAL")]
    assert span_errors(gold, predicted) == [
        SpanError("spurious", None, Span(0, 1, "DIGITAL")),
        SpanError("boundary", Span(3, 5, "SHOE"), Span(3, 6, "SHOE")),
        SpanError("type", Span(7, 9, "DIGITAL"), Span(7, 9, "SHOE")),
        SpanError("missed", Span(9, 11, "PRODUCT"), None),
    ]


def test_exact_matches_are_not_errors():
    spans = [Span(0, 2, "A"), Span(4, 5, "B")]
    assert span_errors(spans, list(reversed(spans))) == []
    assert span_errors([], []) == []


def test_one_gold_split_in_two_gives_a_boundary_error_per_piece():
    errors = span_errors([Span(0, 4, "A")], [Span(0, 2, "A"), Span(2, 4, "B")])
    assert errors == [SpanError("boundary", Span(0, 4, "A"), Span(0, 2, "A")),
                      SpanError("boundary", Span(0, 4, "A"), Span(2, 4, "B"))]


def flat_spans(rng: random.Random, length: int) -> list[Span]:
    spans, position = [], 0
    while position < length:
        start = position + rng.randint(0, 3)
        end = start + rng.randint(1, 3)
        if end > length:
            break
        spans.append(Span(start, end, rng.choice("AB")))
        position = end
    return spans


def test_every_unmatched_span_is_reported_and_no_matched_one():
    rng = random.Random(0)
    for _ in range(300):
        gold, predicted = flat_spans(rng, 12), flat_spans(rng, 12)
        errors = span_errors(gold, predicted)
        assert all(e.kind in ERROR_KINDS for e in errors)
        reported_gold = {e.gold for e in errors} - {None}
        reported_pred = {e.predicted for e in errors} - {None}
        assert reported_gold == set(gold) - set(predicted)
        assert reported_pred == set(predicted) - set(gold)
        for e in errors:
            if e.gold and e.predicted:
                assert e.gold.start < e.predicted.end and e.predicted.start < e.gold.end
                assert (e.kind == "type") == ((e.gold.start, e.gold.end) == (e.predicted.start, e.predicted.end))
            else:  # missed or spurious: nothing on the other side touches it
                alone, others = (e.gold, predicted) if e.kind == "missed" else (e.predicted, gold)
                assert not any(o.start < alone.end and alone.start < o.end for o in others)
