"""Waiting in the fleet tests: virtual time where Redis can take it, polling where it cannot.

:class:`VirtualFleet` runs limiters, sessions and a fake server on one
:class:`~hf_access.testing.ManualClock`: the limiters send its time to the Lua script instead
of Redis's ``TIME`` (``RedisRateLimiter(clock=...)``) and sleep on the virtual sleep of
``tests/hub/_bulk_helpers.py``, which moves the clock only while nothing is under way.

:func:`eventually` is for what runs on real time (a lease's TTL in Redis, a killed process):
it polls a condition every few milliseconds and fails with what it waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp

from hf_access.fleet import RedisRateLimiter
from hf_access.testing import ManualClock

from ..hub._bulk_helpers import VirtualTime


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], what: str, *, timeout: float = 5.0
) -> None:
    """Return as soon as ``condition()`` holds (polled every 5 ms); fail after ``timeout``
    seconds (a bound for a loaded machine, never a wait) naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(0.005)


class VirtualFleet:
    """Limiters on one Redis key, their sessions and a fake server, on one virtual clock.

    The clock moves only when every task waits on the virtual sleep and nothing takes real
    time meanwhile (:meth:`busy`): a round trip to Redis, a call (a lease held), releases or a
    pause not yet sent to Redis, or a test that holds time still (:meth:`still`). Each HTTP
    request sent on :attr:`http` (sessions take it through :attr:`session_args`) costs
    ``call_cost`` virtual seconds, so that windows can turn while calls are being made.
    """

    def __init__(self, redis_url: str, clock: ManualClock, *, call_cost: float = 0.0) -> None:
        self.redis_url = redis_url
        self.clock = clock
        self.time = VirtualTime(clock, busy=self.busy)
        self.call_cost = call_cost
        self.limiters: list[RedisRateLimiter] = []
        self._round_trips = 0
        self._held_still = 0
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._request_start)
        self._trace = trace
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> VirtualFleet:
        self._http = aiohttp.ClientSession(trace_configs=[self._trace])
        return self

    async def __aexit__(self, *_: object) -> None:
        for lim in self.limiters:
            await lim.aclose()
        if self._http is not None:
            await self._http.close()

    @property
    def session_args(self) -> dict[str, Any]:
        """What a session needs to run on this fleet's clock and connection pool."""
        assert self._http is not None, "use the fleet as `async with`"
        return {"session": self._http, "sleep": self.time.sleep, "wall_clock": self.clock}

    def limiter(self, key: str = "hub:owner", **options: Any) -> RedisRateLimiter:
        """A limiter on this clock whose round trips to Redis are counted as under way."""
        lim = RedisRateLimiter.from_url(
            self.redis_url, key=key, clock=self.clock, sleep=self.time.sleep, **options
        )
        script = lim._script

        async def counted(**kwargs: Any) -> Any:
            self._round_trips += 1
            try:
                return await script(**kwargs)
            finally:
                self._round_trips -= 1

        lim._script = counted  # type: ignore[assignment]
        self.limiters.append(lim)
        return lim

    def busy(self) -> bool:
        """Whether something is under way that the clock must not move past."""
        return (
            self._held_still > 0
            or self._round_trips > 0
            or any(
                lim._held or lim._local_held or lim._pending or lim._pause_ms is not None
                for lim in self.limiters
            )
        )

    @contextlib.contextmanager
    def still(self) -> Iterator[None]:
        """Hold the clock where it is while the test sets the scene."""
        self._held_still += 1
        try:
            yield
        finally:
            self._held_still -= 1

    async def _request_start(self, *_: Any) -> None:
        self.clock.advance(self.call_cost)
