"""Fuzzing the tagger (hypothesis, a fixed budget, derandomised so CI is repeatable): any string,
short or past the chunk length, with brands, white space, control and format characters, emoji
and full-width forms, is tagged without an exception and within the output contract."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandner import Tagger
from brandner.data.text import is_blank

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

PIECES = st.sampled_from(["特步", "耐克", "小米", "华为", "我买了", "鞋", "手机", "。", "！", "，", "\n", "\r\n", " ",
                          "\t", "\u3000", "\u200b", "\ufeff", "\u0000", "\x1b", "😀", "ＡＢＣ", "１２３", "”", "…"])
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=40).map("".join)


@pytest.fixture(scope="module", params=["auto", "torch"])
def tagger(request, tiny_model) -> Tagger:
    return Tagger.load(tiny_model, backend=request.param)


def check_contract(text: str, result: dict, scored: bool) -> None:
    assert result["string"] == text
    previous_end = 0
    for entity in result["entities"]:
        start, end = entity["start"], entity["end"]
        assert previous_end <= start < end <= len(text) and text[start:end] == entity["word"]
        assert not is_blank(text[start]) and not is_blank(text[end - 1])
        assert ("score" in entity) == scored and (not scored or 0.0 <= entity["score"] <= 1.0)
        previous_end = end


@FUZZ
@given(texts=st.lists(TEXTS, min_size=1, max_size=4))
def test_any_text_is_tagged_within_the_contract(tagger, texts):
    for scored in (False, True):
        for text, result in zip(texts, tagger.predict(texts, scores=scored), strict=True):
            check_contract(text, result, scored)


@FUZZ
@given(text=TEXTS)
def test_marginals_of_any_text_are_distributions(tagger, text):
    probabilities = tagger.marginals(text)
    assert probabilities.shape == (len(text), len(tagger.encoder.tags))
    assert np.allclose(probabilities.sum(axis=1), 1.0) and (probabilities >= 0).all()
