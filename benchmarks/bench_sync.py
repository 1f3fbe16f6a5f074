"""Benchmark of ``sync`` (plan_access + apply_plan): 20,000 users against the fake Hub.

The fake Hub runs in its own process (this script started with ``--serve``), seeded with a
realistic mix for a list of 20,000 users (scaled down by ``--quick``):

- 60 % of the list pending (accepted by batches of 100), 10 % reset (accepted too),
  20 % already accepted (unchanged), 10 % with no request (granted, one call each);
- 5 % more accepted users who are not on the list (cancelled), 2.5 % rejected ones.

It prints the reads, writes and wall time of the first sync, then of a second sync of the
same list (in sync: reads only, no write), next to a baseline measured in the same run: the
usual script that sends one call per changed user (``use_batch=False``, timed on a subset).
It ends with the cost of syncing 100,000 users against the free plan's quota (1,000 calls
per 5 minutes).

    .venv/bin/python benchmarks/bench_sync.py            # 20,000 users
    .venv/bin/python benchmarks/bench_sync.py --quick    # 2,000 users

Exit status 0 when the targets are met (second sync without a write; fewer calls than the
baseline), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from _common import Row, machine, print_table, seconds

from hf_access import AccessSession, HfAccessWarning
from hf_access.testing import OWNER_TOKEN, FakeHub

REPO = "bench/sync"
BASELINE_REPO = "bench/baseline"
FREE_QUOTA, WINDOW = 1_000, 300


def mix(users: int) -> dict[str, list[str]]:
    """The names of each group of the seeded repo, for a list of ``users``."""
    names = [f"u{i:06d}" for i in range(users)]
    a, b, c = int(users * 0.6), int(users * 0.7), int(users * 0.9)
    extra = [f"x{i:06d}" for i in range(int(users * 0.075))]
    cut = len(extra) * 2 // 3
    return {
        "pending": names[:a],
        "reset": names[a:b],
        "accepted": names[b:c],
        "none": names[c:],
        "unlisted_accepted": extra[:cut],
        "unlisted_rejected": extra[cut:],
        "wanted": names,
    }


def serve(users: int, baseline: int) -> None:
    """Seed the fake Hub and serve it until killed (the ``--serve`` mode)."""

    async def main() -> None:
        hub = FakeHub()
        hub.add_repo(REPO)
        groups = mix(users)
        # Requests arrive one by one: one millisecond apart, as the fake Hub's seed_pending does
        # (at a single instant, a list that ends on a full page would be read twice).
        stamps = (1_700_000_000.0 + n / 1000 for n in itertools.count())
        for status in ("pending", "reset", "accepted"):
            for name in groups[status]:
                at = next(stamps)
                decided = None if status == "pending" else at + 60
                hub.seed_request(REPO, name, status=status, requested_at=at, decided_at=decided)
        for status, key in (("accepted", "unlisted_accepted"), ("rejected", "unlisted_rejected")):
            for name in groups[key]:
                at = next(stamps)
                hub.seed_request(REPO, name, status=status, requested_at=at, decided_at=at + 60)
        for name in groups["none"]:
            hub.add_user(name)
        hub.add_repo(BASELINE_REPO)
        hub.seed_pending(BASELINE_REPO, baseline, prefix="b")
        async with hub:
            print(f"listening on {hub.url}", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main())


@contextmanager
def hub_process(users: int, baseline: int) -> Iterator[str]:
    command = [sys.executable, __file__, "--serve", str(users), str(baseline)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the fake Hub did not start: {line!r}")
        yield line.removeprefix("listening on ")
    finally:
        process.terminate()
        process.wait(10)


def quota_time(calls: int, quota: int = FREE_QUOTA, window: int = WINDOW) -> float:
    """Seconds to send ``calls`` at ``quota`` per fixed ``window`` (the last window partly)."""
    windows = math.ceil(calls / quota)
    return max(windows - 1, 0) * window


def human(secs: float) -> str:
    if secs < 60:
        return "under a minute"
    if secs < 3600:
        return f"{secs / 60:.0f} min"
    return f"{secs / 3600:.1f} h"


async def run(users: int, baseline: int) -> list[Row]:
    rows: list[Row] = []
    wanted = mix(users)["wanted"]
    with hub_process(users, baseline) as url:
        async with AccessSession(OWNER_TOKEN, url) as hub:
            started = time.perf_counter()
            plan = await hub.plan_access(REPO, wanted, remove="cancel")
            planned = time.perf_counter() - started
            before = hub.calls
            report = await hub.apply_plan(plan, concurrency=16)
            first = time.perf_counter() - started
            writes = hub.calls - before
            assert report.ok, report.summary()

            started = time.perf_counter()
            again = await hub.plan_access(REPO, wanted, remove="cancel")
            second_report = await hub.apply_plan(again)
            second = time.perf_counter() - started

            names = [f"b-{i:06d}" for i in range(baseline)]
            started = time.perf_counter()
            naive = await hub.accept_many(BASELINE_REPO, names, use_batch=False, concurrency=16)
            per_call = (time.perf_counter() - started) / baseline
            assert naive.ok, naive.summary()

    counts = plan.counts()
    changes = counts["changes"]
    naive_calls = plan.reads + changes
    naive_time = planned + changes * per_call
    print(f"\nsync of {users:,} users ({machine()})")
    print(
        f"  plan: {counts['grant']:,} grant, {counts['accept']:,} accept, "
        f"{counts['remove']:,} cancel, {counts['unchanged']:,} unchanged"
    )
    print(
        f"  first sync : {plan.reads:,} reads + {writes:,} writes = {plan.reads + writes:,} calls "
        f"in {seconds(first)} (plan {seconds(planned)})"
    )
    print(
        f"  second sync: {again.reads:,} reads + {second_report.calls:,} writes "
        f"in {seconds(second)} ({again.summary()})"
    )
    print(
        f"  baseline (one call per changed user, {per_call * 1000:.2f} ms a call measured on "
        f"{baseline:,}): {naive_calls:,} calls, about {seconds(naive_time)}"
    )
    print(f"\ncost of syncing 100,000 users on the free plan ({FREE_QUOTA:,} calls / 5 min):")
    scale = 100_000 / users
    for label, reads, writes_ in [
        ("this mix", plan.reads * scale, writes * scale),
        ("all pending (accept)", 100 + 3, 1_000),
        ("all new (grant)", 1 + 3, 100_000),
        ("already in sync", 100 + 3, 0),
    ]:
        calls = math.ceil(reads + writes_)
        print(
            f"  {label:<22} {math.ceil(reads):>7,} reads + {math.ceil(writes_):>7,} writes "
            f"= {calls:>7,} calls: {math.ceil(calls / FREE_QUOTA):>3} windows, "
            f"{human(quota_time(calls))} of waiting for the quota"
        )
    rows.append(
        Row(
            "second sync writes nothing",
            f"{second_report.calls} writes",
            "0",
            second_report.calls == 0 and again.in_sync,
        )
    )
    rows.append(
        Row(
            "calls vs one call per change",
            f"{plan.reads + writes:,} vs {naive_calls:,} ({naive_calls / (plan.reads + writes):.1f}x)",
            "fewer",
            plan.reads + writes < naive_calls,
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 users instead of 20,000")
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(*options.serve)
        return 0
    users = 2_000 if options.quick else 20_000
    # A list of exactly 1,000 * n entries ends on a full page with no next link: the
    # library's "may be cut short" warning is expected here and would only clutter the figures.
    warnings.simplefilter("ignore", HfAccessWarning)
    rows = asyncio.run(run(users, baseline=500 if options.quick else 2_000))
    print()
    print_table(rows)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
