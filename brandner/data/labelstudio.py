"""Label Studio's shapes: a model's entities as a Label Studio prediction (pre-annotation).

Label Studio's labelling config names the text (``<Text name="text" value="$text"/>``) and
the labels control (``<Labels name="label" toName="text">``); a prediction's results refer
to both by those names (``to_name`` and ``from_name``). Offsets are characters (code
points), ``end`` exclusive, as in brandner's own output.
"""

from __future__ import annotations

from typing import Iterable, Mapping

FROM_NAME = "label"
TO_NAME = "text"


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
