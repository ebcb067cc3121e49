"""The error report over every shared corpus: a tiny model (brands, two types) against each one's
gold, so that most of their types are unknown to it and all their entities of those types are
errors; each report adds up and its page is built, bounded."""

from __future__ import annotations

import json

import pytest

from brandner import Tagger
from brandner.data.corpora import list_corpora, load_split
from brandner.data.error_analysis import NONE, error_analysis
from brandner.data.metrics import score
from brandner.reports.error_page import LIMIT, error_page


@pytest.fixture(scope="module")
def tagger(tiny_model):
    return Tagger.load(tiny_model)


@pytest.mark.parametrize("corpus", [c for c in list_corpora()], ids=lambda c: c.name)
def test_error_report_of_each_corpus(corpus, tagger, shared_data):
    split = "test" if "test" in corpus.splits else "dev"
    sentences = load_split(corpus.name, split, shared_data)
    predicted = tagger.predict_spans([s.text for s in sentences])
    analysis, report = error_analysis(sentences, predicted), score([s.spans for s in sentences], predicted)
    assert analysis.sentences == len(sentences)
    assert set(report.per_type) == set(analysis.per_type)
    for type_, counts in analysis.per_type.items():
        assert analysis.confusion[type_][NONE] == counts["missed"]
        assert analysis.confusion[NONE][type_] == counts["spurious"]
        if type_ not in tagger.types:  # the model never predicts it: every such entity is an error
            assert counts["spurious"] == 0 and report.per_type[type_].recall == 0
            row = analysis.confusion[type_]
            assert row[type_] == 0 and sum(row.values()) >= report.per_type[type_].support
    assert sum(c["missed"] for c in analysis.per_type.values()) > 0
    assert all(len(words) <= 10 for words in analysis.top.values())
    json.dumps(analysis.to_dict())
    page = error_page(sentences, predicted, report, analysis)
    shown = min(LIMIT, analysis.sentences_with_errors)
    assert page.count('<tr data-errors="') == shown
    assert ("left out" in page) == (analysis.sentences_with_errors > LIMIT)
