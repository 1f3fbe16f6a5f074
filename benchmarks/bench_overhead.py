"""How close to the wire hf-access runs: its client CPU next to a raw aiohttp loop and to
huggingface_hub, measured side by side in one run against the fake Hub in another process.

Each row runs its two contenders in interleaved rounds (A B, B A, A B...), takes the client
process's CPU time (``time.process_time``) of every round, and reports the median of the
pairwise ratios, so that the machine's drift hits both sides alike. The single-call row also
counts the client's instructions per call under valgrind's callgrind (when valgrind is
installed), a figure the machine's load does not move.

    .venv/bin/python benchmarks/bench_overhead.py            # full size (a few minutes)
    .venv/bin/python benchmarks/bench_overhead.py --quick    # smaller figures, same targets

Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from _common import Row, Trace, fake_hub_process, machine, print_table
from multidict import CIMultiDict, CIMultiDictProxy

from hf_access import AccessSession, Quota
from hf_access.testing import OWNER_TOKEN

TOKEN = OWNER_TOKEN
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")

Side = Callable[[int], Awaitable[Any]]
"""One contender of a row: runs round ``n`` (its own data for that round)."""


async def interleaved(a: Side, b: Side, rounds: int) -> tuple[list[float], list[float]]:
    """CPU seconds of ``a`` and ``b`` in each of ``rounds`` rounds, the order alternating."""
    cpu_a: list[float] = []
    cpu_b: list[float] = []
    for n in range(rounds):
        order = ((a, cpu_a), (b, cpu_b)) if n % 2 == 0 else ((b, cpu_b), (a, cpu_a))
        for side, out in order:
            before = time.process_time()
            await side(n)
            out.append(time.process_time() - before)
    return cpu_a, cpu_b


def pairwise(ours: Sequence[float], theirs: Sequence[float]) -> float:
    """The median of ``ours[i] / theirs[i]``."""
    return statistics.median(o / t for o, t in zip(ours, theirs, strict=True))


def us(seconds: float, per: int) -> str:
    return f"{seconds / per * 1e6:.2f} us"


# -- listing -------------------------------------------------------------------------------------


async def raw_list(http: aiohttp.ClientSession, url: str) -> int:
    """The floor: GET each page, ``json.loads`` it, follow ``Link: rel=next``."""
    count = 0
    next_url: str | None = url
    while next_url is not None:
        async with http.get(next_url, headers=HEADERS) as response:
            body = await response.read()
            link = response.links.get("next")
        for _item in json.loads(body):
            count += 1
        next_url = str(link["url"]) if link else None
    return count


async def listing(records: int, rounds: int) -> list[Row]:
    from huggingface_hub import HfApi

    repo = "bench/listing"
    print(f"\n1. listing {records:,} pending requests ({rounds} interleaved rounds each)")
    rows: list[Row] = []
    with fake_hub_process("--repo", repo, "--seed-pending", str(records)) as url:
        first = f"{url}/api/models/{repo}/user-access-request/pending?limit=1000"
        api = HfApi(endpoint=url, token=TOKEN)
        async with aiohttp.ClientSession() as http, AccessSession(TOKEN, url) as hub:

            async def raw(_: int) -> None:
                assert await raw_list(http, first) == records

            async def ours_streamed(_: int) -> None:
                count = 0
                async for _item in hub.iter_requests(repo, "pending", page_size=1000):
                    count += 1
                assert count == records

            async def ours_full(_: int) -> None:
                assert len(await hub.list_pending(repo)) == records

            async def theirs_streamed(_: int) -> None:
                count = 0
                for _item in api.list_pending_access_requests(repo):
                    count += 1
                assert count == records

            async def theirs_full(_: int) -> None:
                assert len(list(api.list_pending_access_requests(repo))) == records

            await raw(0)
            await ours_streamed(0)
            await theirs_full(0)  # warm-up: connections, caches, hooks
            ours, floor = await interleaved(ours_streamed, raw, rounds)
            ratio = pairwise(ours, floor)
            print(
                f"   iter_requests {us(statistics.median(ours), records)} per record; raw aiohttp "
                f"+ json.loads {us(statistics.median(floor), records)} -> {ratio:.2f}x"
            )
            rows.append(
                Row(
                    "1 listing vs raw aiohttp",
                    f"{ratio:.2f}x CPU per record",
                    "<= 2.00x",
                    ratio <= 2.0,
                )
            )
            ours, theirs = await interleaved(ours_streamed, theirs_streamed, rounds)
            ratio = 1 / pairwise(ours, theirs)
            print(
                f"   streamed: iter_requests {us(statistics.median(ours), records)}, "
                f"huggingface_hub {us(statistics.median(theirs), records)} -> {ratio:.2f}x faster"
            )
            rows.append(
                Row(
                    "1 listing streamed vs huggingface_hub",
                    f"{ratio:.2f}x faster",
                    ">= 1.30x",
                    ratio >= 1.3,
                )
            )
            ours, theirs = await interleaved(ours_full, theirs_full, rounds)
            ratio = 1 / pairwise(ours, theirs)
            print(
                f"   full list: list_pending {us(statistics.median(ours), records)}, "
                f"list_pending_access_requests {us(statistics.median(theirs), records)} "
                f"-> {ratio:.2f}x faster"
            )
            rows.append(
                Row(
                    "1 list_pending vs huggingface_hub",
                    f"{ratio:.2f}x faster",
                    ">= 1.30x",
                    ratio >= 1.3,
                )
            )
        ours = [memory_probe("ours", url, repo, records) for _ in range(2)]
        theirs = [memory_probe("theirs", url, repo, records) for _ in range(2)]
    (mine, extra), (others, _) = min(ours), min(theirs)
    print(
        f"   peak memory growth of a fresh process holding the {records:,}: hf-access "
        f"{mine:.1f} MB, huggingface_hub {others:.1f} MB"
    )
    print(
        f"   of hf-access's, {extra:.1f} MB ({extra * 2**20 / records:.0f} B per record) are "
        f"the values of the fields huggingface_hub's record leaves out ({', '.join(EXTRA_FIELDS)})"
    )
    rows.append(
        Row(
            "1 list_pending memory vs huggingface_hub",
            f"{mine:.1f} MB / {others:.1f} MB = {mine / others:.2f}x",
            "<= 1.00x",
            mine <= others,
        )
    )
    rows.append(
        Row(
            "1 the same, less the fields huggingface_hub leaves out",
            f"{mine - extra:.1f} MB / {others:.1f} MB = {(mine - extra) / others:.2f}x",
            "<= 1.00x",
            mine - extra <= others,
        )
    )
    return rows


EXTRA_FIELDS = (
    "user_id",
    "avatar_url",
    "is_pro",
    "user_type",
    "verified_orgs",
    "reviewed_at",
    "granted_by",
)
"""The fields of hf-access's ``AccessRequest`` that huggingface_hub's record does not have."""


def extra_bytes(records: Sequence[Any]) -> int:
    """The bytes of the objects the :data:`EXTRA_FIELDS` of ``records`` hold, each object
    counted once (a value shared by many records, such as ``"user"`` or ``False``, counts once;
    ``None`` and the empty tuple count nothing). A tuple's items are counted, a nested record's
    own fields are not (a pending list has none); nor are the record's slots themselves."""
    seen: set[int] = set()
    total = 0
    for record in records:
        for name in EXTRA_FIELDS:
            value = getattr(record, name)
            if value is None or value == () or id(value) in seen:
                continue
            seen.add(id(value))
            total += sys.getsizeof(value)
            if type(value) is tuple:
                for item in value:
                    if id(item) not in seen:
                        seen.add(id(item))
                        total += sys.getsizeof(item)
    return total


