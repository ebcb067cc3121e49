"""brandner.ray on a local Ray (2 CPUs): the entities Tagger.predict gives, every other column kept,
bad rows that never fail the job, a failing row's error, no PyTorch in the actors for an ONNX file,
and tag_files in and out of Parquet, JSON lines and text, in input order, written into place."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from brandner.errors import BrandnerError
from brandner.tagging.tagger import Tagger
from tests.conftest import REPO, synthetic_sentences
from tests.engines.probes import break_on_boom, in_the_actor

pytest.importorskip("ray.data", reason="brandner.ray needs Ray Data (pip install '.[ray]')")

import pyarrow as pa  # noqa: E402 - Ray Data brings pyarrow
import pyarrow.parquet as pq  # noqa: E402
import ray  # noqa: E402
import ray.data  # noqa: E402

import brandner.ray  # noqa: E402
from brandner.tagging.export import export_model  # noqa: E402

JOB_LIMIT = 300  # seconds: a Ray job that waits forever (for a CPU, say) fails its test instead
TEXTS = [s.text for s in synthetic_sentences(40, seed=3)] + ["华为手机真好用，" * 30]


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray for the module. Its workers import this checkout (PYTHONPATH) and may use 2
    CPUs (BRANDNER_CPUS, so that the actors' one thread is theirs, not the tests' default);
    ``address="local"``: never a cluster that someone else's ``ray start`` left running."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        patch.delenv("RAY_ADDRESS", raising=False)
        with pytest.MonkeyPatch.context() as workers:  # the workers inherit the environment Ray starts in
            workers.setenv("BRANDNER_CPUS", "2")
            ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                     object_store_memory=200 * 2**20)
        ray.data.DataContext.get_current().enable_progress_bars = False
        try:
            yield
        finally:
            ray.shutdown()


@contextmanager
def bounded(seconds: int = JOB_LIMIT) -> Iterator[None]:
    """Raises TimeoutError in this (the main) thread if the block runs past ``seconds``."""
    def expire(signum, frame):
        raise TimeoutError(f"the Ray job ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def models(tiny_model, tmp_path_factory) -> dict[str, Path]:
    """The tiny model's file and its ONNX export."""
    work = tmp_path_factory.mktemp("ray-models")
    shutil.copy(tiny_model, work / "model.pt")
    export_model(work / "model.pt", work / "model.onnx")
    return {"pt": work / "model.pt", "onnx": work / "model.onnx"}


def rows_by_id(dataset: ray.data.Dataset) -> list[dict]:
    with bounded():
        return sorted(dataset.take_all(), key=lambda row: row["id"])


def expected(tagger: Tagger, text: str, **options) -> list[dict]:
    """Tagger.predict's entities as the entity column holds them: ``score`` None unless asked."""
    return [dict(entity, score=entity.get("score"), canonical=entity.get("canonical"))
            for entity in tagger.predict(text, **options)["entities"]]


@pytest.mark.parametrize("kind, backend", [("onnx", "auto"), ("pt", "auto"), ("pt", "torch")])
def test_entities_are_the_taggers_and_every_other_column_is_kept(models, kind, backend):
    model = models[kind]
    tagger = Tagger.load(model, backend=backend)  # first: a model file's ONNX graph is then cached
    items = [{"id": i, "text": text, "meta": {"n": i, "tags": ["a", "b"]}} for i, text in enumerate(TEXTS)]
    dataset = ray.data.from_items(items).map_batches(in_the_actor, batch_format="pyarrow")
    tagged = brandner.ray.tag(dataset, str(model), batch_size=8, backend=backend)
    rows = rows_by_id(tagged)
    assert [row["entities"] for row in rows] == [expected(tagger, text) for text in TEXTS]
    assert sum(len(row["entities"]) for row in rows) > 40
    assert all(e["score"] is None for row in rows for e in row["entities"])  # none asked for
    assert [{k: row[k] for k in ("id", "text", "meta")} for row in rows] == items
    assert list(rows[0]) == ["id", "text", "meta", "actor", "models", "onnx_threads", "torch_threads", "entities",
                             "error"]
    assert all(row["error"] is None for row in rows)
    # the probe ran in the tagging actors, after their model was loaded
    assert all(row["actor"] is not None and row["models"] == 1 for row in rows)
    # one thread each; PyTorch only for PyTorch itself, never for an ONNX file or a model file's cached graph
    assert {row["onnx_threads"] for row in rows} == ({None} if backend == "torch" else {1})
    assert {row["torch_threads"] for row in rows} == ({1} if backend == "torch" else {None})


