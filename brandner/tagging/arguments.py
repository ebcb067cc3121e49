"""Checks of what callers hand to the public tagging API (Tagger and its batch functions): a
wrong argument is a TypeError or ValueError that names what was expected and what arrived."""

from __future__ import annotations

import numbers
from typing import AbstractSet, Iterable, Mapping


def as_texts(texts: object, method: str) -> list[str]:
    """The texts given to ``method`` as a list (a generator is read once, here), or a TypeError
    naming what arrived: a string is a text, and so not a sequence of them."""
    return as_items(texts, str, method, "a string or a sequence of strings")


def as_items(items: object, kind: type, method: str, expected: str) -> list:
    """``items`` as a list of ``kind`` (read once), or a TypeError saying what ``method`` takes and what arrived."""
    # A string is one text to predict (handled before this), but never a sequence of sentences.
    not_a_sequence = (bytes, bytearray, Mapping, AbstractSet) + (() if kind is str else (str,))
    if isinstance(items, not_a_sequence) or not isinstance(items, Iterable):
        raise TypeError(f"{method} takes {expected}, got {type(items).__name__}")
    items = list(items)
    for i, item in enumerate(items):
        if not isinstance(item, kind):
            raise TypeError(f"{method} takes {expected}; item {i} is {type(item).__name__}")
    return items


def check_probability(name: str, value: object) -> None:
    """A ValueError unless ``value`` is None or a real number from 0 to 1 (not a bool)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1):
        raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")


def check_count(name: str, value: object) -> None:
    """A ValueError unless ``value`` is a whole number at least 1 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number at least 1, got {value!r}")