def memory_probe(who: str, url: str, repo: str, records: int) -> tuple[float, float]:
    """Peak RSS growth (MB) of a fresh process while it lists and holds every record, and the
    MB of that taken by the values of :data:`EXTRA_FIELDS` (0 for huggingface_hub)."""
    command = [sys.executable, __file__, "--memory-probe", who, url, repo, str(records)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    growth, extra = out.stdout.split()
    return float(growth), float(extra)


def run_memory_probe(who: str, url: str, repo: str, records: int) -> None:
    from huggingface_hub import HfApi

    def reset_peak() -> float:
        """Reset the kernel's high-water mark of this process (Linux); the RSS now, MB."""
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return peak()

    def status(field: str) -> float:
        with open("/proc/self/status") as lines:
            for line in lines:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field} in /proc/self/status")

    def peak() -> float:
        return status("VmHWM:")

    def rss() -> float:
        return status("VmRSS:")

    if who == "ours":

        async def main() -> int:
            async with AccessSession(TOKEN, url) as hub:
                async for _item in hub.iter_requests(repo, "pending"):
                    break  # warm-up: the first page, as for huggingface_hub below
                before = reset_peak()
                held = await hub.list_pending(repo)
                print(peak() - before, extra_bytes(held) / 2**20)
                return len(held)

        assert asyncio.run(main()) == records
    else:
        api = HfApi(endpoint=url, token=TOKEN)
        next(iter(api.list_pending_access_requests(repo)))  # warm-up
        before = reset_peak()
        held = list(api.list_pending_access_requests(repo))
        print(peak() - before, 0.0)
        assert len(held) == records


