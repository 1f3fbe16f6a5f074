"""Fixtures of the GitLab tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aioresponses import aioresponses

from hf_access import RetryPolicy
from hf_access.gitlab import GitLabSession
from hf_access.testing.gitlab import FakeGitLab

from ..conftest import VirtualTime, need_aioresponses
from ._recorded import HOST, TOKEN
from ._support import gitlab_time, make_session


@pytest.fixture
def fake_time() -> VirtualTime:
    return gitlab_time()


@pytest.fixture
async def fake_gitlab(fake_time: VirtualTime) -> AsyncIterator[FakeGitLab]:
    async with FakeGitLab(clock=fake_time.clock) as gl:
        yield gl


@pytest.fixture
async def client(fake_gitlab: FakeGitLab, fake_time: VirtualTime) -> AsyncIterator[GitLabSession]:
    async with make_session(fake_gitlab.url, fake_gitlab.token, fake_time) as session:
        yield session


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    need_aioresponses()
    with aioresponses() as m:
        yield m


@pytest.fixture
async def gl(fake_time: VirtualTime) -> AsyncIterator[GitLabSession]:
    async with make_session(HOST, TOKEN, fake_time, retry=RetryPolicy(max_attempts=3)) as s:
        yield s
