"""A dry run's plan is what the wire carries: for every action of both providers, the calls a
dry run shows are the calls a real run sends, method, path, query and body byte for byte.

A small recording server on 127.0.0.1 answers like the Hub or GitLab would and keeps every
request as it arrived; the plan's Calls are serialised the way the transport sends them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp import web

from hf_access import AccessSession, Call, Decision, PlannedCall
from hf_access.gitlab import GitLabDecision, GitLabSession
from hf_access.gitlab.wire import UnresolvedUser
from hf_access.testing import OWNER_TOKEN

Received = tuple[str, str, dict[str, str], bytes]
REQUESTERS = {"ann": 7, "bob": 8}
"""Who the recorder lists as requesting access on GitLab (name: user id)."""


class Recorder:
    """Answers every call with a success of the right shape; keeps what arrived."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.content_types: list[str | None] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        split = urlsplit(request.raw_path)
        self.received.append((request.method, split.path, dict(parse_qsl(split.query)), body))
        self.content_types.append(request.headers.get("Content-Type"))
        if request.path.endswith("/batch"):
            sent = json.loads(body)["requests"]
            return web.json_response([{"ok": True, "user": item.get("user")} for item in sent])
        if request.path.endswith("/approve"):
            user_id = int(request.path.split("/")[-2])
            level = int(request.query.get("access_level", "30"))
            member = {"id": user_id, "username": f"u{user_id}", "access_level": level}
            return web.json_response({**member, "state": "active"}, status=201)
        if request.method == "DELETE":
            return web.Response(status=204)
        if request.method == "GET" and request.path.endswith("/access_requests"):
            return web.json_response([{"id": i, "username": n} for n, i in REQUESTERS.items()])
        return web.json_response({})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, str]]:
    rec = Recorder()
    runner = web.AppRunner(rec.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield rec, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _as_sent(call: Call, prefix: str = "") -> Received:
    """What the transport puts on the wire for ``call``: its body as ``Call.content`` says."""
    body = call.content or b""
    path = prefix + "/" + call.path.lstrip("/")
    return (call.method, path, dict(call.params or {}), body)


def _plan(calls: tuple[PlannedCall, ...], prefix: str = "") -> list[Received]:
    return [_as_sent(planned.call, prefix) for planned in calls]


HUB_RUNS: list[tuple[str, list[Any], dict[str, Any]]] = [
    ("accept, batched", [("org/m", u, "accept") for u in ("ann", "bob")], {}),
    ("reject with a reason", [("org/m", "ann", "reject", "incomplete")], {}),
    ("cancel", [("org/m", "request:655f3a1c9e6b2d4f8a7c1e05", "cancel")], {}),
    ("reset with a reason", [("org/m", "ann", "reset", "ask again")], {}),
    (
        "grant",
        [("org/m", "ann", "grant"), ("org/m", "user-id:0123456789abcdef01234567", "grant")],
        {},
    ),
    (
        "accept, one call each",
        [("org/m", u, "accept") for u in ("ann", "bob")],
        {"use_batch": False},
    ),
    ("reject, one call each", [("org/m", "ann", "reject", "no")], {"use_batch": False}),
    ("a dataset", [Decision("org/d", "ann", "accept", repo_type="dataset")], {}),
]


@pytest.mark.parametrize(("label", "decisions", "options"), HUB_RUNS, ids=[r[0] for r in HUB_RUNS])
async def test_hub_dry_run_is_what_is_sent(
    recorder: tuple[Recorder, str], label: str, decisions: list[Any], options: dict[str, Any]
) -> None:
    rec, url = recorder
    async with AccessSession(OWNER_TOKEN, url) as hub:
        dry = await hub.decide_many(decisions, dry_run=True, **options)
        assert rec.received == []
        real = await hub.decide_many(decisions, **options)
    assert real.ok, real.failures()
    assert rec.received == _plan(dry.plan)
    assert len(dry.plan) >= 1
    # Every body goes out declared as JSON (the session sends bytes, not aiohttp's json=).
    assert all(
        kind == "application/json"
        for (_, _, _, body), kind in zip(rec.received, rec.content_types, strict=True)
        if body
    )


GITLAB_RUNS: list[tuple[str, list[GitLabDecision]]] = [
    ("approve at a level", [GitLabDecision("acme/app", 7, "approve", access_level=20)]),
    ("approve, default level", [GitLabDecision(42, 8, "approve")]),
    ("deny on a group", [GitLabDecision("acme", 9, "deny", kind="group")]),
]


@pytest.mark.parametrize(("label", "decisions"), GITLAB_RUNS, ids=[r[0] for r in GITLAB_RUNS])
async def test_gitlab_dry_run_is_what_is_sent(
    recorder: tuple[Recorder, str], label: str, decisions: list[GitLabDecision]
) -> None:
    rec, url = recorder
    async with GitLabSession("glpat-test", url) as gitlab:
        dry = await gitlab.decide_many(decisions, dry_run=True)
        assert rec.received == []
        real = await gitlab.decide_many(decisions)
    assert real.ok, real.failures()
    assert rec.received == _plan(dry.plan, prefix="/api/v4")


GITLAB_BY_NAME: list[tuple[str, list[GitLabDecision]]] = [
    ("approve at a level", [GitLabDecision("acme/app", "ann", "approve", access_level=20)]),
    ("approve, default level", [GitLabDecision(42, "@bob", "approve")]),
    ("deny on a group", [GitLabDecision("acme", "ann", "deny", kind="group")]),
]


def _list_read(received: Received) -> bool:
    return received[0] == "GET" and received[1].endswith("/access_requests")


@pytest.mark.parametrize(("label", "decisions"), GITLAB_BY_NAME, ids=[r[0] for r in GITLAB_BY_NAME])
async def test_gitlab_dry_run_by_known_name_is_what_is_sent(
    recorder: tuple[Recorder, str], label: str, decisions: list[GitLabDecision]
) -> None:
    """Names the session has already read resolve in the dry run: the plan is the wire."""
    rec, url = recorder
    async with GitLabSession("glpat-test", url) as gitlab:
        for d in decisions:
            await gitlab.list_requests(d.target, kind=d.kind)
        rec.received.clear()
        dry = await gitlab.decide_many(decisions, dry_run=True)
        assert rec.received == []
        real = await gitlab.decide_many(decisions)
    assert real.ok, real.failures()
    assert rec.received == _plan(dry.plan, prefix="/api/v4")
    assert all("{" not in planned.path for planned in dry.plan)


@pytest.mark.parametrize(("label", "decisions"), GITLAB_BY_NAME, ids=[r[0] for r in GITLAB_BY_NAME])
async def test_gitlab_dry_run_by_unknown_name_is_what_is_sent(
    recorder: tuple[Recorder, str], label: str, decisions: list[GitLabDecision]
) -> None:
    """A name a dry run cannot resolve without a call stands as ``{name}`` in the plan; the
    real run reads the request list to resolve it and then sends the plan with the user's id
    in that place, everything else byte for byte."""
    rec, url = recorder
    async with GitLabSession("glpat-test", url) as gitlab:
        dry = await gitlab.decide_many(decisions, dry_run=True)
        assert rec.received == []
        real = await gitlab.decide_many(decisions)
    assert real.ok, real.failures()
    placeholders = {str(UnresolvedUser(n)): str(i) for n, i in REQUESTERS.items()}
    planned = _plan(dry.plan, prefix="/api/v4")
    resolved = [
        (method, "/".join(placeholders.get(s, s) for s in path.split("/")), params, body)
        for method, path, params, body in planned
    ]
    assert resolved != planned  # the plan named the user it had still to resolve
    assert [r for r in rec.received if not _list_read(r)] == resolved
    assert any(_list_read(r) for r in rec.received)
