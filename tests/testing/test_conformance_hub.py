"""Conformance of the fake Hub: one test per recorded fact of the Hub's wire protocol.

Each test names the fact it checks (the section of the design notes on the Hub's API, and
the fact's source: documented, in the OpenAPI spec, what huggingface_hub does, or seen on
huggingface.co) and checks it against the fake Hub over HTTP, with a plain aiohttp client.
FIDELITY.md tells users what these facts cover and what the fake assumes beyond them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from hf_access.testing import FakeHub, ManualClock

from ._helpers import ACCESS, REPO, Api, Reply

READ_ONLY = "You have read access but not the required permissions for this operation"
NO_REQUEST = "No access request found matching your criteria"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
USER_KEYS = ["_id", "user", "fullname", "avatarUrl", "isPro", "type", "verifiedOrgNames"]


@pytest.fixture
def alice(hub: FakeHub) -> str:
    """A requester with a read token (``hf_alice``)."""
    hub.add_user("alice", fullname="Alice A", verified_orgs=["acme"])
    hub.add_token("hf_alice", user="alice", role="read")
    return "alice"


def same_error_in_body_and_header(reply: Reply, status: int, message: str) -> bool:
    return (reply.status, reply.error, reply.headers.get("X-Error-Message")) == (
        status,
        message,
        message,
    )


async def items(api: Api, status: str, repo: str = REPO) -> list[dict[str, Any]]:
    reply = await api.get(f"/api/models/{repo}/user-access-request/{status}")
    assert reply.status == 200, reply
    return list(reply.body)


# -- Endpoints (owner side) ------------------------------------------------------------------


@pytest.mark.parametrize("segment", ["models", "datasets", "spaces"])
async def test_endpoints_the_four_lists_for_every_repo_type(
    hub: FakeHub, api: Api, segment: str
) -> None:
    """Endpoints: `GET /api/{type}s/{ns}/{name}/user-access-request/{pending,accepted,
    rejected,reset}` (models and datasets in the spec; spaces accepted by huggingface_hub)."""
    hub.add_repo("acme/thing", repo_type=segment[:-1])
    hub.seed_pending("acme/thing", 1, repo_type=segment[:-1])
    for status in ("pending", "accepted", "rejected", "reset"):
        reply = await api.get(f"/api/{segment}/acme/thing/user-access-request/{status}")
        assert reply.status == 200
        assert len(reply.body) == (1 if status == "pending" else 0)


async def test_endpoints_list_limit_is_10_to_1000_default_1000(hub: FakeHub, api: Api) -> None:
    """Endpoints, list: query `limit` 10..1000 (default 1000) [spec]."""
    hub.seed_pending(REPO, 1001)
    assert len((await api.get(f"{ACCESS}/pending")).body) == 1000
    assert len((await api.get(f"{ACCESS}/pending", params={"limit": "10"})).body) == 10
    for bad in ("9", "1001"):
        assert (await api.get(f"{ACCESS}/pending", params={"limit": bad})).status == 400


async def test_endpoints_list_search_q_up_to_250_characters(hub: FakeHub, api: Api) -> None:
    """Endpoints, list: query `q` (search, <=250 chars) [spec]."""
    hub.seed_pending(REPO, 3)
    hub.add_user("alice", fullname="Alice Liddell")
    hub.ask_access(REPO, "alice")
    reply = await api.get(f"{ACCESS}/pending", params={"q": "liddell"})
    assert [item["user"]["user"] for item in reply.body] == ["alice"]
    assert (await api.get(f"{ACCESS}/pending", params={"q": "x" * 251})).status == 400


@pytest.mark.parametrize("ident", ["user", "userId", "requestId"])
async def test_endpoints_handle_addresses_by_user_user_id_or_request_id(
    hub: FakeHub, api: Api, ident: str
) -> None:
    """Endpoints, handle: `{"user"}` or `{"userId"}` or `{"requestId"}` (exactly one) and a
    `status` [spec]."""
    hub.seed_pending(REPO, 1)
    record = hub.snapshot(REPO)["user-000000"]
    value = {"user": record.user, "userId": record.user_id, "requestId": record.request_id}
    reply = await api.handle("accepted", **{ident: value[ident]})
    assert (reply.status, reply.body) == (200, {})
    assert hub.request_status(REPO, "user-000000") == "accepted"


async def test_endpoints_grant_by_user_or_user_id(hub: FakeHub, api: Api) -> None:
    """Endpoints, grant: `{"user": "<name>"}` or `{"userId": ...}` [spec]."""
    bob = hub.add_user("bob")
    hub.add_user("carol")
    assert (await api.post(f"{ACCESS}/grant", json={"user": "carol"})).status == 200
    assert (await api.post(f"{ACCESS}/grant", json={"userId": bob.id})).status == 200
    assert {hub.request_status(REPO, name) for name in ("bob", "carol")} == {"accepted"}


async def test_endpoints_batch_takes_1_to_100_requests(hub: FakeHub, api: Api) -> None:
    """Endpoints, batch: `{"status", "requests": [{"user"|"userId"}, ...]}`, 1..100 items."""
    hub.seed_pending(REPO, 101)
    requests = [{"user": f"user-{i:06d}"} for i in range(101)]
    body = {"status": "accepted", "requests": requests[:100]}
    assert (await api.post(f"{ACCESS}/batch", json=body)).status == 200
    for bad in ([], requests):
        reply = await api.post(f"{ACCESS}/batch", json={"status": "accepted", "requests": bad})
        assert reply.status == 400


async def test_endpoints_report_has_no_api_prefix(hub: FakeHub, api: Api) -> None:
    """Endpoints, report: `GET /{ns}/{name}/user-access-report` (models; no `/api` prefix),
    `GET /datasets/{ns}/{name}/user-access-report`."""
    hub.add_repo("acme/data", repo_type="dataset")
    assert (await api.get(f"/{REPO}/user-access-report")).status == 200
    assert (await api.get("/datasets/acme/data/user-access-report")).status == 200
    assert (await api.get(f"/api/models/{REPO}/user-access-report")).status == 404


async def test_endpoints_settings_takes_the_documented_keys(hub: FakeHub, api: Api) -> None:
    """Endpoints, settings: `PUT /api/{type}s/{ns}/{name}/settings` with any of `gated`
    (false/"auto"/"manual"), `gatedNotificationsMode` ("bulk"/"real-time"),
    `gatedNotificationsEmail`, `orgMembersGated` (bool) [spec]."""
    url = f"/api/models/{REPO}/settings"
    for body in (
        {"gated": "auto"},
        {"gated": False},
        {"gated": "manual"},
        {"gatedNotificationsMode": "bulk"},
        {"gatedNotificationsMode": "real-time"},
        {"gatedNotificationsEmail": "owner@example.org"},
        {"orgMembersGated": True},
    ):
        assert (await api.put(url, json=body)).status == 200, body
    settings = hub.repo(REPO).settings
    assert settings["gatedNotificationsEmail"] == "owner@example.org"
    assert settings["orgMembersGated"] is True


async def test_endpoints_gating_mode_read(hub: FakeHub, api: Api) -> None:
    """Endpoints, gating mode: `GET /api/{type}s/{ns}/{name}?expand[]=gated` ->
    `{"_id", "id", "gated"}`."""
    repo = hub.repo(REPO)
    reply = await api.get(f"/api/models/{REPO}", params={"expand[]": "gated"})
    assert reply.body == {"_id": repo.id, "id": REPO, "gated": "manual"}


async def test_endpoints_gating_mode_of_a_public_repo_needs_no_token(
    hub: FakeHub, api: Api
) -> None:
    """Endpoints, gating mode: on a public repo this needs no token (anonymous 200) [seen]."""
    hub.add_repo("acme/data", repo_type="dataset", gated="auto")
    reply = await api.get(f"/api/models/{REPO}", params={"expand[]": "gated"}, token=None)
    assert (reply.status, reply.body["gated"]) == (200, "manual")
    reply = await api.get("/api/datasets/acme/data", params={"expand[]": "gated"}, token=None)
    assert (reply.status, reply.body["gated"]) == (200, "auto")


async def test_endpoints_there_is_no_get_for_settings(hub: FakeHub, api: Api) -> None:
    """Endpoints: there is no GET for settings: `GET …/settings` is `404` [seen]."""
    reply = await api.get(f"/api/models/{REPO}/settings")
    assert reply.status == 404
    assert "X-Error-Code" not in reply.headers
    assert hub.counters.calls.get("settings") is None


# -- Status meanings -------------------------------------------------------------------------


async def test_status_cancel_is_handle_pending_and_access_is_lost(hub: FakeHub, api: Api) -> None:
    """Status meanings: `cancel` = handle with `status: "pending"` (back to the queue, access
    lost)."""
    hub.seed_pending(REPO, 1)
    await api.handle("accepted", user="user-000000")
    assert (await api.handle("pending", user="user-000000")).status == 200
    assert [item["user"]["user"] for item in await items(api, "pending")] == ["user-000000"]
    assert await items(api, "accepted") == []


async def test_status_reset_user_must_submit_a_new_request(
    hub: FakeHub, api: Api, alice: str, clock: ManualClock
) -> None:
    """Status meanings: `reset` = the user loses access and must submit a new request."""
    await api.post(f"/{REPO}/ask-access", token="hf_alice")
    first = hub.snapshot(REPO)["alice"]
    await api.handle("accepted", user="alice")
    await api.handle("reset", user="alice")
    assert hub.request_status(REPO, "alice") == "reset"
    clock.advance(60)
    await api.post(f"/{REPO}/ask-access", token="hf_alice")
    again = hub.snapshot(REPO)["alice"]
    assert (again.status, again.request_id != first.request_id) == ("pending", True)


async def test_status_rejected_user_cannot_request_again(
    hub: FakeHub, api: Api, alice: str
) -> None:
    """Status meanings: `rejected` = blocked, the user cannot request again."""
    await api.post(f"/{REPO}/ask-access", token="hf_alice")
    await api.handle("rejected", user="alice")
    await api.post(f"/{REPO}/ask-access", token="hf_alice")
    assert hub.request_status(REPO, "alice") == "rejected"


async def test_status_grant_accepts_without_a_request(hub: FakeHub, api: Api) -> None:
    """Status meanings: `grant` = accepted without a request."""
    hub.add_user("bob")
    await api.post(f"{ACCESS}/grant", json={"user": "bob"})
    [item] = await items(api, "accepted")
    assert (item["user"]["user"], item["status"]) == ("bob", "accepted")


# -- A list item -----------------------------------------------------------------------------


async def test_item_has_the_recorded_shape(hub: FakeHub, api: Api, alice: str) -> None:
    """A list item: `requestId`, the `user` object (`_id`, `user`, `fullname`, `avatarUrl`,
    `isPro`, `type`, `verifiedOrgNames`, `email`), `timestamp`, `reviewedAt`, `status`,
    `grantedBy`, `fields` [spec][seen]."""
    hub.ask_access(REPO, "alice", fields={"Company": "ACME", "Country": "FR"})
    await api.handle("accepted", user="alice")
    [item] = await items(api, "accepted")
    assert list(item) == [
        "requestId",
        "user",
        "timestamp",
        "reviewedAt",
        "status",
        "grantedBy",
        "fields",
    ]
    assert list(item["user"]) == [*USER_KEYS, "email"]
    assert item["user"]["verifiedOrgNames"] == ["acme"]
    assert re.fullmatch(r"[0-9a-f]{24}", item["requestId"])
    assert re.fullmatch(r"[0-9a-f]{24}", item["user"]["_id"])
    assert item["fields"] == {"Company": "ACME", "Country": "FR"}


async def test_item_user_is_absent_when_the_repo_hides_requesters(hub: FakeHub, api: Api) -> None:
    """A list item: the `user` object can be absent when the repo hides its requesters'
    identity; then actions address the request by `requestId` [client]."""
    hub.add_repo("acme/hidden", hide_requesters=True)
    hub.seed_pending("acme/hidden", 1)
    [item] = await items(api, "pending", "acme/hidden")
    assert "user" not in item
    body = {"status": "accepted", "requestId": item["requestId"]}
    reply = await api.post("/api/models/acme/hidden/user-access-request/handle", json=body)
    assert reply.status == 200
    assert hub.request_status("acme/hidden", "user-000000") == "accepted"


async def test_item_email_is_absent_for_users_added_by_grant(hub: FakeHub, api: Api) -> None:
    """A list item: `email` is absent for users added by grant [client][seen]."""
    hub.add_user("bob")
    await api.post(f"{ACCESS}/grant", json={"user": "bob"})
    [item] = await items(api, "accepted")
    assert "email" not in item["user"]


async def test_item_reviewed_at_is_removed_back_in_pending(hub: FakeHub, api: Api) -> None:
    """A list item: `reviewedAt` is removed when a request goes back to pending [spec][seen]."""
    hub.seed_pending(REPO, 1)
    await api.handle("rejected", user="user-000000")
    [rejected] = await items(api, "rejected")
    assert ISO_MS.match(rejected["reviewedAt"])
    await api.handle("pending", user="user-000000")
    [pending] = await items(api, "pending")
    assert "reviewedAt" not in pending


async def test_item_granted_by_is_the_granters_user_object_on_accepted_items(
    hub: FakeHub, api: Api
) -> None:
    """A list item: `grantedBy` appears only on accepted entries, and is the granter's user
    object without `verifiedOrgNames` [spec][seen]."""
    hub.seed_pending(REPO, 2)
    await api.handle("accepted", user="user-000000")
    await api.handle("rejected", user="user-000001")
    [accepted] = await items(api, "accepted")
    owner = hub.user("owner")
    granter = accepted["grantedBy"]
    assert list(granter) == USER_KEYS[:-1]
    assert (granter["_id"], granter["user"], granter["fullname"]) == (
        owner.id,
        "owner",
        "Repo Owner",
    )
    assert (granter["isPro"], granter["type"]) == (False, "user")
    [rejected] = await items(api, "rejected")
    assert "grantedBy" not in rejected


async def test_item_fields_left_out_without_answers(hub: FakeHub, api: Api, alice: str) -> None:
    """A list item: `fields` is left out when the requester gave no gate-form answers (a
    pending item can be just `user`, `timestamp`, `status` and the ids) [seen]."""
    await api.post(f"/{REPO}/ask-access", token="hf_alice")
    [item] = await items(api, "pending")
    assert set(item) == {"requestId", "user", "timestamp", "status"}


async def test_item_timestamps_end_in_z_with_milliseconds(
    hub: FakeHub, api: Api, clock: ManualClock
) -> None:
    """A list item: timestamps end in `Z` with millisecond precision."""
    clock.advance(0.0421)
    hub.seed_pending(REPO, 1)
    await api.handle("accepted", user="user-000000")
    [item] = await items(api, "accepted")
    assert item["timestamp"] == "2026-10-06T11:30:00.042Z"
    assert ISO_MS.match(item["reviewedAt"])


async def test_item_reasons_are_never_returned(hub: FakeHub, api: Api) -> None:
    """A list item: reasons (`rejectionReason`, `resetReason`) are never returned by any
    list [seen]."""
    hub.seed_pending(REPO, 2)
    await api.handle("rejected", user="user-000000", rejectionReason="spam")
    await api.handle("accepted", user="user-000001")
    await api.handle("reset", user="user-000001", resetReason="again")
    listed = [*await items(api, "rejected"), *await items(api, "reset")]
    report = (await api.get(f"/{REPO}/user-access-report")).body
    assert "spam" not in repr([listed, report])
    assert "again" not in repr([listed, report])


# -- The requester's side --------------------------------------------------------------------


async def test_requester_ask_access_answers_303_to_the_repo_page(
    hub: FakeHub, api: Api, alice: str
) -> None:
    """The requester's side: `POST /{ns}/{name}/ask-access` answers `303` with `Location` the
    repo page, no body, no `X-Error-*` [spec][seen]."""
    hub.add_repo("acme/data", repo_type="dataset")
    for path, page in ((f"/{REPO}", f"/{REPO}"), ("/datasets/acme/data", "/datasets/acme/data")):
        reply = await api.post(f"{path}/ask-access", token="hf_alice", json={"Company": "ACME"})
        assert (reply.status, reply.headers["Location"], reply.body) == (303, hub.url + page, "")
        assert not [name for name in reply.headers if name.lower().startswith("x-error")]
    assert hub.snapshot(REPO)["alice"].fields == {"Company": "ACME"}
    followed = await api.post(f"/{REPO}/ask-access", token="hf_alice", follow=True)
    assert followed.status == 200  # the page the redirect names exists


async def test_requester_asking_again_while_pending_changes_nothing(
    hub: FakeHub, api: Api, alice: str, clock: ManualClock
) -> None:
    """The requester's side: asking again while pending: the same `303`, nothing changes."""
    await api.post(f"/{REPO}/ask-access", token="hf_alice", json={"a": "1"})
    before = hub.snapshot(REPO)["alice"]
    clock.advance(30)
    reply = await api.post(f"/{REPO}/ask-access", token="hf_alice", json={"a": "2"})
    assert reply.status == 303
    assert hub.snapshot(REPO)["alice"] == before