# -- single calls ----------------------------------------------------------------------------------


async def single_calls(calls: int, rounds: int) -> list[Row]:
    limit = 16
    print(f"\n2. single calls: {calls:,} accept calls, concurrency {limit} ({rounds} rounds)")
    repos = [f"bench/single-{i}" for i in range(2 * rounds + 1)]
    options = ["--seed-pending", str(calls)]
    for repo in repos:
        options += ["--repo", repo]
    names = [f"user-{i:06d}" for i in range(calls)]
    with fake_hub_process(*options) as url:
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as http,
            AccessSession(TOKEN, url, connection_limit=limit) as hub,
        ):

            async def raw(n: int) -> None:
                endpoint = f"{url}/api/models/{repos[2 * n]}/user-access-request/handle"
                semaphore = asyncio.Semaphore(limit)

                async def one(name: str) -> None:
                    async with semaphore:
                        body = {"user": name, "status": "accepted"}
                        async with http.post(endpoint, json=body, headers=HEADERS) as response:
                            await response.read()
                            assert response.status == 200

                await asyncio.gather(*(one(name) for name in names))

            async def ours(n: int) -> None:
                repo = repos[2 * n + 1]
                semaphore = asyncio.Semaphore(limit)

                async def one(name: str) -> None:
                    async with semaphore:
                        await hub.accept(repo, name)

                await asyncio.gather(*(one(name) for name in names))

            async def warm(_: int) -> None:
                for name in names[:100]:
                    await hub.accept(repos[-1], name)

            await warm(0)
            mine, floor = await interleaved(ours, raw, rounds)
    ratio = pairwise(mine, floor)
    print(
        f"   accept {us(statistics.median(mine), calls)} per call, raw aiohttp "
        f"{us(statistics.median(floor), calls)} -> {ratio:.3f}x"
    )
    own, alone = await own_cpu(20_000, 9)
    print(
        f"   hf-access's own CPU per accept, no network (an aiohttp stand-in): {own:.2f} us "
        f"(the stand-in alone {alone:.2f} us, subtracted)"
    )
    rows = [
        Row(
            "2 single call vs raw aiohttp (CPU)",
            f"{ratio:.3f}x CPU per call",
            "<= 1.05x",
            ratio <= 1.05,
        )
    ]
    counted = instructions_per_call()
    if counted is None:
        print("   (no valgrind here: the instruction count is skipped)")
        return rows
    mine_i, floor_i = counted
    ratio_i = mine_i / floor_i
    print(
        f"   client instructions per call (valgrind callgrind; the same count on every run, "
        f"whatever the machine's load): accept {mine_i:,.0f}, raw aiohttp {floor_i:,.0f} "
        f"-> {ratio_i:.3f}x"
    )
    rows.append(
        Row(
            "2 single call vs raw aiohttp (user-space instructions)",
            f"{ratio_i:.3f}x per call",
            "<= 1.05x",
            ratio_i <= 1.05,
        )
    )
    return rows


INSTRUCTION_CALLS = (200, 1_200)
"""The two run lengths of the instruction count: the difference of their totals is the cost
of 1,000 calls, without start-up, imports and warm-up."""


