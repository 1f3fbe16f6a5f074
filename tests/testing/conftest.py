"""Fixtures of the fake Hub's tests: a hub on a manual clock and a raw HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from hf_access.testing import FakeHub, ManualClock

from ._helpers import REPO, Api


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def hub(clock: ManualClock) -> AsyncIterator[FakeHub]:
    async with FakeHub(clock=clock) as fake:
        fake.add_repo(REPO)
        yield fake


@pytest.fixture
async def api(hub: FakeHub) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, hub)