async def test_requester_asking_after_a_reset_makes_a_new_pending_request(
    hub: FakeHub, api: Api, alice: str
) -> None:
    """The requester's side: after a reset: `303` and a new pending request."""
    await api.post(f"/{REPO}/ask-access", token="hf_alice")
    await api.handle("reset", user="alice")
    reply = await api.post(f"/{REPO}/ask-access", token="hf_alice")
    assert reply.status == 303
    assert hub.request_status(REPO, "alice") == "pending"


async def test_requester_rejected_user_asking_again_is_silently_ignored(
    hub: FakeHub, api: Api, alice: str
) -> None:
    """The requester's side: a rejected user asking again: the same `303`, silently ignored,
    the request stays rejected."""
    await api.post(f"/{REPO}/ask-access", token="hf_alice")
    await api.handle("rejected", user="alice")
    before = hub.snapshot(REPO)["alice"]
    reply = await api.post(f"/{REPO}/ask-access", token="hf_alice")
    assert (reply.status, reply.body) == (303, "")
    assert hub.snapshot(REPO)["alice"] == before


async def test_requester_auto_gated_repo_accepts_at_once(
    hub: FakeHub, api: Api, alice: str
) -> None:
    """The requester's side: an auto-gated repo accepts at once."""
    hub.add_repo("acme/auto", gated="auto")
    assert (await api.post("/acme/auto/ask-access", token="hf_alice")).status == 303
    assert hub.request_status("acme/auto", "alice") == "accepted"


