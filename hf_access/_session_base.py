"""What every session (the Hub's, GitLab's) shares: one transport, its lifecycle and figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from ._http import Response, Transport
from .ratelimit import Quota, RateLimiter

__all__ = ["SessionBase", "make_limiter"]

S = TypeVar("S", bound="SessionBase")


def make_limiter(
    quota: Quota | None,
    limiter: RateLimiter | None,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> RateLimiter:
    """The limiter a session uses: the one given, else a new one (with ``quota`` if known)."""
    if limiter is None:
        return RateLimiter(quota, clock=clock, sleep=sleep)
    if quota is not None:
        raise ValueError("give either quota or limiter, not both")
    return limiter


class SessionBase:
    """An async context manager over one :class:`~hf_access._http.Transport`."""

    _transport: Transport
    _url_name = "endpoint"  # how repr names the base URL

    def __repr__(self) -> str:
        token = "set" if self._transport.has_token else "none"
        state = "closed" if self._transport.closed else "open"
        url = self._transport.base_url
        return f"<{type(self).__name__} {self._url_name}={url!r} token={token} {state}>"

    async def __aenter__(self: S) -> S:
        self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool this session created (a borrowed one stays open)."""
        await self._transport.aclose()

    @property
    def limiter(self) -> RateLimiter:
        """The rate limiter shared by every task of this session."""
        return self._transport.limiter

    @property
    def calls(self) -> int:
        """HTTP requests sent so far (retries included)."""
        return self._transport.calls

    @property
    def closed(self) -> bool:
        return self._transport.closed

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        auth: bool = True,
    ) -> Response:
        return await self._transport.request(
            method, path, params=params, json_body=json_body, auth=auth
        )
