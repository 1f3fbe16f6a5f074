"""RedisRateLimiter against a real redis-server: the Lua script is what is under test.

Limiters in one process run on a virtual clock (:class:`VirtualFleet`) shared with the fake
Hub: the window's turns are set up by moving the clock, and waits take no real time. Only the
tests with a killed process run on Redis's own clock, and they poll for what they wait for.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from hf_access import AccessSession, Quota, RateLimitError
from hf_access.core.ratelimit import Limiter, RateLimitInfo
from hf_access.fleet import RedisRateLimiter
from hf_access.testing import FakeHub, ManualClock

from . import _crash
from ._virtual import VirtualFleet, eventually

REPO = "owner/model"


def limiter(url: str, key: str = "hub:owner", **options: object) -> RedisRateLimiter:
    return RedisRateLimiter.from_url(url, key=key, **options)  # type: ignore[arg-type]


def done(tasks: list[asyncio.Task[None]]) -> int:
    return sum(t.done() for t in tasks)


def waits(*limiters: RedisRateLimiter) -> int:
    return sum(lim.stats.waits for lim in limiters)


async def cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_it_is_a_limiter_and_names_no_secret(redis_url: str) -> None:
    secret_url = redis_url.replace("redis://", "redis://:s3cret-pass@")
    async with limiter(secret_url) as lim:
        assert isinstance(lim, Limiter)
        assert "s3cret" not in repr(lim)
        assert "hub:owner" in repr(lim)


def test_bad_arguments_fail_before_any_io() -> None:
    with pytest.raises(ValueError, match="looks like a token"):
        RedisRateLimiter.from_url("redis://127.0.0.1:1/0", key="hf_abcdefghijklmnop")
    with pytest.raises(ValueError, match="without spaces"):
        RedisRateLimiter.from_url("redis://127.0.0.1:1/0", key="two words")
    with pytest.raises(ValueError, match="URL"):
        RedisRateLimiter.from_url("localhost:6379", key="hub:alice")
    with pytest.raises(ValueError, match="fallback_share"):
        RedisRateLimiter.from_url("redis://127.0.0.1:1/0", key="k", fallback_share=0)


async def test_an_explicit_quota_is_never_overspent_across_processes(redis_url: str) -> None:
    async with VirtualFleet(redis_url, ManualClock()) as fleet:
        limiters = [fleet.limiter(quota=Quota(10, 60.0)) for _ in range(3)]
        tasks = [asyncio.create_task(lim.acquire()) for lim in limiters for _ in range(8)]
        # The granted calls hold their leases, so the clock stands still: every acquire ends
        # up granted or waiting for the next window.
        await eventually(lambda: done(tasks) + waits(*limiters) == 24, "24 acquires settled")
        assert done(tasks) == 10  # 24 asked, the window had 10
        assert any(lim.remaining == 0 for lim in limiters)
        for lim in limiters:  # each waits for the window's end (and the margin), once
            assert lim.stats.waited_seconds == pytest.approx(60.5 * lim.stats.waits)
        # The ten calls end; the window turns (60 s and the margin later): ten more go.
        for i, lim in enumerate(limiters):
            for _ in range(done(tasks[i * 8 : (i + 1) * 8])):
                lim.release(None)
        await eventually(
            lambda: done(tasks) - 10 + waits(*limiters) - 14 == 14, "the 14 waiters settled"
        )
        assert done(tasks) == 20
        assert fleet.clock.now == pytest.approx(ManualClock().now + 60.5)
        await cancel(tasks)


async def test_one_probe_for_the_whole_fleet_then_everyone_knows(redis_url: str) -> None:
    async with VirtualFleet(redis_url, ManualClock()) as fleet:
        a, b, c = (fleet.limiter() for _ in range(3))
        await a.acquire()  # nothing is known: a's call is the fleet's probe
        waiting = [asyncio.create_task(lim.acquire()) for lim in (b, c)]
        await eventually(lambda: waits(b, c) == 2, "b and c find the probe out")
        assert not any(t.done() for t in waiting)  # everyone else waits for the probe's answer
        a.release(RateLimitInfo(remaining=49, reset_after=30.0, quota=50, window=60.0))
        await asyncio.wait_for(asyncio.gather(*waiting), timeout=5.0)
        # b and c learnt the policy from a's answer, without a probe of their own.
        assert (b.quota, b.window) == (50, 60.0)
        assert c.remaining is not None
        assert c.remaining <= 48
        assert fleet.clock.now == pytest.approx(ManualClock().now + 0.01)  # one poll


async def test_the_server_count_lowers_the_shared_estimate(redis_url: str) -> None:
    async with VirtualFleet(redis_url, ManualClock()) as fleet:
        a, b = fleet.limiter(quota=Quota(100, 60.0)), fleet.limiter(quota=Quota(100, 60.0))
        await a.acquire()
        await b.acquire()
        # The server says only 5 are left (other clients spent the rest); b's call is in flight.
        a.release(RateLimitInfo(remaining=5, reset_after=20.0, quota=100, window=60.0))
        await a.flush()
        tasks = [asyncio.create_task(b.acquire()) for _ in range(8)]
        await eventually(lambda: done(tasks) + waits(b) == 8, "8 acquires settled")
        assert done(tasks) == 4  # 5 left, minus b's call still in flight
        assert b.stats.waited_seconds == pytest.approx(4 * 20.5)  # the server's reset + margin
        await cancel(tasks)


async def test_a_pause_in_one_process_holds_every_process(redis_url: str) -> None:
    async with VirtualFleet(redis_url, ManualClock()) as fleet:
        a = fleet.limiter(quota=Quota(100, 60.0))
        b = fleet.limiter(quota=Quota(100, 60.0))
        await a.acquire()
        a.release(None)
        started = fleet.clock.now
        a.pause(0.4)  # a got a 429
        await a.flush()  # the pause is in Redis now, not only within the release delay
        await b.acquire()
        assert fleet.clock.now - started == pytest.approx(0.4)  # b waited out a's pause ...
        assert b.stats.waits == 1
        assert b.stats.waited_seconds == pytest.approx(0.4)  # ... never told locally
        assert b.stats.pauses == 0


async def test_flush_sends_the_answers_and_a_pause_at_once(redis_url: str) -> None:
    async with VirtualFleet(redis_url, ManualClock()) as fleet:
        a = fleet.limiter(quota=Quota(100, 60.0), release_delay=3600.0)  # never on its own
        await a.acquire()
        a.release(RateLimitInfo(remaining=7, reset_after=20.0, quota=100, window=60.0))
        a.pause(1.5)
        async with aioredis.from_url(redis_url, decode_responses=True) as client:
            state = "hf-access:limiter:{hub:owner}"
            assert await client.zcard(f"{state}:inflight") == 1  # nothing sent yet
            await a.flush()
            assert await client.zcard(f"{state}:inflight") == 0  # the call's lease is back
            saved = await client.hgetall(state)
        # The pause, on the clock the limiter was given (ms), and the window it spent.
        assert int(saved["pause"]) == round(fleet.clock.now * 1000) + 1500
        assert saved["rem"] == "0"
        await a.flush()  # nothing left to send: no round trip
        assert a.stats.round_trips == 2


async def test_a_crashed_probe_gives_its_lease_back(redis_url: str) -> None:
    proc = _crash.start("limiter", redis_url, "hub:owner")  # holds the fleet's probe
    try:
        mine = limiter(redis_url)
        waiting = asyncio.create_task(mine.acquire())
        await eventually(lambda: mine.stats.waits >= 3, "this process polls for the probe")
        assert not waiting.done()
        _crash.kill(proc)
        # Its lease (0.3 s) expires: this process becomes the probe.
        await asyncio.wait_for(waiting, timeout=5.0)
        await mine.aclose()
    finally:
        _crash.kill(proc)


async def leases_ran_out(url: str, key: str = "hub:owner") -> bool:
    """Whether every lease in flight has passed its expiry on Redis's clock."""
    async with aioredis.from_url(url, decode_responses=True) as client:
        seconds, micros = await client.time()
        leases = await client.zrange(
            f"hf-access:limiter:{{{key}}}:inflight", 0, -1, withscores=True
        )
    now_ms = seconds * 1000 + micros // 1000
    return all(expiry <= now_ms for _, expiry in leases)