async def test_requester_gate_answers_as_json_or_form(hub: FakeHub, api: Api, alice: str) -> None:
    """The requester's side: the body is the gate-form answers as JSON or form."""
    hub.add_repo("acme/other")
    await api.post(f"/{REPO}/ask-access", token="hf_alice", json={"Use": "research"})
    await api.post("/acme/other/ask-access", token="hf_alice", data={"Use": "teaching"})
    assert hub.snapshot(REPO)["alice"].fields == {"Use": "research"}
    assert hub.snapshot("acme/other")["alice"].fields == {"Use": "teaching"}


async def test_requester_self_cancel_answers_ok_true(hub: FakeHub, api: Api, alice: str) -> None:
    """The requester's side: `POST …/user-access-request/cancel` (no body): `200 {"ok":true}`,
    the pending request is deleted."""
    await api.post(f"/{REPO}/ask-access", token="hf_alice")
    reply = await api.post(f"{ACCESS}/cancel", token="hf_alice")
    assert (reply.status, reply.body) == (200, {"ok": True})
    assert hub.request_status(REPO, "alice") is None


async def test_requester_self_cancel_with_nothing_pending_is_404(
    hub: FakeHub, api: Api, alice: str
) -> None:
    """The requester's side: nothing pending: `404 {"error": "No pending access request found
    for this repo and this user"}` (same `X-Error-Message`, no `X-Error-Code`)."""
    message = "No pending access request found for this repo and this user"
    reply = await api.post(f"{ACCESS}/cancel", token="hf_alice")
    assert same_error_in_body_and_header(reply, 404, message)
    assert "X-Error-Code" not in reply.headers
    await api.post(f"/{REPO}/ask-access", token="hf_alice")
    await api.handle("accepted", user="alice")
    assert same_error_in_body_and_header(
        await api.post(f"{ACCESS}/cancel", token="hf_alice"), 404, message
    )


