"""RedisRateLimiter against a real redis-server: the Lua script is what is under test."""

from __future__ import annotations

import asyncio
import time

import pytest

from hf_access import AccessSession, Quota, RateLimitError
from hf_access.core.ratelimit import Limiter, RateLimitInfo
from hf_access.fleet import RedisRateLimiter
from hf_access.testing import FakeHub

from . import _crash

REPO = "owner/model"


def limiter(url: str, key: str = "hub:owner", **options: object) -> RedisRateLimiter:
    return RedisRateLimiter.from_url(url, key=key, **options)  # type: ignore[arg-type]


async def granted(tasks: list[asyncio.Task[None]], expected: int) -> int:
    """How many acquires went through: waits (up to 5 s, a loaded machine is slow) for the
    expected number, then a little longer, so that one too many would show."""
    deadline = time.monotonic() + 5.0
    while sum(t.done() for t in tasks) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    return sum(t.done() for t in tasks)


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
    limiters = [limiter(redis_url, quota=Quota(10, 60.0)) for _ in range(3)]
    tasks = [asyncio.create_task(lim.acquire()) for lim in limiters for _ in range(8)]
    assert await granted(tasks, 10) == 10  # 24 asked, the window had 10
    await cancel(tasks)
    assert limiters[0].remaining == 0 or limiters[1].remaining == 0 or limiters[2].remaining == 0
    for lim in limiters:
        await lim.aclose()


async def test_one_probe_for_the_whole_fleet_then_everyone_knows(redis_url: str) -> None:
    a, b, c = (limiter(redis_url) for _ in range(3))
    await a.acquire()  # nothing is known: a's call is the fleet's probe
    waiting = [asyncio.create_task(lim.acquire()) for lim in (b, c)]
    await asyncio.sleep(0.2)
    assert not any(t.done() for t in waiting)  # everyone else waits for the probe's answer
    a.release(RateLimitInfo(remaining=49, reset_after=30.0, quota=50, window=60.0))
    await asyncio.wait_for(asyncio.gather(*waiting), timeout=2.0)
    # b and c learnt the policy from a's answer, without a probe of their own.
    assert (b.quota, b.window) == (50, 60.0)
    assert c.remaining is not None
    assert c.remaining <= 48
    for lim in (a, b, c):
        await lim.aclose()


async def test_the_server_count_lowers_the_shared_estimate(redis_url: str) -> None:
    a, b = limiter(redis_url, quota=Quota(100, 60.0)), limiter(redis_url, quota=Quota(100, 60.0))
    await a.acquire()
    await b.acquire()
    # The server says only 5 are left (other clients spent the rest); b's call is in flight.
    a.release(RateLimitInfo(remaining=5, reset_after=20.0, quota=100, window=60.0))
    await asyncio.sleep(0.05)
    tasks = [asyncio.create_task(b.acquire()) for _ in range(8)]
    assert await granted(tasks, 4) == 4  # 5 left, minus b's call still in flight
    await cancel(tasks)
    await a.aclose()
    await b.aclose()


async def test_a_pause_in_one_process_holds_every_process(redis_url: str) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    a = limiter(redis_url, quota=Quota(100, 60.0))
    b = limiter(redis_url, quota=Quota(100, 60.0), sleep=sleep)
    await a.acquire()
    a.release(None)
    started = time.monotonic()
    a.pause(0.4)  # a got a 429
    await asyncio.sleep(0.05)  # the pause reaches Redis within the release delay
    await b.acquire()
    assert time.monotonic() - started >= 0.35  # b waited out a's pause, never told locally
    assert waits
    assert 0 < waits[0] <= 0.4
    await a.aclose()
    await b.aclose()


async def test_a_crashed_probe_gives_its_lease_back(redis_url: str) -> None:
    proc = _crash.start("limiter", redis_url, "hub:owner")  # holds the fleet's probe
    try:
        mine = limiter(redis_url)
        waiting = asyncio.create_task(mine.acquire())
        await asyncio.sleep(0.2)
        assert not waiting.done()
        _crash.kill(proc)
        # Its lease (0.5 s) expires: this process becomes the probe.
        await asyncio.wait_for(waiting, timeout=5.0)
        await mine.aclose()
    finally:
        _crash.kill(proc)