def instructions_per_call() -> tuple[float, float] | None:
    """Client instructions per ``accept`` and per raw aiohttp call, counted by callgrind in
    child processes against one fake Hub (None without valgrind)."""
    if shutil.which("valgrind") is None:
        return None
    short, long = INSTRUCTION_CALLS
    repos = [f"bench/instr-{who}-{n}" for who in ("ours", "raw") for n in (short, long)]
    options = ["--seed-pending", str(long + 200)]
    for repo in repos:
        options += ["--repo", repo]
    totals: dict[tuple[str, int], int] = {}
    with fake_hub_process(*options) as url:
        for who in ("ours", "raw"):
            for n in (short, long):
                command = [
                    "valgrind",
                    "--tool=callgrind",
                    "--callgrind-out-file=/dev/null",
                    sys.executable,
                    __file__,
                    "--instruction-probe",
                    who,
                    url,
                    f"bench/instr-{who}-{n}",
                    str(n),
                ]
                out = subprocess.run(command, capture_output=True, text=True, check=True)
                match = re.search(r"Collected : ([\d,]+)", out.stderr)
                if match is None:
                    raise RuntimeError(f"callgrind printed no total: {out.stderr[-500:]}")
                totals[who, n] = int(match[1].replace(",", ""))
    calls = long - short
    return (
        (totals["ours", long] - totals["ours", short]) / calls,
        (totals["raw", long] - totals["raw", short]) / calls,
    )


def run_instruction_probe(who: str, url: str, repo: str, calls: int) -> None:
    """``calls`` accepts at concurrency 16 after 200 of warm-up (run under callgrind)."""
    names = [f"user-{i:06d}" for i in range(calls + 200)]
    limit = 16

    async def main() -> None:
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as http,
            AccessSession(TOKEN, url, connection_limit=limit) as hub,
        ):
            semaphore = asyncio.Semaphore(limit)
            endpoint = f"{url}/api/models/{repo}/user-access-request/handle"

            async def ours(name: str) -> None:
                async with semaphore:
                    await hub.accept(repo, name)

            async def raw(name: str) -> None:
                body = {"user": name, "status": "accepted"}
                async with semaphore, http.post(endpoint, json=body, headers=HEADERS) as r:
                    await r.read()
                    assert r.status == 200

            one = ours if who == "ours" else raw
            await asyncio.gather(*(one(name) for name in names[:200]))
            await asyncio.gather(*(one(name) for name in names[200:]))

    asyncio.run(main())


class _StandInAnswer:
    """What the transport reads of an aiohttp answer: the fake Hub's usual 200."""

    status = 200
    content_length = 2

    def __init__(self, remaining: int) -> None:
        self.headers = CIMultiDictProxy(
            CIMultiDict(
                {
                    "Content-Type": "application/json; charset=utf-8",
                    "Content-Length": "2",
                    "X-Request-Id": "Root=1-00000000-000000000000000000000001",
                    "RateLimit": f'"api";r={remaining};t=120',
                    "RateLimit-Policy": '"fixed window";"api";q=1000000;w=300',
                }
            )
        )

    async def read(self) -> bytes:
        return b"{}"

    def close(self) -> None:
        pass


class _StandInCall:
    def __init__(self, remaining: int) -> None:
        self.remaining = remaining

    async def __aenter__(self) -> _StandInAnswer:
        return _StandInAnswer(self.remaining)

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _StandInSession:
    """Answers every request at once, without I/O: what is left of a call is hf-access's own."""

    closed = False
    connector = None

    def __init__(self) -> None:
        self.remaining = 999_999

    def request(self, method: str, url: str, **options: Any) -> _StandInCall:
        self.remaining -= 1
        return _StandInCall(self.remaining)


