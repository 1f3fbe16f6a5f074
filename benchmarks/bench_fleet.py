"""Benchmark of a fleet on one token (issue 15), against the fake Hub and a real redis-server.

1. shared quota: 4 processes on one token, 200 calls per 5 s window, each granting 300 users
   (1,200 calls), with one RedisRateLimiter (same key) in each; then the same four processes
   with an independent in-process RateLimiter each, beside it;
2. overhead: microseconds per acquire (and release) of the Redis limiter next to the
   in-process one, and Redis round trips per call;
3. one decider: 3 AutoApprover replicas on one repo with a RedisCoordinator while 300
   requesters arrive; the leader is killed (-9) twice; every request must be decided exactly
   once, with an audit line for each;
4. faults: redis-server killed and restarted under a bulk run, which must complete with
   nothing lost or done twice.

    .venv/bin/python benchmarks/bench_fleet.py            # full run (about two minutes)
    .venv/bin/python benchmarks/bench_fleet.py --quick    # smaller figures, same targets

Needs ``redis-server`` on PATH and redis-py (``pip install -e '.[redis]'``). Exit status 0
when every target is met (or, saying so, when no redis-server can be found), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import Row, Trace, fake_hub_process, machine, print_table

from hf_access import AccessSession, AutoApprover, Policy, Quota, RateLimiter
from hf_access.fleet import RedisCoordinator, RedisRateLimiter
from hf_access.testing import OWNER_TOKEN

HERE = Path(__file__).resolve()
TOKEN = OWNER_TOKEN
REPO = "bench/fleet"


# -- a redis-server of the benchmark's own ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_redis(port: int, workdir: str) -> subprocess.Popen[bytes]:
    """redis-server on ``port`` (no persistence), once it answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no redis-server on PATH (apt-get install redis-server)")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", workdir, "--logfile", ""]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.02)


