"""Shared fixtures: where the corpora are, and a tiny model trained once per session."""

from __future__ import annotations

import atexit
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from brandner.data.sentence import Sentence, Span

# Settings that default to "as many as the CPUs allow" (train.workers, tag's workers, threads)
# take one CPU in tests, here and in the programs they start, so that a model trained in a test
# is the same on every machine; the tests of those defaults set BRANDNER_CPUS themselves.
os.environ["BRANDNER_CPUS"] = "1"
# ONNX graphs exported from model files (brandner.tagging.onnx_cache) go to a folder of this run.
_CACHE = tempfile.mkdtemp(prefix="brandner-cache-")
os.environ["BRANDNER_CACHE"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("BRANDNER_DATA") or REPO.parent / "shared" / "data")


# The command line through its real entry point, in a child process.
SMALL = ["--set", "char_dim=16", "--set", "seg_dim=4", "--set", "hidden_size=16", "--set", "lr=0.02",
         "--set", "dropout=0.1"]


def brandner(*args: str, cwd, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), BRANDNER_DATA=str(data_dir()))
    return subprocess.run([sys.executable, "-m", "brandner.cli.main", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, encoding="utf-8", timeout=600)


def ctrl_c_as_at_a_terminal() -> None:
    """``preexec_fn`` of a child a test sends Ctrl-C: SIGINT back to its default, so Python makes it
    KeyboardInterrupt. A command started in the background of a non-interactive shell
    (``make test &``, ``nohup … &``) inherits SIGINT ignored, and Python keeps it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def write_jsonl(path, sentences) -> None:
    path.write_text("".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in sentences), encoding="utf-8")



@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = data_dir()
    if not path.is_dir():
        pytest.skip(f"shared corpora not found at {path} (set BRANDNER_DATA)")
    return path


BRANDS = {"SHOE": ["特步", "耐克", "安踏", "李宁"], "DIGITAL": ["华为", "小米", "苹果"]}
FRAMES = ["我买了{}鞋", "{}的新款不错", "昨天在店里看到{}和{}", "推荐{}给大家", "{}手机真好用"]


def synthetic_sentences(count: int, seed: int = 0, brands: dict[str, list[str]] | None = None,
                        frames: list[str] | None = None) -> list[Sentence]:
    """Short brand sentences with known spans, for fast end-to-end tests: ``frames`` (default
    FRAMES) filled with ``brands`` (type -> words, default BRANDS)."""
    rng = random.Random(seed)
    brands = [(word, type_) for type_, words in (brands or BRANDS).items() for word in words]
    sentences = []
    for _ in range(count):
        frame = rng.choice(frames or FRAMES)
        text, spans = "", []
        for i, piece in enumerate(frame.split("{}")):
            text += piece
            if i < frame.count("{}"):
                word, type_ = rng.choice(brands)
                spans.append(Span(len(text), len(text) + len(word), type_))
                text += word
        sentences.append(Sentence(text, tuple(spans)))
    return sentences


def train_tiny(path: Path, *overrides: str, sentences: int = 200, epochs: int = 8) -> Path:
    """Train a small model on synthetic sentences into ``path`` (seconds on a CPU)."""
    from brandner.config import load_config
    from brandner.training.job import fit
    config = load_config(None, [f"max_epochs={epochs}", "char_dim=16", "seg_dim=4", "hidden_size=16", "dropout=0.1",
                                "lr=0.02", *overrides])
    fit(synthetic_sentences(sentences), synthetic_sentences(sentences // 5, seed=1), config, path)
    return path


def whole_and_resumed(folder: Path, settings: list[str]) -> tuple[dict, dict]:
    """The resume files of a 3-epoch training and of one stopped after 2 epochs and resumed to 3."""
    from brandner.config import load_config
    from brandner.model.model_file import safe_load
    from brandner.training.job import fit
    train, dev = synthetic_sentences(30), synthetic_sentences(6, seed=1)
    fit(train, dev, load_config(None, settings + ["max_epochs=3"]), folder / "whole.pt")
    fit(train, dev, load_config(None, settings + ["max_epochs=2"]), folder / "cut.pt")
    fit(train, dev, load_config(None, settings + ["max_epochs=3"]), folder / "cut.pt", resume=True)
    return tuple(safe_load(folder / name, "brandner-resume") for name in ("whole.pt.resume", "cut.pt.resume"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A model trained for a few epochs on synthetic sentences (seconds on a CPU)."""
    return train_tiny(tmp_path_factory.mktemp("model") / "tiny.pt", "max_chunk_length=40")


# What the ``slow`` marker means: runs of a whole program in a child process (the command line, a
# benchmark script, a server, a browser, a notebook) and Spark or Ray jobs, marked here by folder or
# file, and training on a real corpus, marked where it is written. ``pytest -m "not slow"`` is the
# quick loop of the unit tests; CI runs everything.
SLOW = ("benchmarks/", "cli/", "engines/", "serving/test_serve_process.py", "serving/test_browser.py",
        "reports/test_error_page_browser.py", "reports/test_mention_page_browser.py",
        "test_notebooks.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        where = Path(str(item.fspath)).resolve().relative_to(REPO / "tests").as_posix()
        if where.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
