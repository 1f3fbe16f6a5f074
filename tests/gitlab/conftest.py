"""Fixtures of the GitLab tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hf_access.gitlab import GitLabSession
from hf_access.testing.gitlab import FakeGitLab

from ._gitlab_support import FakeTime, make_session


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def fake_gitlab(fake_time: FakeTime) -> AsyncIterator[FakeGitLab]:
    async with FakeGitLab(clock=fake_time.clock) as gl:
        yield gl


@pytest.fixture
async def client(fake_gitlab: FakeGitLab, fake_time: FakeTime) -> AsyncIterator[GitLabSession]:
    async with make_session(fake_gitlab.url, fake_gitlab.token, fake_time) as session:
        yield session