async def test_a_killed_process_stops_counting_as_in_flight(redis_url: str) -> None:
    proc = _crash.start("limiter", redis_url, "hub:owner", count=5)
    mine = limiter(redis_url, quota=Quota(100, 60.0))
    await mine.acquire()
    assert mine.in_flight == 6
    _crash.kill(proc)
    mine.release(None)
    await asyncio.sleep(0.7)
    await mine.acquire()
    assert mine.in_flight == 1  # only this call: the dead process's 5 leases ran out
    await mine.aclose()


async def _grant(url: str, hub: FakeHub, users: list[str]) -> int:
    async with (
        limiter(url) as lim,
        AccessSession(hub.token, hub.url, limiter=lim) as session,  # type: ignore[arg-type]
    ):
        report = await session.grant_many(REPO, users, concurrency=4)
        assert report.done == len(users), report
        return report.calls


@pytest.mark.parametrize("start", ["anytime", "just before the window turns"])
async def test_sessions_sharing_the_window_get_no_429(
    redis_url: str, fake_hub: FakeHub, start: str
) -> None:
    if start != "anytime":
        # The first answers say "1 s left" (rounded up) when 0.04 s are: calls sent after the
        # turn count in the next window, and the fleet must not spend that window twice.
        await asyncio.sleep((1.96 - time.time() % 2.0) % 2.0)
    users = [f"user-{i:03d}" for i in range(36)]
    for user in users:
        fake_hub.add_user(user)
    groups = [users[0::3], users[1::3], users[2::3]]
    started = time.monotonic()
    calls = await asyncio.gather(*(_grant(redis_url, fake_hub, g) for g in groups))
    assert sum(calls) == 36
    assert fake_hub.counters.rate_limited == 0  # 36 calls on a quota of 20 per 2 s
    assert time.monotonic() - started >= 1.0  # they did wait for the next window


async def test_a_429_pauses_the_fleet(redis_url: str, fake_hub: FakeHub) -> None:
    # Someone outside the fleet spends the window; the fleet must learn it from a 429.
    fake_hub.add_user("alice")
    fake_hub.add_user("bob")
    await asyncio.sleep(
        2.0 - time.time() % 2.0 + 0.05
    )  # the fake Hub's windows start on even seconds
    async with AccessSession(fake_hub.token, fake_hub.url) as outsider:
        for _ in range(20):
            await outsider.get_gating(REPO)
    assert fake_hub.counters.rate_limited == 0
    a, b = limiter(redis_url, quota=Quota(20, 2.0)), limiter(redis_url, quota=Quota(20, 2.0))
    async with (
        AccessSession(fake_hub.token, fake_hub.url, limiter=a) as one,  # type: ignore[arg-type]
        AccessSession(fake_hub.token, fake_hub.url, limiter=b) as two,  # type: ignore[arg-type]
    ):
        first = asyncio.create_task(one.grant(REPO, "alice"))  # 429: a pauses the fleet
        while fake_hub.counters.rate_limited == 0:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the pause reaches Redis within the release delay
        await two.grant(REPO, "bob")  # waits out the same pause: no 429 of its own
        await first
        assert fake_hub.counters.rate_limited == 1
        assert fake_hub.request_status(REPO, "bob") == "accepted"
    assert a.stats.pauses == 1
    assert b.stats.waits >= 1
    await a.aclose()
    await b.aclose()


async def test_a_wait_longer_than_allowed_raises_at_once(redis_url: str) -> None:
    a = limiter(redis_url, quota=Quota(100, 60.0))
    b = limiter(redis_url, quota=Quota(100, 60.0), max_wait=5.0)
    await a.acquire()
    a.release(None)
    a.pause(30.0)  # a 429 that asks for half a minute
    await asyncio.sleep(0.05)
    with pytest.raises(RateLimitError) as caught:
        await asyncio.wait_for(b.acquire(), timeout=2.0)
    assert caught.value.retry_after is not None
    assert 25 < caught.value.retry_after <= 30
    await a.aclose()
    await b.aclose()
