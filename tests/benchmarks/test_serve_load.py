"""Smoke test of the load-test client in benchmarks/serve_load.py against a real server."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from benchmarks.serve_load import load, make_bodies  # noqa: E402
from tests.conftest import synthetic_sentences  # noqa: E402
from tests.serving.server import running_server  # noqa: E402


def test_the_client_counts_texts_latencies_and_errors(tiny_model):
    texts = [s.text for s in synthetic_sentences(20)]
    good = make_bodies(texts, 30, 2)
    too_many = make_bodies(texts, 3, 5)  # over the server's --max-texts 4: 413, counted as errors
    with running_server(tiny_model, "--max-texts", "4") as (url, _):
        tally, seconds = asyncio.run(load(url, good + too_many, concurrency=4))
    assert seconds > 0 and len(tally.latencies) == 33
    assert tally.errors == 3 and tally.texts == 60
