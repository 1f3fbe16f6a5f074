"""Benchmark of the bulk engine against the fake Hub running in a separate process.

Four scenarios, side by side in one run (issue 4):

1. quota-bound: accept 5,000 pending users at a quota of 100 calls per 10 s window;
2. latency-bound: grant 2,000 users with 50 ms of server latency, concurrency 32, next to
   huggingface_hub's ``HfApi.grant_access`` run sequentially (timed on a subset);
3. overhead: 5,000 single ``accept`` calls, concurrency 16, next to a minimal aiohttp loop;
4. quota discipline: two sessions spending one token's quota, the second started later.

    .venv/bin/python benchmarks/bench_bulk.py            # full run (about a minute)
    .venv/bin/python benchmarks/bench_bulk.py --quick    # smaller figures, same targets

Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import statistics
import sys
import time
from collections.abc import Sequence

import aiohttp
from _common import Row, Trace, fake_hub_process, machine, print_table, seconds

from hf_access import AccessSession, BulkReport, Decision
from hf_access.testing import OWNER_TOKEN

TOKEN = OWNER_TOKEN


class CountingHandler(logging.Handler):
    """Counts hf_access's warnings (429 pauses) instead of printing them mid-table."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


WARNINGS = CountingHandler()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def check(report: BulkReport[Decision], what: str) -> None:
    if not report.ok:
        first = report.failures()[:1] or [i for i in report.items if not i.ok][:1]
        raise RuntimeError(f"{what}: {report.summary()}; first problem: {first}")


# -- 1. quota-bound ----------------------------------------------------------------------------


async def quota_bound(users: int) -> list[Row]:
    quota, window = 100, 10
    repo = "bench/quota-bound"
    print(f"\n1. quota-bound: accept_many of {users:,} pending users, quota {quota} per {window} s")
    options = ["--repo", repo, "--seed-pending", str(users)]
    options += ["--quota", str(quota), "--window", str(window)]
    with fake_hub_process(*options) as url:
        trace = Trace()
        async with trace.session() as http, AccessSession(TOKEN, url, session=http) as hub:
            names = [f"user-{i:06d}" for i in range(users)]
            started = time.perf_counter()
            report = await hub.accept_many(repo, names, concurrency=16)
            elapsed = time.perf_counter() - started
            stats = hub.limiter.stats
    check(report, "quota-bound")
    limited = trace.statuses().get(429, 0)
    windows = len(trace.sent_per_window(window))
    official_calls = users
    official_windows = math.ceil(official_calls / quota)
    official_s = official_windows * window
    print(
        f"   hf-access: {report.calls} calls (batch of 100), {elapsed:.2f} s, {limited} answered 429, "
        f"limiter waits {stats.waits}, pauses {stats.pauses}, fixed windows touched {windows}"
    )
    print(
        f"   official client (one handle call per user): {official_calls:,} calls = "
        f"{official_windows} windows = {official_s:,} s at this quota"
    )
    print(
        f"   ratio: {official_calls / report.calls:.0f}x fewer calls, ~{official_s / elapsed:.0f}x sooner"
    )
    call_cap = math.ceil(users / 100) + 10  # 5,000 users: at most about 60 calls
    ok_calls = report.calls <= call_cap and limited == 0 and stats.pauses == 0
    ok_window = elapsed < window and stats.waits == 0
    return [
        Row(
            "1 quota-bound: calls, 429s",
            f"{report.calls} calls, {limited} x 429",
            f"<= {call_cap} calls, 0 x 429",
            ok_calls,
        ),
        Row(
            "1 quota-bound: time",
            f"{seconds(elapsed)}, {stats.waits} window waits (official: {official_s:,} s)",
            f"< {window} s, no wait for a window",
            ok_window,
        ),
    ]


# -- 2. latency-bound --------------------------------------------------------------------------


