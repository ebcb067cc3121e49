"""The annotation tools' files through the real entry point: train and evaluate on a Label Studio
export or a doccano file, convert between them without losing a span, tag into tasks to import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from brandner import Tagger
from brandner.data.formats import read_file
from tests.conftest import SMALL, brandner

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "annotation"
EXPORT, DOCCANO, DOCCANO_NEW = "labelstudio-export.json", "doccano-label.jsonl", "doccano-entities.jsonl"
TEXTS = ["我买了特步鞋", "昨天在店里看到小米和安踏", "推荐耐克给大家"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for fixture in FIXTURES.iterdir():
        shutil.copy(fixture, tmp_path / fixture.name)
    return tmp_path


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_line_error(result, message: str) -> None:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == [f"brandner: error: {message}"]


@pytest.mark.parametrize("source", [EXPORT, DOCCANO, DOCCANO_NEW])
def test_a_tiny_model_trains_on_an_annotation_tools_file_and_is_scored_on_it(folder, source):
    ok(brandner("train", "--train", source, "--dev", source, "--epochs", "2", *SMALL, "-o", "m.pt", cwd=folder))
    summary = json.loads((folder / "m.pt.json").read_text(encoding="utf-8"))
    assert summary["epochs_run"] == 2
    scores = json.loads(ok(brandner("evaluate", "-m", "m.pt", "--file", source, "--json", cwd=folder)))
    assert scores["support"] == sum(len(s.spans) for s in read_file(folder / source).sentences)
    assert set(Tagger.load(folder / "m.pt").encoder.types) == {"SHOE", "DIGITAL"}


@pytest.mark.parametrize("source, chain", [
    (EXPORT, [("jsonl", "a.jsonl"), ("labelstudio", "b.json")]),
    (EXPORT, [("doccano", "a.jsonl"), ("labelstudio", "b.json"), ("cluener", "c.json"), ("labelstudio", "d.json")]),
    (DOCCANO, [("labelstudio", "a.json"), ("doccano", "b.jsonl")]),
    (DOCCANO_NEW, [("doccano", "a.jsonl"), ("jsonl", "b.jsonl"), ("doccano", "c.jsonl")]),
])
def test_convert_round_trips_keep_every_span(folder, source, chain):
    original = read_file(folder / source).sentences
    counts = f"{len(original)} sentences, {sum(len(s.spans) for s in original)} entities"
    previous = source
    for fmt, target in chain:
        printed = ok(brandner("convert", previous, target, "--to", fmt, cwd=folder))
        assert printed == f"{target}: {counts} ({fmt})\n"
        assert read_file(folder / target, fmt=fmt).sentences == original
        previous = target
    back = ok(brandner("convert", previous, "back.json", "--from", chain[-1][0], "--to", "jsonl", cwd=folder))
    assert back == f"back.json: {counts} (jsonl)\n"


def test_overlapping_regions_stop_convert_unless_outer_is_asked_for(folder):
    one_line_error(brandner("convert", "labelstudio-overlapping.json", "out.jsonl", cwd=folder),
                   "labelstudio-overlapping.json:2: task 201: entities overlap: PRODUCT '安踏鞋子' at 0..4 and "
                   "SHOE '安踏' at 0..2")
    assert not (folder / "out.jsonl").exists()
    done = brandner("convert", "labelstudio-overlapping.json", "out.json", "--overlaps", "outer", "--to", "doccano",
                    cwd=folder)
    assert ok(done) == "out.json: 2 sentences, 2 entities (doccano)\n" and "dropped 2 entities" in done.stderr


@pytest.mark.parametrize("command", ["train", "evaluate", "convert"])
def test_a_malformed_export_is_one_line_naming_the_task(folder, tiny_model, command):
    tasks = json.loads((folder / EXPORT).read_text(encoding="utf-8"))
    tasks[2]["annotations"][0]["result"][0]["value"]["text"] = "耐"
    (folder / "bad.json").write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    lines = (folder / "bad.json").read_text(encoding="utf-8").split("\n")
    line = [n for n, text in enumerate(lines, start=1) if text == " {"][2]  # where the third task starts
    args = {"train": ["train", "--train", "bad.json", "--dev", EXPORT, *SMALL, "-o", "m.pt"],
            "evaluate": ["evaluate", "-m", str(tiny_model), "--file", "bad.json"],
            "convert": ["convert", "bad.json", "out.json"]}[command]
    result = brandner(*args, cwd=folder)
    assert result.stderr.startswith(f"brandner: error: bad.json:{line}: task 103, result 'r6': ")
    one_line_error(result, f"bad.json:{line}: task 103, result 'r6': 'text' '耐' differs from the text there, '耐克'")


def test_tag_writes_label_studio_tasks_with_scored_predictions(tiny_model, tmp_path):
    model = tmp_path / "shoes-v2.pt"
    shutil.copy(tiny_model, model)
    (tmp_path / "posts.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    ok(brandner("tag", "-m", str(model), "-i", "posts.txt", "-o", "tasks.json", "--to", "labelstudio", "--scores",
                cwd=tmp_path))
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    expected = Tagger.load(model).predict(TEXTS, scores=True)
    assert [t["data"] for t in tasks] == [{"text": text} for text in TEXTS]
    for task, result in zip(tasks, expected):
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == "shoes-v2"
        assert [(r["value"]["start"], r["value"]["end"], r["value"]["labels"], r["score"])
                for r in prediction["result"]] == [(e["start"], e["end"], [e["type"]], e["score"])
                                                   for e in result["entities"]]
        scores = [e["score"] for e in result["entities"]]
        assert prediction.get("score") == (min(scores) if scores else None)
    assert any(t["predictions"][0]["result"] for t in tasks)
    unscored = json.loads(ok(brandner("tag", "-m", str(model), *TEXTS, "--to", "labelstudio", cwd=tmp_path)))
    assert all("score" not in t["predictions"][0] for t in unscored)


def test_tag_re_tags_a_label_studio_export_and_a_doccano_file(tiny_model, folder):
    model = str(tiny_model)
    tasks = json.loads(ok(brandner("tag", "-m", model, "-i", EXPORT, "--to", "labelstudio", cwd=folder)))
    texts = [s.text for s in read_file(folder / EXPORT).sentences[:3]]
    assert [t["data"] for t in tasks][:3] == [{"text": text} for text in texts]
    assert tasks[4]["data"] == {"text": "苹果手机真好用", "source": "weibo"}  # found under data["content"]
    assert len(tasks) == 7  # every task, annotated or not
    records = [json.loads(line) for line in ok(brandner("tag", "-m", model, "-i", DOCCANO, "--to", "doccano",
                                                         cwd=folder)).splitlines()]
    expected = Tagger.load(tiny_model).predict([s.text for s in read_file(folder / DOCCANO).sentences])
    assert [r["text"] for r in records] == [e["string"] for e in expected]
    assert [r["label"] for r in records] == [[[x["start"], x["end"], x["type"]] for x in e["entities"]]
                                             for e in expected]
    assert records[3]["id"] == 4 and records[3]["Comments"] == ["checked"]


def test_tag_into_tasks_stops_at_a_bad_line_with_the_tasks_before_it_importable(tiny_model, tmp_path):
    (tmp_path / "posts.jsonl").write_text('{"text": "我买了特步鞋"}\n{"text": 3}\n{"text": "推荐耐克"}\n',
                                          encoding="utf-8")
    failed = brandner("tag", "-m", str(tiny_model), "-i", "posts.jsonl", "-o", "tasks.json", "--to", "labelstudio",
                      cwd=tmp_path)
    one_line_error(failed, "posts.jsonl:2: expected a 'string' or 'text' field holding a string; "
                           "tasks.json holds the 1 tasks before it")
    assert [t["data"]["text"] for t in json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))] == [
        "我买了特步鞋"]
    skipped = brandner("tag", "-m", str(tiny_model), "-i", "posts.jsonl", "--to", "doccano", "--on-error", "skip",
                       cwd=tmp_path)
    assert [json.loads(line)["text"] for line in ok(skipped).splitlines()] == ["我买了特步鞋", "推荐耐克"]
    assert "1 lines skipped, left out of the output" in skipped.stderr


def test_a_broken_export_fails_before_tag_writes_anything(tiny_model, tmp_path):
    (tmp_path / "export.json").write_text('[\n{"id": 1, "data": {"text": "特步"}},\n{"id": 2, "data": \n]\n',
                                          encoding="utf-8")
    result = brandner("tag", "-m", str(tiny_model), "-i", "export.json", "-o", "out.json", cwd=tmp_path)
    one_line_error(result, "export.json:4: invalid JSON: Expecting value (column 1)")
    assert not (tmp_path / "out.json").exists()


def test_the_engines_do_not_write_tasks(tiny_model, tmp_path):
    result = brandner("tag", "-m", str(tiny_model), "-i", "in.txt", "-o", "out", "--engine", "ray", "--to",
                      "labelstudio", cwd=tmp_path)
    assert result.returncode == 1 and "--engine ray does not take --to labelstudio" in result.stderr


@pytest.mark.parametrize("source", ["labelstudio-overlapping.json", "doccano-overlapping.jsonl"])
def test_overlapping_annotations_train_and_score_with_outer_and_stop_without(folder, source):
    stopped = brandner("train", "--train", source, "--dev", source, "--epochs", "1", *SMALL, "-o", "m.pt", cwd=folder)
    assert stopped.returncode == 1 and "entities overlap" in stopped.stderr and not (folder / "m.pt").exists()
    ok(brandner("train", "--train", source, "--dev", source, "--overlaps", "outer", "--epochs", "1", *SMALL,
                "-o", "m.pt", cwd=folder))
    kept = read_file(folder / source, overlaps="outer").sentences
    scores = json.loads(ok(brandner("evaluate", "-m", "m.pt", "--file", source, "--overlaps", "outer", "--json",
                                    cwd=folder)))
    assert scores["support"] == sum(len(s.spans) for s in kept) > 0
    assert brandner("evaluate", "-m", "m.pt", "--file", source, cwd=folder).returncode == 1
