"""``train --workers`` and ``tag --workers`` when processes die: the workers never outlive the
command (kill -9 included), a dead worker ends the command with an error naming it, never a
hang, and an unfinished output is removed or visibly partial. Real processes; Linux (/proc)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from contextlib import suppress

import pytest

from tests.conftest import REPO, SMALL, ctrl_c_as_at_a_terminal, data_dir, synthetic_sentences, write_jsonl
from tests.procfs import PROC, children, command_line, descendants, idle, running, wait_until

pytestmark = pytest.mark.skipif(not PROC.is_dir(), reason="reads /proc")
GONE_SECONDS = 20  # bound on waiting for processes to end (they end at once; the machine may be busy)


def start(*args: str, cwd, stdin=None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), BRANDNER_DATA=str(data_dir()), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "brandner.cli.main", *args], cwd=cwd, env=env, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            start_new_session=True,  # a process group of its own, as a terminal's command
                            preexec_fn=ctrl_c_as_at_a_terminal)


def finish(process: subprocess.Popen, family: list[int]) -> tuple[int, str]:
    """The exit status and stderr of ``process``, its input closed (killed, with ``family``, if it
    runs on too long)."""
    try:
        _, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        end(process, family)
        raise
    return process.returncode, stderr


def end(process: subprocess.Popen, family: list[int]) -> None:
    """Kill what a test left running, so that a failed test leaves nothing behind."""
    for pid in [process.pid, *family]:
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    process.kill()
    process.wait(timeout=60)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with suppress(OSError):  # (unwritten input to a dead process)
                stream.close()


def all_gone(pids: list[int]) -> bool:
    return wait_until(lambda: not any(map(running, pids)), timeout=GONE_SECONDS)


# ---------------------------------------------------------------- train --workers 2


@pytest.fixture
def training(tmp_path):
    """``train --workers 2`` for many epochs, once its first epoch is done; and its two workers."""
    write_jsonl(tmp_path / "train.jsonl", synthetic_sentences(300))
    write_jsonl(tmp_path / "dev.jsonl", synthetic_sentences(10, seed=1))
    trainer = start("train", "--train", "train.jsonl", "--dev", "dev.jsonl", *SMALL, "--workers", "2",
                    "--epochs", "1000", "--set", "patience=1000", "-o", "m.pt", cwd=tmp_path)
    for line in trainer.stderr:
        if "epoch 1:" in line:
            break
    workers = children(trainer.pid)
    try:
        assert len(workers) == 2, [command_line(pid) for pid in workers]
        yield trainer, workers
    finally:
        end(trainer, workers)


def test_a_killed_training_worker_ends_training_with_an_error_naming_it(training):
    trainer, workers = training
    os.kill(workers[1], signal.SIGKILL)  # the trainer waited on the other's pipe alone, for ever
    status, stderr = finish(trainer, workers)
    assert status == 1 and "Traceback" not in stderr, stderr
    error = r"brandner: error: training worker [12] died: killed by signal 9 \(SIGKILL\)"
    assert re.search(f"^{error}$", stderr, re.MULTILINE), stderr
    assert all_gone(workers)


def test_the_workers_die_with_a_trainer_killed_outright(training):
    trainer, workers = training
    trainer.kill()
    trainer.wait(timeout=60)
    assert all_gone(workers), [command_line(pid) for pid in workers if running(pid)]


def test_sigterm_stops_the_trainer_and_its_workers_and_keeps_the_finished_epochs(training, tmp_path):
    trainer, workers = training
    trainer.send_signal(signal.SIGTERM)
    status, stderr = finish(trainer, workers)
    assert status == 128 + signal.SIGTERM and "Traceback" not in stderr, stderr
    assert all_gone(workers)
    from brandner.model.model_file import safe_load
    assert safe_load(tmp_path / "m.pt.resume", "brandner-resume")["state"]["epoch"] >= 1
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]


# ---------------------------------------------------------------- tag --workers 2 -o FILE


@pytest.fixture
def tagging(tiny_model, tmp_path):
    """``tag --workers 2 -i - -o out.jsonl`` with its first results written and more input to
    come (its stdin stays open), its workers and its partial output file."""
    tagger = start("tag", "-m", str(tiny_model), "-i", "-", "-o", "out.jsonl", "--workers", "2", cwd=tmp_path,
                   stdin=subprocess.PIPE)
    family: list[int] = []
    try:
        tagger.stdin.write("".join(f"我买了特步鞋和华为手机{i}\n" for i in range(5000)))
        tagger.stdin.flush()

        def partial():  # the output being written, some of it written
            return [p for p in tmp_path.iterdir() if p.name != "out.jsonl" and os.path.getsize(p) > 0]

        assert wait_until(partial, timeout=180), sorted(p.name for p in tmp_path.iterdir())
        family = descendants(tagger.pid)
        workers = [pid for pid in family if "spawn_main" in command_line(pid)]
        assert len(workers) == 2, [command_line(pid) for pid in family]
        yield tagger, family, workers
    finally:
        end(tagger, family + descendants(tagger.pid))


def test_kill_9_of_tag_leaves_no_worker_and_only_a_visibly_partial_output(tagging, tmp_path):
    tagger, family, _ = tagging
    tagger.kill()
    tagger.wait(timeout=60)
    assert all_gone(family), [command_line(pid) for pid in family if running(pid)]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not [name for name in names if name.startswith(".")], names
    assert len(names) == 1 and re.fullmatch(rf"out\.jsonl\.{tagger.pid}\.\w+\.partial", names[0]), names


def test_a_dead_tagging_worker_is_an_error_naming_it_and_no_output(tagging, tmp_path):
    tagger, family, workers = tagging
    os.kill(workers[0], signal.SIGKILL)
    status, stderr = finish(tagger, family)  # the input ends: the tagger goes on, and finds its worker dead
    assert status == 1 and "Traceback" not in stderr, stderr
    error = r"brandner: error: tagging worker [12] died: killed by signal 9 \(SIGKILL\)"
    assert re.search(f"^{error}$", stderr, re.MULTILINE), stderr
    assert all_gone(family)
    assert list(tmp_path.iterdir()) == []


def test_sigterm_to_tag_stops_its_workers_and_removes_the_partial_output(tagging, tmp_path):
    tagger, family, _ = tagging
    tagger.send_signal(signal.SIGTERM)
    tagger.wait(timeout=120)  # before its input ends, which would let it finish
    status, stderr = finish(tagger, family)
    assert status == 128 + signal.SIGTERM and "Traceback" not in stderr, stderr
    assert all_gone(family)
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_to_tag_and_its_workers_is_one_line_and_removes_the_partial_output(tagging, tmp_path):
    tagger, family, workers = tagging
    # workers waiting for work, where Ctrl-C made each print a traceback (in a task, it went to tag)
    assert wait_until(lambda: idle(workers), timeout=120)
    os.killpg(tagger.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    tagger.wait(timeout=120)
    status, stderr = finish(tagger, family)
    assert status == 130 and stderr == "brandner: interrupted\n", stderr  # no worker's traceback
    assert all_gone(family)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- serve


def test_the_servers_tagging_process_dies_with_a_server_killed_outright(tiny_model):
    from tests.serving.server import post_json, running_server

    with running_server(tiny_model) as (url, server):
        status, _ = post_json(url + "/v1/tag", {"texts": ["我买了特步鞋"]})  # the tagging process starts with the first
        family = descendants(server.pid)
        try:
            assert status == 200 and [pid for pid in family if "spawn_main" in command_line(pid)], \
                [command_line(pid) for pid in family]
            server.kill()
            server.wait(timeout=60)
            assert all_gone(family), [command_line(pid) for pid in family if running(pid)]
        finally:
            for pid in filter(running, family):
                os.kill(pid, signal.SIGKILL)
