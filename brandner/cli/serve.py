"""``brandner serve``: the HTTP API and web page for a model (FastAPI + uvicorn)."""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import socket

from brandner.cli.common import add_device
from brandner.errors import BrandnerError
from brandner.serving.batcher import Limits


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve a model over HTTP, with a web page at /",
                                   description=__doc__)
    parser.add_argument("-m", "--model", required=True, metavar="MODEL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="server processes, each with its own model")
    parser.add_argument("--threads", type=int, help="torch threads per process (default: torch's choice)")
    add_device(parser, "cpu", "where the tagging process computes the tag scores: cpu (default), cuda or cuda:N "
                              "(the PyTorch model on that GPU), or auto (a GPU where torch sees one)")
    parser.add_argument("--canonical", metavar="FILE", action="append",
                        help="a brand list ('alias<TAB>canonical name' or a bare name a line): entities it names "
                             "get \"canonical\" (repeatable; as brandner tag --canonical)")
    limits = parser.add_argument_group("limits and batching")
    helps = {"timeout": "seconds a client has to send a request's head, then again its body; after that, "
                        "408 and the connection closed (a connection that sends nothing is closed too)"}
    for field in dataclasses.fields(Limits):
        limits.add_argument("--" + field.name.replace("_", "-"), type=type(field.default), default=field.default,
                            help=" ".join([helps.get(field.name, ""), f"(default {field.default})"]).strip())
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from brandner.serving.app import SETTINGS_VARIABLE, load_app
        from brandner.serving.connection import uvicorn_options
    except ImportError as error:
        raise BrandnerError(f"brandner serve needs FastAPI and uvicorn: pip install 'brandner[serve]' ({error})")
    if args.workers < 1:
        raise BrandnerError("--workers must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise BrandnerError("--threads must be at least 1")
    _check_address(args.host, args.port)
    try:
        limits = Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)})
    except ValueError as error:
        raise BrandnerError(str(error)) from None
    canonical = [os.path.abspath(path) for path in args.canonical or ()] or None
    app = load_app(args.model, limits, args.threads, canonical, args.device)  # also fails early on a bad model file
    options = {"host": args.host, "port": args.port, "access_log": False, "timeout_graceful_shutdown": 30,
               "log_config": _log_config(uvicorn.config.LOGGING_CONFIG), **uvicorn_options(limits.timeout)}
    if args.workers == 1:
        uvicorn.run(app, **options)
    else:  # each worker process builds its own app from the settings in the environment
        os.environ[SETTINGS_VARIABLE] = json.dumps({"model": os.path.abspath(args.model), "threads": args.threads,
                                                    "limits": dataclasses.asdict(limits), "canonical": canonical,
                                                    "device": args.device})
        uvicorn.run("brandner.serving.app:app_from_environment", factory=True, workers=args.workers, **options)
    return 0


def _log_config(uvicorn_config: dict) -> dict:
    """uvicorn's logging configuration, with brandner's messages (a client that disconnected, a
    tagging process that died) printed as uvicorn prints its own."""
    config = copy.deepcopy(uvicorn_config)
    config["loggers"]["brandner"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def _check_address(host: str, port: int) -> None:
    """Fail now, in one line, where uvicorn would log a port in use or an unknown host over
    several lines and exit with 3 (and take a port above 65535 modulo 65536)."""
    if not 0 <= port <= 65535:
        raise BrandnerError(f"--port must be from 0 to 65535, got {port}")
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:  # socket.gaierror (an unknown host) included
        raise BrandnerError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
