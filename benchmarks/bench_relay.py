"""The webhook relay: events per second through the outbox, and the delay from a request to its
delivery at a 1 s poll interval.

    .venv/bin/python benchmarks/bench_relay.py            # 5,000 events, 60 requesters
    .venv/bin/python benchmarks/bench_relay.py --quick    # 1,000 events, 20 requesters

1. Throughput: a fake Hub (in a thread) holds N pending requests on 10 repos; a relay queues
   them all in a SQLite outbox (one poll) and delivers them to ``examples/webhook_receiver.py
   --serve`` in its own process (which verifies every signature). Measured twice: ordered on one
   repo (one event in flight) and on 10 repos (4 in flight). The baseline, in the same run, is a
   bare aiohttp loop POSTing the same signed bodies at the same concurrency, with no outbox.
2. End to end: requesters ask for access at random moments; a relay polling every second
   delivers to a receiver in the relay's process, which notes when each request arrived.
   Delay = delivery time - the request's creation time on the Hub (median and p95).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from hf_access import AccessSession
from hf_access.screening import Relay
from hf_access.testing import FakeHub
from hf_access.webhooks import generate_secret, signed_headers

ROOT = Path(__file__).resolve().parent.parent
SECRET = generate_secret()


def receiver_process(port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_ACCESS_WEBHOOK_SECRET": SECRET}
    script = str(ROOT / "examples" / "webhook_receiver.py")
    process = subprocess.Popen(
        [sys.executable, script, "--serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("receiving on"):
        raise RuntimeError(f"the receiver did not start: {line!r}")

    def drain() -> None:  # it prints a line per event: keep the pipe flowing
        assert process.stdout is not None
        for _ in process.stdout:
            pass

    threading.Thread(target=drain, daemon=True).start()
    return process


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def through_outbox(hub: FakeHub, repos: list[str], url: str, outbox: Path) -> float:
    async with (
        AccessSession(hub.token, hub.url) as session,
        Relay(
            session,
            repos,
            to=url,
            secret=SECRET,
            outbox=outbox,
            include_existing=True,
            concurrency=4,
            page_size=700,
        ) as relay,
    ):
        queued = await relay.poll(force=True)
        started = time.perf_counter()
        while relay.stats().pending:
            await relay.deliver()
        elapsed = time.perf_counter() - started
        assert relay.delivered == queued, (relay.delivered, queued)
        bodies = [(e.id, e.body) for e in relay.outbox.events()]
    return queued / elapsed, bodies  # type: ignore[return-value]


async def bare_loop(url: str, bodies: list[tuple[str, bytes]], workers: int) -> float:
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)

    async def work(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            event_id, body = queue.get_nowait()
            headers = signed_headers(event_id, int(time.time()), body, SECRET)
            headers["Content-Type"] = "application/json"
            async with http.post(url, data=body, headers=headers) as answer:
                assert answer.status == 204 or answer.status == 200, answer.status

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=workers)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(work(http) for _ in range(workers)))
        return len(bodies) / (time.perf_counter() - started)


def throughput(count: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/hf"
    receiver = receiver_process(port)
    try:
        for label, repos in (("1 repo, ordered", ["bench/r0"]), ("10 repos", None)):
            names = repos or [f"bench/r{i}" for i in range(10)]
            with FakeHub() as hub, tempfile.TemporaryDirectory() as tmp:
                for repo in names:
                    hub.add_repo(repo)
                    hub.seed_pending(repo, count // len(names), prefix=repo.replace("/", "-"))
                rate, bodies = asyncio.run(through_outbox(hub, names, url, Path(tmp) / "relay.db"))
            workers = 1 if len(names) == 1 else 4
            base = asyncio.run(bare_loop(url, bodies, workers))
            print(
                f"throughput, {label}: {count:,} events, relay {rate:,.0f} events/s through the"
                f" outbox; bare aiohttp loop, same concurrency ({workers}): {base:,.0f}/s;"
                f" ratio {base / rate:.2f}x"
            )
    finally:
        receiver.terminate()
        receiver.wait(10)


async def end_to_end(requesters: int, interval: float) -> list[float]:
    delays: list[float] = []
    done = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        event: dict[str, Any] = await request.json()
        made = event["data"]["requested_at"]
        created = time.mktime(time.strptime(made[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        created += int(made[20:23]) / 1000
        delays.append(time.time() - created)
        if len(delays) == requesters:
            done.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/hf", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    rng = random.Random(16)
    with FakeHub() as hub:
        hub.add_repo("bench/e2e")
        async with (
            AccessSession(hub.token, hub.url) as session,
            Relay(
                session,
                ["bench/e2e"],
                to=f"http://127.0.0.1:{port}/hooks/hf",
                secret=SECRET,
                outbox=":memory:",
                interval=interval,
            ) as relay,
        ):
            await relay.poll()

            def ask() -> None:
                for i in range(requesters):
                    time.sleep(rng.uniform(0.05, 0.5))  # requesters arrive at random moments
                    hub.add_user(f"req-{i}")
                    hub.ask_access("bench/e2e", f"req-{i}")

            asker = threading.Thread(target=ask)
            asker.start()
            task = asyncio.create_task(relay.run())
            try:
                await asyncio.wait_for(done.wait(), timeout=requesters * 0.5 + 30)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                asker.join()
    await runner.cleanup()
    return delays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    options = parser.parse_args()
    count, requesters = (1_000, 20) if options.quick else (5_000, 60)
    throughput(count)
    interval = 1.0
    delays = sorted(asyncio.run(end_to_end(requesters, interval)))
    p95 = delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))]
    median = statistics.median(delays)
    met = p95 <= interval + 0.5
    print(
        f"end to end at a {interval:g} s poll interval, {requesters} requesters: median"
        f" {median:.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s (bound: the interval plus"
        f" 0.5 s; {'met' if met else 'NOT met'})"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
