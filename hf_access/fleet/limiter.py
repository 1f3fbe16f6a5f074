"""RedisRateLimiter: one token's quota shared by every process of a fleet.

The window (quota, length, calls left, when it resets, a pause after a 429, who is probing)
lives in a Redis hash; the calls in flight live in a sorted set as leases that expire. One Lua
script (:data:`~hf_access.fleet._scripts.LIMITER_STEP`) changes both atomically, with Redis's
clock, in one round trip per :meth:`~RedisRateLimiter.acquire`::

    limiter = RedisRateLimiter.from_url("redis://localhost:6379/0", key="hub:alice")
    async with limiter, AccessSession(token=token, limiter=limiter) as hub:
        ...   # every process started this way shares alice's quota

What a process learns from an answer's ``RateLimit`` headers, and a 429's pause, are sent with
its next acquire (or within a few milliseconds when it has nothing more to start), so the
fleet learns together and pauses together. A running call's lease is renewed every third of
``lease_ttl``; a process killed with ``-9`` stops renewing, and its calls stop counting as in
flight ``lease_ttl`` seconds later (10 s by default).

When Redis cannot be reached, the process goes on alone on an in-process
:class:`~hf_access.RateLimiter` that sees ``fallback_share`` of the quota (a quarter by
default: right for up to four processes on the token), logs one warning, and tries Redis
again every ``reconnect_after`` seconds.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from ..core.errors import RateLimitError
from ..core.ratelimit import DEFAULT_MAX_WAIT, LimiterStats, Quota, RateLimiter, RateLimitInfo
from . import _scripts
from ._redis import describe_url, holder_id, open_client

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["FleetLimiterStats", "RedisRateLimiter"]

log = logging.getLogger("hf_access.fleet")

_LOCAL = "<local>"  # a call this process started on its local share
_TOKEN_PREFIXES = ("hf_", "api_org_", "glpat-", "gldt-", "glptt-")


@attrs.define
class FleetLimiterStats(LimiterStats):
    """What this process's limiter did, with its Redis round trips and falls back to local."""

    round_trips: int = 0
    fallbacks: int = 0


def _redis_failure(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, (RedisError, OSError, asyncio.TimeoutError, TimeoutError))


def _field(value: float | None) -> str:
    return "" if value is None else str(math.floor(value))


