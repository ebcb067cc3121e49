"""Span F1 against seqeval on the same predictions."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOBES as SEQEVAL_IOBES

from brandner.data.metrics import score
from brandner.data.schemes import BIO, IOBES, spans_from_tags


def random_tags(rng: random.Random, scheme, n: int) -> list[str]:
    tags = scheme.tags_for(["PER", "LOC", "ORG"])
    return [rng.choice(tags) if rng.random() < 0.5 else "O" for _ in range(n)]


def ours(gold, pred, scheme):
    return score([spans_from_tags(g, scheme)[0] for g in gold], [spans_from_tags(p, scheme)[0] for p in pred])


@pytest.mark.parametrize("scheme", [BIO, IOBES])
@pytest.mark.parametrize("seed", range(4))
def test_matches_seqeval_default_mode_on_arbitrary_sequences(scheme, seed):
    rng = random.Random(seed)
    gold = [random_tags(rng, scheme, rng.randint(1, 15)) for _ in range(60)]
    pred = [random_tags(rng, scheme, len(g)) for g in gold]
    report = ours(gold, pred, scheme)
    assert report.micro.precision == pytest.approx(precision_score(gold, pred))
    assert report.micro.recall == pytest.approx(recall_score(gold, pred))
    assert report.micro.f1 == pytest.approx(f1_score(gold, pred))
    theirs = classification_report(gold, pred, output_dict=True, zero_division=0)
    for type_, scores in report.per_type.items():
        assert scores.f1 == pytest.approx(theirs[type_]["f1-score"])
        assert scores.support == theirs[type_]["support"]


@pytest.mark.parametrize("seed", range(3))
def test_matches_seqeval_strict_mode_on_valid_sequences(seed):
    rng = random.Random(seed)

    def valid(n):  # a valid IOBES sequence from random spans
        return IOBES.to_tags(spans_from_tags(random_tags(rng, IOBES, n), IOBES)[0], n)

    gold = [valid(rng.randint(1, 15)) for _ in range(60)]
    pred = [valid(len(g)) for g in gold]
    report = ours(gold, pred, IOBES)
    assert report.micro.f1 == pytest.approx(f1_score(gold, pred, mode="strict", scheme=SEQEVAL_IOBES))


def test_report_json_shape_and_table():
    report = ours([["B-A", "E-A", "O", "S-B"]], [["B-A", "E-A", "S-B", "O"]], IOBES)
    data = report.to_dict()
    assert set(data) >= {"precision", "recall", "f1", "per_type"}
    assert data["per_type"]["A"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert data["per_type"]["B"]["f1"] == 0.0
    assert data["precision"] == 0.5 and data["recall"] == 0.5
    lines = report.table().splitlines()
    assert lines[0].split() == ["type", "precision", "recall", "f1", "support"]
    assert lines[-1].split() == ["micro", "50.00", "50.00", "50.00", "2"]


def test_empty_predictions_score_zero_not_crash():
    report = score([[]], [[]])
    assert report.micro.f1 == 0.0 and report.per_type == {}
