"""The HTTP API: results, limits, bad input, failures that stay contained, micro-batching."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from brandner import Tagger, __version__  # noqa: E402
from brandner.serving.app import create_app, public_config  # noqa: E402
from brandner.serving.batcher import ApiError, Limits, MicroBatcher, parse_request  # noqa: E402
from tests.serving.server import echo_or_die  # noqa: E402

TEXTS = ["我买了特步鞋", "", "华为手机真好用", "推荐耐克给大家"]


@pytest.fixture(scope="module")
def tagger(tiny_model) -> Tagger:
    return Tagger.load(tiny_model)


@pytest.fixture(scope="module")
def client(tagger):
    with TestClient(create_app(tagger, Limits(max_body_bytes=2000, max_texts=5, max_chars=50), "tiny.pt")) as c:
        yield c


def test_tag_returns_the_tagger_results_in_order(client, tagger):
    response = client.post("/v1/tag", json={"texts": TEXTS})
    assert response.status_code == 200
    assert response.json() == {"results": tagger.predict(TEXTS)}
    assert response.json()["results"][0]["entities"] == [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]


def test_no_texts_gives_no_results(client):
    assert client.post("/v1/tag", json={"texts": []}).json() == {"results": []}


def test_scores_and_min_score(client, tagger):
    scored = client.post("/v1/tag", json={"texts": TEXTS, "scores": True}).json()["results"]
    assert scored == tagger.predict(TEXTS, scores=True)
    entities = [e for r in scored for e in r["entities"]]
    assert entities and all(0 <= e["score"] <= 1 for e in entities)
    cut = sorted(e["score"] for e in entities)[len(entities) // 2]
    kept = client.post("/v1/tag", json={"texts": TEXTS, "min_score": cut}).json()["results"]
    assert [[e for e in r["entities"] if e["score"] >= cut] for r in scored] == [r["entities"] for r in kept]


def test_health_model_and_docs(client, tagger):
    assert client.get("/healthz").json() == {"status": "ok"}
    model = client.get("/v1/model").json()
    assert model["model"] == "tiny.pt" and model["version"] == __version__
    assert model["types"] == tagger.types and model["scheme"] == tagger.encoder.scheme.name
    assert model["config"]["hidden_size"] == tagger.config.hidden_size
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "texts" in json.dumps(schema["paths"]["/v1/tag"]["post"]["requestBody"])


def test_the_page_is_self_contained(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<script" in page and "v1/tag" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere


@pytest.mark.parametrize("body, status, words", [
    (b'{"texts": ["a"', 400, "not valid JSON"),
    (b"\xff\xfe", 400, "not valid JSON"),
    (b'["a"]', 422, "JSON object"),
    (b'{"text": ["a"]}', 422, "unknown field"),
    (b'{"texts": "a"}', 422, "list of strings"),
    (b'{"texts": ["a", 1]}', 422, "list of strings"),
    (b'{"texts": ["a"], "scores": "yes"}', 422, '"scores"'),
    (b'{"texts": ["a"], "min_score": 2}', 422, '"min_score"'),
    (b'{"texts": ["a"], "min_score": true}', 422, '"min_score"'),
    (b'{"texts": ["a"], "min_score": NaN}', 400, "NaN is not a JSON value"),
    (b'{"texts": ["a"], "min_score": -Infinity}', 400, "-Infinity is not a JSON value"),
    (json.dumps({"texts": ["a"] * 6}).encode(), 413, "max_texts=5"),
    (json.dumps({"texts": ["a", "b" * 51]}).encode(), 413, "texts[1] has 51 characters; the limit is max_chars=50"),
    (json.dumps({"texts": ["a" * 40] * 2, "pad": "x" * 2000}).encode(), 413, "max_body_bytes=2000"),
    (b'{"texts": ["a"], "\\ud800": 1}', 422, 'unknown field(s) "\\ud800"'),
    (b'{"texts": ["\\ud83d\\ude00", "\\ud800abc"]}', 422, "texts[1] holds a \\u escape for half of a surrogate pair"),
])
def test_bad_requests_get_a_json_error_naming_the_problem(client, body, status, words):
    response = client.post("/v1/tag", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert words in response.json()["detail"]
    assert client.post("/v1/tag", json={"texts": ["我买了特步鞋"]}).status_code == 200  # still serving


@pytest.mark.parametrize("body, status, words", [
    (b'{"texts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "the body is nested too deeply"),  # RecursionError
    (b'{"texts": ["a"], "min_score": ' + b"1" * 5000 + b"}", 422, "the body holds a value too large"),
])
def test_json_that_python_will_not_hold_is_refused_by_name(body, status, words):
    with pytest.raises(ApiError) as refused:
        parse_request(body, Limits(max_body_bytes=len(body)))
    assert refused.value.status == status and refused.value.message.startswith(words)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/json; charset=latin-1",
                                          "application/jsonp"])
def test_a_body_not_sent_as_json_is_refused_with_415(client, content_type):
    """A form or a text/plain fetch on another site is sent to a local server without asking it
    first (no CORS preflight): JSON only, so that such a page cannot make the server tag."""
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/tag", content=b'{"texts": ["a"]}', headers=headers)
    assert response.status_code == 415 and "application/json" in response.json()["detail"]
    assert response.headers["connection"] == "close"


def test_a_page_on_another_site_is_not_allowed_to_post_json(client):
    """What a browser asks before a cross-site JSON post (CORS preflight): no allowance comes back."""
    response = client.options("/v1/tag", headers={"Origin": "https://elsewhere.example",
                                                  "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "content-type"})
    assert response.status_code >= 400
    assert not any(name.lower().startswith("access-control-allow") for name in response.headers)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON",
                                          'application/json;charset="UTF-8"'])
def test_json_with_or_without_a_utf8_charset_is_accepted(client, content_type):
    response = client.post("/v1/tag", content=b'{"texts": ["a"]}', headers={"content-type": content_type})
    assert response.status_code == 200 and response.json() == {"results": [{"string": "a", "entities": []}]}


def test_the_model_description_shows_file_names_not_the_training_machine_paths(tmp_path_factory):
    """A model trained with a word list and a gazetteer given by absolute paths: ``/v1/model``
    names the files, not the directories they were read from."""
    from tests.conftest import train_tiny
    folder = tmp_path_factory.mktemp("lists")
    (folder / "words.txt").write_text("特步\n", encoding="utf-8")
    (folder / "shoes.txt").write_text("特步\n耐克\n", encoding="utf-8")
    model = train_tiny(folder / "listed.pt", f"lexicon={folder / 'words.txt'}",
                       f"gazetteers=SHOE={folder / 'shoes.txt'}", sentences=40, epochs=1)
    tagger = Tagger.load(model)
    assert str(folder) in json.dumps(dataclasses.asdict(tagger.config))  # what the model file holds
    with TestClient(create_app(tagger, name="listed.pt")) as client:
        described = client.get("/v1/model").json()
    assert str(folder) not in json.dumps(described) and "/" not in json.dumps(described["config"])
    assert described["config"]["lexicon"] == ["words.txt"]
    assert described["config"]["gazetteers"] == ["SHOE=shoes.txt"]
    assert described["config"]["hidden_size"] == tagger.config.hidden_size


def test_file_names_of_either_kind_of_path():
    from brandner.config import ModelConfig
    config = ModelConfig(lexicon=("jieba", "C:\\lists\\brands.txt", "/home/a/words.txt", "local.txt"),
                         gazetteers=("HP=C:\\lists\\brands.txt", "HP=/srv/x,y.txt", "HC=products.txt"))
    public = public_config(config)
    assert public["lexicon"] == ["jieba", "brands.txt", "words.txt", "local.txt"]
    assert public["gazetteers"] == ["HP=brands.txt", "HP=x,y.txt", "HC=products.txt"]


def test_the_openapi_schema_documents_the_requests_and_answers_the_server_gives(client):
    operation = client.get("/openapi.json").json()["paths"]["/v1/tag"]["post"]
    assert {"200", "400", "408", "413", "415", "422"} <= set(operation["responses"])
    for status in ("400", "408", "413", "415", "422"):
        error = operation["responses"][status]["content"]["application/json"]["schema"]
        assert error["required"] == ["detail"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    assert request["additionalProperties"] is False and request["required"] == ["texts"]
    texts = request["properties"]["texts"]
    assert texts["maxItems"] == 5 and texts["items"] == {"type": "string", "maxLength": 50}  # the client's limits
    assert request["properties"]["min_score"]["type"] == ["number", "null"]  # null is accepted, as the server does
    assert "max_body_bytes=2000" in operation["requestBody"]["description"]
    assert client.post("/v1/tag", json={"texts": ["a"], "min_score": None}).status_code == 200


def test_a_body_without_content_length_is_still_limited(client):
    def chunks():
        for _ in range(30):
            yield b" " * 100
    response = client.post("/v1/tag", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "max_body_bytes" in response.json()["detail"]


class Exploding:
    """A tagger that fails on any text containing BOOM."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger
        self.encoder, self.config, self.types, self.canonical = tagger.encoder, tagger.config, tagger.types, None

    def predict(self, texts, **options):
        if any("BOOM" in text for text in texts):
            raise RuntimeError("exploded")
        return self.tagger.predict(texts, **options)


