"""Fixtures of the Hub tests: aioresponses and sessions wired to the shared virtual clock,
and a fake Hub with two repos for the bulk tests.

Nothing here really sleeps: every session and limiter gets :class:`VirtualTime`'s ``clock`` and
``sleep``. Outside :meth:`VirtualTime.gather` a sleep advances the clock at once (enough for one
task); inside it, sleepers wake in time order, one at a time, once every other task is blocked,
so concurrent tasks see a consistent timeline.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import pytest
from aioresponses import aioresponses

from hf_access import AccessSession, RateLimiter, RetryPolicy
from hf_access.testing import FakeHub

from ..conftest import VirtualTime, need_aioresponses
from ._bulk_helpers import FAST_RETRY, OTHER, REPO, no_sleep

T = TypeVar("T")

TOKEN = "hf_SECRET_abc123"


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    need_aioresponses()
    with aioresponses() as m:
        yield m


SessionFactory = Callable[..., AccessSession]


@pytest.fixture
async def make_hub(vt: VirtualTime) -> AsyncIterator[SessionFactory]:
    """Build sessions on the virtual clock (token, no jitter, seeded rng); all closed at the end."""
    made: list[AccessSession] = []

    def factory(**options: Any) -> AccessSession:
        options.setdefault("token", TOKEN)
        options.setdefault("sleep", vt.sleep)
        options.setdefault("rng", random.Random(0))
        options.setdefault("retry", RetryPolicy(jitter=0.0))
        if "limiter" not in options:
            quota = options.pop("quota", None)
            probe_first = options.pop("probe_first", True)
            options["limiter"] = RateLimiter(
                quota, clock=vt.clock, sleep=vt.sleep, probe_first=probe_first
            )
        session = AccessSession(**options)
        made.append(session)
        return session

    yield factory
    for session in made:
        await session.aclose()


@pytest.fixture
async def hub(make_hub: SessionFactory) -> AsyncIterator[AccessSession]:
    """An open session with the token ``hf_SECRET_abc123`` on https://huggingface.co."""
    async with make_hub() as session:
        yield session


# -- the bulk tests: a fake Hub with two repos, and a session on it ---------------------------


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
