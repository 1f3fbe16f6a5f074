"""Rate-limit headers and 429s on a manual clock; fault injection and its counters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from hf_access.testing import UNLIMITED_QUOTA, FakeHub, Faults, ManualClock

from ._helpers import ACCESS, REPO, Api

PENDING = f"{ACCESS}/pending"


@pytest.fixture
async def limited(clock: ManualClock) -> AsyncIterator[Api]:
    async with FakeHub(clock=clock, quota=3, window=300) as hub:
        hub.add_repo(REPO)
        hub.add_user("alice")
        hub.add_token("hf_alice", user="alice", namespaces=["owner"])
        async with aiohttp.ClientSession() as session:
            yield Api(session, hub)


async def test_headers_on_every_answer_without_a_quota(hub: FakeHub, api: Api) -> None:
    replies = [
        await api.get(PENDING),
        await api.get(PENDING, token=None),  # 401
        await api.get("/api/models/acme/missing/user-access-request/pending"),  # 404
        await api.handle("bogus", user="x"),  # 400
        await api.get("/not/a/route/at-all"),
    ]
    for reply in replies:
        assert reply.headers["RateLimit-Policy"] == (
            f'"fixed window";"api";q={UNLIMITED_QUOTA};w=300'
        )
        assert reply.headers["RateLimit"].startswith('"api";r=')
        assert reply.headers["RateLimit"].endswith(";t=300")  # the clock sits on a boundary
    owner_calls = [r for i, r in enumerate(replies) if i != 1]
    remaining = [int(r.headers["RateLimit"].split(";")[1][2:]) for r in owner_calls]
    assert remaining == [UNLIMITED_QUOTA - n for n in range(1, 5)]


async def test_quota_answers_429_then_resets_with_the_window(
    limited: Api, clock: ManualClock
) -> None:
    api = limited
    clock.advance(100)
    for remaining in (2, 1, 0):
        reply = await api.get(PENDING)
        assert reply.status == 200
        assert reply.headers["RateLimit"] == f'"api";r={remaining};t=200'
        assert reply.headers["RateLimit-Policy"] == '"fixed window";"api";q=3;w=300'
    refused = await api.get(PENDING)
    assert refused.status == 429
    message = (
        "We had to rate limit you, you hit the quota of 3 api requests per 5 minutes period. "
        "Upgrade to a PRO user or Team/Enterprise organization account (https://hf.co/pricing)"
        " to get higher limits. See https://huggingface.co/docs/hub/rate-limits"
    )
    assert refused.error == message
    assert refused.headers["X-Error-Message"] == message
    assert refused.headers["Retry-After"] == "200"
    assert refused.headers["RateLimit"] == '"api";r=0;t=200'
    assert "X-Request-Id" in refused.headers
    # Another user has their own window.
    assert (await api.get(PENDING, token="hf_alice")).status == 200
    clock.advance(199.5)
    assert (await api.get(PENDING)).headers["Retry-After"] == "1"
    clock.advance(0.5)  # a new window
    reply = await api.get(PENDING)
    assert reply.status == 200
    assert reply.headers["RateLimit"] == '"api";r=2;t=300'
    counters = api.hub.counters
    assert counters.rate_limited == 2
    assert counters.calls["list_pending"] == 7


async def test_429_leaves_state_untouched(limited: Api) -> None:
    api = limited
    api.hub.seed_pending(REPO, 1)
    for _ in range(3):
        await api.get(PENDING)
    assert (await api.handle("accepted", user="user-000000")).status == 429
    assert api.hub.request_status(REPO, "user-000000") == "pending"


async def test_anonymous_calls_count_per_ip(limited: Api) -> None:
    api = limited
    for _ in range(3):
        assert (await api.get(PENDING, token=None)).status == 401
    reply = await api.get(PENDING, token=None)
    assert reply.status == 401  # authentication is checked before the quota
    assert reply.headers["RateLimit"].startswith('"api";r=0;')
    assert (await api.get(PENDING)).headers["RateLimit"].startswith('"api";r=2;')


async def test_window_message_in_seconds(clock: ManualClock) -> None:
    async with FakeHub(clock=clock, quota=1, window=45) as hub, aiohttp.ClientSession() as s:
        api = Api(s, hub)
        await api.get("/api/models/a/b")
        reply = await api.get("/api/models/a/b")
        assert "you hit the quota of 1 api requests per 45 seconds period. " in reply.error


async def test_set_rate_limit_at_runtime(hub: FakeHub, api: Api) -> None:
    hub.set_rate_limit(1, window=60)
    assert (await api.get(PENDING)).status == 200
    assert (await api.get(PENDING)).status == 429
    hub.set_rate_limit(None)
    assert (await api.get(PENDING)).status == 200


async def test_error_faults_answer_5xx_without_changing_state(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 1)
    hub.set_faults(Faults(error_rate=1.0, seed=7))
    statuses = []
    for _ in range(30):
        reply = await api.handle("accepted", user="user-000000")
        assert "RateLimit" in reply.headers
        assert reply.headers["X-Error-Message"] == reply.error
        statuses.append(reply.status)
    assert set(statuses) == {500, 502, 503}
    assert hub.request_status(REPO, "user-000000") == "pending"
    faults = hub.counters.faults
    assert sum(faults.values()) == 30
    assert {kind: faults[kind] for kind in faults} == {
        f"error_{status}": statuses.count(status) for status in (500, 502, 503)
    }


async def test_faults_are_reproducible_with_a_seed() -> None:
    async def run() -> list[int]:
        faults = Faults(error_rate=0.3, error_statuses=(503,), seed=1234)
        async with FakeHub(faults=faults) as hub, aiohttp.ClientSession() as session:
            api = Api(session, hub)
            return [(await api.get("/api/models/a/b")).status for _ in range(40)]

    first, second = await run(), await run()
    assert first == second
    assert set(first) == {404, 503}


async def test_dropped_connection(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 1)
    hub.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.handle("accepted", user="user-000000")
    assert hub.counters.faults == {"drop": 1}
    assert hub.request_status(REPO, "user-000000") == "pending"
    hub.set_faults(None)
    assert (await api.handle("accepted", user="user-000000")).status == 200


async def test_drop_after_applies_the_change_then_drops_the_answer(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 3)
    hub.set_faults(Faults(drop_after_rate=1.0))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.handle("accepted", user="user-000000")
    assert hub.request_status(REPO, "user-000000") == "accepted"  # applied, answer lost
    body = {"status": "rejected", "requests": [{"user": "user-000001"}, {"user": "user-000002"}]}
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.post(f"{ACCESS}/batch", json=body)
    assert hub.request_status(REPO, "user-000001") == "rejected"
    assert hub.request_status(REPO, "user-000002") == "rejected"
    assert hub.counters.faults == {"drop_after": 2}
    assert hub.counters.calls == {"handle": 1, "batch": 1}
    hub.set_faults(None)
    assert (await api.handle("pending", user="user-000000")).status == 200


async def test_drop_after_is_seeded_like_the_other_faults() -> None:
    async def run() -> list[str]:
        faults = Faults(drop_after_rate=0.5, seed=99)
        outcomes = []
        async with FakeHub(faults=faults) as hub, aiohttp.ClientSession() as session:
            hub.add_repo(REPO)
            names = hub.seed_pending(REPO, 20)
            api = Api(session, hub)
            for name in names:
                try:
                    outcomes.append(str((await api.handle("accepted", user=name)).status))
                except aiohttp.ServerDisconnectedError:
                    outcomes.append("dropped")
            # Every change was applied, answered or not.
            assert {hub.request_status(REPO, name) for name in names} == {"accepted"}
            assert hub.counters.faults["drop_after"] == outcomes.count("dropped")
        return outcomes

    first, second = await run(), await run()
    assert first == second
    assert set(first) == {"200", "dropped"}


async def test_a_failed_call_is_dropped_too_and_changes_nothing(hub: FakeHub, api: Api) -> None:
    hub.set_faults(Faults(drop_after_rate=1.0))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.handle("accepted", user="ghost")  # a 404 that never arrives
    assert hub.snapshot(REPO) == {}


async def test_latency_and_slow_answers_are_counted(hub: FakeHub, api: Api) -> None:
    hub.set_faults(Faults(latency_ms=(0.5, 1.0), slow_rate=1.0, slow_ms=1.0))
    for _ in range(3):
        assert (await api.get(PENDING)).status == 200
    assert hub.counters.faults == {"latency": 3, "slow": 3}


def test_fault_settings_are_validated() -> None:
    for bad in (
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"drop_after_rate": 2.0},
        {"latency_ms": -1},
        {"latency_ms": (5, 1)},
        {"error_statuses": (404,)},
        {"error_statuses": ()},
    ):
        with pytest.raises(ValueError, match=r"\w"):
            Faults(**bad)  # type: ignore[arg-type]


async def test_counters_can_be_reset(hub: FakeHub, api: Api) -> None:
    await api.get(PENDING)
    assert hub.counters.total_calls == 1
    hub.reset_counters()
    assert hub.counters.calls == {}
