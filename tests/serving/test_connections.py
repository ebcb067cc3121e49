"""Clients that send slowly, never finish, send too much or leave, over raw sockets, against a
real uvicorn server on 127.0.0.1 (in a thread of this process) with ``brandner serve``'s
connection options. Every wait is bounded: a server that does not answer fails the test."""

from __future__ import annotations

import http.client
import json
import logging
import select
import socket
import threading
from urllib.parse import urlsplit

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from brandner import Tagger  # noqa: E402
from brandner.serving.app import create_app  # noqa: E402
from brandner.serving.batcher import Limits  # noqa: E402
from brandner.serving.connection import MAX_HEAD_BYTES  # noqa: E402
from tests.serving.server import post_json, serving, wait_until  # noqa: E402

TIMEOUT = 2.0  # the server's --timeout in the tests of timeouts, in seconds
WAIT = 20.0  # the longest a test waits for the server, and the other tests' server timeout
HEAD = b"POST /v1/tag HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
BODY = json.dumps({"texts": ["我买了特步鞋和耐克的新款"] * 3}).encode()


@pytest.fixture(scope="module")
def tagger(tiny_model) -> Tagger:
    return Tagger.load(tiny_model)


@pytest.fixture(scope="module")
def url(tagger):
    """A server with a short timeout, for the tests of timeouts."""
    with serving(create_app(tagger, Limits(max_body_bytes=100_000, timeout=TIMEOUT)), TIMEOUT) as url:
        yield url


@pytest.fixture(scope="module")
def patient_url(tagger):
    """A server with a long timeout, for the other tests: a busy machine cannot make it run out."""
    with serving(create_app(tagger, Limits(max_body_bytes=100_000, timeout=WAIT)), WAIT) as url:
        yield url


def connect(url: str) -> socket.socket:
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname, address.port), timeout=WAIT)
    return sock


def read_to_end(sock: socket.socket) -> bytes:
    """All the server sends until it closes the connection (socket.timeout if it does not)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def answer(raw: bytes) -> tuple[int, dict[str, str], dict]:
    """Status, headers (lower-case names) and JSON body of one HTTP answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def trickle(sock: socket.socket, data: bytes, every: float = 0.1) -> bytes:
    """Send ``data`` a byte every ``every`` seconds until the server answers or closes; then
    what the server sends until it closes."""
    for byte in data:
        try:
            sock.send(bytes([byte]))
        except OSError:  # the server closed the connection
            break
        if select.select([sock], [], [], every)[0]:
            break
    return read_to_end(sock)


def test_connections_that_send_nothing_are_closed_after_the_timeout(url):
    connections = [connect(url) for _ in range(20)]
    for sock in connections:
        with sock:
            assert read_to_end(sock) == b""  # closed, no answer: there was no request


def test_a_head_sent_a_byte_at_a_time_is_cut_with_408(url):
    with connect(url) as sock:
        raw = trickle(sock, HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)
    status, headers, body = answer(raw)
    assert status == 408 and headers["connection"] == "close"
    assert body == {"detail": f"the request head did not arrive whole within timeout={TIMEOUT:g} s"}


def test_a_head_that_stops_halfway_is_cut_with_408(url):
    with connect(url) as sock:
        sock.sendall(b"POST /v1/tag HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        status, _, body = answer(read_to_end(sock))
    assert status == 408 and "request head" in body["detail"]


def test_a_body_sent_a_byte_at_a_time_is_cut_with_408(url):
    with connect(url) as sock:
        sock.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY))
        raw = trickle(sock, BODY)
    status, headers, body = answer(raw)
    assert status == 408 and headers["connection"] == "close"
    assert body == {"detail": f"the request body did not arrive whole within timeout={TIMEOUT:g} s"}


def test_a_body_shorter_than_its_content_length_gets_408(url):
    with connect(url) as sock:
        sock.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % (len(BODY) + 10) + BODY)
        status, headers, body = answer(read_to_end(sock))
    assert status == 408 and headers["connection"] == "close" and "request body" in body["detail"]


def test_a_body_over_the_limit_is_refused_by_its_length_before_it_is_sent(patient_url):
    """413 as soon as the head says 10 MB, with a JSON body, and the connection closed: the
    client need not send the rest to learn it is refused."""
    with connect(patient_url) as sock:
        sock.sendall(HEAD + b"Content-Length: 10000000\r\n\r\n" + b" " * 65536)
        status, headers, body = answer(read_to_end(sock))
    assert status == 413 and headers["connection"] == "close"
    assert body == {"detail": "the request body is over the limit of max_body_bytes=100000"}


