"""The HTTP service: ``POST /v1/tag``, ``GET /v1/model``, ``GET /healthz``, a web page at ``/``.

Request and response, in the format of ``brandner tag``::

    POST /v1/tag  {"texts": ["我买了特步鞋"], "scores": false, "min_score": null}
    200           {"results": [{"string": "我买了特步鞋", "entities": [{"word": "特步", "type": "SHOE",
                                                                   "start": 3, "end": 5}]}]}

``scores`` adds each entity's probability as ``"score"``; ``min_score`` (implies
scores) drops entities below it. Errors are JSON ``{"detail": message}``: 400 for a
body that is not JSON, 413 for a body, text count or text length over its limit
(the message names the limit), 422 for JSON of the wrong shape, 500 when tagging
fails (that request only; the server carries on). Concurrent requests are tagged in
shared batches (see :mod:`brandner.serving.batcher`).
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from pathlib import Path
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

import brandner
from brandner.serving.batcher import ApiError, Limits, MicroBatcher, parse_request
from brandner.tagging import worker
from brandner.tagging.tagger import Tagger


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    too_big = ApiError(413, f"the request body is over the limit of max_body_bytes={limit}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def model_info(tagger: Tagger, name: str) -> dict:
    """What ``GET /v1/model`` says about the loaded model."""
    return {"model": name, "version": brandner.__version__, "types": tagger.types,
            "scheme": tagger.encoder.scheme.name, "tags": list(tagger.encoder.tags),
            "config": dataclasses.asdict(tagger.config)}


def page() -> str:
    """The self-contained web page served at ``/``."""
    return resources.files("brandner.serving").joinpath("web/index.html").read_text(encoding="utf-8")


def create_app(tagger: Tagger, limits: Limits = Limits(), name: str = "model",
               model_file: str | Path | None = None, threads: int | None = None) -> FastAPI:
    """The FastAPI application serving ``tagger``.

    Without ``model_file``, ``tagger`` tags in a thread of this process. With it (the file
    ``tagger`` was loaded from), a child process loads the file and tags, with ``threads``
    torch threads: the model's Python work (segmentation, encoding, decoding) then never
    holds this process's GIL while the event loop has requests to read and answer.
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
                                       partial(worker.load_ignoring_interrupts, str(model_file), threads))

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
        return JSONResponse({"detail": error.message}, status_code=error.status)

    @app.post("/v1/tag", openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object", "required": ["texts"], "properties": {
            "texts": {"type": "array", "items": {"type": "string", "maxLength": limits.max_chars},
                      "maxItems": limits.max_texts},
            "scores": {"type": "boolean", "default": False},
            "min_score": {"type": "number", "minimum": 0, "maximum": 1}}},
        "example": {"texts": ["我买了特步鞋"], "scores": True}}}}})
    async def tag_texts(request: Request) -> JSONResponse:
        """Tag texts; results in input order, in the format of ``brandner tag``."""
        texts, scores, min_score = parse_request(await read_body(request, limits.max_body_bytes), limits)
        results = await request.app.state.batcher.submit(texts, scores)
        if min_score is not None:
            results = [{**r, "entities": [e for e in r["entities"] if e["score"] >= min_score]} for r in results]
        return JSONResponse({"results": results})

    @app.get("/v1/model")
    async def describe() -> dict:
        """The loaded model: entity types, tag scheme, configuration, brandner version."""
        return info

    @app.get("/healthz")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(html)

    return app


def load_app(model: str | Path, limits: Limits = Limits(), threads: int | None = None) -> FastAPI:
    """Load a model file (here for its description, and to fail early on a bad file) and
    build its app, tagging in a child process with ``threads`` torch threads."""
    return create_app(Tagger.load(model), limits, Path(model).name, model_file=model, threads=threads)


SETTINGS_VARIABLE = "BRANDNER_SERVE_SETTINGS"


def app_from_environment() -> FastAPI:
    """The app factory uvicorn's worker processes call (``--workers N``): settings come as
    JSON in ``$BRANDNER_SERVE_SETTINGS``, written by ``brandner serve``."""
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    return load_app(settings["model"], Limits(**settings["limits"]), settings.get("threads"))
