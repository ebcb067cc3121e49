"""Training in worker processes (train.workers > 1): the numbers of serial steps whose
gradients are taken at the start of each run, reproducible, resumable, failures as errors."""

from __future__ import annotations

import copy
import multiprocessing
import os
import random
import signal
from contextlib import contextmanager

import pytest
import torch

from brandner.config import load_config
from brandner.data.batching import collate, length_batches, length_runs
from brandner.data.encoder import Encoder
from brandner.data.metrics import score
from brandner.errors import BrandnerError
from brandner.model.model_file import network_for
from brandner.training import parallel
from brandner.training.job import training_singletons
from brandner.training.loop import StepEvent, TrainState, epoch_lr, train_loop
from brandner.training.optim import adam
from brandner.training.parallel import Aborted, SpinBarrier, split_by_size
from brandner.training.steps import WeightAverage, clip_gradients
from tests.conftest import synthetic_sentences, whole_and_resumed

TINY = ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=4", "lr=0.05", "lr_decay=0.5", "batch_size=3",
        "patience=100"]


def setup(*overrides: str, sentences: int = 23):
    config = load_config(None, TINY + list(overrides))
    train = synthetic_sentences(sentences)
    torch.manual_seed(0)
    encoder = Encoder.build(train, config.model)
    model = network_for(config.model, encoder)
    return config, model, [encoder.encode_sentence(s) for s in train], encoder


def run_loop(config, model, data, encoder, seed=0):
    """Train with train_loop; the model, and each step's loss."""
    average = WeightAverage(model, config.train.weight_average) if config.train.weight_average else None
    losses = [event.loss for event in
              train_loop(model, adam(model, config.train.lr), data, lambda: score([], []), config.train,
                         TrainState(), random.Random(seed), training_singletons(data, encoder), average)
              if isinstance(event, StepEvent)]
    if average is not None:
        average.swap()  # the average, as fit saves it
    return model, losses


