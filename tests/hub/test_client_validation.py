"""Caller mistakes: ValueError before any request is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from hf_access import AccessRequest, AccessSession, RequestStatus

REPO = "org/model"
LONG = "x" * 201

Call = Callable[[AccessSession], Any]


async def _run(call: Call, hub: AccessSession) -> None:
    result = call(hub)
    if hasattr(result, "__anext__"):
        async for _ in result:
            pass
    else:
        await result


MISTAKES: list[tuple[str, Call, str]] = [
    # bad repo ids, on every call
    ("list repo", lambda h: h.list_pending("no-slash"), "invalid repo id"),
    ("iter repo", lambda h: h.iter_requests("a/b/c", "pending"), "invalid repo id"),
    ("accept repo", lambda h: h.accept("org/bad name", "alice"), "invalid repo id"),
    ("reject repo", lambda h: h.reject("", "alice"), "invalid repo id"),
    ("cancel repo", lambda h: h.cancel("-org/x", "alice"), "invalid repo id"),
    ("reset repo", lambda h: h.reset("org--x/y", "alice"), "invalid repo id"),
    ("grant repo", lambda h: h.grant("org/", "alice"), "invalid repo id"),
    ("batch repo", lambda h: h.batch("org", "accepted", ["alice"]), "invalid repo id"),
    ("get_gating repo", lambda h: h.get_gating("org/a..b"), "invalid repo id"),
    ("set_gating repo", lambda h: h.set_gating("../etc", "auto"), "invalid repo id"),
    ("report repo", lambda h: h.access_report("org/x/y"), "invalid repo id"),
    # bad repo types
    ("list type", lambda h: h.list_accepted(REPO, repo_type="kernel"), "unknown repo type"),
    ("accept type", lambda h: h.accept(REPO, "alice", repo_type="repo"), "unknown repo type"),
    # bad users
    ("accept user", lambda h: h.accept(REPO, "bad user"), "invalid user name"),
    ("reject user", lambda h: h.reject(REPO, "-alice"), "invalid user name"),
    ("cancel user", lambda h: h.cancel(REPO, ""), "invalid user name"),
    ("reset user", lambda h: h.reset(REPO, "a" * 97), "invalid user name"),
    ("grant user", lambda h: h.grant(REPO, "al/ice"), "invalid user name"),
    ("grant request", lambda h: h.grant(REPO, "request:abc"), "not a request id"),
    ("batch user", lambda h: h.batch(REPO, "accepted", ["alice", "b b"]), "invalid user name"),
    ("user type", lambda h: h.accept(REPO, 42), "user name or an AccessRequest"),
    ("user id", lambda h: h.accept(REPO, "user-id:nothex"), "invalid user id"),
    # unknown statuses
    ("iter status", lambda h: h.iter_requests(REPO, "approved"), "unknown request status"),
    ("list status", lambda h: h.list_requests(REPO, "granted"), "unknown request status"),
    ("handle status", lambda h: h.handle(REPO, "alice", "approved"), "unknown request status"),
    ("batch status", lambda h: h.batch(REPO, "cancelled", ["alice"]), "unknown request status"),
    # reasons
    ("reject long", lambda h: h.reject(REPO, "alice", reason=LONG), "at most 200"),
    ("reset long", lambda h: h.reset(REPO, "alice", reason=LONG), "at most 200"),
    ("batch long", lambda h: h.batch(REPO, "rejected", ["alice"], reason=LONG), "at most 200"),
    ("accept reason", lambda h: h.handle(REPO, "alice", "accepted", reason="ok"), "only be given"),
    ("cancel reason", lambda h: h.handle(REPO, "alice", "pending", reason="oops"), "only be given"),
    ("batch reason", lambda h: h.batch(REPO, "accepted", ["alice"], reason="ok"), "only be given"),
    # batch size
    ("batch empty", lambda h: h.batch(REPO, "accepted", []), "1 to 100"),
    ("batch 101", lambda h: h.batch(REPO, "accepted", [f"u{i}" for i in range(101)]), "1 to 100"),
    # page size and search
    ("page 9", lambda h: h.iter_requests(REPO, "pending", page_size=9), "10 to 1000"),
    ("page 1001", lambda h: h.list_requests(REPO, "pending", page_size=1001), "10 to 1000"),
    ("page 0", lambda h: h.iter_requests(REPO, "pending", page_size=0), "10 to 1000"),
    ("search", lambda h: h.list_pending(REPO, search="s" * 251), "250"),
    # settings
    ("set_gating nothing", lambda h: h.set_gating(REPO), "at least one setting"),
    ("set_gating True", lambda h: h.set_gating(REPO, True), "ambiguous"),
    ("set_gating mode", lambda h: h.set_gating(REPO, "sometimes"), "unknown gating mode"),
    (
        "set_gating notif",
        lambda h: h.set_gating(REPO, notifications_mode="hourly"),
        "notifications",
    ),
    ("set_gating email", lambda h: h.set_gating(REPO, notifications_email="x"), "e-mail"),
]


@pytest.mark.parametrize(("call", "match"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
async def test_mistakes_raise_value_error_before_any_request(
    hub: AccessSession, mocked: aioresponses, call: Call, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        await _run(call, hub)
    assert mocked.requests == {}
    assert hub.calls == 0


def test_iter_requests_checks_its_arguments_when_called(hub: AccessSession) -> None:
    # no await, no iteration: the mistake is reported at the call itself
    with pytest.raises(ValueError, match="unknown request status"):
        hub.iter_requests(REPO, "approved")
    with pytest.raises(ValueError, match="10 to 1000"):
        hub.iter_requests(REPO, "pending", page_size=5000)


async def test_record_without_any_identity(hub: AccessSession, mocked: aioresponses) -> None:
    nobody = AccessRequest(request_id=None, username=None, status=RequestStatus.PENDING)
    with pytest.raises(ValueError, match="no user name, request id or user id"):
        await hub.accept(REPO, nobody)
    with pytest.raises(ValueError, match="no user name, request id or user id"):
        await hub.batch(REPO, "accepted", ["alice", nobody])
    assert mocked.requests == {}


async def test_record_with_malformed_request_id(hub: AccessSession, mocked: aioresponses) -> None:
    weird = AccessRequest(request_id="../../x", username=None, status=RequestStatus.PENDING)
    with pytest.raises(ValueError, match="invalid request id"):
        await hub.reject(REPO, weird)
    assert mocked.requests == {}
