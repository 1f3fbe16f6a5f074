"""``--redis URL``: the command's calls share the token's quota with a fleet through Redis, and
``hf-access watch`` runs as one replica of a screening service (only the leader decides).

The quota's key in Redis is ``--redis-key`` (``HF_ACCESS_REDIS_KEY``) when given, else
``hub:<user>`` for the Hub (the token's user, asked once with ``whoami-v2``: the same name a
service gives its ``RedisRateLimiter``) and ``gitlab:<host>:<user>`` for GitLab (asked once
with ``GET /user``). The token itself never reaches Redis, and the URL's password is never printed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from ..core.ratelimit import Limiter, RateLimitInfo
from ..fleet import RedisCoordinator, RedisRateLimiter
from ..gitlab import config as gitlab_config
from ..gitlab.client import GitLabSession
from ..hub.client import AccessSession
from ..hub.inbox import whoami

__all__ = ["KEY_ENV", "REDIS_ENV", "FleetLink"]

REDIS_ENV = "HF_ACCESS_REDIS_URL"
KEY_ENV = "HF_ACCESS_REDIS_KEY"


class _KeyedLater:
    """A limiter whose Redis key is found on the first call (whom the token belongs to)."""

    def __init__(self, key: Callable[[], Awaitable[str]], open_: Callable[[str], Limiter]) -> None:
        self._key, self._open = key, open_
        self._inner: Limiter | None = None
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self._inner is None:
            async with self._lock:
                if self._inner is None:
                    self._inner = self._open(await self._key())
        await self._inner.acquire()

    def release(self, info: RateLimitInfo | None) -> None:
        if self._inner is not None:
            self._inner.release(info)

    def pause(self, seconds: float) -> None:
        if self._inner is not None:
            self._inner.pause(seconds)


class FleetLink:
    """What ``--redis`` and ``--redis-key`` open; closed when the command ends."""

    def __init__(self, url: str | None = None, key: str | None = None) -> None:
        self.url, self.key = url, key
        self._limiters: list[RedisRateLimiter] = []
        self._coordinators: list[RedisCoordinator] = []

    def __repr__(self) -> str:
        return f"FleetLink(redis={'set' if self.url else None}, key={self.key!r})"

    def _open(self, key: str) -> RedisRateLimiter:
        assert self.url is not None
        limiter = RedisRateLimiter.from_url(self.url, key=key)
        self._limiters.append(limiter)
        return limiter

    def hub_limiter(self, token: str | None, endpoint: str | None) -> Limiter | None:
        """The shared limiter for a Hub session (None without ``--redis``)."""
        if not self.url:
            return None
        if self.key:
            return self._open(self.key)

        async def user_key() -> str:
            async with AccessSession(token=token, endpoint=endpoint) as plain:
                return f"hub:{(await whoami(plain)).name}"

        return _KeyedLater(user_key, self._open)

    def gitlab_limiter(self, token: str | None, url: str | None) -> Limiter | None:
        """The shared limiter for a GitLab session (None without ``--redis``)."""
        if not self.url:
            return None
        if self.key:
            return self._open(self.key)
        host = urlsplit(gitlab_config.resolve_url(url)).hostname or "gitlab"

        async def user_key() -> str:
            async with GitLabSession(token=token, endpoint=url) as plain:
                return f"gitlab:{host}:{(await plain.current_user()).username}"

        return _KeyedLater(user_key, self._open)

    def coordinator(self, repos: Sequence[str]) -> RedisCoordinator | None:
        """One replica's coordinator for ``hf-access watch`` of ``repos`` (None without Redis)."""
        if not self.url:
            return None
        names = ",".join(sorted(repos))
        if len(names) > 200:
            names = hashlib.sha256(names.encode()).hexdigest()[:32]
        coordinator = RedisCoordinator.from_url(self.url, name=f"watch:{names}")
        self._coordinators.append(coordinator)
        return coordinator

    async def aclose(self) -> None:
        """Give back leases and the lead; close the connections."""
        for coordinator in self._coordinators:
            await coordinator.aclose()
        for limiter in self._limiters:
            await limiter.aclose()
        self._coordinators.clear()
        self._limiters.clear()
