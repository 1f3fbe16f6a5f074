"""What every session (the Hub's, GitLab's) shares: one transport, its lifecycle and figures."""

from __future__ import annotations

from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from .config import ClientOptions
from .ratelimit import Limiter
from .sansio import Call
from .transport import Response, Transport

__all__ = ["SessionBase"]

S = TypeVar("S", bound="SessionBase")


class SessionBase:
    """An async context manager over one :class:`~hf_access.core.transport.Transport`."""

    _transport: Transport

    def __repr__(self) -> str:
        token = "set" if self._transport.has_token else "none"
        state = "closed" if self._transport.closed else "open"
        url = self._transport.base_url
        return f"<{type(self).__name__} endpoint={url!r} token={token} {state}>"

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
    def endpoint(self) -> str:
        """The server's base URL."""
        return self._transport.base_url

    @property
    def options(self) -> ClientOptions:
        """The options this session was made with."""
        return self._transport.options

    @property
    def limiter(self) -> Limiter:
        """The rate limiter shared by every task of this session."""
        return self._transport.limiter

    @property
    def calls(self) -> int:
        """HTTP requests sent so far (retries included)."""
        return self._transport.calls

    @property
    def closed(self) -> bool:
        return self._transport.closed

    def _send(self, call: Call) -> Coroutine[Any, Any, Response]:
        # The transport's coroutine itself (awaited by the caller): no coroutine in between.
        return self._transport.send(call)
