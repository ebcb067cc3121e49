"""``brandner embed``: train character, bigram and word vectors on raw text or corpus text.

Vectors trained on a named corpus's text feed models that are scored on test splits, and base
models that are fine-tuned for other corpora; so the text of a named corpus leaves out every
sentence whose text is that of a held-out split (brandner.data.corpora.held_out_texts: every
named corpus's test split, and the dev split of every named corpus not embedded), unless
``--keep-held-out``. Text files and annotated files of one's own are taken whole.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from brandner.cli.common import add_data_dir, corpus_split, read_sentences
from brandner.data.features import SEGMENTERS
from brandner.errors import BrandnerError
from brandner.training.word2vec import EmbedConfig, read_texts, train_vectors

log = logging.getLogger("brandner")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "embed", help="train vectors for --embeddings on raw text", description=__doc__,
        epilog="example: brandner embed posts.txt --corpus weibo -o vectors; "
               "then: brandner train --corpus weibo --embeddings vectors -o weibo.pt")
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="UTF-8 text files, one post or sentence a line")
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME[:SPLIT]|FILE",
                        help="also the text of a named corpus split (default split: train) or of an annotated "
                             "file in any format 'train' reads (repeatable)")
    parser.add_argument("-o", "--output", metavar="DIR", required=True,
                        help="folder to write chars.vec, bigrams.vec, words.vec and vectors.json to")
    defaults = EmbedConfig()
    for name, help_ in (("char_dim", "character vector size"), ("bigram_dim", "bigram vector size"),
                        ("word_dim", "word vector size"), ("window", "context window"),
                        ("min_count", "ignore tokens seen fewer times"), ("epochs", "passes over the text"),
                        ("seed", "random seed"), ("threads", "training threads (1 makes runs repeatable)")):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name),
                            help=f"{help_} (default: %(default)s)")
    # --workers was this option's name before "workers" came to mean processes everywhere
    parser.add_argument("--workers", type=int, dest="threads", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--cbow", action="store_true", help="CBOW instead of skip-gram (faster, a little worse)")
    parser.add_argument("--segmenter", choices=SEGMENTERS, default=defaults.segmenter,
                        help="word segmenter for the word vectors (default: %(default)s)")
    parser.add_argument("--keep-held-out", action="store_true",
                        help="keep the sentences of named corpora whose text is in a test split (or in the dev "
                             "split of a named corpus not embedded); by default they are left out")
    add_data_dir(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.texts and not args.corpus:
        raise BrandnerError("nothing to train on: give text files and/or --corpus NAME")
    config = EmbedConfig(char_dim=args.char_dim, bigram_dim=args.bigram_dim, word_dim=args.word_dim,
                         window=args.window, min_count=args.min_count, epochs=args.epochs, skipgram=not args.cbow,
                         seed=args.seed, threads=args.threads, segmenter=args.segmenter)
    texts: list[str] = []
    sources: list[str] = []
    for path in args.texts:
        texts.extend(read_texts(path))
        sources.append(path)
    named = [spec for spec in args.corpus if not Path(spec).is_file()]
    held_out = set() if args.keep_held_out else _held_out({spec.partition(":")[0] for spec in named}, args.data_dir)
    for spec in args.corpus:
        if spec not in named:  # an annotated file of one's own, in any format train reads
            texts.extend(s.text for s in read_sentences(spec))
            sources.append(spec)
            continue
        name, _, split = spec.partition(":")
        corpus = [s.text for s in corpus_split(name, split or "train", args.data_dir)]
        kept = [text for text in corpus if text not in held_out]
        if len(kept) < len(corpus):
            log.info("%s:%s: left out %d of %d sentences that are in a held-out split (--keep-held-out keeps them)",
                     name, split or "train", len(corpus) - len(kept), len(corpus))
        texts.extend(kept)
        sources.append(f"{name}:{split or 'train'}")
    summary = train_vectors(texts, args.output, config, sources)
    for kind, counts in summary["kinds"].items():
        print(f"{args.output}/{counts['file']}: {counts['vectors']} {kind} vectors of {counts['dim']} dimensions "
              f"({counts['tokens']} tokens)")
    return 0


def _held_out(names: set[str], data_dir: str | None) -> set[str]:
    """The texts vectors of the named corpora ``names`` leave out (none without a named corpus)."""
    if not names:
        return set()
    from brandner.data.corpora import held_out_texts

    texts, splits = held_out_texts(names, data_dir)
    log.info("held out of the vectors' text: %s", ", ".join(splits) or "no split found on disk")
    return texts
