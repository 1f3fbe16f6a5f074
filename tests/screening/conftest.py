"""Fixtures of the screening tests: a clock that moves only when someone sleeps, a fake Hub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from hf_access.testing import FakeHub

REPO = "owner/gated-model"
START = 1_790_000_000.0


class FakeTime:
    """Epoch seconds for the fake Hub and the watch; ``sleep`` moves them at once."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[int], None] | None = None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))
        await asyncio.sleep(0)


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def hub(ft: FakeTime) -> AsyncIterator[FakeHub]:
    async with FakeHub(clock=ft) as fake:
        fake.add_repo(REPO)
        yield fake