@pytest.mark.parametrize("sparse_from", [0, parallel.SPARSE_FROM])  # every table's gradient sparse, or none here
def test_two_workers_give_serial_adam_steps_with_each_run_s_gradients_taken_at_its_start(monkeypatch, sparse_from):
    """The oracle: in this process, for each run of two batches, both gradients (clipped) at
    the run's first weights, then two Adam steps and two updates of the weight average."""
    monkeypatch.setattr(parallel, "SPARSE_FROM", sparse_from)
    config, model, data, encoder = setup("workers=2", "dropout=0", "unk_replace=0", "clip=0.5",
                                         "weight_average=0.5", "max_epochs=3")
    oracle = copy.deepcopy(model)
    ours, losses = run_loop(config, model, data, encoder)

    optimizer = adam(oracle, config.train.lr)
    average = WeightAverage(oracle, config.train.weight_average)
    trained = [p for p in oracle.parameters() if p.requires_grad]
    rng, expected = random.Random(0), []
    for epoch in range(1, 4):
        for group in optimizer.param_groups:
            group["lr"] = epoch_lr(config.train, epoch)
        runs = length_runs([len(d.chars) for d in data], 3, rng, 2)
        [rng.getrandbits(63) for _ in range(2)]  # the workers' seeds (no randomness to seed here)
        for run in runs:
            grads = []
            for indices in run:
                loss = oracle.loss(collate([data[i] for i in indices]))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                clip_gradients(trained, 0.5)
                grads.append([p.grad.clone() for p in trained])
                expected.append(loss.item())
            for grad in grads:
                for p, g in zip(trained, grad, strict=True):
                    p.grad = g
                optimizer.step()
                average.update()
    average.swap()
    assert losses == pytest.approx(expected, abs=1e-5)
    assert len(losses) == 3 * 8  # 23 sentences in batches of 3
    for a, b in zip(ours.parameters(), oracle.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_the_same_seed_and_workers_give_the_same_weights_whatever_the_timing():
    weights = []
    for _ in range(2):
        config, model, data, encoder = setup("workers=2", "max_epochs=2")  # dropout and <UNK> replacement on
        trained, _ = run_loop(config, model, data, encoder)
        weights.append([p.detach().clone() for p in trained.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*weights, strict=True))
    config, model, data, encoder = setup("workers=3", "max_epochs=2")
    other, _ = run_loop(config, model, data, encoder)
    assert not all(torch.equal(a, b) for a, b in zip(weights[0], other.parameters(), strict=True))


def test_a_resumed_parallel_run_ends_as_an_uninterrupted_one(tmp_path):
    whole, cut = whole_and_resumed(tmp_path, TINY + ["workers=2", "weight_average=0.9"])
    assert whole["state"]["epoch"] == cut["state"]["epoch"] == 3
    for key, tensor in whole["model"]["state_dict"].items():
        assert torch.equal(tensor, cut["model"]["state_dict"][key]), key
    assert whole["optimizer"]["state"].keys() == cut["optimizer"]["state"].keys()
    for key, state in whole["optimizer"]["state"].items():
        assert all(torch.equal(value, cut["optimizer"]["state"][key][name]) for name, value in state.items())


def test_the_adam_state_and_average_trained_in_the_workers_are_the_callers():
    config, model, data, encoder = setup("workers=2", "weight_average=0.9", "max_epochs=1")
    optimizer, average = adam(model, config.train.lr), WeightAverage(model, 0.9)
    before = [p.detach().clone() for p in model.parameters()]
    events = list(train_loop(model, optimizer, data, lambda: score([], []), config.train, TrainState(),
                             random.Random(0), None, average))
    steps = sum(isinstance(e, StepEvent) for e in events)
    assert steps == 8 and average.updates == 8
    assert {float(s["step"]) for s in optimizer.state.values()} == {8.0}
    assert all(float(s["exp_avg_sq"].abs().sum()) > 0 for s in optimizer.state.values())
    assert not any(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_a_failing_worker_is_an_error_naming_the_cause_and_leaves_no_process():
    config, model, data, encoder = setup("workers=2", "max_epochs=2")
    broken = data[:5] + [data[5].__class__(data[5].chars, data[5].segments, None, data[5].bigrams)] + data[6:]
    with pytest.raises(BrandnerError, match="training worker [12] failed:(.|\n)*loss needs a batch with tags"):
        run_loop(config, model, broken, encoder)
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_is_an_error_not_a_hang(monkeypatch):
    config, model, data, encoder = setup("workers=2", "max_epochs=2")
    monkeypatch.setattr(model, "loss", lambda batch: os._exit(7))  # only the forked workers compute losses
    with deadline(60), pytest.raises(BrandnerError, match="training worker [12] died: exit code 7"):
        run_loop(config, model, data, encoder)
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("victim", [1, 2])
def test_a_killed_worker_is_named_with_its_signal_while_the_other_waits_at_the_barrier(monkeypatch, victim):
    """Worker ``victim`` is killed at its first batch; the other computes its own and waits at the
    barrier for it. The trainer waited on the first worker's pipe alone: it hung when the second
    died, and said "None" when the first did (its end of the pipe not yet seen closed). Enough
    batches for the trainer to have sent the next work, unread by the killed worker (its pipe is
    then reset, not closed)."""
    config, model, data, encoder = setup("workers=2", "max_epochs=2", sentences=200)
    assert len(data) / 3 / 2 > parallel.RUNS_PER_MESSAGE  # runs of two batches of 3: more than one message
    loss = model.loss

    def killed_in(batch):
        if multiprocessing.current_process().name == f"brandner-train-{victim}":
            os.kill(os.getpid(), signal.SIGKILL)
        return loss(batch)

    monkeypatch.setattr(model, "loss", killed_in)
    with deadline(60), pytest.raises(BrandnerError) as error:
        run_loop(config, model, data, encoder)
    assert str(error.value) == f"training worker {victim} died: killed by signal 9 (SIGKILL)"
    assert multiprocessing.active_children() == []


@contextmanager
def deadline(seconds: float):
    """Raise TimeoutError in this (the main) thread if the block runs longer than ``seconds``: a hang
    fails the test instead of stopping the suite."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_length_runs_of_one_are_length_batches_and_longer_runs_hold_neighbours_in_length():
    draw = random.Random(3)
    lengths = [draw.randint(1, 40) for _ in range(106)]
    assert [b for run in length_runs(lengths, 7, random.Random(5)) for b in run] == \
        length_batches(lengths, 7, random.Random(5)) == old_length_batches(lengths, 7, random.Random(5))
    ordered = length_batches(lengths, 7)  # longest first, no shuffling
    runs = length_runs(lengths, 7, random.Random(5), group=3)
    assert sorted(i for run in runs for batch in run for i in batch) == list(range(106))
    assert sorted(len(run) for run in runs) == [1] + [3] * 5  # 16 batches: 6 runs
    neighbours = [ordered[i:i + 3] for i in range(0, 16, 3)]
    def lengths_of(run):  # (ties in length are shuffled, so compare lengths, not indices)
        return sorted(lengths[i] for batch in run for i in batch)

    assert sorted(map(lengths_of, runs)) == sorted(map(lengths_of, neighbours))
    assert runs != length_runs(lengths, 7, random.Random(6), group=3)


def old_length_batches(lengths, batch_size, rng):
    """length_batches as it was before runs: serial training still gets these batches in this order."""
    keys = [rng.random() for _ in lengths]
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], keys[i]))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def test_split_by_size_balances_the_parameters_between_the_workers():
    assert split_by_size([100, 10, 60, 50], 2) == [[0, 1], [2, 3]]  # 110 each
    assert split_by_size([5, 5, 5], 3) == [[0], [1], [2]]
    assert split_by_size([5], 2) == [[0], []]


def test_the_spin_barrier_lets_no_party_through_early_and_stops_on_request():
    barrier = SpinBarrier(2)
    barrier.arrived[1] = 1  # the other party reached the first barrier
    barrier.wait(0)  # passes at once
    barrier.stop()
    with pytest.raises(Aborted):
        barrier.wait(0)  # the other has not reached the second: stopped, not stuck


def test_workers_cannot_be_negative():
    with pytest.raises(BrandnerError, match="train.workers must be 0"):
        load_config(None, ["workers=-1"])


def test_workers_default_to_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setenv("BRANDNER_CPUS", "3")
    assert load_config(None, []).train.resolved().workers == 3
    assert load_config(None, ["workers=2"]).train.resolved().workers == 2
    assert load_config(None, ["sparse_embeddings=true"]).train.resolved().workers == 1  # lazy Adam is serial


def test_training_with_the_default_uses_the_cpus_and_a_resume_keeps_the_interrupted_count(tmp_path, monkeypatch):
    from brandner.training.job import fit

    train, dev = synthetic_sentences(30), synthetic_sentences(6, seed=1)
    monkeypatch.setenv("BRANDNER_CPUS", "2")
    summary = fit(train, dev, load_config(None, TINY + ["max_epochs=1"]), tmp_path / "m.pt")
    assert summary["config"]["train"]["workers"] == 2
    monkeypatch.setenv("BRANDNER_CPUS", "1")  # resumed on a smaller machine: still the run's 2 workers
    summary = fit(train, dev, load_config(None, TINY + ["max_epochs=2"]), tmp_path / "m.pt", resume=True)
    assert summary["config"]["train"]["workers"] == 2


def test_without_fork_parallel_training_is_refused_with_a_way_out(monkeypatch):
    config, model, data, encoder = setup("workers=2", "max_epochs=1")
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with pytest.raises(BrandnerError, match="needs processes started by fork.*workers=1"):
        run_loop(config, model, data, encoder)
