"""Features computed from text: word-segmentation positions from jieba.

Each character gets its position in the jieba word that holds it:
S=0 (a one-character word), B=1, I=2, E=3.

>>> segment_ids("我买了富士康手机")
[0, 0, 0, 1, 2, 3, 1, 3]
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

import jieba

SINGLE, BEGIN, INSIDE, END = 0, 1, 2, 3
NUM_SEGMENT_IDS = 4

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def word_positions(lengths: list[int]) -> list[int]:
    """Segment ids for consecutive words of these lengths."""
    ids: list[int] = []
    for length in lengths:
        if length == 1:
            ids.append(SINGLE)
        else:
            ids.append(BEGIN)
            ids.extend([INSIDE] * (length - 2))
            ids.append(END)
    return ids


def segment_ids(text: str) -> list[int]:
    """One segment id per character of ``text`` (see the module docstring)."""
    tokenizer = _tokenizer()
    with _lock:  # jieba's tokenizer is not safe to share between threads
        words = list(tokenizer.cut(text, HMM=True))
    lengths = [len(w) for w in words]
    if sum(lengths) != len(text):  # jieba should cover the text exactly; never trust it blindly
        return [SINGLE] * len(text)
    return word_positions(lengths)
