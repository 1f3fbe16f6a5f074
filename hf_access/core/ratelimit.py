"""The session's shared rate limiter.

One :class:`RateLimiter` serves every task of a session (and may be shared by several
sessions that spend one token's quota). It learns the quota and the window from the headers
of every response (``RateLimit`` / ``RateLimit-Policy`` on the Hub, ``RateLimit-*`` on
GitLab), never lets the session start more calls than the current window has left once that
is known, and on a 429 pauses **every** task until the window resets instead of letting each
task retry on its own.

Time is injected (``clock`` and ``sleep``), so tests drive it without really waiting::

    limiter = RateLimiter(Quota(calls=1000, window=300.0))
    await limiter.acquire()      # waits while the window is spent or a pause is on
    ...                          # send the request
    limiter.release(info)        # what the response's headers said (or None)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import attrs

__all__ = ["Limiter", "LimiterStats", "Quota", "RateLimitInfo", "RateLimiter"]


@attrs.frozen
class RateLimitInfo:
    """What one response said of the quota. Any field may be unknown (None)."""

    remaining: int | None = None
    reset_after: float | None = None
    quota: int | None = None
    window: float | None = None


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@attrs.frozen
class Quota:
    """A quota given explicitly: ``calls`` per fixed window of ``window`` seconds.

    The Hub's free plan is ``Quota(calls=1000, window=300.0)``. Headers learnt from the server
    refine it as soon as they arrive.
    """

    calls: int = attrs.field(validator=attrs.validators.gt(0))
    window: float = attrs.field(validator=attrs.validators.gt(0))


@runtime_checkable
class Limiter(Protocol):
    """What a session needs of its rate limiter; :class:`RateLimiter` is the in-process one.

    The session calls :meth:`acquire` before every request, :meth:`release` after it (with what
    the answer's headers said of the quota, or None when there was no answer) and
    :meth:`pause` after a 429. Another implementation may keep the window somewhere shared
    (``hf_access.fleet.RedisRateLimiter`` keeps it in Redis for a fleet of processes on one
    token); ``release`` and ``pause`` must not block, so they only record what happened.

    >>> isinstance(RateLimiter(), Limiter)
    True
    """

    async def acquire(self) -> None:
        """Wait until one more call may start, and count it."""
        ...

    def release(self, info: RateLimitInfo | None) -> None:
        """Account for the end of a call started by :meth:`acquire`."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold every call for ``seconds`` (after a 429) and treat the window as spent."""
        ...


@attrs.define
class LimiterStats:
    """What the limiter did: waits for a spent window and pauses after a 429."""

    waits: int = 0
    waited_seconds: float = 0.0
    pauses: int = 0


class RateLimiter:
    """Fixed-window limiter shared by every task of a session.

    Args:
        quota: a quota known in advance (optional; learnt from headers otherwise).
        clock: monotonic seconds (injectable for tests).
        sleep: the coroutine used to wait (injectable for tests).
        reset_margin: seconds added after the announced reset before spending again, since the
            server rounds ``t`` to whole seconds.
        probe_first: while nothing is known of the quota, let one call go first and hold the
            others until its answer arrives (costs one round trip, saves a burst of 429s).
    """

    def __init__(
        self,
        quota: Quota | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        reset_margin: float = 0.5,
        probe_first: bool = True,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._margin = reset_margin
        self._quota: int | None = quota.calls if quota else None
        self._window: float | None = quota.window if quota else None
        self._remaining: int | None = quota.calls if quota else None
        self._reset_at: float | None = None
        # False while the tracked window is our guess (an explicit quota's first window, or the
        # one after a pause); the server's next word on it is then taken as it is.
        self._confirmed = False
        self._paused_until = 0.0
        self._in_flight = 0
        self._learned = quota is not None or not probe_first
        self._probing = False
        self._probe_done: asyncio.Event | None = None
        self.stats = LimiterStats()

    def __repr__(self) -> str:
        return (
            f"RateLimiter(quota={self._quota}, window={self._window}, "
            f"remaining={self._remaining}, in_flight={self._in_flight})"
        )

    # -- what is known ----------------------------------------------------------------------

    @property
    def quota(self) -> int | None:
        """Calls per window, once known."""
        return self._quota

    @property
    def window(self) -> float | None:
        """Window length in seconds, once known."""
        return self._window

    @property
    def remaining(self) -> int | None:
        """Calls this limiter may still start in the current window (None: no limit known)."""
        return self._remaining

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def reset_in(self) -> float | None:
        """Seconds until the current window resets, when known."""
        if self._reset_at is None:
            return None
        return max(0.0, self._reset_at - self._clock())

    # -- the protocol -------------------------------------------------------------------------

    async def acquire(self) -> None:
        """Wait until one more call may start, and count it."""
        is_probe = False
        try:
            while True:
                now = self._clock()
                if self._paused_until > now:
                    await self._wait(self._paused_until - now)
                    continue
                if not self._learned:
                    if self._probing and not is_probe:
                        await self._probe_event().wait()
                        continue
                    self._probing = is_probe = True
                self._roll(now)
                if self._remaining is not None and self._remaining <= 0:
                    if self._reset_at is None:
                        # A quota is known but not when its window ends: start one now.
                        self._reset_at = now + (self._window or 1.0)
                        self._confirmed = False
                    await self._wait(self._reset_at + self._margin - now)
                    continue
                if self._remaining is not None:
                    self._remaining -= 1
                    if self._reset_at is None and self._window is not None:
                        self._reset_at = now + self._window
                        self._confirmed = False
                self._in_flight += 1
                return
        except BaseException:
            if is_probe:
                self._end_probe()
            raise

    def release(self, info: RateLimitInfo | None) -> None:
        """Account for the end of a call started by :meth:`acquire`.

        ``info`` is what the response's headers said (None when there was no response).
        """
        self._in_flight = max(0, self._in_flight - 1)
        if info is not None:
            self._learn(info)
        if not self._learned or self._probing:
            self._learned = True
            self._end_probe()

    def pause(self, seconds: float) -> None:
        """Hold every task for ``seconds`` (after a 429), and treat the window as spent."""
        until = self._clock() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
        self.stats.pauses += 1
        if self._quota is not None:
            # The window is spent; the next one starts when the pause ends.
            self._remaining = 0
            self._reset_at = self._paused_until - self._margin
            self._confirmed = False
        else:
            self._remaining = None

    # -- internals ---------------------------------------------------------------------------

    def _learn(self, info: RateLimitInfo) -> None:
        if info.quota is not None and info.quota > 0:
            self._quota = info.quota
        if info.window is not None and info.window > 0:
            self._window = info.window
        if info.remaining is None:
            return
        now = self._clock()
        # Calls still in flight may not have been counted by the server yet: assume they were not.
        estimate = max(0, info.remaining - self._in_flight)
        if info.reset_after is None:
            if self._remaining is None or estimate < self._remaining:
                self._remaining = estimate
            return
        server_reset = now + info.reset_after
        tolerance = 1.0 + self._margin
        if (
            not self._confirmed
            or self._reset_at is None
            or self._remaining is None
            or server_reset > self._reset_at + tolerance
        ):
            # First news, news of a window we only guessed, or of a newer one: adopt it.
            self._reset_at = server_reset
            self._remaining = estimate
            self._confirmed = True
        elif server_reset >= self._reset_at - tolerance:
            # The window we track: the server's count only ever lowers our estimate.
            self._remaining = min(self._remaining, estimate)
        # else: a late answer from a window that has already ended; it says nothing of this one.

    def _roll(self, now: float) -> None:
        """Start a new window when the tracked one has ended."""
        if self._reset_at is None or now < self._reset_at + self._margin:
            return
        if self._window is not None and self._quota is not None:
            while self._reset_at + self._margin <= now:
                self._reset_at += self._window
            self._remaining = self._quota
        else:
            self._reset_at = None
            self._remaining = None

    async def _wait(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.stats.waits += 1
        self.stats.waited_seconds += seconds
        await self._sleep(seconds)

    def _probe_event(self) -> asyncio.Event:
        if self._probe_done is None:
            self._probe_done = asyncio.Event()
        return self._probe_done

    def _end_probe(self) -> None:
        self._probing = False
        if self._probe_done is not None:
            self._probe_done.set()
            self._probe_done = None
