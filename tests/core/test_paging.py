"""The page loop's prefetch: one page ahead, cancelled when the listing stops early."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hf_access import Call, DecodeError
from hf_access.core.paging import iter_pages
from hf_access.core.transport import Response

BASE = "https://hub.test/list"


class Pages:
    """A server of ``count`` pages; page ``n`` links to ``n + 1``. ``hold`` blocks a page."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.sent: list[int] = []
        self.hold: dict[int, asyncio.Event] = {}
        self.cancelled: list[int] = []

    async def send(self, call: Call) -> Response:
        number = int(call.path.rsplit("=", 1)[1]) if "=" in call.path else 0
        self.sent.append(number)
        if number in self.hold:
            try:
                await self.hold[number].wait()
            except asyncio.CancelledError:
                self.cancelled.append(number)
                raise
        headers = {}
        if number + 1 < self.count:
            headers["Link"] = f'<{BASE}?page={number + 1}>; rel="next"'
        body = f"[{number}]".encode()
        return Response(200, headers, body, f"{BASE}?page={number}" if number else BASE)


def decode(data: Any) -> list[int]:
    if not isinstance(data, list):
        raise DecodeError("not a page")
    return data


def next_link(response: Response, call: Call) -> str | None:
    from hf_access.core.sansio import parse_link_next

    return parse_link_next(response.headers.get("Link"))


async def test_prefetch_asks_for_the_next_page_before_this_one_is_used() -> None:
    server = Pages(3)
    pages = iter_pages(server.send, Call("GET", BASE), decode, next_link, prefetch=True)
    first = await pages.__anext__()
    assert first.items == [0]
    assert server.sent == [0, 1]
    assert [page.items async for page in pages] == [[1], [2]]
    assert server.sent == [0, 1, 2]


async def test_without_prefetch_nothing_is_asked_ahead() -> None:
    server = Pages(3)
    pages = iter_pages(server.send, Call("GET", BASE), decode, next_link)
    await pages.__anext__()
    assert server.sent == [0]


async def test_a_listing_stopped_early_cancels_the_page_fetched_ahead() -> None:
    server = Pages(3)
    server.hold[1] = asyncio.Event()  # the second page never answers
    pages = iter_pages(server.send, Call("GET", BASE), decode, next_link, prefetch=True)
    await pages.__anext__()
    await pages.aclose()
    for _ in range(3):
        await asyncio.sleep(0)
    assert server.cancelled == [1]


async def test_a_bad_page_cancels_the_page_fetched_ahead() -> None:
    server = Pages(3)
    server.hold[1] = asyncio.Event()

    def broken(data: Any) -> list[int]:
        raise DecodeError("bad page")

    pages = iter_pages(server.send, Call("GET", BASE), broken, next_link, prefetch=True)
    with pytest.raises(DecodeError, match="bad page"):
        await pages.__anext__()
    for _ in range(3):
        await asyncio.sleep(0)
    assert server.cancelled == [1]
