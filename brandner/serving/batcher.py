"""What the HTTP service does, apart from HTTP: request limits and validation, and
gathering concurrent requests into batches (:class:`MicroBatcher`).

Requests that arrive together are tagged together: each request's texts join a queue,
and everything queued (up to ``max_batch`` texts) goes through a single tagging call.
When the model is idle, a request goes at once; while it is busy, the next batch
gathers for at most ``max_wait_ms`` and waits its turn, so under load the model sees
batches of dozens of texts instead of one, which is most of the speed of batch
tagging, and a lone request pays no wait. A request whose client has gone (its ``submit``
cancelled) leaves the queue untagged. Kept free of the web framework so the CLI can read the
limits without importing FastAPI.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import math
from concurrent.futures import BrokenExecutor, Executor, ThreadPoolExecutor
from typing import Any, Callable

from brandner.data.text import LONE_SURROGATE, writable

log = logging.getLogger(__name__)

TagFunction = Callable[[list[str], bool], list[dict]]


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one request may ask for (its size, and the time to send it), and how requests are
    gathered into batches."""

    max_body_bytes: int = 1_000_000
    max_texts: int = 256
    max_chars: int = 10_000
    max_batch: int = 256  # texts per model call (a larger request still goes in one call)
    max_wait_ms: float = 5.0  # while the model is busy, how long a batch gathers before it queues
    # Seconds a client has to send a request's head (from connecting, or from the previous
    # answer), and again its body; 408 and the connection closed after that.
    timeout: float = 30.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not math.isfinite(value) or value < 0 or (value == 0 and field.name != "max_wait_ms"):
                raise ValueError(f"{field.name} must be positive, got {value}")


class ApiError(Exception):
    """A request the server refuses: HTTP status and a message for the client; ``close`` when
    the refusal comes before the body was read whole, so the connection must not carry another
    request."""

    def __init__(self, status: int, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


@dataclasses.dataclass
class _Job:
    texts: list[str]
    scores: bool
    future: asyncio.Future


class MicroBatcher:
    """Gathers concurrent ``submit`` calls into few calls of ``tag``, one at a time.

    ``tag(texts, scores)`` returns one result dict per text; it runs in the executor that
    ``executor()`` makes: one thread by default, or one process so that the model does
    not hold the event loop's GIL (then ``tag`` must be picklable, at module level). If a
    gathered call fails, each request in it is retried alone, so one bad request cannot
    fail the others; if the process dies, a new one is started.

    A ``submit`` that is cancelled (its client went away) drops its texts from the queue: a
    batch is taken from the queue only when the executor has room for it, so what is tagged
    for clients already gone is at most what was handed to the executor before they left.
    """

    def __init__(self, tag: TagFunction, max_batch: int, max_wait_ms: float,
                 executor: Callable[[], Executor] = lambda: ThreadPoolExecutor(1)) -> None:
        self._tag = tag
        self._max_batch = max_batch
        self._max_wait = max_wait_ms / 1000
        self._queue: collections.deque[_Job] = collections.deque()
        self._arrived = asyncio.Event()
        self._new_executor = executor
        self._executor = executor()
        self._runner: asyncio.Task | None = None
        self._closing = False
        # Two batches in flight: the next one waits in the executor while the current one
        # runs, so the model never idles while answers go out and new requests come in.
        self._in_flight = asyncio.Semaphore(2)
        self._batches: set[asyncio.Task] = set()

    def start(self) -> None:
        self._runner = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Finish what is queued, then stop the worker thread."""
        self._closing = True
        self._arrived.set()
        if self._runner is not None:
            await self._runner
        await asyncio.gather(*self._batches)
        self._executor.shutdown(wait=True)

    @property
    def pending(self) -> int:
        """Texts queued and not yet handed to the model, of clients still waiting for them."""
        return sum(len(job.texts) for job in self._queue if not job.future.done())

    async def submit(self, texts: list[str], scores: bool) -> list[dict]:
        """One result dict per text, in order. Cancelling the call (the client left) cancels
        the job: its texts are not tagged unless they were already handed to the model."""
        if self._closing:
            raise ApiError(503, "the server is shutting down")
        if not texts:
            return []
        job = _Job(texts, scores, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        self._arrived.set()
        return await job.future  # cancelling this await cancels job.future, which _take then skips

    async def _run(self) -> None:
        while not (self._closing and not self._queue):
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            if self._batches:  # the model is busy: let more requests join, up to max_wait_ms
                await self._gather()
            await self._in_flight.acquire()
            jobs = self._take()  # after waiting for room: clients that left meanwhile are not tagged
            if not jobs:
                self._in_flight.release()
                continue
            batch = asyncio.get_running_loop().create_task(self._process(jobs))
            self._batches.add(batch)
            batch.add_done_callback(self._finished)

    def _finished(self, batch: asyncio.Task) -> None:
        self._batches.discard(batch)
        self._in_flight.release()

    async def _gather(self) -> None:
        """Wait until ``max_batch`` texts are queued or ``max_wait_ms`` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait
        while not self._closing and self.pending < self._max_batch:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[_Job]:
        """The next batch: queued jobs in order, at most ``max_batch`` texts unless one job
        alone has more; jobs whose client has gone are dropped. Empty if only those were queued."""
        jobs: list[_Job] = []
        count = 0
        while self._queue:
            job = self._queue[0]
            if job.future.done():  # cancelled: the client went away before its texts were tagged
                self._queue.popleft()
                continue
            if jobs and count + len(job.texts) > self._max_batch:
                break
            jobs.append(self._queue.popleft())
            count += len(job.texts)
        return jobs

    async def _process(self, jobs: list[_Job]) -> None:
        loop = asyncio.get_running_loop()
        texts = [text for job in jobs for text in job.texts]
        scores = any(job.scores for job in jobs)
        try:
            results = await loop.run_in_executor(self._executor, self._tag, texts, scores)
        except Exception as error:
            if isinstance(error, BrokenExecutor):
                log.error("the tagging process died; starting a new one")
                self._executor.shutdown(wait=False)
                self._executor = self._new_executor()
            if len(jobs) > 1:
                for job in jobs:  # alone, so only the request that fails gets the error
                    if not job.future.done():  # (unless its client has gone)
                        await self._process([job])
                return
            log.exception("tagging failed for a request of %d texts", len(texts))
            _settle(jobs[0].future, exception=ApiError(500, "tagging failed; see the server log"))
            return
        offset = 0
        for job in jobs:
            mine = results[offset:offset + len(job.texts)]
            offset += len(job.texts)
            if scores and not job.scores:
                mine = [_without_scores(result) for result in mine]
            _settle(job.future, result=mine)


def _settle(future: asyncio.Future, result: Any = None, exception: BaseException | None = None) -> None:
    if future.done():  # the client went away
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


def _without_scores(result: dict) -> dict:
    entities = [{k: v for k, v in entity.items() if k != "score"} for entity in result["entities"]]
    return {**result, "entities": entities}


class _NotJson(Exception):
    """NaN, Infinity or -Infinity: Python's json module reads them, JSON has no such values."""


def _refuse_constant(name: str) -> float:
    raise _NotJson(f"{name} is not a JSON value")


def load_json(body: bytes) -> Any:
    """The JSON value of a request body; ApiError 400 for a body that is not JSON (NaN and
    Infinity included), 422 for a number too large for Python."""
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, _NotJson) as error:
        raise ApiError(400, f"the body is not valid JSON: {error}") from None
    except ValueError as error:  # valid JSON that Python will not hold: an integer of over 4,300 digits
        raise ApiError(422, f"the body holds a value too large: {error}") from None
    except RecursionError:
        raise ApiError(400, "the body is nested too deeply") from None


