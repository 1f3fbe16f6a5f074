"""Helpers of the GitLab tests: the shared virtual clock in epoch seconds, a session maker."""

from __future__ import annotations

import random

from hf_access import RateLimiter, RetryPolicy
from hf_access.gitlab import GitLabSession

from ..conftest import VirtualTime


def gitlab_time() -> VirtualTime:
    """Epoch seconds that only move when someone sleeps (no test ever really waits)."""
    return VirtualTime(1_700_000_000.0)


def make_session(
    url: str, token: str | None, ft: VirtualTime, *, retry: RetryPolicy | None = None
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
