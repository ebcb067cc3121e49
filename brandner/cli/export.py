"""``brandner export``: write a model as one self-contained ONNX file for onnxruntime."""

from __future__ import annotations

import argparse

from brandner.tagging.onnx_backend import OPSET


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a model to ONNX", description=__doc__ + (
        " The file holds the network's tag scores as a graph, plus the vocabulary, tags and CRF scores;"
        " 'brandner tag -m FILE.onnx' and Tagger.load read it with onnxruntime and decode in numpy."))
    parser.add_argument("-m", "--model", required=True, metavar="MODEL", help="a model file from 'brandner train'")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the ONNX file to write")
    parser.add_argument("--int8", action="store_true",
                        help="store the LSTM and projection weights as int8 (faster; close to float, not identical)")
    parser.add_argument("--opset", type=int, default=OPSET, help="ONNX opset version (default: %(default)s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from brandner.tagging.export import export_model

    written = export_model(args.model, args.output, args.opset, args.int8)
    print(f"wrote {written['output']} ({written['bytes'] / 2**20:.2f} MB, {'int8, ' if args.int8 else ''}"
          f"{written['head']} head, "
          f"{written['tags']} tags, {written['chars']} characters)")
    return 0