async def own_cpu(calls: int, rounds: int) -> tuple[float, float]:
    """hf-access's own CPU per ``accept`` (µs): the stand-in's answers, less the stand-in alone
    (the best of ``rounds``, both)."""
    stand_in = _StandInSession()
    names = [f"user-{i:06d}" for i in range(calls)]
    async with AccessSession(TOKEN, "http://127.0.0.1:1", session=stand_in) as hub:  # type: ignore[arg-type]
        await hub.accept("bench/own", "user-0")  # the first call learns the quota

        async def alone() -> None:
            for name in names:
                body = {"user": name, "status": "accepted"}
                async with stand_in.request("POST", "/", json=body, headers=HEADERS) as answer:
                    await answer.read()

        async def ours() -> None:
            for name in names:
                await hub.accept("bench/own", name)

        best = {alone: float("inf"), ours: float("inf")}
        for _ in range(rounds):
            for side in best:
                before = time.process_time()
                await side()
                best[side] = min(best[side], (time.process_time() - before) / calls * 1e6)
    return best[ours] - best[alone], best[alone]


# -- bulk engine and journal --------------------------------------------------------------------


async def bulk_engine(decisions: int, rounds: int) -> list[Row]:
    limit = 16
    repo = "bench/bulk"
    print(
        f"\n3. bulk engine: accept_many of {decisions:,} ({decisions // 100:,} batch calls), "
        f"concurrency {limit} ({rounds} rounds)"
    )
    names = [f"user-{i:06d}" for i in range(decisions)]
    rows: list[Row] = []
    with (
        fake_hub_process("--repo", repo, "--seed-pending", str(decisions)) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as http,
            AccessSession(TOKEN, url, connection_limit=limit) as hub,
        ):

            async def raw(_: int) -> None:
                """The floor: chunks of 100, one POST each, answers read and checked."""
                endpoint = f"{url}/api/models/{repo}/user-access-request/batch"
                semaphore = asyncio.Semaphore(limit)

                async def one(chunk: list[str]) -> int:
                    body = {"status": "accepted", "requests": [{"user": n} for n in chunk]}
                    async with semaphore, http.post(endpoint, json=body, headers=HEADERS) as r:
                        answer = json.loads(await r.read())
                    return sum(1 for item in answer if item["ok"])

                chunks = [names[i : i + 100] for i in range(0, len(names), 100)]
                done = await asyncio.gather(*(one(chunk) for chunk in chunks))
                assert sum(done) == decisions

            async def ours(_: int) -> None:
                report = await hub.accept_many(repo, names, concurrency=limit)
                assert report.ok, report.summary()

            async def journaled(n: int) -> None:
                path = Path(tmp, f"run-{n}.jsonl")
                report = await hub.accept_many(repo, names, concurrency=limit, journal=path)
                assert report.ok, report.summary()

            await ours(0)  # the first run accepts them all; later rounds find them accepted
            await raw(0)
            mine, floor = await interleaved(ours, raw, rounds)
            ratio = pairwise(mine, floor)
            print(
                f"   accept_many {us(statistics.median(mine), decisions)} per decision, raw batch "
                f"loop {us(statistics.median(floor), decisions)} -> {ratio:.2f}x"
            )
            rows.append(
                Row(
                    "3 bulk engine vs raw batch loop",
                    f"{ratio:.2f}x CPU per decision",
                    "<= 2.00x",
                    ratio <= 2.0,
                )
            )
            with_journal, without = await interleaved(journaled, ours, rounds)
            extra = statistics.median(
                (j - o) / decisions * 1e6 for j, o in zip(with_journal, without, strict=True)
            )
            print(
                f"   with journal= {us(statistics.median(with_journal), decisions)} -> +{extra:.2f} us"
            )
            rows.append(
                Row("3 journal cost", f"+{extra:.2f} us per decision", "<= +3.00 us", extra <= 3.0)
            )
    return rows


# -- grant_many wall time ---------------------------------------------------------------------


