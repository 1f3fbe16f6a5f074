"""Fixtures of the screening tests: a clock that moves only when someone sleeps, a fake Hub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hf_access.testing import FakeHub

from ..conftest import VirtualTime

REPO = "owner/gated-model"
START = 1_790_000_000.0


@pytest.fixture
def ft() -> VirtualTime:
    """Epoch seconds for the fake Hub and the watch; ``sleep`` moves them at once."""
    return VirtualTime(START)


@pytest.fixture
async def hub(ft: VirtualTime) -> AsyncIterator[FakeHub]:
    async with FakeHub(clock=ft) as fake:
        fake.add_repo(REPO)
        yield fake
