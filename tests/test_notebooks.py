"""The example notebooks run from top to bottom on a tiny corpus, so they never rot.

Each notebook runs in a kernel started from this interpreter (a kernel spec written
to a temporary folder, not whatever Jupyter setup the machine has), in a temporary
working directory, with its settings passed as ``BRANDNER_NB_*`` variables.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from brandner.data.formats import write_file
from brandner.data.sentence import Sentence, Span
from tests.conftest import REPO, synthetic_sentences

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402  (installed with nbclient)
from jupyter_client.manager import KernelManager  # noqa: E402

EXAMPLES = REPO / "examples"
TINY = "char_dim=16 seg_dim=4 hidden_size=16 dropout=0.1 lr=0.02 max_chunk_length=40"


def run_notebook(name: str, work: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    """Execute ``examples/NAME`` in ``work`` with ``env`` added to the kernel's environment."""
    spec = work / "kernels" / "brandner-test"
    spec.mkdir(parents=True, exist_ok=True)
    kernel_env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                  "OMP_NUM_THREADS": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline", **env}
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "brandner test", "language": "python", "env": kernel_env}))
    manager = KernelManager(kernel_name="brandner-test",
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]))
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    nbclient.NotebookClient(notebook, km=manager, timeout=120,
                            resources={"metadata": {"path": str(work)}}).execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode, mime: str) -> str:
    """Everything the notebook showed as ``mime`` (``text/plain`` includes printed text)."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and mime == "text/plain":
                found.append(output["text"])
            elif mime in output.get("data", {}):
                found.append(output["data"][mime])
    return "\n".join(found)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, nbformat.NotebookNode]:
    """The train notebook run on tiny synthetic train/dev/test column files: (work dir, notebook)."""
    work = tmp_path_factory.mktemp("train-notebook")
    write_file(synthetic_sentences(150), work / "train.txt", "columns")
    write_file(synthetic_sentences(30, seed=1), work / "dev.txt", "columns")
    # Gold labels the model cannot agree with, so that the error tables have rows:
    # 特步 is a SHOE everywhere in training (a type error) and 华为 is always DIGITAL (spurious).
    wrong_gold = [Sentence("我买了特步鞋", (Span(3, 5, "DIGITAL"),)), Sentence("推荐华为给大家")]
    write_file(synthetic_sentences(30, seed=2) + wrong_gold, work / "test.txt", "columns")
    notebook = run_notebook("train.ipynb", work, {
        "BRANDNER_NB_TRAIN_FILE": "train.txt", "BRANDNER_NB_DEV_FILE": "dev.txt",
        "BRANDNER_NB_TEST_FILE": "test.txt", "BRANDNER_NB_EPOCHS": "4", "BRANDNER_NB_SETTINGS": TINY,
        "BRANDNER_NB_MODEL": "model/tiny.pt", "BRANDNER_NB_SHOW_ERRORS": "5"})
    return work, notebook


def test_train_notebook_trains_and_reports(trained):
    work, notebook = trained
    assert (work / "model" / "tiny.pt").is_file() and (work / "model" / "tiny.pt.json").is_file()
    text, html = outputs(notebook, "text/plain"), outputs(notebook, "text/html")
    assert "epoch   4: loss" in text and "model written to model/tiny.pt" in text
    # the data table, the per-epoch table and the per-type test table
    assert "<th>split</th><th>sentences</th><th>characters</th><th>DIGITAL</th><th>SHOE</th>" in html
    assert "<th>dev F1</th>" in html and html.count("<tr><td>") >= 4
    assert "test scores (%)" in text and "\nDIGITAL " in text and "\nSHOE " in text and "\nmicro " in text
    assert "sentences have at least one error" in text
    assert "<tr><td>type</td><td>DIGITAL</td>" in html and "<tr><td>spurious</td><td>DIGITAL</td>" in html
    assert "<td>type</td><td>特步 /DIGITAL</td><td>特步 /SHOE</td><td>我买了特步鞋</td>" in html
    assert 'title="DIGITAL">特步<sub>DIGITAL</sub>' in html  # gold highlighted beside the prediction


def test_train_notebook_plots_when_matplotlib_is_there(trained):
    pytest.importorskip("matplotlib")
    assert outputs(trained[1], "image/png")


def test_tag_notebook_highlights_entities(trained):
    work, _ = trained
    notebook = run_notebook("tag.ipynb", work, {"BRANDNER_NB_MODEL": "model/tiny.pt",
                                                "BRANDNER_NB_TEXTS": "我买了特步鞋\n<b>华为</b>手机真好用"})
    html = outputs(notebook, "text/html")
    assert 'title="SHOE">特步<sub>SHOE</sub></mark>' in html
    assert "&lt;b&gt;" in html and "<b>" not in html  # the text is escaped
    assert 'class="brandner-legend"' in html