def test_scores_when_asked_and_min_score_drops_entities(models):
    tagger = Tagger.load(models["onnx"])
    dataset = ray.data.from_items([{"id": i, "text": text} for i, text in enumerate(TEXTS)])
    rows = rows_by_id(brandner.ray.tag(dataset, str(models["onnx"]), min_score=0.6, output_col="found",
                                       error_col="why"))
    assert [row["found"] for row in rows] == [expected(tagger, text, min_score=0.6) for text in TEXTS]
    scores = [e["score"] for row in rows for e in row["found"]]
    assert scores and all(0.6 <= score <= 1 for score in scores)
    assert all(row["why"] is None for row in rows) and "entities" not in rows[0]


LONG = "推荐小米给大家" * 150_000  # a million characters
BAD_ROWS = [None, 7, 1.5, LONG, "华为\ud800手机和\udfff小米", "", ["我买了特步鞋"], b"\xe7\x89\xb9", {"text": "特步"}]


def test_bad_rows_never_fail_the_job(models):
    """Nulls, numbers, a million characters, lone surrogates (not Unicode: from Python objects, which
    Ray keeps as pickled objects, never from Arrow or Parquet), lists, bytes, dicts; from items, a
    row a block, so that the text column's type differs from block to block (string, int64,
    double, null, pickled objects), and from a pandas object column."""
    import pandas as pd

    tagger = Tagger.load(models["onnx"])
    items = [{"id": i, "text": text} for i, text in enumerate(["我买了特步鞋"] + BAD_ROWS)]
    frame = pd.DataFrame({"id": [100, 101, 102], "text": pd.Series([None, 3, "a\udfff小米"], dtype=object)})
    dataset = ray.data.from_items(items, override_num_blocks=len(items)).union(ray.data.from_pandas(frame))
    rows = rows_by_id(brandner.ray.tag(dataset, str(models["onnx"]), batch_size=4))
    assert [row["id"] for row in rows] == list(range(len(items))) + [100, 101, 102]
    assert all(row["error"] is None for row in rows)
    by_id = {row["id"]: row for row in rows}
    for item in items + frame.to_dict("records"):
        row = by_id[item["id"]]
        assert row["text"] == item["text"] or (item["text"] is None and row["text"] is None)  # kept as it was
        if not isinstance(item["text"], str) or not item["text"]:
            assert row["entities"] == [], item
    assert by_id[0]["entities"] == expected(tagger, "我买了特步鞋") != []
    replaced = "华为\ufffd手机和\ufffd小米"  # one code point for one: the offsets index the original text
    assert by_id[5]["entities"] == expected(tagger, replaced) != []
    assert by_id[102]["entities"] == expected(tagger, "a\ufffd小米") != []
    long = by_id[4]["entities"]
    assert len(long) > 100_000 and all(LONG[e["start"]:e["end"]] == e["word"] for e in long)


def test_a_row_whose_tagging_fails_gets_null_entities_and_its_error_and_the_job_goes_on(models):
    tagger = Tagger.load(models["onnx"])
    texts = ["我买了特步鞋", "BOOM 华为手机", None, "推荐小米给大家", "BOOM"]
    dataset = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)])
    rows = rows_by_id(brandner.ray.tag(dataset.map_batches(break_on_boom, batch_format="pyarrow"),
                                       str(models["onnx"])))
    assert [row["error"] for row in rows] == [None, "RuntimeError: the model broke", None, None,
                                               "RuntimeError: the model broke"]
    assert [row["entities"] for row in rows] == [expected(tagger, texts[0]), None, [], expected(tagger, texts[3]),
                                                 None]


