"""Argument pieces and loaders shared by several commands."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from brandner.data.records import OVERLAP_POLICIES
from brandner.data.sentence import Sentence
from brandner.errors import BrandnerError


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
    add_device(parser, "cpu", "where a PyTorch model computes its tag scores: cpu (default: as --backend says), "
                              "cuda or cuda:N (in PyTorch on that GPU), or auto (a GPU where torch sees one)")


def add_device(parser: argparse.ArgumentParser, default: str, help: str) -> None:
    parser.add_argument("--device", type=_device, default=default, metavar="DEVICE", help=help)


def _device(name: str) -> str:
    from brandner.config import check_device_name

    try:
        check_device_name(name)
    except BrandnerError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("device ")) from None
    return name


def models(args: argparse.Namespace) -> str | list[str]:
    """``--model``: one file, or the list of an ensemble's files."""
    return args.model[0] if len(args.model) == 1 else args.model


def add_overlaps(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overlaps", choices=OVERLAP_POLICIES, default="error",
                        help="overlapping entities in a JSON file (Label Studio and doccano allow them): 'error' "
                             "(default) stops at the first; 'outer' keeps the longest and drops the others, "
                             "counted in a warning")


def read_sentences(path: str | Path, overlaps: str = "error") -> list[Sentence]:
    """Annotated sentences from a file in any supported format (detected), overlapping entities
    handled as ``overlaps`` says; a file without any (empty, blank, or only empty texts) is an
    error: it would train or score nothing."""
    from brandner.data.formats import read_file
    return _some(read_file(path, overlaps=overlaps).sentences, str(path))


def corpus_split(name: str, split: str, data_dir: str | None) -> list[Sentence]:
    """The sentences of a named corpus's split; none is an error, as for :func:`read_sentences`."""
    from brandner.data.corpora import load_split
    return _some(load_split(name, split, data_dir), f"{name} {split}")


def _some(sentences: list[Sentence], source: str) -> list[Sentence]:
    if not any(sentence.text for sentence in sentences):
        raise BrandnerError(f"{source}: no sentences")
    return sentences


@contextmanager
def input_lines(path: str | None) -> Iterator[tuple[IO[bytes] | list, str]]:
    """The raw lines of ``-i FILE`` (bytes: ``read_documents`` decodes them line by line) and its
    name; ``-`` is stdin, None no lines."""
    if path is None:
        yield [], "<args>"
    elif path == "-":
        yield sys.stdin.buffer, "<stdin>"
    else:
        with open(path, "rb") as handle:
            yield handle, path