def check_text(text: str, limits: Limits, where: str) -> None:
    """ApiError 413 if ``text`` is over ``limits.max_chars``, 422 if it holds half of a surrogate
    pair; ``where`` names it in the message (``texts[3]``)."""
    if len(text) > limits.max_chars:
        raise ApiError(413, f"{where} has {len(text)} characters; the limit is max_chars={limits.max_chars}")
    if not writable(text):
        raise ApiError(422, f"{where} holds {LONE_SURROGATE}")


def parse_request(body: bytes, limits: Limits) -> tuple[list[str], bool, float | None]:
    """``(texts, scores, min_score)`` from a ``/v1/tag`` body, or ApiError naming what is wrong."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise ApiError(422, 'the body must be a JSON object like {"texts": ["..."]}')
    unknown = sorted(set(data) - {"texts", "scores", "min_score"})
    if unknown:
        names = ", ".join(json.dumps(name) for name in unknown)  # escaped: a name may be half a surrogate pair
        raise ApiError(422, f"unknown field(s) {names}; expected texts, scores, min_score")
    texts = data.get("texts")
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise ApiError(422, '"texts" must be a list of strings')
    if len(texts) > limits.max_texts:
        raise ApiError(413, f"{len(texts)} texts in one request; the limit is max_texts={limits.max_texts}")
    for i, text in enumerate(texts):
        check_text(text, limits, f"texts[{i}]")
    scores = data.get("scores", False)
    if not isinstance(scores, bool):
        raise ApiError(422, '"scores" must be true or false')
    min_score = data.get("min_score")
    if min_score is not None:
        if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1:
            raise ApiError(422, '"min_score" must be a number from 0 to 1')
        min_score = float(min_score)
    return texts, scores or min_score is not None, min_score
