"""Training steps in worker processes (``train.workers`` > 1): a batch a worker at a time.

Why: at the default batch of 20 sentences the BiLSTM's matrix products are too small
for two threads to share one step well: a second thread shortens a step by about a
quarter, while a second process of one thread, with a batch of its own, nearly doubles
the steps per second (benchmarks/train_profile.py and train_workers.py measure both).

How it stays one training run, reproducible: the trained parameters, the Adam state
and the weight average live in shared memory; the workers are forked when training
starts. An epoch's batches come in runs of W (the number of workers) batches of
similar length (``batching.length_runs``). For a run, worker k computes the clipped
gradient of the run's k-th batch at the current weights into its shared gradient
buffer; all wait; then each worker applies the run's W gradients in order (W Adam
steps, and the weight average's updates) to its own share of the parameters (Adam
works element by element, so splitting it by parameter changes no number); all wait
again. A run is thus W steps in the serial order, the j-th (from 0) with a gradient
taken j steps before its update, as in asynchronous SGD with a fixed delay. The
numbers depend on W but not on timing: the same seed and W give the same weights.
The workers' random streams (dropout, ``<UNK>`` replacement) are seeded at every epoch
from the loop's ``random.Random``, so a resumed run goes on as an uninterrupted one.

Lifetimes: a worker dies with the trainer, however the trainer ends (``die_with_parent``);
the trainer waits for a worker's answer and for every worker's death at once, so a worker
that dies (even one whose peers wait for it at the barrier) ends training with an error
that names it and says how it ended, never a hang.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import signal
import traceback
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Iterator, Sequence

import torch

from brandner.config import TrainConfig
from brandner.data.batching import Encoded
from brandner.errors import BrandnerError
from brandner.model.embedding import TokenEmbedding
from brandner.model.network import BiLSTMTagger
from brandner.processes import die_with_parent, exit_status
from brandner.training.steps import WeightAverage, batch_gradient

RUNS_PER_MESSAGE = 8  # runs sent to the workers at once; their losses come back (and progress moves) as often
ABORTED = "stopped"  # what a worker stopped at the barrier answers
STOP_SECONDS = 5.0  # how long a failing run waits for each worker's last words before stopping it
# the settings of the trainer's Adam that the workers' own (over their shares) takes
ADAM_SETTINGS = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "fused")
# Embedding tables of this many weights or more give the workers their gradients as the rows
# a batch used (see ParallelSteps.worker_gradient): on the ecommerce corpus that made training
# faster with the bigram table (2.4M weights) and slower with the character table (0.3M), whose
# rows a batch touches a larger share of (benchmarks/train_workers.py).
SPARSE_FROM = 1_000_000
Runs = Sequence[Sequence[Sequence[int]]]  # runs of batches of sentence indices


class Aborted(Exception):
    """Raised in a worker waiting at the barrier when training is being stopped."""


class SpinBarrier:
    """Each of ``parties`` processes waits in :meth:`wait` until all have arrived.

    A party writes only its own slot (how many barriers it has reached), so no atomic
    operations are needed; the wait gives the CPU up to any other runnable process at
    each turn. (multiprocessing.Barrier took 220 us a wait between two processes, 3% of
    a run of two steps.) ``stop`` set makes every waiting party raise :class:`Aborted`."""

    def __init__(self, parties: int) -> None:
        self.arrived = shared_zeros(parties, torch.int64).numpy()
        self.stopped = shared_zeros(1, torch.int64).numpy()
        self.passed = 0  # barriers reached: each forked process counts its own

    def wait(self, party: int) -> None:
        self.passed += 1
        self.arrived[party] = self.passed
        while self.arrived.min() < self.passed:
            if self.stopped[0]:
                raise Aborted
            os.sched_yield()

    def stop(self) -> None:
        self.stopped[0] = 1


def shared_zeros(shape: int | Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Zeros in anonymous shared memory, which processes forked later share (no file in
    /dev/shm, whose size containers often limit to 64 MB, and nothing left behind)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    count = 1
    for size in shape:
        count *= size
    itemsize = torch.empty((), dtype=dtype).element_size()
    buffer = mmap.mmap(-1, max(count * itemsize, 1))  # MAP_SHARED | MAP_ANONYMOUS, zero-filled
    return torch.frombuffer(buffer, dtype=dtype, count=count).view(shape)  # the tensor keeps buffer alive


def shared_copy(tensor: torch.Tensor) -> torch.Tensor:
    return shared_zeros(tensor.shape, tensor.dtype).copy_(tensor)


@dataclass(frozen=True)
class _Work:
    """A message to a worker: runs to train, at ``lr``; ``updates``, the weight average's
    updates before the first of them; ``seed``, to reseed the worker's random streams."""

    runs: Runs
    lr: float
    updates: int
    seed: int | None


