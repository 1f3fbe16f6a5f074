"""Opening a Redis client for the fleet: the optional dependency, timeouts, a safe description."""

from __future__ import annotations

import os
import secrets
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..core.errors import ConfigurationError, HfAccessError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["FleetError", "LeadershipLost", "describe_url", "holder_id", "open_client"]


class FleetError(HfAccessError):
    """Redis could not be reached (or answered with an error) for a fleet operation."""


class LeadershipLost(FleetError):
    """This replica is not (or no longer) the fleet's leader: it must not decide."""


def describe_url(url: str) -> str:
    """The URL without its credentials, for repr and messages.

    >>> describe_url("redis://:s3cret@cache.internal:6380/2")
    'redis://cache.internal:6380/2'
    """
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def holder_id() -> str:
    """A name for this process that no other process of the fleet has."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def open_client(url: str, *, timeout: float) -> Redis:
    """An asyncio Redis client for ``url`` that fails fast (no silent retries) when Redis is gone."""
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"expected a redis:// (or rediss://, unix://) URL, got {url!r}")
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    try:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ConfigurationError(
            "the fleet needs redis-py: pip install 'hf-access[redis]'"
        ) from None
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": True,
    }
    try:
        client: Redis = aioredis.from_url(url, **options)
    except ValueError as exc:
        raise ValueError(f"bad Redis URL {describe_url(url)!r}: {exc}") from None
    return client
