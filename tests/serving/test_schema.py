"""The HTTP API against its own OpenAPI description, and fuzzed: schemathesis generates requests
from ``/openapi.json`` (valid ones and invalid ones) and checks each answer's status, content
type and body against the schema, and that no request gets a 5xx; hypothesis throws arbitrary
bytes and JSON at the request parser. Budgets are bounded (a fixed number of examples each)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")
schemathesis = pytest.importorskip("schemathesis", reason="the test extra is not installed")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from brandner import Tagger  # noqa: E402
from brandner.serving.app import create_app  # noqa: E402
from brandner.serving.batcher import ApiError, Limits, parse_request  # noqa: E402
from tests.serving.server import serving  # noqa: E402

# Small limits, so that generated requests reach them; a body limit that no request valid under
# the schema can pass (5 texts of 50 characters, each written as a 12-byte surrogate-pair escape),
# since JSON Schema has no keyword for a size in bytes.
LIMITS = Limits(max_texts=5, max_chars=50, max_body_bytes=10_000, timeout=10)
# A refusal of a request outside the schema: 413 (over a limit, as the schema documents) is one too.
CONFIG = {"checks": {"negative_data_rejection": {"expected-statuses": [400, 413, 415, 422]}}}
BUDGET = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def api(tiny_model):
    with serving(create_app(Tagger.load(tiny_model), LIMITS, "tiny.pt"), LIMITS.timeout) as url:
        config = schemathesis.config.SchemathesisConfig.from_dict(CONFIG)
        yield schemathesis.openapi.from_url(url + "/openapi.json", config=config)


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_every_answer_is_as_the_openapi_schema_says(api, mode):
    """Positive: requests the schema allows are answered 200 with the documented body.
    Negative: requests it does not allow are refused with a documented 4xx, never a 5xx."""
    @BUDGET
    @given(case=api.as_strategy(schemathesis.GenerationMode(mode)))
    def check(case) -> None:
        case.call_and_validate()

    check()


def test_the_largest_valid_request_fits_the_body_limit():
    widest = json.dumps({"texts": ["\U0001F600" * LIMITS.max_chars] * LIMITS.max_texts, "scores": False,
                         "min_score": 0.123456789})
    assert len(widest.encode()) <= LIMITS.max_body_bytes


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
BODIES = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({}, optional={"texts": JSON | st.lists(st.text(max_size=60), max_size=7),
                                        "scores": JSON, "min_score": JSON}).map(lambda d: json.dumps(d).encode()))


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(body=BODIES)
def test_any_body_is_parsed_or_refused_by_name(body):
    """Whatever the bytes, ``parse_request`` gives a valid request or an ApiError with a
    4xx status and a message; no other exception."""
    try:
        texts, scores, min_score = parse_request(body, LIMITS)
    except ApiError as error:
        assert 400 <= error.status < 500 and error.message
        return
    assert isinstance(texts, list) and all(isinstance(text, str) for text in texts)
    assert len(texts) <= LIMITS.max_texts and all(len(text) <= LIMITS.max_chars for text in texts)
    assert isinstance(scores, bool) and (min_score is None or (0 <= min_score <= 1 and scores))
