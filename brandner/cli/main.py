"""Entry point of the ``brandner`` console script.

Every command module exposes ``add_parser(subparsers)`` (which sets ``func`` on
its parser) and a plain typed function that does the work. Command modules import
PyTorch (and other heavy libraries) inside the function that needs it, so that
starting the CLI stays cheap: ``brandner tag`` with an ONNX model never loads
PyTorch. Errors the user can fix print one line and exit with code 1, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from brandner.cpus import available_cpus
from brandner.errors import BrandnerError

COMMANDS = ("train", "evaluate", "tag", "select", "report", "corpus", "convert", "embed", "serve", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brandner", description="Chinese brand and entity recognition")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"brandner.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    code = _run(argv)
    if torchrun_rank():
        end_now(code)
    return code


def torchrun_rank(environ: dict[str, str] | None = None) -> bool:
    """Whether this process is one of several ranks started by torchrun (``WORLD_SIZE`` above 1)."""
    size = (os.environ if environ is None else environ).get("WORLD_SIZE", "1")
    return size.strip().isdigit() and int(size) > 1


def end_now(code: int) -> None:
    """Exit with ``code`` now, streams and logs flushed, without the interpreter's finalization.

    A torchrun rank ends so: once gloo has been used, the C++ teardown at interpreter exit
    aborted a rank now and then ("terminate called without an active exception", exit -6, with
    no Python frame left: 1 run in 40 of a two-rank training here, after the process group was
    destroyed and every file written), and torchrun then reports the whole job failed. Everything
    a command writes is closed by the time it returns."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone, or a stream closed
            pass
    os._exit(code)


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    try:
        limit_threads()
        code = args.func(args) or 0
        sys.stdout.flush()  # here, so that a reader gone (`| head`) is met below, not at exit
        return code
    except BrokenPipeError:  # the reader of stdout stopped reading: no traceback, nothing more to write
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (BrandnerError, FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
            PermissionError) as error:
        message = str(error) if isinstance(error, BrandnerError) else f"{error.filename}: {error.strerror}"
        print(f"brandner: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("brandner: interrupted", file=sys.stderr)
        return 130


def limit_threads() -> None:
    """Size torch's threads (read when torch is first imported) by the CPUs this process may use,
    not by the host's cores: in a container with a CPU quota, threads beyond it wait on each
    other. An OMP_NUM_THREADS the user set wins."""
    if "OMP_NUM_THREADS" not in os.environ:
        cpus = available_cpus()
        os.environ["OMP_NUM_THREADS"] = str(cpus)
        if "torch" in sys.modules:  # imported already (a caller's): too late for the variable
            import torch

            torch.set_num_threads(cpus)


if __name__ == "__main__":
    sys.exit(main())
