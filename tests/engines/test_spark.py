"""brandner.spark on a real local Spark (a JVM, Python workers): the same entities as the Tagger,
every column kept, bad rows that never fail the job, and the command line's files."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java (make test installs it)", allow_module_level=True)

from brandner import spark as brandner_spark  # noqa: E402
from brandner.tagging.tagger import Tagger  # noqa: E402
from tests.conftest import REPO, brandner  # noqa: E402
from tests.engines.faulty_daemon import FAULT  # noqa: E402

pytestmark = pytest.mark.slow
TEXTS = ["我买了特步鞋", "昨天在店里看到华为和小米", "推荐安踏给大家", "", "天气不错", "小米手机真好用"]


@pytest.fixture(scope="module")
def spark():
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    session = brandner_spark.session("local[2]", ["spark.ui.enabled=false", "spark.sql.shuffle.partitions=2",
                                                  "spark.python.daemon.module=tests.engines.faulty_daemon"])
    yield session
    session.stop()


@pytest.fixture(scope="module")
def models(tiny_model, tmp_path_factory):
    """The tiny model's PyTorch file and its ONNX export."""
    from brandner.tagging.export import export_model

    work = tmp_path_factory.mktemp("spark-models")
    shutil.copy(tiny_model, work / "model.pt")
    export_model(work / "model.pt", work / "model.onnx")
    return work


def expected(model, texts, scores=False, canonical=None):
    entities = [result["entities"] for result in Tagger.load(model, canonical=canonical).predict(texts, scores=scores)]
    return [[{**entity, "score": entity.get("score"), "canonical": entity.get("canonical")} for entity in found]
            for found in entities]


def as_dicts(rows, column="entities"):
    return [None if row[column] is None else [entity.asDict() for entity in row[column]] for row in rows]


def test_a_shipped_model_is_loaded_once_per_python_worker_and_onnx_never_imports_torch(spark, models, tmp_path):
    from pyspark.sql import functions as F

    shutil.copy(models / "model.onnx", tmp_path / "shipped.onnx")
    text = F.concat(F.lit("推荐安踏给大家"), F.col("id").cast("string"))
    df = spark.range(400).select(F.col("id"), text.alias("text"))
    tagged = brandner_spark.tag(df.repartition(8), str(tmp_path / "shipped.onnx"), ship=True)
    assert tagged.filter(F.size("entities") > 0).count() == 400

    @F.udf("string")
    def worker_state(_):  # runs in the same reused Python workers
        from brandner.tagging import rows
        return json.dumps([os.getpid(), sorted(model for model, _ in rows._taggers), "torch" in sys.modules])

    states = [json.loads(row.state) for row in
              spark.range(64).repartition(8).select(worker_state("id").alias("state")).distinct().collect()]
    # 8 partitions tagged by at most 2 processes (local[2]), each with one Tagger, the shipped file's
    loaded = [models for _, models, _ in states if models]
    assert 1 <= len(loaded) <= 2 and all(len(m) == 1 and m[0].endswith("shipped.onnx") for m in loaded), states
    assert not any(torch for *_, torch in states), states  # this test runs first: no PyTorch model tagged yet


@pytest.mark.parametrize("name", ["model.onnx", "model.pt"])
@pytest.mark.parametrize("scores", [False, True])
def test_the_same_entities_as_the_tagger_and_every_column_kept(spark, models, name, scores):
    model = str(models / name)
    df = spark.createDataFrame([(i, text, f"post {i}") for i, text in enumerate(TEXTS)],
                               "id int, text string, note string")
    tagged = brandner_spark.tag(df.repartition(3), model, scores=scores).orderBy("id")
    assert tagged.columns == ["id", "text", "note", "entities", "error"]
    assert dict(tagged.dtypes)["entities"] == ("array<struct<word:string,type:string,start:int,end:int,"
                                               "score:double,canonical:string>>")
    rows = tagged.collect()
    assert [(row.id, row.text, row.note) for row in rows] == [(i, t, f"post {i}") for i, t in enumerate(TEXTS)]
    assert as_dicts(rows) == expected(model, TEXTS, scores)
    assert any(as_dicts(rows)) and all(row.error is None for row in rows)
    if not scores:
        assert all(entity["score"] is None for found in as_dicts(rows) for entity in found)


def test_a_brand_list_read_on_the_driver_names_brands_on_the_executors(spark, models, tmp_path):
    brands = tmp_path / "brands.txt"
    brands.write_text("特步\tXtep\n华为\tHuawei\n", encoding="utf-8")
    df = spark.createDataFrame([(i, text) for i, text in enumerate(TEXTS)], "id int, text string")
    rows = brandner_spark.tag(df.repartition(2), str(models / "model.onnx"), canonical=[brands]).orderBy("id").collect()
    assert as_dicts(rows) == expected(models / "model.onnx", TEXTS, canonical=brands)
    assert {"Xtep", "Huawei"} <= {entity["canonical"] for found in as_dicts(rows) for entity in found}


