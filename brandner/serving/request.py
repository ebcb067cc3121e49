"""What every JSON endpoint of the server does with its request: check that the body is declared
JSON, read it within the size and time limits, and wait for its answer unless the client leaves
(:class:`ClientGone`, which the app logs as one line). Errors are :class:`ApiError`, which the
app answers as ``{"detail": message}``."""

from __future__ import annotations

import asyncio
from typing import Awaitable, TypeVar

from fastapi import Request
from starlette.requests import ClientDisconnect

from brandner.serving.batcher import ApiError, Limits

T = TypeVar("T")


class ClientGone(Exception):
    """The client closed its connection before its answer; the message says when."""


def check_media_type(request: Request) -> None:
    """ApiError 415 unless the body is declared ``application/json`` (in UTF-8, if a charset is
    given). A page on another site can post text/plain or a form to a local server without
    asking; to post JSON, the browser first asks this server, which does not allow it (no CORS)."""
    media_type, *parameters = request.headers.get("content-type", "").split(";")
    if media_type.strip().lower() != "application/json":
        raise ApiError(415, "the body must be JSON, sent with Content-Type: application/json", close=True)
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise ApiError(415, f"the body must be UTF-8 JSON (application/json), got charset={value.strip()}",
                           close=True)


async def read_body(request: Request, limits: Limits) -> bytes:
    """The request body. ApiError 413 as soon as it is over ``limits.max_body_bytes`` (by its
    Content-Length, before reading any of it), 408 if it is not whole within ``limits.timeout``
    seconds; ClientGone if the client disconnects meanwhile."""
    limit = limits.max_body_bytes
    too_big = ApiError(413, f"the request body is over the limit of max_body_bytes={limit}", close=True)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    try:
        async with asyncio.timeout(limits.timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_big
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(408, f"the request body did not arrive whole within timeout={limits.timeout:g} s",
                       close=True) from None
    except ClientDisconnect:
        raise ClientGone("while sending its body") from None
    return b"".join(chunks)


async def unless_gone(request: Request, work: Awaitable[T], texts: int) -> T:
    """What ``work`` gives; if the client disconnects first, ``work`` is cancelled (a
    :meth:`MicroBatcher.submit` then leaves the queue) and ClientGone raises."""
    async def disconnected() -> None:  # the body is read: the next message is the disconnect
        while (await request.receive())["type"] != "http.disconnect":
            pass

    answer, gone = asyncio.ensure_future(work), asyncio.ensure_future(disconnected())
    try:
        done, _ = await asyncio.wait((answer, gone), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # this request cancelled (the server stopping at once)
        answer.cancel()
        raise
    finally:
        gone.cancel()
    if answer in done:
        return answer.result()
    answer.cancel()
    answer.add_done_callback(lambda task: task.cancelled() or task.exception())  # nobody waits for it now
    raise ClientGone(f"before its answer ({texts} texts, dropped unless already being tagged)")
