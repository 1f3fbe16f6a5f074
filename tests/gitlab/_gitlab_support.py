"""Helpers of the GitLab tests: a fake clock whose sleep returns at once, a session maker."""

from __future__ import annotations

import asyncio
import random

from hf_access import RateLimiter, RetryPolicy
from hf_access.gitlab import GitLabSession


class FakeTime:
    """Epoch seconds that only move when someone sleeps (no test ever really waits)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def make_session(
    url: str, token: str | None, ft: FakeTime, *, retry: RetryPolicy | None = None
) -> GitLabSession:
    return GitLabSession(
        token,
        url,
        retry=retry or RetryPolicy(),
        limiter=RateLimiter(clock=ft.clock, sleep=ft.sleep),
        sleep=ft.sleep,
        clock=ft.clock,
        wall_clock=ft.clock,
        rng=random.Random(0),
    )
