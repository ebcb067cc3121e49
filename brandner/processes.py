"""Child processes that end with their parent, and one-line words for how a child ended.

brandner starts children in three places: the forked training workers (``train --workers``),
the spawned tagging workers (``tag --workers``) and the server's tagging process. Each calls
:func:`die_with_parent` first thing, so that none outlives the process that started it,
however that one ends (``kill -9`` included); the parents wait on their children's sentinels
and name a child that died with :func:`exit_status`. :func:`sigterm_exits` lets ``SIGTERM``
unwind the stack of a command like Ctrl-C does (workers stopped, temporary files removed).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_SECONDS = 0.25  # how often the watchdog thread looks for its parent
ORPHANED = 1  # the exit code of a child that found its parent gone


def die_with_parent(parent: int | None = None) -> None:
    """Make this process end as soon as its parent ends: call it first thing in a child.

    ``parent`` is the parent's pid; by default the parent multiprocessing recorded when it
    started this process (the parent may be dead already when this runs), and in a process
    that multiprocessing did not start, nothing is done. Two ways:

    * on Linux, the kernel sends this process SIGKILL when the parent *thread* that started it
      ends (``prctl(PR_SET_PDEATHSIG)``), so start children from a thread that outlives them
      (brandner's parents do: the training loop's thread, the thread reading ``tag -i``'s
      input, the server's event loop);
    * everywhere, a daemon thread checks every :data:`WATCH_SECONDS` that the parent is
      still this process's parent (a dead parent's children are adopted by init or a
      subreaper) and ends the process (exit code :data:`ORPHANED`) when it is not.

    A parent already gone when this is called ends this process at once."""
    if parent is None:
        known = multiprocessing.parent_process()
        if known is None or known.pid is None:
            return
        parent = known.pid
    set_parent_death_signal()
    if os.getppid() != parent:  # died before the signal was set: nothing will send it now
        os._exit(ORPHANED)
    watch_parent(parent)


def set_parent_death_signal(signum: int = 9) -> bool:
    """Ask Linux to send ``signum`` (by default SIGKILL) to this process when its parent thread
    ends; False where that cannot be asked (another system, or prctl refused)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0


def watch_parent(parent: int) -> threading.Thread:
    """Start the daemon thread that ends this process once ``parent`` is no longer its parent."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(ORPHANED)

    thread = threading.Thread(target=watch, name="brandner-parent-watch", daemon=True)
    thread.start()
    return thread


def exit_status(exitcode: int | None) -> str:
    """How a process ended, from ``multiprocessing.Process.exitcode`` (negative: a signal)::

        exit_status(7) == "exit code 7";  exit_status(-9) == "killed by signal 9 (SIGKILL)"
    """
    if exitcode is None:
        return "still running"
    if exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        name = f" ({signal.Signals(-exitcode).name})"
    except ValueError:
        name = ""
    return f"killed by signal {-exitcode}{name}"


@contextmanager
def sigterm_exits() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` (128 + 15, what a shell reports for
    a process SIGTERM ended) in the main thread, so ``finally`` and ``with`` blocks run: workers
    are stopped, temporary output removed. Only where SIGTERM still has its default action and
    in the main thread (elsewhere it changes nothing); the old action is back after the block."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