def test_bad_arguments_are_refused_before_any_job(models):
    dataset = ray.data.from_items([{"id": 1, "text": "特步", "error": None}])
    model = str(models["onnx"])
    for options, message in [
        ({"text_col": "body"}, r"no column 'body' to tag; the columns are id, text, error"),
        ({}, r"the dataset has a column 'error' already; name the output otherwise"),
        ({"error_col": "why", "output_col": "id"}, r"a column 'id' already"),
        ({"error_col": "text"}, r"three different column names"),
        ({"error_col": "why", "min_score": 1.5}, r"min_score must be a probability between 0 and 1, got 1.5"),
        ({"error_col": "why", "scores": "yes"}, r"scores must be True or False"),
        ({"error_col": "why", "batch_size": 0}, r"batch_size must be a whole number at least 1, got 0"),
        ({"error_col": "why", "actors": 0}, r"actors must be a whole number at least 1, got 0"),
        ({"error_col": "why", "backend": "tpu"}, r"backend must be one of auto, onnx, torch, got 'tpu'"),
    ]:
        with pytest.raises(ValueError, match=message):
            brandner.ray.tag(dataset, model, **options)
    with pytest.raises(ValueError, match=r"model is a model file's path or a list of them"):
        brandner.ray.tag(dataset, 7, error_col="why")  # type: ignore[arg-type]


def test_ray_with_one_cpu_is_refused_rather_than_left_waiting(models, monkeypatch):
    """One CPU: the actor would hold it and Ray Data's read tasks wait for it forever."""
    dataset = ray.data.from_items([{"text": "特步"}])
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 1.0})
    with pytest.raises(ValueError, match=r"Ray has 1 CPU: an actor holding the model takes one"):
        brandner.ray.tag(dataset, str(models["onnx"]))


def test_actors_leave_a_cpu_for_reading_and_writing(monkeypatch):
    for cpus, actors, sizes in [(2, None, (1, 1)), (8, None, (7, 7)), (8, 3, (3, 3)), (8, 20, (7, 20)),
                                (0, None, (1, 1)), (0, 4, (1, 4))]:  # 0: an autoscaling cluster, no worker yet
        monkeypatch.setattr(ray, "cluster_resources", lambda cpus=cpus: {"CPU": float(cpus)} if cpus else {})
        pool = brandner.ray._actor_pool(actors)
        assert (pool.min_size, pool.max_size) == sizes, (cpus, actors)


# ---------------------------------------------------------------- tag_files


def write_inputs(folder: Path) -> dict[str, Path]:
    """The same texts as a folder of three Parquet files, JSON lines (column "string") and text."""
    (folder / "posts").mkdir()
    for part in range(3):
        ids = range(part * 14, min((part + 1) * 14, len(TEXTS)))
        pq.write_table(pa.table({"id": list(ids), "text": [TEXTS[i] for i in ids],
                                 "meta": [{"n": i} for i in ids]}), folder / "posts" / f"part{part}.parquet")
    (folder / "posts.jsonl").write_text("".join(json.dumps({"string": t, "id": i}, ensure_ascii=False) + "\n"
                                                for i, t in enumerate(TEXTS)), encoding="utf-8")
    (folder / "posts.txt").write_text("\n".join(TEXTS[:3] + [""] + TEXTS[3:6]) + "\n", encoding="utf-8")
    return {"parquet": folder / "posts", "json": folder / "posts.jsonl", "text": folder / "posts.txt"}


def read_output(folder: Path) -> list[dict]:
    """An output folder's rows, its files in name order."""
    files = sorted(folder.iterdir())
    if files[0].suffix == ".parquet":
        return [row for path in files for row in pq.read_table(path).to_pylist()]
    return [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines()]


