"""``brandner serve`` as a Label Studio ML backend: a real server on 127.0.0.1 sent the requests
Label Studio sends, as Label Studio sends them.

The requests are copied by hand from Label Studio's client, ``label_studio/ml/api_connector.py``
(``MLApi.setup``, ``_prep_prediction_req``, ``health``, ``train``: a ``requests`` session posting
``json=``, so ``Content-Type: application/json``), and from the ``label-studio-ml`` package's own
tests and server (``tests/test_api.py``, ``label_studio_ml/api.py``). The package itself is not
installed: PyPI holds only its old 1.0.9, which pins Flask 1.1.2, Jinja2 3.0.3 and Werkzeug 2.0.2
(downgrades of this environment's), and the current 2.x installs only from git.
"""

from __future__ import annotations

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")
requests = pytest.importorskip("requests", reason="the test extra is not installed")

from brandner import Tagger  # noqa: E402
from brandner.serving.app import load_app  # noqa: E402
from brandner.serving.batcher import ApiError, Limits  # noqa: E402
from brandner.serving.labelstudio import LabelConfig, parse_label_config  # noqa: E402
from tests.serving.server import running_server, serving  # noqa: E402

LIMITS = Limits(max_texts=8, max_chars=60, max_body_bytes=20_000, timeout=10)

# Label Studio's "Named Entity Recognition" template with brandner's types for its labels.
CONFIG = """<View>
  <Labels name="label" toName="text">
    <Label value="SHOE" background="red"/>
    <Label value="DIGITAL" background="darkorange"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""
TEXTS = ["我买了特步鞋", "华为手机真好用", "😀昨天在店里看到耐克和小米🎉", "推荐安踏给大家", ""]
PROJECT = "3.1700000000"  # MLApi._create_project_uid: f"{project.id}.{int(project.created_at.timestamp())}"


def task(id_: int, data: dict) -> dict:
    """A task as Label Studio's TaskSimpleSerializer writes it into a /predict request (abridged)."""
    return {"id": id_, "data": data, "meta": {}, "created_at": "2024-05-01T10:00:00.000000Z",
            "updated_at": "2024-05-01T10:00:00.000000Z", "is_labeled": False, "overlap": 1, "inner_id": id_,
            "total_annotations": 0, "cancelled_annotations": 0, "total_predictions": 0, "project": 3,
            "updated_by": None, "file_upload": 1, "annotations": [], "predictions": []}


def predict_body(tasks: list[dict], config: str = CONFIG) -> dict:
    """MLApi._prep_prediction_req: what Label Studio posts to /predict."""
    return {"tasks": tasks, "project": PROJECT, "label_config": config,
            "params": {"login": None, "password": None, "context": None}}


def setup_body(config: str = CONFIG) -> dict:
    """MLApi.setup: what Label Studio posts to /setup when a model is connected or checked."""
    return {"project": PROJECT, "schema": config, "hostname": "http://localhost:8080",
            "access_token": "0123456789abcdef", "extra_params": None}


