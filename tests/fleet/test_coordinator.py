"""RedisCoordinator against a real redis-server: lease, takeover, fencing, shared state."""

from __future__ import annotations

import asyncio

import pytest

from hf_access.fleet import FleetError, LeadershipLost, RedisCoordinator

from . import _crash
from ._virtual import eventually
from .conftest import RedisServer


def coordinator(url: str, **options: object) -> RedisCoordinator:
    options.setdefault("lease_ttl", 0.6)
    return RedisCoordinator.from_url(url, name="screening", **options)  # type: ignore[arg-type]


def renewals(coordinator: RedisCoordinator) -> list[int]:
    """What each renewal of ``coordinator``'s lease answered (1: renewed), as they happen."""
    answers: list[int] = []
    renew = coordinator._renew

    async def recorded(**kwargs: object) -> int:
        answer = int(await renew(**kwargs))
        answers.append(answer)
        return answer

    coordinator._renew = recorded  # type: ignore[assignment]
    return answers


def test_bad_arguments_fail_before_any_io() -> None:
    with pytest.raises(ValueError, match="name"):
        RedisCoordinator.from_url("redis://127.0.0.1:1/0", name="")
    with pytest.raises(ValueError, match="renew_every"):
        RedisCoordinator.from_url("redis://127.0.0.1:1/0", name="s", lease_ttl=1, renew_every=2)


async def test_one_leader_at_a_time(redis_url: str) -> None:
    async with coordinator(redis_url) as a, coordinator(redis_url) as b:
        assert await a.try_lead()
        assert not await b.try_lead()
        assert a.is_leader
        assert not b.is_leader
        assert a.token == 1
        assert b.token is None
        with pytest.raises(LeadershipLost):
            b.ensure_leader()
        with pytest.raises(LeadershipLost):
            await b.begin("x", {})
        renewed = renewals(a)
        # Three renewals, a third of the lease apart: longer than the lease, which a renews.
        await eventually(lambda: len(renewed) >= 3, "a renews its lease three times")
        assert renewed[:3] == [1, 1, 1]
        assert a.is_leader
        assert a.token == 1
        assert not await b.try_lead()


async def test_a_resigned_lease_passes_at_once_with_a_larger_token(redis_url: str) -> None:
    async with coordinator(redis_url) as a, coordinator(redis_url) as b:
        first = await a.lead()
        await a.resign()
        assert not a.is_leader
        second = await asyncio.wait_for(b.lead(poll=0.05), timeout=1.0)
        assert second > first


async def test_a_crashed_leader_is_replaced_within_the_lease(redis_url: str) -> None:
    proc = _crash.start("coordinator", redis_url, "screening")
    try:
        async with coordinator(redis_url) as b:
            assert not await b.try_lead()
            _crash.kill(proc)
            # Taken over once the dead leader's 0.3-s lease runs out in Redis (3 s: ten leases,
            # a bound for a loaded machine, not a speed target).
            token = await asyncio.wait_for(b.lead(poll=0.05), timeout=3.0)
            assert token == 2
            # What the dead leader was doing is there for its successor to settle.
            assert await b.intents() == {"batch-1": {"users": ["alice", "bob"]}}
            await b.finish("batch-1")
            assert await b.intents() == {}
    finally:
        _crash.kill(proc)


async def test_a_paused_leader_is_fenced_off(redis_url: str) -> None:
    # Short leases: nothing here renews one; the old one has to run out in Redis.
    async with (
        coordinator(redis_url, lease_ttl=0.2) as old,
        coordinator(redis_url, lease_ttl=0.2) as new,
    ):
        frozen = [0.0]
        old._clock = lambda: frozen[0]  # the old leader's clock stops: it believes it leads
        await old.lead()
        assert old._renewer is not None
        old._renewer.cancel()  # ... and it stops renewing (a long GC pause, a frozen VM)
        await eventually(new.try_lead, "the old lease runs out and the new replica takes it")
        assert new.is_leader
        assert old.is_leader  # its own view is stale ...
        with pytest.raises(LeadershipLost):
            await old.begin("batch-9", {"users": ["mallory"]})  # ... but Redis says no
        assert not old.is_leader
        with pytest.raises(LeadershipLost):
            await old.save_position({"cursor": "stale"})
        assert await new.intents() == {}
        assert await new.load_position() is None


async def test_position_and_intents_carry_over(redis_url: str) -> None:
    async with coordinator(redis_url) as a, coordinator(redis_url) as b:
        await a.lead()
        assert await a.load_position() is None
        await a.begin("batch-1", {"users": ["alice"]})
        await a.begin("batch-2", {"users": ["bob"]})
        await a.finish("batch-1", position={"cursor": "2026-12-01T00:00:00Z"})
        await a.resign()
        await b.lead(poll=0.05)
        assert await b.load_position() == {"cursor": "2026-12-01T00:00:00Z"}
        assert await b.intents() == {"batch-2": {"users": ["bob"]}}


async def test_a_leader_that_cannot_renew_stops_at_once(own_redis: RedisServer) -> None:
    a = RedisCoordinator.from_url(own_redis.url, name="screening", lease_ttl=3.0, renew_every=0.1)
    await a.lead()
    own_redis.kill()
    # Within 2 s, sooner than its 3-s lease would run out: it stops on the failed renewal.
    await eventually(lambda: not a.is_leader, "a stops leading", timeout=2.0)
    with pytest.raises(LeadershipLost):
        await a.begin("x", {})
    with pytest.raises(FleetError):
        await a.try_lead()
    await a.aclose()
