"""GitLabSession(limiter=RedisRateLimiter): GitLab's RateLimit-* headers feed the same window."""

from __future__ import annotations

import asyncio

from hf_access.gitlab import GitLabSession
from hf_access.testing import ManualClock
from hf_access.testing.gitlab import FakeGitLab

from ._virtual import VirtualFleet


async def test_two_gitlab_sessions_share_one_quota(redis_url: str) -> None:
    clock = ManualClock()
    async with (
        VirtualFleet(redis_url, clock, call_cost=0.01) as fleet,
        FakeGitLab(clock=clock, quota=12, period=2) as gl,
    ):
        gl.add_project("acme/app")
        names = gl.seed_requests("acme/app", 16)
        ids = [gl.user(name).id for name in names]  # by id: one call per approval
        started = clock.now

        async def approve(part: list[int]) -> None:
            limiter = fleet.limiter(key="gitlab:localhost:root")
            async with (
                limiter,
                GitLabSession(gl.token, gl.url, limiter=limiter, **fleet.session_args) as client,
            ):
                report = await client.approve_many("acme/app", part, concurrency=4)
                assert report.ok, report

        runs = asyncio.gather(approve(ids[:8]), approve(ids[8:]))
        await asyncio.wait_for(runs, timeout=30)  # a bound for a broken limiter
        assert gl.statuses[429] == 0  # 16 approvals (and the probe) on 12 per 2 s
        assert set(gl.state("acme/app").members) >= set(names)
        assert clock.now - started >= 2.0  # the second window was needed, and waited for
