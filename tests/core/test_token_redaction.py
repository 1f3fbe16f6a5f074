"""The session's token never shows: not in errors built from a server's echo of the request, not
in a journal, not in a traceback rendered with its local variables (issue 11, row 16)."""

from __future__ import annotations

import random
import traceback
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hf_access import (
    AccessSession,
    APIConnectionError,
    HfAccessError,
    PermissionDeniedError,
    RetryPolicy,
)
from hf_access.gitlab import GitLabSession

from ..conftest import VirtualTime
from ._hostile import REPO, TOKEN, closed_port, serve


def hub_at(url: str, vt: VirtualTime) -> AccessSession:
    return AccessSession(
        token=TOKEN,
        endpoint=url,
        sleep=vt.sleep,
        clock=vt.clock,
        rng=random.Random(0),
        retry=RetryPolicy(jitter=0.0, max_attempts=2),
    )


async def echo(request: web.Request) -> web.StreamResponse:
    """A server that quotes the request's headers back in its error."""
    seen = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
    return web.json_response(
        {"error": f"forbidden, you sent {seen}"},
        status=403,
        headers={"X-Error-Message": f"denied for {request.headers.get('Authorization')}"},
    )


async def echo_body(request: web.Request) -> web.StreamResponse:
    seen = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
    return web.json_response({"error": f"bad request, you sent {seen}"}, status=400)


def rendered(exc: BaseException) -> str:
    """Everything a traceback printer with locals would show of ``exc``."""
    te = traceback.TracebackException.from_exception(exc, capture_locals=True)
    return "".join(te.format()) + repr(exc) + str(exc)


async def test_an_error_echoing_the_token_does_not_show_it(vt: VirtualTime) -> None:
    async with serve(echo) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(PermissionDeniedError) as info:
            await hub.accept(REPO, "alice")
    text = rendered(info.value)
    assert TOKEN not in text
    assert TOKEN not in info.value.message
    assert "[token hidden]" in info.value.message


async def test_a_body_echoing_the_token_does_not_show_it(vt: VirtualTime) -> None:
    async with serve(echo_body) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(HfAccessError) as info:
            await hub.grant(REPO, "alice")
    assert TOKEN not in rendered(info.value)
    assert "Bearer [token hidden]" in str(info.value)


async def test_gitlab_errors_echoing_the_token_do_not_show_it(vt: VirtualTime) -> None:
    async with (
        serve(echo_body) as server,
        GitLabSession(TOKEN, server.url, sleep=vt.sleep, clock=vt.clock) as gitlab,
    ):
        with pytest.raises(HfAccessError) as info:
            await gitlab.list_requests(3)
    assert TOKEN not in rendered(info.value)


async def test_a_journal_never_stores_the_token(vt: VirtualTime, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    async with serve(echo_body) as server, hub_at(server.url, vt) as hub:
        report = await hub.grant_many(REPO, ["alice", "bob"], journal=journal, precheck=False)
    assert report.failed
    text = journal.read_text()
    assert "alice" in text
    assert TOKEN not in text
    for item in report.items:
        assert TOKEN not in str(item.error)
        assert TOKEN not in str(item.detail)


async def test_a_connection_error_traceback_with_locals_hides_the_token(vt: VirtualTime) -> None:
    async with hub_at(f"http://127.0.0.1:{closed_port()}", vt) as hub:
        with pytest.raises(APIConnectionError) as info:
            await hub.accept(REPO, "alice")
    assert TOKEN not in rendered(info.value)


async def test_a_status_error_traceback_with_locals_hides_the_token(vt: VirtualTime) -> None:
    async def plain(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "no"}, status=403)

    async with serve(plain) as server, hub_at(server.url, vt) as hub:
        with pytest.raises(PermissionDeniedError) as info:
            await hub.accept(REPO, "alice")
    assert TOKEN not in rendered(info.value)


def test_the_request_headers_hide_the_token_in_their_repr(vt: VirtualTime) -> None:
    hub = hub_at("http://127.0.0.1:1", vt)
    headers: Any = hub._transport._headers(True)
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(headers)
    assert TOKEN not in str(headers)