async def test_a_killed_process_stops_counting_as_in_flight(redis_url: str) -> None:
    proc = _crash.start("limiter", redis_url, "hub:owner", count=5)
    mine = limiter(redis_url, quota=Quota(100, 60.0))
    await mine.acquire()
    assert mine.in_flight == 6
    _crash.kill(proc)
    mine.release(None)
    await mine.flush()
    assert not await leases_ran_out(redis_url)  # the dead process's 5 leases are still there
    await eventually(lambda: leases_ran_out(redis_url), "the dead process's leases expire")
    await mine.acquire()
    assert mine.in_flight == 1  # only this call: the dead process's 5 leases ran out
    await mine.aclose()


async def _grant(fleet: VirtualFleet, hub: FakeHub, users: list[str]) -> int:
    async with (
        fleet.limiter() as lim,
        AccessSession(hub.token, hub.url, limiter=lim, **fleet.session_args) as session,
    ):
        report = await session.grant_many(REPO, users, concurrency=4)
        assert report.done == len(users), report
        return report.calls


@pytest.mark.parametrize(
    "start",
    [0.0, 0.7, 1.96],
    ids=["as a window starts", "mid-window", "just before the window turns"],
)
async def test_sessions_sharing_the_window_get_no_429(redis_url: str, start: float) -> None:
    # The fake Hub's windows start on even seconds, as the clock does. Just before a turn, the
    # first answers say "1 s left" (rounded up) when 0.04 s are: calls sent after the turn
    # count in the next window, and the fleet must not spend that window twice. Every call
    # costs 10 ms of virtual time, so windows turn while calls are on their way.
    clock = ManualClock()
    clock.advance(start)
    async with (
        VirtualFleet(redis_url, clock, call_cost=0.01) as fleet,
        FakeHub(clock=clock, quota=20, window=2) as hub,
    ):
        hub.add_repo(REPO)
        users = [f"user-{i:03d}" for i in range(36)]
        for user in users:
            hub.add_user(user)
        groups = [users[0::3], users[1::3], users[2::3]]
        started = clock.now
        runs = asyncio.gather(*(_grant(fleet, hub, g) for g in groups))
        calls = await asyncio.wait_for(runs, timeout=30)  # a bound for a broken limiter
        assert sum(calls) == 36
        assert hub.counters.rate_limited == 0  # 36 calls on a quota of 20 per 2 s
        assert clock.now - started >= 1.0  # they did wait for the next window
        assert all(hub.request_status(REPO, user) == "accepted" for user in users)


