"""``brandner evaluate --errors / --errors-html`` through the real entry point."""

from __future__ import annotations

import json

import pytest

from brandner import Tagger
from brandner.data.error_analysis import error_analysis
from brandner.data.sentence import Sentence, Span
from tests.conftest import brandner, synthetic_sentences, write_jsonl


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A test file with errors sure to happen: a type the model never saw (missed), a brand left
    unannotated (spurious), beside sentences it tags well."""
    folder = tmp_path_factory.mktemp("errors")
    sentences = synthetic_sentences(20, seed=2) + [
        Sentence("华为手机真好用", (Span(0, 2, "DIGITAL"), Span(2, 4, "PRODUCT"))),
        Sentence("我买了特步鞋", ()),
        Sentence("<b>特步</b>", (Span(3, 5, "BRAND"),))]  # not a type of the model: an error
    write_jsonl(folder / "test.jsonl", sentences)
    return folder, sentences


def expected(model, sentences, backend: str = "torch"):
    return error_analysis(sentences, Tagger.load(model, backend=backend).predict_spans([s.text for s in sentences]))


def test_errors_follow_the_scores_table(tiny_model, work):
    folder, sentences = work
    plain = brandner("evaluate", "-m", str(tiny_model), "--file", "test.jsonl", "--backend", "torch", cwd=folder)
    result = brandner("evaluate", "-m", str(tiny_model), "--file", "test.jsonl", "--backend", "torch", "--errors",
                      cwd=folder)
    assert result.returncode == 0, result.stderr
    analysis = expected(tiny_model, sentences)
    assert result.stdout == plain.stdout + "\n" + analysis.table() + "\n"
    assert analysis.per_type["PRODUCT"]["missed"] == 1 and analysis.totals()["spurious"] >= 1


def test_errors_in_json_only_when_asked(tiny_model, work):
    folder, sentences = work
    result = brandner("evaluate", "-m", str(tiny_model), "--file", "test.jsonl", "--backend", "torch", "--errors",
                      "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["errors"] == expected(tiny_model, sentences).to_dict()
    assert {"precision", "recall", "f1", "per_type"} < set(out)
    plain = json.loads(brandner("evaluate", "-m", str(tiny_model), "--file", "test.jsonl", "--json", cwd=folder).stdout)
    assert "errors" not in plain


def test_an_ensemble_on_onnx_gives_its_page(tiny_model, work):
    folder, sentences = work
    result = brandner("evaluate", "-m", str(tiny_model), "-m", str(tiny_model), "--backend", "onnx", "--file",
                      "test.jsonl", "--errors-html", "out/errors.html", "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "errors" not in json.loads(result.stdout)  # the page alone was asked for
    page = (folder / "out" / "errors.html").read_text(encoding="utf-8")
    analysis = expected([tiny_model, tiny_model], sentences, backend="onnx")
    assert f"{analysis.sentences_with_errors} with errors" in page and "left out" not in page
    assert page.count('<tr data-errors="') == analysis.sentences_with_errors
    assert "&lt;b&gt;" in page and "<b>" not in page
    assert f"wrote out/errors.html: {analysis.sentences_with_errors} sentences with errors" in result.stderr
    assert [p.name for p in (folder / "out").iterdir()] == ["errors.html"]


def test_a_page_that_cannot_be_written_is_one_line_and_no_report(tiny_model, work):
    folder, _ = work
    (folder / "taken").mkdir(exist_ok=True)
    result = brandner("evaluate", "-m", str(tiny_model), "--file", "test.jsonl", "--errors-html", "taken",
                      cwd=folder)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == ["brandner: error: taken: Is a directory"]
