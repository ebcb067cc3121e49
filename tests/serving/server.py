"""Start ``brandner serve`` as a real process on a free port, for the tests that need one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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