async def test_a_429_pauses_the_fleet(redis_url: str) -> None:
    clock = ManualClock()  # on an even second, where the fake Hub's windows start
    clock.advance(0.05)
    async with (
        VirtualFleet(redis_url, clock) as fleet,
        FakeHub(clock=clock, quota=20, window=2) as hub,
    ):
        hub.add_repo(REPO)
        hub.add_user("alice")
        hub.add_user("bob")
        # Someone outside the fleet spends the window; the fleet must learn it from a 429.
        async with AccessSession(hub.token, hub.url) as outsider:
            for _ in range(20):
                await outsider.get_gating(REPO)
        assert hub.counters.rate_limited == 0
        a, b = fleet.limiter(quota=Quota(20, 2.0)), fleet.limiter(quota=Quota(20, 2.0))
        async with (
            AccessSession(hub.token, hub.url, limiter=a, **fleet.session_args) as one,
            AccessSession(hub.token, hub.url, limiter=b, **fleet.session_args) as two,
        ):
            with fleet.still():  # the pause cannot run out while the scene is set
                first = asyncio.create_task(one.grant(REPO, "alice"))  # 429: a pauses the fleet
                await eventually(lambda: a.stats.pauses == 1, "alice's call is answered 429")
                await a.flush()
                second = asyncio.create_task(two.grant(REPO, "bob"))
                await eventually(lambda: b.stats.waits == 1, "b finds the fleet paused")
            # b waits out the same pause, with no 429 of its own (30 s: a bound, not a wait).
            await asyncio.wait_for(asyncio.gather(first, second), timeout=30)
            finished = clock.now
            assert hub.counters.rate_limited == 1
            assert hub.request_status(REPO, "bob") == "accepted"
            assert hub.request_status(REPO, "alice") == "accepted"
        assert a.stats.pauses == 1
        assert b.stats.pauses == 0
        assert b.stats.waits == 1
        assert b.stats.waited_seconds == pytest.approx(2.0)  # the 429's Retry-After
        assert finished == pytest.approx(ManualClock().now + 2.05)  # one pause, no more


async def test_a_wait_longer_than_allowed_raises_at_once(redis_url: str) -> None:
    async with VirtualFleet(redis_url, ManualClock()) as fleet:
        a = fleet.limiter(quota=Quota(100, 60.0))
        b = fleet.limiter(quota=Quota(100, 60.0), max_wait=5.0)
        await a.acquire()
        a.release(None)
        a.pause(30.0)  # a 429 that asks for half a minute
        await a.flush()
        with pytest.raises(RateLimitError) as caught:
            await asyncio.wait_for(b.acquire(), timeout=5.0)
        assert caught.value.retry_after is not None
        assert 25 < caught.value.retry_after <= 30
        assert b.stats.waits == 0
