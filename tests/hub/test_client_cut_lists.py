"""A list the Hub cuts at a full page with no next link is read to its end by asking ``after=``.

A small server on 127.0.0.1 stands in for a Hub that answers every list with at most ``cut``
entries, oldest first, and never a next link (runs on every aiohttp, no aioresponses).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web

from hf_access import AccessSession, HfAccessWarning

REPO = "org/gated-model"
START = datetime(2026, 10, 5, 13, 0, tzinfo=timezone.utc)


def stamp(i: int) -> datetime:
    return START + timedelta(seconds=i)


def text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class CuttingHub:
    """Serves ``entries`` oldest first, at most ``cut`` per answer, with no next link."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, datetime]] = []
        self.cut = 1000
        self.inclusive = True  # whether ``after`` keeps an entry stamped exactly ``after``
        self.honour_after = True
        self.queries: list[dict[str, str]] = []
        self.url = ""

    def fill(self, count: int, when: Callable[[int], datetime] = stamp) -> None:
        self.entries = [(f"user{i:05d}", when(i)) for i in range(count)]

    async def pending(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.queries.append(query)
        rows = self.entries
        if "after" in query and self.honour_after:
            bound = datetime.fromisoformat(query["after"].replace("Z", "+00:00"))
            rows = [r for r in rows if r[1] > bound or (self.inclusive and r[1] == bound)]
        limit = min(int(query.get("limit", "1000")), self.cut)
        body = [
            {"requestId": f"req-{name}", "status": "pending", "timestamp": text(at),
             "user": {"user": name}}
            for name, at in rows[:limit]
        ]  # fmt: skip
        return web.json_response(body)


@pytest.fixture
async def cutting() -> AsyncIterator[CuttingHub]:
    hub = CuttingHub()
    app = web.Application()
    app.router.add_get(f"/api/models/{REPO}/user-access-request/pending", hub.pending)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    hub.url = f"http://127.0.0.1:{port}"
    try:
        yield hub
    finally:
        await runner.cleanup()


async def read_all(hub: CuttingHub, **options: Any) -> tuple[list[str], int]:
    async with AccessSession(token="hf_test", endpoint=hub.url) as session:
        with warnings.catch_warnings():
            warnings.simplefilter("error", HfAccessWarning)
            got = await session.list_requests(REPO, "pending", **options)
        return [r.username or "" for r in got], session.calls


@pytest.mark.parametrize("inclusive", [True, False])
async def test_a_list_cut_at_1000_is_read_to_the_end(cutting: CuttingHub, inclusive: bool) -> None:
    cutting.fill(2500)
    cutting.inclusive = inclusive
    names, calls = await read_all(cutting)
    assert names == [f"user{i:05d}" for i in range(2500)]  # each once, in order
    assert calls == 3
    third = 1998 if inclusive else 1999  # the last entry of the second answer
    assert [q.get("after") for q in cutting.queries] == [None, text(stamp(999)), text(stamp(third))]


async def test_an_exact_multiple_costs_one_extra_call_and_no_warning(cutting: CuttingHub) -> None:
    cutting.fill(1000)
    names, calls = await read_all(cutting)
    assert len(names) == 1000
    assert calls == 2


async def test_the_extra_question_keeps_search_and_page_size(cutting: CuttingHub) -> None:
    cutting.fill(25)
    names, calls = await read_all(cutting, page_size=10, search="user")
    assert len(names) == 25
    assert calls == 3
    assert cutting.queries[1] == {"limit": "10", "q": "user", "after": text(stamp(9))}


async def test_a_short_page_is_the_end(cutting: CuttingHub) -> None:
    cutting.fill(999)
    names, calls = await read_all(cutting)
    assert (len(names), calls) == (999, 1)


async def test_a_server_that_ignores_after_still_gets_the_warning(cutting: CuttingHub) -> None:
    cutting.fill(1500)
    cutting.honour_after = False
    async with AccessSession(token="hf_test", endpoint=cutting.url) as session:
        with pytest.warns(HfAccessWarning, match="nothing new came when asked again"):
            got = await session.list_pending(REPO)
        assert len(got) == 1000  # nothing twice
        assert session.calls == 2


async def test_more_than_a_page_at_one_instant_gets_the_warning(cutting: CuttingHub) -> None:
    cutting.fill(1500, when=lambda i: START)
    async with AccessSession(token="hf_test", endpoint=cutting.url) as session:
        with pytest.warns(HfAccessWarning, match="cut short"):
            got = await session.list_pending(REPO)
        assert len({r.username for r in got}) == len(got) == 1000


async def test_the_fake_hubs_seeded_list_of_1000_reads_quietly_in_two_calls() -> None:
    # The README's standalone example: `hf-access fake-hub --seed-pending 1000`, then a list.
    from hf_access.testing import FakeHub

    async with FakeHub() as hub:
        hub.add_repo(REPO)
        names = hub.seed_pending(REPO, 1000)
        async with AccessSession(token=hub.token, endpoint=hub.url) as session:
            with warnings.catch_warnings():
                warnings.simplefilter("error", HfAccessWarning)
                listed = [r.username for r in await session.list_pending(REPO)]
        assert listed == names
        assert hub.counters.calls["list_pending"] == 2  # the full page, then one question after it