def test_a_client_that_writes_its_whole_big_body_before_reading_still_reads_the_413(patient_url):
    """http.client (and urllib) send the whole body before reading: the server answers early
    and closes, but lingers (at most its timeout), reading what still comes, so the client gets
    the answer rather than "connection reset" (as it did when the server closed at once)."""
    address = urlsplit(patient_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=WAIT)
    try:
        connection.request("POST", "/v1/tag", b'{"texts": ["' + b"a" * 10_000_000 + b'"]}',
                           {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 413 and "max_body_bytes=100000" in json.load(response)["detail"]
        assert response.getheader("connection") == "close"
    finally:
        connection.close()


def test_a_client_that_leaves_mid_body_is_one_log_line(patient_url, caplog):
    caplog.set_level(logging.INFO)
    with connect(patient_url) as sock:
        sock.sendall(HEAD + b"Content-Length: 100\r\n\r\n" + b'{"texts": ')
        peer = "{}:{}".format(*sock.getsockname())
    assert wait_until(lambda: any(peer in r.getMessage() for r in caplog.records), WAIT)
    about_it = [r for r in caplog.records if peer in r.getMessage() or r.exc_info or r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in about_it] == [f"{peer} disconnected while sending its body"]


class Held:
    """The tiny tagger, recording the texts it tags and holding a call with "HOLD" in it until released."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger
        self.encoder, self.config, self.types, self.canonical = tagger.encoder, tagger.config, tagger.types, None
        self.tagged: list[str] = []
        self.holding, self.release = threading.Event(), threading.Event()

    def predict(self, texts: list[str], **options) -> list[dict]:
        self.tagged.extend(texts)
        if "HOLD" in texts:
            self.holding.set()
            self.release.wait(WAIT)
        return self.tagger.predict(texts, **options)


def test_texts_of_clients_that_left_are_not_tagged(tagger, caplog):
    """Ten clients post while the model is busy and leave before their answer: their texts
    leave the queue; only the one batch already handed to the executor is tagged. (Before,
    all ten were tagged, and a next client waited for all of them.)"""
    caplog.set_level(logging.INFO)
    held = Held(tagger)
    app = create_app(held, Limits(max_batch=1, max_wait_ms=0, timeout=WAIT))  # a batch is one text
    with serving(app, WAIT) as url:
        first: dict = {}
        busy = threading.Thread(target=lambda: first.update(r=post_json(url + "/v1/tag", {"texts": ["HOLD"]})))
        busy.start()
        try:
            assert held.holding.wait(WAIT)
            leavers = []
            for i in range(10):
                sock = connect(url)
                body = json.dumps({"texts": [f"left {i}"]}).encode()
                sock.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                leavers.append(sock)
            wait_until(lambda: app.state.batcher.pending == 9, WAIT)  # one in the executor, nine queued
            for sock in leavers:
                sock.close()
            gone = lambda: [r for r in caplog.records if "disconnected before its answer" in r.getMessage()]  # noqa: E731
            wait_until(lambda: len(gone()) == 10, WAIT)
        finally:
            held.release.set()
            busy.join(WAIT)
        status, body = post_json(url + "/v1/tag", {"texts": ["我买了特步鞋"]})
    assert first["r"][0] == 200 and status == 200 and body["results"] == tagger.predict(["我买了特步鞋"])
    assert len([text for text in held.tagged if text.startswith("left")]) <= 1
    assert len(gone()) == 10 and not [r for r in caplog.records if r.exc_info]


def test_a_head_over_the_limit_is_refused_with_431(patient_url):
    """uvicorn keeps every header line until the head ends: a client could fill the memory."""
    with connect(patient_url) as sock:
        sock.sendall(HEAD + b"X-Padding: " + b"a" * 70_000 + b"\r\n")
        status, headers, body = answer(read_to_end(sock))
    assert status == 431 and headers["connection"] == "close"
    assert body == {"detail": f"the request head is over the limit of {MAX_HEAD_BYTES} bytes"}
    with connect(patient_url) as sock:  # a head just under the limit is read as usual
        sock.sendall(HEAD + b"X-Padding: " + b"a" * 60_000 + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        status, _, body = answer(read_to_end(sock))
    assert status == 422 and "texts" in body["detail"]


def test_keep_alive_and_pipelined_requests_are_still_answered(patient_url):
    """The deadlines are per request: a connection that keeps sending whole requests is served,
    pipelined ones included."""
    request = HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
    last = request.replace(b"Content-Type", b"Connection: close\r\nContent-Type")
    with connect(patient_url) as sock:
        sock.sendall(request)
        first = sock.recv(65536)  # (at least the start of the first answer)
        sock.sendall(request + request + last)  # three in one go
        answers = first + read_to_end(sock)
    assert answers.count(b"HTTP/1.1 200 ") == 4 and answers.count(b'"results"') == 4