def test_tag_files_parquet_to_json_lines_keeps_the_order_across_files(models, tmp_path):
    tagger = Tagger.load(models["onnx"])
    inputs = write_inputs(tmp_path)
    context = ray.data.DataContext.get_current()
    block_size = context.target_max_block_size
    context.target_max_block_size = 2048  # small blocks: several output files, whose order must hold
    try:
        with bounded():
            written = brandner.ray.tag_files(str(models["onnx"]), str(inputs["parquet"]), str(tmp_path / "out.jsonl"),
                                             input_format="parquet", batch_size=4, scores=True)
    finally:
        context.target_max_block_size = block_size
    assert not context.execution_options.preserve_order  # the caller's setting, given back
    assert len(list((tmp_path / "out.jsonl").iterdir())) > 1
    rows = read_output(tmp_path / "out.jsonl")
    assert written == len(rows) == len(TEXTS)
    assert [row["id"] for row in rows] == list(range(len(TEXTS)))
    assert [row["meta"] for row in rows] == [{"n": i} for i in range(len(TEXTS))]
    assert [row["entities"] for row in rows] == [expected(tagger, text, scores=True) for text in TEXTS]
    raw = "".join(path.read_text(encoding="utf-8") for path in (tmp_path / "out.jsonl").iterdir())
    assert json.dumps(TEXTS[0], ensure_ascii=False) in raw  # Chinese as it is, not \u escapes
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_tag_files_json_lines_and_text_to_parquet(models, tmp_path):
    tagger = Tagger.load(models["onnx"])
    inputs = write_inputs(tmp_path)
    with bounded():
        written = brandner.ray.tag_files(models["onnx"], str(inputs["json"]), str(tmp_path / "json.parquet"))
    rows = read_output(tmp_path / "json.parquet")
    assert written == len(TEXTS) and [row["id"] for row in rows] == list(range(len(TEXTS)))
    assert [row["string"] for row in rows] == TEXTS  # the column "string", as `tag -i` reads it
    assert [row["entities"] for row in rows] == [expected(tagger, text) for text in TEXTS]
    with bounded():
        written = brandner.ray.tag_files(models["onnx"], str(inputs["text"]), str(tmp_path / "text"),
                                         output_format="parquet")
    lines = TEXTS[:3] + [""] + TEXTS[3:6]
    rows = read_output(tmp_path / "text")
    assert written == 7 and [row["text"] for row in rows] == lines  # the empty line kept in its place
    assert [row["entities"] for row in rows] == [expected(tagger, text) if text else [] for text in lines]


def test_tag_files_replaces_an_earlier_output_only_once_the_job_succeeds(models, tmp_path):
    inputs = write_inputs(tmp_path)
    output = tmp_path / "out.jsonl"
    output.mkdir()
    (output / "earlier.json").write_text('{"text": "an earlier output"}\n', encoding="utf-8")
    bad = tmp_path / "bad.jsonl"  # a number where the text is: Ray Data's JSON reader cannot make a table
    bad.write_text('{"text": "我买了特步鞋"}\n{"text": 7}\n', encoding="utf-8")
    with bounded(), pytest.raises(BrandnerError, match=r"bad.jsonl: the Ray job failed: .*one type on every line"):
        brandner.ray.tag_files(str(models["onnx"]), str(bad), str(output))
    assert [p.name for p in output.iterdir()] == ["earlier.json"]  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "out.jsonl", "posts", "posts.jsonl",
                                                          "posts.txt"]  # nothing partial left
    with bounded():
        assert brandner.ray.tag_files(str(models["onnx"]), str(inputs["text"]), str(output)) == 7
    assert "earlier.json" not in os.listdir(output) and len(read_output(output)) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "out.jsonl", "posts", "posts.jsonl",
                                                          "posts.txt"]


def test_tag_files_refuses_what_it_cannot_do_before_any_job(models, tmp_path):
    inputs = write_inputs(tmp_path)
    model, text = str(models["onnx"]), str(inputs["text"])
    (tmp_path / "file.parquet").write_text("not a folder")
    (tmp_path / "mine.parquet").mkdir()
    (tmp_path / "mine.parquet" / "notes.txt").write_text("keep me")
    (tmp_path / "empty.txt").write_text("")
    for args, options, message in [
        ((model, text, str(tmp_path / "file.parquet")), {}, r"file.parquet: is a file; Ray writes a folder"),
        ((model, text, str(tmp_path / "mine.parquet")), {}, r"mine.parquet: a folder that holds more than .parquet"),
        ((model, text, str(tmp_path / "out.txt")), {}, r"out.txt: entities are written as parquet or json, not text"),
        ((model, text, "s3://bucket/out.parquet"), {}, r"s3://bucket/out.parquet: tag_files writes to a local folder"),
        ((model, str(tmp_path / "none.txt"), str(tmp_path / "o.parquet")), {}, r"none.txt: no such file or folder"),
        ((str(tmp_path / "no.onnx"), text, str(tmp_path / "o.parquet")), {}, r"no.onnx: no such model file"),
        ((model, str(inputs["parquet"]), str(tmp_path / "o.parquet")), {}, r"posts: cannot tell its format"),
        ((model, text, str(tmp_path / "o.parquet")), {"min_score": 2}, r"min_score must be a probability"),
        ((model, text, str(tmp_path / "o.parquet")), {"text_col": "body"}, r"posts.txt: no column 'body' to tag"),
        ((model, str(tmp_path / "empty.txt"), str(tmp_path / "o.parquet")), {}, r"empty.txt: no rows to tag"),
    ]:
        with bounded(), pytest.raises(BrandnerError, match=message):
            brandner.ray.tag_files(*args, **options)
    assert (tmp_path / "mine.parquet" / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "o.parquet").exists()


