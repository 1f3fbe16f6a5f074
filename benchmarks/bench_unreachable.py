"""A bulk run against an endpoint that refuses connections: how long until it stops.

Every call is retried (the default policy: 5 attempts, 7.5 s of backoff at most), so the floor is
what one call takes to give up; the baseline is measured in the same run. A run stops once 3
calls in a row could not connect, so it should take a small multiple of that floor, whatever its
size (before, a 1,000-user grant retried every user: about an hour).

    .venv/bin/python benchmarks/bench_unreachable.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hf_access import AccessSession, APIConnectionError
from hf_access.gitlab import GitLabSession

TARGET_RATIO = 3.0  # a run may take at most this many times one call's retries
TARGET_CALLS = 150


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


async def main(users: int) -> int:
    logging.disable(logging.CRITICAL)
    url = f"http://127.0.0.1:{closed_port()}"
    names = [f"user{i:05d}" for i in range(users)]
    async with (
        AccessSession(token="hf_bench", endpoint=url) as hub,
        GitLabSession("glpat-bench", url) as gitlab,
    ):

        async def one_call() -> None:
            try:
                await hub.accept("org/model", "alice")
            except APIConnectionError:
                return
            raise AssertionError("a closed port answered")

        floor, _ = await timed(one_call)
        runs = {
            f"hub grant_many, {users} users": lambda: hub.grant_many("org/model", names),
            f"hub accept_many --no-batch, {users // 2} users": lambda: hub.accept_many(
                "org/model", names[: users // 2], use_batch=False
            ),
            f"gitlab approve_many by name, {users} users": lambda: gitlab.approve_many(3, names),
        }
        print(f"one call giving up after its retries (baseline): {floor:5.1f} s")
        ok = True
        for label, run in runs.items():
            elapsed, report = await timed(run)
            ratio = elapsed / floor
            met = ratio <= TARGET_RATIO and report.calls <= TARGET_CALLS and report.stopped
            ok = ok and bool(met)
            print(
                f"{label:45s} {elapsed:5.1f} s = {ratio:4.1f} x baseline, {report.calls:4d} calls, "
                f"{report.not_attempted} not attempted; stopped: {report.stopped is not None}"
                f"  {'ok' if met else 'MISSED'}"
            )
    print(f"target: <= {TARGET_RATIO:g} x baseline and <= {TARGET_CALLS} calls per run")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 users instead of 1,000")
    options = parser.parse_args()
    sys.exit(asyncio.run(main(200 if options.quick else 1000)))
