"""Fixtures of the bulk engine's tests: a fake Hub with two repos, and a session on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hf_access import AccessSession
from hf_access.testing import FakeHub

from ._helpers import FAST_RETRY, OTHER, REPO, no_sleep


@pytest.fixture
async def fhub() -> AsyncIterator[FakeHub]:
    async with FakeHub() as hub:
        hub.add_repo(REPO)
        hub.add_repo(OTHER)
        yield hub


@pytest.fixture
async def session(fhub: FakeHub) -> AsyncIterator[AccessSession]:
    async with AccessSession(
        token=fhub.token, endpoint=fhub.url, retry=FAST_RETRY, sleep=no_sleep
    ) as hub:
        yield hub