async def test_requester_self_cancel_without_token_is_401(hub: FakeHub, api: Api) -> None:
    """The requester's side: self-cancel with no token: `401 Invalid username or password.`"""
    reply = await api.post(f"{ACCESS}/cancel", token=None)
    assert same_error_in_body_and_header(reply, 401, "Invalid username or password.")


# -- Pagination ------------------------------------------------------------------------------


async def test_pagination_next_link_while_more_remain(hub: FakeHub, api: Api) -> None:
    """Pagination: each page carries at most `limit` items and a `Link: <url>; rel="next"`
    header while more remain; the next URL already holds its query. Follow it as given."""
    names = hub.seed_pending(REPO, 25)
    seen: list[str] = []
    reply = await api.get(f"{ACCESS}/pending", params={"limit": "10", "q": "user"})
    pages = 1
    while "next" in reply.links:
        assert len(reply.body) == 10
        assert "limit=10" in reply.links["next"]
        assert "q=user" in reply.links["next"]
        seen += [item["user"]["user"] for item in reply.body]
        reply = await api.get(reply.links["next"], absolute=True)
        pages += 1
    seen += [item["user"]["user"] for item in reply.body]
    assert (seen, pages) == (names, 3)
    assert "Link" not in reply.headers


async def test_pagination_after_and_before_window_a_list(
    hub: FakeHub, api: Api, clock: ManualClock
) -> None:
    """Pagination: `after` keeps only requests whose `timestamp` is at or after the given
    time, `before` those before it; the two together window a list."""
    for minute in range(4):
        hub.seed_pending(REPO, 1, prefix=f"m{minute}")
        clock.advance(60)
    window = {"after": "2026-10-06T11:31:00.000Z", "before": "2026-10-06T11:33:00Z"}
    reply = await api.get(f"{ACCESS}/pending", params=window)
    assert [item["user"]["user"] for item in reply.body] == ["m1-000000", "m2-000000"]


