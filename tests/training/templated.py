"""Templated brand sentences of chosen types, for the continued-training tests (tests/training,
tests/cli): a model trained on one type, continued on sentences of another."""

from __future__ import annotations

import random

from brandner.data.sentence import Sentence, Span
from tests.conftest import FRAMES, SMALL

SHOES = ["特步", "耐克", "安踏", "李宁"]
DRINKS = ["可乐", "雪碧", "芬达", "红茶"]
# conftest's small network (as `load_config` overrides), with early stopping out of the way.
SETTINGS = [s for s in SMALL if s != "--set"] + ["patience=100"]


def templated(count: int, brands: dict[str, list[str]], seed: int) -> list[Sentence]:
    """``count`` sentences of conftest's FRAMES with brands of the given types, drawn with ``seed``."""
    rng = random.Random(seed)
    pool = [(word, type_) for type_, words in brands.items() for word in words]
    sentences = []
    for _ in range(count):
        text, spans = "", []
        pieces = rng.choice(FRAMES).split("{}")
        for i, piece in enumerate(pieces):
            text += piece
            if i < len(pieces) - 1:
                word, type_ = rng.choice(pool)
                spans.append(Span(len(text), len(text) + len(word), type_))
                text += word
        sentences.append(Sentence(text, tuple(spans)))
    return sentences
