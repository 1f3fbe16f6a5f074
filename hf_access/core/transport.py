"""The one request loop: pool, auth, limiter, retries and error translation.

:class:`Transport` is shared by every provider's session. It owns (or borrows) one
``aiohttp.ClientSession``, sends every :class:`~hf_access.core.sansio.Call` through the
session's limiter, retries what is worth retrying, and translates every aiohttp exception into
an :class:`~hf_access.core.errors.HfAccessError` at this boundary. What differs between
providers (the auth header, how rate-limit headers and error answers read) is handed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin

import aiohttp
import attrs

from .._version import __version__
from . import sansio
from .config import ClientOptions
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    DecodeError,
    RateLimitError,
    SessionClosedError,
    TransportError,
    UnsafeLinkError,
)
from .ratelimit import Limiter, RateLimiter, RateLimitInfo

__all__ = [
    "USER_AGENT",
    "CallCounter",
    "ErrorFactory",
    "RateParser",
    "Response",
    "Transport",
    "counting",
]

log = logging.getLogger("hf_access")

USER_AGENT = f"hf-access/{__version__} aiohttp/{aiohttp.__version__}"


class CallCounter:
    """Counts the HTTP calls made while it is active (see :func:`counting`)."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls = 0


_counters: contextvars.ContextVar[tuple[CallCounter, ...]] = contextvars.ContextVar(
    "hf_access_call_counters", default=()
)


@contextlib.contextmanager
def counting() -> Iterator[CallCounter]:
    """Count the calls made by this task (and the tasks it starts) while the block runs.

    Counters nest: a bulk run counts its calls, and each of its items counts its own attempts.
    """
    counter = CallCounter()
    token = _counters.set((*_counters.get(), counter))
    try:
        yield counter
    finally:
        _counters.reset(token)


@attrs.frozen
class Response:
    """A successful answer, read whole."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise DecodeError(f"the answer to {self.url} is not JSON: {exc}") from None


class _Secret:
    """Holds a token; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<token hidden>"

    __str__ = __repr__


ErrorFactory = Callable[..., APIStatusError]
"""``(status, headers, body, *, method, url, retry_after)`` -> the provider's typed error."""
RateParser = Callable[[Mapping[str, str], float], RateLimitInfo]
"""``(headers, now)`` -> what the answer said of the quota (``now``: epoch seconds)."""


