"""``brandner serve`` as a real process: start-up errors, several workers, graceful shutdown, its
--timeout and its log."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from typing import Callable
from urllib.parse import urlsplit

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from brandner import Tagger  # noqa: E402
from tests.serving.server import post_json, running_server, wait_until  # noqa: E402


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brandner.cli.main", "serve", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, words", [
    (["-m", "missing.pt"], "missing.pt"),
    (["-m", "MODEL", "--workers", "0"], "--workers"),
    (["-m", "MODEL", "--max-texts", "0"], "max_texts must be positive"),
    (["-m", "MODEL", "--max-wait-ms", "nan"], "max_wait_ms must be positive, got nan"),
    (["-m", "MODEL", "--max-wait-ms", "inf"], "max_wait_ms must be positive, got inf"),
    (["-m", "MODEL", "--threads", "0"], "--threads must be at least 1"),
    (["-m", "MODEL", "--port", "70000"], "--port must be from 0 to 65535, got 70000"),
    (["-m", "MODEL", "--host", "no.such.host.invalid"], "cannot listen on no.such.host.invalid:8000"),
    (["-m", "MODEL", "--canonical", "missing.txt"], "missing.txt: word list not found"),
])
def test_start_up_errors_are_one_line_and_exit_1(tiny_model, args, words):
    result = serve(*[str(tiny_model) if a == "MODEL" else a for a in args])
    assert result.returncode == 1
    assert words in result.stderr and "Traceback" not in result.stderr


def test_a_port_in_use_is_one_line_and_exit_1(tiny_model):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = serve("-m", str(tiny_model), "--port", str(port))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"brandner: error: cannot listen on 127.0.0.1:{port}: Address already in use")


def test_two_workers_serve_the_same_results_with_their_brand_list(tiny_model, tmp_path):
    texts = ["我买了特步鞋", "华为手机真好用"]
    brands = tmp_path / "brands.txt"
    brands.write_text("特步\tXtep\n", encoding="utf-8")
    expected = Tagger.load(tiny_model, canonical=brands).predict(texts)
    assert expected[0]["entities"][0]["canonical"] == "Xtep"
    with running_server(tiny_model, "--workers", "2", "--threads", "1", "--canonical", str(brands)) as (url, _):
        for _ in range(4):
            status, body = post_json(url + "/v1/tag", {"texts": texts})
            assert status == 200 and body["results"] == expected
        with urllib.request.urlopen(url + "/v1/model", timeout=30) as response:
            assert json.load(response)["canonical_names"] == 2  # 特步 and xtep


def in_flight_through(model, send: Callable[[subprocess.Popen], None],
                      new_session: bool = False) -> tuple[tuple[int, dict], int, str]:
    """Post a request, ``send`` the server a signal while the request is inside it; the
    request's answer, the server's exit code and its output."""
    # A long max_wait_ms keeps the request inside the server while the signal arrives.
    with running_server(model, "--max-wait-ms", "1500", new_session=new_session) as (url, process):
        answer: dict = {}
        texts = {"texts": ["我买了特步鞋"]}
        request = threading.Thread(target=lambda: answer.update(r=post_json(url + "/v1/tag", texts)))
        request.start()
        threading.Event().wait(0.5)
        send(process)
        request.join(30)
        returncode = process.wait(30)
        return answer["r"], returncode, process.stdout.read()


def test_sigterm_lets_a_request_in_flight_finish(tiny_model):
    (status, body), returncode, output = in_flight_through(tiny_model, lambda p: p.send_signal(signal.SIGTERM))
    assert returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
    assert "Finished server process" in output
    assert status == 200 and body["results"][0]["entities"][0]["word"] == "特步"


def test_ctrl_c_lets_a_request_in_flight_finish(tiny_model):
    """Ctrl-C in a terminal signals the whole process group, the tagging process included."""
    (status, body), _, output = in_flight_through(tiny_model, lambda p: os.killpg(p.pid, signal.SIGINT),
                                                  new_session=True)
    assert "Finished server process" in output
    assert status == 200 and body["results"][0]["entities"][0]["word"] == "特步"


def test_timeout_closes_idle_connections_and_a_disconnect_is_one_log_line(tiny_model):
    with running_server(tiny_model, "--timeout", "1") as (url, process):
        lines: list[str] = []

        def read() -> None:
            for line in process.stdout:
                lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        address = (urlsplit(url).hostname, urlsplit(url).port)
        with socket.create_connection(address, timeout=20) as idle:
            assert idle.recv(1) == b""  # closed after --timeout, no request having come
        with socket.create_connection(address, timeout=20) as leaving:
            leaving.sendall(b"POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 100\r\n\r\n{\"texts\": ")
            peer = "{}:{}".format(*leaving.getsockname())
        assert wait_until(lambda: any(peer in line for line in lines), 20)
    reader.join(30)
    assert [line for line in lines if peer in line] == [f"INFO:     {peer} disconnected while sending its body\n"]
    assert "Traceback" not in "".join(lines)
