"""Every error answer of the Hub (FIDELITY.md's error rows) through the session, and malformed bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

from hf_access import (
    AccessSession,
    AlreadyHasAccessError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    HfAccessError,
    NotFoundError,
    PermissionDeniedError,
    RepoNotFoundError,
    RequestNotFoundError,
    RetryPolicy,
    ServerError,
    UserNotFoundError,
)

HUB = "https://huggingface.co"
REPO = "org/gated-model"
REQ = f"{HUB}/api/models/{REPO}/user-access-request"


def _answer(message: str, *, header: bool, code: str | None = None) -> dict[str, Any]:
    headers = {"X-Request-Id": "Root=1-6720-abc"}
    if header:
        headers["X-Error-Message"] = message
    if code:
        headers["X-Error-Code"] = code
    return {"body": json.dumps({"error": message}), "headers": headers}


ROWS = [
    # (id, call, url, status, message, code, class)
    ("same-status", "handle", f"{REQ}/handle", 404, "No access request found matching your criteria", None, RequestNotFoundError),
    ("no-request", "handle", f"{REQ}/handle", 404, "No access request found matching your criteria", None, RequestNotFoundError),
    ("unknown-user", "handle", f"{REQ}/handle", 404, "User not found", None, UserNotFoundError),
    ("unknown-user-grant", "grant", f"{REQ}/grant", 404, "User not found", None, UserNotFoundError),
    ("unknown-repo", "list", f"{REQ}/pending", 404, "Repository not found", "RepoNotFound", RepoNotFoundError),
    ("unknown-repo-handle", "handle", f"{REQ}/handle", 404, "Not Found", "RepoNotFound", RepoNotFoundError),
    ("already-has-access", "grant", f"{REQ}/grant", 400, "That user already has access to the repo", None, AlreadyHasAccessError),
    ("read-only-token", "handle", f"{REQ}/handle", 403, "You have read access but not the required permissions for this operation", None, PermissionDeniedError),
    ("bad-token", "list", f"{REQ}/pending", 401, "Invalid username or password.", None, AuthenticationError),
    ("bad-token-batch", "batch", f"{REQ}/batch", 401, "Invalid username or password.", None, AuthenticationError),
    ("validation", "handle", f"{REQ}/handle", 400, "* Too big: expected string to have <=200 characters * at rejectionReason", None, BadRequestError),
    ("not-gated", "list", f"{REQ}/pending", 400, "This repository is not gated", None, BadRequestError),
    ("other-404", "report", f"{HUB}/{REPO}/user-access-report", 404, "Not Found", None, NotFoundError),
    ("server-500", "handle", f"{REQ}/handle", 500, "Internal Error", None, ServerError),
    ("server-503", "list", f"{REQ}/pending", 503, "Service Unavailable", None, ServerError),
]  # fmt: skip


async def _call(hub: AccessSession, name: str) -> Any:
    if name == "handle":
        return await hub.reject(REPO, "alice", reason="spam")
    if name == "grant":
        return await hub.grant(REPO, "alice")
    if name == "list":
        return await hub.list_pending(REPO)
    if name == "batch":
        return await hub.batch(REPO, "accepted", ["alice"])
    if name == "report":
        return await hub.access_report(REPO)
    raise AssertionError(name)


def _method(url: str) -> str:
    return "GET" if url.endswith(("pending", "report")) else "POST"


@pytest.mark.parametrize("header", [True, False], ids=["X-Error-Message", "json-error"])
@pytest.mark.parametrize(
    ("call", "url", "status", "message", "code", "cls"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
async def test_error_rows(
    make_hub: Any,
    mocked: aioresponses,
    call: str,
    url: str,
    status: int,
    message: str,
    code: str | None,
    cls: type[APIStatusError],
    header: bool,
) -> None:
    mocked.add(
        url, method=_method(url), status=status, **_answer(message, header=header, code=code)
    )
    async with make_hub(retry=RetryPolicy(max_attempts=1)) as hub:
        with pytest.raises(cls) as info:
            await _call(hub, call)
    err = info.value
    assert type(err) is cls
    assert isinstance(err, APIStatusError)
    assert isinstance(err, HfAccessError)
    assert err.status == status
    assert err.message == message
    assert err.error_code == code
    assert err.request_id == "Root=1-6720-abc"
    assert err.method == _method(url)
    assert err.url == url
    assert message in str(err)
    assert "Root=1-6720-abc" in str(err)
    assert sum(len(v) for v in mocked.requests.values()) == 1


async def test_header_message_wins_over_body(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.post(
        f"{REQ}/handle",
        status=404,
        headers={"X-Error-Message": "User not found"},
        payload={"error": "something else"},
    )
    with pytest.raises(UserNotFoundError) as info:
        await hub.accept(REPO, "ghost")
    assert info.value.message == "User not found"
    assert info.value.request_id is None
    assert info.value.error_code is None


async def test_plain_text_error_body(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.post(
        f"{REQ}/grant",
        status=400,
        body="That user already has access to the repo",
        content_type="text/plain",
    )
    with pytest.raises(AlreadyHasAccessError) as info:
        await hub.grant(REPO, "alice")
    assert info.value.message == "That user already has access to the repo"


async def test_client_errors_are_not_retried(hub: AccessSession, mocked: aioresponses) -> None:
    for status in (400, 401, 403, 404):
        mocked.post(f"{REQ}/handle", status=status, payload={"error": "no"})
        with pytest.raises(APIStatusError):
            await hub.accept(REPO, "alice")
    ((key, calls),) = mocked.requests.items()
    assert key == ("POST", URL(f"{REQ}/handle"))
    assert len(calls) == 4


# -- malformed bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([{"requestId": "r", "status": "pending", "timestamp": "yesterday"}], "timestamp"),
        ([{"requestId": "r", "status": "maybe"}], "status"),
        ([{"requestId": "r", "status": "pending", "user": {"user": ["alice"]}}], "user"),
        ({"requests": []}, "array"),
        (None, "array"),
    ],
)
async def test_malformed_list_page(
    hub: AccessSession, mocked: aioresponses, payload: Any, field: str
) -> None:
    mocked.get(f"{REQ}/pending", body=json.dumps(payload))
    with pytest.raises(DecodeError) as info:
        await hub.list_pending(REPO)
    assert field in str(info.value)
    assert isinstance(info.value, HfAccessError)


async def test_non_json_body(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.get(f"{REQ}/pending", body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(DecodeError, match="not JSON"):
        await hub.list_pending(REPO)


async def test_malformed_gating(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.get(f"{HUB}/api/models/{REPO}?expand[]=gated", payload={"id": REPO})
    with pytest.raises(DecodeError, match="'gated'"):
        await hub.get_gating(REPO)


async def test_malformed_report(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.get(f"{HUB}/{REPO}/user-access-report", payload=[{"user": "a", "status": "gone"}])
    with pytest.raises(DecodeError, match="status"):
        await hub.access_report(REPO)
