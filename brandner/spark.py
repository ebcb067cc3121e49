"""Tagging Spark DataFrames (``pip install 'brandner[spark]'``, pyspark 4.1 or later).

>>> from brandner import spark as brandner_spark                    # doctest: +SKIP
>>> tagged = brandner_spark.tag(posts, "model.onnx", text_col="text")  # doctest: +SKIP

adds a column ``entities`` (``array<struct<word, type, start: int, end: int, score: double>>``,
score null unless ``scores``) and a column ``error`` (null unless that row's tagging failed) and
keeps every other column. Rows are tagged by :mod:`brandner.tagging.rows` (the rules for nulls,
non-strings and failures are there), in an Arrow UDF: only the text column travels to Python,
in Arrow batches. Each Python worker loads the model once and keeps it (Spark reuses its Python
workers); an ONNX file never imports PyTorch there.

From the command line, the same on a laptop or a cluster::

    brandner tag --engine spark -m model.onnx -i posts.parquet -o tagged.parquet [--master local[*]]
    spark-submit --master yarn "$(command -v brandner)" tag --engine spark \\
        -m model.onnx -i hdfs:///posts/ -o hdfs:///tagged.parquet
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from brandner.errors import BrandnerError
from brandner.tagging.canonical import CanonicalNames
from brandner.tagging.rows import (
    ENTITIES_DDL,
    cached_tagger,
    check_arguments,
    check_columns,
    table_format,
    tag_arrow,
    text_column,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("brandner")
_STRUCT = "__brandner_tagged__"


def tag(df: "DataFrame", model: str | Path, text_col: str = "text", output_col: str = "entities",
        error_col: str = "error", scores: bool = False, min_score: float | None = None, batch_size: int = 256,
        backend: str = "auto", ship: bool = False, canonical: Sequence[str | Path] | None = None) -> "DataFrame":
    """``df`` with ``output_col`` (the entities of ``text_col``) and ``error_col`` added.

    ``model`` is a model file (PyTorch or ONNX) at a path every executor can read, or, with
    ``ship=True``, a file on the driver that is sent with the job (``SparkContext.addFile``).
    ``scores``, ``min_score``, ``batch_size`` and ``backend`` are as for :meth:`Tagger.predict`
    and :meth:`Tagger.load`. ``canonical`` brand lists, read here on the driver and sent with the
    job, fill the entities' ``canonical``. Each Python worker tags with one thread: Spark runs one per core."""
    from pyspark.sql import functions as F

    check_arguments(text_col, output_col, error_col, scores, min_score, batch_size, backend)
    check_columns(df.columns, text_col, output_col, error_col, "DataFrame")
    model = str(model)
    shipped = None
    if ship:
        if not Path(model).is_file():
            raise BrandnerError(f"{model}: no such model file to ship")
        df.sparkSession.sparkContext.addFile(model)
        shipped = Path(model).name
    options = {"batch_size": batch_size, "backend": backend, "threads": 1}
    names = CanonicalNames.read(canonical) if canonical else None

    def tag_batch(texts):  # runs on the executors: one Arrow batch of the text column
        import pyarrow as pa
        from pyspark import SparkFiles

        tagger = cached_tagger(SparkFiles.get(shipped) if shipped else model, **options)
        entities, errors = tag_arrow(tagger, texts, scores or min_score is not None, min_score, names)
        return pa.StructArray.from_arrays([entities, errors], names=["entities", "error"])

    # Not deterministic to Spark, so that the optimiser never calls it once per field read.
    udf = F.arrow_udf(tag_batch, f"struct<entities:{ENTITIES_DDL},error:string>").asNondeterministic()
    tagged = df.withColumn(_STRUCT, udf(F.col(text_col)))
    return tagged.select(*[F.col(f"`{name}`") for name in df.columns],
                         F.col(f"{_STRUCT}.entities").alias(output_col),
                         F.col(f"{_STRUCT}.error").alias(error_col))


def session(master: str | None = None, conf: Sequence[str] = ()) -> "SparkSession":
    """The running Spark session (under ``spark-submit``, its settings), or a new one: on
    ``master`` if given, else Spark's default (``local[*]``); ``conf`` holds ``KEY=VALUE``
    settings. Python workers run this interpreter unless ``PYSPARK_PYTHON`` says otherwise."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    builder = SparkSession.builder.appName("brandner tag")
    if master:
        builder = builder.master(master)
    for setting in conf:
        key, equals, value = setting.partition("=")
        if not equals or not key:
            raise BrandnerError(f"--conf takes KEY=VALUE, got {setting!r}")
        builder = builder.config(key, value)
    return builder.getOrCreate()


def tag_files(model: str | Path, input: str, output: str, *, input_format: str | None = None,
              output_format: str | None = None, text_col: str | None = None, scores: bool = False,
              min_score: float | None = None, batch_size: int = 256, backend: str = "auto",
              master: str | None = None, conf: Sequence[str] = (), canonical: Sequence[str] | None = None) -> None:
    """Tag ``input`` (Parquet, JSON lines or text, one per line: a file, a folder or any URI
    Spark reads) into ``output`` (Parquet or JSON lines, a folder of part files in input order).
    The model file is shipped with the job. The output appears under its name only when whole:
    it is written beside it and renamed, replacing what was there."""
    reading = table_format(input, input_format)
    writing = table_format(output, output_format)
    if writing == "text":
        raise BrandnerError(f"{output}: the output is Parquet or JSON lines, not text")
    spark = session(master, conf)
    if reading == "text":
        df = spark.read.text(input).withColumnRenamed("value", "text")
    else:
        df = spark.read.format(reading).load(input)
    column = text_column(df.columns, text_col)
    tagged = tag(df, model, column, scores=scores, min_score=min_score, batch_size=batch_size, backend=backend,
                 ship=True, canonical=canonical)
    _write_whole(spark, tagged, writing, output)


def _write_whole(spark: "SparkSession", df: "DataFrame", writing: str, output: str) -> None:
    """Write ``df`` beside ``output`` and rename it there (Hadoop's file system, so any URI)."""
    jvm = spark.sparkContext._jvm
    target = jvm.org.apache.hadoop.fs.Path(output)
    fs = target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    partial = f"{output.rstrip('/')}.{uuid.uuid4().hex[:8]}.partial"
    try:
        df.write.format(writing).mode("errorifexists").save(partial)
        if fs.exists(target):
            fs.delete(target, True)
        if not fs.rename(jvm.org.apache.hadoop.fs.Path(partial), target):
            raise BrandnerError(f"{output}: could not move the finished output there (it is in {partial})")
    finally:
        partial_path = jvm.org.apache.hadoop.fs.Path(partial)
        if fs.exists(partial_path):
            fs.delete(partial_path, True)
