"""Label Studio's ML-backend protocol: a Label Studio project connected to ``brandner serve``
(Settings -> Model -> Connect model, URL ``http://host:port``) gets brandner's entities as
predictions ("live pre-annotation").

The routes and shapes are those of the ``label-studio-ml`` package's server
(``label_studio_ml/api.py``), which Label Studio's client (``label_studio/ml/api_connector.py``)
calls::

    GET  /health   -> {"status": "UP", "model_class": "brandner", "model_version": "ecommerce"}
    POST /setup    {"project": "1.1700000000", "schema": "<View>...</View>", "hostname": ...,
                    "access_token": ..., "extra_params": ...}  -> {"model_version": "ecommerce"}
    POST /predict  {"tasks": [{"id": 1, "data": {"text": "我买了特步鞋"}, ...}], "project": ...,
                    "label_config": "<View>...</View>", "params": {...}}
                -> {"results": [{"model_version": ..., "score": 0.97, "result": [{"from_name": "label",
                    "to_name": "text", "type": "labels", "value": {"start": 3, "end": 5, "text": "特步",
                    "labels": ["SHOE"]}, "score": 0.97, "id": "e0"}]}]}
    POST /webhook  Label Studio's events: answered 200 and ignored; START_TRAINING 501
    POST /train    501: brandner serve does not train
    GET  /metrics  -> {}

``GET /`` stays brandner's web page: Label Studio calls ``/health``, never ``/``.

The labelling config says where predictions go: the first ``<Labels>`` control whose ``toName``
names a ``<Text>`` object with ``value="$key"`` gives ``from_name`` (the control's name),
``to_name`` (the Text's name) and the task data key whose string is tagged (``data[key]``).
Entities whose type is not one of that control's ``<Label value=...>`` are left out: Label Studio
refuses labels its config lacks. A prediction's ``score`` is the lowest score of the entities it
holds (1.0 when it holds none): how sure the model is of the least sure thing it marked, for
Label Studio to sort tasks by; it says nothing of entities the model missed. Unknown request fields
are ignored (Label Studio adds some between versions). Refused: a config with a DTD or entity
declarations (an untrusted request must not make the server expand entities), a config with no
such Labels/Text pair, a task whose ``data[key]`` is not a string (the whole request: 422 naming
the task, rather than an empty prediction that would pass for "no entities").
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from brandner.data.labelstudio import prediction
from brandner.serving.batcher import ApiError, Limits, check_text, load_json
from brandner.serving.request import check_media_type, read_body, unless_gone

NOT_TRAINING = ("brandner serve does not train: train a model with `brandner train` on the exported "
                "annotations and restart the server with it")


@dataclasses.dataclass(frozen=True)
class LabelConfig:
    """Where a project's predictions go: the ``<Labels>`` control's name (``from_name``), the
    ``<Text>`` object's name (``to_name``), the task data key of the text and the control's labels."""

    from_name: str
    to_name: str
    data_key: str
    labels: frozenset[str]


class _Refused(Exception):
    """A label config that declares a DTD or entities."""


def _xml(config: str) -> ElementTree.Element:
    """The config's element tree, parsed by expat with DTDs (and so entity declarations) refused
    as soon as they start; ApiError 422 for anything that is not plain XML."""
    parser = expat.ParserCreate()
    builder = ElementTree.TreeBuilder()

    def refuse(*_: Any) -> None:
        raise _Refused

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    try:
        parser.Parse(config, True)
    except _Refused:
        raise ApiError(422, "the label config declares a DTD or entities; they are not accepted") from None
    except expat.ExpatError as error:
        raise ApiError(422, f"the label config is not XML: {error}") from None
    return builder.close()


def _named(element: ElementTree.Element, tag: str) -> bool:
    return element.tag.lower() == tag and bool(element.get("name"))


def parse_label_config(config: str) -> LabelConfig:
    """The first ``<Labels>`` control of a Label Studio labelling config (XML) that labels a
    ``<Text value="$key">``, e.g. ``<View><Labels name="label" toName="text"><Label value="SHOE"/>
    </Labels><Text name="text" value="$text"/></View>``; ApiError 422 saying what is missing."""
    root = _xml(config)
    texts = {e.get("name"): e.get("value", "")[1:] for e in root.iter() if _named(e, "text")
             and e.get("value", "").startswith("$") and e.get("valueType", "text").lower() != "url"}
    for control in root.iter():
        if not _named(control, "labels"):
            continue
        targets = [name.strip() for name in control.get("toName", "").split(",") if name.strip() in texts]
        if targets:
            labels = frozenset(e.get("value") for e in control.iter() if e.tag.lower() == "label" and e.get("value"))
            return LabelConfig(control.get("name"), targets[0], texts[targets[0]], labels)
    raise ApiError(422, 'the label config has no <Labels name=... toName=...> control for a <Text name=... '
                        'value="$key"/> object (brandner predicts labelled spans of text)')


def _object(body: bytes, what: str) -> dict:
    data = load_json(body)
    if not isinstance(data, dict):
        raise ApiError(422, f"the {what} body must be a JSON object")
    return data


def _label_config(data: dict, field: str) -> LabelConfig:
    """The parsed label config in ``data[field]`` (Label Studio sends it as ``schema`` to /setup,
    as ``label_config`` to /predict)."""
    if not isinstance(data.get(field), str):
        raise ApiError(422, f'"{field}" must be the project\'s label config, a string of XML')
    return parse_label_config(data[field])


def parse_predict(body: bytes, limits: Limits) -> tuple[LabelConfig, list[str]]:
    """The config and the texts, in task order, of a ``/predict`` body; ApiError naming the
    problem (413 over a limit, 422 otherwise, naming the task by index and id)."""
    data = _object(body, "/predict")
    config = _label_config(data, "label_config")
    tasks = data.get("tasks")
    if not isinstance(tasks, list):
        raise ApiError(422, '"tasks" must be a list of Label Studio tasks like {"id": 1, "data": {...}}')
    if len(tasks) > limits.max_texts:
        raise ApiError(413, f"{len(tasks)} tasks in one request; the limit is max_texts={limits.max_texts}")
    texts = []
    for i, task in enumerate(tasks):
        text = task.get("data") if isinstance(task, dict) else None
        text = text.get(config.data_key) if isinstance(text, dict) else None
        where = f"tasks[{i}] (id {json.dumps(task.get('id') if isinstance(task, dict) else None)})"
        if not isinstance(text, str):
            raise ApiError(422, f'{where} has no string data["{config.data_key}"], which the label config\'s '
                                f'<Text name="{config.to_name}" value="${config.data_key}"> shows')
        check_text(text, limits, f'{where} data["{config.data_key}"]')
        texts.append(text)
    return config, texts


def predictions(results: list[dict], config: LabelConfig, model_version: str) -> list[dict]:
    """One Label Studio prediction per tagged text (results of :meth:`Tagger.predict` with scores),
    keeping the entities whose type is one of the config's labels."""
    made = []
    for result in results:
        entities = [entity for entity in result["entities"] if entity["type"] in config.labels]
        score = min((entity["score"] for entity in entities), default=1.0)
        made.append(prediction(entities, model_version, score, config.from_name, config.to_name))
    return made


