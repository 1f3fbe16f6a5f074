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
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import attrs

from .errors import RateLimitError

__all__ = [
    "DEFAULT_MAX_WAIT",
    "Limiter",
    "LimiterStats",
    "Quota",
    "RateLimitInfo",
    "RateLimiter",
    "sane_info",
]

log = logging.getLogger("hf_access")

DEFAULT_MAX_WAIT = 330.0
"""The longest wait (seconds) taken for a rate limit unless told otherwise: one Hub window and a half-minute."""

# What a server may sensibly say of its quota. Anything outside these bounds is a broken or
# hostile header (a window of 1e-300 s, a quota of 1e15, a reset in milliseconds or read as a
# Unix time) and is ignored, so it can neither freeze the window roll nor make a call wait
# for days.
MIN_WINDOW = 0.5
MAX_WINDOW = 86_400.0
MAX_QUOTA = 10_000_000
MAX_RESET = MAX_WINDOW


@attrs.frozen
class RateLimitInfo:
    """What one response said of the quota. Any field may be unknown (None)."""

    remaining: int | None = None
    reset_after: float | None = None
    quota: int | None = None
    window: float | None = None


_PLAIN_NUMBERS = (int, float)  # exactly these: a bool or a subclass takes the long way


def _finite(value: object, low: float, high: float) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def sane_info(info: RateLimitInfo) -> RateLimitInfo:
    """``info`` with every field outside sane bounds dropped (unknown), each logged at DEBUG.

    A window must be 0.5 s to one day long, a quota 1 to 10 million calls, a reset at most one
    day away (and no later than one window from now when the window is known).

    >>> sane_info(RateLimitInfo(remaining=5, reset_after=1e12, quota=10**15, window=1e-300))
    RateLimitInfo(remaining=5, reset_after=None, quota=None, window=None)
    >>> sane_info(RateLimitInfo(remaining=0, reset_after=300_000.0, window=300.0))
    RateLimitInfo(remaining=0, reset_after=None, quota=None, window=300.0)
    """
    remaining, reset_after, quota, window = (
        info.remaining,
        info.reset_after,
        info.quota,
        info.window,
    )
    if (
        (remaining is None or (remaining.__class__ is int and 0 <= remaining <= MAX_QUOTA))
        and (quota is None or (quota.__class__ is int and 1 <= quota <= MAX_QUOTA))
        and (
            window is None
            or (window.__class__ in _PLAIN_NUMBERS and MIN_WINDOW <= window <= MAX_WINDOW)
        )
        and (
            reset_after is None
            or (
                reset_after.__class__ in _PLAIN_NUMBERS
                and 0.0 <= reset_after <= (MAX_RESET if window is None else window + 1.0)
            )
        )
    ):
        return info  # the usual answer: every value known is sane (checked without a call)
    dropped: list[str] = []
    if remaining is not None and not _finite(remaining, 0, MAX_QUOTA):
        dropped.append(f"remaining={remaining!r}")
        remaining = None
    if quota is not None and not _finite(quota, 1, MAX_QUOTA):
        dropped.append(f"quota={quota!r}")
        quota = None
    if window is not None and not _finite(window, MIN_WINDOW, MAX_WINDOW):
        dropped.append(f"window={window!r}")
        window = None
    if reset_after is not None:
        # A window cannot end later than one window from now (plus rounding).
        bound = MAX_RESET if window is None else window + 1.0
        if not _finite(reset_after, 0.0, bound):
            dropped.append(f"reset_after={reset_after!r}")
            reset_after = None
    if not dropped:
        return info
    log.debug("ignoring rate-limit values outside sane bounds: %s", ", ".join(dropped))
    return RateLimitInfo(remaining=remaining, reset_after=reset_after, quota=quota, window=window)


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
        max_wait: the longest the limiter waits for a window to reset or a pause to end; a
            longer wait raises :class:`~hf_access.RateLimitError` at once, with the wait in
            ``retry_after`` (None: no cap). A session's own limiter takes the retry policy's
            ``max_rate_limit_wait``.
        check_quota: with ``quota`` given, probe all the same: the first answer says how much
            of the window is left (another client of the token may have spent part of it), and
            the server's count wins over the quota from then on. Sessions create their limiter
            this way.

    Values from headers outside sane bounds are ignored (see :func:`sane_info`), and rolling
    to the current window takes constant time however long the limiter sat idle.
    """

    def __init__(
        self,
        quota: Quota | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        reset_margin: float = 0.5,
        probe_first: bool = True,
        max_wait: float | None = DEFAULT_MAX_WAIT,
        check_quota: bool = False,
    ) -> None:
        if max_wait is not None and not (max_wait >= 0):
            raise ValueError("max_wait must be a number of seconds >= 0, or None")
        self._max_wait = max_wait
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
        self._learned = not probe_first or (quota is not None and not check_quota)
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
                    await self._wait(self._paused_until - now, "a pause after a 429")
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
                    await self._wait(
                        self._reset_at + self._margin - now, "the rate-limit window to reset"
                    )
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

    def acquire_nowait(self) -> bool:
        """Count one more call and return True when nothing would make :meth:`acquire` wait
        (no pause, quota left in a window whose end is known, no first answer awaited);
        else count nothing and return False. The session's hot path, without a coroutine.

        >>> limiter = RateLimiter(Quota(1, 60), probe_first=False)
        >>> limiter.acquire_nowait(), limiter.acquire_nowait()
        (True, False)
        """
        if not self._learned:
            return False
        now = self._clock()
        if self._paused_until > now:
            return False
        reset_at = self._reset_at
        if reset_at is not None and now >= reset_at + self._margin:
            self._roll(now)
        remaining = self._remaining
        if remaining is not None:
            if remaining <= 0:
                return False  # acquire() waits for the window to reset
            self._remaining = remaining - 1
            if self._reset_at is None and self._window is not None:
                self._reset_at = now + self._window
                self._confirmed = False
        self._in_flight += 1
        return True

    def release(self, info: RateLimitInfo | None) -> None:
        """Account for the end of a call started by :meth:`acquire`.

        ``info`` is what the response's headers said (None when there was no response).
        """
        if self._in_flight > 0:
            self._in_flight -= 1
        if info is not None:
            self._learn(sane_info(info))
        if not self._learned or self._probing:
            self._learned = True
            self._end_probe()

    def pause(self, seconds: float) -> None:
        """Hold every task for ``seconds`` (after a 429), and treat the window as spent."""
        if math.isnan(seconds):
            seconds = 0.0
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
        # Once per answer: fields read once into locals, no builtin called but the clock.
        quota, window, remaining, reset_after = (
            info.quota,
            info.window,
            info.remaining,
            info.reset_after,
        )
        if quota is not None and quota > 0:
            self._quota = quota
        if window is not None and window > 0:
            self._window = window
        if remaining is None:
            return
        # Calls still in flight may not have been counted by the server yet: assume they were not.
        estimate = remaining - self._in_flight
        if estimate < 0:
            estimate = 0
        tracked = self._remaining
        if reset_after is None:
            if tracked is None or estimate < tracked:
                self._remaining = estimate
            return
        server_reset = self._clock() + reset_after
        reset_at = self._reset_at
        tolerance = 1.0 + self._margin
        if (
            not self._confirmed
            or reset_at is None
            or tracked is None
            or server_reset > reset_at + tolerance
        ):
            # First news, news of a window we only guessed, or of a newer one: adopt it.
            self._reset_at = server_reset
            self._remaining = estimate
            self._confirmed = True
        elif server_reset >= reset_at - tolerance and estimate < tracked:
            # The window we track: the server's count only ever lowers our estimate.
            self._remaining = estimate
        # else: a late answer from a window that has already ended; it says nothing of this one.

    def _roll(self, now: float) -> None:
        """Start a new window when the tracked one has ended."""
        if self._reset_at is None or now < self._reset_at + self._margin:
            return
        if self._window is not None and self._quota is not None:
            # Skip every window that ended while idle in one step (never a loop over them).
            behind = now - (self._reset_at + self._margin)
            self._reset_at += (math.floor(behind / self._window) + 1) * self._window
            if self._reset_at + self._margin <= now:  # float rounding: at most one more
                self._reset_at += self._window
            self._remaining = self._quota
        else:
            self._reset_at = None
            self._remaining = None

    async def _wait(self, seconds: float, what: str) -> None:
        seconds = max(seconds, 0.0)
        if self._max_wait is not None and seconds > self._max_wait:
            raise RateLimitError(
                f"rate limited: waiting for {what} would take {seconds:.0f}s, longer than the "
                f"longest wait allowed ({self._max_wait:g}s)",
                status=429,
                retry_after=seconds,
            )
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
