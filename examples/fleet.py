"""Two processes, one token, one quota: a RedisRateLimiter shared through Redis.

Run it as is: it starts a redis-server of its own (if ``redis-server`` is on PATH; no data is
kept) and a fake Hub with a quota of 40 calls per 2 s, then two worker processes that each
grant 40 users through ``AccessSession(limiter=RedisRateLimiter(...))``. Together they need
80 calls, two windows' worth: the fleet spends the first window, waits for the second, and
the Hub answers no 429. Needs ``pip install 'hf-access[redis]'``::

    python examples/fleet.py                                  # its own redis-server
    python examples/fleet.py --redis redis://localhost:6379/0 # a Redis you run
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from hf_access import AccessSession
from hf_access.fleet import RedisRateLimiter
from hf_access.testing import FakeHub

REPO = "my-org/gated-model"
QUOTA, WINDOW, PER_WORKER = 40, 2, 40


async def worker(hub_url: str, token: str, redis_url: str, names: list[str]) -> None:
    """One process of the fleet: grant ``names`` on the shared quota."""
    limiter = RedisRateLimiter.from_url(redis_url, key="hub:owner")  # the token's user
    async with limiter, AccessSession(token, hub_url, limiter=limiter) as hub:
        report = await hub.grant_many(REPO, names, concurrency=8)
    print(f"  worker {names[0][:2]}: {report.summary()}", flush=True)


@contextmanager
def local_redis() -> Iterator[str | None]:
    """A throw-away redis-server on a free port of 127.0.0.1, or None if there is none."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", workdir, "--logfile", ""]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(500):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                        conn.sendall(b"PING\r\n")
                        if conn.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    time.sleep(0.01)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


def run_fleet(redis_url: str) -> int:
    with FakeHub(quota=QUOTA, window=WINDOW) as hub:  # in a thread of this process
        hub.add_repo(REPO)
        groups = []
        for prefix in ("a-", "b-"):
            names = [f"{prefix}{i:03d}" for i in range(PER_WORKER)]
            for name in names:
                hub.add_user(name)
            groups.append(names)
        print(
            f"talking to a fake Hub at {hub.url}, quota {QUOTA} calls per {WINDOW} s; Redis at {redis_url}; "
            f"two processes granting {PER_WORKER} users each"
        )
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker", hub.url, hub.token, redis_url, ",".join(g)]
            )
            for g in groups
        ]
        codes = [w.wait(120) for w in workers]
        counters = hub.counters
        granted = sum(hub.request_status(REPO, n) == "accepted" for g in groups for n in g)
    print(
        f"2 processes granted {granted} users in {counters.calls.get('grant', 0)} calls: "
        f"{counters.rate_limited} answers 429"
    )
    return 0 if not any(codes) and granted == 2 * PER_WORKER else 1


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        hub_url, token, redis_url, names = sys.argv[2:6]
        asyncio.run(worker(hub_url, token, redis_url, names.split(",")))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", metavar="URL", help="a Redis to use (default: start one)")
    options = parser.parse_args()
    if options.redis:
        return run_fleet(options.redis)
    with local_redis() as url:
        if url is None:
            print("no redis-server on PATH: install it, or pass --redis URL of a running Redis")
            return 0
        return run_fleet(url)


if __name__ == "__main__":
    sys.exit(main())
