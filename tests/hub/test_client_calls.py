"""Every call of AccessSession against aioresponses: paths, query, exact JSON bodies, decoding."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from aioresponses import aioresponses

from hf_access import (
    AccessRequest,
    AccessSession,
    BatchResult,
    DecodeError,
    GatingMode,
    GrantedBy,
    ReportEntry,
    RequestStatus,
)

from ..conftest import sent_body

HUB = "https://huggingface.co"
REPO = "org/gated-model"
REQ = f"{HUB}/api/models/{REPO}/user-access-request"
RID = "655f3a1c9e6b2d4f8a7c1e05"
UID = "64b7e2a1c3d4e5f60718293a"


def item(name: str | None, status: str = "pending", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "requestId": extra.pop("requestId", f"req-{name}"),
        "timestamp": "2026-10-05T13:33:43.123Z",
        "status": status,
        "fields": {"Company": "ACME"},
    }
    if name is not None:
        data["user"] = {"_id": UID, "user": name, "fullname": name.title(), "type": "user"}
    data.update(extra)
    return data


def sent(m: aioresponses) -> list[tuple[str, str, Any]]:
    """(method, url, json body) of every request, grouped by URL in first-seen order."""
    return [
        (method, str(url), sent_body(call.kwargs))
        for (method, url), group in m.requests.items()
        for call in group
    ]


def only_body(m: aioresponses) -> Any:
    ((_, _, body),) = sent(m)
    return body


# -- lists --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected", "reset"])
async def test_list_calls_their_path(hub: AccessSession, mocked: aioresponses, status: str) -> None:
    mocked.get(f"{REQ}/{status}", payload=[item("alice", status), item("bob", status)])
    method = getattr(hub, f"list_{status}")
    result = await method(REPO)
    assert [r.username for r in result] == ["alice", "bob"]
    assert all(r.status is RequestStatus(status) for r in result)
    assert sent(mocked) == [("GET", f"{REQ}/{status}", None)]


async def test_list_decodes_every_field(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.get(
        f"{REQ}/accepted",
        payload=[
            item(
                "alice",
                "accepted",
                requestId=RID,
                reviewedAt="2026-10-06T08:00:00.000Z",
                grantedBy={"user": "owner", "fullname": "Owner"},
                unknownKey={"x": 1},
            )
        ],
    )
    (req,) = await hub.list_accepted(REPO)
    assert req.request_id == RID
    assert req.user_id == UID
    assert req.fullname == "Alice"
    assert req.email is None
    assert req.timestamp == datetime(2026, 10, 5, 13, 33, 43, 123000, tzinfo=timezone.utc)
    assert req.reviewed_at == datetime(2026, 10, 6, 8, 0, tzinfo=timezone.utc)
    assert req.granted_by == GrantedBy("owner", "Owner")
    assert req.fields == {"Company": "ACME"}


async def test_list_with_search_on_a_dataset(hub: AccessSession, mocked: aioresponses) -> None:
    url = f"{HUB}/api/datasets/{REPO}/user-access-request/rejected?q=ali"
    mocked.get(url, payload=[item("alice", "rejected")])
    result = await hub.list_rejected(REPO, repo_type="dataset", search="ali")
    assert [r.username for r in result] == ["alice"]
    assert [u for _, u, _ in sent(mocked)] == [url]


async def test_iter_requests_query_parameters(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.get(
        f"{REQ}/pending?after=2026-10-01T00:00:00.000Z&limit=50&q=acme",
        payload=[item("alice")],
    )
    after = datetime(2026, 10, 1, tzinfo=timezone.utc)
    got = [
        r
        async for r in hub.iter_requests(REPO, "pending", search="acme", page_size=50, after=after)
    ]
    assert [r.username for r in got] == ["alice"]
    ((method, url),) = mocked.requests
    assert method == "GET"
    assert url.query == {"limit": "50", "q": "acme", "after": "2026-10-01T00:00:00.000Z"}


async def test_list_requests_accepts_enum_and_space(
    hub: AccessSession, mocked: aioresponses
) -> None:
    mocked.get(f"{HUB}/api/spaces/{REPO}/user-access-request/reset", payload=[])
    assert await hub.list_requests(REPO, RequestStatus.RESET, repo_type="space") == []
    assert len(sent(mocked)) == 1


async def test_hidden_requesters(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.get(f"{REQ}/pending", payload=[item(None, requestId=RID)])
    mocked.post(f"{REQ}/handle", payload={})
    (req,) = await hub.list_pending(REPO)
    assert req.username is None
    assert req.request_id == RID
    assert req.label == f"request:{RID}"
    await hub.accept(REPO, req)
    assert sent(mocked)[-1] == ("POST", f"{REQ}/handle", {"requestId": RID, "status": "accepted"})


# -- single decisions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "kwargs", "body"),
    [
        ("accept", {}, {"user": "alice", "status": "accepted"}),
        ("reject", {}, {"user": "alice", "status": "rejected"}),
        (
            "reject",
            {"reason": "incomplete form"},
            {"user": "alice", "status": "rejected", "rejectionReason": "incomplete form"},
        ),
        ("cancel", {}, {"user": "alice", "status": "pending"}),
        ("reset", {}, {"user": "alice", "status": "reset"}),
        (
            "reset",
            {"reason": "please re-apply"},
            {"user": "alice", "status": "reset", "resetReason": "please re-apply"},
        ),
    ],
)
async def test_decision_bodies(
    hub: AccessSession, mocked: aioresponses, call: str, kwargs: dict, body: dict
) -> None:
    mocked.post(f"{REQ}/handle", payload={})
    assert await getattr(hub, call)(REPO, "alice", **kwargs) is None
    assert sent(mocked) == [("POST", f"{REQ}/handle", body)]


async def test_reason_of_exactly_200_characters_is_sent(
    hub: AccessSession, mocked: aioresponses
) -> None:
    mocked.post(f"{REQ}/handle", payload={})
    await hub.reject(REPO, "alice", reason="r" * 200)
    assert only_body(mocked)["rejectionReason"] == "r" * 200


async def test_handle_with_a_record_uses_its_name(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.post(f"{REQ}/handle", payload={})
    record = AccessRequest(request_id=RID, username="bob", status=RequestStatus.ACCEPTED)
    await hub.handle(REPO, record, "rejected", reason="spam")
    assert only_body(mocked) == {"user": "bob", "status": "rejected", "rejectionReason": "spam"}


async def test_handle_by_user_id(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.post(f"{HUB}/api/datasets/{REPO}/user-access-request/handle", payload={})
    await hub.handle(REPO, f"user-id:{UID}", RequestStatus.PENDING, repo_type="datasets")
    assert only_body(mocked) == {"userId": UID, "status": "pending"}


async def test_grant_by_name(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.post(f"{REQ}/grant", payload={})
    await hub.grant(REPO, "alice")
    assert sent(mocked) == [("POST", f"{REQ}/grant", {"user": "alice"})]


async def test_grant_hidden_record_uses_user_id(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.post(f"{REQ}/grant", payload={})
    record = AccessRequest(request_id=RID, username=None, status=RequestStatus.PENDING, user_id=UID)
    await hub.grant(REPO, record)
    assert only_body(mocked) == {"userId": UID}


async def test_grant_cannot_address_a_request_id(hub: AccessSession, mocked: aioresponses) -> None:
    record = AccessRequest(request_id=RID, username=None, status=RequestStatus.PENDING)
    with pytest.raises(ValueError, match="no user name, request id or user id"):
        await hub.grant(REPO, record)
    assert mocked.requests == {}


async def test_decisions_on_a_dataset(hub: AccessSession, mocked: aioresponses) -> None:
    url = f"{HUB}/api/datasets/{REPO}/user-access-request/handle"
    mocked.post(url, payload={})
    await hub.accept(REPO, "alice", repo_type="dataset")
    assert [u for _, u, _ in sent(mocked)] == [url]


# -- batch --------------------------------------------------------------------------------------


async def test_batch_body_and_results_in_input_order(
    hub: AccessSession, mocked: aioresponses
) -> None:
    hidden = AccessRequest(request_id=RID, username=None, status=RequestStatus.PENDING)
    mocked.post(
        f"{REQ}/batch",
        payload=[
            {"user": "alice", "ok": True},
            {"ok": False, "error": "request_not_found"},
            {"user": "carol", "ok": False, "error": "user_not_found"},
            {"user": "dave", "ok": True, "extra": "ignored"},
        ],
    )
    results = await hub.batch(
        REPO, "rejected", ["alice", hidden, "carol", "dave"], reason="not eligible"
    )
    assert only_body(mocked) == {
        "status": "rejected",
        "rejectionReason": "not eligible",
        "requests": [{"user": "alice"}, {"requestId": RID}, {"user": "carol"}, {"user": "dave"}],
    }
    assert results == [
        BatchResult(target="alice", ok=True, error=None, username="alice"),
        BatchResult(target=f"request:{RID}", ok=False, error="request_not_found", username=None),
        BatchResult(target="carol", ok=False, error="user_not_found", username="carol"),
        BatchResult(target="dave", ok=True, error=None, username="dave"),
    ]


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("accepted", None, {"status": "accepted"}),
        ("pending", None, {"status": "pending"}),
        ("reset", "again", {"status": "reset", "resetReason": "again"}),
    ],
)
async def test_batch_statuses(
    hub: AccessSession, mocked: aioresponses, status: str, reason: str | None, expected: dict
) -> None:
    mocked.post(f"{REQ}/batch", payload=[{"user": "alice", "ok": True}])
    await hub.batch(REPO, status, ["alice"], reason=reason)
    assert only_body(mocked) == {**expected, "requests": [{"user": "alice"}]}


async def test_batch_of_100(hub: AccessSession, mocked: aioresponses) -> None:
    users = [f"user{i:03d}" for i in range(100)]
    mocked.post(f"{REQ}/batch", payload=[{"user": u, "ok": True} for u in users])
    results = await hub.batch(REPO, "accepted", users)
    assert [r.target for r in results] == users
    assert len(only_body(mocked)["requests"]) == 100


@pytest.mark.parametrize(
    "answer",
    [
        [{"user": "alice", "ok": True}],
        [{"user": "alice", "ok": True}, {"user": "bob", "ok": True}, {"user": "x", "ok": True}],
        {"results": []},
        [],
    ],
)
async def test_batch_answer_of_the_wrong_length(
    hub: AccessSession, mocked: aioresponses, answer: Any
) -> None:
    mocked.post(f"{REQ}/batch", payload=answer)
    with pytest.raises(DecodeError, match="sent 2 items"):
        await hub.batch(REPO, "accepted", ["alice", "bob"])


@pytest.mark.parametrize("bad", [{"user": "alice"}, {"user": "alice", "ok": "yes"}, "alice"])
async def test_batch_item_without_boolean_ok(
    hub: AccessSession, mocked: aioresponses, bad: Any
) -> None:
    mocked.post(f"{REQ}/batch", payload=[{"user": "bob", "ok": True}, bad])
    with pytest.raises(DecodeError, match=r"item \[1\] has no boolean 'ok'"):
        await hub.batch(REPO, "accepted", ["bob", "alice"])


# -- gating and report --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "mode"),
    [(False, GatingMode.OFF), ("auto", GatingMode.AUTO), ("manual", GatingMode.MANUAL)],
)
async def test_get_gating(
    hub: AccessSession, mocked: aioresponses, wire: Any, mode: GatingMode
) -> None:
    mocked.get(
        f"{HUB}/api/models/{REPO}?expand[]=gated",
        payload={"_id": "x", "id": REPO, "gated": wire, "private": False},
    )
    assert await hub.get_gating(REPO) is mode
    ((method, url),) = mocked.requests
    assert method == "GET"
    assert url.path == f"/api/models/{REPO}"
    assert url.query == {"expand[]": "gated"}


async def test_get_gating_of_a_dataset(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.get(f"{HUB}/api/datasets/{REPO}?expand[]=gated", payload={"gated": "auto"})
    assert await hub.get_gating(REPO, repo_type="dataset") is GatingMode.AUTO


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"mode": "manual"}, {"gated": "manual"}),
        ({"mode": False}, {"gated": False}),
        ({"mode": "off"}, {"gated": False}),
        ({"mode": GatingMode.AUTO}, {"gated": "auto"}),
        ({"notifications_mode": "real-time"}, {"gatedNotificationsMode": "real-time"}),
        (
            {"notifications_email": "owner@example.org"},
            {"gatedNotificationsEmail": "owner@example.org"},
        ),
        ({"org_members_gated": True}, {"orgMembersGated": True}),
        (
            {"mode": "auto", "notifications_mode": "bulk", "org_members_gated": False},
            {"gated": "auto", "gatedNotificationsMode": "bulk", "orgMembersGated": False},
        ),
    ],
)
async def test_set_gating_sends_only_given_settings(
    hub: AccessSession, mocked: aioresponses, kwargs: dict, body: dict
) -> None:
    mocked.put(f"{HUB}/api/models/{REPO}/settings", payload={})
    mode = kwargs.pop("mode", None)
    await hub.set_gating(REPO, mode, **kwargs)
    assert sent(mocked) == [("PUT", f"{HUB}/api/models/{REPO}/settings", body)]


async def test_set_gating_on_a_dataset(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.put(f"{HUB}/api/datasets/{REPO}/settings", payload={})
    await hub.set_gating(REPO, "auto", repo_type="dataset")
    assert only_body(mocked) == {"gated": "auto"}


REPORT = [
    {
        "fullname": "Alice A",
        "user": "alice",
        "email": "alice@example.org",
        "time": "2026-10-05T13:33:43.123Z",
        "reviewedAt": "2026-10-06T08:00:00.000Z",
        "status": "accepted",
        "grantedBy": {"fullname": "Owner", "user": "owner"},
    },
    {
        "fullname": "Bob",
        "user": "bob",
        "email": None,
        "time": "2026-10-07T00:00:00.000Z",
        "status": "rejected",
    },
]


@pytest.mark.parametrize(
    ("repo_type", "url"),
    [
        (None, f"{HUB}/{REPO}/user-access-report"),
        ("model", f"{HUB}/{REPO}/user-access-report"),
        ("dataset", f"{HUB}/datasets/{REPO}/user-access-report"),
    ],
)
async def test_access_report(
    hub: AccessSession, mocked: aioresponses, repo_type: str | None, url: str
) -> None:
    mocked.get(
        url,
        payload=REPORT,
        headers={
            "Content-Disposition": "attachment; filename=user-access-report-org-gated-model.json"
        },
    )
    rows = await hub.access_report(REPO, repo_type=repo_type)
    assert sent(mocked) == [("GET", url, None)]
    assert "/api/" not in url
    assert rows == [
        ReportEntry(
            username="alice",
            status=RequestStatus.ACCEPTED,
            fullname="Alice A",
            email="alice@example.org",
            time=datetime(2026, 10, 5, 13, 33, 43, 123000, tzinfo=timezone.utc),
            reviewed_at=datetime(2026, 10, 6, 8, 0, tzinfo=timezone.utc),
            granted_by=GrantedBy("owner", "Owner"),
        ),
        ReportEntry(
            username="bob",
            status=RequestStatus.REJECTED,
            fullname="Bob",
            email=None,
            time=datetime(2026, 10, 7, tzinfo=timezone.utc),
        ),
    ]


async def test_every_call_sends_the_token(hub: AccessSession, mocked: aioresponses) -> None:
    mocked.get(f"{REQ}/pending", payload=[])
    mocked.post(f"{REQ}/handle", payload={})
    mocked.post(f"{REQ}/grant", payload={})
    mocked.post(f"{REQ}/batch", payload=[{"user": "a", "ok": True}])
    mocked.get(f"{HUB}/api/models/{REPO}?expand[]=gated", payload={"gated": "auto"})
    mocked.put(f"{HUB}/api/models/{REPO}/settings", payload={})
    mocked.get(f"{HUB}/{REPO}/user-access-report", payload=[])
    await hub.list_pending(REPO)
    await hub.accept(REPO, "a")
    await hub.grant(REPO, "a")
    await hub.batch(REPO, "accepted", ["a"])
    await hub.get_gating(REPO)
    await hub.set_gating(REPO, "auto")
    await hub.access_report(REPO)
    calls = [c for group in mocked.requests.values() for c in group]
    assert len(calls) == 7
    assert {c.kwargs["headers"]["Authorization"] for c in calls} == {"Bearer hf_SECRET_abc123"}
    assert hub.calls == 7
