"""The one page loop: follow ``next`` links from a first :class:`~hf_access.core.sansio.Call`.

A provider says how a page's body decodes and where its next link is; this loop sends each
page through the transport, resolves relative links against the page they came from, and
refuses to follow a link to a page it has already read in this listing (a server that links
a page to itself, or two pages to each other, would otherwise be read forever): the first page
counts as read with the query it was sent with, and two URLs name the same page when they differ
only in the order or the encoding of their query parameters.

With ``prefetch=True`` the request for the next page leaves before this page is decoded, so
the server prepares it while the client decodes (at most one page ahead; a listing stopped
early cancels it, having spent that one call).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import attrs

from .errors import DecodeError, UnsafeLinkError
from .sansio import Call
from .transport import Response

__all__ = ["Page", "PaginationLoopError", "iter_pages"]

T = TypeVar("T")


class PaginationLoopError(DecodeError):
    """A next-page link pointed at a page already read in this listing."""


def _page_key(url: str) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    """What names a page: origin, path and the sorted query parameters."""
    parts = urlsplit(url)
    query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query)


@attrs.frozen
class Page(Generic[T]):
    """One page: its decoded items, the answer it came in, and the next link (if any)."""

    items: list[T]
    response: Response
    next_url: str | None


async def iter_pages(
    send: Callable[[Call], Awaitable[Response]],
    first: Call,
    decode: Callable[[Any], list[T]],
    next_link: Callable[[Response, Call], str | None],
    *,
    prefetch: bool = False,
) -> AsyncIterator[Page[T]]:
    """Yield every page from ``first`` on; ``next_link(response, call)`` finds the next one."""
    call: Call | None = first
    read: set[tuple[str, str, str, tuple[tuple[str, str], ...]]] = set()
    ahead: asyncio.Task[Response] | None = None
    try:
        while call is not None:
            if ahead is not None:
                response, ahead = await ahead, None
            else:
                response = await send(call)
            sent = response.url
            if call.params:
                sent += ("&" if urlsplit(sent).query else "?") + urlencode(call.params)
            read.add(_page_key(sent))
            link = next_link(response, call)
            # Relative links resolve against the page they came from; the next link holds its
            # own query, so no params are sent again.
            next_url: str | None = None
            if link is not None:
                try:
                    next_url = urljoin(response.url, link)
                    key = _page_key(next_url)
                except ValueError as exc:  # a broken IPv6 host, a bad port
                    raise UnsafeLinkError(
                        f"refusing to follow a malformed next-page link ({exc})"
                    ) from None
                if key in read:
                    raise PaginationLoopError(
                        "the server's next-page link points back to a page already read "
                        f"({next_url})"
                    )
            call = Call("GET", next_url, auth=first.auth) if next_url is not None else None
            if prefetch and call is not None:
                ahead = asyncio.ensure_future(send(call))
                ahead.add_done_callback(_retrieve)
                await asyncio.sleep(0)  # let it reach the socket before decoding this page
            items = decode(response.json())
            yield Page(items, response, next_url)
            del items, response  # this page goes before the next comes
    finally:
        if ahead is not None:
            ahead.cancel()


def _retrieve(task: asyncio.Task[Response]) -> None:
    """Mark a prefetch's failure as seen when nobody awaits it (the listing was stopped)."""
    if not task.cancelled():
        task.exception()
