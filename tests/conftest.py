"""What every test shares: the one virtual clock (:class:`VirtualTime`, fixture ``vt``).

Monotonic seconds for sessions and limiters, or epoch seconds for the fake servers and the
watch (``VirtualTime(start=1_790_000_000.0)``): the same class, started elsewhere.

Nothing here really sleeps: sessions and limiters get :class:`VirtualTime`'s ``clock`` and
``sleep``. Outside :meth:`VirtualTime.gather` a sleep advances the clock at once (enough for one
task); inside it, sleepers wake in time order, one at a time, once every other task is blocked,
so concurrent tasks see a consistent timeline.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
import pytest

T = TypeVar("T")


class VirtualTime:
    """A fake monotonic clock and a fake ``sleep`` that advances it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.start = start
        self.now = start
        self.delays: list[float] = []
        self.on_sleep: Callable[[int], None] | None = None
        """Called with the number of sleeps so far, after each one is recorded."""
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driving = False

    def clock(self) -> float:
        return self.now

    def __call__(self) -> float:
        """The clock itself, for APIs that take a ``clock`` callable."""
        return self.now

    @property
    def sleeps(self) -> list[float]:
        """Every delay asked of :meth:`sleep`, in order."""
        return self.delays

    @property
    def elapsed(self) -> float:
        return self.now - self.start

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        if self.on_sleep is not None:
            self.on_sleep(len(self.delays))
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


# -- two aiohttp environments ------------------------------------------------------------------


def sent_body(kwargs: Mapping[str, Any]) -> Any:
    """The JSON body of a request as aioresponses (or a patched ``request``) saw its keyword
    arguments: the transport sends it encoded, as ``data=`` bytes."""
    data = kwargs.get("data")
    return None if data is None else json.loads(data)


def pytest_configure(config: pytest.Config) -> None:
    """aiohttp's warnings are errors: the library and the fake servers must not cause any.

    The module field of a filter names where a warning is attributed: aiohttp's own code, or
    (stacklevel 2) the library code that called aiohttp. aiohttp 3.14's NotAppKeyWarning is
    attributed to the fake servers, so it is turned into an error by its category, where the
    installed aiohttp has it.
    """
    config.addinivalue_line("filterwarnings", "error:::aiohttp")
    config.addinivalue_line("filterwarnings", "error::DeprecationWarning:hf_access")
    if hasattr(aiohttp.web, "NotAppKeyWarning"):
        config.addinivalue_line("filterwarnings", "error::aiohttp.web.NotAppKeyWarning")
    aioresponses_problem()  # probed now, outside any test's event loop


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Skipped tests, one line per reason (``-ra`` would list every test's location: with the
    aioresponses-based tests skipped on the newest aiohttp, that is over a hundred lines)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.section("skipped tests, by reason")
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            terminalreporter.line(f"{count} skipped: {reason}")


@functools.cache
def aioresponses_problem() -> str | None:
    """Why aioresponses cannot mock the installed aiohttp, or ``None`` when it can.

    aioresponses builds aiohttp's ``ClientResponse`` itself; 0.7.9 (the newest) does not pass
    the ``stream_writer`` that aiohttp 3.14 requires. Tests built on it then run only in the
    aiohttp 3.9 environment of ``make test``; everything else runs in both.
    """
    import aioresponses

    async def probe() -> None:
        with aioresponses.aioresponses() as mocked:
            mocked.get("https://probe.invalid/", payload={})
            async with (
                aiohttp.ClientSession() as session,
                session.get("https://probe.invalid/") as response,
            ):
                await response.json()

    try:
        asyncio.run(probe())
    except Exception as exc:
        version = getattr(aioresponses, "__version__", "?")
        return (
            f"aioresponses {version} cannot build aiohttp {aiohttp.__version__}'s responses "
            f"({type(exc).__name__}: {exc}); these tests run in the aiohttp 3.9 environment"
        )
    return None


def need_aioresponses() -> None:
    """Skip the calling test (or fixture) where aioresponses cannot mock this aiohttp."""
    problem = aioresponses_problem()
    if problem is not None:
        pytest.skip(problem)
