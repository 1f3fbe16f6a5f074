"""The retry loop: transport errors, 408/5xx, Retry-After, 429 pauses and giving up."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from hf_access import (
    AccessSession,
    APIStatusError,
    HubConnectionError,
    HubTimeoutError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)

from ..conftest import sent_body

HUB = "https://huggingface.co"
REPO = "org/gated-model"
PENDING = f"{HUB}/api/models/{REPO}/user-access-request/pending"
HANDLE = f"{HUB}/api/models/{REPO}/user-access-request/handle"


def count(m: aioresponses) -> int:
    return sum(len(calls) for calls in m.requests.values())


@pytest.mark.parametrize(
    "failure",
    [
        {"exception": aiohttp.ClientConnectionError("reset")},
        {"exception": aiohttp.ServerDisconnectedError()},
        {"exception": asyncio.TimeoutError()},
        {"status": 408},
        {"status": 500},
        {"status": 502},
        {"status": 503},
        {"status": 504},
    ],
    ids=["connection", "disconnected", "timeout", "408", "500", "502", "503", "504"],
)
async def test_retried_with_backoff_then_succeeds(
    hub: AccessSession, mocked: aioresponses, vt: Any, failure: dict
) -> None:
    mocked.get(PENDING, **failure)
    mocked.get(PENDING, **failure)
    mocked.get(PENDING, payload=[{"requestId": "r", "status": "pending", "user": {"user": "a"}}])
    got = await hub.list_pending(REPO)
    assert [r.username for r in got] == ["a"]
    assert count(mocked) == 3
    assert vt.delays == [0.5, 1.0]  # initial_backoff, doubled
    assert hub.calls == 3


async def test_posts_are_retried_with_the_same_body(
    hub: AccessSession, mocked: aioresponses
) -> None:
    mocked.post(HANDLE, status=503)
    mocked.post(HANDLE, payload={})
    await hub.reject(REPO, "alice", reason="no")
    calls = mocked.requests[("POST", URL(HANDLE))]
    assert [sent_body(c.kwargs) for c in calls] == [
        {"user": "alice", "status": "rejected", "rejectionReason": "no"}
    ] * 2


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        ({"exception": aiohttp.ClientConnectionError()}, HubConnectionError),
        ({"exception": asyncio.TimeoutError()}, HubTimeoutError),
        ({"status": 503, "payload": {"error": "Service Unavailable"}}, ServerError),
        ({"status": 500, "payload": {"error": "boom"}}, ServerError),
    ],
)
async def test_gives_up_after_max_attempts(
    make_hub: Any, mocked: aioresponses, vt: Any, failure: dict, error: type
) -> None:
    mocked.get(PENDING, repeat=True, **failure)
    async with make_hub(retry=RetryPolicy(max_attempts=3, jitter=0.0)) as hub:
        with pytest.raises(error) as info:
            await hub.list_pending(REPO)
    assert count(mocked) == 3
    assert vt.delays == [0.5, 1.0]
    if isinstance(info.value, ServerError):
        assert info.value.status == failure["status"]


async def test_408_gives_up_with_a_typed_error(make_hub: Any, mocked: aioresponses) -> None:
    mocked.get(PENDING, status=408, repeat=True, payload={"error": "Request Timeout"})
    async with make_hub(retry=RetryPolicy(max_attempts=2, jitter=0.0)) as hub:
        with pytest.raises(APIStatusError) as info:
            await hub.list_pending(REPO)
    assert info.value.status == 408
    assert count(mocked) == 2


async def test_max_attempts_one_turns_retries_off(
    make_hub: Any, mocked: aioresponses, vt: Any
) -> None:
    mocked.get(PENDING, status=502, repeat=True)
    async with make_hub(retry=RetryPolicy(max_attempts=1)) as hub:
        with pytest.raises(ServerError):
            await hub.list_pending(REPO)
    assert count(mocked) == 1
    assert vt.delays == []


async def test_backoff_is_capped(make_hub: Any, mocked: aioresponses, vt: Any) -> None:
    mocked.get(PENDING, status=503, repeat=True)
    policy = RetryPolicy(max_attempts=6, initial_backoff=1.0, max_backoff=5.0, jitter=0.0)
    async with make_hub(retry=policy) as hub:
        with pytest.raises(ServerError):
            await hub.list_pending(REPO)
    assert vt.delays == [1.0, 2.0, 4.0, 5.0, 5.0]


async def test_jitter_uses_the_injected_rng(make_hub: Any, mocked: aioresponses, vt: Any) -> None:
    mocked.get(PENDING, status=503, repeat=True)
    policy = RetryPolicy(max_attempts=4, initial_backoff=1.0, jitter=0.5)
    async with make_hub(retry=policy, rng=random.Random(0)) as hub:
        with pytest.raises(ServerError):
            await hub.list_pending(REPO)
    twin = random.Random(0)
    assert vt.delays == pytest.approx([2**n * (1 - 0.5 * twin.random()) for n in range(3)])


async def test_retry_after_is_honoured_on_503(
    hub: AccessSession, mocked: aioresponses, vt: Any
) -> None:
    mocked.get(PENDING, status=503, headers={"Retry-After": "7"})
    mocked.get(PENDING, payload=[])
    assert await hub.list_pending(REPO) == []
    assert vt.delays == [7.0]


async def test_retry_after_on_503_longer_than_the_cap_raises_at_once(
    hub: AccessSession, mocked: aioresponses, vt: Any
) -> None:
    mocked.get(PENDING, status=503, headers={"Retry-After": "100000"})
    mocked.get(PENDING, payload=[])
    with pytest.raises(ServerError) as info:
        await hub.list_pending(REPO)
    assert info.value.retry_after == 100000.0
    assert "retry after 100000s" in str(info.value)
    assert vt.delays == []
    assert count(mocked) == 1


async def test_retry_after_on_503_within_the_cap_is_taken(
    hub: AccessSession, mocked: aioresponses, vt: Any
) -> None:
    mocked.get(PENDING, status=503, headers={"Retry-After": "30"})
    mocked.get(PENDING, payload=[])
    assert await hub.list_pending(REPO) == []
    assert vt.delays == [30.0]


# -- 429 ----------------------------------------------------------------------------------------


async def test_429_pauses_the_limiter_then_retries(
    hub: AccessSession, mocked: aioresponses, vt: Any
) -> None:
    mocked.post(HANDLE, status=429, headers={"Retry-After": "12"}, payload={"error": "slow down"})
    mocked.post(HANDLE, payload={})
    await hub.accept(REPO, "alice")
    assert count(mocked) == 2
    assert hub.limiter.stats.pauses == 1
    assert vt.delays == [12.0]
    assert vt.elapsed == pytest.approx(12.0)


async def test_429_waits_for_the_window_reset_without_retry_after(
    hub: AccessSession, mocked: aioresponses, vt: Any
) -> None:
    mocked.post(
        HANDLE,
        status=429,
        headers={
            "RateLimit": '"api";r=0;t=40',
            "RateLimit-Policy": '"fixed window";"api";q=1000;w=300',
        },
        payload={"error": "you hit the quota of 1000 api requests per 5 minutes period"},
    )
    mocked.post(HANDLE, payload={})
    await hub.accept(REPO, "alice")
    assert count(mocked) == 2
    assert vt.elapsed >= 40.0
    assert hub.limiter.quota == 1000


async def test_429_does_not_use_up_the_attempts(make_hub: Any, mocked: aioresponses) -> None:
    mocked.post(HANDLE, status=503)
    mocked.post(HANDLE, status=429, headers={"Retry-After": "1"})
    mocked.post(HANDLE, status=429, headers={"Retry-After": "1"})
    mocked.post(HANDLE, payload={})
    async with make_hub(retry=RetryPolicy(max_attempts=2, jitter=0.0)) as hub:
        await hub.accept(REPO, "alice")
    assert count(mocked) == 4


async def test_429_with_too_long_a_wait_raises_rate_limit_error(
    hub: AccessSession, mocked: aioresponses, vt: Any
) -> None:
    mocked.post(
        HANDLE,
        status=429,
        headers={"Retry-After": "3600", "X-Request-Id": "rid-429"},
        payload={"error": "you hit the quota of 1000 api requests per 5 minutes period"},
    )
    with pytest.raises(RateLimitError) as info:
        await hub.accept(REPO, "alice")
    err = info.value
    assert err.status == 429
    assert err.retry_after == 3600.0
    assert err.request_id == "rid-429"
    assert "quota of 1000" in err.message
    assert "retry after 3600s" in str(err)
    assert count(mocked) == 1
    assert vt.delays == []


async def test_429_wait_limit_is_configurable(make_hub: Any, mocked: aioresponses) -> None:
    mocked.post(HANDLE, status=429, headers={"Retry-After": "20"})
    async with make_hub(retry=RetryPolicy(max_rate_limit_wait=10.0)) as hub:
        with pytest.raises(RateLimitError) as info:
            await hub.accept(REPO, "alice")
    assert info.value.retry_after == 20.0


async def test_429_too_many_times_raises(make_hub: Any, mocked: aioresponses, vt: Any) -> None:
    mocked.post(HANDLE, status=429, headers={"Retry-After": "2"}, repeat=True)
    async with make_hub(retry=RetryPolicy(max_rate_limited=3, jitter=0.0)) as hub:
        with pytest.raises(RateLimitError) as info:
            await hub.accept(REPO, "alice")
        assert hub.limiter.stats.pauses == 3
    assert count(mocked) == 4
    assert info.value.retry_after == 2.0
    assert vt.elapsed == pytest.approx(6.0)


async def test_429_without_any_hint_backs_off(make_hub: Any, mocked: aioresponses, vt: Any) -> None:
    mocked.post(HANDLE, status=429)
    mocked.post(HANDLE, payload={})
    async with make_hub(retry=RetryPolicy(initial_backoff=3.0, jitter=0.0)) as hub:
        await hub.accept(REPO, "alice")
    assert vt.elapsed == pytest.approx(3.0)


async def test_429_pause_holds_other_calls_of_the_session(
    hub: AccessSession, mocked: aioresponses, vt: Any
) -> None:
    arrivals: list[tuple[str, float]] = []

    def record(name: str) -> Any:
        def callback(url: Any, **kwargs: Any) -> None:
            arrivals.append((name, vt.now))

        return callback

    mocked.post(HANDLE, status=429, headers={"Retry-After": "30"}, callback=record("accept"))
    mocked.post(HANDLE, payload={}, callback=record("accept"))
    mocked.get(PENDING, payload=[], callback=record("list"), repeat=True)
    await hub.accept(REPO, "alice")  # paused 30 s, then retried
    hub.limiter.pause(30.0)  # as if another task had just met a 429
    before = vt.now
    await hub.list_pending(REPO)
    assert arrivals[-1][0] == "list"
    assert arrivals[-1][1] >= before + 30.0


async def test_session_takes_a_clock_for_its_own_limiter(mocked: aioresponses, vt: Any) -> None:
    mocked.post(HANDLE, status=429, headers={"Retry-After": "30"})
    mocked.post(HANDLE, payload={})
    hub = AccessSession("hf_SECRET_abc123", sleep=vt.sleep, clock=vt.clock)  # type: ignore[call-arg]
    try:
        await hub.accept(REPO, "alice")
    finally:
        await hub.aclose()
    assert vt.elapsed == pytest.approx(30.0)
    assert len(vt.delays) < 5


async def test_limiter_learns_from_every_response(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.get(
        PENDING,
        payload=[],
        headers={
            "RateLimit": '"api";r=421;t=180',
            "RateLimit-Policy": '"fixed window";"api";q=500;w=300',
        },
    )
    await hub.list_pending(REPO)
    assert (hub.limiter.quota, hub.limiter.window, hub.limiter.remaining) == (500, 300.0, 421)
