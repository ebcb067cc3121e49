"""What every benchmark records: the machine, the date, the command; and appending to RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
REPO = Path(__file__).resolve().parent.parent


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
    """A section heading with date, command, CPU, cores and torch threads."""
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0])] + sys.argv[1:])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"## {title}\n\n- date: {now}\n- command: `{command}`\n"
            f"- machine: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, Python {platform.python_version()}\n")


def append_results(text: str, path: Path = RESULTS) -> None:
    """Append a section to the results file (created with a title if missing)."""
    if not path.exists():
        path.write_text("# Benchmark results\n\nEach section is appended by the script named in its command.\n\n",
                        encoding="utf-8")
    with path.open("a", encoding="utf-8") as out:
        out.write(text.rstrip() + "\n\n")


def publish(title: str, body: str, write: bool = True) -> None:
    """Print a results section (heading with date, command and machine, then ``body``)
    and, when ``write``, append it to RESULTS.md."""
    text = header(title) + "\n" + body
    print(text)
    if write:
        append_results(text)
