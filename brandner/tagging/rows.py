"""Tagging a batch of table rows, as Spark and Ray hand them over: the one function both
engines' adapters (brandner.spark, brandner.ray) call, so that they tag alike and fail alike.

A row's text may be anything a column holds. The rules:

- a string is tagged; its entities are ``{"word", "type", "start", "end", "score", "canonical"}``
  with ``score`` None unless asked for and ``canonical`` None unless a brand list names the
  entity (brandner.tagging.canonical), so that every row has one column type;
- a null, or anything that is not a string (a number, a list), gives no entities and no error;
- a string with lone surrogates (not Unicode, so not storable in Arrow or Parquet) is tagged
  with each replaced by U+FFFD: one code point for one, so offsets are unchanged;
- a text whose tagging fails gives null entities and the error as text, and the batch goes on.

The model is loaded once per process (:func:`cached_tagger`), not per batch or row: the engines
keep their Python workers (Spark reuses them, Ray's actors live as long as the job).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Sequence

from brandner.tagging.canonical import CanonicalNames
from brandner.tagging.tagger import BACKENDS, Tagger
from brandner.tagging.worker import torch_threads

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("brandner")

ENTITY_FIELDS = (("word", "string"), ("type", "string"), ("start", "int"), ("end", "int"), ("score", "double"),
                 ("canonical", "string"))
# The entity column's type in Spark SQL's notation; entity_arrow_type() is the same in Arrow.
ENTITIES_DDL = "array<struct<" + ",".join(f"{name}:{kind}" for name, kind in ENTITY_FIELDS) + ">>"

_taggers: dict[tuple, Tagger] = {}


def cached_tagger(model: str, **options: Any) -> Tagger:
    """This process's Tagger for ``model`` and ``options`` (as for :meth:`Tagger.load`), loaded at
    the first call and kept. An ONNX file never imports PyTorch; a model that runs in PyTorch
    gets ``options["threads"]`` torch threads too, where given (the engines run one process per
    core: more threads would fight over it)."""
    key = (model, tuple(sorted((name, repr(value)) for name, value in options.items())))
    if key not in _taggers:
        _taggers[key] = Tagger.load(model, **options)
        if options.get("threads"):
            torch_threads(options["threads"])
    return _taggers[key]


def tag_texts(tagger: Tagger, texts: Sequence[object], scores: bool = False, min_score: float | None = None,
              names: CanonicalNames | None = None) -> tuple[list[list[dict] | None], list[str | None]]:
    """For each of ``texts`` its entities (None where tagging failed) and its error (None where
    none), by the rules in the module's docstring; ``names`` gives entities their canonical names.
    One model call for the batch; only when that fails is each text tagged alone, to find which fail."""
    entities: list[list[dict] | None] = [[] for _ in texts]
    errors: list[str | None] = [None] * len(texts)
    index = [i for i, text in enumerate(texts) if isinstance(text, str) and text]
    strings = [_unicode(texts[i]) for i in index]  # type: ignore[arg-type]
    try:
        results = tagger.predict(strings, scores=scores, min_score=min_score)
    except Exception:  # noqa: BLE001 - a row's failure must not fail the job: find the rows
        results = []
        for i, text in zip(index, strings):
            try:
                results.append(tagger.predict(text, scores=scores, min_score=min_score))
            except Exception as error:  # noqa: BLE001
                log.warning("row %d of a batch failed to tag: %s", i, error)
                results.append(None)
                errors[i] = f"{type(error).__name__}: {error}"
    for i, result in zip(index, results):
        if result is not None and names is not None:
            names.annotate(result["entities"])
        entities[i] = None if result is None else [_entity(entity) for entity in result["entities"]]
    return entities, errors


def entity_arrow_type() -> "pa.DataType":
    """The entity column's Arrow type: list<struct<word, type, start: int32, end: int32, score: float64, canonical>>."""
    import pyarrow as pa

    kinds = {"string": pa.string(), "int": pa.int32(), "double": pa.float64()}
    return pa.list_(pa.struct([(name, kinds[kind]) for name, kind in ENTITY_FIELDS]))


def tag_arrow(tagger: Tagger, texts: "pa.Array | pa.ChunkedArray", scores: bool = False,
              min_score: float | None = None, names: CanonicalNames | None = None) -> tuple["pa.Array", "pa.Array"]:
    """:func:`tag_texts` over an Arrow column: the entity column and the error column (strings)."""
    import pyarrow as pa

    entities, errors = tag_texts(tagger, texts.to_pylist(), scores, min_score, names)
    return pa.array(entities, type=entity_arrow_type()), pa.array(errors, type=pa.string())


def _unicode(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (same length, same offsets)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def _entity(entity: dict) -> dict:
    return {"word": entity["word"], "type": entity["type"], "start": entity["start"], "end": entity["end"],
            "score": entity.get("score"), "canonical": entity.get("canonical")}


TABLE_FORMATS = ("parquet", "json", "text")
_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".json": "json", ".jsonl": "json", ".ndjson": "json",
             ".txt": "text", ".text": "text"}


def table_format(path: str, given: str | None) -> str:
    """The format of the engines' input or output ``path`` (a file, a folder or a URI):
    ``given`` if not None, else told by the suffix (``.parquet``/``.pq``, ``.json``/``.jsonl``/
    ``.ndjson``: JSON lines, ``.txt``: one text per line), else a ValueError asking for it."""
    if given is not None:
        if given not in TABLE_FORMATS:
            raise ValueError(f"format must be one of {', '.join(TABLE_FORMATS)}, got {given!r}")
        return given
    suffix = "." + path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix not in _SUFFIXES:
        raise ValueError(f"{path}: cannot tell its format from the name; say it "
                         f"({', '.join(TABLE_FORMATS)})")
    return _SUFFIXES[suffix]


def text_column(columns: Sequence[str], given: str | None) -> str:
    """The column to tag: ``given``, else ``text``, else ``string`` (as ``tag -i`` reads JSON
    lines); a ValueError naming the columns when it is not there."""
    for name in [given] if given else ["text", "string"]:
        if name in columns:
            return name
    wanted = repr(given) if given else "'text' or 'string'"
    raise ValueError(f"no column {wanted} to tag; the columns are {', '.join(columns) or 'none'}")


def check_arguments(text_col: str, output_col: str, error_col: str, scores: bool, min_score: float | None,
                    batch_size: int, backend: str, actors: int | None = None) -> None:
    """The engines' common arguments, checked on the driver before any job: a ValueError naming
    the first that is wrong."""
    columns = (text_col, output_col, error_col)
    if not all(isinstance(c, str) and c for c in columns) or len(set(columns)) < 3:
        raise ValueError(f"text_col, output_col and error_col are three different column names, got {columns}")
    if not isinstance(scores, bool):
        raise ValueError(f"scores must be True or False, got {scores!r}")
    if min_score is not None and (isinstance(min_score, bool) or not isinstance(min_score, (int, float))
                                  or not 0 <= min_score <= 1):
        raise ValueError(f"min_score must be a probability between 0 and 1, got {min_score!r}")
    for name, value in (("batch_size", batch_size), ("actors", actors)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a whole number at least 1, got {value!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")


def check_columns(names: Sequence[str], text_col: str, output_col: str, error_col: str, table: str) -> None:
    """A ValueError unless ``names`` (the columns of a ``table``: "DataFrame", "dataset") hold
    ``text_col`` and neither of the columns to add."""
    text_column(names, text_col)
    for name in (output_col, error_col):
        if name in names:
            raise ValueError(f"the {table} has a column {name!r} already; name the output otherwise "
                             "(output_col, error_col)")
