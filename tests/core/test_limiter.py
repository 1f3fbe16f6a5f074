"""hf_access.core.ratelimit.RateLimiter driven directly with a fake clock and a fake sleep."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hf_access import LimiterStats, Quota, RateLimiter
from hf_access.core.ratelimit import RateLimitInfo


def _limiter(vt: Any, quota: Quota | None = None, **kw: Any) -> RateLimiter:
    return RateLimiter(quota, clock=vt.clock, sleep=vt.sleep, **kw)


def _max_in_any_window(starts: list[float], window: float) -> int:
    """The most calls started within any half-open interval of length ``window``."""
    starts = sorted(starts)
    best = 0
    j = 0
    for i, start in enumerate(starts):
        while starts[j] <= start - window:
            j += 1
        best = max(best, i - j + 1)
    return best


class FixedWindowServer:
    """A server counting calls in fixed windows, answering RateLimit info or 429."""

    def __init__(self, vt: Any, quota: int, window: float, offset: float = 0.0) -> None:
        self.vt = vt
        self.quota = quota
        self.window = window
        self.origin = vt.now - offset  # windows start at origin + k * window
        self.counts: dict[int, int] = {}
        self.accepted: list[float] = []
        self.refused: list[float] = []

    def _index(self) -> int:
        return int((self.vt.now - self.origin) // self.window)

    def reset_after(self) -> float:
        return self.origin + (self._index() + 1) * self.window - self.vt.now

    def call(self) -> tuple[bool, RateLimitInfo]:
        index = self._index()
        used = self.counts.get(index, 0)
        ok = used < self.quota
        if ok:
            self.counts[index] = used + 1
            self.accepted.append(self.vt.now)
        else:
            self.refused.append(self.vt.now)
        info = RateLimitInfo(
            remaining=self.quota - self.counts.get(index, 0),
            reset_after=float(int(self.reset_after() + 0.999)),  # whole seconds, rounded up
            quota=self.quota,
            window=self.window,
        )
        return ok, info


# -- what it learns -----------------------------------------------------------------------------


async def test_learns_quota_window_and_remaining_from_headers(vt: Any) -> None:
    limiter = _limiter(vt)
    assert (limiter.quota, limiter.window, limiter.remaining) == (None, None, None)
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=995, reset_after=120.0, quota=1000, window=300.0))
    assert (limiter.quota, limiter.window, limiter.remaining) == (1000, 300.0, 995)
    assert limiter.reset_in() == pytest.approx(120.0)
    assert limiter.in_flight == 0
    assert "quota=1000" in repr(limiter)


async def test_explicit_quota(vt: Any) -> None:
    limiter = _limiter(vt, Quota(calls=3, window=60.0))
    assert (limiter.quota, limiter.window, limiter.remaining) == (3, 60.0, 3)
    for _ in range(3):
        await limiter.acquire()
    assert limiter.remaining == 0
    assert limiter.in_flight == 3
    assert vt.delays == []
    await limiter.acquire()  # the fourth waits for the next window
    assert vt.now >= vt.start + 60.0
    assert limiter.remaining == 2
    assert limiter.stats.waits == 1


def test_quota_validation() -> None:
    with pytest.raises(ValueError, match="calls"):
        Quota(calls=0, window=300.0)
    with pytest.raises(ValueError, match="window"):
        Quota(calls=10, window=0)


async def test_never_starts_more_calls_than_remain(vt: Any) -> None:
    limiter = _limiter(vt, probe_first=False)
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=2, reset_after=30.0, quota=100, window=300.0))
    starts = []
    for _ in range(4):
        await limiter.acquire()
        starts.append(vt.now)
        limiter.release(None)
    # two go now, the other two only once the announced window has reset
    assert starts[:2] == [vt.start, vt.start]
    assert starts[2] >= vt.start + 30.0
    assert starts[3] == starts[2]


async def test_remaining_counts_calls_still_in_flight(vt: Any) -> None:
    limiter = _limiter(vt, probe_first=False)
    for _ in range(3):
        await limiter.acquire()
    # the server counted only one of our three calls: assume the two in flight will count too
    limiter.release(RateLimitInfo(remaining=10, reset_after=100.0, quota=20, window=300.0))
    assert limiter.in_flight == 2
    assert limiter.remaining == 8


async def test_server_count_only_lowers_the_estimate_in_the_same_window(vt: Any) -> None:
    limiter = _limiter(vt, probe_first=False)
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=10, reset_after=100.0, quota=20, window=300.0))
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=15, reset_after=99.0))
    assert limiter.remaining == 9
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=4, reset_after=99.0))
    assert limiter.remaining == 4


async def test_news_of_a_newer_window_is_adopted(vt: Any) -> None:
    limiter = _limiter(vt, probe_first=False)
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=1, reset_after=10.0, quota=20, window=300.0))
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=18, reset_after=290.0))
    assert limiter.remaining == 18
    assert limiter.reset_in() == pytest.approx(290.0)


async def test_late_answer_from_an_ended_window_does_not_shrink_the_new_one(vt: Any) -> None:
    limiter = _limiter(vt, probe_first=False)
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=5, reset_after=10.0, quota=20, window=300.0))
    await limiter.acquire()  # call A, in the window ending at +10
    await vt.sleep(11.0)  # the window has ended
    await limiter.acquire()  # call B opens the new window
    assert limiter.remaining == 19
    # A's answer arrives late: it speaks of the old window (reset 5 s after it was sent)
    limiter.release(RateLimitInfo(remaining=3, reset_after=0.0))
    assert limiter.remaining == 19
    assert limiter.reset_in() == pytest.approx(299.0)


async def test_window_rolls_when_the_quota_is_known(vt: Any) -> None:
    limiter = _limiter(vt, Quota(2, 100.0))
    await limiter.acquire()
    await limiter.acquire()
    await vt.sleep(350.0)  # three windows later, without any call
    await limiter.acquire()
    assert limiter.remaining == 1
    assert vt.delays == [350.0]


async def test_without_a_window_the_limit_is_forgotten_after_reset(vt: Any) -> None:
    limiter = _limiter(vt, probe_first=False)
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=0, reset_after=5.0))
    await limiter.acquire()
    assert vt.now >= vt.start + 5.0
    assert limiter.remaining is None


# -- probe_first --------------------------------------------------------------------------------


async def test_probe_first_lets_one_call_go_before_the_first_answer(vt: Any) -> None:
    limiter = _limiter(vt)
    starts: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        starts.append(vt.now)

    tasks = [asyncio.ensure_future(call()) for _ in range(5)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert starts == [vt.start]
    assert limiter.in_flight == 1
    assert vt.delays == []  # the others wait for the answer, not for a time
    limiter.release(RateLimitInfo(remaining=2, reset_after=60.0, quota=3, window=60.0))
    await asyncio.gather(*tasks)
    # the answer said two remain: two more start now, the last two in the next window
    assert starts[:3] == [vt.start] * 3
    assert all(s >= vt.start + 60.0 for s in starts[3:])
    assert len(starts) == 5


async def test_probe_failure_releases_the_others(vt: Any) -> None:
    limiter = _limiter(vt)
    tasks = [asyncio.ensure_future(limiter.acquire()) for _ in range(4)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert limiter.in_flight == 1
    limiter.release(None)  # the probe got no answer (connection error)
    await asyncio.gather(*tasks)
    assert limiter.in_flight == 3


async def test_cancelled_probe_hands_over(vt: Any) -> None:
    limiter = _limiter(vt)
    limiter.pause(5.0)
    probe = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    probe.cancel()
    await asyncio.gather(probe, return_exceptions=True)
    # the cancelled probe must not leave the others waiting for ever
    await asyncio.wait_for(limiter.acquire(), timeout=1.0)
    assert limiter.in_flight == 1


async def test_without_probe_first_all_start_at_once(vt: Any) -> None:
    limiter = _limiter(vt, probe_first=False)
    await asyncio.gather(*(limiter.acquire() for _ in range(5)))
    assert limiter.in_flight == 5
    assert vt.delays == []


# -- pause --------------------------------------------------------------------------------------


async def test_pause_holds_every_task(vt: Any) -> None:
    limiter = _limiter(vt, Quota(100, 300.0))
    limiter.pause(30.0)
    starts: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        starts.append(vt.now)
        limiter.release(None)

    await vt.gather(*(call() for _ in range(10)))
    assert len(starts) == 10
    assert min(starts) >= vt.start + 30.0
    assert limiter.stats.pauses == 1
    assert limiter.remaining == 90  # a fresh window started after the pause


async def test_pause_is_never_shortened(vt: Any) -> None:
    limiter = _limiter(vt, probe_first=False)
    limiter.pause(50.0)
    limiter.pause(10.0)
    await limiter.acquire()
    assert vt.now >= vt.start + 50.0
    assert limiter.stats.pauses == 2


async def test_stats(vt: Any) -> None:
    limiter = _limiter(vt, Quota(1, 10.0))
    assert limiter.stats == LimiterStats()
    await limiter.acquire()
    await limiter.acquire()
    assert limiter.stats.waits == 1
    assert limiter.stats.waited_seconds == pytest.approx(10.5)  # window + reset margin
    limiter.pause(3.0)
    await limiter.acquire()
    assert limiter.stats.pauses == 1
    assert limiter.stats.waits >= 2


# -- 50 concurrent tasks ------------------------------------------------------------------------


async def test_50_tasks_explicit_quota_at_most_20_per_window(vt: Any) -> None:
    limiter = _limiter(vt, Quota(20, 300.0))
    starts: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        starts.append(vt.now)
        await vt.sleep(0.2)  # the request's round trip
        limiter.release(None)

    await vt.gather(*(call() for _ in range(50)))
    assert len(starts) == 50
    assert _max_in_any_window(starts, 300.0) == 20
    assert vt.elapsed >= 600.0
    assert vt.elapsed < 700.0  # and no window is wasted
    assert limiter.in_flight == 0


@pytest.mark.parametrize("offset", [0.0, 100.0, 299.0])
async def test_50_tasks_learning_from_headers_never_exceed_the_server_quota(
    vt: Any, offset: float
) -> None:
    server = FixedWindowServer(vt, quota=20, window=300.0, offset=offset)
    limiter = _limiter(vt)
    first_answer_at: list[float] = []
    starts: list[float] = []

    async def call() -> None:
        while True:
            await limiter.acquire()
            starts.append(vt.now)
            ok, info = server.call()
            await vt.sleep(0.25)
            if not first_answer_at:
                first_answer_at.append(vt.now)
            limiter.release(info)
            if ok:
                return
            limiter.pause(info.reset_after or 1.0)

    await vt.gather(*(call() for _ in range(50)))
    assert len(server.accepted) == 50
    assert server.refused == []
    assert max(server.counts.values()) <= 20
    # probe first: a single call went out before the first answer came back
    assert sum(1 for s in starts if s < first_answer_at[0]) == 1


async def test_50_tasks_429_pauses_every_task(vt: Any) -> None:
    server = FixedWindowServer(vt, quota=20, window=300.0)
    limiter = _limiter(vt, Quota(100, 300.0))  # the client believes in a larger quota
    pauses: list[tuple[float, float]] = []

    async def call() -> None:
        while True:
            await limiter.acquire()
            ok, info = server.call()
            await vt.sleep(0.25)
            limiter.release(info)
            if ok:
                return
            wait = info.reset_after or 1.0
            pauses.append((vt.now, vt.now + wait))
            limiter.pause(wait)

    await vt.gather(*(call() for _ in range(50)))
    assert len(server.accepted) == 50
    assert pauses, "the server refused calls: the limiter must have been paused"
    assert limiter.stats.pauses == len(pauses)
    start, end = pauses[0]
    # once paused, nobody sent anything until the pause ended
    assert not [t for t in server.accepted + server.refused if start < t < end]
    # the 429 answers taught the real quota: the later windows see no refusal
    assert all(t < end for t in server.refused)


async def test_explicit_quota_still_learns_the_servers_remaining(vt: Any) -> None:
    limiter = _limiter(vt, Quota(1000, 300.0))
    await limiter.acquire()
    # the server's window, shared with other clients of the token, has 10 calls left for 120 s
    limiter.release(RateLimitInfo(remaining=10, reset_after=120.0, quota=1000, window=300.0))
    assert limiter.remaining is not None
    assert limiter.remaining <= 10


async def test_after_a_short_pause_the_servers_count_is_believed(vt: Any) -> None:
    limiter = _limiter(vt, probe_first=False)
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=500, reset_after=200.0, quota=1000, window=300.0))
    limiter.pause(5.0)  # a per-action 429 said: retry in 5 s
    await limiter.acquire()
    limiter.release(RateLimitInfo(remaining=3, reset_after=190.0))
    assert limiter.remaining is not None
    assert limiter.remaining <= 3


async def test_a_checked_quota_sends_one_call_first_and_believes_the_servers_count(
    vt: Any,
) -> None:
    # A session's limiter: the quota is given, but another client may have spent most of the
    # window already; only the first answer can tell.
    limiter = _limiter(vt, Quota(100, 10.0), check_quota=True)
    await limiter.acquire()
    second = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    assert not second.done()  # held until the first call's answer
    limiter.release(RateLimitInfo(remaining=1, reset_after=4.0, quota=100, window=10.0))
    await second
    assert limiter.remaining == 0
    started = vt.now
    await limiter.acquire()  # the window the other client spent: wait for the next one
    assert vt.now >= started + 4.0


async def test_acquire_nowait_counts_as_acquire_does_whenever_acquire_would_not_wait() -> None:
    """The session's hot path (a call counted without a coroutine) agrees with ``acquire``:
    twin limiters, one taking ``acquire_nowait`` first, stay in the same state through a long
    random run of calls, answers, pauses and idle time."""
    import random

    from ..conftest import VirtualTime

    rng = random.Random(14)
    fast_time, slow_time = VirtualTime(), VirtualTime()
    fast = _limiter(fast_time, Quota(5, 10.0), check_quota=True)
    slow = _limiter(slow_time, Quota(5, 10.0), check_quota=True)

    def state(limiter: RateLimiter, vt: VirtualTime) -> tuple[Any, ...]:
        return (limiter.remaining, limiter.in_flight, limiter.reset_in(), vt.now)

    took_fast_path = 0
    for _ in range(600):
        op = rng.random()
        if op < 0.5:
            waits = slow.stats.waits
            if fast.acquire_nowait():
                took_fast_path += 1
                await slow.acquire()
                assert slow.stats.waits == waits  # acquire() did not wait either
            else:
                await fast.acquire()
                await slow.acquire()
        elif op < 0.85 and fast.in_flight:
            info = rng.choice(
                [
                    None,
                    RateLimitInfo(),
                    RateLimitInfo(remaining=rng.randrange(6), reset_after=rng.uniform(0, 10)),
                    RateLimitInfo(remaining=rng.randrange(6), quota=5, window=10.0),
                ]
            )
            fast.release(info)
            slow.release(info)
        elif op < 0.9:
            seconds = rng.uniform(0, 3)
            fast.pause(seconds)
            slow.pause(seconds)
        else:
            idle = rng.uniform(0, 12)
            fast_time.now += idle
            slow_time.now += idle
        assert state(fast, fast_time) == state(slow, slow_time)
    assert took_fast_path > 50  # the fast path was exercised, not always refused


def test_acquire_nowait_refuses_while_paused_spent_or_probing() -> None:
    now = [0.0]
    limiter = RateLimiter(Quota(2, 10.0), clock=lambda: now[0], check_quota=True)
    assert not limiter.acquire_nowait()  # the first call probes: acquire() handles it
    limiter = RateLimiter(Quota(2, 10.0), clock=lambda: now[0])
    assert limiter.acquire_nowait()
    assert limiter.acquire_nowait()
    assert not limiter.acquire_nowait()  # the window is spent
    assert (limiter.remaining, limiter.in_flight) == (0, 2)
    now[0] = 10.6  # past the reset and its margin: a new window
    assert limiter.acquire_nowait()
    limiter.pause(5.0)
    assert not limiter.acquire_nowait()
    assert limiter.in_flight == 3