# -- Outcomes and errors ---------------------------------------------------------------------


async def test_outcome_handle_and_grant_answer_200_empty_object(hub: FakeHub, api: Api) -> None:
    """Outcomes: success of handle / grant: `200 {}`."""
    hub.seed_pending(REPO, 1)
    hub.add_user("bob")
    assert (await api.handle("accepted", user="user-000000")).body == {}
    reply = await api.post(f"{ACCESS}/grant", json={"user": "bob"})
    assert (reply.status, reply.body) == (200, {})


async def test_outcome_batch_answers_in_input_order(hub: FakeHub, api: Api) -> None:
    """Outcomes: batch answers `[{"user", "ok": true}, {"user", "ok": false, "error":
    "user_not_found" / "request_not_found"}]` in input order; an item already in the target
    status is `ok: true`."""
    hub.seed_pending(REPO, 2)
    hub.add_user("bob")
    await api.handle("accepted", user="user-000001")
    names = ["user-000001", "ghost", "user-000000", "bob"]
    body = {"status": "accepted", "requests": [{"user": name} for name in names]}
    reply = await api.post(f"{ACCESS}/batch", json=body)
    assert reply.body == [
        {"user": "user-000001", "ok": True},
        {"user": "ghost", "ok": False, "error": "user_not_found"},
        {"user": "user-000000", "ok": True},
        {"user": "bob", "ok": False, "error": "request_not_found"},
    ]


