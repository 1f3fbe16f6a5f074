"""Owner actions: handle (every state move), grant, batch, report, settings, gating read."""

from __future__ import annotations

import pytest

from hf_access.testing import FakeHub, ManualClock

from ._helpers import ACCESS, REPO, Api

NO_REQUEST = "No access request found matching your criteria"

RECORDED_MOVES = [
    ("pending", "accepted"),
    ("pending", "rejected"),
    ("accepted", "pending"),
    ("accepted", "rejected"),
    ("accepted", "reset"),
    ("rejected", "accepted"),
    ("rejected", "pending"),
    ("rejected", "reset"),
]


async def _put_in(api: Api, user: str, status: str) -> None:
    if status != "pending":
        reply = await api.handle(status, user=user)
        assert reply.status == 200, reply


@pytest.mark.parametrize(("start", "target"), RECORDED_MOVES)
async def test_recorded_state_moves_succeed(
    hub: FakeHub, api: Api, clock: ManualClock, start: str, target: str
) -> None:
    hub.seed_pending(REPO, 1)
    await _put_in(api, "user-000000", start)
    clock.advance(30)
    reply = await api.handle(target, user="user-000000")
    assert (reply.status, reply.body) == (200, {})
    record = hub.snapshot(REPO)["user-000000"]
    assert record.status == target
    assert record.timestamp == "2026-10-06T11:30:00.000Z"  # a move keeps the request's time
    if target == "pending":
        assert record.reviewed_at is None
    else:
        assert record.reviewed_at == "2026-10-06T11:30:30.000Z"
    assert record.granted_by == ("owner" if target == "accepted" else None)
    listed = (await api.get(f"{ACCESS}/{target}")).body
    assert [item["user"]["user"] for item in listed] == ["user-000000"]
    assert ("reviewedAt" in listed[0]) == (target != "pending")
    assert (await api.get(f"{ACCESS}/{start}")).body == []


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected", "reset"])
async def test_same_status_move_is_404(hub: FakeHub, api: Api, status: str) -> None:
    hub.seed_pending(REPO, 1)
    await _put_in(api, "user-000000", "accepted" if status == "reset" else status)
    if status == "reset":
        await _put_in(api, "user-000000", "reset")
    reply = await api.handle(status, user="user-000000")
    assert reply.status == 404
    assert reply.error == NO_REQUEST
    assert reply.headers["X-Error-Message"] == NO_REQUEST


async def test_handle_by_user_id_and_request_id(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 2)
    user_id = hub.user("user-000000").id
    assert (await api.handle("accepted", userId=user_id)).status == 200
    request_id = hub.snapshot(REPO)["user-000001"].request_id
    assert (await api.handle("rejected", requestId=request_id)).status == 200
    assert hub.request_status(REPO, "user-000000") == "accepted"
    assert hub.request_status(REPO, "user-000001") == "rejected"


@pytest.mark.parametrize(
    "ident", [{}, {"user": "a", "userId": "b"}, {"user": "a", "requestId": "c"}, {"user": 3}]
)
async def test_handle_needs_exactly_one_identifier(hub: FakeHub, api: Api, ident: dict) -> None:
    reply = await api.handle("accepted", **ident)
    assert reply.status == 400
    assert reply.headers["X-Error-Message"] == reply.error


async def test_handle_validation(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 1)
    bad_status = await api.handle("approved", user="user-000000")
    assert bad_status.status == 400
    assert "at status" in bad_status.error
    too_long = await api.handle("rejected", user="user-000000", rejectionReason="x" * 201)
    assert too_long.status == 400
    assert (
        too_long.error == "* Too big: expected string to have <=200 characters * at rejectionReason"
    )
    reset_long = await api.handle("reset", user="user-000000", resetReason="x" * 201)
    assert reset_long.error.endswith("* at resetReason")
    not_json = await api.post(f"{ACCESS}/handle", data=b"{nope")
    assert not_json.status == 400
    assert hub.request_status(REPO, "user-000000") == "pending"
    ok = await api.handle("rejected", user="user-000000", rejectionReason="x" * 200)
    assert ok.status == 200


async def test_handle_unknown_user_and_missing_request(hub: FakeHub, api: Api) -> None:
    hub.add_user("nobody-asked")
    unknown = await api.handle("accepted", user="ghost")
    assert (unknown.status, unknown.error) == (404, "User not found")
    unknown_id = await api.handle("accepted", userId="0" * 24)
    assert (unknown_id.status, unknown_id.error) == (404, "User not found")
    no_request = await api.handle("accepted", user="nobody-asked")
    assert (no_request.status, no_request.error) == (404, NO_REQUEST)
    bad_request_id = await api.handle("accepted", requestId="f" * 24)
    assert (bad_request_id.status, bad_request_id.error) == (404, NO_REQUEST)


