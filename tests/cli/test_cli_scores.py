"""``brandner tag --scores / --min-score`` through the real entry point, arguments and file modes."""

from __future__ import annotations

import json

from brandner import Tagger
from brandner.tagging.streaming import tag_documents
from tests.conftest import brandner

TEXTS = ["我买了特步鞋", "昨天在店里看到小米和安踏", "", "推荐耐克给大家"]


def read_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_tag_scores_from_arguments(tiny_model, tmp_path):
    scored = brandner("tag", "-m", str(tiny_model), "--scores", *TEXTS, cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert read_lines(scored.stdout) == Tagger.load(tiny_model).predict(TEXTS, scores=True)
    assert any(r["entities"] for r in read_lines(scored.stdout))


def test_tag_min_score_in_file_mode_with_workers(tiny_model, tmp_path):
    documents = [(text, {"id": i}) for i, text in enumerate(TEXTS * 3)]
    lines = [json.dumps({"id": extra["id"], "text": text}, ensure_ascii=False) for text, extra in documents]
    (tmp_path / "posts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = brandner("tag", "-m", str(tiny_model), "-i", "posts.jsonl", "--min-score", "0.5", "--workers", "2",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = list(tag_documents(Tagger.load(tiny_model), documents, min_score=0.5))
    assert result.stdout.splitlines() == expected
    out = read_lines(result.stdout)
    assert [o["id"] for o in out] == list(range(len(documents)))
    assert all("score" in e and e["score"] >= 0.5 for o in out for e in o["entities"])


def test_tag_documents_passes_scores_on(tiny_model):
    tagger = Tagger.load(tiny_model)
    lines = list(tag_documents(tagger, [(t, {"n": i}) for i, t in enumerate(TEXTS)], chunk_size=3, scores=True))
    assert [json.loads(line) for line in lines] == [dict(r, n=i) for i, r in
                                                   enumerate(tagger.predict(TEXTS, scores=True))]


def test_bad_min_score_is_one_line(tiny_model, tmp_path):
    result = brandner("tag", "-m", str(tiny_model), "--min-score", "2", "x", cwd=tmp_path)
    assert result.returncode == 1
    assert "--min-score must be between 0 and 1" in result.stderr and len(result.stderr.strip().splitlines()) == 1
