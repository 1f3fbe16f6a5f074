"""GitLabSession(limiter=RedisRateLimiter): GitLab's RateLimit-* headers feed the same window."""

from __future__ import annotations

import asyncio

from hf_access.fleet import RedisRateLimiter
from hf_access.gitlab import GitLabSession
from hf_access.testing.gitlab import FakeGitLab


async def test_two_gitlab_sessions_share_one_quota(redis_url: str) -> None:
    async with FakeGitLab(quota=12, period=2) as gl:
        gl.add_project("acme/app")
        names = gl.seed_requests("acme/app", 16)
        ids = [gl.user(name).id for name in names]  # by id: one call per approval

        async def approve(part: list[int]) -> None:
            limiter = RedisRateLimiter.from_url(redis_url, key="gitlab:localhost:root")
            async with limiter, GitLabSession(gl.token, gl.url, limiter=limiter) as client:
                report = await client.approve_many("acme/app", part, concurrency=4)
                assert report.ok, report

        await asyncio.gather(approve(ids[:8]), approve(ids[8:]))
        assert gl.statuses[429] == 0  # 16 approvals (and the probe) on 12 per 2 s
        assert set(gl.state("acme/app").members) >= set(names)
