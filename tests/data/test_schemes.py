"""Tag schemes: conversions, round trips, repairs, allowed transitions."""

from __future__ import annotations

import itertools

import pytest

from brandner.data.schemes import BIO, BMES, IOBES, convert_tags, detect_scheme, get_scheme, spans_from_tags
from brandner.data.sentence import Span

SPANS = [Span(0, 1, "A"), Span(2, 5, "B"), Span(5, 7, "A")]


@pytest.mark.parametrize("scheme,expected", [
    (BIO, ["B-A", "O", "B-B", "I-B", "I-B", "B-A", "I-A", "O"]),
    (IOBES, ["S-A", "O", "B-B", "I-B", "E-B", "B-A", "E-A", "O"]),
    (BMES, ["S-A", "O", "B-B", "M-B", "E-B", "B-A", "E-A", "O"]),
])
def test_spans_to_tags_and_back(scheme, expected):
    assert scheme.to_tags(SPANS, 8) == expected
    assert spans_from_tags(expected, scheme) == (SPANS, 0)


@pytest.mark.parametrize("source,target", list(itertools.permutations([BIO, IOBES, BMES], 2)))
def test_conversions_round_trip(source, target):
    tags = source.to_tags(SPANS, 8)
    assert convert_tags(convert_tags(tags, source, target), target, source) == tags


def test_repairs_are_counted_and_make_new_entities():
    spans, repairs = spans_from_tags(["O", "I-A", "I-A", "O", "E-B", "B-A", "I-B"], IOBES)
    assert spans == [Span(1, 3, "A"), Span(4, 5, "B"), Span(5, 6, "A"), Span(6, 7, "B")]
    assert repairs == 3


def test_unclosed_iobes_entity_ends_where_the_next_tag_does_not_continue_it():
    assert spans_from_tags(["B-A", "I-A", "O", "B-A"], IOBES) == ([Span(0, 2, "A"), Span(3, 4, "A")], 0)


def test_unknown_prefix_is_an_error_naming_the_scheme():
    with pytest.raises(ValueError, match="prefix 'M'.*BIO"):
        spans_from_tags(["B-A", "M-A"], BIO)
    with pytest.raises(ValueError, match="not 'O' nor PREFIX-TYPE"):
        spans_from_tags(["BA"], BIO)


def test_detect_scheme():
    assert detect_scheme(["O", "B-A", "M-A", "E-A"]) is BMES
    assert detect_scheme(["O", "B-A", "E-A"]) is IOBES
    assert detect_scheme(["S-A"]) is IOBES
    assert detect_scheme(["B-A", "I-A", "O"]) is BIO
    assert get_scheme("bioes") is IOBES
    with pytest.raises(ValueError, match="unknown tag scheme"):
        get_scheme("IOB3")


def test_bio_allows_every_begin_but_no_orphan_inside():
    tags = BIO.tags_for(["A", "B"])  # O B-A I-A B-B I-B
    transitions, start, end = BIO.allowed(tags)
    assert start == [True, True, False, True, False]
    assert end == [True] * 5
    assert transitions[tags.index("B-A")][tags.index("I-A")]
    assert not transitions[tags.index("B-A")][tags.index("I-B")]
    assert not transitions[tags.index("O")][tags.index("I-A")]
    assert transitions[tags.index("I-A")][tags.index("B-A")]
