"""The HTTP service: ``POST /v1/tag``, ``GET /v1/model``, ``GET /healthz``, a web page at ``/``,
and Label Studio's ML-backend protocol (``/health``, ``/setup``, ``/predict``...: see
:mod:`brandner.serving.labelstudio`).

Request and response, in the format of ``brandner tag``::

    POST /v1/tag  {"texts": ["我买了特步鞋"], "scores": false, "min_score": null}
    200           {"results": [{"string": "我买了特步鞋", "entities": [{"word": "特步", "type": "SHOE",
                                                                   "start": 3, "end": 5}]}]}

``scores`` adds each entity's probability as ``"score"``; ``min_score`` (implies
scores) drops entities below it. Errors are JSON ``{"detail": message}``: 400 for a
body that is not JSON, 408 for a body not whole within ``timeout``, 413 for a body, text
count or text length over its limit (the message names the limit), 415 for a body not sent
as ``application/json`` (so a form on another site cannot make a local server tag), 422 for
JSON of the wrong shape, 500 when tagging fails (that request only; the server carries on).
A refusal made before the body was read (408, 413 by ``Content-Length``, 415) closes the
connection. Concurrent requests are tagged in shared batches (see
:mod:`brandner.serving.batcher`); a client that disconnects is one log line, and its texts
leave the queue. The OpenAPI description is :mod:`brandner.serving.schema`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from pathlib import Path, PureWindowsPath
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

import brandner
from brandner.config import ModelConfig
from brandner.data.labelstudio import model_version
from brandner.serving import labelstudio, schema
from brandner.serving.batcher import ApiError, Limits, MicroBatcher, parse_request
from brandner.serving.request import ClientGone, check_media_type, read_body, unless_gone
from brandner.tagging import worker
from brandner.tagging.tagger import Tagger

log = logging.getLogger(__name__)


def _file_name(path: str) -> str:
    """A path's last part, whichever separator it has (a model may have been trained on Windows)."""
    return PureWindowsPath(path).name or path


def public_config(config: ModelConfig) -> dict[str, Any]:
    """The model's settings with word lists and gazetteers by file name: the directories of the
    machine that trained it are none of a client's business."""
    return {**dataclasses.asdict(config), "lexicon": [_file_name(source) for source in config.lexicon],
            "gazetteers": [f"{type_}={_file_name(path)}" for type_, paths in config.gazetteer_lists.items()
                           for path in paths]}


def model_info(tagger: Tagger, name: str) -> dict:
    """What ``GET /v1/model`` says about the loaded model."""
    return {"model": name, "version": brandner.__version__, "types": tagger.types,
            "scheme": tagger.encoder.scheme.name, "tags": list(tagger.encoder.tags),
            "config": public_config(tagger.config), "canonical_names": len(tagger.canonical or ())}


def page() -> str:
    """The self-contained web page served at ``/``."""
    return resources.files("brandner.serving").joinpath("web/index.html").read_text(encoding="utf-8")


def create_app(tagger: Tagger, limits: Limits = Limits(), name: str = "model",
               model_file: str | Path | None = None, threads: int | None = None,
               canonical: list[str] | None = None, device: str = "cpu") -> FastAPI:
    """The FastAPI application serving ``tagger``.

    Without ``model_file``, ``tagger`` tags in a thread of this process. With it (the file
    ``tagger`` was loaded from), a child process loads the file and tags, with ``threads``
    torch threads: the model's Python work (segmentation, encoding, decoding) then never
    holds this process's GIL while the event loop has requests to read and answer; it reads
    the ``canonical`` brand lists ``tagger`` was given, and computes the tag scores on ``device``
    (:meth:`Tagger.load`'s).
    """
    if model_file is None:
        def tag(texts: list[str], scores: bool) -> list[dict]:
            return tagger.predict(texts, scores=scores)

        def executor() -> Executor:
            return ThreadPoolExecutor(1, thread_name_prefix="brandner-tag")
    else:
        tag = worker.predict

        def executor() -> Executor:
            return ProcessPoolExecutor(1, multiprocessing.get_context("spawn"),
                                       partial(worker.load_ignoring_interrupts, str(model_file), threads,
                                               canonical=canonical, device=device))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.batcher = MicroBatcher(tag, limits.max_batch, limits.max_wait_ms, executor)
        app.state.batcher.start()
        yield
        await app.state.batcher.stop()

    app = FastAPI(title="brandner", version=brandner.__version__, lifespan=lifespan,
                  description="Brand and named-entity recognition for Chinese text.")
    info = model_info(tagger, name)
    html = page()

    @app.exception_handler(ApiError)
    async def refuse(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse({"detail": error.message}, status_code=error.status,
                            headers={"Connection": "close"} if error.close else None)

    @app.exception_handler(ClientGone)
    async def gone(request: Request, error: ClientGone) -> Response:
        peer = f"{request.client.host}:{request.client.port}" if request.client else "a client"
        log.info("%s disconnected %s", peer, error)
        return Response(status_code=499)  # never sent: no one is there to read it

    @app.post("/v1/tag", openapi_extra=schema.tag_operation(limits))
    async def tag_texts(request: Request) -> JSONResponse:
        """Tag texts; results in input order, in the format of ``brandner tag``."""
        check_media_type(request)
        texts, scores, min_score = parse_request(await read_body(request, limits), limits)
        results = await unless_gone(request, request.app.state.batcher.submit(texts, scores), len(texts))
        if min_score is not None:
            results = [{**r, "entities": [e for e in r["entities"] if e["score"] >= min_score]} for r in results]
        return JSONResponse({"results": results})

    @app.get("/v1/model", openapi_extra=schema.model_operation())
    async def describe() -> dict:
        """The loaded model: entity types, tag scheme, configuration, brandner version."""
        return info

    @app.get("/healthz", openapi_extra=schema.health_operation())
    async def health() -> dict:
        return {"status": "ok"}

    # Label Studio's ML-backend protocol; the version named as `select` and `tag --to labelstudio` name it,
    # so that Label Studio does not predict again the tasks imported with their predictions
    app.include_router(labelstudio.router(limits, model_version([name]), tagger.types))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(html)

    return app


def load_app(model: str | Path, limits: Limits = Limits(), threads: int | None = None,
             canonical: list[str] | None = None, device: str = "cpu") -> FastAPI:
    """Load a model file (here for its description, and to fail early on a bad file or brand
    list) and build its app, tagging in a child process with ``threads`` torch threads, on
    ``device`` (checked here first); entities the ``canonical`` brand lists name get ``"canonical"``."""
    if device != "cpu":
        from brandner.model.device import resolve_device

        resolve_device(device)  # no GPU: the error now, not from the tagging process
    return create_app(Tagger.load(model, canonical=canonical), limits, Path(model).name, model_file=model,
                      threads=threads, canonical=canonical, device=device)


SETTINGS_VARIABLE = "BRANDNER_SERVE_SETTINGS"


def app_from_environment() -> FastAPI:
    """The app factory uvicorn's worker processes call (``--workers N``): settings come as
    JSON in ``$BRANDNER_SERVE_SETTINGS``, written by ``brandner serve``."""
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    return load_app(settings["model"], Limits(**settings["limits"]), settings.get("threads"), settings.get("canonical"),
                    settings.get("device", "cpu"))
