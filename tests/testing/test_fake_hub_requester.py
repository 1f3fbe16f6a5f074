"""The requester side: ask-access (auto, manual, rejected, reset) and self-cancel."""

from __future__ import annotations

import pytest

from hf_access.testing import FakeHub, FakeHubError, ManualClock

from ._helpers import ACCESS, REPO, Api, Reply

ALICE = "hf_alice"


def redirected_to_page(reply: Reply, hub: FakeHub, page: str = REPO) -> bool:
    """The Hub's answer to every ask-access: 303 to the repo page, no body."""
    return (reply.status, reply.headers["Location"], reply.body) == (303, f"{hub.url}/{page}", "")


@pytest.fixture
def alice(hub: FakeHub) -> str:
    hub.add_user("alice", fullname="Alice A")
    hub.add_token(ALICE, user="alice", role="read")  # a read token is enough to ask
    return "alice"


async def test_manual_repo_queues_the_request(hub: FakeHub, api: Api, alice: str) -> None:
    reply = await api.post(f"/{REPO}/ask-access", token=ALICE, json={"Company": "ACME"})
    assert redirected_to_page(reply, hub)
    record = hub.snapshot(REPO)["alice"]
    assert record.status == "pending"
    assert record.fields == {"Company": "ACME"}
    assert record.email == "alice@example.org"
    assert hub.counters.calls["ask_access"] == 1


async def test_form_body_becomes_fields(hub: FakeHub, api: Api, alice: str) -> None:
    form = {"Country": "FR", "Use": "research"}
    reply = await api.post(f"/{REPO}/ask-access", token=ALICE, data=form)
    assert reply.status == 303
    assert hub.snapshot(REPO)["alice"].fields == form


async def test_auto_repo_accepts_at_once(hub: FakeHub, api: Api, alice: str) -> None:
    hub.add_repo("owner/auto", gated="auto")
    reply = await api.post("/owner/auto/ask-access", token=ALICE)
    assert redirected_to_page(reply, hub, "owner/auto")
    [item] = (await api.get("/api/models/owner/auto/user-access-request/accepted")).body
    assert item["user"]["user"] == "alice"
    assert "grantedBy" not in item


async def test_asking_again_changes_nothing(
    hub: FakeHub, api: Api, alice: str, clock: ManualClock
) -> None:
    await api.post(f"/{REPO}/ask-access", token=ALICE)
    first = hub.snapshot(REPO)["alice"]
    clock.advance(10)
    assert redirected_to_page(await api.post(f"/{REPO}/ask-access", token=ALICE), hub)
    assert hub.snapshot(REPO)["alice"] == first
    await api.handle("accepted", user="alice")
    assert redirected_to_page(await api.post(f"/{REPO}/ask-access", token=ALICE), hub)
    assert hub.request_status(REPO, "alice") == "accepted"


async def test_rejected_users_stay_rejected(hub: FakeHub, api: Api, alice: str) -> None:
    await api.post(f"/{REPO}/ask-access", token=ALICE)
    await api.handle("rejected", user="alice")
    before = hub.snapshot(REPO)["alice"]
    reply = await api.post(f"/{REPO}/ask-access", token=ALICE, json={"Why": "please"})
    assert redirected_to_page(reply, hub)  # silently ignored
    assert hub.snapshot(REPO)["alice"] == before
    assert hub.ask_access(REPO, "alice") == "rejected"
    assert hub.snapshot(REPO)["alice"] == before


async def test_reset_users_ask_again_with_a_new_timestamp(
    hub: FakeHub, api: Api, alice: str, clock: ManualClock
) -> None:
    await api.post(f"/{REPO}/ask-access", token=ALICE)
    await api.handle("accepted", user="alice")
    await api.handle("reset", user="alice")
    old = hub.snapshot(REPO)["alice"]
    clock.advance(3600)
    reply = await api.post(f"/{REPO}/ask-access", token=ALICE, json={"Why": "again"})
    assert redirected_to_page(reply, hub)
    new = hub.snapshot(REPO)["alice"]
    assert new.timestamp == "2026-10-06T12:30:00.000Z" != old.timestamp
    assert new.request_id != old.request_id
    assert new.reviewed_at is None
    assert new.fields == {"Why": "again"}
    assert (await api.get(f"{ACCESS}/reset")).body == []


async def test_dataset_and_space_ask_access(hub: FakeHub, api: Api, alice: str) -> None:
    hub.add_repo("owner/data", repo_type="dataset")
    hub.add_repo("owner/app", repo_type="space", gated="auto")
    reply = await api.post("/datasets/owner/data/ask-access", token=ALICE)
    assert redirected_to_page(reply, hub, "datasets/owner/data")
    assert hub.request_status("owner/data", "alice", repo_type="dataset") == "pending"
    reply = await api.post("/spaces/owner/app/ask-access", token=ALICE)
    assert redirected_to_page(reply, hub, "spaces/owner/app")
    assert hub.request_status("owner/app", "alice", repo_type="space") == "accepted"
    assert hub.request_status(REPO, "alice") is None


async def test_anonymous_requester_is_401(hub: FakeHub, api: Api) -> None:
    assert (await api.post(f"/{REPO}/ask-access", token=None)).status == 401
    assert (await api.post(f"{ACCESS}/cancel", token=None)).status == 401


async def test_not_gated_repo_refuses_requests(hub: FakeHub, api: Api, alice: str) -> None:
    hub.add_repo("owner/open", gated=False)
    assert (await api.post("/owner/open/ask-access", token=ALICE)).status == 400


async def test_requester_cancels_their_pending_request(hub: FakeHub, api: Api, alice: str) -> None:
    await api.post(f"/{REPO}/ask-access", token=ALICE)
    reply = await api.post(f"{ACCESS}/cancel", token=ALICE)
    assert (reply.status, reply.body) == (200, {"ok": True})
    assert hub.request_status(REPO, "alice") is None
    again = await api.post(f"{ACCESS}/cancel", token=ALICE)
    message = "No pending access request found for this repo and this user"
    assert (again.status, again.error, again.headers["X-Error-Message"]) == (404, message, message)
    assert "X-Error-Code" not in again.headers
    assert hub.counters.calls["cancel"] == 2


async def test_requester_cannot_cancel_an_accepted_request(
    hub: FakeHub, api: Api, alice: str
) -> None:
    await api.post(f"/{REPO}/ask-access", token=ALICE)
    await api.handle("accepted", user="alice")
    assert (await api.post(f"{ACCESS}/cancel", token=ALICE)).status == 404
    assert hub.request_status(REPO, "alice") == "accepted"


def test_programmatic_ask_access_follows_the_same_rules() -> None:
    hub = FakeHub()
    hub.add_repo("acme/manual")
    hub.add_repo("acme/auto", gated="auto")
    hub.add_repo("acme/open", gated=False)
    hub.add_user("bob")
    assert hub.ask_access("acme/manual", "bob", fields={"a": 1}) == "pending"
    assert hub.ask_access("acme/manual", "bob") == "pending"
    assert hub.ask_access("acme/auto", "bob") == "accepted"
    with pytest.raises(FakeHubError) as not_gated:
        hub.ask_access("acme/open", "bob")
    assert not_gated.value.status == 400
    with pytest.raises(FakeHubError, match="User not found"):
        hub.ask_access("acme/manual", "ghost")
    with pytest.raises(FakeHubError) as caught:
        hub.ask_access("acme/missing", "bob")
    assert caught.value.code == "RepoNotFound"
