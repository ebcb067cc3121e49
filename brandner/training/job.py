"""A whole training job: data -> encoder -> model -> loop -> model file and summary.

Each finished epoch leaves on disk everything needed to go on: the best model
(``MODEL``), the last epoch's state with optimiser and random state
(``MODEL.resume``) and a summary (``MODEL.json``), all written atomically; under
torchrun, by rank 0 alone.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import random
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch

from brandner.atomic import atomic_output
from brandner.config import Config, TrainConfig
from brandner.data.batching import Encoded
from brandner.data.encoder import Encoder
from brandner.data.sentence import Sentence
from brandner.data.swaps import gazetteer_swaps
from brandner.errors import BrandnerError
from brandner.model.device import resolve_device
from brandner.model.model_file import VERSION, atomic_save, model_from_payload, model_payload, safe_load
from brandner.tagging.tagger import Tagger
from brandner.training.distributed import Ranks, check_same_data, distributed_train_config
from brandner.training.joint import JointData, corpus_reports, evaluate, mean_report
from brandner.training.loop import EpochEvent, StepEvent, TrainState, epoch_lr, train_loop
from brandner.training.optim import adam
from brandner.training.start import start_model
from brandner.training.steps import WeightAverage, singleton_ids

log = logging.getLogger("brandner")
CPU = torch.device("cpu")
RESUME_FORMAT = "brandner-resume"
Event = StepEvent | EpochEvent


def resume_path(output: Path) -> Path:
    return output.with_name(output.name + ".resume")


def summary_path(output: Path) -> Path:
    return output.with_name(output.name + ".json")


def fit(train: Sequence[Sentence] | Mapping[str, Sequence[Sentence]],
        dev: Sequence[Sentence] | Mapping[str, Sequence[Sentence]], config: Config, output: str | Path,
        test: Sequence[Sentence] | None = None, resume: bool = False,
        on_event: Callable[[Event], None] | None = None, tensorboard: str | Path | None = None,
        ranks: Ranks | None = None, init: str | Path | None = None) -> dict | None:
    """Train, keep the model best on dev at ``output``, and return the summary dict.

    With ``init`` (a model file), training continues from that model grown for ``train``: its
    weights, vocabularies, tags and model settings (brandner.training.start; docs/training.md,
    "Continued training"); the summary's ``init`` names the file and its sha256.

    With ``ranks``, this process is one rank of a job started by torchrun
    (brandner.training.distributed): every rank trains on its share of each run of batches from
    rank 0's starting state (built, or with ``resume`` read from rank 0's resume file alone);
    rank 0 writes the files and returns the summary, the others write nothing and return None.

    With ``train`` and ``dev`` mappings of several corpora's sentences (by corpus name), the
    training is joint (brandner.training.joint): one network, each corpus's types its own
    (``CORPUS:TYPE``), early stopping on the mean of their dev F1; the model is a base for
    ``init``, and ``test`` is not scored."""
    output = Path(output)
    joint = None
    if isinstance(train, Mapping) or isinstance(dev, Mapping):
        if not (isinstance(train, Mapping) and isinstance(dev, Mapping)):
            raise BrandnerError("a joint training takes training and dev sentences by corpus, both")
        if init is not None or test is not None:
            raise BrandnerError("a joint training of several corpora starts afresh and scores no test split "
                                "(--init and --test go with one corpus)")
        joint = JointData.of(train, dev)
        train, dev = joint.train, joint.dev
        config = Config(dataclasses.replace(config.model, corpora=joint.corpora), config.train)
    train = [s for s in train if s.text]
    if not train or not dev:
        raise BrandnerError("training needs at least one training and one dev sentence")
    if output.is_dir():  # now, not when the first epoch is saved
        raise BrandnerError(f"{output}: a directory; the model goes to a file")
    if init is not None and resume:
        raise BrandnerError("--init starts a training from a model, --resume goes on with an interrupted one "
                            "(whose resume state holds its start already): give one of them")
    device = _training_device(config.train, ranks)
    torch.manual_seed(config.train.seed)
    rng = random.Random(config.train.seed)
    state = TrainState()
    if ranks is not None:
        config = Config(config.model, distributed_train_config(config.train, ranks.world_size))
        model, encoder, optimizer, state, rng, average, started_from = _start_on_every_rank(
            train, config, output, resume, ranks, init)
        config = Config(model.config, config.train)
    elif resume:
        payload, train_config = _read_resume(output, config, 1)
        _check_one_process(train_config, device)
        model, encoder, optimizer, state, rng, average = _restore(payload, train_config, resume_path(output), device)
        config, started_from = Config(model.config, train_config), payload.get("init")
    else:
        train_config = config.train.resolved(gpu=device.type != "cpu")
        _check_one_process(train_config, device)
        config = Config(config.model, train_config)
        model, encoder, started_from = _start_model(train, config, output, init)
        model.to(device)
        config = Config(model.config, config.train)
        optimizer = adam(model, config.train.lr, config.train.sparse_embeddings)
        average = WeightAverage(model, config.train.weight_average) if config.train.weight_average else None
    if state.epoch:
        log.info("resuming after epoch %d (best dev F1 %.4f at epoch %d)", state.epoch, state.best_f1,
                 state.best_epoch)
    log.info("%d training sentences, %d characters in the vocabulary, tags: %s",
             len(train), len(encoder.chars), " ".join(encoder.tags))
    data = [encoder.encode_sentence(s) for s in train]
    singletons = training_singletons(data, encoder)  # of the sentences read, not of swapped copies
    if joint is not None:
        data = joint.with_corpus(data)
    elif config.train.gazetteer_swaps:
        copies = gazetteer_swaps(train, encoder, config.train.gazetteer_swaps, config.train.seed,
                                 config.train.gazetteer_swap_types)
        log.info("%d copies with invented names on the lists (train.gazetteer_swaps)", len(copies))
        data += copies
    world_size = 1 if ranks is None else ranks.world_size
    if ranks is not None:
        check_same_data(ranks, data)
    writes = ranks is None or ranks.is_main
    tagger = Tagger.from_model(model, encoder)
    writer = _tensorboard(tensorboard) if writes else None
    started = time.perf_counter()
    try:
        for event in train_loop(model, optimizer, data, lambda: evaluate(tagger, dev), config.train, state, rng,
                                singletons, average, ranks):
            if isinstance(event, EpochEvent) and writes:
                payload = model_payload(model, encoder)  # once: the model file and the resume state share it
                if event.improved:
                    atomic_save(payload, output)
                atomic_save(_resume_payload(payload, optimizer, state, rng, average, config, world_size,
                                            started_from, device), resume_path(output))
                if writer is not None:
                    _log_scalars(writer, event, epoch_lr(config.train, event.epoch))
            if on_event is not None:
                on_event(event)
    finally:
        if writer is not None:
            writer.close()
    if not writes:
        return None
    summary = _summary(output, config, state, dev, test, time.perf_counter() - started, len(train), world_size,
                       device)
    summary["init"] = started_from
    _write_json(summary, summary_path(output))
    return summary


def _resume_payload(model: dict, optimizer: torch.optim.Optimizer, state: TrainState, rng: random.Random,
                    average: WeightAverage | None, config: Config, world_size: int, init: dict | None,
                    device: torch.device = CPU) -> dict:
    """What ``MODEL.resume`` holds: ``model`` (a :func:`model_payload`, the average where there
    is one) and all the rest that training goes on from; ``init``: the model it started from
    (:func:`brandner.training.start.start_model`'s), for the summary of a resumed run. Training on
    a GPU (``device``), its random state too (dropout draws there); tensors on a GPU load on the CPU."""
    return {"format": RESUME_FORMAT, "version": VERSION, "model": model,
            "train_config": dataclasses.asdict(config.train), "world_size": world_size,
            "optimizer": optimizer.state_dict(), "state": state.to_dict(),
            "rng": {"python": _python_state(rng), "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None},
            # the model above holds the average; this, the weights being trained
            "average": average.state_dict() if average is not None else None, "init": init}


def _start_on_every_rank(train: Sequence[Sentence], config: Config, output: Path, resume: bool, ranks: Ranks,
                         init: str | Path | None):
    """Rank 0's starting state, built (or grown from ``init``) or read from its resume file, on every
    rank (as the bytes of a resume file, read back without unpickling objects): the vocabularies
    and weights are rank 0's. :func:`_restore`'s tuple and what the training started from."""
    def start() -> bytes:
        if resume:
            payload, _ = _read_resume(output, config, ranks.world_size)
        else:
            model, encoder, started_from = _start_model(train, config, output, init)
            optimizer = adam(model, config.train.lr, config.train.sparse_embeddings)
            average = WeightAverage(model, config.train.weight_average) if config.train.weight_average else None
            payload = _resume_payload(model_payload(model, encoder), optimizer, TrainState(),
                                      random.Random(config.train.seed), average, config, ranks.world_size,
                                      started_from)
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        return buffer.getvalue()

    payload = torch.load(io.BytesIO(ranks.from_main(start)), map_location="cpu", weights_only=True)
    return (*_restore(payload, config.train, "rank 0's starting state"), payload.get("init"))


def _training_device(train: TrainConfig, ranks: Ranks | None) -> torch.device:
    """The device ``train.device`` means here (brandner.model.device); torchrun's ranks train on the CPU."""
    device = resolve_device(train.device, "train.device")
    if device.type != "cpu" and ranks is not None:
        raise BrandnerError(f"train.device {train.device}: torchrun's ranks train on the CPU (gloo) in this "
                            "version; set train.device = cpu, or train on one GPU without torchrun")
    return device


def _check_one_process(train: TrainConfig, device: torch.device) -> None:
    if device.type != "cpu" and train.workers > 1:
        raise BrandnerError(f"train.device {train.device}: a GPU trains in one process, not {train.workers} "
                            "workers; set train.workers = 1 (--workers 1), or train.device = cpu")


def training_singletons(data: Sequence[Encoded], encoder: Encoder) -> dict[str, torch.Tensor]:
    """For each id field the model reads (chars, and bigrams and lexicon words where the
    encoder has them), which ids occur once in ``data``: train_loop's ``singletons``. Radicals are
    left as they are: they are what a rare character still brings when it reads as ``<UNK>``."""
    singletons = {"chars": singleton_ids(data, len(encoder.chars))}
    for field, vocab in (("bigrams", encoder.bigrams), ("lexicon", encoder.words)):
        if vocab is not None:
            singletons[field] = singleton_ids(data, len(vocab), field)
    return singletons


def _start_model(train: Sequence[Sentence], config: Config, output: Path, init: str | Path | None):
    """:func:`brandner.training.start.start_model`, refusing to write ``output`` over ``init``."""
    if init is not None:
        if not Path(init).is_file():
            raise BrandnerError(f"{init}: no such model file (--init takes a model written by brandner train)")
        if output.exists() and output.samefile(init):
            raise BrandnerError(f"{output}: the model this training starts from (--init); write the continued "
                                "model to another file, so that the one it started from is kept")
    return start_model(train, config, init)


def _read_resume(output: Path, config: Config, world_size: int) -> tuple[dict, TrainConfig]:
    """The resume state of ``output``, and the settings to go on with: ``config.train``, which must
    be those it was written with (but for ``max_epochs`` and the patience settings), by as many ranks."""
    path = resume_path(output)
    if not path.exists():
        raise BrandnerError(f"{path}: no resume state to continue from (train without --resume first)")
    payload = safe_load(path, RESUME_FORMAT)
    saved = payload["train_config"]
    defaults = dataclasses.asdict(TrainConfig(workers=1))  # for settings newer than the resume file
    train = config.train
    if train.workers == 0:  # as many as the CPUs allow: as many as the interrupted run had
        train = dataclasses.replace(train, workers=saved.get("workers", 1))
    changed = [k for k, v in dataclasses.asdict(train).items()
               if k not in ("max_epochs", "patience", "patience_sentences", "device")
               and saved.get(k, defaults[k]) != v]
    if payload.get("world_size", 1) != world_size:  # files from before torchrun: one process
        changed.append(f"world_size ({payload.get('world_size', 1)} rank(s) then, {world_size} now)")
    if changed:
        raise BrandnerError(f"{path}: cannot resume with different settings: {', '.join(changed)}")
    return payload, train


def _restore(payload: dict, config: TrainConfig, source: str | Path, device: torch.device = CPU):
    """The model (on ``device``), encoder, optimiser, state, random stream and weight average of a
    resume payload."""
    model, encoder = model_from_payload(payload["model"], source)
    model.to(device)
    optimizer = adam(model, config.lr, config.sparse_embeddings)
    optimizer.load_state_dict(payload["optimizer"])
    state = TrainState(**payload["state"])
    rng = random.Random()
    rng.setstate(_python_state_back(payload["rng"]["python"]))
    torch.set_rng_state(payload["rng"]["torch"])
    if payload["rng"].get("cuda") is not None and device.type == "cuda":  # a GPU's training, on a GPU again
        torch.cuda.set_rng_state(payload["rng"]["cuda"], device)
    average = None
    if config.weight_average:
        average = WeightAverage(model, config.weight_average)
        average.load_state_dict(payload["average"])
        average.swap()  # back to the weights being trained, the average held aside
    return model, encoder, optimizer, state, rng, average


def _python_state(rng: random.Random) -> list:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _python_state_back(saved: list) -> tuple:
    return saved[0], tuple(saved[1]), saved[2]


def _summary(output: Path, config: Config, state: TrainState,
             dev: Sequence[Sentence] | Mapping[str, Sequence[Sentence]], test: Sequence[Sentence] | None,
             seconds: float, n_train: int, world_size: int, device: torch.device = CPU) -> dict:
    """What ``MODEL.json`` holds; a joint training's ``dev`` is the mean over its corpora, and
    ``dev_by_corpus`` each one's; ``device``: where it trained (and the best model is scored)."""
    if not output.exists():
        raise BrandnerError(f"{output}: no model was saved (no epoch finished)")
    # the network is in memory: no export to cache
    best = Tagger.load(output, backend="torch", device=str(device))
    # a joint training's corpora: each dev split tagged once, for the mean and for dev_by_corpus
    reports = corpus_reports(best, dev) if isinstance(dev, Mapping) else None
    summary = {"model": str(output), "epochs_run": state.epoch, "best_epoch": state.best_epoch,
               "dev": (mean_report(reports) if reports is not None else best.evaluate(dev)).to_dict(),
               "train_seconds": round(seconds, 3),
               "train_sentences_per_second": round(state.sentences_seen / state.step_seconds, 1)
               if state.step_seconds else 0.0,
               "train_sentences": n_train, "world_size": world_size, "device": str(device),
               "config": Config(best.config, config.train).to_dict()}
    if reports is not None:
        summary["dev_by_corpus"] = {name: r.to_dict() for name, r in reports.items()}
    if test is not None:
        summary["test"] = best.evaluate(test).to_dict()
    return summary


def _write_json(data: dict, path: Path) -> None:
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _tensorboard(directory: str | Path | None):
    if directory is None:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise BrandnerError("--tensorboard needs the tensorboard package: "
                            "pip install 'brandner[tensorboard]'") from None
    return SummaryWriter(str(directory))


def _log_scalars(writer, event: EpochEvent, lr: float) -> None:
    writer.add_scalar("train/loss", event.loss, event.epoch)
    writer.add_scalar("train/lr", lr, event.epoch)
    for name in ("precision", "recall", "f1"):
        writer.add_scalar(f"dev/{name}", getattr(event.dev.micro, name), event.epoch)
    writer.flush()
