"""Redis killed and restarted under a running bulk run."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hf_access import AccessSession, Quota
from hf_access.fleet import RedisRateLimiter
from hf_access.testing import FakeHub, ManualClock

from ..hub._bulk_helpers import VirtualTime
from ._virtual import eventually
from .conftest import RedisServer

REPO = "owner/model"


async def test_the_bulk_run_survives_redis_going_away_and_coming_back(
    own_redis: RedisServer, fake_hub: FakeHub, caplog: pytest.LogCaptureFixture
) -> None:
    fake_hub.set_rate_limit(None)
    users = [f"user-{i:03d}" for i in range(60)]
    for user in users:
        fake_hub.add_user(user)
    clock = ManualClock()  # the only limiter on the key: it may keep the window on its clock
    lim = RedisRateLimiter.from_url(
        own_redis.url, key="hub:owner", quota=Quota(1000, 60.0), reconnect_after=0.2, clock=clock
    )
    calls = 0

    async def grant_one(session: AccessSession, user: str) -> None:
        nonlocal calls
        await session.grant(REPO, user)
        calls += 1
        if calls == 15:
            own_redis.kill()
        if calls == 30:
            own_redis.start()

    with caplog.at_level(logging.INFO, logger="hf_access.fleet"):
        async with lim, AccessSession(fake_hub.token, fake_hub.url, limiter=lim) as session:  # type: ignore[arg-type]
            for user in users:
                await grant_one(session, user)
                if calls == 30:
                    assert lim.degraded  # Redis was away for calls 16 to 30
                    clock.advance(0.25)  # past reconnect_after: the next call tries Redis
            assert not lim.degraded  # back on the shared window
    # Every user granted exactly once: none lost, none twice (a second grant would be a 400).
    assert all(fake_hub.request_status(REPO, u) == "accepted" for u in users)
    assert fake_hub.counters.calls["grant"] == 60
    assert lim.stats.fallbacks == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0].getMessage()
    assert "back" in caplog.text


async def test_without_redis_a_process_keeps_to_its_share(
    redis_binary: str, caplog: pytest.LogCaptureFixture
) -> None:
    from .conftest import _free_port

    nobody = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    # Time stands still (always busy): a wait for the local window never ends.
    stopped = VirtualTime(ManualClock(), busy=lambda: True)
    lim = RedisRateLimiter.from_url(
        nobody,
        key="hub:owner",
        quota=Quota(8, 60.0),
        fallback_share=0.25,
        timeout=0.2,
        clock=stopped.clock,
        sleep=stopped.sleep,
    )
    with caplog.at_level(logging.WARNING, logger="hf_access.fleet"):
        tasks = [asyncio.create_task(lim.acquire()) for _ in range(5)]
        await eventually(
            lambda: sum(t.done() for t in tasks) + len(stopped.slept) == 5,
            "every acquire granted or waiting for the local window",
        )
    done = [t for t in tasks if t.done()]
    assert len(done) == 2  # a quarter of 8: the others could be spending the rest
    assert stopped.slept == [60.5] * 3  # the local window's end, and the margin
    assert lim.degraded
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _ in done:
        lim.release(None)
    await lim.aclose()