async def grant_wall(waves: int, rounds: int, concurrencies: Sequence[int]) -> list[Row]:
    """``waves`` x concurrency grants at each concurrency: every run is the same number of round
    trips long, so a session's one fixed round trip (the first call's quota probe) weighs
    the same at every concurrency."""
    latency = 0.020
    print(
        f"\n4. grant_many of {waves} x concurrency users at {latency * 1000:.0f} ms latency, the "
        f"session's own pool ({rounds} rounds per concurrency; wall time)"
    )
    names = [f"grantee-{i:05d}" for i in range(waves * max(concurrencies))]
    repos = [f"bench/grant-{c}-{n}" for c in concurrencies for n in range(3 * rounds)]
    options = ["--latency-ms", str(latency * 1000)]
    for repo in repos:
        options += ["--repo", repo]
    for name in names:
        options += ["--user", name]
    rows: list[Row] = []
    with fake_hub_process(*options) as url:
        for concurrency in concurrencies:
            walls: dict[str, list[float]] = {"raw": [], "ours": [], "warm": []}
            grantees = names[: waves * concurrency]

            async def raw(
                n: int,
                concurrency: int = concurrency,
                walls: dict[str, list[float]] = walls,
                grantees: list[str] = grantees,
            ) -> None:
                repo = f"bench/grant-{concurrency}-{2 * n}"
                endpoint = f"{url}/api/models/{repo}/user-access-request/grant"
                semaphore = asyncio.Semaphore(concurrency)
                connector = aiohttp.TCPConnector(limit=concurrency)
                async with aiohttp.ClientSession(connector=connector) as http:

                    async def one(name: str) -> None:
                        async with (
                            semaphore,
                            http.post(endpoint, json={"user": name}, headers=HEADERS) as r,
                        ):
                            await r.read()
                            assert r.status == 200

                    started = time.perf_counter()
                    await asyncio.gather(*(one(name) for name in grantees))
                    walls["raw"].append(time.perf_counter() - started)

            async def ours(
                n: int,
                concurrency: int = concurrency,
                walls: dict[str, list[float]] = walls,
                grantees: list[str] = grantees,
            ) -> None:
                repo = f"bench/grant-{concurrency}-{2 * n + 1}"
                async with AccessSession(TOKEN, url) as hub:
                    started = time.perf_counter()
                    report = await hub.grant_many(repo, grantees, concurrency=concurrency)
                    walls["ours"].append(time.perf_counter() - started)
                assert report.ok, report.summary()

            async def warm(
                n: int,
                concurrency: int = concurrency,
                walls: dict[str, list[float]] = walls,
                grantees: list[str] = grantees,
            ) -> None:
                """The same on a session that has had its first answer (the quota known)."""
                repo = f"bench/grant-{concurrency}-{2 * rounds + n}"
                async with AccessSession(TOKEN, url) as hub:
                    await hub.grant(repo, grantees[0])
                    started = time.perf_counter()
                    report = await hub.grant_many(repo, grantees[1:], concurrency=concurrency)
                    walls["warm"].append(time.perf_counter() - started)
                assert report.ok, report.summary()

            for n in range(rounds):
                sides = (ours, warm, raw) if n % 2 == 0 else (raw, warm, ours)
                for side in sides:
                    await side(n)
            ratio = pairwise(walls["ours"], walls["raw"])
            warm_ratio = pairwise(walls["warm"], walls["raw"])
            print(
                f"   concurrency {concurrency}, {len(grantees):,} grants: grant_many "
                f"{statistics.median(walls['ours']):.2f} s, "
                f"raw loop {statistics.median(walls['raw']):.2f} s -> {ratio:.3f}x; on a session "
                f"past its first answer (no round trip to learn the quota) {warm_ratio:.3f}x"
            )
            rows.append(
                Row(
                    f"4 grant_many wall, concurrency {concurrency}",
                    f"{ratio:.3f}x raw loop",
                    "<= 1.05x",
                    ratio <= 1.05,
                )
            )
    return rows


# -- quota efficiency -----------------------------------------------------------------------


async def quota_efficiency(grants: int) -> list[Row]:
    quota, window = 20, 4
    repo = "bench/quota"
    spent = quota - 1
    print(
        f"\n5. quota: grant_many of {grants} with Quota({quota}, {window}) given, after another "
        f"client spent {spent} of the server's window"
    )
    names = [f"q-{i:04d}" for i in range(grants)]
    options = ["--repo", repo, "--quota", str(quota), "--window", str(window)]
    for name in names:
        options += ["--user", name]
    with fake_hub_process(*options) as url:
        # Start right after a window boundary, so the other client's calls and ours share it.
        await asyncio.sleep(window - time.time() % window + 0.05)
        async with aiohttp.ClientSession() as http:
            for _ in range(spent):
                async with http.get(f"{url}/api/whoami-v2", headers=HEADERS) as r:
                    await r.read()
        trace = Trace()
        async with (
            trace.session() as http,
            AccessSession(TOKEN, url, session=http, quota=Quota(quota, window)) as hub,
        ):
            report = await hub.grant_many(repo, names, concurrency=16)
    limited = trace.statuses().get(429, 0)
    print(f"   {report.summary()}; {limited} answered 429")
    return [
        Row(
            "5 quota: window partly spent by another",
            f"{limited} x 429",
            "0 x 429",
            limited == 0 and report.ok,
        )
    ]