class ParallelSteps:
    """Trains ``model`` in ``workers`` forked processes (see the module's docstring). A context
    manager: the workers run between enter and exit.

    Each worker runs one torch thread: GNU OpenMP hangs in a parallel region of a process forked
    from one that had its threads already (seen here with 2), and one thread a worker is where
    this scheme gains anyway.

    The model's trained parameters, the optimizer's state and the average's tensors are moved
    to shared memory in place, so the caller's objects see every update. A parameter that a
    batch gives no gradient takes its Adam step with zeros (serial training would skip it);
    every trained parameter of this network gets one from every batch."""

    def __init__(self, model: BiLSTMTagger, optimizer: torch.optim.Adam, data: Sequence[Encoded],
                 config: TrainConfig, singletons: dict[str, torch.Tensor] | None,
                 average: WeightAverage | None, workers: int) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise BrandnerError(f"train.workers={workers} needs processes started by fork (Linux, macOS); "
                                "train with workers=1 here")
        self.model, self.optimizer, self.data, self.config = model, optimizer, data, config
        self.singletons, self.average, self.workers = singletons, average, workers
        self.trained = [p for p in model.parameters() if p.requires_grad]
        for param in self.trained:
            param.data = shared_copy(param.data)
        _share_adam_state(optimizer, self.trained)
        if average is not None:
            average.held = [shared_copy(t) for t in average.held]
        self.grads = [[shared_zeros(p.shape) for p in self.trained] for _ in range(workers)]
        self.shares = split_by_size([p.numel() for p in self.trained], workers)
        self.processes: list[multiprocessing.Process] = []
        self.connections: list[Connection] = []
        self._last_words: dict[int, object] = {}  # what a worker sent instead of losses, kept for _failure

    def __enter__(self) -> "ParallelSteps":
        context = multiprocessing.get_context("fork")
        self.barrier = SpinBarrier(self.workers)  # anew for each set of workers: its counts start with theirs
        for k in range(self.workers):
            ours, theirs = context.Pipe()
            # the trainer's ends of the pipes, which the forked worker closes (so that it reads the end
            # of its own pipe when the trainer is gone)
            trainers = [*self.connections, ours]
            process = context.Process(target=self._serve, args=(k, theirs, os.getpid(), trainers),
                                      name=f"brandner-train-{k + 1}", daemon=True)
            process.start()
            theirs.close()
            self.processes.append(process)
            self.connections.append(ours)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(failed=exc_info[0] is not None)

    def close(self, failed: bool = False) -> None:
        if failed:
            self.barrier.stop()
        for connection in self.connections:
            try:
                connection.send(None)
            except OSError:  # that worker is gone already
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
        for connection in self.connections:
            connection.close()
        self.processes, self.connections = [], []

    def epoch(self, runs: Runs, seeds: Sequence[int]) -> Iterator[tuple[int, float]]:
        """Train on ``runs`` at the optimizer's current rate, the workers' random streams
        seeded with ``seeds`` (one per worker); yields (sentences, loss) for each batch in
        the serial order, as the workers finish them."""
        lr = self.optimizer.param_groups[0]["lr"]
        updates = self.average.updates if self.average is not None else 0
        messages = [runs[i:i + RUNS_PER_MESSAGE] for i in range(0, len(runs), RUNS_PER_MESSAGE)]
        starts = [updates]
        for message in messages:
            starts.append(starts[-1] + sum(len(run) for run in message))

        def send(m: int) -> None:
            for k, connection in enumerate(self.connections):
                try:
                    connection.send(_Work(messages[m], lr, starts[m], seeds[k] if m == 0 else None))
                except OSError:  # that worker is gone
                    raise self._failure() from None

        for m in range(min(2, len(messages))):  # one message ahead, so that no worker waits for the next
            send(m)
        for m, message in enumerate(messages):
            losses = [iter(self._reply(k)) for k in range(self.workers)]
            if m + 2 < len(messages):
                send(m + 2)
            for run in message:
                for k, indices in enumerate(run):
                    yield len(indices), next(losses[k])
        if self.average is not None:
            self.average.updates = starts[-1]

    def _reply(self, k: int) -> list[float]:
        """Worker k's losses for its next message. Waits on every worker's sentinel too: a worker
        whose peer died waits at the barrier and never answers, so any failure or death seen
        meanwhile is raised, as a :class:`BrandnerError` naming the worker."""
        connection = self.connections[k]
        ready = wait([connection, *(process.sentinel for process in self.processes)])
        if connection in ready:
            # k died (a reset, when it died with messages unread): its sentinel, read in _failure, says how
            with suppress(EOFError, OSError):
                reply = connection.recv()
                if isinstance(reply, list):
                    return reply
                self._last_words[k] = reply
        raise self._failure()

    def _failure(self) -> BrandnerError:
        """Stop the workers at the barrier, and the error saying which failed (its traceback) or
        died (its exit code or signal)."""
        self.barrier.stop()
        reasons = [reason for k in range(self.workers) if (reason := self._why_stopped(k))]
        return BrandnerError("\n".join(reasons) or "the training workers stopped without saying why")

    def _why_stopped(self, k: int) -> str | None:
        """Why worker k stopped: its traceback, how it died, or None when it stopped at the barrier
        as asked (or did not within STOP_SECONDS, still busy: close() ends it)."""
        connection, process = self.connections[k], self.processes[k]
        said = self._last_words.pop(k, None)
        while said is None or isinstance(said, list):  # (losses: of work done before the stop)
            ready = wait([connection, process.sentinel], STOP_SECONDS)
            if not ready:
                return None
            said = None
            if connection not in ready:  # dead, and the end of its pipe not seen yet
                break
            try:
                said = connection.recv()
            except (EOFError, OSError):
                break
        if said == ABORTED:
            return None
        if isinstance(said, str):
            return f"training worker {k + 1} failed:\n{said}"
        process.join(STOP_SECONDS)
        return f"training worker {k + 1} died: {exit_status(process.exitcode)}"

    # ---------------------------------------------------------------- in the worker

    def _serve(self, k: int, connection: Connection, trainer: int, trainers: list[Connection]) -> None:
        """Worker k's life: train the work that comes through ``connection`` until None comes;
        ``trainer`` is the trainer's pid, ``trainers`` its ends of the pipes (this one's copies)."""
        die_with_parent(trainer)
        for end in trainers:
            end.close()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the trainer stops the workers on Ctrl-C
        torch.set_num_threads(1)
        self.model.train()
        for module in self.model.modules():
            if isinstance(module, TokenEmbedding):
                module.sparse = module.weight.numel() >= SPARSE_FROM  # see worker_gradient
        self.written: dict[int, torch.Tensor] = {}  # the rows of each sparse gradient this worker wrote last
        mine = [self.trained[i] for i in self.shares[k]]
        optimizer = torch.optim.Adam(mine, **{key: self.optimizer.defaults[key] for key in ADAM_SETTINGS})
        for param in mine:
            optimizer.state[param] = self.optimizer.state[param]  # the shared tensors
        try:
            while (work := connection.recv()) is not None:
                connection.send(self.train_work(k, work, optimizer))
            return
        except (EOFError, OSError):
            return  # the trainer is gone: no one to tell
        except Aborted:
            answer = ABORTED
        except BaseException:  # noqa: BLE001 - every failure goes to the trainer, which raises it
            self.barrier.stop()
            answer = traceback.format_exc()
        with suppress(OSError):
            connection.send(answer)

    def train_work(self, k: int, work: _Work, optimizer: torch.optim.Adam) -> list[float]:
        """In worker k: the runs of one message (gradients, the barrier, the Adam steps of its share);
        the losses of its batches. Public, like :meth:`worker_gradient`, for profilers to wrap
        (benchmarks/train_workers.py)."""
        if work.seed is not None:
            torch.manual_seed(work.seed)
        for group in optimizer.param_groups:
            group["lr"] = work.lr
        mine = self.shares[k]
        losses, updates = [], work.updates
        for run in work.runs:
            if k < len(run):
                losses.append(self.worker_gradient(run[k], self.grads[k]))
            self.barrier.wait(k)
            for grads in self.grads[:len(run)]:
                for i in mine:
                    self.trained[i].grad = grads[i]
                optimizer.step()
                if self.average is not None:
                    self.average.updates = updates
                    self.average.update(mine)
                updates += 1
            self.barrier.wait(k)
        return losses

    def worker_gradient(self, indices: Sequence[int], out: list[torch.Tensor]) -> float:
        """The loss of a batch, and its gradient, clipped, into ``out``.

        A large embedding table's gradient comes as the rows the batch used (sparse): only those
        rows are written (and the rows written last time zeroed), where a dense gradient would be
        built, copied and clipped over the whole table (the bigram table of the ecommerce corpus
        is 48,269 x 50). ``out`` then holds the dense gradient all the same."""
        # new .grad tensors, not the shared buffers the last Adam steps read: backward would add to them
        loss = batch_gradient(self.model, self.trained, self.data, indices, self.singletons, self.config)
        for i, (param, buffer) in enumerate(zip(self.trained, out, strict=True)):
            if param.grad is None:
                buffer.zero_()
            elif param.grad.is_sparse:
                grad = param.grad.coalesce()
                rows = grad.indices()[0]
                if i in self.written:
                    buffer.index_fill_(0, self.written[i], 0.0)
                buffer.index_copy_(0, rows, grad.values())
                self.written[i] = rows
            else:
                buffer.copy_(param.grad)
        return loss


def split_by_size(sizes: Sequence[int], parts: int) -> list[list[int]]:
    """Indices of ``sizes`` in ``parts`` groups of about equal total size (largest first,
    each to the lightest group so far); each group in index order."""
    groups: list[list[int]] = [[] for _ in range(parts)]
    totals = [0] * parts
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        lightest = totals.index(min(totals))
        groups[lightest].append(i)
        totals[lightest] += sizes[i]
    return [sorted(group) for group in groups]


def _share_adam_state(optimizer: torch.optim.Adam, params: Sequence[torch.Tensor]) -> None:
    """Give every parameter its Adam state now (zeros and step 0, as Adam's first step would,
    unless it has one, resumed) and move it to shared memory."""
    fused = optimizer.defaults.get("fused")
    if not fused or optimizer.defaults.get("amsgrad"):
        raise ValueError("parallel training expects brandner.training.optim.adam's fused Adam")
    for param in params:
        state = optimizer.state[param]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(param)
            state["exp_avg_sq"] = torch.zeros_like(param)
        for key, value in state.items():
            state[key] = shared_copy(value)
