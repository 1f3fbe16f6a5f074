"""Servers that answer badly must never hang a session, freeze the process, or let a foreign
exception out (issue 11, rows 1 to 8). Each server is a tiny aiohttp app on 127.0.0.1; time is
virtual (``vt``), and anything that could hang or spin runs under ``bounded``'s deadline.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from aiohttp import web

from hf_access import (
    AccessSession,
    BadRequestError,
    DecodeError,
    Quota,
    RateLimiter,
    RateLimitError,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
    UnsafeLinkError,
)
from hf_access.core.paging import PaginationLoopError
from hf_access.core.ratelimit import RateLimitInfo
from hf_access.core.sansio import parse_ratelimit, parse_retry_after
from hf_access.gitlab import GitLabSession
from hf_access.gitlab.wire import parse_gitlab_ratelimit

from ..conftest import VirtualTime
from ._hostile import PENDING, REPO, TOKEN, bounded, closed_port, json_answer, serve


def hub_at(url: str, vt: VirtualTime, **options: Any) -> AccessSession:
    options.setdefault("retry", RetryPolicy(jitter=0.0))
    return AccessSession(
        token=TOKEN,
        endpoint=url,
        sleep=vt.sleep,
        clock=vt.clock,
        rng=random.Random(0),
        **options,
    )


# -- 1. a malformed rate-limit header never raises, never strands the limiter -----------------

BAD_HUB_HEADERS = [
    {"RateLimit": '"api";r=nan;t=5'},
    {"RateLimit": '"api";r=inf;t=5'},
    {"RateLimit": '"api";r=5;t=5', "RateLimit-Policy": '"api";q=1e400;w=300'},
    {"RateLimit": '"api";r=5;t=-inf', "RateLimit-Policy": '"api";q=nan;w=inf'},
    {"RateLimit-Remaining": "1e400", "RateLimit-Reset": "nan", "RateLimit-Limit": "-1e400"},
]


@pytest.mark.parametrize("headers", BAD_HUB_HEADERS)
def test_parsing_hub_headers_never_raises(headers: dict[str, str]) -> None:
    info = parse_ratelimit(headers, now=1_700_000_000.0)
    for value in (info.remaining, info.quota):
        assert value is None or 0 <= value < 10**9
    assert parse_retry_after("1e400") is None


@pytest.mark.parametrize("value", ["1e400", "inf", "-inf"])
def test_parsing_gitlab_headers_never_raises(value: str) -> None:
    headers = {
        "RateLimit-Limit": value,
        "RateLimit-Observed": value,
        "RateLimit-Remaining": value,
        "RateLimit-Reset": value,
    }
    info = parse_gitlab_ratelimit(headers, now=1_700_000_000.0)
    assert info == RateLimitInfo()


@pytest.mark.parametrize("headers", BAD_HUB_HEADERS)
def test_one_bad_header_strands_no_call_of_100(headers: dict[str, str], vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer([], **headers)

    async def work() -> list[Any]:
        async with serve(handler) as server, hub_at(server.url, vt) as hub:
            calls = [hub.list_pending(REPO) for _ in range(100)]
            return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)

    results = bounded(work)
    assert results == [[]] * 100


def test_gitlab_bad_header_strands_no_call_of_100(vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer([], **{"RateLimit-Remaining": "1e400", "RateLimit-Limit": "inf"})

    async def work() -> list[Any]:
        async with (
            serve(handler) as server,
            GitLabSession(TOKEN, server.url, sleep=vt.sleep, clock=vt.clock) as gitlab,
        ):
            calls = [gitlab.list_requests(3) for _ in range(100)]
            return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)

    assert bounded(work) == [[]] * 100


# -- 2. every wait is capped by the retry policy ----------------------------------------------


async def test_an_absurd_reset_does_not_make_the_next_call_wait_for_days(vt: VirtualTime) -> None:
    headers = {"RateLimit": '"api";r=0;t=1e12', "RateLimit-Policy": '"api";q=1000;w=300'}

    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer([], **headers)

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        await hub.list_pending(REPO)
        await hub.list_pending(REPO)
    assert vt.elapsed <= RetryPolicy().max_rate_limit_wait


async def test_a_reset_read_as_unix_time_does_not_make_the_next_call_wait(vt: VirtualTime) -> None:
    headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": "4102444800"}  # year 2100

    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer([], **headers)

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        await hub.list_pending(REPO)
        await hub.list_pending(REPO)
    assert vt.elapsed < 10


async def test_a_window_wait_over_the_cap_raises_at_once_with_the_wait(vt: VirtualTime) -> None:
    # t sent in milliseconds: 60,000 s read, far over the policy's cap.
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer([], RateLimit='"api";r=0;t=60000')

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        await hub.list_pending(REPO)
        with pytest.raises(RateLimitError) as info:
            await hub.list_pending(REPO)
    assert info.value.retry_after == pytest.approx(60_000.5)
    assert "60000" in str(info.value)
    assert vt.elapsed == 0
    assert len(server.hits) == 1


async def test_the_limiter_cap_follows_the_sessions_retry_policy(vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer([], RateLimit='"api";r=0;t=50')

    retry = RetryPolicy(jitter=0.0, max_rate_limit_wait=20.0)
    async with serve(handler) as server, hub_at(server.url, vt, retry=retry) as hub:
        await hub.list_pending(REPO)
        with pytest.raises(RateLimitError):
            await hub.list_pending(REPO)
    assert vt.elapsed == 0


async def test_a_shared_limiter_caps_its_own_waits(vt: VirtualTime) -> None:
    limiter = RateLimiter(Quota(calls=1, window=3600.0), clock=vt.clock, sleep=vt.sleep)
    await limiter.acquire()
    limiter.release(None)
    with pytest.raises(RateLimitError) as info:
        await limiter.acquire()
    assert info.value.retry_after == pytest.approx(3600.5)
    assert vt.elapsed == 0
    assert limiter.in_flight == 0


# -- 3. windows outside sane bounds are ignored; rolling a window is O(1) ---------------------


def test_rolling_over_a_very_long_idle_time_takes_constant_time(vt: VirtualTime) -> None:
    async def work() -> tuple[float, float | None]:
        limiter = RateLimiter(Quota(calls=2, window=1.0), clock=vt.clock, sleep=vt.sleep)
        await limiter.acquire()
        limiter.release(None)
        vt.now += 1e12 + 0.25
        await limiter.acquire()
        limiter.release(None)
        return vt.now, limiter.reset_in()

    now, reset_in = bounded(work, 10)
    assert reset_in is not None
    assert 0 <= reset_in <= 1.0
    assert now == vt.now


@pytest.mark.parametrize("policy", ['"api";q=1000;w=1e-300', '"api";q=1e15;w=300'])
def test_a_tiny_window_or_huge_quota_from_the_hub_is_ignored(policy: str, vt: VirtualTime) -> None:
    headers = {"RateLimit": '"api";r=5;t=1', "RateLimit-Policy": policy}

    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer([], **headers)

    async def work() -> RateLimiter:
        async with serve(handler) as server, hub_at(server.url, vt) as hub:
            for _ in range(3):
                await hub.list_pending(REPO)
                vt.now += 5.0  # past the reset: the next call rolls the window
            assert isinstance(hub.limiter, RateLimiter)
            return hub.limiter

    limiter = bounded(work, 10)
    assert limiter.window is None or limiter.window >= 0.5
    assert limiter.quota is None or limiter.quota <= 10_000_000


def test_a_huge_gitlab_limit_is_ignored(vt: VirtualTime) -> None:
    headers = {
        "RateLimit-Limit": "1e15",
        "RateLimit-Observed": "1",
        "RateLimit-Remaining": "5",
        "RateLimit-Reset": "1",
    }

    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer([], **headers)

    async def work() -> None:
        async with (
            serve(handler) as server,
            GitLabSession(TOKEN, server.url, sleep=vt.sleep, clock=vt.clock) as gitlab,
        ):
            for _ in range(3):
                await gitlab.list_requests(3)
                vt.now += 5.0

    bounded(work, 10)


# -- 4. pagination cycles raise a typed error at once -----------------------------------------


async def test_a_next_link_to_the_same_page_in_another_order_stops_at_once(
    vt: VirtualTime,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        # The page itself, with its query reordered and every character percent-encoded.
        def encoded(text: str) -> str:
            return "".join(f"%{byte:02X}" for byte in text.encode())

        pairs = reversed(list(request.query.items()))
        query = "&".join(f"{k}={encoded(v)}" for k, v in pairs)
        return json_answer([], Link=f'<{request.url.with_query(None)}?{query}>; rel="next"')

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(PaginationLoopError):
            await hub.list_requests(REPO, "pending", search="alice", page_size=50)
    assert len(server.hits) == 1


async def test_two_pages_linking_to_each_other_stop_at_the_second(vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if "cursor" in request.query:  # page B: back to the first page as it was sent
            first = server.hits[0].split(" ", 1)[1]
            return json_answer([], Link=f'<{first}>; rel="next"')
        return json_answer([], Link=f'<{PENDING}?cursor=b>; rel="next"')

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(PaginationLoopError):
            await hub.list_pending(REPO, search="alice")
    assert len(server.hits) == 2


# -- 5. bodies are read up to a limit ---------------------------------------------------------


async def test_a_body_over_the_limit_raises_a_typed_error(vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"[" + b" " * (3 * 1024 * 1024) + b"]")

    async with serve(handler) as server, hub_at(server.url, vt, max_body_size=1024 * 1024) as hub:
        with pytest.raises(ResponseTooLargeError, match="max_body_size"):
            await hub.list_pending(REPO)
        assert isinstance(hub.limiter, RateLimiter)
        assert hub.limiter.in_flight == 0  # the slot came back
    assert len(server.hits) == 1  # not retried


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_at_the_limit_is_read_and_one_byte_more_refused_either_way(
    vt: VirtualTime, declared: bool
) -> None:
    # A declared length takes the transport's fast read; a chunked body the streamed one.
    limit = 4096
    sizes = iter([limit, limit + 1])

    async def handler(request: web.Request) -> web.StreamResponse:
        body = b"[" + b" " * (next(sizes) - 2) + b"]"
        if declared:
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse()
        response.content_type = "application/json"
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 1000):
            await response.write(body[start : start + 1000])
        return response

    async with serve(handler) as server, hub_at(server.url, vt, max_body_size=limit) as hub:
        assert await hub.list_pending(REPO) == []
        with pytest.raises(ResponseTooLargeError, match="max_body_size"):
            await hub.list_pending(REPO)
        assert isinstance(hub.limiter, RateLimiter)
        assert hub.limiter.in_flight == 0
    assert len(server.hits) == 2


async def test_an_endless_body_is_never_read_whole(vt: VirtualTime) -> None:
    sent = [0]

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_type = "application/json"
        await response.prepare(request)
        chunk = b" " * 65536
        try:
            while sent[0] < 96 * 1024 * 1024:  # "endless": far past any limit
                await response.write(chunk)
                sent[0] += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(ResponseTooLargeError):
            await hub.list_pending(REPO)
    assert sent[0] < 64 * 1024 * 1024


async def test_a_huge_error_page_gives_a_short_one_line_message(vt: VirtualTime) -> None:
    page = "<html>\n<head><title>502 Bad Gateway</title></head>\n" + "<p>x</p>\n" * 500_000

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=502, text=page, content_type="text/html")

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(ServerError) as info:
            await hub.list_pending(REPO)
    assert info.value.message == "502 Bad Gateway"
    assert "\n" not in str(info.value)


# -- 6. no foreign exception escapes ----------------------------------------------------------

DEEP = b"[" * 200_000 + b"]" * 200_000


async def test_deeply_nested_json_is_a_decode_error(vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=DEEP, content_type="application/json")

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(DecodeError):
            await hub.list_pending(REPO)


async def test_deeply_nested_json_in_an_error_is_still_a_typed_error(vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=400, body=DEEP, content_type="application/json")

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(BadRequestError) as info:
            await hub.list_pending(REPO)
    assert len(info.value.message) <= 200


BAD_URLS = ["http://127.0.0.1:99999/x", "http://127.0.0.1:1:2/x", "http://[::1/x", "http://[zz]/x"]


@pytest.mark.parametrize("location", BAD_URLS)
async def test_a_redirect_to_a_malformed_url_is_an_unsafe_link_error(
    location: str, vt: VirtualTime
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307, headers={"Location": location})

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(UnsafeLinkError, match="malformed"):
            await hub.list_pending(REPO)
        assert isinstance(hub.limiter, RateLimiter)
        assert hub.limiter.in_flight == 0
    assert len(server.hits) == 1


@pytest.mark.parametrize("target", BAD_URLS)
async def test_a_next_link_to_a_malformed_url_is_an_unsafe_link_error(
    target: str, vt: VirtualTime
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer([], Link=f'<{target}>; rel="next"')

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(UnsafeLinkError):
            await hub.list_pending(REPO)


async def test_one_repos_bad_redirect_fails_its_items_not_the_run(vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if "/org/bad/" in request.path:
            return web.Response(status=302, headers={"Location": "http://127.0.0.1:99999/"})
        if request.method == "GET":
            return json_answer([])
        return json_answer({})

    from hf_access import Decision, Outcome

    decisions = [Decision("org/bad", f"u{i}", "grant") for i in range(3)]
    decisions += [Decision("org/good", f"u{i}", "grant") for i in range(3)]
    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        report = await hub.decide_many(decisions)
    outcomes = [item.outcome for item in report.items]
    assert outcomes == [Outcome.FAILED] * 3 + [Outcome.DONE] * 3
    assert all(isinstance(item.error, UnsafeLinkError) for item in report.items[:3])
    assert report.stopped is None


# -- 7. an unreachable server stops a bulk run -------------------------------------------------


async def test_a_bulk_run_against_a_closed_port_stops_early(vt: VirtualTime) -> None:
    from hf_access import Outcome

    users = [f"user{i:04d}" for i in range(1000)]
    async with hub_at(f"http://127.0.0.1:{closed_port()}", vt) as hub:
        report = await hub.grant_many(REPO, users)
    assert report.stopped is not None
    assert "unreachable" in report.stopped
    counts = {o: sum(1 for i in report.items if i.outcome is o) for o in Outcome}
    assert counts[Outcome.NOT_ATTEMPTED] >= 900
    # Once a call could not connect no new one starts while others are in flight: the first
    # wave (16 users, 5 attempts each) is all it costs.
    assert report.calls <= 16 * 5


async def test_accept_without_batch_against_a_closed_port_stops_early(vt: VirtualTime) -> None:
    users = [f"user{i:04d}" for i in range(500)]
    async with hub_at(f"http://127.0.0.1:{closed_port()}", vt) as hub:
        report = await hub.accept_many(REPO, users, use_batch=False, precheck=False)
    assert report.stopped is not None
    assert "unreachable" in report.stopped
    assert report.calls <= 100


async def test_one_lost_connection_does_not_stop_a_run(vt: VirtualTime) -> None:
    from hf_access import Outcome

    calls = [0]

    async def handler(request: web.Request) -> web.StreamResponse:
        calls[0] += 1
        if calls[0] <= 2 and request.method == "POST":  # two dropped, the retry answers
            assert request.transport is not None
            request.transport.close()
        return json_answer({})

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        report = await hub.grant_many(REPO, ["alice", "bob"], precheck=False)
    assert report.stopped is None
    assert [i.outcome for i in report.items] == [Outcome.DONE, Outcome.DONE]


# -- 8. short messages, and only transient statuses retried -----------------------------------


async def test_a_501_is_not_retried(vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=501, text="Not Implemented")

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(ServerError):
            await hub.list_pending(REPO)
    assert len(server.hits) == 1


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
async def test_transient_statuses_are_retried(status: int, vt: VirtualTime) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if len(server.hits) == 1:
            return web.Response(status=status, text="try again")
        return json_answer([])

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        assert await hub.list_pending(REPO) == []
    assert len(server.hits) == 2


async def test_a_server_that_is_not_a_hub_gives_short_item_errors(vt: VirtualTime) -> None:
    html = "<!DOCTYPE html>\n<html>\n<body>\n" + "<div>not the Hub</div>\n" * 14 + "</body></html>"

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404, text=html, content_type="text/html")

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        report = await hub.grant_many(REPO, ["alice", "bob"], precheck=False)
    for item in report.items:
        assert item.error is not None
        text = str(item.error)
        assert "\n" not in text
        assert len(text) < 400
        assert "not the Hub" in text


async def test_a_303_after_a_post_is_followed_by_a_get_without_the_body(vt: VirtualTime) -> None:
    seen: list[tuple[str, str, str | None, bytes]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(
            (
                request.method,
                request.path,
                request.headers.get("Content-Type"),
                await request.read(),
            )
        )
        if request.method == "POST":
            return web.Response(status=303, headers={"Location": "/done"})
        return json_answer({})

    async with serve(handler) as server, hub_at(server.url, vt) as hub:
        await hub.accept(REPO, "alice")
    (post, get) = seen
    assert post[0] == "POST"
    assert post[2] == "application/json"
    assert post[3] == b'{"user":"alice","status":"accepted"}'
    assert get == ("GET", "/done", None, b"")
