"""Speed of the lexicon matcher (brandner.data.lexicon.Lexicon) against a brute-force scan.

    python benchmarks/lexicon_speed.py                          # jieba's dictionary on ecommerce train
    python benchmarks/lexicon_speed.py --corpus weibo --lexicon jieba --lexicon FILE --no-write

Measured, each the best of ``--repeats`` passes over the corpus texts (normalised as a
model would): characters/s of ``Lexicon.matches`` and of the reference, a scan that
looks up every window up to the longest word's length in a set (both give the same
matches, which is checked); characters/s of the whole lexicon feature encoding
(``Encoder.lexicon_ids``: matching plus B/M/E/S slots); the time to read the word
lists and build the matcher. The table replaces this script's section of docs/benchmarks.md unless
``--no-write``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, publish  # noqa: E402
from brandner.config import ModelConfig  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.data.encoder import Encoder  # noqa: E402
from brandner.data.lexicon import Lexicon, read_words  # noqa: E402
from brandner.data.text import Normalizer  # noqa: E402


def brute_force(words: frozenset[str], longest: int) -> Callable[[str], list[tuple[int, int]]]:
    def matches(text: str) -> list[tuple[int, int]]:
        return [(i, j) for i in range(len(text)) for j in range(i + 1, min(len(text), i + longest) + 1)
                if text[i:j] in words]
    return matches


def best_rate(function: Callable[[str], object], texts: list[str], repeats: int) -> float:
    """Characters per second of this process's CPU time (steadier than wall time on a shared
    machine), best of ``repeats`` passes."""
    chars = sum(map(len, texts))
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for text in texts:
            function(text)
        best = min(best, time.process_time() - started)
    return chars / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="ecommerce")
    parser.add_argument("--split", default="train")
    parser.add_argument("--lexicon", action="append", help="word list: jieba or a file (repeatable; default jieba)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    sources = args.lexicon or ["jieba"]
    normalizer = Normalizer()
    sentences = load_split(args.corpus, args.split, args.data_dir)
    texts = [normalizer(s.text) for s in sentences if s.text]
    started = time.perf_counter()
    words = [w for source in sources for w in read_words(source, normalizer)]
    lexicon = Lexicon(words)
    build_seconds = time.perf_counter() - started
    longest = max(map(len, lexicon.words))
    reference = brute_force(lexicon.words, longest)
    assert all(lexicon.matches(t) == reference(t) for t in texts), "matcher and brute force disagree"
    ours = best_rate(lexicon.matches, texts, args.repeats)
    theirs = best_rate(reference, texts, args.repeats)
    encoder = Encoder.build(sentences, ModelConfig(lexicon=",".join(sources)))
    encoding = best_rate(encoder.lexicon_ids, texts, args.repeats)
    matches = sum(len(lexicon.matches(t)) for t in texts)
    chars = sum(map(len, texts))
    body = "\n".join([
        f"{len(lexicon):,} words from {', '.join(sources)} (longest {longest} characters), read and built in "
        f"{build_seconds:.2f} s; {args.corpus} {args.split}: {len(texts):,} texts, {chars:,} characters, "
        f"{matches:,} matches ({matches / chars:.2f} per character)",
        "",
        "| what | characters/s |",
        "|---|---|",
        f"| Lexicon.matches (prefix-table walk) | {ours:,.0f} |",
        f"| reference: set look-up of every window up to {longest} characters | {theirs:,.0f} |",
        f"| Encoder.lexicon_ids (matching + B/M/E/S slots) | {encoding:,.0f} |",
        "",
        f"- matcher / reference: {ours / theirs:.1f}x",
    ])
    publish('lexicon matcher throughput against a brute-force scan', body, write=not args.no_write)


if __name__ == "__main__":
    main()
