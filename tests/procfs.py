"""A process's children and whether a process still runs, read from /proc (Linux), for tests that
start real processes and kill some of them."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

PROC = Path("/proc")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """The state letter, parent pid and CPU time (clock ticks) of ``pid``, or None once it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (command) "; the command may hold spaces
    return fields[0], int(fields[1]), int(fields[11]) + int(fields[12])  # state, ppid, utime + stime


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (dead, waiting to be reaped)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def idle(pids: list[int], seconds: float = 1.0) -> bool:
    """Whether none of ``pids`` used any CPU time over ``seconds`` (all waiting for work)."""
    def ticks() -> list[int | None]:
        return [stat[2] if (stat := _stat(pid)) else None for pid in pids]

    before = ticks()
    time.sleep(seconds)
    return ticks() == before


def children(pid: int) -> list[int]:
    """The running children of ``pid``, in pid order."""
    found = []
    for entry in os.listdir(PROC):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[1] == pid and running(int(entry)):
            found.append(int(entry))
    return sorted(found)


def descendants(pid: int) -> list[int]:
    """The running children of ``pid``, theirs, and so on."""
    found, frontier = [], [pid]
    while frontier:
        kids = [kid for parent in frontier for kid in children(parent)]
        found += kids
        frontier = kids
    return sorted(found)


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it is true (True) or ``timeout`` seconds have passed (False)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(interval)
    return True