def official_grants(url: str, repo: str, names: Sequence[str]) -> float:
    """Seconds for huggingface_hub's HfApi.grant_access over ``names``, one after the other."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from huggingface_hub import HfApi

    api = HfApi(endpoint=url, token=TOKEN)
    started = time.perf_counter()
    for name in names:
        api.grant_access(repo, name)
    return time.perf_counter() - started


async def raw_grants(url: str, repo: str, names: Sequence[str], concurrency: int) -> float:
    """Reference: a minimal aiohttp loop sending the same grants (what the machine allows)."""
    endpoint = f"{url}/api/models/{repo}/user-access-request/grant"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    semaphore = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:

        async def one(name: str) -> None:
            async with semaphore, http.post(endpoint, json={"user": name}, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"raw grant answered {r.status}")

        started = time.perf_counter()
        await asyncio.gather(*(one(name) for name in names))
        return time.perf_counter() - started


async def latency_bound(users: int, subset: int, runs: int) -> list[Row]:
    latency, concurrency = 0.050, 32
    repo = "bench/latency-bound"
    print(
        f"\n2. latency-bound: grant_many of {users:,} users, {latency * 1000:.0f} ms server "
        f"latency, concurrency {concurrency}, no quota; median of {runs} runs"
    )
    batches = [[f"grantee-{run}-{i:05d}" for i in range(users)] for run in range(runs + 1)]
    theirs = [f"official-{i:05d}" for i in range(subset)]
    options = ["--repo", repo, "--latency-ms", str(latency * 1000)]
    for name in [name for batch in batches for name in batch] + theirs:
        options += ["--user", name]
    times: list[float] = []
    calls = 0
    with fake_hub_process(*options) as url:
        for names in batches[:runs]:
            async with AccessSession(TOKEN, url) as hub:
                started = time.perf_counter()
                report = await hub.grant_many(repo, names, concurrency=concurrency)
                times.append(time.perf_counter() - started)
            check(report, "latency-bound")
            calls += report.calls
        reference = await raw_grants(url, repo, batches[runs], concurrency)
        official = await asyncio.to_thread(official_grants, url, repo, theirs)
    elapsed = statistics.median(times)
    bound = users * latency / concurrency
    per_call = official / subset
    official_all = per_call * users
    ratio = official_all / elapsed
    print(
        f"   hf-access: {calls // runs:,} calls per run in "
        f"{', '.join(f'{t:.2f}' for t in times)} s -> median {elapsed:.2f} s; bound {users:,} x "
        f"{latency:.3f} / {concurrency} = {bound:.3f} s -> {elapsed / bound:.2f}x the bound"
    )
    print(
        f"   reference, minimal aiohttp loop (same grants, same concurrency): {reference:.2f} s "
        f"= {reference / bound:.2f}x the bound"
    )
    print(
        f"   huggingface_hub HfApi.grant_access, sequential: timed on {subset} users "
        f"({official:.2f} s, {per_call * 1000:.1f} ms per call), extrapolated to {users:,}: "
        f"{official_all:.1f} s -> hf-access is {ratio:.1f}x faster"
    )
    return [
        Row(
            "2 latency-bound: vs bound",
            f"{seconds(elapsed)} = {elapsed / bound:.2f}x of {bound:.3f} s "
            f"(raw aiohttp {reference / bound:.2f}x)",
            "<= 1.20x",
            elapsed <= 1.2 * bound,
        ),
        Row(
            "2 latency-bound: vs HfApi",
            f"{ratio:.1f}x faster (HfApi extrapolated from {subset})",
            "> 20x",
            ratio > 20,
        ),
    ]


# -- 3. overhead -------------------------------------------------------------------------------


async def raw_accepts(url: str, repo: str, names: Sequence[str], limit: int) -> float:
    """The minimal hand-written loop: POST handle, same body and bearer header."""
    endpoint = f"{url}/api/models/{repo}/user-access-request/handle"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    semaphore = asyncio.Semaphore(limit)
    failures = 0

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as http:

        async def one(name: str) -> None:
            nonlocal failures
            async with semaphore:
                body = {"user": name, "status": "accepted"}
                async with http.post(endpoint, json=body, headers=headers) as response:
                    await response.read()
                    failures += response.status != 200

        started = time.perf_counter()
        await asyncio.gather(*(one(name) for name in names))
        elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"raw loop: {failures} calls failed")
    return elapsed


async def hf_access_accepts(url: str, repo: str, names: Sequence[str], limit: int) -> float:
    """The same requests through AccessSession.accept (limiter, retries, typed errors)."""
    semaphore = asyncio.Semaphore(limit)
    async with AccessSession(TOKEN, url, connection_limit=limit) as hub:

        async def one(name: str) -> None:
            async with semaphore:
                await hub.accept(repo, name)

        started = time.perf_counter()
        await asyncio.gather(*(one(name) for name in names))
        return time.perf_counter() - started


async def overhead(calls: int, rounds: int) -> list[Row]:
    limit = 16
    print(
        f"\n3. overhead: {calls:,} single accept calls, concurrency {limit}, no added latency; "
        f"{rounds} interleaved rounds, fresh repo per run"
    )
    repos = [f"bench/overhead-{i}" for i in range(2 * rounds)]
    warmup = "bench/overhead-warmup"
    options = ["--seed-pending", str(calls)]
    for repo in [warmup, *repos]:
        options += ["--repo", repo]
    names = [f"user-{i:06d}" for i in range(calls)]
    raw: list[float] = []
    ours: list[float] = []
    cpu = {"raw": 0.0, "ours": 0.0}
    with fake_hub_process(*options) as url:
        await raw_accepts(url, warmup, names[:200], limit)  # warm-up: connections, caches
        for turn in range(rounds):
            raw_repo, our_repo = repos[2 * turn], repos[2 * turn + 1]
            first, second = ("raw", "ours") if turn % 2 == 0 else ("ours", "raw")
            for who in (first, second):
                before = time.process_time()
                if who == "raw":
                    raw.append(await raw_accepts(url, raw_repo, names, limit))
                else:
                    ours.append(await hf_access_accepts(url, our_repo, names, limit))
                cpu[who] += time.process_time() - before
    raw_median, our_median = statistics.median(raw), statistics.median(ours)
    ratio = our_median / raw_median
    raw_cpu = cpu["raw"] / (rounds * calls) * 1e6
    our_cpu = cpu["ours"] / (rounds * calls) * 1e6

    def listing(values: list[float]) -> str:
        return ", ".join(f"{t:.2f}" for t in values)

    print(
        f"   raw aiohttp loop: {listing(raw)} s -> median {raw_median:.2f} s "
        f"({calls / raw_median:,.0f} calls/s), client CPU {raw_cpu:.0f} us per call"
    )
    print(
        f"   hf-access accept: {listing(ours)} s -> median {our_median:.2f} s "
        f"({calls / our_median:,.0f} calls/s), client CPU {our_cpu:.0f} us per call"
    )
    print(f"   ratio hf-access / raw: wall {ratio:.3f}, client CPU {our_cpu / raw_cpu:.3f}")
    return [
        Row(
            "3 overhead: accept vs raw aiohttp",
            f"{our_median:.2f} s / {raw_median:.2f} s = {ratio:.3f}x (median of {rounds})",
            "<= 1.10x",
            ratio <= 1.10,
        )
    ]


# -- 4. quota discipline -----------------------------------------------------------------------


async def quota_discipline(first_users: int, second_users: int) -> list[Row]:
    quota, window, delay = 50, 2, 1.0
    repo = "bench/shared-quota"
    print(
        f"\n4. quota discipline: two sessions, one token, quota {quota} per {window} s; "
        f"A grants {first_users}, B grants {second_users} starting {delay:.0f} s later"
    )
    names_a = [f"a-{i:04d}" for i in range(first_users)]
    names_b = [f"b-{i:04d}" for i in range(second_users)]
    options = ["--repo", repo, "--quota", str(quota), "--window", str(window)]
    for name in names_a + names_b:
        options += ["--user", name]

    async def one(
        names: list[str], wait: float, trace: Trace
    ) -> tuple[BulkReport[Decision], float]:
        await asyncio.sleep(wait)
        async with trace.session() as http, AccessSession(TOKEN, url, session=http) as hub:
            started = time.perf_counter()
            report = await hub.grant_many(repo, names, concurrency=8)
            return report, time.perf_counter() - started

    traces = (Trace(), Trace())
    warned = WARNINGS.count
    with fake_hub_process(*options) as url:
        (report_a, time_a), (report_b, time_b) = await asyncio.gather(
            one(names_a, 0.0, traces[0]), one(names_b, delay, traces[1])
        )
    rows: list[Row] = []
    worst = 0
    for label, report, elapsed, trace in (
        ("A", report_a, time_a, traces[0]),
        ("B", report_b, time_b, traces[1]),
    ):
        seen_policy = trace.ends[0][0]  # the first answer carries the policy
        sent = trace.sent_per_window(window, after=seen_policy)
        served = trace.statuses()
        worst = max(worst, max(sent.values(), default=0))
        print(
            f"   session {label}: {report.summary()}; sent per window after its first answer: "
            f"{sorted(sent.values(), reverse=True)}; answers {dict(sorted(served.items()))}; "
            f"{elapsed:.1f} s"
        )
    together = traces[0].sent_per_window(window) + traces[1].sent_per_window(window)
    print(
        f"   both sessions, calls per window (429s included): "
        f"{[together[k] for k in sorted(together)]}; "
        f"'pausing every task' warnings logged: {WARNINGS.count - warned}"
    )
    complete = report_a.ok and report_b.ok
    rows.append(
        Row(
            "4 quota discipline",
            f"max {worst} sent per window per session; both complete: {complete}",
            f"<= {quota} per window; both complete",
            worst <= quota and complete,
        )
    )
    return rows


# -- main --------------------------------------------------------------------------------------


async def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    if quick:
        rows += await quota_bound(1000)
        rows += await latency_bound(1000, subset=50, runs=1)
        rows += await overhead(2000, rounds=3)
        rows += await quota_discipline(60, 40)
    else:
        rows += await quota_bound(5000)
        rows += await latency_bound(2000, subset=200, runs=3)
        rows += await overhead(5000, rounds=5)
        rows += await quota_discipline(120, 80)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller figures, same targets")
    options = parser.parse_args(argv)
    library_log = logging.getLogger("hf_access")
    library_log.addHandler(WARNINGS)
    library_log.propagate = False
    print(f"bulk engine benchmark{' (quick)' if options.quick else ''}: {machine()}")
    print("fake Hub: python -m hf_access.testing serve, in a separate process on 127.0.0.1")
    print(f"load average before: {load()}")
    started = time.perf_counter()
    rows = asyncio.run(run(options.quick))
    print(f"\nsummary ({time.perf_counter() - started:.0f} s in all; load average after: {load()})")
    print_table(rows)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