async def test_outcome_same_status_or_no_request_is_404(hub: FakeHub, api: Api) -> None:
    """Outcomes: handle to the status the request already has, or no request for that user:
    `404 {"error": "No access request found matching your criteria"}` (same
    `X-Error-Message`)."""
    hub.seed_pending(REPO, 1)
    hub.add_user("bob")
    same = await api.handle("pending", user="user-000000")
    none = await api.handle("accepted", user="bob")
    for reply in (same, none):
        assert same_error_in_body_and_header(reply, 404, NO_REQUEST)


async def test_outcome_grant_to_a_user_with_access_is_400(hub: FakeHub, api: Api) -> None:
    """Outcomes: grant to a user who already has access: `400 That user already has access
    to the repo`."""
    hub.add_user("bob")
    await api.post(f"{ACCESS}/grant", json={"user": "bob"})
    reply = await api.post(f"{ACCESS}/grant", json={"user": "bob"})
    assert same_error_in_body_and_header(reply, 400, "That user already has access to the repo")


async def test_outcome_unknown_user_is_404(hub: FakeHub, api: Api) -> None:
    """Outcomes: unknown user: `404 User not found`."""
    for reply in (
        await api.post(f"{ACCESS}/grant", json={"user": "ghost"}),
        await api.handle("accepted", user="ghost"),
    ):
        assert same_error_in_body_and_header(reply, 404, "User not found")


async def test_outcome_token_without_write_access_is_403(hub: FakeHub, api: Api) -> None:
    """Outcomes: token without write access: `403 You have read access but not the required
    permissions for this operation` (a read token, or a write token whose user has no rights
    on the namespace)."""
    hub.seed_pending(REPO, 1)
    hub.add_user("reader")
    hub.add_token("hf_reader", user="reader", role="read")
    hub.add_user("other")
    hub.add_token("hf_other", user="other", role="write")  # rights on other/... only
    for token in ("hf_reader", "hf_other"):
        reply = await api.call(
            "POST",
            f"{ACCESS}/handle",
            token=token,
            json={"user": "user-000000", "status": "accepted"},
        )
        assert same_error_in_body_and_header(reply, 403, READ_ONLY)
    assert hub.request_status(REPO, "user-000000") == "pending"
    hub.add_repo("other/model")
    assert (
        await api.get("/api/models/other/model/user-access-request/pending", token="hf_other")
    ).status == 200


async def test_outcome_no_or_bad_token_is_401_before_anything(hub: FakeHub, api: Api) -> None:
    """Outcomes: no token / bad token: `401 Invalid username or password.` (checked before
    anything else)."""
    for token in (None, "hf_wrong"):
        for path in (f"{ACCESS}/pending", "/api/models/acme/missing/user-access-request/pending"):
            reply = await api.get(path, token=token)
            assert same_error_in_body_and_header(reply, 401, "Invalid username or password.")


async def test_outcome_unknown_repo_is_404_repo_not_found(hub: FakeHub, api: Api) -> None:
    """Outcomes: unknown repo: `404` with `X-Error-Code: RepoNotFound`."""
    reply = await api.get("/api/models/acme/missing/user-access-request/pending")
    assert (reply.status, reply.headers["X-Error-Code"]) == (404, "RepoNotFound")


async def test_outcome_validation_messages(hub: FakeHub, api: Api) -> None:
    """Outcomes: validation (bad status, reason over 200 chars, limit under 10, no or two
    identifiers) is `400`, e.g. `* Too big: expected string to have <=200 characters * at
    rejectionReason`; a bad status: `* Invalid option: expected one of
    "accepted"|"rejected"|"pending"|"reset" * at status`."""
    hub.seed_pending(REPO, 1)
    too_long = await api.handle("rejected", user="user-000000", rejectionReason="x" * 201)
    assert same_error_in_body_and_header(
        too_long, 400, "* Too big: expected string to have <=200 characters * at rejectionReason"
    )
    bad_status = await api.handle("approved", user="user-000000")
    assert same_error_in_body_and_header(
        bad_status,
        400,
        '* Invalid option: expected one of "accepted"|"rejected"|"pending"|"reset" * at status',
    )
    assert (await api.get(f"{ACCESS}/pending", params={"limit": "9"})).status == 400
    emoji = "\N{GRINNING FACE}"  # two UTF-16 code units, as the Hub's JavaScript counts
    assert (
        await api.handle("rejected", user="user-000000", rejectionReason=emoji * 101)
    ).status == 400
    assert (
        await api.handle("rejected", user="user-000000", rejectionReason=emoji * 100)
    ).status == 200
    assert (await api.handle("accepted")).status == 400
    assert (await api.handle("accepted", user="user-000000", userId="x")).status == 400


async def test_outcome_lists_of_a_repo_that_is_not_gated_answer_200(hub: FakeHub, api: Api) -> None:
    """Outcomes: repo not gated: recordings show lists still answer `200` with stored
    requests (a repo switched to `gated: false` keeps its stored requests)."""
    hub.seed_pending(REPO, 2)
    await api.put(f"/api/models/{REPO}/settings", json={"gated": False})
    assert len(await items(api, "pending")) == 2


