"""Training character, bigram and word vectors on raw text (``brandner embed``).

Users may have no large pretrained vectors, but they have text: their own posts,
or the text of annotated corpora. Three word2vec models (gensim) are trained on
it, one on the characters, one on the character bigrams (as in
brandner.data.features.bigrams) and one on jieba's words, after the same
normalisation a model applies (full-width to half-width, lowercase). The result
is a vectors folder (see brandner.data.vectors) for ``brandner train --embeddings``::

    vectors/chars.vec  bigrams.vec  words.vec  vectors.json

Input text is one post or sentence a line; blank lines are skipped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from brandner.atomic import atomic_output
from brandner.config import ModelConfig, TrainConfig, check_positive, check_segmenter
from brandner.data.features import bigrams, words
from brandner.data.formats import decoded_lines
from brandner.data.text import Normalizer
from brandner.data.vectors import KINDS, write_word2vec
from brandner.errors import BrandnerError

log = logging.getLogger("brandner")
SUMMARY = "vectors.json"


@dataclass(frozen=True)
class EmbedConfig:
    """word2vec settings; the sizes, seed and segmenter default to the model's and training's."""

    char_dim: int = ModelConfig.char_dim
    bigram_dim: int = ModelConfig.bigram_dim
    word_dim: int = ModelConfig.lexicon_dim
    # word2vec's own: context window, tokens seen fewer times ignored, passes, skip-gram or CBOW
    window: int = 5
    min_count: int = 2
    epochs: int = 5
    skipgram: bool = True
    seed: int = TrainConfig.seed
    threads: int = 1  # gensim's training threads; 1 makes a run repeatable
    segmenter: str = ModelConfig.segmenter

    def __post_init__(self) -> None:
        check_positive(self, "char_dim", "bigram_dim", "word_dim", "window", "min_count", "epochs", "threads",
                       prefix="")
        check_segmenter(self.segmenter, "segmenter")


def read_texts(path: str | Path) -> list[str]:
    """The non-blank lines of a UTF-8 text file (``path:line`` errors for bad bytes; a byte-order
    mark dropped)."""
    with open(path, "rb") as lines:
        return [line for _, line in decoded_lines(lines, path) if line.strip()]


def token_sequences(texts: Iterable[str], config: EmbedConfig) -> dict[str, list[list[str]]]:
    """``{kind: one token list per text}`` for the kinds of brandner.data.vectors.KINDS,
    whitespace tokens dropped (they are separators, and a vectors file cannot hold them)."""
    normalize = Normalizer()
    normal = [normalize(t) for t in texts if t.strip()]
    return {
        "chars": [[c for c in t if not c.isspace()] for t in normal],
        "bigrams": [[b for b in bigrams(t) if not any(c.isspace() for c in b)] for t in normal],
        "words": [[w for w in words(t, config.segmenter) if not w.isspace()] for t in normal],
    }


def train_vectors(texts: Sequence[str], output: str | Path, config: EmbedConfig = EmbedConfig(),
                  sources: Sequence[str] = ()) -> dict:
    """Train the three kinds of vectors on ``texts`` and write them to the folder ``output``.

    Returns the summary also written to ``output/vectors.json``: settings, sources,
    number of texts and, per kind, tokens seen and vectors written.
    """
    try:
        from gensim.models import Word2Vec
    except ImportError:
        raise BrandnerError("brandner embed needs gensim: pip install 'brandner[embed]'") from None
    logging.getLogger("gensim").setLevel(logging.WARNING)  # it logs every epoch at INFO
    sequences = token_sequences(texts, config)
    if not any(sequences["chars"]):
        raise BrandnerError("no text to train vectors on")
    for kind, tokens in sequences.items():  # now, not with a gensim traceback after the first kinds are written
        counts = Counter(token for sequence in tokens for token in sequence)
        if not counts or max(counts.values()) < config.min_count:
            raise BrandnerError(f"no {kind[:-1]} occurs {config.min_count} times or more in the text; "
                                "give more text or a lower --min-count")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    dims = {"chars": config.char_dim, "bigrams": config.bigram_dim, "words": config.word_dim}
    summary: dict = {"settings": dataclasses.asdict(config), "sources": list(sources),
                     "texts": len(sequences["chars"]), "kinds": {}}
    for kind, file_name in KINDS.items():
        started = time.perf_counter()
        # one worker and a hash that does not change between runs make training repeatable
        model = Word2Vec(sequences[kind], vector_size=dims[kind], window=config.window, min_count=config.min_count,
                         sg=int(config.skipgram), epochs=config.epochs, seed=config.seed, workers=config.threads,
                         hashfxn=_stable_hash)
        write_word2vec(output / file_name, list(model.wv.index_to_key), model.wv.vectors)
        summary["kinds"][kind] = {"file": file_name, "tokens": sum(map(len, sequences[kind])),
                                  "vectors": len(model.wv.index_to_key), "dim": dims[kind],
                                  "seconds": round(time.perf_counter() - started, 1)}
        log.info("%s: %d vectors of %d dimensions from %d tokens (%.0fs)", kind, len(model.wv.index_to_key),
                 dims[kind], summary["kinds"][kind]["tokens"], summary["kinds"][kind]["seconds"])
    with atomic_output(output / SUMMARY) as temporary:
        temporary.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return summary


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))