def label_studio(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    """A request as Label Studio's MLApi._request makes it: a requests session, the body as ``json=``,
    a (connect, read) timeout; the status and the JSON answer."""
    with requests.Session() as session:
        session.headers["User-Agent"] = "heartex/test"
        response = session.request(method, url, json=body, timeout=(5, 60))
        return response.status_code, response.json()


@pytest.fixture(scope="module")
def url(tiny_model):
    """A real uvicorn server on 127.0.0.1 for the model, tagging in its child process as
    ``brandner serve`` does."""
    with serving(load_app(tiny_model, LIMITS, threads=1), LIMITS.timeout) as base:
        yield base


@pytest.fixture(scope="module")
def tagged(tiny_model) -> list[dict]:
    return Tagger.load(tiny_model).predict(TEXTS, scores=True)


def expected(results: list[dict], labels: set[str], from_name: str = "label", to_name: str = "text") -> list[dict]:
    """The predictions Label Studio should get for the tagger's ``results``, written out here."""
    made = []
    for result in results:
        kept = [e for e in result["entities"] if e["type"] in labels]
        made.append({"model_version": "tiny", "score": min((e["score"] for e in kept), default=1.0),
                     "result": [{"id": f"e{i}", "from_name": from_name, "to_name": to_name, "type": "labels",
                                 "value": {"start": e["start"], "end": e["end"], "text": e["word"],
                                           "labels": [e["type"]]}, "score": e["score"]}
                                for i, e in enumerate(kept)]})
    return made


def test_health_and_metrics_answer_as_label_studio_ml_does(url):
    assert label_studio("GET", url + "/health") == (200, {"status": "UP", "model_class": "brandner",
                                                          "model_version": "tiny"})
    assert label_studio("GET", url + "/metrics") == (200, {})
    page = requests.get(url + "/", timeout=10)  # "/" stays brandner's page: Label Studio calls /health
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_setup_gives_the_model_version(url):
    assert label_studio("POST", url + "/setup", setup_body()) == (200, {"model_version": "tiny"})
    # An older Label Studio sends model_version instead of extra_params; the package's own test sends less.
    older = {k: v for k, v in setup_body().items() if k != "extra_params"} | {"model_version": None}
    assert label_studio("POST", url + "/setup", older) == (200, {"model_version": "tiny"})
    assert label_studio("POST", url + "/setup", {"project": "1.1000000000", "schema": CONFIG,
                                                 "extra_params": {}}) == (200, {"model_version": "tiny"})


def test_predict_gives_one_prediction_per_task_in_order(url, tagged):
    assert any(r["entities"] for r in tagged[:4])  # the tiny model finds brands in these
    status, body = label_studio("POST", url + "/predict", predict_body([task(i, {"text": t}) for i, t in enumerate(TEXTS)]))
    assert status == 200
    assert body == {"results": expected(tagged, {"SHOE", "DIGITAL"})}


def test_offsets_are_code_points_of_the_task_text_emoji_included(url):
    texts = ["😀我买了特步鞋", "🎉🎉华为手机真好用👍推荐耐克给大家", "𠀀推荐安踏给大家"]
    status, body = label_studio("POST", url + "/predict", predict_body([task(i, {"text": t}) for i, t in enumerate(texts)]))
    assert status == 200 and len(body["results"]) == 3
    found = 0
    for text, prediction in zip(texts, body["results"]):
        for item in prediction["result"]:
            value = item["value"]
            assert text[value["start"]:value["end"]] == value["text"]
            found += 1
    assert found >= 2


def test_a_config_with_other_names(url, tagged):
    config = """<View><Header value="Mark the brands"/>
      <Image name="photo" value="$image"/>
      <View><Labels name="brand" toName="photo,content"><View><Label value="SHOE"/></View>
        <Label value="DIGITAL"/></Labels></View>
      <Text name="content" value="$body" granularity="word"/></View>"""
    tasks = [task(10 + i, {"body": t, "image": "/data/x.png"}) for i, t in enumerate(TEXTS)]
    status, body = label_studio("POST", url + "/predict", predict_body(tasks, config))
    assert status == 200
    assert body == {"results": expected(tagged, {"SHOE", "DIGITAL"}, "brand", "content")}


def test_entities_of_types_the_config_lacks_are_left_out(url, tagged):
    assert {e["type"] for r in tagged for e in r["entities"]} >= {"SHOE", "DIGITAL"}
    only_shoes = CONFIG.replace('<Label value="DIGITAL" background="darkorange"/>', '<Label value="Person"/>')
    status, body = label_studio("POST", url + "/predict",
                                predict_body([task(i, {"text": t}) for i, t in enumerate(TEXTS)], only_shoes))
    assert status == 200
    assert body == {"results": expected(tagged, {"SHOE"})}
    assert label_studio("POST", url + "/setup", setup_body(only_shoes)) == (200, {"model_version": "tiny"})


def test_setup_refuses_a_config_with_none_of_the_model_types(url):
    status, body = label_studio("POST", url + "/setup", setup_body(CONFIG.replace('"SHOE"', '"PER"')
                                                                   .replace('"DIGITAL"', '"ORG"')))
    assert status == 422 and "SHOE" in body["detail"] and "DIGITAL" in body["detail"]


@pytest.mark.parametrize("data, words", [
    ({"txt": "我买了特步鞋"}, 'tasks[1] (id 8) has no string data["text"]'),
    ({"text": 42}, 'tasks[1] (id 8) has no string data["text"]'),
    ({"text": None}, 'tasks[1] (id 8) has no string data["text"]'),
    ({"text": ["我买了特步鞋"]}, 'tasks[1] (id 8) has no string data["text"]'),
    ({"text": "鞋" * 61}, 'tasks[1] (id 8) data["text"] has 61 characters; the limit is max_chars=60'),
])
def test_a_task_without_a_text_string_is_refused_by_name(url, data, words):
    status, body = label_studio("POST", url + "/predict", predict_body([task(7, {"text": "我买了特步鞋"}), task(8, data)]))
    assert status in (413, 422) and words in body["detail"]


@pytest.mark.parametrize("body, status, words", [
    ({"tasks": {"id": 1}, "label_config": CONFIG}, 422, '"tasks" must be a list'),  # the package's test sends this
    ({"tasks": ["text"], "label_config": CONFIG}, 422, "tasks[0] (id null)"),
    ({"tasks": [task(1, {"text": "a"})]}, 422, '"label_config" must be'),
    ({"tasks": [task(i, {"text": "a"}) for i in range(9)], "label_config": CONFIG}, 413, "max_texts=8"),
])
def test_predict_bodies_of_the_wrong_shape_are_refused(url, body, status, words):
    answer = label_studio("POST", url + "/predict", body)
    assert answer[0] == status and words in answer[1]["detail"]


def test_no_tasks_give_no_results(url):
    assert label_studio("POST", url + "/predict", predict_body([])) == (200, {"results": []})


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lolololololololololol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<View><Labels name="label" toName="text"><Label value="&lol9;"/><Label value="SHOE"/></Labels>
<Text name="text" value="$text"/></View>"""
EXTERNAL = """<?xml version="1.0"?><!DOCTYPE View [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<View><Labels name="label" toName="text"><Label value="&secret;"/></Labels><Text name="text" value="$text"/></View>"""


@pytest.mark.parametrize("config", [BOMB, EXTERNAL, '<!DOCTYPE View SYSTEM "http://127.0.0.1:9/x.dtd">' + CONFIG])
def test_a_config_with_a_dtd_is_refused_and_the_server_stays_up(url, config):
    for path, body in (("/setup", setup_body(config)), ("/predict", predict_body([task(1, {"text": "特步"})], config))):
        status, answer = label_studio("POST", url + path, body)
        assert status == 422 and "DTD" in answer["detail"]
    assert label_studio("GET", url + "/health")[0] == 200
    assert label_studio("POST", url + "/predict", predict_body([task(1, {"text": "我买了特步鞋"})]))[0] == 200


@pytest.mark.parametrize("config, words", [
    ("<View><Labels name=", "not XML"),
    ("<View>&lol9;</View>", "not XML: undefined entity"),
    ('<View><Choices name="c" toName="text"><Choice value="SHOE"/></Choices><Text name="text" value="$text"/></View>',
     "no <Labels"),
    ('<View><Labels name="l" toName="img"><Label value="SHOE"/></Labels><Image name="img" value="$image"/></View>',
     "no <Labels"),
    (('<View><Labels name="l" toName="text"><Label value="SHOE"/></Labels>'
      '<Text name="text" value="$url" valueType="url"/></View>'), "no <Labels"),
])
def test_configs_brandner_cannot_predict_for_are_refused_by_name(url, config, words):
    for path, body in (("/setup", setup_body(config)), ("/predict", predict_body([task(1, {"text": "a"})], config))):
        status, answer = label_studio("POST", url + path, body)
        assert status == 422 and words in answer["detail"]


def test_webhook_events_are_ignored_and_training_is_not_supported(url):
    # Label Studio posts every project event to <model url>/webhook (ml/models.py create_ml_webhook).
    event = {"action": "ANNOTATION_CREATED", "annotation": {"id": 5, "result": []},
             "task": task(1, {"text": "我买了特步鞋"}), "project": {"id": 3, "label_config": CONFIG}}
    assert label_studio("POST", url + "/webhook", event) == (200, {"status": "ignored",
                                                                   "action": "ANNOTATION_CREATED"})
    # "Start training": a START_TRAINING event, or (older Label Studio) a /train request.
    status, body = label_studio("POST", url + "/webhook", {"action": "START_TRAINING",
                                                          "project": {"id": 3, "label_config": CONFIG}})
    assert status == 501 and "does not train" in body["detail"]
    status, body = label_studio("POST", url + "/train", {"annotations": [], "project": PROJECT, "label_config": CONFIG,
                                                        "params": {"login": None, "password": None}})
    assert status == 501 and "does not train" in body["detail"]


def test_the_label_config_parser_takes_the_first_labels_control_on_a_text():
    config = ('<view><labels name="first" toName="nowhere"><label value="X"/></labels>'
              '<LABELS name="second" toName=" body "><Label value="SHOE"/><Label value="A B"/><Label/></LABELS>'
              '<Labels name="third" toName="body"><Label value="DIGITAL"/></Labels>'
              '<TEXT name="body" value="$content"/></view>')
    assert parse_label_config(config) == LabelConfig("second", "body", "content", frozenset({"SHOE", "A B"}))
    with pytest.raises(ApiError, match="DTD"):
        parse_label_config(BOMB)


@pytest.mark.slow
def test_brandner_serve_pre_annotates_as_a_label_studio_backend(tiny_model, tagged):
    """The whole program: ``brandner serve`` started as a user starts it, connected and asked as
    Label Studio connects and asks."""
    with running_server(tiny_model, "--threads", "1") as (base, _):
        assert label_studio("GET", base + "/health")[0] == 200
        assert label_studio("POST", base + "/setup", setup_body()) == (200, {"model_version": "tiny"})
        status, body = label_studio("POST", base + "/predict",
                                    predict_body([task(i, {"text": t}) for i, t in enumerate(TEXTS)]))
        assert status == 200 and body == {"results": expected(tagged, {"SHOE", "DIGITAL"})}
