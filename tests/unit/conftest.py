"""Shared fixtures of the unit tests: a virtual clock, aioresponses, and sessions wired to both.

Nothing here really sleeps: every session and limiter gets :class:`VirtualTime`'s ``clock`` and
``sleep``. Outside :meth:`VirtualTime.gather` a sleep advances the clock at once (enough for one
task); inside it, sleepers wake in time order, one at a time, once every other task is blocked,
so concurrent tasks see a consistent timeline.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from aioresponses import aioresponses

from hf_access import AccessSession, RateLimiter, RetryPolicy

T = TypeVar("T")

TOKEN = "hf_SECRET_abc123"


class VirtualTime:
    """A fake monotonic clock and a fake ``sleep`` that advances it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.start = start
        self.now = start
        self.delays: list[float] = []
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driving = False

    def clock(self) -> float:
        return self.now

    @property
    def elapsed(self) -> float:
        return self.now - self.start

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        if not self._driving:
            self.now += max(0.0, delay)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + max(0.0, delay), next(self._seq), future))
        await future

    async def gather(self, *aws: Awaitable[T]) -> list[T]:
        """Run ``aws`` concurrently; advance time only when all of them are blocked."""
        loop = asyncio.get_running_loop()
        self._driving = True
        tasks = [asyncio.ensure_future(aw) for aw in aws]
        try:
            while True:
                await _settle(loop)
                if all(t.done() for t in tasks):
                    break
                if not self._heap:
                    raise RuntimeError("virtual time: every task is blocked and nobody sleeps")
                when, _, future = heapq.heappop(self._heap)
                self.now = max(self.now, when)
                if not future.done():
                    future.set_result(None)
            return [t.result() for t in tasks]
        finally:
            self._driving = False
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for _, _, future in self._heap:
                future.cancel()
            self._heap.clear()


async def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """Yield until no other callback is ready to run (every task waits on something)."""
    ready = getattr(loop, "_ready", None)
    quiet = 0
    for _ in range(100_000):
        await asyncio.sleep(0)
        if ready is None:
            quiet += 1
            if quiet > 50:
                return
        elif not ready:
            quiet += 1
            if quiet >= 2:
                return
        else:
            quiet = 0


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No test may see the machine's token, endpoint or token file."""
    for name in ("HF_TOKEN", "HF_ENDPOINT", "HF_TOKEN_PATH", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
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