def test_a_failing_request_fails_alone(tagger):
    app = create_app(Exploding(tagger), Limits(max_wait_ms=50))
    with TestClient(app, raise_server_exceptions=False) as client:
        async def both() -> list:
            import httpx
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await asyncio.gather(c.post("/v1/tag", json={"texts": ["BOOM"]}),
                                            c.post("/v1/tag", json={"texts": ["我买了特步鞋"]}))
        bad, good = client.portal.call(both)
        assert bad.status_code == 500 and "tagging failed" in bad.json()["detail"]
        assert good.status_code == 200 and good.json()["results"] == [tagger.predict("我买了特步鞋")]
        assert client.post("/v1/tag", json={"texts": ["华为"]}).status_code == 200


def test_concurrent_requests_are_tagged_in_few_batches():
    calls: list[int] = []

    def tag(texts: list[str], scores: bool) -> list[dict]:
        calls.append(len(texts))
        return [{"string": t, "entities": [{"type": "X", "score": 0.5} if scores else {"type": "X"}]} for t in texts]

    async def run() -> list[list[dict]]:
        batcher = MicroBatcher(tag, max_batch=8, max_wait_ms=200)
        batcher.start()
        jobs = [batcher.submit([f"{i}a", f"{i}b"], scores=i == 0) for i in range(10)]
        results = await asyncio.gather(*jobs)
        await batcher.stop()
        return results

    results = asyncio.run(run())
    assert [[r["string"] for r in rs] for rs in results] == [[f"{i}a", f"{i}b"] for i in range(10)]
    assert results[0][0]["entities"] == [{"type": "X", "score": 0.5}]  # scores only where asked for
    assert all(r["entities"] == [{"type": "X"}] for rs in results[1:] for r in rs)
    assert calls == [8, 8, 4]  # 20 texts in batches of at most max_batch