def router(limits: Limits, model_version: str, types: list[str]) -> APIRouter:
    """The ML-backend routes for a model of entity ``types``, reported as ``model_version``;
    ``/predict`` tags through the app's batcher (``request.app.state.batcher``) within ``limits``."""
    routes = APIRouter(include_in_schema=False)  # Label Studio's protocol, documented there and above

    async def body_of(request: Request, what: str) -> dict:
        check_media_type(request)
        return _object(await read_body(request, limits), what)

    @routes.get("/health")
    async def health() -> dict:
        return {"status": "UP", "model_class": "brandner", "model_version": model_version}

    @routes.get("/metrics")
    async def metrics() -> dict:
        return {}

    @routes.post("/setup")
    async def setup(request: Request) -> dict:
        config = _label_config(await body_of(request, "/setup"), "schema")
        if not config.labels & set(types):
            raise ApiError(422, f"none of the model's entity types ({', '.join(types)}) is a <Label value=...> of "
                                f'<Labels name="{config.from_name}">: add them to the label config')
        return {"model_version": model_version}

    @routes.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        check_media_type(request)
        config, texts = parse_predict(await read_body(request, limits), limits)
        results = await unless_gone(request, request.app.state.batcher.submit(texts, True), len(texts))
        return JSONResponse({"results": predictions(results, config, model_version)})

    @routes.post("/webhook")
    async def webhook(request: Request) -> dict:
        action = (await body_of(request, "/webhook")).get("action")
        if action == "START_TRAINING":
            raise ApiError(501, NOT_TRAINING)
        return {"status": "ignored", "action": action if isinstance(action, str) else None}

    @routes.post("/train")
    async def train() -> None:
        raise ApiError(501, NOT_TRAINING)

    return routes
