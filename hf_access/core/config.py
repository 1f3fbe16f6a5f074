"""The options every session hands to the transport, declared once.

:class:`Timeout` and :class:`RetryPolicy` are small frozen values; :class:`ClientOptions`
carries all of them (and the pool, the limiter, the injectable clocks) from a session to its
:class:`~hf_access.core.transport.Transport`. Sessions take the same options as keyword
arguments (:class:`ClientArgs`) or as one object::

    opts = ClientOptions(retry=RetryPolicy(max_attempts=3), connection_limit=32)
    hub = AccessSession(options=opts)
    gitlab = GitLabSession(options=opts)          # the same options, another provider
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypedDict

import aiohttp
import attrs

from .ratelimit import DEFAULT_MAX_WAIT, Limiter, Quota

__all__ = ["DEFAULT_MAX_BODY_SIZE", "ClientArgs", "ClientOptions", "RetryPolicy", "Timeout"]

DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024
"""8 MiB: a page of 1,000 access requests from the Hub is well under 2 MiB."""


@attrs.frozen
class Timeout:
    """Timeouts in seconds: ``total`` for one attempt, ``connect`` for opening a connection."""

    total: float | None = 60.0
    connect: float | None = 10.0

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.total, connect=self.connect)


@attrs.frozen
class RetryPolicy:
    """When and how long to retry.

    Connection errors, timeouts, 408, 500, 502, 503 and 504 are retried up to ``max_attempts``
    attempts in all, waiting ``initial_backoff * 2**n`` (capped at ``max_backoff``, with
    ``jitter`` as a random fraction taken off) or what ``Retry-After`` asks. 429s pause the
    whole session until the window resets and are retried up to ``max_rate_limited`` times.

    ``max_rate_limit_wait`` caps every wait the server can ask for: a window reset, a pause
    after a 429, a ``Retry-After`` on a 5xx. An advised wait over it is not taken: the error
    (:class:`~hf_access.RateLimitError`, or the server error) is raised at once with that wait
    in ``retry_after``.

    ``RetryPolicy(max_attempts=1)`` turns retries off.
    """

    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = attrs.field(
        default=0.5, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    max_rate_limited: int = 10
    max_rate_limit_wait: float = attrs.field(
        default=DEFAULT_MAX_WAIT, validator=attrs.validators.ge(0)
    )

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        base = min(self.max_backoff, math.ldexp(self.initial_backoff, min(max(0, attempt - 1), 60)))
        if self.jitter:
            draw = float((rng or random).random())
            base *= 1.0 - self.jitter * draw
        return base


@attrs.frozen
class ClientOptions:
    """How a session talks to its server; every field has a sensible default.

    Attributes:
        session: an ``aiohttp.ClientSession`` to borrow (never closed by the session).
        connection_limit: size of the connection pool the session creates.
        timeout: :class:`Timeout` for each attempt.
        retry: :class:`RetryPolicy` (attempts, backoff, longest wait).
        quota: a :class:`~hf_access.Quota` known in advance (learnt from headers otherwise).
        limiter: a limiter to share with other sessions of one token (a
            :class:`~hf_access.RateLimiter`, or any :class:`~hf_access.core.ratelimit.Limiter`).
        allow_insecure_http: allow sending the token over ``http://`` to a non-loopback host.
        user_agent: replaces ``hf-access/<version> aiohttp/<version>``.
        sleep: the coroutine used to wait between retries and in the limiter.
        clock: monotonic seconds, for the limiter the session creates.
        wall_clock: epoch seconds, to read reset times sent as Unix times.
        rng: the random source of the retry jitter.
        max_body_size: the most bytes read of one answer (8 MiB); a longer successful answer
            raises :class:`~hf_access.ResponseTooLargeError` (it is read as a stream, so an
            endless one is never held whole); an error answer is cut at 64 KiB.
    """

    session: aiohttp.ClientSession | None = None
    connection_limit: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    timeout: Timeout = Timeout()
    retry: RetryPolicy = RetryPolicy()
    quota: Quota | None = None
    limiter: Limiter | None = None
    allow_insecure_http: bool = False
    user_agent: str | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    rng: random.Random | None = None
    max_body_size: int = attrs.field(
        default=DEFAULT_MAX_BODY_SIZE, validator=attrs.validators.ge(1)
    )

    def __attrs_post_init__(self) -> None:
        if self.quota is not None and self.limiter is not None:
            raise ValueError("give either quota or limiter, not both")

    @classmethod
    def build(cls, options: ClientOptions | None, overrides: Mapping[str, Any]) -> ClientOptions:
        """``options`` (or the defaults) with ``overrides`` (keyword arguments) applied."""
        unknown = set(overrides) - set(attrs.fields_dict(cls))
        if unknown:
            raise TypeError(f"unknown session option(s): {', '.join(sorted(unknown))}")
        base = options if options is not None else cls()
        return attrs.evolve(base, **overrides) if overrides else base


class ClientArgs(TypedDict, total=False):
    """The fields of :class:`ClientOptions`, as a session's keyword arguments."""

    session: aiohttp.ClientSession | None
    connection_limit: int
    timeout: Timeout
    retry: RetryPolicy
    quota: Quota | None
    limiter: Limiter | None
    allow_insecure_http: bool
    user_agent: str | None
    sleep: Callable[[float], Awaitable[None]]
    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    rng: random.Random | None
    max_body_size: int