async def test_outcome_every_answer_carries_message_and_request_id(hub: FakeHub, api: Api) -> None:
    """Outcomes: the message is in `X-Error-Message` and in the JSON body's `error`;
    `X-Request-Id` identifies the request."""
    ok = await api.get(f"{ACCESS}/pending")
    error = await api.handle("accepted", user="ghost")
    assert ok.headers["X-Request-Id"] != error.headers["X-Request-Id"]
    assert error.headers["X-Error-Message"] == error.error == "User not found"


# -- State moves -----------------------------------------------------------------------------

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


@pytest.mark.parametrize(("start", "target"), RECORDED_MOVES)
async def test_state_recorded_moves_succeed(
    hub: FakeHub, api: Api, start: str, target: str
) -> None:
    """State moves: pending->accepted, pending->rejected, accepted->pending,
    accepted->rejected, accepted->reset, rejected->accepted, rejected->pending,
    rejected->reset all succeed."""
    hub.seed_pending(REPO, 1)
    if start != "pending":
        await api.handle(start, user="user-000000")
    assert (await api.handle(target, user="user-000000")).status == 200
    assert hub.request_status(REPO, "user-000000") == target


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected", "reset"])
async def test_state_every_same_status_move_is_404(hub: FakeHub, api: Api, status: str) -> None:
    """State moves: every same-status move answers the 404 "No access request found matching
    your criteria"."""
    hub.seed_pending(REPO, 1)
    if status == "reset":
        await api.handle("accepted", user="user-000000")
    if status != "pending":
        await api.handle(status, user="user-000000")
    reply = await api.handle(status, user="user-000000")
    assert same_error_in_body_and_header(reply, 404, NO_REQUEST)


async def test_state_granting_a_pending_user_keeps_timestamp_and_email(
    hub: FakeHub, api: Api, clock: ManualClock
) -> None:
    """State moves: granting a pending user accepts their request and keeps its timestamp
    and e-mail."""
    hub.seed_pending(REPO, 1)
    [pending] = await items(api, "pending")
    clock.advance(120)
    await api.post(f"{ACCESS}/grant", json={"user": "user-000000"})
    [accepted] = await items(api, "accepted")
    assert accepted["timestamp"] == pending["timestamp"]
    assert accepted["user"]["email"] == "user-000000@example.org"


async def test_state_mode_switches_leave_requests_alone(hub: FakeHub, api: Api) -> None:
    """State moves: switching manual->auto does not accept pending requests; a repo switched
    to `gated: false` keeps its stored requests."""
    hub.seed_pending(REPO, 2)
    await api.put(f"/api/models/{REPO}/settings", json={"gated": "auto"})
    assert len(await items(api, "pending")) == 2
    await api.put(f"/api/models/{REPO}/settings", json={"gated": False})
    assert set(hub.snapshot(REPO)) == {"user-000000", "user-000001"}


# -- Settings answers ------------------------------------------------------------------------


async def test_settings_echo_what_was_sent(hub: FakeHub, api: Api) -> None:
    """Settings answers: `200` with only the fields it echoes: `{"gated": "auto"}` ->
    `{"gated": "auto"}`, `{}` -> `200 {}` [seen]."""
    url = f"/api/models/{REPO}/settings"
    reply = await api.put(url, json={"gated": "auto"})
    assert (reply.status, reply.body) == (200, {"gated": "auto"})
    reply = await api.put(url, json={})
    assert (reply.status, reply.body) == (200, {})
    assert hub.repo(REPO).gated == "auto"


async def test_settings_notification_keys_are_write_only(hub: FakeHub, api: Api) -> None:
    """Settings answers: `gatedNotificationsMode` and `gatedNotificationsEmail` are accepted
    but never echoed (write-only) [seen]."""
    body = {"gated": "manual", "gatedNotificationsMode": "bulk", "gatedNotificationsEmail": "a@b.c"}
    reply = await api.put(f"/api/models/{REPO}/settings", json=body)
    assert (reply.status, reply.body) == (200, {"gated": "manual"})
    assert hub.repo(REPO).settings["gatedNotificationsMode"] == "bulk"


async def test_settings_spec_keys_are_accepted(hub: FakeHub, api: Api) -> None:
    """Settings answers: the spec's body also has `private`, `visibility`,
    `discussionsDisabled`, `discussionsSorting` (`recently-created`/`trending`/`reactions`)
    [spec]; their echo is not recorded (the fake echoes them)."""
    url = f"/api/models/{REPO}/settings"
    for body in (
        {"private": True},
        {"visibility": "public"},
        {"discussionsDisabled": False},
        {"discussionsSorting": "recently-created"},
        {"discussionsSorting": "trending"},
        {"discussionsSorting": "reactions"},
    ):
        reply = await api.put(url, json=body)
        assert (reply.status, reply.body) == (200, body)