class RedisRateLimiter:
    """A :class:`~hf_access.ratelimit.Limiter` whose window lives in Redis under ``key``.

    Args:
        client: a ``redis.asyncio.Redis`` (``decode_responses=True``); :meth:`from_url` opens one.
        key: the quota's name, shared by the fleet. Name it after the token's user
            (``"hub:alice"``), never the token itself.
        quota: a quota known in advance (optional; learnt from headers otherwise).
        lease_ttl: seconds a call counts as in flight without being renewed.
        reset_margin: seconds added after the announced reset before spending again.
        probe_first: while nothing is known of the quota, let one call of the whole fleet go
            first and hold the others until its answer arrives.
        fallback_share: the share of the quota this process uses alone while Redis is away.
        reconnect_after: seconds between attempts to reach Redis again while away.
        probe_poll: seconds between looks at Redis while another process's probe is out.
        release_delay: seconds a release waits for an acquire to ride along with.
        max_wait: the longest one wait for the fleet's window or pause may be; a longer one
            raises :class:`~hf_access.RateLimitError` at once, with the wait in
            ``retry_after`` (None: no cap), as the in-process limiter does.
        sleep: the coroutine every local wait goes through (the window, a pause, the
            probe's polls, the leases' renewals).
        clock: for tests: seconds on one clock that every limiter on ``key`` shares (a
            :class:`~hf_access.testing.ManualClock` that also drives the fake Hub), read for
            the local waits and sent to the script, which then keeps the window, pauses and
            leases on it instead of Redis's ``TIME``. ``None`` (the default, and what
            production wants): local waits on :func:`time.monotonic`, the fleet's times on
            Redis's clock, so that hosts whose clocks disagree still agree on the window.
        owns_client: close ``client`` in :meth:`aclose`.
    """

    def __init__(
        self,
        client: Redis,
        *,
        key: str,
        quota: Quota | None = None,
        lease_ttl: float = 10.0,
        reset_margin: float = 0.5,
        probe_first: bool = True,
        fallback_share: float = 0.25,
        reconnect_after: float = 5.0,
        probe_poll: float = 0.01,
        release_delay: float = 0.002,
        max_wait: float | None = DEFAULT_MAX_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
        owns_client: bool = False,
        description: str = "redis",
    ) -> None:
        if not isinstance(key, str) or not key.strip() or any(c.isspace() for c in key):
            raise ValueError(f"key must be a non-empty name without spaces, got {key!r}")
        if key.startswith(_TOKEN_PREFIXES):
            raise ValueError(
                "key looks like a token: name the quota after the token's user (e.g. 'hub:alice')"
            )
        if lease_ttl <= 0 or reset_margin < 0 or reconnect_after < 0 or probe_poll <= 0:
            raise ValueError("lease_ttl and probe_poll must be positive, the others not negative")
        if not 0 < fallback_share <= 1:
            raise ValueError("fallback_share must be in (0, 1]")
        self._client = client
        self._owns_client = owns_client
        self._description = description
        self.key = key
        self._keys = [f"hf-access:limiter:{{{key}}}", f"hf-access:limiter:{{{key}}}:inflight"]
        self._init = (
            (str(quota.calls), _field(quota.window * 1000)) if quota is not None else ("", "")
        )
        self._ttl_ms = str(max(1, round(lease_ttl * 1000)))
        self._lease_ttl = lease_ttl
        self._margin = reset_margin
        self._margin_ms = str(round(reset_margin * 1000))
        self._probe_first = "1" if probe_first else "0"
        self._share = fallback_share
        self._reconnect_after = reconnect_after
        self._probe_poll = probe_poll
        self._release_delay = release_delay
        self._max_wait = max_wait
        self._sleep = sleep
        self._clock = time.monotonic if clock is None else clock
        self._script_clock = clock  # None: the script reads Redis's TIME
        self._script: AsyncScript = client.register_script(_scripts.LIMITER_STEP)
        self._holder = holder_id()
        self._ids = itertools.count(1)
        # Leases this process holds: lease id -> grant number, oldest first. The task that
        # acquired a lease finds it again in release through a context variable (a session
        # acquires and releases in the same task), so what an answer said is matched with the
        # grant of the call it answers.
        self._held: dict[str, int] = {}
        self._mine: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            f"hf_access_fleet_lease_{id(self)}", default=None
        )
        self._pending: list[tuple[tuple[str, int], RateLimitInfo | None]] = []
        self._pause_ms: int | None = None
        self._paused_until = 0.0
        self._flush_handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self._local: RateLimiter | None = None
        self._local_held = 0
        self._degraded_since: float | None = None
        self._warned = False
        self._closed = False
        # The fleet's window as last seen (for the properties and the fallback's share).
        self._quota: int | None = quota.calls if quota else None
        self._window: float | None = quota.window if quota else None
        self._remaining: int | None = None
        self._in_flight = 0
        self.stats = FleetLimiterStats()

    @classmethod
    def from_url(
        cls, url: str, *, key: str, timeout: float = 1.0, **options: Any
    ) -> RedisRateLimiter:
        """A limiter on the Redis at ``url`` (``redis://host:port/db``; credentials allowed and
        never shown), failing over to local within ``timeout`` seconds when Redis is away.

        >>> limiter = RedisRateLimiter.from_url("redis://127.0.0.1:6379/0", key="hub:alice")
        >>> limiter
        RedisRateLimiter(key='hub:alice', redis='redis://127.0.0.1:6379/0', quota=None, window=None, remaining=None, in_flight=0)
        """
        client = open_client(url, timeout=timeout)
        return cls(client, key=key, owns_client=True, description=describe_url(url), **options)

    def __repr__(self) -> str:
        state = ", degraded" if self.degraded else ""
        return (
            f"RedisRateLimiter(key={self.key!r}, redis={self._description!r}, "
            f"quota={self._quota}, window={self._window}, remaining={self._remaining}, "
            f"in_flight={self._in_flight}{state})"
        )

    # -- what is known (as last seen in Redis) -----------------------------------------------

    @property
    def quota(self) -> int | None:
        """Calls per window, once the fleet knows it."""
        return self._quota

    @property
    def window(self) -> float | None:
        """Window length in seconds, once the fleet knows it."""
        return self._window

    @property
    def remaining(self) -> int | None:
        """Calls the fleet may still start in this window, as of the last round trip."""
        return self._remaining

    @property
    def in_flight(self) -> int:
        """Calls the whole fleet had in flight, as of the last round trip."""
        return self._in_flight

    @property
    def degraded(self) -> bool:
        """True while Redis is away and this process runs on its local share."""
        return self._degraded_since is not None

    # -- the limiter protocol -----------------------------------------------------------------

    async def acquire(self) -> None:
        """Wait until the fleet's window lets one more call start, and count it."""
        if self._closed:
            raise RuntimeError("this limiter is closed")
        while True:
            now = self._clock()
            if self._paused_until > now:
                await self._wait(self._paused_until - now)
                continue
            local = self._local
            since = self._degraded_since
            if local is not None and since is not None and now - since < self._reconnect_after:
                await local.acquire()
                self._local_held += 1
                self._mine.set(_LOCAL)
                return
            lease = f"{self._holder}:{next(self._ids)}"
            try:
                result = await self._step(acquire=lease)
            except Exception as exc:
                if not _redis_failure(exc):
                    raise
                self._fall_back(exc)
                continue
            if result[0]:
                self._held[lease] = result[3]
                self._mine.set(lease)
                self._start_heartbeat()
                return
            wait_ms = result[1]
            await self._wait(self._probe_poll if wait_ms < 0 else wait_ms / 1000)

    def release(self, info: RateLimitInfo | None) -> None:
        """Give back a call's slot; what its answer said reaches the fleet with the next step."""
        lease = self._mine.get()
        self._mine.set(None)
        if lease is not None and lease in self._held:
            self._pending.append(((lease, self._held.pop(lease)), info))
        elif self._local is not None and self._local_held and (lease == _LOCAL or not self._held):
            self._local_held -= 1
            self._local.release(self._scaled(info))
            return
        elif self._held:  # released from another task: take the oldest
            oldest = next(iter(self._held))
            self._pending.append(((oldest, self._held.pop(oldest)), info))
        else:
            return
        self._schedule_flush()

    def pause(self, seconds: float) -> None:
        """Hold every call of the fleet for ``seconds`` (after a 429)."""
        seconds = max(0.0, seconds)
        until = self._clock() + seconds
        self._paused_until = max(self._paused_until, until)
        self.stats.pauses += 1
        ms = math.ceil(seconds * 1000)
        self._pause_ms = ms if self._pause_ms is None else max(self._pause_ms, ms)
        if self._local is not None:
            self._local.pause(seconds)
        self._schedule_flush()

    async def flush(self) -> None:
        """Send what this process has not told the fleet yet (what its answers said, a pause)
        now instead of within ``release_delay``, and return once Redis has it, including what
        a send already under way carries."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        if not self._closed and (self._pending or self._pause_ms is not None):
            await self._flush()

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Send what is pending, give back this process's leases, close an owned client."""
        if self._closed:
            return
        self._closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        running = [t for t in (self._heartbeat, *self._tasks) if t is not None and not t.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._pending.extend((held, None) for held in self._held.items())
        self._held.clear()
        if self._pending or self._pause_ms is not None:
            try:
                await self._step()
            except Exception as exc:
                if not _redis_failure(exc):
                    raise
        if self._owns_client:
            await self._client.aclose()

    # -- internals ----------------------------------------------------------------------------

    async def _step(
        self, *, acquire: str = "", extend: list[str] | None = None
    ) -> tuple[int, int, int, int]:
        """One run of the script; returns (granted, wait ms, probe, grant number)."""
        releases, self._pending = self._pending, []
        pause, self._pause_ms = self._pause_ms, None
        extend = extend or []
        args: list[str] = [
            self._ttl_ms,
            self._margin_ms,
            *self._init,
            self._probe_first,
            "" if pause is None else str(pause),
            acquire,
            str(len(extend)),
            str(len(releases)),
            "" if self._script_clock is None else str(math.floor(self._script_clock() * 1000)),
            *extend,
        ]
        for (lease, number), info in releases:
            if info is None:
                args += [lease, str(number), "", "", "", ""]
            else:
                reset_ms = None if info.reset_after is None else info.reset_after * 1000
                window_ms = None if info.window is None else info.window * 1000
                args += [
                    lease,
                    str(number),
                    _field(info.remaining),
                    _field(reset_ms),
                    _field(info.quota),
                    _field(window_ms),
                ]
        self.stats.round_trips += 1
        raw = await self._script(keys=self._keys, args=args)
        granted, wait_ms, probe, quota, window_ms, remaining, in_flight, seq = (int(v) for v in raw)
        self._quota = quota if quota >= 0 else None
        self._window = window_ms / 1000 if window_ms >= 0 else None
        self._remaining = remaining if remaining >= 0 else None
        self._in_flight = in_flight
        if self._degraded_since is not None:
            self._degraded_since = None
            log.info("Redis at %s is back: sharing the quota %r again", self._description, self.key)
        return granted, wait_ms, probe, seq

    async def _wait(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        if self._max_wait is not None and seconds > self._max_wait:
            raise RateLimitError(
                f"rate limited: the fleet's quota {self.key!r} is spent or paused for "
                f"{seconds:.0f}s, longer than the longest wait allowed ({self._max_wait:g}s)",
                status=429,
                retry_after=seconds,
            )
        self.stats.waits += 1
        self.stats.waited_seconds += seconds
        await self._sleep(seconds)

    def _schedule_flush(self) -> None:
        if self._flush_handle is not None or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the next acquire takes it along
        self._flush_handle = loop.call_later(self._release_delay, self._start_flush, loop)

    def _start_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flush_handle = None
        if self._closed or (not self._pending and self._pause_ms is None):
            return
        task = loop.create_task(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        try:
            await self._step()
        except Exception as exc:
            if not _redis_failure(exc):
                raise
            self._fall_back(exc)

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._renew_leases())

    async def _renew_leases(self) -> None:
        """Keep this process's running calls counted as in flight; ends when none is left."""
        while self._held and not self._closed:
            await self._sleep(self._lease_ttl / 3)
            if not self._held:
                return
            try:
                await self._step(extend=list(self._held))
            except Exception as exc:
                if not _redis_failure(exc):
                    raise
                self._fall_back(exc)

    def _fall_back(self, exc: BaseException) -> None:
        """Redis is away: go on alone on this process's share of the quota."""
        if self._closed:
            return
        if self._degraded_since is None:
            self.stats.fallbacks += 1
            if self._local is None:
                quota = None
                if self._quota is not None and self._window is not None:
                    quota = Quota(max(1, math.floor(self._quota * self._share)), self._window)
                self._local = RateLimiter(
                    quota, clock=self._clock, sleep=self._sleep, reset_margin=self._margin
                )
            level = logging.INFO if self._warned else logging.WARNING
            self._warned = True
            log.log(
                level,
                "Redis at %s is unreachable (%s): this process goes on alone with %.0f%% of "
                "the quota %r and tries Redis again every %.0f s",
                self._description,
                type(exc).__name__,
                self._share * 100,
                self.key,
                self._reconnect_after,
            )
        self._degraded_since = self._clock()
        # Leases taken from Redis are gone with it (or expire there); forget them.
        self._held.clear()
        self._pending.clear()

    def _scaled(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """What an answer said, seen through this process's share of the quota."""
        if info is None:
            return None
        share = self._share
        return RateLimitInfo(
            remaining=None if info.remaining is None else math.floor(info.remaining * share),
            reset_after=info.reset_after,
            quota=None if info.quota is None else max(1, math.floor(info.quota * share)),
            window=info.window,
        )
