"""The one request loop: pool, auth, limiter, retries and error translation.

:class:`Transport` is shared by every provider's session. It owns (or borrows) one
``aiohttp.ClientSession``, sends every :class:`~hf_access.core.sansio.Call` through the
session's limiter, retries what is worth retrying, and translates every aiohttp exception into
an :class:`~hf_access.core.errors.HfAccessError` at this boundary. What differs between
providers (the auth header, how rate-limit headers and error answers read) is handed in.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import random
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from .._version import __version__
from . import sansio
from .config import ClientOptions
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    DecodeError,
    HfAccessWarning,
    ResponseTooLargeError,
    SessionClosedError,
    TransportError,
    UnsafeLinkError,
    class_for_status,
    make_error,
)
from .ratelimit import Limiter, RateLimiter, RateLimitInfo, sane_info

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

_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    getattr(aiohttp, name) for name in ("ConnectionTimeoutError",) if hasattr(aiohttp, name)
)  # aiohttp >= 3.10 tells a connect timeout apart

_HIDDEN = "[token hidden]"
_URLS_MAX = 1024
_ERROR_BODY_LIMIT = 64 * 1024
_CHUNK = 64 * 1024


class CallCounter:
    """Counts the HTTP calls made while it is active (see :func:`counting`).

    ``unanswered`` counts the attempts that got no answer (connection lost, timeout; not a
    connection that could not be opened): the server may have applied such a call, so a bulk run settles it by reading the state.
    """

    __slots__ = ("calls", "unanswered")

    def __init__(self) -> None:
        self.calls = 0
        self.unanswered = 0


_counters: contextvars.ContextVar[tuple[CallCounter, ...]] = contextvars.ContextVar(
    "hf_access_call_counters", default=()
)


def counting() -> _Counting:
    """Count the calls made by this task (and the tasks it starts) while the block runs::

        with counting() as counter:
            ...
        counter.calls, counter.unanswered

    Counters nest: a bulk run counts its calls, and each of its items counts its own attempts.
    """
    return _Counting()


class _Counting:
    """The context manager of :func:`counting` (a class: a bulk run enters two per call)."""

    __slots__ = ("_token",)

    def __enter__(self) -> CallCounter:
        counter = CallCounter()
        self._token = _counters.set((*_counters.get(), counter))
        return counter

    def __exit__(self, *exc_info: object) -> None:
        _counters.reset(self._token)


class Response:
    """A successful answer, read whole (made for every call: a plain slotted class, the
    cheapest to build; its fields are not meant to change)."""

    __slots__ = ("body", "headers", "status", "url")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes, url: str) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url

    def __repr__(self) -> str:
        return f"<Response {self.status} from {self.url} ({len(self.body)} bytes)>"

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise DecodeError(f"the answer to {self.url} is not JSON: {exc}") from None
        except RecursionError:
            raise DecodeError(f"the answer to {self.url} is JSON nested too deep to read") from None


class _Secret:
    """Holds a token; its repr and str never show it."""

    __slots__ = ("_bytes", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._bytes = value.encode()

    def get(self) -> str:
        return self._value

    def get_bytes(self) -> bytes:
        """The token as the bytes a body would carry it in (encoded once)."""
        return self._bytes

    def __repr__(self) -> str:
        return "<token hidden>"

    __str__ = __repr__


class _Headers(dict[str, str]):
    """Request headers whose repr hides the one that carries the token."""

    secret: str | None = None

    def __repr__(self) -> str:
        return repr({k: ("<hidden>" if k == self.secret else v) for k, v in self.items()})

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
            else RateLimiter(
                options.quota,
                clock=options.clock,
                sleep=options.sleep,
                max_wait=options.retry.max_rate_limit_wait,
                check_quota=True,
            )
        )
        # The in-process limiter checks what it is told itself and can count a call without
        # a coroutine when nothing holds it back; any other limiter gets checked values and
        # is always awaited.
        own_limiter = type(self.limiter) is RateLimiter
        self._limiter_checks = own_limiter
        self._acquire_nowait: Callable[[], bool] | None = (
            self.limiter.acquire_nowait  # type: ignore[attr-defined]
            if own_limiter
            else None
        )
        self.max_body_size = options.max_body_size
        self.allow_insecure_http = options.allow_insecure_http
        self.user_agent = options.user_agent or USER_AGENT
        self._sleep = options.sleep
        self._wall_clock = options.wall_clock
        self._rng = options.rng or random.Random()
        self._closed = False
        self.calls = 0
        self._origin = sansio.origin_of(self.base_url)
        self._plain_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        self._header_sets: dict[tuple[bool, bool], Mapping[str, str]] = {}
        self._client_timeout = options.timeout.to_aiohttp()
        # A path on the endpoint -> its URL: a repo's decisions go to the same few paths.
        self._urls: dict[str, str] = {}

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
            # No default headers: every request carries its own (User-Agent included), so
            # aiohttp has nothing to merge per call.
            self._own = aiohttp.ClientSession(
                connector=connector, timeout=self._client_timeout, raise_for_status=False
            )
            # aiohttp silently sends an idempotent call (PUT, DELETE) again when a reused
            # connection drops before the answer; then a change that landed reads as
            # "already done" and nobody can tell. Retries are this loop's alone, where a
            # lost answer is counted (CallCounter.unanswered) and settled by the bulk runs.
            if hasattr(self._own, "_retry_connection"):
                self._own._retry_connection = False
        return self._own

    def open(self) -> None:
        """Create the pool now (it is otherwise created by the first call)."""
        self._client()

    def make_room(self, calls: int) -> None:
        """Let ``calls`` requests be in flight at once (a bulk run's ``concurrency``).

        The session's own pool grows to that size; a borrowed ``aiohttp.ClientSession`` is
        never changed, and a warning says when its pool is the smaller bound.
        """
        if self._borrowed is not None:
            connector = self._borrowed.connector
            limit = connector.limit if connector is not None else 0
            if 0 < limit < calls:
                warnings.warn(
                    f"the aiohttp.ClientSession given to this session allows {limit} "
                    f"connections: at most {limit} of the {calls} concurrent calls asked for "
                    f"run at once (give it a TCPConnector(limit={calls}) or more)",
                    HfAccessWarning,
                    stacklevel=3,
                )
            return
        if calls <= self.connection_limit:
            return
        self.connection_limit = calls
        own = self._own.connector if self._own is not None else None
        if own is not None and 0 < own.limit < calls:
            # Our own pool, already open: aiohttp has no public resize, and this attribute is
            # what its connector checks on every acquire.
            own._limit = calls

    async def aclose(self) -> None:
        """Close the pool if this transport created it; a borrowed one is left open."""
        self._closed = True
        if self._own is not None:
            own, self._own = self._own, None
            await own.close()

    # -- requests -----------------------------------------------------------------------------

    def resolve(self, path_or_url: str) -> str:
        """An absolute URL on this origin; a link to another origin, or one that does not parse
        (a port of 99999, ``:1:2``, a broken IPv6 address), raises UnsafeLinkError."""
        if "://" not in path_or_url:  # a path on the endpoint: nothing to check
            return f"{self.base_url}/{path_or_url.lstrip('/')}"
        url = path_or_url
        problem = sansio.check_url(url)
        if problem is not None:
            raise UnsafeLinkError(
                f"refusing to follow a malformed link ({problem}): "
                f"{sansio.excerpt(self.redact(url), 120)}"
            )
        if sansio.origin_of(url) != self._origin:
            raise UnsafeLinkError(
                f"refusing to follow a link to another origin ({sansio.origin_of(url)[1]}): "
                "the token is only ever sent to the configured endpoint"
            )
        return url

    def redact(self, text: str) -> str:
        """``text`` with this session's token replaced by ``[token hidden]``."""
        if self._token is None:
            return text
        return text.replace(self._token.get(), _HIDDEN)

    def _headers(self, auth: bool, has_body: bool = False) -> Mapping[str, str]:
        """The request headers of a call: built and checked once per kind (the endpoint and
        the token do not change)."""
        headers = self._header_sets.get((auth, has_body))
        if headers is None:
            headers = self._header_sets[auth, has_body] = self._build_headers(auth, has_body)
        return headers

    def _build_headers(self, auth: bool, has_body: bool) -> Mapping[str, str]:
        headers = _Headers(self._plain_headers)
        if has_body:
            headers["Content-Type"] = "application/json"
        if not auth:
            return headers
        if self._token is None:
            raise ConfigurationError(f"this call needs a token: {self._token_hint}")
        if sansio.is_insecure(self.base_url) and not self.allow_insecure_http:
            raise ConfigurationError(
                f"refusing to send a token over plain http to {self._origin[1]}: use https, a loopback "
                "address, or allow_insecure_http=True"
            )
        name, value = self._auth_header(self._token.get())
        headers[name] = value
        headers.secret = name
        return headers

    async def send(self, call: sansio.Call) -> Response:
        """Send one call through the limiter with retries; a typed error for any failure.

        Every wait is bounded by the retry policy (``max_rate_limit_wait``), the limiter's slot
        is given back on every path, and the session's token is scrubbed from whatever the
        server sent before any of it is kept or shown.
        """
        client = self._client()
        method, params, path = call.method, call.params, call.path
        # A path on the endpoint needs no check; an absolute URL (a next-page link) does.
        url = self._urls.get(path)
        if url is None:
            if "://" in path:
                url = self.resolve(path)  # a next-page link: checked each time, not kept
            else:
                url = f"{self.base_url}/{path.lstrip('/')}"
                if len(self._urls) >= _URLS_MAX:
                    self._urls.clear()
                self._urls[path] = url
        # Serialised once, here, as a dry run shows it (Call.content); an error raises now,
        # before anything is sent.
        data = None if call.body is None else sansio.encode_body(call.body)
        headers = self._headers(call.auth, data is not None)
        attempt = 0
        limited = 0
        redirects = 0
        debug = log.isEnabledFor(logging.DEBUG)
        while True:
            attempt += 1
            started = time.perf_counter() if debug else 0.0
            answer = await self._attempt(client, method, url, params, data, headers)
            if isinstance(answer, TransportError):
                if not answer.unreachable:  # sent, maybe applied; a refused one never was
                    for counter in _counters.get():
                        counter.unanswered += 1
                if attempt >= self.retry.max_attempts:
                    raise answer
                delay = self.retry.backoff(attempt, self._rng)
                log.info(
                    "%s %s failed (%s); retry %d in %.2fs", method, url, answer, attempt, delay
                )
                await self._sleep(delay)
                continue
            status, resp_headers, body, info = answer
            if debug:
                elapsed_ms = (time.perf_counter() - started) * 1e3
                log.debug("%s %s -> %d in %.1f ms", method, url, status, elapsed_ms)
            if 200 <= status < 300:
                return Response(status, resp_headers, body, url)
            if status in (301, 302, 303, 307, 308) and "Location" in resp_headers and redirects < 5:
                redirects += 1
                try:
                    target = urljoin(url, resp_headers["Location"])
                except ValueError:  # urljoin parses both: a broken IPv6 host raises
                    target = resp_headers["Location"]
                    if "://" not in target:
                        target = "http://" + target  # let resolve() name the problem
                url = self.resolve(target)
                params = None
                if status == 303:
                    method, data = "GET", None
                    headers = self._headers(call.auth, False)
                attempt -= 1
                continue
            retry_after = sansio.parse_retry_after(
                resp_headers.get("Retry-After"), now=self._wall_clock()
            )
            cap = self.retry.max_rate_limit_wait
            if status == 429:
                wait = retry_after if retry_after is not None else sane_info(info).reset_after
                if wait is None:
                    wait = self.retry.backoff(limited + 1, self._rng)
                if limited >= self.retry.max_rate_limited or wait > cap:
                    raise self._error(status, resp_headers, body, method, url, wait)
                limited += 1
                attempt -= 1
                log.warning(
                    "rate limited on %s %s: pausing every task for %.1fs", method, url, wait
                )
                self.limiter.pause(wait)
                continue
            if sansio.is_retryable_status(status) and attempt < self.retry.max_attempts:
                if retry_after is not None and retry_after > cap:
                    # The server asks for a longer wait than the policy allows: say so now.
                    raise self._error(status, resp_headers, body, method, url, retry_after)
                delay = (
                    retry_after
                    if retry_after is not None
                    else self.retry.backoff(attempt, self._rng)
                )
                log.info(
                    "%s %s answered %d; retry %d in %.2fs", method, url, status, attempt, delay
                )
                await self._sleep(delay)
                continue
            raise self._error(status, resp_headers, body, method, url, retry_after)

    async def _attempt(
        self,
        client: aiohttp.ClientSession,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        data: bytes | None,
        headers: Mapping[str, str],
    ) -> tuple[int, Mapping[str, str], bytes, RateLimitInfo] | TransportError:
        """One attempt inside the limiter; the slot is given back on every path, and every
        aiohttp exception becomes a typed error here (a connection error or timeout is
        returned, to be retried; anything else is raised)."""
        acquire_nowait = self._acquire_nowait
        if acquire_nowait is None or not acquire_nowait():
            await self.limiter.acquire()
        info: RateLimitInfo | None = None
        try:
            self.calls += 1
            for counter in _counters.get():
                counter.calls += 1
            try:
                if params is None and client is self._own:
                    # The usual call on our own pool, whose default timeout is ours: only the
                    # arguments that differ from aiohttp's defaults (fewer for it to read).
                    request = client.request(
                        method, url, data=data, headers=headers, allow_redirects=False
                    )
                else:
                    request = client.request(
                        method,
                        url,
                        params=params,
                        data=data,
                        headers=headers,
                        allow_redirects=False,
                        timeout=self._client_timeout,
                    )
                async with request as resp:
                    status = resp.status
                    raw_headers: Mapping[str, str] = resp.headers
                    declared = resp.content_length
                    if (
                        200 <= status < 300
                        and declared is not None
                        and declared <= self.max_body_size
                        and "Content-Encoding" not in raw_headers
                    ):
                        # The usual answer (see _read): its length said, and within the limit.
                        body = await resp.read()
                    else:
                        body = await self._read(resp, method, url, 200 <= status < 300)
            except (TimeoutError, asyncio.TimeoutError) as exc:
                timeout = APITimeoutError(f"{method} {url} timed out")
                timeout.unreachable = isinstance(exc, _CONNECT_TIMEOUT)
                return timeout
            except aiohttp.InvalidURL as exc:
                raise UnsafeLinkError(
                    f"refusing to follow a malformed link: {self.redact(str(exc))[:200]}"
                ) from None
            except aiohttp.ClientError as exc:
                # Returned, not raised from here: aiohttp's frames hold the request headers
                # (the token) in locals, and no traceback keeps them.
                text = self.redact(f"{type(exc).__name__}: {exc}")
                failure = APIConnectionError(f"{method} {url}: {text}")
                failure.unreachable = isinstance(exc, aiohttp.ClientConnectorError)
                return failure
            except ValueError as exc:  # yarl refusing a URL that urlsplit took
                raise UnsafeLinkError(
                    f"refusing to follow a malformed link: {self.redact(str(exc))[:200]}"
                ) from None
            secret = self._token
            if secret is not None:  # the token scrubbed from the answer: one search of each
                if secret._value in "\n".join(raw_headers.values()):
                    raw_headers = self._scrub_headers(raw_headers)
                if secret._bytes in body:
                    body = self._scrub(body)
            resp_headers = raw_headers
            try:
                info = self._rate_parser(resp_headers, self._wall_clock())
            except Exception as exc:  # a provider's parser must not strand the limiter's slot
                log.debug(
                    "ignoring unreadable rate-limit headers (%s: %s)", type(exc).__name__, exc
                )
                info = RateLimitInfo()
            return status, resp_headers, body, info
        finally:
            # Our own limiter checks the values itself; another one is given checked values.
            self.limiter.release(info if info is None or self._limiter_checks else sane_info(info))

    def _error(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        method: str,
        url: str,
        retry_after: float | None,
    ) -> APIStatusError:
        try:
            err = self._error_factory(
                status, headers, body, method=method, url=url, retry_after=retry_after
            )
        except Exception as exc:  # however odd the body, the caller gets a typed error
            log.debug("the error classifier failed (%s: %s)", type(exc).__name__, exc)
            text, _ = sansio.error_body(body)
            err = make_error(
                class_for_status(status),
                sansio.excerpt(text),
                status=status,
                method=method,
                url=url,
                retry_after=retry_after,
            )
        if err.retry_after is None and retry_after is not None:
            err.retry_after = retry_after
            err._refresh()
        return err

    async def _read(self, resp: aiohttp.ClientResponse, method: str, url: str, ok: bool) -> bytes:
        """The body, read as a stream up to the limit: a successful answer longer than
        ``max_body_size`` raises ResponseTooLargeError; an error answer is cut at 64 KiB."""
        limit = self.max_body_size if ok else min(self.max_body_size, _ERROR_BODY_LIMIT)
        declared = resp.content_length
        if ok and declared is not None:
            if declared <= limit and "Content-Encoding" not in resp.headers:
                return await resp.read()  # the usual answer: its length said, and within limit
            resp.close()
            raise ResponseTooLargeError(
                f"the answer to {method} {url} is {declared} bytes, over the limit of {limit} "
                "(max_body_size)"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = await resp.content.read(min(_CHUNK, limit + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        resp.close()  # stop reading: the rest is never downloaded
        if ok:
            raise ResponseTooLargeError(
                f"the answer to {method} {url} is over the limit of {limit} bytes (max_body_size)"
            )
        return b"".join(chunks)[:limit]

    def _scrub(self, body: bytes) -> bytes:
        if self._token is None:
            return body
        secret = self._token.get_bytes()
        return body.replace(secret, _HIDDEN.encode()) if secret in body else body

    def _scrub_headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        if self._token is None:
            return headers
        secret = self._token.get()
        if secret not in "\n".join(headers.values()):  # one search, not one per header
            return headers
        clean: CIMultiDict[str] = CIMultiDict()
        for name, value in headers.items():
            clean.add(name, value.replace(secret, _HIDDEN))
        return CIMultiDictProxy(clean)