def test_start_ray_joins_the_cluster_at_ray_address_else_starts_its_own(models):
    """In child processes: with RAY_ADDRESS, this module's Ray; without, a new local one of
    available_cpus() + 1 CPUs (BRANDNER_CPUS is 1 in the tests)."""
    code = ("import ray, brandner.ray; brandner.ray.start_ray(); "
            "print(ray.get_runtime_context().gcs_address, ray.cluster_resources()['CPU'])")
    ours = ray.get_runtime_context().gcs_address
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("RAY_ADDRESS", None)
    for extra, address, cpus in [({"RAY_ADDRESS": ours}, ours, "2.0"), ({}, None, "2.0")]:
        result = subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True,
                                timeout=JOB_LIMIT, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        found, found_cpus = result.stdout.split()[-2:]
        assert found_cpus == cpus and (found == address if address else found != ours)


def test_the_command_line_tags_json_lines_into_parquet_in_input_order_with_a_brand_list(models, tmp_path):
    from tests.conftest import brandner

    texts = TEXTS[:12]
    (tmp_path / "brands.txt").write_text("特步\tXtep\n华为\tHuawei\n小米\tXiaomi\n", encoding="utf-8")
    (tmp_path / "posts.jsonl").write_text("".join(json.dumps({"id": i, "string": t}, ensure_ascii=False) + "\n"
                                                  for i, t in enumerate(texts)), encoding="utf-8")
    result = brandner("tag", "--engine", "ray", "--workers", "1", "-m", str(models["onnx"]), "-i", "posts.jsonl",
                      "-o", "tagged.parquet", "--canonical", "brands.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pq.read_table(tmp_path / "tagged.parquet").to_pylist()
    tagger = Tagger.load(models["onnx"], canonical=tmp_path / "brands.txt")
    assert [row["id"] for row in table] == list(range(len(texts)))
    assert [row["entities"] for row in table] == [expected(tagger, text) for text in texts]
    assert {e["canonical"] for row in table for e in row["entities"]} >= {"Xtep", "Huawei", "Xiaomi"}
    result = brandner("tag", "--engine", "ray", "--master", "local[2]", "-m", str(models["onnx"]),
                      "-i", "posts.jsonl", "-o", "again.parquet", cwd=tmp_path)
    assert result.returncode == 1 and "--engine ray does not take --master/--conf" in result.stderr


def test_an_actor_gives_the_tagger_large_calls_not_model_batches(models, monkeypatch):
    """The Tagger sorts a call's texts by length into model batches: calls of ``batch_size`` rows
    (as the adapter first made them) would pad far more, PyTorch then running 2.4x slower."""
    monkeypatch.setattr(brandner.ray, "ROWS_PER_CALL", 10)
    actor = brandner.ray.TagBatches(str(models["onnx"]), "text", "entities", "error", False, None, 4, "auto")
    calls = []
    predict = actor.tagger.predict
    monkeypatch.setattr(actor.tagger, "predict", lambda texts, **options: calls.append(len(texts)) or
                        predict(texts, **options))
    block = pa.table({"text": TEXTS[:25]})
    tagged = actor(block)
    assert calls == [10, 10, 5]
    assert tagged.column("entities").to_pylist() == [expected(actor.tagger, text) for text in TEXTS[:25]]
