"""Benchmark of the fake Hub: seeding, handle calls per second, 1,000-item list pages.

Targets (issue 3): with 100,000 pending requests on one repository, at least 2,000 handle
calls per second and a 1,000-item list page in under 50 ms (median and p95).

    python benchmarks/bench_fake_hub.py                 # server in a separate process
    python benchmarks/bench_fake_hub.py --mode thread   # server in a thread of this process

Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import aiohttp

from hf_access.testing import OWNER_TOKEN, FakeHub

REPO = "bench/gated-model"
HANDLE_TARGET = 2000.0  # calls per second
PAGE_TARGET_MS = 50.0


@contextmanager
def serve_in_process(count: int) -> Iterator[tuple[str, float]]:
    """Run ``python -m hf_access.testing serve``; yield (url, seconds until listening)."""
    command = [sys.executable, "-m", "hf_access.testing", "serve", "--repo", REPO]
    command += ["--seed-pending", str(count)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        ready = time.perf_counter() - started
        if not line.startswith("listening on "):
            raise RuntimeError(f"unexpected first line from the server: {line!r}")
        yield line.removeprefix("listening on "), ready
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def serve_in_thread(count: int) -> Iterator[tuple[str, float]]:
    """Serve from a thread of this process; yield (url, seconds to seed and start)."""
    started = time.perf_counter()
    hub = FakeHub()
    hub.add_repo(REPO)
    hub.seed_pending(REPO, count)
    with hub:
        yield hub.url, time.perf_counter() - started


@asynccontextmanager
async def client(concurrency: int) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": f"Bearer {OWNER_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        yield session


async def measure_handles(url: str, calls: int, concurrency: int) -> float:
    """Accept ``calls`` pending users with ``concurrency`` workers; return calls per second."""
    endpoint = f"{url}/api/models/{REPO}/user-access-request/handle"
    names = iter(f"user-{i:06d}" for i in range(calls))
    failures = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        for name in names:
            body = {"user": name, "status": "accepted"}
            async with session.post(endpoint, json=body) as response:
                await response.read()
                failures += response.status != 200

    async with client(concurrency) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{failures} handle calls failed")
    return calls / elapsed


async def measure_pages(url: str, pages: int) -> list[float]:
    """Follow ``pages`` 1,000-item pages of the pending list; return latencies in ms."""
    first = f"{url}/api/models/{REPO}/user-access-request/pending?limit=1000"
    next_url: str | None = first
    latencies: list[float] = []
    async with client(1) as session:
        async with session.get(first) as response:  # warm-up (connection, caches)
            await response.read()
        while next_url is not None and len(latencies) < pages:
            started = time.perf_counter()
            async with session.get(next_url) as response:
                items = await response.json()
                link = response.links.get("next")
                next_url = str(link["url"]) if link is not None else None
            latencies.append((time.perf_counter() - started) * 1000)
            if len(items) != 1000:
                raise RuntimeError(f"expected 1000 items, got {len(items)}")
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("process", "thread"), default="process")
    parser.add_argument("--count", type=int, default=100_000, help="pending requests seeded")
    parser.add_argument("--handles", type=int, default=10_000, help="handle calls to time")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smaller run (20,000 requests, 2,000 handle calls, 10 pages), same targets",
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.count, options.handles, options.pages = 20_000, 2_000, 10
    if options.handles + options.pages * 1000 > options.count:
        parser.error("--count must cover --handles plus --pages * 1000 pending requests")

    started = time.perf_counter()
    seeding = FakeHub()
    seeding.add_repo(REPO)
    seeding.seed_pending(REPO, options.count)
    seed_s = time.perf_counter() - started
    del seeding

    serve = serve_in_process if options.mode == "process" else serve_in_thread
    with serve(options.count) as (url, ready_s):
        # Pages first: they read the pending list while it still holds every request.
        latencies = asyncio.run(measure_pages(url, options.pages))
        rate = asyncio.run(measure_handles(url, options.handles, options.concurrency))

    median = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else latencies[0]
    handle_ok = rate >= HANDLE_TARGET
    page_ok = p95 < PAGE_TARGET_MS

    print(f"fake Hub benchmark ({options.mode} mode, {options.count:,} pending on one repo)")
    print(f"  seed {options.count:,} in memory:     {seed_s:.2f} s")
    print(f"  server ready (seeded):     {ready_s:.2f} s")
    print(
        f"  handle calls:              {rate:,.0f} /s ({options.handles:,} calls, "
        f"concurrency {options.concurrency})  target >= {HANDLE_TARGET:,.0f}/s: "
        f"{'met' if handle_ok else 'MISSED'}"
    )
    print(
        f"  1,000-item page:           median {median:.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(latencies):.1f} ms ({len(latencies)} pages)  target < {PAGE_TARGET_MS:.0f} ms: "
        f"{'met' if page_ok else 'MISSED'}"
    )
    return 0 if handle_ok and page_ok else 1


if __name__ == "__main__":
    sys.exit(main())
