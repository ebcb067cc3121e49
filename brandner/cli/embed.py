"""``brandner embed``: train character, bigram and word vectors on raw text or corpus text."""

from __future__ import annotations

import argparse
from pathlib import Path

from brandner.cli.common import add_data_dir, corpus_split, read_sentences
from brandner.data.features import SEGMENTERS
from brandner.errors import BrandnerError
from brandner.training.word2vec import EmbedConfig, read_texts, train_vectors


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
    for spec in args.corpus:
        if Path(spec).is_file():  # an annotated file of one's own, in any format train reads
            texts.extend(s.text for s in read_sentences(spec))
            sources.append(spec)
            continue
        name, _, split = spec.partition(":")
        texts.extend(s.text for s in corpus_split(name, split or "train", args.data_dir))
        sources.append(f"{name}:{split or 'train'}")
    summary = train_vectors(texts, args.output, config, sources)
    for kind, counts in summary["kinds"].items():
        print(f"{args.output}/{counts['file']}: {counts['vectors']} {kind} vectors of {counts['dim']} dimensions "
              f"({counts['tokens']} tokens)")
    return 0
