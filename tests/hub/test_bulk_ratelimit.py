"""Every call of a run goes through the session's shared limiter (virtual time, no waiting)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest

from hf_access import AccessSession, Outcome, Quota, RateLimiter, RateLimitError, RetryPolicy
from hf_access.testing import FakeHub, ManualClock

from ._bulk_helpers import FAST_RETRY, OTHER, REPO, CallTrace, VirtualTime

QUOTA, WINDOW = 10, 60


class Rig:
    """A fake Hub with a quota, and sessions whose limiter and sleeps run on its clock."""

    def __init__(self, hub: FakeHub, clock: ManualClock, http: aiohttp.ClientSession) -> None:
        self.hub = hub
        self.clock = clock
        self.time = VirtualTime(clock)
        self.http = http

    def session(self, quota: Quota | None = None, retry: RetryPolicy = FAST_RETRY) -> AccessSession:
        limiter = RateLimiter(quota, clock=self.clock, sleep=self.time.sleep)
        self.time.busy = lambda: limiter.in_flight > 0
        return AccessSession(
            token=self.hub.token,
            endpoint=self.hub.url,
            session=self.http,
            limiter=limiter,
            retry=retry,
            sleep=self.time.sleep,
        )


@pytest.fixture
async def rig() -> AsyncIterator[tuple[Rig, CallTrace]]:
    clock = ManualClock()
    trace = CallTrace(clock)
    async with (
        FakeHub(clock=clock, quota=QUOTA, window=WINDOW) as hub,
        aiohttp.ClientSession(trace_configs=[trace.config]) as http,
    ):
        hub.add_repo(REPO)
        hub.add_repo(OTHER)
        yield Rig(hub, clock, http), trace


def per_window(trace: CallTrace) -> Counter[int]:
    """Calls that reached the fake Hub, per fixed window of its clock."""
    return Counter(int(t // WINDOW) for kind, t, _, _ in trace.events if kind == "start")


async def test_known_quota_is_never_exceeded(rig: tuple[Rig, CallTrace]) -> None:
    env, trace = rig
    users = [env.hub.add_user(f"g{i:03d}").name for i in range(95)]
    started = env.clock.now
    real = time.perf_counter()

    async with env.session() as hub:
        report = await hub.grant_many(REPO, users, concurrency=8)
        stats = hub.limiter.stats

    assert report.ok
    assert report.done == 95
    assert report.calls == 95
    assert env.hub.counters.rate_limited == 0
    assert set(trace.statuses()) == {200}
    windows = per_window(trace)
    assert max(windows.values()) == QUOTA
    assert len(windows) == 10  # 95 calls at 10 per window
    assert stats.pauses == 0
    assert stats.waits > 0
    assert env.clock.now - started >= 9 * WINDOW  # it really waited, in virtual time
    assert time.perf_counter() - real < 5  # ... and not in real time


async def test_two_runs_on_one_session_share_the_quota(rig: tuple[Rig, CallTrace]) -> None:
    env, trace = rig
    pending = env.hub.seed_pending(OTHER, 250)
    users = [env.hub.add_user(f"h{i:03d}").name for i in range(40)]

    async with env.session() as hub:
        grants, accepts = await asyncio.gather(
            hub.grant_many(REPO, users, concurrency=8),
            hub.accept_many(OTHER, pending, use_batch=False, concurrency=8),
        )

    assert grants.ok
    assert accepts.ok
    assert env.hub.counters.rate_limited == 0
    assert max(per_window(trace).values()) == QUOTA
    assert sum(per_window(trace).values()) == 290


async def test_a_429_pauses_every_task_until_the_window_resets(
    rig: tuple[Rig, CallTrace],
) -> None:
    env, trace = rig
    users = [env.hub.add_user(f"r{i:03d}").name for i in range(35)]
    # A wrong quota given in advance: no probe, eight calls leave at once into a quota of 10
    # that another client has partly spent, so some of them get a 429.
    async with env.session(quota=Quota(calls=1000, window=WINDOW)) as other:
        for name in users[:5]:
            await other.grant(OTHER, name)
    env.hub.reset_counters()
    trace.events.clear()

    async with env.session(quota=Quota(calls=1000, window=WINDOW)) as hub:
        report = await hub.grant_many(REPO, users, concurrency=8)
        stats = hub.limiter.stats

    assert report.ok
    assert report.done == 35
    limited = env.hub.counters.rate_limited
    assert 1 <= limited <= 8  # one burst at most, not a storm of retries
    assert stats.pauses >= 1
    # After a 429 in a window, no call starts again before that window has ended.
    seen_429: set[int] = set()
    for kind, t, status, _ in trace.events:
        window = int(t // WINDOW)
        if kind == "start":
            assert window not in seen_429, "a call left during the pause"
        elif status == 429:
            seen_429.add(window)
    assert seen_429 == {int(trace.events[0][1] // WINDOW)}  # only the first window
    assert max(per_window(trace).values()) <= QUOTA + limited
    served = Counter(
        int(t // WINDOW) for kind, t, status, _ in trace.events if kind == "end" and status == 200
    )
    assert max(served.values()) <= QUOTA


async def test_429_beyond_the_policy_stops_the_run(rig: tuple[Rig, CallTrace]) -> None:
    env, _ = rig
    users = [env.hub.add_user(f"s{i:03d}").name for i in range(20)]
    async with env.session() as other:  # another client spends this window's quota
        assert (await other.grant_many(OTHER, users[:QUOTA])).ok
    env.hub.reset_counters()
    patient = RetryPolicy(max_attempts=3, max_rate_limit_wait=5.0)  # the window is 60 s

    async with env.session(quota=Quota(calls=QUOTA, window=WINDOW), retry=patient) as hub:
        report = await hub.grant_many(REPO, users, concurrency=1)

    first, *rest = report.items
    assert first.outcome is Outcome.FAILED
    assert isinstance(first.error, RateLimitError)
    assert first.error.retry_after == 60
    assert report.stopped is not None
    assert report.stopped.startswith("rate limited")
    assert "wait 60s" in report.stopped
    assert all(i.outcome is Outcome.NOT_ATTEMPTED for i in rest)
    assert env.hub.counters.rate_limited == 1