@contextmanager
def redis_server() -> Iterator[str]:
    """A throw-away redis-server on a free port (no persistence); yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc = start_redis(port, workdir)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


# -- 1. shared quota: one worker process -----------------------------------------------------


async def worker(hub_url: str, redis_url: str, start_at: float, names: list[str]) -> None:
    """Grant ``names`` from ``start_at`` on; print what happened as one JSON line."""
    logging.getLogger("hf_access").setLevel(logging.ERROR)  # 429 pauses are counted, not shown
    trace = Trace()
    if redis_url:
        limiter: Any = RedisRateLimiter.from_url(redis_url, key="hub:owner")
    else:
        limiter = RateLimiter()
    await asyncio.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    async with (
        trace.session() as http,
        AccessSession(TOKEN, hub_url, session=http, limiter=limiter) as hub,
    ):
        report = await hub.grant_many(REPO, names, concurrency=8)
    ended = time.time()
    if redis_url:
        await limiter.aclose()
    print(
        json.dumps(
            {
                "done": report.done,
                "failed": report.failed,
                "statuses": {str(k): v for k, v in trace.statuses().items()},
                "starts": trace.starts,
                "first_answer": trace.ends[0][0] if trace.ends else started,
                "started": started,
                "ended": ended,
            }
        ),
        flush=True,
    )


def run_workers(
    hub_url: str, redis_url: str, processes: int, per_process: int, window: int
) -> tuple[list[dict[str, Any]], float]:
    """Start the processes together, just after a window of the fake Hub begins."""
    now = time.time()
    start_at = (math.floor(now / window) + 1) * window + 0.05
    if start_at - now < 1.5:  # leave the interpreters time to start
        start_at += window
    procs = []
    for p in range(processes):
        names = ",".join(f"p{p}-{i:04d}" for i in range(per_process))
        command = [sys.executable, str(HERE), "--worker", hub_url, redis_url, str(start_at), names]
        procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results, start_at


def summarize(
    label: str, results: list[dict[str, Any]], start_at: float, quota: int, window: int
) -> dict[str, Any]:
    total_calls = sum(len(r["starts"]) for r in results)
    statuses: Counter[str] = Counter()
    for r in results:
        statuses.update(r["statuses"])
    wall = max(r["ended"] for r in results) - start_at
    grants = sum(r["done"] for r in results)
    windows = math.ceil(grants / quota)
    bound = (windows - 1) * window  # the last window's calls start as it opens
    policy_known = min(r["first_answer"] for r in results)
    # 429s drawn once the fleet had an answer carrying the policy.
    late_429 = statuses.get("429", 0)
    # Fairness: each process's share of the calls sent while all of them were still running.
    all_running_until = min(r["ended"] for r in results)
    sent = [sum(1 for t in r["starts"] if t <= all_running_until) for r in results]
    fair = sum(sent) / len(sent)
    spread = max(abs(s - fair) / fair for s in sent) if fair else 0.0
    print(
        f"   {label}: {grants} granted in {total_calls} calls; answers {dict(sorted(statuses.items()))}; wall {wall:.1f} s "
        f"vs the quota's bound {bound:.0f} s ({windows} windows) = {wall / bound:.2f}x; "
        f"calls per process while all ran: {sent} (max {spread:.0%} off a fair share)"
    )
    return {
        "grants": grants,
        "calls": total_calls,
        "429": late_429,
        "wall": wall,
        "bound": bound,
        "ratio": wall / bound,
        "spread": spread,
        "policy_known": policy_known,
    }


def shared_quota(processes: int, per_process: int) -> list[Row]:
    quota, window = 200, 5
    print(
        f"\n1. shared quota: {processes} processes, one token, quota {quota} per {window} s, "
        f"{per_process} grants each"
    )
    options = ["--repo", REPO, "--quota", str(quota), "--window", str(window)]
    for p in range(processes):
        for i in range(per_process):
            options += ["--user", f"p{p}-{i:04d}"]
    with redis_server() as redis_url, fake_hub_process(*options) as hub_url:
        fleet, start_at = run_workers(hub_url, redis_url, processes, per_process, window)
        shared = summarize("RedisRateLimiter", fleet, start_at, quota, window)
    with fake_hub_process(*options) as hub_url:
        alone, start_at = run_workers(hub_url, "", processes, per_process, window)
        independent = summarize("independent limiters", alone, start_at, quota, window)
    complete = shared["grants"] == processes * per_process
    return [
        Row(
            "1 shared quota: 429s",
            f"{shared['429']} with Redis; {independent['429']} with independent limiters",
            "0 with Redis",
            shared["429"] == 0 and complete,
        ),
        Row(
            "1 shared quota: wall time",
            f"{shared['wall']:.1f} s = {shared['ratio']:.2f}x the quota's bound of "
            f"{shared['bound']:.0f} s (independent: {independent['wall']:.1f} s)",
            "<= 1.15x",
            shared["ratio"] <= 1.15,
        ),
        Row(
            "1 shared quota: fairness",
            f"each process within {shared['spread']:.0%} of a fair share",
            "within 25%",
            shared["spread"] <= 0.25,
        ),
    ]


# -- 2. overhead -----------------------------------------------------------------------------


async def time_acquires(limiter: Any, count: int) -> float:
    """Microseconds per acquire + release, one call after another."""
    started = time.perf_counter()
    for _ in range(count):
        await limiter.acquire()
        limiter.release(None)
    return (time.perf_counter() - started) / count * 1e6


async def overhead(count: int) -> list[Row]:
    print(f"\n2. overhead: {count:,} acquire + release in a row, quota known and never spent")
    quota = Quota(10_000_000, 300.0)
    local_us = statistics.median([await time_acquires(RateLimiter(quota), count) for _ in range(3)])
    with redis_server() as redis_url:
        ping_us = []
        limiter = RedisRateLimiter.from_url(redis_url, key="hub:bench", quota=quota)
        await time_acquires(limiter, 200)  # warm: the script is loaded, the connection open
        client = limiter._client
        for _ in range(200):
            t = time.perf_counter()
            await client.ping()
            ping_us.append((time.perf_counter() - t) * 1e6)
        before = limiter.stats.round_trips
        redis_us = await time_acquires(limiter, count)
        trips = (limiter.stats.round_trips - before) / count
        await limiter.aclose()
    ping = statistics.median(ping_us)
    print(
        f"   in-process RateLimiter: {local_us:.1f} µs per acquire; RedisRateLimiter: "
        f"{redis_us:.0f} µs per acquire, {trips:.2f} Redis round trips per call; "
        f"a bare PING to the same Redis: {ping:.0f} µs"
    )
    return [
        Row(
            "2 overhead",
            f"{redis_us:.0f} µs per acquire ({trips:.2f} round trips per call; PING {ping:.0f} µs; "
            f"in-process {local_us:.1f} µs)",
            "<= 1 round trip per call",
            trips <= 1.0,
        )
    ]


# -- 3. one decider ----------------------------------------------------------------------------

REPLICA_REPO = "bench/replicas"
LEASE = 2.0
POLICY = {
    "default": "accept",
    "rules": [
        {
            "name": "deny-list",
            "type": "users",
            "users": [f"r-{i:04d}" for i in range(0, 1000, 10)],
            "decision": "reject",
            "reason": "Not for this model.",
        }
    ],
}


async def replica(hub_url: str, redis_url: str, audit: str) -> None:
    """One replica of the screening service; runs until killed."""
    logging.getLogger("hf_access").setLevel(logging.ERROR)
    coordinator = RedisCoordinator.from_url(redis_url, name="bench-replicas", lease_ttl=LEASE)
    async with coordinator, AccessSession(TOKEN, hub_url) as hub:
        approver = AutoApprover(
            hub,
            [REPLICA_REPO],
            Policy.from_dict(POLICY),
            audit_log=audit,
            coordinator=coordinator,
            interval=0.25,
            max_interval=0.25,
            # Requesters may start before the first replica's first poll: those count too.
            include_existing=True,
        )
        await approver.run()


def lease_holder(client: Any) -> tuple[int, int] | None:
    """(pid, fencing token) of the replica holding the lease, or None."""
    value = client.get("hf-access:coord:{bench-replicas}:lease")
    if value is None:
        return None
    holder, _, token = value.decode().rpartition("|")
    return int(holder.split(":")[1]), int(token)


async def one_decider(requesters: int, seconds: float) -> list[Row]:
    import redis as sync_redis

    from hf_access.testing import FakeHub

    print(
        f"\n3. one decider: 3 AutoApprover replicas (lease {LEASE:.0f} s), {requesters} requesters "
        f"over {seconds:.0f} s, the leader killed (-9) twice"
    )
    moves: Counter[str] = Counter()
    with redis_server() as redis_url, FakeHub() as hub, tempfile.TemporaryDirectory() as tmp:
        hub.add_repo(REPLICA_REPO)
        state = hub._state  # count every status change the server makes, per user
        original_move = state._move

        def counting_move(repo: Any, request: Any, status: str, *args: Any) -> None:
            moves[request.user.name] += 1
            original_move(repo, request, status, *args)

        state._move = counting_move
        client = sync_redis.Redis.from_url(redis_url)
        audits = [str(Path(tmp) / f"audit-{i}.jsonl") for i in range(3)]
        command = [sys.executable, str(HERE), "--replica", hub.url, redis_url]
        replicas = {}
        for audit in audits:
            proc = subprocess.Popen([*command, audit])
            replicas[proc.pid] = proc
        names = [f"r-{i:04d}" for i in range(requesters)]
        kills_at = {requesters // 3, 2 * requesters // 3}
        takeovers: list[float] = []
        started = time.monotonic()
        for i, name in enumerate(names):
            await asyncio.sleep(max(0.0, started + i * seconds / requesters - time.monotonic()))
            hub.add_user(name)
            hub.ask_access(REPLICA_REPO, name)
            if i in kills_at:
                holder = lease_holder(client)
                while holder is None:  # the first election may still be under way
                    await asyncio.sleep(0.05)
                    holder = lease_holder(client)
                pid, token = holder
                replicas.pop(pid).kill()
                killed = time.monotonic()
                while (now := lease_holder(client)) is None or now[1] == token:
                    await asyncio.sleep(0.01)
                takeovers.append(time.monotonic() - killed)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pending = sum(1 for r in hub.snapshot(REPLICA_REPO).values() if r.status == "pending")
            if not pending:
                break
            await asyncio.sleep(0.2)
        for proc in replicas.values():
            proc.terminate()
            proc.wait(10)
        lines: Counter[str] = Counter()
        for audit in audits:
            path = Path(audit)
            if path.exists():
                for line in path.read_text().splitlines():
                    record = json.loads(line)
                    if record["outcome"] in ("ok", "recovered"):
                        lines[record["user"]] += 1
        final = {u: r.status for u, r in hub.snapshot(REPLICA_REPO).items()}
    decided = sum(1 for n in names if final.get(n) in ("accepted", "rejected"))
    once = sum(1 for n in names if moves[n] == 1)
    twice = sum(1 for n in names if moves[n] > 1)
    audited = sum(1 for n in names if lines[n] >= 1)
    print(
        f"   {decided} of {requesters} decided; moved exactly once: {once}, more than once: "
        f"{twice}; with an audit line: {audited} ({sum(lines.values())} lines); takeovers after "
        f"the kills: {', '.join(f'{t:.2f} s' for t in takeovers)}"
    )
    return [
        Row(
            "3 one decider",
            f"{once}/{requesters} decided exactly once, {twice} twice; {audited} audited; "
            f"takeover {max(takeovers, default=0):.2f} s",
            f"all exactly once, all audited, takeover <= the lease ({LEASE:.0f} s) + 0.5 s",
            once == requesters and audited == requesters and max(takeovers) <= LEASE + 0.5,
        )
    ]


# -- 4. faults --------------------------------------------------------------------------------


async def redis_restart(users: int) -> list[Row]:
    from hf_access.testing import FakeHub

    quota, window = 200, 5
    print(
        f"\n4. faults: one bulk run of {users} grants at {quota} calls per {window} s; redis-server "
        f"killed (-9) after a quarter of them and started again 3 s later (empty)"
    )
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    names = [f"f-{i:04d}" for i in range(users)]
    with tempfile.TemporaryDirectory() as workdir, FakeHub(quota=quota, window=window) as hub:
        hub.add_repo(REPO)
        for name in names:
            hub.add_user(name)
        proc = start_redis(port, workdir)
        limiter = RedisRateLimiter.from_url(url, key="hub:owner", reconnect_after=1.0)
        events: list[str] = []
        started = time.monotonic()

        def progress(p: Any) -> None:
            nonlocal proc
            if p.finished == users // 4 and not events:
                proc.kill()
                proc.wait(10)
                events.append(f"killed at {time.monotonic() - started:.1f} s")
                asyncio.get_running_loop().call_later(3.0, restart)

        def restart() -> None:
            nonlocal proc
            proc = start_redis(port, workdir)
            events.append(f"back at {time.monotonic() - started:.1f} s")

        async with limiter, AccessSession(TOKEN, hub.url, limiter=limiter) as session:
            report = await session.grant_many(REPO, names, concurrency=8, on_progress=progress)
        elapsed = time.monotonic() - started
        proc.terminate()
        proc.wait(10)
        counters = hub.counters
        accepted = sum(hub.request_status(REPO, n) == "accepted" for n in names)
    print(
        f"   {report.summary()}; {accepted} accepted; answers 429: {counters.rate_limited}; "
        f"grant calls {counters.calls.get('grant', 0)}; Redis {', '.join(events)}; "
        f"fell back {limiter.stats.fallbacks}x; {elapsed:.1f} s"
    )
    ok = report.done == users and report.unchanged == 0 and accepted == users
    return [
        Row(
            "4 faults: Redis killed and restarted",
            f"{report.done}/{users} done, {report.unchanged} twice, {report.failed} failed; "
            f"{counters.rate_limited} answers 429",
            "all done once, none lost",
            ok,
        )
    ]


# -- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--replica":
        asyncio.run(replica(*argv[1:4]))
        return 0
    if argv and argv[0] == "--worker":
        hub_url, redis_url, start_at, names = argv[1:5]
        asyncio.run(worker(hub_url, redis_url, float(start_at), names.split(",")))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller figures, same targets")
    options = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        print("bench_fleet: skipped, no redis-server on PATH (apt-get install redis-server)")
        return 0
    print(f"fleet benchmark{' (quick)' if options.quick else ''}: {machine()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    rows: list[Row] = []
    if options.quick:
        rows += shared_quota(4, 150)
        rows += asyncio.run(overhead(2000))
        rows += asyncio.run(one_decider(120, 20.0))
        rows += asyncio.run(redis_restart(400))
    else:
        rows += shared_quota(4, 300)
        rows += asyncio.run(overhead(10_000))
        rows += asyncio.run(one_decider(300, 60.0))
        rows += asyncio.run(redis_restart(600))
    print(f"\nsummary ({time.perf_counter() - started:.0f} s in all)")
    print_table(rows)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