# -- repr and import ------------------------------------------------------------------------


async def report_repr(decisions: int) -> list[Row]:
    from hf_access import BulkReport, Decision, ItemOutcome, Outcome

    items = tuple(
        ItemOutcome(i, Decision("org/model", f"user-{i:06d}", "accept"), Outcome.DONE)
        for i in range(decisions)
    )
    report = BulkReport(items=items, calls=decisions // 100, elapsed=1.0)
    started = time.perf_counter()
    text = repr(report)
    elapsed = time.perf_counter() - started
    print(
        f"\n6. repr of a {decisions:,}-item BulkReport: {len(text)} characters in {elapsed * 1e3:.2f} ms"
    )
    return [
        Row("6 BulkReport repr", f"{len(text)} characters", "<= 300 characters", len(text) <= 300)
    ]


def import_cost(runs: int) -> list[Row]:
    code = (
        "import time; import aiohttp; t = time.perf_counter(); import hf_access; "
        "print(time.perf_counter() - t)"
    )
    figures = []
    # As installed: pip compiles a package's bytecode when it installs it, where an editable
    # checkout (or PYTHONDONTWRITEBYTECODE=1) would compile every module on every import. The
    # bytecode goes to a cache of this run's own, filled by a first import that is not timed.
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for n in range(runs + 1):
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
            )
            if n:
                figures.append(float(out.stdout) * 1e3)
    median = statistics.median(figures)
    print(
        f"\n7. import hf_access after import aiohttp, bytecode compiled as pip does at install: "
        f"{', '.join(f'{f:.0f}' for f in figures)} ms -> median {median:.1f} ms"
    )
    return [Row("7 import hf_access after aiohttp", f"{median:.1f} ms", "<= 50 ms", median <= 50)]


# -- main ----------------------------------------------------------------------------------------


async def run(quick: bool, only: set[str]) -> list[Row]:
    rows: list[Row] = []

    def wanted(name: str) -> bool:
        return not only or name in only

    if wanted("listing"):
        rows += await listing(20_000 if quick else 100_000, 3 if quick else 5)
    if wanted("single"):
        rows += await single_calls(2_000 if quick else 5_000, 4 if quick else 6)
    if wanted("bulk"):
        rows += await bulk_engine(20_000 if quick else 100_000, 3 if quick else 5)
    if wanted("grant"):
        rows += await grant_wall(50 if quick else 100, 3 if quick else 5, (16, 64, 128))
    if wanted("quota"):
        rows += await quota_efficiency(50)
    if wanted("repr"):
        rows += await report_repr(100_000)
    if wanted("import"):
        rows += import_cost(5 if quick else 9)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--memory-probe"]:
        who, url, repo, records = args[1:5]
        run_memory_probe(who, url, repo, int(records))
        return 0
    if args[:1] == ["--instruction-probe"]:
        who, url, repo, calls = args[1:5]
        run_instruction_probe(who, url, repo, int(calls))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller figures, same targets")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        choices=("listing", "single", "bulk", "grant", "quota", "repr", "import"),
        help="run only these rows (repeat)",
    )
    options = parser.parse_args(args)
    warnings.simplefilter("ignore")
    print(f"overhead benchmark{' (quick)' if options.quick else ''}: {machine()}")
    print("fake Hub: python -m hf_access.testing serve, in a separate process on 127.0.0.1")
    started = time.perf_counter()
    rows = asyncio.run(run(options.quick, set(options.only)))
    print(
        f"\nsummary ({time.perf_counter() - started:.0f} s in all; load average {os.getloadavg()[0]:.2f})"
    )
    print_table(rows)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
