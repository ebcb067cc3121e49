"""Start ``brandner serve`` as a real process on a free port, or uvicorn in a thread of the
test process with ``brandner serve``'s connection options, for the tests that need a real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(model: Path, *options: str, timeout: float = 60,
                   new_session: bool = False) -> Iterator[tuple[str, subprocess.Popen]]:
    """``(base_url, process)`` of a server that answers /healthz; stopped (SIGTERM) on exit.
    ``new_session``: in a process group of its own, which a test may signal as a terminal would."""
    port = free_port()
    command = [sys.executable, "-m", "brandner.cli.main", "serve", "-m", str(model), "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=new_session)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}:\n{process.stdout.read()}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start in time") from None
                time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def serving(app: Any, timeout: float = 30) -> Iterator[str]:
    """The base URL of a real uvicorn server for ``app`` on 127.0.0.1, in a thread of this process,
    with ``brandner serve``'s connection deadlines of ``timeout`` seconds; stopped on exit. Its log
    records reach the test's (uvicorn's logging is left unconfigured)."""
    import uvicorn

    from brandner.serving.connection import uvicorn_options
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           **uvicorn_options(timeout)))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)


def wait_until(condition: Any, timeout: float = 20) -> bool:
    """Poll ``condition()`` until it is true (True) or ``timeout`` seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def post_json(url: str, data: dict, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(data).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def echo_or_die(texts: list[str], scores: bool) -> list[dict]:
    """A tagging function for a worker process: ends the process abruptly on "DIE"."""
    if "DIE" in texts:
        os._exit(1)
    return [{"string": text, "entities": []} for text in texts]
