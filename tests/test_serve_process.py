"""``brandner serve`` as a real process: start-up errors, several workers, graceful shutdown."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from brandner import Tagger  # noqa: E402
from tests.server import post_json, running_server  # noqa: E402


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brandner.cli.main", "serve", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, words", [
    (["-m", "missing.pt"], "missing.pt"),
    (["-m", "MODEL", "--workers", "0"], "--workers"),
    (["-m", "MODEL", "--max-texts", "0"], "max_texts must be positive"),
])
def test_start_up_errors_are_one_line_and_exit_1(tiny_model, args, words):
    result = serve(*[str(tiny_model) if a == "MODEL" else a for a in args])
    assert result.returncode == 1
    assert words in result.stderr and "Traceback" not in result.stderr


def test_two_workers_serve_the_same_results(tiny_model):
    texts = ["我买了特步鞋", "华为手机真好用"]
    with running_server(tiny_model, "--workers", "2", "--threads", "1") as (url, _):
        for _ in range(4):
            status, body = post_json(url + "/v1/tag", {"texts": texts})
            assert status == 200 and body["results"] == Tagger.load(tiny_model).predict(texts)


def test_sigterm_lets_a_request_in_flight_finish(tiny_model):
    # A long max_wait_ms keeps the request inside the server while the signal arrives.
    with running_server(tiny_model, "--max-wait-ms", "1500") as (url, process):
        answer: dict = {}
        request = threading.Thread(target=lambda: answer.update(r=post_json(url + "/v1/tag", {"texts": ["我买了特步鞋"]})))
        request.start()
        threading.Event().wait(0.5)
        process.send_signal(signal.SIGTERM)
        request.join(30)
        assert process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
        assert "Finished server process" in process.stdout.read()
    status, body = answer["r"]
    assert status == 200 and body["results"][0]["entities"][0]["word"] == "特步"
