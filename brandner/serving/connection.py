"""HTTP connections that hold up against clients who send slowly, never finish, or send too much:
uvicorn's httptools protocol with a deadline and a size limit for each request's head, and a
lingering close.

uvicorn closes a keep-alive connection left idle after an answer (``timeout_keep_alive``), and
nothing else: a connection that never sends a request, or sends its head a byte at a time, stays
open for ever. Here a request's head must arrive whole within ``timeout`` seconds of the
connection opening or of the previous answer; otherwise the connection is closed, after a 408 if
part of a head had come. The body has its own deadline in the app
(:func:`brandner.serving.request.read_body`), which answers 408 itself. uvicorn also keeps every
header line it is sent, without limit, until the head ends: a head over ``MAX_HEAD_BYTES`` is
answered 431 and the connection closed.

When the server closes a connection while the client may still be sending (an answer given
before the body was read: 408, 413, 415), closing at once makes the kernel reset the connection,
and a client still writing its body (Python's http.client, urllib) gets "connection reset"
instead of the answer. So the server lingers: it sends its answer and then end-of-stream, reads
and drops whatever the client still sends, and closes when the client does or after ``timeout``
seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
from functools import partial
from typing import Any, Callable

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 65536  # what may come before a request's head is whole (give or take a read)


def uvicorn_options(timeout: float) -> dict[str, Any]:
    """Options for ``uvicorn.run`` / ``uvicorn.Config`` that give its connections these deadlines
    (``timeout`` in seconds); websockets off, as the API has none."""
    return {"http": partial(DeadlineProtocol, timeout=timeout), "ws": "none"}


class _Transport:
    """The connection's transport as uvicorn's protocol sees it: the real one, except that
    ``close()`` asks the protocol, which may linger first."""

    def __init__(self, transport: asyncio.Transport, protocol: DeadlineProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        self._protocol.close()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus: a request's head within ``timeout`` seconds, and a
    lingering close while the client may still be sending (see the module docstring)."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None, *, timeout: float = 30.0) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.timeout = timeout
        self.lingering = False
        self._socket: asyncio.Transport | None = None  # the real transport
        self._timer: asyncio.TimerHandle | None = None  # the head's deadline, or the end of lingering
        self._head_begun = False  # part of a request head has come, not all of it
        self._head_bytes = 0  # received since the last head was whole
        self._shutting_down = False

    # The head's deadline: armed when a request may begin, disarmed when its head is whole.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._socket = transport
        super().connection_made(_Transport(transport, self))  # type: ignore[arg-type]
        self._set_timer(self._head_expired)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True

    def on_headers_complete(self) -> None:
        self._head_begun = False
        self._head_bytes = 0
        self._cancel_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._set_timer(self._head_expired)

    def _head_expired(self) -> None:
        self._timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered (its body's deadline is the app's)
        if self._head_begun:
            log.info("%s sent no whole request head within timeout=%g s: 408, connection closed", self._peer(),
                     self.timeout)
            self._send_error(408, "Request Timeout",
                             f"the request head did not arrive whole within timeout={self.timeout:g} s")
        self.transport.close()

    def _send_error(self, status: int, reason: str, detail: str) -> None:
        """An answer ``{"detail": detail}`` written straight to the connection, when no request
        is being answered (there is no whole head to hand to the app)."""
        body = json.dumps({"detail": detail}).encode()
        head = b"".join([b"HTTP/1.1 %d %s\r\n" % (status, reason.encode()),
                         *(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers),
                         b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body),
                         b"connection: close\r\n\r\n"])
        self.transport.write(head + body)

    # Closing: at once, or lingering while the client may still be sending.
    def close(self) -> None:
        """Close the connection; if part of a request is still unread, linger (see the module docstring)."""
        assert self._socket is not None
        unread = self._head_begun or (self.cycle is not None and self.cycle.more_body)
        if self.lingering or self._shutting_down or not unread or not self._socket.can_write_eof() \
                or self._socket.is_closing():
            self._cancel_timer()
            self._socket.close()
            return
        self.lingering = True
        self._socket.write_eof()  # after the answer already written
        self.flow.resume_reading()  # reading was paused if the body outran the app
        self._set_timer(self._socket.close)

    def data_received(self, data: bytes) -> None:
        if self.lingering:  # what comes is dropped
            return
        if self._head_begun or self.cycle is None or self.cycle.response_complete:  # not a body being read
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_begun and self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            log.info("%s sent a request head over %d bytes: 431, connection closed", self._peer(), MAX_HEAD_BYTES)
            if self.cycle is not None and not self.cycle.response_complete:  # pipelined behind an answer
                self._socket.close()  # (no room for a second answer)
                return
            self._send_error(431, "Request Header Fields Too Large",
                             f"the request head is over the limit of {MAX_HEAD_BYTES} bytes")
            self.transport.close()

    def shutdown(self) -> None:
        self._shutting_down = True  # the server is stopping: close without lingering
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "a client"

    def _set_timer(self, callback: Callable[[], object]) -> None:
        self._cancel_timer()
        self._timer = self.loop.call_later(self.timeout, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
