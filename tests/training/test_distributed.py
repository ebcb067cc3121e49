"""``brandner train`` under torchrun (brandner.training.distributed): W ranks of batch B take the
steps of one process of batch W * B, on one node or two; rank 0 alone writes; resume; a rank
that fails, dies or stops answering ends the job with an error, never a hang.

The torchrun tests start real torchrun processes on 127.0.0.1 (slow); every one has a bound."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from brandner.cli.main import torchrun_rank
from brandner.config import load_config
from brandner.data.batching import Encoded
from brandner.errors import BrandnerError
from brandner.model.model_file import atomic_save, safe_load
from brandner.training.distributed import (
    DEFAULT_TIMEOUT,
    data_digest,
    distributed_timeout,
    distributed_train_config,
    error_line,
    launched,
    rank_seed,
)
from brandner.training.job import fit
from tests import procfs
from tests.conftest import REPO, synthetic_sentences, write_jsonl

# Dropout and <UNK> replacement off (random numbers drawn per batch differ between a batch of 20
# and two of 10); clipping on and low, so that it matters where it happens (after the sum);
# a weight average, kept by every rank.
SETTINGS = ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=4", "lr=0.05", "dropout=0", "unk_replace=0",
            "clip=0.5", "weight_average=0.5", "patience=100"]
# Sentences of the two corpora: in batches of 20, 20 + 20 + 13 and 20 + 20 + 6; in batches of 10
# on two ranks, the last run of an epoch is (10, 3): two batches of unequal size, or (6, none): a rank
# without a batch.
UNEQUAL, ALONE = 53, 46
EPOCHS = 3
LAUNCH_SECONDS = 240  # the bound on any torchrun here (seconds of work on a quiet machine)


def cli_settings(*settings: str) -> list[str]:
    return [arg for setting in settings for arg in ("--set", setting)]


def make_corpus(folder: Path, sentences: int) -> Path:
    """train.jsonl and dev.jsonl, and one.pt: one process of batch 20, EPOCHS epochs."""
    write_jsonl(folder / "train.jsonl", synthetic_sentences(sentences))
    write_jsonl(folder / "dev.jsonl", synthetic_sentences(10, seed=1))
    config = load_config(None, SETTINGS + ["batch_size=20", "workers=1", f"max_epochs={EPOCHS}"])
    summary = fit(synthetic_sentences(sentences), synthetic_sentences(10, seed=1), config, folder / "one.pt")
    assert summary["world_size"] == 1
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"), UNEQUAL)


@pytest.fixture(scope="module")
def corpus_with_a_rank_alone(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"), ALONE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(corpus: Path, port: int, *args: str, nodes: int = 1, node_rank: int = 0, procs: int = 2,
             program: list[str] | None = None) -> list[str]:
    """The command line of torchrun starting ``procs`` ranks of ``brandner train`` (or ``program``)
    on this "node", training on the corpus's files with SETTINGS and ``args``."""
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(nodes), "--node-rank", str(node_rank),
            "--nproc-per-node", str(procs), "--master-addr", "127.0.0.1", "--master-port", str(port),
            *(program or ["-m", "brandner.cli.main"]), "train", "--train", str(corpus / "train.jsonl"),
            "--dev", str(corpus / "dev.jsonl"), *cli_settings(*SETTINGS), *args]