class Transport:
    """Sends requests for one API origin. Not public: sessions wrap it."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None,
        auth_header: Callable[[str], tuple[str, str]],
        token_hint: str,
        rate_parser: RateParser,
        error_factory: ErrorFactory,
        options: ClientOptions,
    ) -> None:
        self.base_url = sansio.normalize_endpoint(base_url)
        self._token = _Secret(token) if token else None
        self._auth_header = auth_header
        self._token_hint = token_hint
        self._rate_parser = rate_parser
        self._error_factory = error_factory
        self.options = options
        self._borrowed = options.session
        self._own: aiohttp.ClientSession | None = None
        self.connection_limit = options.connection_limit
        self.timeout = options.timeout
        self.retry = options.retry
        self.limiter: Limiter = (
            options.limiter
            if options.limiter is not None
            else RateLimiter(options.quota, clock=options.clock, sleep=options.sleep)
        )
        self.allow_insecure_http = options.allow_insecure_http
        self.user_agent = options.user_agent or USER_AGENT
        self._sleep = options.sleep
        self._wall_clock = options.wall_clock
        self._rng = options.rng or random.Random()
        self._closed = False
        self.calls = 0
        self._origin = sansio.origin_of(self.base_url)
        self._plain_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        self._auth_headers: dict[str, str] | None = None
        self._client_timeout = options.timeout.to_aiohttp()

    @property
    def has_token(self) -> bool:
        return self._token is not None

    @property
    def closed(self) -> bool:
        return self._closed

    # -- lifecycle ----------------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise SessionClosedError("this session is closed; open a new one")
        if self._borrowed is not None:
            if self._borrowed.closed:
                raise SessionClosedError(
                    "the aiohttp.ClientSession passed to this session is closed"
                )
            return self._borrowed
        if self._own is None:
            connector = aiohttp.TCPConnector(limit=self.connection_limit, limit_per_host=0)
            self._own = aiohttp.ClientSession(
                connector=connector,
                timeout=self._client_timeout,
                headers={"User-Agent": self.user_agent},
                raise_for_status=False,
            )
        return self._own

    def open(self) -> None:
        """Create the pool now (it is otherwise created by the first call)."""
        self._client()

    async def aclose(self) -> None:
        """Close the pool if this transport created it; a borrowed one is left open."""
        self._closed = True
        if self._own is not None:
            own, self._own = self._own, None
            await own.close()

    # -- requests -----------------------------------------------------------------------------

    def resolve(self, path_or_url: str) -> str:
        """An absolute URL on this origin; links to another origin raise UnsafeLinkError."""
        if "://" not in path_or_url:  # a path on the endpoint: nothing to check
            return f"{self.base_url}/{path_or_url.lstrip('/')}"
        url = path_or_url
        if sansio.origin_of(url) != self._origin:
            raise UnsafeLinkError(
                f"refusing to follow a link to another origin ({sansio.origin_of(url)[1]}): "
                "the token is only ever sent to the configured endpoint"
            )
        return url

    def _headers(self, auth: bool) -> dict[str, str]:
        if not auth:
            return self._plain_headers
        if self._auth_headers is not None:
            return self._auth_headers
        headers = dict(self._plain_headers)
        if self._token is None:
            raise ConfigurationError(f"this call needs a token: {self._token_hint}")
        if sansio.is_insecure(self.base_url) and not self.allow_insecure_http:
            raise ConfigurationError(
                f"refusing to send a token over plain http to {self._origin[1]}: use https, a loopback "
                "address, or allow_insecure_http=True"
            )
        name, value = self._auth_header(self._token.get())
        headers[name] = value
        self._auth_headers = headers  # checked once: endpoint and token do not change
        return headers

    async def send(self, call: sansio.Call) -> Response:
        """Send one call through the limiter with retries; a typed error for any failure."""
        client = self._client()
        method, params, json_body = call.method, call.params, call.body
        url = self.resolve(call.path)
        headers = self._headers(call.auth)
        attempt = 0
        limited = 0
        redirects = 0
        while True:
            attempt += 1
            await self.limiter.acquire()
            started = time.perf_counter()
            self.calls += 1
            for counter in _counters.get():
                counter.calls += 1
            try:
                status, resp_headers, body = await self._once(
                    client, method, url, params, json_body, headers
                )
            except TransportError as failure:
                self.limiter.release(None)
                if attempt >= self.retry.max_attempts:
                    raise failure from None
                delay = self.retry.backoff(attempt, self._rng)
                log.info(
                    "%s %s failed (%s); retry %d in %.2fs", method, url, failure, attempt, delay
                )
                await self._sleep(delay)
                continue
            except BaseException:
                self.limiter.release(None)
                raise
            info = self._rate_parser(resp_headers, self._wall_clock())
            self.limiter.release(info)
            if log.isEnabledFor(logging.DEBUG):
                elapsed_ms = (time.perf_counter() - started) * 1e3
                log.debug("%s %s -> %d in %.1f ms", method, url, status, elapsed_ms)
            if 200 <= status < 300:
                return Response(status, resp_headers, body, url)
            if status in (301, 302, 303, 307, 308) and "Location" in resp_headers and redirects < 5:
                redirects += 1
                url = self.resolve(urljoin(url, resp_headers["Location"]))
                params = None
                if status == 303:
                    method, json_body = "GET", None
                attempt -= 1
                continue
            retry_after = sansio.parse_retry_after(resp_headers.get("Retry-After"))
            if status == 429:
                wait = retry_after if retry_after is not None else info.reset_after
                if wait is None:
                    wait = self.retry.backoff(limited + 1, self._rng)
                if limited >= self.retry.max_rate_limited or wait > self.retry.max_rate_limit_wait:
                    raise self._error(status, resp_headers, body, method, url, wait)
                limited += 1
                attempt -= 1
                log.warning(
                    "rate limited on %s %s: pausing every task for %.1fs", method, url, wait
                )
                self.limiter.pause(wait)
                continue
            if sansio.is_retryable_status(status) and attempt < self.retry.max_attempts:
                delay = (
                    retry_after
                    if retry_after is not None
                    else self.retry.backoff(attempt, self._rng)
                )
                log.info(
                    "%s %s answered %d; retry %d in %.2fs", method, url, status, attempt, delay
                )
                await self._sleep(min(delay, self.retry.max_rate_limit_wait))
                continue
            raise self._error(status, resp_headers, body, method, url, retry_after)

    def _error(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        method: str,
        url: str,
        retry_after: float | None,
    ) -> APIStatusError:
        err = self._error_factory(
            status, headers, body, method=method, url=url, retry_after=retry_after
        )
        if isinstance(err, RateLimitError) and err.retry_after is None:
            err.retry_after = retry_after
        return err

    async def _once(
        self,
        client: aiohttp.ClientSession,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: Mapping[str, str],
    ) -> tuple[int, Mapping[str, str], bytes]:
        try:
            async with client.request(
                method,
                url,
                params=params,
                json=json_body,
                headers=headers,
                allow_redirects=False,
                timeout=self._client_timeout,
            ) as resp:
                body = await resp.read()
                return resp.status, resp.headers, body
        except (TimeoutError, asyncio.TimeoutError) as exc:
            raise APITimeoutError(f"{method} {url} timed out") from exc
        except aiohttp.ClientConnectionError as exc:
            raise APIConnectionError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