def test_a_tagging_process_that_dies_is_replaced():
    context = multiprocessing.get_context("spawn")

    async def run() -> tuple:
        batcher = MicroBatcher(echo_or_die, 8, max_wait_ms=100, executor=lambda: ProcessPoolExecutor(1, context))
        batcher.start()
        outcome = await asyncio.gather(batcher.submit(["a"], False), batcher.submit(["DIE"], False),
                                       batcher.submit(["b"], False), return_exceptions=True)
        after = await batcher.submit(["c"], False)
        await batcher.stop()
        return outcome, after

    (first, died, second), after = asyncio.run(run())
    assert first == [{"string": "a", "entities": []}] and second == [{"string": "b", "entities": []}]
    assert isinstance(died, ApiError) and died.status == 500
    assert after == [{"string": "c", "entities": []}]


def test_tagging_in_a_child_process_gives_the_same_results(tagger, tiny_model):
    with TestClient(create_app(tagger, model_file=tiny_model, threads=1)) as client:
        assert client.post("/v1/tag", json={"texts": TEXTS}).json() == {"results": tagger.predict(TEXTS)}


def test_a_request_to_an_idle_model_does_not_wait_for_company():
    async def run() -> list[dict]:
        batcher = MicroBatcher(lambda texts, scores: [{"string": t} for t in texts], 4, max_wait_ms=60_000)
        batcher.start()
        result = await asyncio.wait_for(batcher.submit(["x"], False), 10)  # far less than max_wait_ms
        await batcher.stop()
        return result

    assert asyncio.run(run()) == [{"string": "x"}]


def test_stop_finishes_what_is_queued():
    async def run() -> list[dict]:
        batcher = MicroBatcher(lambda texts, scores: [{"string": t} for t in texts], 4, max_wait_ms=10_000)
        batcher.start()
        job = asyncio.ensure_future(batcher.submit(["x"], False))
        await asyncio.sleep(0.01)
        await batcher.stop()  # does not wait out max_wait_ms
        return await job

    assert asyncio.run(asyncio.wait_for(run(), 5)) == [{"string": "x"}]


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_texts"):
        Limits(max_texts=0)
    assert Limits(max_wait_ms=0).max_wait_ms == 0


def test_a_cancelled_submit_leaves_the_queue_untagged():
    """What the endpoint does when a client disconnects: it cancels the submit. Texts still in
    the queue are then never tagged; only a batch already handed to the executor is."""
    calls: list[list[str]] = []
    release = threading.Event()

    def tag(texts: list[str], scores: bool) -> list[dict]:
        calls.append(list(texts))
        if texts == ["hold"]:
            release.wait(20)
        return [{"string": t, "entities": []} for t in texts]

    async def run() -> list:
        batcher = MicroBatcher(tag, max_batch=1, max_wait_ms=0)
        batcher.start()
        held = asyncio.ensure_future(batcher.submit(["hold"], False))
        while not calls:  # the model is busy with "hold"
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(batcher.submit(["second"], False))  # handed to the executor, waits there
        leaving = [asyncio.ensure_future(batcher.submit([f"left {i}"], False)) for i in range(5)]
        await asyncio.sleep(0.05)  # (the batcher's steps are all ready before this wakes up)
        for job in leaving:
            job.cancel()
        release.set()
        answers = await asyncio.gather(held, second)
        await batcher.stop()
        return answers

    answers = asyncio.run(asyncio.wait_for(run(), 30))
    assert answers == [[{"string": "hold", "entities": []}], [{"string": "second", "entities": []}]]
    assert calls == [["hold"], ["second"]]
