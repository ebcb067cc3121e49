"""Children that die with their parent (kill -9 included), how a child ended in words, and
SIGTERM as an exit that runs the cleanup. Real processes, killed for real; Linux (/proc)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from brandner.processes import ORPHANED, exit_status
from tests.conftest import REPO
from tests.procfs import PROC, running, wait_until

pytestmark = pytest.mark.skipif(not PROC.is_dir(), reason="reads /proc")
ENV = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")

# A parent that starts a child, which ties its life to the parent's and says so; both then sleep.
FAMILY = textwrap.dedent("""
    import multiprocessing, sys, time
    from brandner import processes

    def child(mechanisms):
        if mechanisms == "watchdog":  # as where prctl is missing
            processes.set_parent_death_signal = lambda *args: False
        processes.die_with_parent()
        print(multiprocessing.current_process().pid, flush=True)
        time.sleep(600)

    if __name__ == "__main__":
        multiprocessing.get_context(sys.argv[1]).Process(target=child, args=(sys.argv[2],)).start()
        time.sleep(600)
""")


@pytest.mark.parametrize("start, mechanisms", [("fork", "both"), ("spawn", "both"), ("spawn", "watchdog")])
def test_a_child_dies_with_its_parent_killed_outright(tmp_path, start, mechanisms):
    script = tmp_path / "family.py"
    script.write_text(FAMILY, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script), start, mechanisms], env=ENV, stdout=subprocess.PIPE,
                              text=True)
    try:
        child = int(parent.stdout.readline())
        assert running(child)
        parent.kill()
        parent.wait(timeout=30)
        assert wait_until(lambda: not running(child), timeout=20), f"child {child} outlived its parent"
    finally:
        parent.kill()
        parent.wait(timeout=30)


def test_a_child_whose_parent_died_before_it_could_ask_ends_at_once():
    code = "from brandner.processes import die_with_parent\ndie_with_parent(1)\nprint('still here')"  # 1: not its parent
    result = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert result.returncode == ORPHANED and "still here" not in result.stdout


def test_a_process_multiprocessing_did_not_start_is_left_alone():
    code = ("import threading\nfrom brandner.processes import die_with_parent\ndie_with_parent()\n"
            "print(threading.active_count())")
    result = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "1", result.stderr


def test_exit_status_says_how_a_process_ended():
    assert exit_status(0) == "exit code 0"
    assert exit_status(7) == "exit code 7"
    assert exit_status(-9) == "killed by signal 9 (SIGKILL)"
    assert exit_status(-signal.SIGTERM) == "killed by signal 15 (SIGTERM)"
    assert exit_status(-200) == "killed by signal 200"
    assert exit_status(None) == "still running"


def test_sigterm_inside_the_block_runs_the_cleanup_and_exits_143_and_outside_it_kills():
    code = textwrap.dedent("""
        import os, signal, sys, time
        from brandner.processes import sigterm_exits
        if sys.argv[1] == "inside":
            with sigterm_exits():
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(60)
                finally:
                    print("cleaned up", flush=True)
        else:
            with sigterm_exits():
                pass
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(60)
    """)
    inside = subprocess.run([sys.executable, "-c", code, "inside"], env=ENV, capture_output=True, text=True,
                            timeout=60)
    assert inside.returncode == 128 + signal.SIGTERM and inside.stdout == "cleaned up\n", inside.stderr
    outside = subprocess.run([sys.executable, "-c", code, "outside"], env=ENV, capture_output=True, text=True,
                             timeout=60)
    assert outside.returncode == -signal.SIGTERM  # the default action again
