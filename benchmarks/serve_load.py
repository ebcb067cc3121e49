"""Load test of ``brandner serve`` on 127.0.0.1: N requests at concurrency C.

    python benchmarks/serve_load.py -m demo/ecommerce.pt --requests 10000 --concurrency 32
    python benchmarks/serve_load.py -m model.pt --server-options '--workers 2 --threads 1'
    python benchmarks/serve_load.py -m model.pt --url http://127.0.0.1:8000   # a server already running

Texts are the sentences of a corpus split (ecommerce test by default), cycled. The
client keeps C HTTP/1.1 keep-alive connections, each sending its next request when
the previous answer is in, and is written on bare asyncio streams so that it costs
the machine little next to the server. Reports requests/s, texts/s, latency p50/p99
and errors (a non-200 answer, a wrong number of results, a broken connection), and,
for comparison in the same run, in-process batch tagging (``Tagger.predict`` on
batches of 256) of the same texts by the same model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks.common import default_data_dir, publish  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.tagging.tagger import Tagger  # noqa: E402
from tests.serving.server import running_server  # noqa: E402


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.texts = 0


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
                    body: bytes) -> tuple[int, bytes]:
    writer.write(b"POST /v1/tag HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (host.encode(), len(body), body))
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _connection(host: str, port: int, requests: Iterator[tuple[bytes, int]], tally: Tally) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    for body, count in requests:
        started = time.perf_counter()
        try:
            status, answer = await _exchange(reader, writer, host, body)
            ok = status == 200 and len(json.loads(answer)["results"]) == count
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            ok = False
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
        tally.latencies.append(time.perf_counter() - started)
        tally.errors += not ok
        tally.texts += count if ok else 0
    writer.close()


async def load(url: str, bodies: list[tuple[bytes, int]], concurrency: int) -> tuple[Tally, float]:
    """Send every body once over ``concurrency`` connections; the tally and the wall time."""
    parts = urlsplit(url)
    requests = iter(bodies)  # shared: each connection takes the next one when it is free
    tally = Tally()
    started = time.perf_counter()
    await asyncio.gather(*(_connection(parts.hostname, parts.port, requests, tally) for _ in range(concurrency)))
    return tally, time.perf_counter() - started


def make_bodies(texts: list[str], requests: int, per_request: int) -> list[tuple[bytes, int]]:
    bodies = []
    for i in range(requests):
        chunk = [texts[(i * per_request + j) % len(texts)] for j in range(per_request)]
        bodies.append((json.dumps({"texts": chunk}, ensure_ascii=False).encode(), len(chunk)))
    return bodies


def in_process_rate(model: Path, texts: list[str], threads: int) -> float:
    """Texts/s of Tagger.predict over batches of 256 with ``threads`` torch threads (best of two passes)."""
    torch.set_num_threads(threads)
    tagger = Tagger.load(model, batch_size=256)
    best = 0.0
    for _ in range(2):
        started = time.perf_counter()
        for i in range(0, len(texts), 256):
            tagger.predict(texts[i:i + 256])
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-m", "--model", required=True, type=Path, help="model file to serve and compare with")
    parser.add_argument("--url", help="a server already running (default: start `brandner serve` here)")
    parser.add_argument("--server-options", default="", help="extra `brandner serve` options, one string")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for the server's model and the in-process comparison (default 1: "
                             "on 2 cores the client and the server's event loop need the other)")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--corpus", default="ecommerce")
    parser.add_argument("--split", default="test")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    texts = [s.text for s in load_split(args.corpus, args.split, args.data_dir)]
    baseline = in_process_rate(args.model, texts, args.threads)
    bodies = make_bodies(texts, args.requests, args.texts_per_request)
    warm_up = make_bodies(texts[::-1], min(500, args.requests), args.texts_per_request)

    def run(url: str) -> tuple[Tally, float]:
        asyncio.run(load(url, warm_up, args.concurrency))
        return asyncio.run(load(url, bodies, args.concurrency))

    if args.url:
        tally, seconds = run(args.url)
    else:
        options = ["--threads", str(args.threads), *shlex.split(args.server_options)]
        with running_server(args.model, *options) as (url, _):
            tally, seconds = run(url)

    latencies_ms = [1000 * t for t in tally.latencies]
    texts_rate = tally.texts / seconds
    rows = [("requests", f"{args.requests:,}"), ("concurrency", args.concurrency),
            ("texts per request", args.texts_per_request),
            ("server", args.url or "`" + f"brandner serve --threads {args.threads} {args.server_options}".strip() + "`"),
            ("texts", f"{args.corpus} {args.split} ({len(texts):,} sentences, cycled)"),
            ("errors", tally.errors), ("requests/s", f"{args.requests / seconds:,.0f}"),
            ("texts/s", f"{texts_rate:,.0f}"),
            ("latency p50 ms", f"{percentile(latencies_ms, 50):.1f}"),
            ("latency p99 ms", f"{percentile(latencies_ms, 99):.1f}"),
            (f"in-process batch-256 texts/s (same model, texts, {args.threads} thread(s))", f"{baseline:,.0f}"),
            ("served / in-process", f"{texts_rate / baseline:.0%}")]
    body = "| measure | value |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows)
    publish('`brandner serve` under concurrent load', body, write=not args.no_write)


if __name__ == "__main__":
    main()