async def test_grant_rules(hub: FakeHub, api: Api, clock: ManualClock) -> None:
    hub.seed_pending(REPO, 1, fields={"Company": "ACME"})
    hub.add_user("newcomer")
    clock.advance(5)
    grant = f"{ACCESS}/grant"
    assert (await api.post(grant, json={"user": "user-000000"})).body == {}
    record = hub.snapshot(REPO)["user-000000"]
    assert (record.status, record.timestamp) == ("accepted", "2026-10-06T11:30:00.000Z")
    assert record.email == "user-000000@example.org"
    assert record.fields == {"Company": "ACME"}
    assert record.granted_by == "owner"
    user_id = hub.user("newcomer").id
    assert (await api.post(grant, json={"userId": user_id})).status == 200
    assert hub.snapshot(REPO)["newcomer"].timestamp == "2026-10-06T11:30:05.000Z"
    twice = await api.post(grant, json={"user": "newcomer"})
    assert (twice.status, twice.error) == (400, "That user already has access to the repo")
    assert (await api.post(grant, json={"user": "ghost"})).error == "User not found"
    assert (await api.post(grant, json={})).status == 400
    assert (await api.post(grant, json={"requestId": record.request_id})).status == 400


async def test_grant_a_rejected_user(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 1)
    await api.handle("rejected", user="user-000000")
    assert (await api.post(f"{ACCESS}/grant", json={"user": "user-000000"})).status == 200
    assert hub.request_status(REPO, "user-000000") == "accepted"


async def test_batch_answers_in_input_order(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 3)
    hub.add_user("no-request")
    await api.handle("rejected", user="user-000001")
    request_id = hub.snapshot(REPO)["user-000002"].request_id
    body = {
        "status": "rejected",
        "rejectionReason": "policy",
        "requests": [
            {"user": "user-000000"},
            {"user": "ghost"},
            {"user": "user-000001"},  # already rejected: ok
            {"user": "no-request"},
            {"requestId": request_id},
            {"userId": hub.user("user-000000").id},  # again, now already rejected
            {"requestId": "0" * 24},
            {"userId": "0" * 24},
        ],
    }
    reply = await api.post(f"{ACCESS}/batch", json=body)
    assert reply.status == 200
    assert reply.body == [
        {"user": "user-000000", "ok": True},
        {"user": "ghost", "ok": False, "error": "user_not_found"},
        {"user": "user-000001", "ok": True},
        {"user": "no-request", "ok": False, "error": "request_not_found"},
        {"requestId": request_id, "user": "user-000002", "ok": True},
        {"userId": hub.user("user-000000").id, "user": "user-000000", "ok": True},
        {"requestId": "0" * 24, "ok": False, "error": "request_not_found"},
        {"userId": "0" * 24, "ok": False, "error": "user_not_found"},
    ]
    snapshot = hub.snapshot(REPO)
    assert {snapshot[f"user-00000{i}"].status for i in range(3)} == {"rejected"}
    assert snapshot["user-000000"].rejection_reason == "policy"


async def test_batch_validation(hub: FakeHub, api: Api) -> None:
    url = f"{ACCESS}/batch"
    empty = await api.post(url, json={"status": "accepted", "requests": []})
    assert empty.status == 400
    many = [{"user": f"u{i}"} for i in range(101)]
    assert (await api.post(url, json={"status": "accepted", "requests": many})).status == 400
    assert (await api.post(url, json={"status": "accepted", "requests": many[:100]})).status == 200
    assert (await api.post(url, json={"status": "nope", "requests": many[:1]})).status == 400
    two = [{"user": "a", "userId": "b"}]
    assert (await api.post(url, json={"status": "accepted", "requests": two})).status == 400
    long = {"status": "reset", "resetReason": "r" * 201, "requests": many[:1]}
    assert (await api.post(url, json=long)).status == 400


async def test_batch_disabled_answers_404_like_an_older_hub(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 1)
    hub.set_batch_enabled(False)
    body = {"status": "accepted", "requests": [{"user": "user-000000"}]}
    reply = await api.post(f"{ACCESS}/batch", json=body)
    assert reply.status == 404
    assert "X-Error-Code" not in reply.headers
    assert hub.request_status(REPO, "user-000000") == "pending"
    assert hub.counters.calls["unknown"] == 1
    hub.set_batch_enabled(True)
    assert (await api.post(f"{ACCESS}/batch", json=body)).status == 200