# -- Access report ---------------------------------------------------------------------------


async def test_report_headers_and_entries(hub: FakeHub, api: Api, clock: ManualClock) -> None:
    """Access report: `200`, `application/json`, `Content-Disposition: attachment;
    filename=user-access-report-{ns}-{name}.json`; an array of every request in every status:
    `{"fullname", "user", "email", "time", "reviewedAt"?, "status", "grantedBy"?: {"fullname",
    "user"}}`."""
    hub.seed_pending(REPO, 3)
    clock.advance(1)
    await api.handle("accepted", user="user-000000")
    await api.handle("rejected", user="user-000001")
    reply = await api.get(f"/{REPO}/user-access-report")
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["Content-Disposition"] == (
        "attachment; filename=user-access-report-owner-gated-model.json"
    )
    accepted, rejected, pending = reply.body
    assert list(accepted) == [
        "fullname",
        "user",
        "email",
        "time",
        "reviewedAt",
        "status",
        "grantedBy",
    ]
    assert accepted["grantedBy"] == {"fullname": "Repo Owner", "user": "owner"}
    assert list(accepted["grantedBy"]) == ["fullname", "user"]
    assert (rejected["status"], "grantedBy" in rejected) == ("rejected", False)
    assert list(pending) == ["fullname", "user", "email", "time", "status"]


# -- Rate limits -----------------------------------------------------------------------------


async def test_rate_limit_fixed_windows_per_user_and_per_ip(clock: ManualClock) -> None:
    """Rate limits: quotas are counted over fixed windows per user (per IP when anonymous)
    [doc]."""
    import aiohttp

    async with FakeHub(clock=clock, quota=2, window=300) as hub, aiohttp.ClientSession() as s:
        hub.add_repo(REPO)
        hub.add_user("bob")
        hub.add_token("hf_bob", user="bob", role="read")
        api = Api(s, hub)
        info = f"/api/models/{REPO}"
        statuses = [(await api.get(info)).status for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert (await api.get(info, token="hf_bob")).status == 200  # another user
        assert (await api.get(info, token=None)).status == 200  # anonymous: this IP's window
        clock.advance(300)
        assert (await api.get(info)).status == 200


async def test_rate_limit_headers_on_every_response(hub: FakeHub, api: Api) -> None:
    """Rate limits: every response (not only a 429) carries `RateLimit: "api";r=...;t=...`
    and `RateLimit-Policy: "fixed window";"api";q=...;w=...` [doc]."""
    for reply in (
        await api.get(f"{ACCESS}/pending"),
        await api.handle("accepted", user="ghost"),
        await api.get(f"{ACCESS}/pending", token=None),
    ):
        assert re.fullmatch(r'"api";r=\d+;t=\d+', reply.headers["RateLimit"])
        assert re.fullmatch(r'"fixed window";"api";q=\d+;w=300', reply.headers["RateLimit-Policy"])


async def test_rate_limit_429_message(clock: ManualClock) -> None:
    """Rate limits: over quota: `429` with the message "We had to rate limit you, you hit the
    quota of 1000 api requests per 5 minutes period. Upgrade to a PRO user or Team/Enterprise
    organization account (https://hf.co/pricing) to get higher limits. See
    https://huggingface.co/docs/hub/rate-limits" (body `error` and `X-Error-Message`) [doc]."""
    import aiohttp

    message = (
        "We had to rate limit you, you hit the quota of 1000 api requests per 5 minutes period. "
        "Upgrade to a PRO user or Team/Enterprise organization account (https://hf.co/pricing) "
        "to get higher limits. See https://huggingface.co/docs/hub/rate-limits"
    )
    async with FakeHub(clock=clock, quota=1000) as hub, aiohttp.ClientSession() as s:
        hub.add_repo(REPO)
        api = Api(s, hub)
        for _ in range(1000):
            await api.get(f"/api/models/{REPO}")
        assert same_error_in_body_and_header(await api.get(f"/api/models/{REPO}"), 429, message)


# -- Recorded by replaying requests against the Hub ------------------------------------------


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected", "reset"])
async def test_replay_head_on_a_list_is_get_without_a_body(
    hub: FakeHub, api: Api, status: str
) -> None:
    """Replayed against the Hub: `HEAD` on a list answers like `GET`, without a body."""
    hub.seed_pending(REPO, 11)
    get = await api.get(f"{ACCESS}/{status}", params={"limit": "10"})
    url = f"{hub.url}{ACCESS}/{status}"
    headers = {"Authorization": f"Bearer {hub.token}"}
    async with api.session.head(url, params={"limit": "10"}, headers=headers) as head:
        assert (head.status, await head.read()) == (200, b"")
        assert head.headers.get("Link") == get.headers.get("Link")
        assert head.headers["Content-Type"] == get.headers["Content-Type"]
