"""Tagging a Ray Data dataset (``pip install 'brandner[ray]'``): a thin adapter over
brandner.tagging.rows, the batch function the Spark adapter shares, so both tag and fail alike.

>>> import ray, brandner.ray                                         # doctest: +SKIP
>>> posts = ray.data.read_parquet("posts.parquet")                  # doctest: +SKIP
>>> brandner.ray.tag(posts, "model.onnx").write_parquet("tagged")   # doctest: +SKIP

Each row keeps its columns and gains ``entities`` (list<struct<word, type, start: int32,
end: int32, score: float64>>, ``score`` null unless asked) and ``error`` (null, or why the
row's text failed to tag: its entities are then null). A null or non-string text gives no
entities; no row fails the job. The model is loaded once per actor (one CPU and one thread
each); an ONNX file never imports PyTorch there.

Ray Data's read and write tasks need a CPU beside the actors, which hold theirs as long as the
job runs: a cluster of one CPU would wait forever, so it is refused, and the actors leave one
CPU free unless told otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brandner.atomic import atomic_folder
from brandner.cpus import available_cpus
from brandner.errors import BrandnerError
from brandner.tagging.canonical import CanonicalNames
from brandner.tagging.rows import (
    cached_tagger,
    check_arguments,
    check_columns,
    entity_arrow_type,
    table_format,
    tag_arrow,
    text_column,
)

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

# A model file, or the files of an ensemble (as Tagger.load takes them).
Model = str | Path | Sequence[str | Path]


# Rows of a block given to the Tagger in one call (Spark's spark.sql.execution.arrow.maxRecordsPerBatch).
ROWS_PER_CALL = 10_000


class TagBatches:
    """The callable class Ray Data's actors run (``map_batches(TagBatches, batch_format="pyarrow",
    batch_size=None)``): the constructor loads the model (once per process, rows.cached_tagger, one
    thread); each call takes a block as an Arrow table and gives it back with the entity and error
    columns appended. The block goes to the Tagger :data:`ROWS_PER_CALL` rows at a time (the
    Tagger sorts a call's texts by length into model batches of ``batch_size``: the larger the
    call, the less padding; PyTorch tagged 874 lines/s in calls of 256 and 2,085 in calls of
    8,000 on one thread, onnxruntime 2,515 and 2,840), as Spark's Arrow batches of 10,000 rows do.

    A call takes one whole block, never rows of several: to batch across blocks Ray concatenates
    them, which fails when a column's type differs between them (a text column of strings in one
    block, of numbers or nulls in another): a bad row would fail the job."""

    def __init__(self, model: str | tuple[str, ...], text_col: str, output_col: str, error_col: str,
                 scores: bool, min_score: float | None, batch_size: int, backend: str,
                 names: CanonicalNames | None = None) -> None:
        self.tagger = cached_tagger(model, batch_size=batch_size, threads=1, backend=backend)
        self.names = names
        self.text_col, self.output_col, self.error_col = text_col, output_col, error_col
        self.scores, self.min_score = scores, min_score

    def __call__(self, block: pa.Table) -> pa.Table:
        import pyarrow as pa

        check_columns(block.column_names, self.text_col, self.output_col, self.error_col, "dataset")
        texts = block.column(self.text_col)
        parts = [tag_arrow(self.tagger, texts.slice(start, ROWS_PER_CALL), self.scores, self.min_score, self.names)
                 for start in range(0, block.num_rows, ROWS_PER_CALL)]
        entities = pa.chunked_array([part[0] for part in parts], type=entity_arrow_type())
        errors = pa.chunked_array([part[1] for part in parts], type=pa.string())
        return block.append_column(self.output_col, entities).append_column(self.error_col, errors)


def tag(dataset: ray.data.Dataset, model: Model, text_col: str = "text", output_col: str = "entities",
        error_col: str = "error", scores: bool = False, min_score: float | None = None, batch_size: int = 256,
        backend: str = "auto", actors: int | None = None,
        canonical: Sequence[str | Path] | None = None) -> ray.data.Dataset:
    """``dataset`` with the entities of each row's ``text_col`` appended as ``output_col`` and
    its tagging error as ``error_col`` (lazily: nothing runs until the result is consumed).

    ``model`` is a model or ONNX file (a list: an ensemble) at a path every Ray worker can read.
    ``scores`` gives each entity its probability (else ``score`` is null); ``min_score`` (0 to 1)
    drops entities below it and implies ``scores``. ``batch_size`` rows go to the model at once.
    ``backend`` is as for Tagger.load; ``canonical`` brand lists (read here, sent to the actors)
    fill the entities' ``canonical``. ``actors`` is the most actors tagging at once, each one
    CPU and one copy of the model (default: the cluster's CPUs less one, kept for Ray Data's
    read and write tasks); as many start at once as that leaves room for. A ValueError for a
    bad argument, a missing ``text_col`` or an ``output_col``/``error_col`` already there.
    Rows come out in input order where Ray Data is told to keep it
    (``DataContext.get_current().execution_options.preserve_order``, as :func:`tag_files` does).
    Starts a local Ray (:func:`start_ray`) if none is running."""
    model = _model(model)
    check_arguments(text_col, output_col, error_col, scores, min_score, batch_size, backend, actors)
    schema = dataset.schema(fetch_if_missing=False)
    if schema is not None:  # else each batch is checked as it comes
        check_columns(schema.names, text_col, output_col, error_col, "dataset")
    names = CanonicalNames.read(canonical) if canonical else None
    start_ray()
    return dataset.map_batches(
        TagBatches, batch_format="pyarrow", batch_size=None, compute=_actor_pool(actors), num_cpus=1,
        fn_constructor_kwargs={"model": model, "text_col": text_col, "output_col": output_col, "error_col": error_col,
                               "scores": bool(scores or min_score is not None), "min_score": min_score,
                               "batch_size": batch_size, "backend": backend, "names": names})


def start_ray() -> None:
    """Connects to Ray if this process is not already: to the cluster at ``$RAY_ADDRESS`` if set
    (``auto``: the one ``ray start`` started on this machine), else to a new local Ray with
    brandner.cpus.available_cpus() CPUs for actors and one more for reading and writing. No
    dashboard, and the workers' output is not copied to this process's."""
    import ray

    if ray.is_initialized():
        return
    settings: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False, "include_dashboard": False}
    if os.environ.get("RAY_ADDRESS"):
        ray.init(**settings)  # ray.init reads RAY_ADDRESS itself; a cluster's CPUs are its own
    else:  # "local": not a cluster that someone's `ray start` left on this machine, which ray.init would join
        ray.init(address="local", num_cpus=available_cpus() + 1, **settings)


def tag_files(model: Model, input: str, output: str, *, input_format: str | None = None,
              output_format: str | None = None, text_col: str | None = None, scores: bool = False,
              min_score: float | None = None, batch_size: int = 256, backend: str = "auto",
              actors: int | None = None, canonical: Sequence[str] | None = None) -> int:
    """Tags the rows of ``input`` (a file, a folder or a URI) into the folder ``output`` and
    gives the number of rows written, in input order.

    Formats (``"parquet"``, ``"json"``: JSON lines, ``"text"``: one text per line, read as
    column ``text``, empty lines kept) are told by the names' suffixes unless given
    (rows.table_format); the output is Parquet or JSON lines, files as Ray writes them. The text
    column is ``text_col``, else ``text``, else ``string``. ``output`` is a local folder: written
    beside it as ``NAME.<pid>.<random>.partial`` and renamed into place once complete; a folder
    already there is replaced then, if it holds only files of the output format (an earlier
    output), else refused. Other arguments as for :func:`tag`. A BrandnerError (one line) for
    bad arguments or a failed job; no row fails it."""
    try:  # the CLI shows a BrandnerError as one line
        reading, writing = table_format(input, input_format), table_format(output, output_format)
        check_arguments(text_col or "text", "entities", "error", scores, min_score, batch_size, backend, actors)
        model = _model(model)
    except ValueError as error:
        raise BrandnerError(str(error)) from error
    if writing == "text":
        raise BrandnerError(f"{output}: entities are written as parquet or json, not text")
    target = _output_path(output, writing)
    if "://" not in input and not os.path.exists(input):
        raise BrandnerError(f"{input}: no such file or folder")
    if not os.environ.get("RAY_ADDRESS"):  # a local Ray: its workers see this file system
        for path in [model] if isinstance(model, str) else model:
            if not os.path.isfile(path):
                raise BrandnerError(f"{path}: no such model file")
    start_ray()
    import ray.data

    context = ray.data.DataContext.get_current()
    kept_order = context.execution_options.preserve_order
    context.execution_options.preserve_order = True
    try:
        dataset = _read(input, reading)
        schema = dataset.schema()
        if schema is None:
            raise BrandnerError(f"{input}: no rows to tag")
        try:
            tagged = tag(dataset, model, text_column(schema.names, text_col), scores=scores, min_score=min_score,
                         batch_size=batch_size, backend=backend, actors=actors, canonical=canonical)
        except ValueError as error:
            raise BrandnerError(f"{input}: {error}") from error
        with atomic_folder(target) as folder:
            if writing == "parquet":
                tagged.write_parquet(str(folder))
            else:
                tagged.write_json(str(folder), force_ascii=False)
    except ray.exceptions.RayError as error:
        hint = (" (Ray Data reads JSON lines as a table: a field must have one type on every line, the text "
                "a string or null, with no lone surrogate escape such as \\ud800)") if reading == "json" else ""
        raise BrandnerError(f"{input}: the Ray job failed: {_cause(error)}{hint}") from error
    finally:
        context.execution_options.preserve_order = kept_order
    return _rows_written(target, writing)


def _read(path: str, format: str) -> ray.data.Dataset:
    import ray.data

    if format == "parquet":
        return ray.data.read_parquet(path)
    if format == "json":
        return ray.data.read_json(path)
    return ray.data.read_text(path, drop_empty_lines=False)  # a row for each line, as `tag -i` gives


def _model(model: Model) -> str | tuple[str, ...]:
    """``model`` as Tagger.load takes it and rows.cached_tagger keys it: a path, or a tuple of them."""
    if isinstance(model, (str, Path)):
        return str(model)
    if not isinstance(model, Sequence) or not model or not all(isinstance(m, (str, Path)) for m in model):
        raise ValueError(f"model is a model file's path or a list of them, got {model!r}")
    return tuple(str(m) for m in model)


def _actor_pool(actors: int | None) -> ray.data.ActorPoolStrategy:
    """Up to ``actors`` actors, as many started at once as leave a CPU for the read and write tasks."""
    import ray
    import ray.data

    cpus = int(ray.cluster_resources().get("CPU", 0))
    if 0 < cpus < 2:
        raise ValueError(f"Ray has {cpus} CPU: an actor holding the model takes one and Ray Data's read and "
                         "write tasks need another, or the job waits forever; give Ray 2 CPUs or more")
    spare = max(1, cpus - 1)  # an autoscaling cluster may show no CPU yet: one actor, more as it grows
    most = actors or spare
    return ray.data.ActorPoolStrategy(min_size=min(most, spare), max_size=most)


def _output_path(output: str, format: str) -> Path:
    """The local folder ``output`` names (a path or a file:// URI), checked before any work."""
    if output.startswith("file://"):
        output = output[len("file://"):]
    elif "://" in output:
        raise BrandnerError(f"{output}: tag_files writes to a local folder (or a shared file system's); "
                            "for other storage, write brandner.ray.tag's dataset yourself")
    target = Path(output)
    if target.exists() and not target.is_dir():
        raise BrandnerError(f"{output}: is a file; Ray writes a folder of files, so give a folder's name")
    if target.is_dir() and any(not (p.is_file() and p.suffix == f".{format}") for p in target.iterdir()):
        raise BrandnerError(f"{output}: a folder that holds more than .{format} files; it would be "
                            "replaced, so give a new folder or an earlier output's")
    return target


def _rows_written(folder: Path, format: str) -> int:
    if format == "parquet":
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(path).metadata.num_rows for path in folder.glob("*.parquet"))
    total = 0
    for path in folder.glob("*.json"):
        with path.open("rb") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


def _cause(error: BaseException) -> str:
    """What failed in a Ray job, in one line: the innermost error's last line (Ray's errors carry
    the worker's traceback, which ends with the error itself)."""
    while isinstance(getattr(error, "cause", None), BaseException):
        error = error.cause  # type: ignore[attr-defined]
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if type(error).__module__.startswith("ray."):
        return lines[-1] if lines else type(error).__name__
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