def environment(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", **extra)


def run(command: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=environment(**extra), capture_output=True, text=True,
                          timeout=LAUNCH_SECONDS)


def run_nodes(commands: list[list[str]], folders: list[Path], **extra: str) -> list[tuple[int, str]]:
    """Each command in its folder at once (the nodes of one job); the exit status and stderr of each."""
    processes = [subprocess.Popen(command, cwd=folder, env=environment(**extra), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for command, folder in zip(commands, folders)]
    try:
        outputs = [process.communicate(timeout=LAUNCH_SECONDS) for process in processes]
    except subprocess.TimeoutExpired:  # say what every node was doing, not only the first one waited on
        for process in processes:
            process.kill()
        errors = [process.communicate()[1] for process in processes]
        raise AssertionError("a node ran past %d s; their stderr:\n%s" % (LAUNCH_SECONDS, "\n".join(
            f"--- node {rank}:\n{err[-3000:]}" for rank, err in enumerate(errors)))) from None
    finally:
        for process in processes:
            process.kill()
    return [(process.returncode, err) for process, (_, err) in zip(processes, outputs)]


def assert_same_training(resume_file: Path, reference_file: Path) -> None:
    """The weights (the average's, as saved), the weights being trained and Adam's state of two
    resume files agree to 1e-5."""
    ours, reference = safe_load(resume_file, "brandner-resume"), safe_load(reference_file, "brandner-resume")
    assert ours["state"]["epoch"] == reference["state"]["epoch"] == EPOCHS
    for key, tensor in reference["model"]["state_dict"].items():
        assert torch.allclose(ours["model"]["state_dict"][key].float(), tensor.float(), atol=1e-5), key
    for a, b in zip(ours["average"]["held"], reference["average"]["held"], strict=True):
        assert torch.allclose(a, b, atol=1e-5)
    assert ours["average"]["updates"] == reference["average"]["updates"] == 3 * EPOCHS
    for key, state in reference["optimizer"]["state"].items():
        for name, value in state.items():
            assert torch.allclose(ours["optimizer"]["state"][key][name], value, atol=1e-5), (key, name)


@pytest.mark.slow
def test_two_ranks_of_batch_10_take_the_steps_of_one_process_of_batch_20(corpus, tmp_path):
    result = run(torchrun(corpus, free_port(), "--set", "batch_size=10", "--epochs", str(EPOCHS), "-o", "ddp.pt"),
                 tmp_path)
    assert result.returncode == 0, result.stderr
    assert_same_training(tmp_path / "ddp.pt.resume", corpus / "one.pt.resume")
    summary = json.loads((tmp_path / "ddp.pt.json").read_text(encoding="utf-8"))
    assert summary["world_size"] == 2 and summary["epochs_run"] == EPOCHS
    assert summary["config"]["train"]["workers"] == 1
    assert safe_load(tmp_path / "ddp.pt.resume", "brandner-resume")["world_size"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp.pt", "ddp.pt.json", "ddp.pt.resume"]
    assert result.stdout.count("model: ddp.pt") == 1  # rank 0's summary alone
    assert result.stderr.count("epoch 1: loss") == 1
    assert "train.workers=1" in result.stderr


@pytest.mark.slow
def test_two_nodes_on_loopback_train_as_one_process_rank_0_alone_writing_and_reading_the_resume_file(
        corpus_with_a_rank_alone, tmp_path):
    """Two torchruns (node ranks 0 and 1), each in its own folder with the output path relative:
    node 1's stays empty, and a resumed run needs the resume file on node 0 alone. The last run
    of each epoch has a batch for rank 0 alone."""
    corpus = corpus_with_a_rank_alone
    nodes = [tmp_path / "node0", tmp_path / "node1"]
    for folder in nodes:
        folder.mkdir()
    for epochs, resume in ((EPOCHS - 1, []), (EPOCHS, ["--resume"])):
        port = free_port()
        commands = [torchrun(corpus, port, "--set", "batch_size=10", "--epochs", str(epochs), "-o", "m.pt", *resume,
                             nodes=2, node_rank=rank, procs=1) for rank in (0, 1)]
        for status, err in run_nodes(commands, nodes):
            assert status == 0, err
    assert_same_training(nodes[0] / "m.pt.resume", corpus / "one.pt.resume")
    assert json.loads((nodes[0] / "m.pt.json").read_text(encoding="utf-8"))["world_size"] == 2
    assert list(nodes[1].iterdir()) == []


@pytest.mark.slow
def test_rank_0_s_error_before_training_is_every_rank_s(corpus, tmp_path):
    """--resume with no resume file: rank 0 fails reading it, and rank 1 (on another node, so that
    no torchrun stops it first) fails with rank 0's words instead of waiting for a state."""
    port = free_port()
    commands = [torchrun(corpus, port, "--resume", "-o", "m.pt", nodes=2, node_rank=rank, procs=1) for rank in (0, 1)]
    (status0, err0), (status1, err1) = run_nodes(commands, [tmp_path, tmp_path])
    assert status0 != 0 and status1 != 0
    assert "brandner: error: m.pt.resume: no resume state to continue from" in err0
    assert "brandner: error: rank 0 failed: m.pt.resume: no resume state to continue from" in err1


@pytest.mark.slow
def test_ranks_that_read_other_training_data_are_refused_on_every_rank(corpus, tmp_path):
    nodes = [tmp_path / "node0", tmp_path / "node1"]
    for rank, folder in enumerate(nodes):
        folder.mkdir()
        write_jsonl(folder / "train.jsonl", synthetic_sentences(UNEQUAL, seed=rank + 5))
    port = free_port()
    commands = [torchrun(corpus, port, "-o", "m.pt", nodes=2, node_rank=rank, procs=1) for rank in (0, 1)]
    commands = [[arg if arg != str(corpus / "train.jsonl") else "train.jsonl" for arg in c] for c in commands]
    for status, err in run_nodes(commands, nodes):
        assert status != 0
        assert "brandner: error: rank(s) 1 read other training data than rank 0" in err
    assert list(nodes[0].glob("m.pt*")) == []


@pytest.mark.slow
def test_a_rank_that_raises_on_another_node_ends_the_job_there_and_here_with_an_error_saying_so(corpus, tmp_path):
    """Node 1's rank raises at its third batch, as a bug would: its torchrun reports it; node 0's
    torchrun sees nothing wrong with its own rank, which finds its peer gone and says so."""
    program = [str(REPO / "tests" / "training" / "failing_rank.py")]
    port = free_port()
    commands = [torchrun(corpus, port, "--epochs", "50", "-o", "m.pt", nodes=2, node_rank=rank, procs=1,
                         program=program) for rank in (0, 1)]
    (status0, err0), (status1, err1) = run_nodes(commands, [tmp_path, tmp_path], FAIL_RANK="1", FAIL_STEP="3")
    assert status0 != 0 and status1 != 0
    assert "RuntimeError: rank 1 failed on purpose" in err1
    assert "brandner: error: rank 0 of 2: lost the other ranks (one ended: see its error" in err0


def torchrun_pids(process: subprocess.Popen) -> dict[int, int]:
    """The pid of each rank torchrun ``process`` started (RANK in its environment), once all run."""
    def ranks() -> dict[int, int]:
        found = {}
        for pid in procfs.descendants(process.pid):
            try:
                variables = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            rank = [v.split(b"=", 1)[1] for v in variables if v.startswith(b"RANK=")]
            if rank:
                found[int(rank[0])] = pid
        return found

    assert procfs.wait_until(lambda: len(ranks()) == 2, 60)
    return ranks()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["killed", "stopped"])
def test_a_rank_that_dies_or_stops_answering_ends_the_job_with_an_error_not_a_hang(corpus, tmp_path, how):
    """Rank 1 killed (its peer's connection closes) or stopped (its peer waits BRANDNER_DIST_TIMEOUT,
    3 s here; torchrun then kills it) after the first epoch: torchrun exits, not 0, in bounded time."""
    command = torchrun(corpus, free_port(), "--epochs", "100000", "--set", "patience=100000", "-o", "m.pt")
    process = subprocess.Popen(command, cwd=tmp_path, env=environment(BRANDNER_DIST_TIMEOUT="3"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pids = torchrun_pids(process)
        assert procfs.wait_until((tmp_path / "m.pt.resume").exists, 120)
        os.kill(pids[1], signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        _, err = process.communicate(timeout=120)  # torchrun waits 30 s before it kills a stopped rank
    finally:
        process.kill()
        process.communicate()
    assert process.returncode != 0
    if how == "killed":  # torchrun sees it die, and stops rank 0 if rank 0 has not failed first
        assert re.search(r"rank +: 1 \(local_rank: 1\)\n +exitcode +: -9 ", err), err
        stopped = re.search(r"rank +: 0 \(local_rank: 0\)\n +exitcode +: (-15|143) ", err)
        assert "brandner: error: rank 0 of 2: lost the other ranks (one ended" in err or stopped, err
    else:
        assert "brandner: error: rank 0 of 2: no answer from another rank for 3 s (BRANDNER_DIST_TIMEOUT)" in err
    assert not any(procfs.running(pid) for pid in pids.values())


def test_without_torchrun_or_with_one_rank_there_is_no_process_group():
    assert launched({}) is None
    assert launched({"WORLD_SIZE": "1", "RANK": "0"}) is None


def test_torchrun_s_environment_gives_the_rank_and_the_timeout():
    env = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "10.0.0.1",
           "MASTER_PORT": "29500"}
    launch = launched(env)
    assert (launch.rank, launch.world_size, launch.local_rank, launch.local_world_size) == (3, 4, 1, 2)
    assert launch.timeout == DEFAULT_TIMEOUT
    assert launched({**env, "BRANDNER_DIST_TIMEOUT": "12.5"}).timeout == 12.5


TORCHRUN = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "a",
            "MASTER_PORT": "1"}


@pytest.mark.parametrize("env, message", [
    ({"WORLD_SIZE": "2", "RANK": "0"},
     "WORLD_SIZE=2 but LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT not set: launch with torchrun"),
    ({**TORCHRUN, "WORLD_SIZE": "two"}, "WORLD_SIZE must be a whole number at least 1, got 'two'"),
    ({**TORCHRUN, "RANK": "2"}, "RANK=2 of WORLD_SIZE=2"),
    ({**TORCHRUN, "LOCAL_RANK": "-1"}, "LOCAL_RANK must be a whole number at least 0"),
    ({**TORCHRUN, "BRANDNER_DIST_TIMEOUT": "0"}, "BRANDNER_DIST_TIMEOUT must be a positive number"),
    ({**TORCHRUN, "BRANDNER_DIST_TIMEOUT": "soon"}, "BRANDNER_DIST_TIMEOUT must be a positive number"),
    ({**TORCHRUN, "BRANDNER_DIST_TIMEOUT": "inf"}, "BRANDNER_DIST_TIMEOUT must be a positive number"),
])
def test_a_torchrun_environment_that_does_not_add_up_is_an_error_naming_the_variable(env, message):
    with pytest.raises(BrandnerError, match=message):
        launched(env)


def test_an_error_from_gloo_is_quoted_by_itserror_line_without_the_source_file():
    error = RuntimeError("[/__w/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:537] Read error "
                         "[127.0.0.1]:40850: Connection reset by peer.\nmore")
    assert error_line(error) == "Read error [127.0.0.1]:40850: Connection reset by peer."
    assert error_line(RuntimeError("")) == "RuntimeError"
    assert error_line(RuntimeError("x" * 300)) == "x" * 199 + "…"


def test_the_timeout_defaults_to_a_few_minutes():
    assert distributed_timeout({}) == DEFAULT_TIMEOUT == 300


def test_under_torchrun_each_rank_is_one_process_and_sparse_embeddings_are_refused():
    assert distributed_train_config(load_config(None, ["workers=3"]).train, 2).workers == 1
    assert distributed_train_config(load_config(None, []).train, 2).workers == 1
    with pytest.raises(BrandnerError, match="sparse_embeddings does not work under torchrun"):
        distributed_train_config(load_config(None, ["sparse_embeddings=true", "workers=1"]).train, 2)


def test_each_rank_and_epoch_has_its_own_seed_from_the_seed_alone():
    seeds = {rank_seed(seed, epoch, rank) for seed in (1, 2) for epoch in (1, 2) for rank in (0, 1)}
    assert len(seeds) == 8
    assert rank_seed(1, 2, 1) == rank_seed(1, 2, 1)


def test_the_data_digest_sees_any_id_change():
    import numpy as np

    item = Encoded(np.array([3, 4]), np.array([1, 2]), np.array([0, 1]))
    changed = Encoded(np.array([3, 4]), np.array([1, 2]), np.array([0, 2]))
    assert data_digest([item]) == data_digest([Encoded(*(a.copy() for a in (item.chars, item.segments, item.tags)))])
    assert data_digest([item]) != data_digest([changed])
    assert data_digest([item, item]) != data_digest([item])


def test_a_resume_state_of_another_number_of_ranks_is_refused(tmp_path):
    train, dev = synthetic_sentences(20), synthetic_sentences(4, seed=1)
    config = load_config(None, SETTINGS + ["workers=1", "max_epochs=1"])
    fit(train, dev, config, tmp_path / "m.pt")
    state = safe_load(tmp_path / "m.pt.resume", "brandner-resume")
    assert state["world_size"] == 1
    atomic_save({**state, "world_size": 2}, tmp_path / "m.pt.resume")
    with pytest.raises(BrandnerError, match=r"cannot resume with different settings: world_size \(2 rank\(s\) "
                                            r"then, 1 now\)"):
        fit(train, dev, load_config(None, SETTINGS + ["workers=1", "max_epochs=2"]), tmp_path / "m.pt", resume=True)


@pytest.mark.parametrize("world_size,finalized", [("2", False), ("1", True)])
def test_a_torchrun_rank_ends_without_the_interpreter_s_teardown(tmp_path, world_size, finalized):
    """A rank exits with its code, its error said, but skips the interpreter's finalization (where
    gloo's teardown aborted a rank now and then); a process not under torchrun ends as usual."""
    program = ("import atexit, sys; atexit.register(print, 'finalized', flush=True); "
               "from brandner.cli.main import main; sys.exit(main(sys.argv[1:]))")
    env = {key: value for key, value in environment().items() if key not in TORCHRUN}
    result = subprocess.run([sys.executable, "-c", program, "train", "--train", "missing.jsonl", "--dev",
                             "missing.jsonl", "-o", "out.pt"], cwd=tmp_path, env={**env, "WORLD_SIZE": world_size},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("brandner: error: ")
    assert ("finalized" in result.stdout) == finalized


@pytest.mark.parametrize("value,rank", [("2", True), ("1", False), ("", False), ("x", False), (None, False)])
def test_a_torchrun_rank_is_a_process_with_a_world_size_above_1(value, rank):
    assert torchrun_rank({} if value is None else {"WORLD_SIZE": value}) is rank
