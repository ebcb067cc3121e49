"""Label Studio's shapes: reading its exports, writing tasks it imports (annotated sentences, or a
model's entities as predictions, i.e. pre-annotations).

Label Studio's labelling config names the text (``<Text name="text" value="$text"/>``) and
the labels control (``<Labels name="label" toName="text">``); a result refers to both by those
names (``to_name`` and ``from_name``), and the task keeps the text in ``data`` under the
config's ``$text``. Offsets are characters (code points, as Python counts: an emoji is one,
``\\r\\n`` two), ``end`` exclusive, as in brandner's own output.

An export is a JSON array of tasks (pretty-printed or not) or one task a line::

    [{"id": 12, "data": {"text": "我买了特步鞋"},
      "annotations": [{"id": 3, "was_cancelled": false, "updated_at": "2024-05-01T10:00:00Z",
                       "result": [{"id": "a1", "from_name": "label", "to_name": "text", "type": "labels",
                                   "value": {"start": 3, "end": 5, "text": "特步", "labels": ["SHOE"]}}]}],
      "predictions": []}]

Reading, a task gives one sentence, from its latest annotation that is not cancelled (latest by
``updated_at``, else ``created_at``; when an annotation has neither, the last one in the list).
A task without one (not annotated yet, or every annotation cancelled) is skipped and counted;
an annotation with an empty result is a sentence without entities. Predictions are not read:
they are a model's, not an annotator's. Results of other types than ``labels`` are ignored; a
region with several labels is one entity per label on the same characters, so the overlap policy
decides (``error`` by default). ``value.text``, when given, must be the text at ``start:end``.
The text is ``data[to_name]`` of the labels results when ``data`` has that key, else
``data["text"]``, else the only string in ``data``. Errors name the task, by its ``id`` (else its
place in the file), at the line where it starts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Iterable, Mapping

from brandner.data.records import (
    OVERLAP_POLICIES,
    ReadResult,
    check_choice,
    checked_object,
    checked_span,
    json_record,
    json_values,
    warn_dropped,
    without_overlaps,
)
from brandner.data.sentence import Sentence, Span
from brandner.errors import InputFileError, quote

FROM_NAME = "label"
TO_NAME = "text"
TEXT_KEY = "text"  # where a task written here keeps its text: data["text"], the template's $text
log = logging.getLogger("brandner")

# ---------------------------------------------------------------- writing


def result(entity: Mapping, index: int, from_name: str = FROM_NAME, to_name: str = TO_NAME) -> dict:
    """One Label Studio ``labels`` result for one of brandner's entity dicts
    (``word``, ``type``, ``start``, ``end``, optional ``score``); ``index`` makes its id."""
    item = {"id": f"e{index}", "from_name": from_name, "to_name": to_name, "type": "labels",
            "value": {"start": entity["start"], "end": entity["end"], "text": entity["word"],
                      "labels": [entity["type"]]}}
    if entity.get("score") is not None:
        item["score"] = entity["score"]
    return item


def prediction(entities: Iterable[Mapping], model_version: str, score: float | None = None,
               from_name: str = FROM_NAME, to_name: str = TO_NAME) -> dict:
    """A Label Studio prediction from brandner's entities: ``{"model_version", "score",
    "result": [...]}``. ``score`` (the whole text's confidence, 0..1) is left out when None;
    Label Studio sorts and filters tasks by it."""
    made: dict = {"model_version": model_version,
                  "result": [result(e, i, from_name, to_name) for i, e in enumerate(entities)]}
    if score is not None:
        made["score"] = score
    return made


def model_version(paths: Iterable[str | Path]) -> str:
    """What a prediction says made it: the model file's name without its suffix (``+`` between
    an ensemble's)."""
    return "+".join(Path(path).stem for path in paths)


def annotated_task(sentence: Sentence) -> dict:
    """A task holding an annotated sentence: ``{"data": {"text"}, "annotations": [{"result": [...]}]}``;
    a sentence without entities has an annotation with an empty result (annotated: nothing there)."""
    entities = [span.to_dict(sentence.text) for span in sentence.spans]
    return {"data": {TEXT_KEY: sentence.text},
            "annotations": [{"result": [result(e, i) for i, e in enumerate(entities)]}]}


def predicted_task(tagged: Mapping, model_version: str) -> dict:
    """A task holding one of ``brandner tag``'s output records (``{"string", "entities", ...}``)
    as a prediction for Label Studio to show as pre-annotations: ``{"data": {"text", ...},
    "predictions": [{"model_version", "score", "result"}]}``. The record's other fields go into
    ``data``. The prediction's score is the lowest entity score: left out when the entities have
    no scores (tagged without ``--scores``) or there is no entity."""
    entities = tagged["entities"]
    scores = [entity.get("score") for entity in entities]
    score = min(scores) if scores and None not in scores else None
    data = {key: value for key, value in tagged.items() if key not in ("string", "entities")}
    data[TEXT_KEY] = tagged["string"]
    return {"data": data, "predictions": [prediction(entities, model_version, score)]}


def write_json_array(items: Iterable[str], out: IO[str]) -> int:
    """Write these JSON texts to ``out`` as a JSON array, one a line, ``[`` and ``]`` on lines of
    their own (``[\\n]\\n`` for none), so that an error in the file names a task's line; returns
    how many were written. The array is closed even when ``items`` raises, so that the items
    before the error are a file Label Studio reads."""
    out.write("[")
    separator, count = "\n", 0
    try:
        for count, item in enumerate(items, start=1):
            out.write(separator + item)
            separator = ",\n"
    finally:
        out.write("\n]\n")
    return count


# ---------------------------------------------------------------- reading


def parse_labelstudio(lines: Iterable[str], path: str = "<lines>", overlaps: str = "error") -> ReadResult:
    """Sentences from the lines of a Label Studio export (see the module docstring): a JSON array
    when the first character that is not blank is ``[``, else one task a line."""
    check_choice("overlap policy", overlaps, OVERLAP_POLICIES)
    lines = list(lines)
    whole = "\n".join(lines)
    if whole.lstrip(" \t\r\n").startswith("["):
        tasks = ((checked_object(value, source, path, line), line) for value, source, line in json_values(whole, path))
    else:
        tasks = ((json_record(line, path, number), number) for number, line in enumerate(lines, start=1)
                 if line.strip())
    sentences: list[Sentence] = []
    dropped = skipped = 0
    for place, (task, line) in enumerate(tasks, start=1):
        found = _task_spans(task, _task_name(task, place), path, line)
        if found is None:
            skipped += 1
            continue
        text, spans = found
        kept = without_overlaps(text, spans, overlaps, path, line, where=f"{_task_name(task, place)}: ")
        dropped += len(spans) - len(kept)
        sentences.append(Sentence(text, tuple(kept)))
    warn_dropped(path, dropped)
    if skipped:
        log.info("%s: skipped %d tasks without an annotation (not annotated, or every annotation cancelled)",
                 path, skipped)
    return ReadResult(sentences, dropped=dropped, skipped=skipped)


def task_document(task: dict, path: str, line: int, place: int | None = None) -> tuple[str, dict]:
    """A task's text and the other fields of its ``data``, to tag the task again. The text is
    found as for reading, by the ``to_name`` of its annotations' or predictions' labels results;
    ``place`` (the task's place in the file, if known) names a task without an ``id`` in errors."""
    where, at = _task_name(task, place), (path, line)
    data = _task_data(task, where, at)
    made = [item for group in ("annotations", "predictions") if isinstance(task.get(group), list)
            for item in task[group] if isinstance(item, dict)]
    labelled = [result for item in made if isinstance(item.get("result"), list) for result in item["result"]
                if isinstance(result, dict) and result.get("type") == "labels"]
    key = _text_key(data, labelled, where, at)
    return data[key], {name: value for name, value in data.items() if name != key}


def _task_name(task: dict, place: int | None) -> str:
    if "id" in task:
        return f"task {quote(task['id'])}"
    return f"task number {place} (no id)" if place is not None else "task (no id)"


def _task_spans(task: dict, where: str, path: str, line: int) -> tuple[str, list[Span]] | None:
    """The text and spans of a task's latest annotation that is not cancelled; None without one."""
    at = (path, line)
    data = _task_data(task, where, at)
    annotation = _latest_annotation(task.get("annotations"), where, at)
    if annotation is None:
        return None
    results = annotation.get("result", [])
    if not isinstance(results, list):
        raise InputFileError(*at, f"{where}: an annotation's 'result' must be a list")
    labelled = []
    for k, item in enumerate(results, start=1):
        if not isinstance(item, dict):
            raise InputFileError(*at, f"{where}: result {k} is not an object")
        if item.get("type") == "labels":
            labelled.append((f"{where}, result {quote(item.get('id', k))}", item))
    text = data[_text_key(data, [item for _, item in labelled], where, at)]
    spans = [span for name, item in labelled for span in _result_spans(item, text, name, at)]
    return text, spans


def _latest_annotation(annotations: object, where: str, at: tuple[str, int]) -> dict | None:
    if annotations is None:
        return None
    if not isinstance(annotations, list):
        raise InputFileError(*at, f"{where}: 'annotations' must be a list")
    usable = []
    for annotation in annotations:
        if not isinstance(annotation, dict):
            raise InputFileError(*at, f"{where}: an annotation is not an object")
        if not annotation.get("was_cancelled"):
            usable.append(annotation)
    if not usable:
        return None
    stamps = [_stamp(annotation) for annotation in usable]
    if None in stamps:
        return usable[-1]
    # the latest; of two at the same time, the later in the list
    return usable[max(range(len(usable)), key=lambda i: (stamps[i], i))]


def _stamp(annotation: dict) -> datetime | None:
    """When an annotation was last changed (``updated_at``, else ``created_at``), None if unknown."""
    value = annotation.get("updated_at") or annotation.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _task_data(task: dict, where: str, at: tuple[str, int]) -> dict:
    data = task.get("data")
    if not isinstance(data, dict):
        raise InputFileError(*at, f"{where}: 'data' must be an object holding the text, got {quote(data)}")
    return data


def _text_key(data: dict, labelled: list[dict], where: str, at: tuple[str, int]) -> str:
    """The key of ``data`` that holds the text the ``labelled`` results refer to (a string)."""
    names = sorted({name for item in labelled if isinstance(name := item.get("to_name"), str) and name in data})
    if len(names) > 1:
        raise InputFileError(*at, f"{where}: results label {len(names)} texts, {quote(names)}; brandner reads one")
    if names:
        key = names[0]
    elif TEXT_KEY in data:
        key = TEXT_KEY
    else:
        strings = [key for key, value in data.items() if isinstance(value, str)]
        if len(strings) != 1:
            raise InputFileError(*at, f"{where}: no 'text' in 'data' and {len(strings)} string fields, "
                                      f"{quote(strings)}: which is the text cannot be told")
        key = strings[0]
    if not isinstance(data[key], str):
        raise InputFileError(*at, f"{where}: data field {quote(key)} must be a string, got {quote(data[key])}")
    return key


def _result_spans(item: dict, text: str, where: str, at: tuple[str, int]) -> list[Span]:
    value = item.get("value")
    if not isinstance(value, dict):
        raise InputFileError(*at, f"{where}: 'value' must be an object {{start, end, text, labels}}")
    labels = value.get("labels")
    if not (isinstance(labels, list) and labels):
        raise InputFileError(*at, f"{where}: 'labels' must be a non-empty list of types, got {quote(labels)}")
    return [checked_span(text, value.get("start"), value.get("end"), label, value.get("text"), where, at,
                         word_name="'text'") for label in labels]