@pytest.mark.parametrize(("repo_type", "prefix"), [("model", ""), ("dataset", "/datasets")])
async def test_access_report(
    hub: FakeHub, api: Api, clock: ManualClock, repo_type: str, prefix: str
) -> None:
    hub.add_repo("acme/report-me", repo_type=repo_type)
    hub.seed_pending("acme/report-me", 3, repo_type=repo_type)
    hub.add_user("granted")
    segment = f"{repo_type}s"
    access = f"/api/{segment}/acme/report-me/user-access-request"
    clock.advance(1)
    await api.post(f"{access}/handle", json={"user": "user-000000", "status": "accepted"})
    await api.post(f"{access}/handle", json={"user": "user-000001", "status": "rejected"})
    await api.post(f"{access}/grant", json={"user": "granted"})
    reply = await api.get(f"{prefix}/acme/report-me/user-access-report")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["Content-Disposition"] == (
        "attachment; filename=user-access-report-acme-report-me.json"
    )
    assert reply.body == [
        {
            "fullname": "user-000000",
            "user": "user-000000",
            "email": "user-000000@example.org",
            "time": "2026-10-06T11:29:59.998Z",
            "reviewedAt": "2026-10-06T11:30:01.000Z",
            "status": "accepted",
            "grantedBy": {"user": "owner", "fullname": "Repo Owner"},
        },
        {
            "fullname": "user-000001",
            "user": "user-000001",
            "email": "user-000001@example.org",
            "time": "2026-10-06T11:29:59.999Z",
            "reviewedAt": "2026-10-06T11:30:01.000Z",
            "status": "rejected",
        },
        {
            "fullname": "user-000002",
            "user": "user-000002",
            "email": "user-000002@example.org",
            "time": "2026-10-06T11:30:00.000Z",
            "status": "pending",
        },
        {
            "fullname": "granted",
            "user": "granted",
            "time": "2026-10-06T11:30:01.000Z",
            "reviewedAt": "2026-10-06T11:30:01.000Z",
            "status": "accepted",
            "grantedBy": {"fullname": "Repo Owner", "user": "owner"},
        },
    ]


async def test_report_of_unknown_repo(api: Api) -> None:
    reply = await api.get("/acme/missing/user-access-report")
    assert reply.status == 404
    assert reply.headers["X-Error-Code"] == "RepoNotFound"


async def test_settings_echo_only_what_was_sent(hub: FakeHub, api: Api) -> None:
    url = f"/api/models/{REPO}/settings"
    reply = await api.put(url, json={"gated": "auto"})
    assert (reply.status, reply.body) == (200, {"gated": "auto"})
    both = {"gatedNotificationsMode": "real-time", "gatedNotificationsEmail": "x@y.z"}
    assert (await api.put(url, json=both)).body == {}  # write-only: stored, never echoed
    assert (await api.put(url, json={"orgMembersGated": True})).body == {"orgMembersGated": True}
    assert hub.repo(REPO).gated == "auto"
    assert hub.repo(REPO).settings["gatedNotificationsMode"] == "real-time"
    assert hub.repo(REPO).settings["gatedNotificationsEmail"] == "x@y.z"
    for bad in (
        {"gated": True},
        {"gated": "sometimes"},
        {"gated": 0},
        {"gatedNotificationsMode": "daily"},
        {"gatedNotificationsEmail": "not-an-email"},
        {"orgMembersGated": "yes"},
        {"discussionsSorting": "oldest"},
        {"colour": "blue"},
    ):
        assert (await api.put(url, json=bad)).status == 400, bad
    assert hub.repo(REPO).gated == "auto"


async def test_switching_to_auto_accepts_no_pending_request(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 2)
    await api.put(f"/api/models/{REPO}/settings", json={"gated": "auto"})
    assert {r.status for r in hub.snapshot(REPO).values()} == {"pending"}


async def test_gating_read(hub: FakeHub, api: Api) -> None:
    repo = hub.repo(REPO)
    reply = await api.get(f"/api/models/{REPO}", params={"expand[]": "gated"})
    assert reply.body == {"_id": repo.id, "id": REPO, "gated": "manual"}
    await api.put(f"/api/models/{REPO}/settings", json={"gated": False})
    reply = await api.get(f"/api/models/{REPO}", params={"expand[]": "gated"})
    assert reply.body["gated"] is False
    hub.add_user("reader")
    hub.add_token("hf_reader", user="reader", role="read")
    assert (await api.get(f"/api/models/{REPO}", token="hf_reader")).status == 200


async def test_actions_on_a_repo_that_is_not_gated_are_400(hub: FakeHub, api: Api) -> None:
    hub.add_repo("owner/open", gated=False)
    hub.add_user("alice")
    reply = await api.post(
        "/api/models/owner/open/user-access-request/grant", json={"user": "alice"}
    )
    assert reply.status == 400
