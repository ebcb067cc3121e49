"""What every benchmark records (the machine, the date, the command), and its section of docs/benchmarks.md."""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "benchmarks.md"


def default_data_dir() -> str:
    """$BRANDNER_DATA, else the shared corpora beside the repository."""
    return os.environ.get("BRANDNER_DATA") or str(REPO.parent / "shared" / "data")


def brandner_command() -> list[str]:
    """How to run the ``brandner`` CLI of this Python: its console script, else ``-m``."""
    script = Path(sys.executable).with_name("brandner")
    return [str(script)] if script.exists() else [sys.executable, "-m", "brandner.cli.main"]


def write_cycled(texts: Sequence[str], lines: int, path: Path) -> None:
    """A file of ``lines`` lines: ``texts`` one a line, over and over (an input for ``brandner tag -i``)."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            out.write(texts[i % len(texts)] + "\n")


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs: the one least disturbed by other work on the machine."""
    return min(timed(run) for _ in range(repeats))


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def matmul_gflops(n: int = 2048, repeats: int = 3) -> float:
    """This machine's float32 matrix-multiply rate at the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    return 2 * n**3 / best_seconds(lambda: torch.mm(a, b), repeats) / 1e9


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def header(title: str) -> str:
    """A section heading (the script's file name and ``title``), then the command, date and machine."""
    script = Path(sys.argv[0]).name
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"## {script}: {title}\n\nCommand: `{command}`\n"
            f"Date: {now}. Machine: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, Python {platform.python_version()}.\n")


def rewrite_section(text: str, path: Path = PAGE) -> None:
    """Put ``text`` (a section: its ``## `` heading line, then its body) into the page at ``path``
    in place of the section with the same heading line, or at the end if there is none; every
    other section stays as it is. The page's history is git's."""
    heading = text.split("\n", 1)[0]
    page = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    sections = re.split(r"(?m)^(?=## )", page)
    new = text.rstrip() + "\n\n"
    for i, section in enumerate(sections):
        if section.split("\n", 1)[0] == heading:
            sections[i] = new
            break
    else:
        sections[-1] = sections[-1].rstrip() + "\n\n"
        sections.append(new)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(sections).rstrip() + "\n", encoding="utf-8")


def publish(title: str, body: str, write: bool = True) -> None:
    """Print a results section (heading, command, date and machine, then ``body``) and, when
    ``write``, make it this script's current section ``title`` of docs/benchmarks.md."""
    text = header(title) + "\n" + body
    print(text)
    if write:
        rewrite_section(text)