def test_bad_rows_never_fail_the_job(spark, models, tmp_path):
    model = str(models / "model.onnx")
    long_text = "我买了特步鞋，" * 50_000  # 1 MB of UTF-8
    rows = [(0, None), (1, "推荐安踏给大家"), (2, long_text), (3, f"推荐{FAULT}安踏"), (4, "小米手机真好用")]
    df = spark.createDataFrame(rows, "id int, text string")
    tagged = {row.id: row for row in brandner_spark.tag(df, model).collect()}
    assert as_dicts([tagged[0]]) == [[]] and tagged[0].error is None
    assert as_dicts([tagged[1], tagged[4]]) == expected(model, [rows[1][1], rows[4][1]])
    assert len(tagged[2].entities) >= 50_000 and tagged[2].error is None
    assert tagged[3].entities is None and tagged[3].error == "RuntimeError: a fault made by the test"
    # numbers and structures in the text column: no entities, no error
    numbers = spark.createDataFrame([(1, 5), (2, None)], "id int, text int")
    assert [(row.entities, row.error) for row in brandner_spark.tag(numbers, model).collect()] == [([], None)] * 2
    # a lone surrogate, as a JSON escape in a file: Spark hands it over replaced
    (tmp_path / "odd.jsonl").write_text('{"text": "推荐安踏\\ud800给大家"}\n', encoding="utf-8")
    odd = brandner_spark.tag(spark.read.json(str(tmp_path / "odd.jsonl")), model).collect()
    assert odd[0].error is None and [e.word for e in odd[0].entities] == ["安踏"]


def test_wrong_columns_are_named(spark, models):
    df = spark.createDataFrame([("x", "y")], "body string, entities string")
    with pytest.raises(ValueError, match="no column 'text' to tag; the columns are body, entities"):
        brandner_spark.tag(df, str(models / "model.onnx"))
    with pytest.raises(ValueError, match="has a column 'entities' already"):
        brandner_spark.tag(df, str(models / "model.onnx"), text_col="body")


def test_the_command_line_reads_and_writes_parquet_and_json_lines_in_input_order(spark, models, tmp_path):
    texts = [f"{text}{i}" for i in range(30) for text in TEXTS[:3]]
    (tmp_path / "posts.jsonl").write_text("".join(json.dumps({"id": i, "string": t}, ensure_ascii=False) + "\n"
                                                  for i, t in enumerate(texts)), encoding="utf-8")
    (tmp_path / "tagged.parquet").mkdir()  # an older output: replaced
    (tmp_path / "tagged.parquet" / "old").write_text("old")
    common = ["--engine", "spark", "--master", "local[1]", "--conf", "spark.ui.enabled=false", "-m", "model.onnx"]
    (tmp_path / "model.onnx").symlink_to(models / "model.onnx")
    result = brandner("tag", *common, "-i", "posts.jsonl", "-o", "tagged.parquet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = brandner("tag", *common, "-i", "tagged.parquet", "--text-field", "string", "-o", "again.jsonl",
                      "--scores", cwd=tmp_path)
    assert result.returncode == 1
    assert "has a column 'entities' already" in result.stderr  # honest: a tagged file is not tagged twice
    result = brandner("tag", *common, "-i", "posts.jsonl", "-o", "tagged.jsonl", "--scores", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "tagged.parquet" / "old").exists()
    parquet = spark.read.parquet(str(tmp_path / "tagged.parquet")).collect()
    assert [row.string for row in parquet] == texts
    assert as_dicts(parquet) == expected(str(models / "model.onnx"), texts)
    lines = [json.loads(line) for part in sorted((tmp_path / "tagged.jsonl").glob("part-*"))
             for line in part.read_text(encoding="utf-8").splitlines()]
    ours = Tagger.load(models / "model.onnx").predict(texts, scores=True)
    assert [line["entities"] for line in lines] == [result["entities"] for result in ours]
    assert [line["id"] for line in lines] == list(range(len(texts)))
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("args, message", [
    (["-i", "posts.jsonl"], "give -i INPUT and -o OUTPUT"),
    (["-i", "posts.csv", "-o", "out.parquet"], "posts.csv: cannot tell its format"),
    (["-i", "posts.jsonl", "-o", "out.txt"], "the output is Parquet or JSON lines"),
    (["-i", "posts.jsonl", "-o", "out.parquet", "--int8"], "--engine spark does not take --int8"),
    (["-i", "posts.jsonl", "-o", "out.parquet", "--workers", "2"], "does not take --workers"),
    (["-i", "posts.jsonl", "-o", "out.parquet", "--text-field", "body"], "no column 'body' to tag"),
])
def test_command_line_mistakes_are_one_line_errors(models, tmp_path, args, message):
    (tmp_path / "posts.jsonl").write_text('{"text": "我买了特步鞋"}\n', encoding="utf-8")
    result = brandner("tag", "--engine", "spark", "--master", "local[1]", "-m", str(models / "model.onnx"), *args,
                      cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr, result.stderr
