"""Helpers of the bulk engine's tests: names, fast retries, virtual time, call recorders."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from hf_access import AccessSession, Call, RetryPolicy
from hf_access.core.transport import Response
from hf_access.testing import FakeHub, ManualClock

REPO = "owner/gated-model"
OTHER = "owner/second-model"

# Retries without real waiting: the session's sleep is a bare yield to the loop.
FAST_RETRY = RetryPolicy(max_attempts=8, initial_backoff=0.001, max_backoff=0.002)


async def no_sleep(seconds: float) -> None:
    """A sleep that does not wait (retry backoffs in tests)."""
    await asyncio.sleep(0)


class VirtualTime:
    """A fake sleep driving a :class:`ManualClock` (shared by the fake Hub and the limiter).

    Time moves only when nothing else can happen: the earliest sleeper moves the clock to its
    deadline once no HTTP call is in flight (``busy``) and the loop has been quiet for a few
    turns. Several tasks waiting for the same window reset move it once, and a later
    deadline never overtakes an earlier one, so the fake Hub's windows see the calls in the
    order and at the times a real clock would give them.
    """

    def __init__(self, clock: ManualClock, busy: Callable[[], bool] = lambda: False) -> None:
        self.clock = clock
        self.busy = busy
        self.slept: list[float] = []
        self._sleepers: list[tuple[float, int]] = []
        self._numbers = itertools.count()

    async def sleep(self, seconds: float) -> None:
        deadline = self.clock.now + max(0.0, seconds)
        entry = (deadline, next(self._numbers))
        self.slept.append(seconds)
        heapq.heappush(self._sleepers, entry)
        quiet = 0
        try:
            while self.clock.now < deadline:
                await asyncio.sleep(0)
                if self._sleepers[0] is not entry or self.busy():
                    quiet = 0
                    continue
                quiet += 1
                if quiet >= 3:
                    self.clock.now = deadline
        finally:
            self._sleepers.remove(entry)
            heapq.heapify(self._sleepers)
        await asyncio.sleep(0)


class CallTrace:
    """Records every HTTP exchange of a borrowed aiohttp session: (event, time, status, path)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.events: list[tuple[str, float, int | None, str]] = []
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._start)
        self.config.on_request_end.append(self._end)

    async def _start(self, session: Any, context: Any, params: Any) -> None:
        self.events.append(("start", self.clock(), None, params.url.path))

    async def _end(self, session: Any, context: Any, params: Any) -> None:
        self.events.append(("end", self.clock(), params.response.status, params.url.path))

    def statuses(self) -> list[int]:
        return [status for kind, _, status, _ in self.events if kind == "end" and status]


def calls(hub: FakeHub) -> dict[str, int]:
    """Calls served per route (no zero entries)."""
    return {route: n for route, n in hub.counters.calls.items() if n}


class Concurrency:
    """Wraps a session's transport and records every call sent and how many overlap at most."""

    def __init__(self, send: Callable[[Call], Awaitable[Response]]) -> None:
        self.send = send
        self.current = 0
        self.peak = 0
        self.calls: list[Call] = []

    @classmethod
    def on(cls, session: AccessSession) -> Concurrency:
        """Spy on ``session``'s transport: every call of the session goes through it."""
        spy = cls(session._transport.send)
        session._transport.send = spy  # type: ignore[method-assign]
        return spy

    async def __call__(self, call: Call) -> Response:
        self.current += 1
        self.peak = max(self.peak, self.current)
        self.calls.append(call)
        try:
            return await self.send(call)
        finally:
            self.current -= 1


def repo_of(call: Call) -> str:
    """The repo id in a call's path (``/api/models/<ns>/<name>/...``)."""
    return "/".join(call.path.split("/")[3:5])
