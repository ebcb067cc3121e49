"""The OpenAPI description of the HTTP API, true to what the server accepts and answers.

The request schema is the one :func:`brandner.serving.batcher.parse_request` enforces: the
same fields, types, limits and nullability, no other fields (``additionalProperties``). Two
rules have no JSON Schema keyword and are in the descriptions instead: the body's size in
bytes (``max_body_bytes``, 413) and strings holding half of a surrogate pair (422).
``tests/serving/test_schema.py`` checks the server against this with schemathesis.
"""

from __future__ import annotations

from typing import Any

from brandner.serving.batcher import Limits

ERROR = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}

ENTITY = {"type": "object", "required": ["word", "type", "start", "end"], "properties": {
    "word": {"type": "string", "description": "string[start:end]"},
    "type": {"type": "string"},
    "start": {"type": "integer", "minimum": 0, "description": "offset in code points"},
    "end": {"type": "integer", "minimum": 0, "description": "exclusive"},
    "score": {"type": "number", "minimum": 0, "maximum": 1,
              "description": "the entity's probability; only with scores or min_score"},
    "canonical": {"type": "string", "description": "the brand's canonical name, when the server's brand list "
                                                   "(serve --canonical) names the entity; absent otherwise"}}}

RESULTS = {"type": "object", "required": ["results"], "properties": {"results": {
    "type": "array", "description": "one result per text, in order",
    "items": {"type": "object", "required": ["string", "entities"], "properties": {
        "string": {"type": "string"}, "entities": {"type": "array", "items": ENTITY}}}}}}

MODEL = {"type": "object", "required": ["model", "version", "types", "scheme", "tags", "config", "canonical_names"],
         "properties": {
    "model": {"type": "string", "description": "the model file's name"},
    "version": {"type": "string", "description": "brandner's version"},
    "types": {"type": "array", "items": {"type": "string"}},
    "scheme": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "config": {"type": "object", "description": "the model's settings; word lists and gazetteers by file "
                                                 "name, without the directories they were read from"},
    "canonical_names": {"type": "integer", "minimum": 0,
                        "description": "how many spellings the server's brand lists (serve --canonical) map to "
                                       "canonical names; 0 without a list"}}}

HEALTH = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def tag_operation(limits: Limits) -> dict[str, Any]:
    """The OpenAPI operation fields of ``POST /v1/tag`` under ``limits`` (FastAPI's ``openapi_extra``)."""
    request = {"type": "object", "required": ["texts"], "additionalProperties": False, "properties": {
        "texts": {"type": "array", "maxItems": limits.max_texts,
                  "items": {"type": "string", "maxLength": limits.max_chars}},
        "scores": {"type": "boolean", "default": False, "description": "add each entity's probability as score"},
        "min_score": {"type": ["number", "null"], "minimum": 0, "maximum": 1, "default": None,
                      "description": "drop entities below this probability; implies scores"}}}
    return {
        "requestBody": {"required": True, "description": (
            f"UTF-8 JSON, sent as Content-Type: application/json, of at most max_body_bytes="
            f"{limits.max_body_bytes} bytes, arriving whole within timeout={limits.timeout:g} s; texts "
            "must not hold a \\u escape for half of a surrogate pair."),
            "content": {"application/json": {"schema": request,
                                             "example": {"texts": ["我买了特步鞋"], "scores": True}}}},
        "responses": {
            "200": _json("the entities of each text", RESULTS),
            "400": _json("the body is not JSON", ERROR),
            "408": _json("the body did not arrive whole within timeout; the connection is closed", ERROR),
            "413": _json("the body, the number of texts or a text's length is over its limit (named in "
                         "detail); over max_body_bytes, the connection is closed", ERROR),
            "415": _json("the body is not sent as application/json (in UTF-8); the connection is closed", ERROR),
            "422": _json("JSON of the wrong shape: a field missing, unknown or of the wrong type, min_score "
                         "outside 0..1, a lone surrogate", ERROR),
            "500": _json("tagging failed (that request only; the server carries on)", ERROR),
            "503": _json("the server is shutting down", ERROR)}}


def model_operation() -> dict[str, Any]:
    return {"responses": {"200": _json("the loaded model", MODEL)}}


def health_operation() -> dict[str, Any]:
    return {"responses": {"200": _json("the server is up", HEALTH)}}
