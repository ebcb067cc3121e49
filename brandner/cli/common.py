"""Argument pieces and loaders shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from brandner.data.sentence import Sentence


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR",
                        help="root of the named corpora (default: $BRANDNER_DATA, else ~/.cache/brandner)")


def add_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", required=True, action="append", metavar="MODEL",
                        help="a model file (PyTorch or ONNX); repeat to tag with the ensemble of several "
                             "trained with the same features and tags (the mean of their scores)")
    parser.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto",
                        help="what computes a model file's scores: auto (default) onnxruntime where it is "
                             "installed (the model exported once, cached; the same entities, faster), else "
                             "PyTorch; onnx; torch")


def models(args: argparse.Namespace) -> str | list[str]:
    """``--model``: one file, or the list of an ensemble's files."""
    return args.model[0] if len(args.model) == 1 else args.model


def read_sentences(path: str | Path) -> list[Sentence]:
    """Annotated sentences from a file in any supported format (detected)."""
    from brandner.data.formats import read_file
    return read_file(path).sentences


def corpus_split(name: str, split: str, data_dir: str | None) -> list[Sentence]:
    from brandner.data.corpora import load_split
    return load_split(name, split, data_dir)
