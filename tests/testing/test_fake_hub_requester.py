"""The requester side: ask-access (auto, manual, rejected, reset) and self-cancel."""

from __future__ import annotations

import pytest

from hf_access.testing import FakeHub, FakeHubError, ManualClock

from ._helpers import ACCESS, REPO, Api

ALICE = "hf_alice"


@pytest.fixture
def alice(hub: FakeHub) -> str:
    hub.add_user("alice", fullname="Alice A")
    hub.add_token(ALICE, user="alice", role="read")  # a read token is enough to ask
    return "alice"


async def test_manual_repo_queues_the_request(hub: FakeHub, api: Api, alice: str) -> None:
    reply = await api.post(f"/{REPO}/ask-access", token=ALICE, json={"Company": "ACME"})
    assert (reply.status, reply.body) == (200, {"status": "pending"})
    record = hub.snapshot(REPO)["alice"]
    assert record.status == "pending"
    assert record.fields == {"Company": "ACME"}
    assert record.email == "alice@example.org"
    assert hub.counters.calls["ask_access"] == 1


async def test_form_body_becomes_fields(hub: FakeHub, api: Api, alice: str) -> None:
    form = {"Country": "FR", "Use": "research"}
    reply = await api.post(f"/{REPO}/ask-access", token=ALICE, data=form)
    assert reply.status == 200
    assert hub.snapshot(REPO)["alice"].fields == form


async def test_auto_repo_accepts_at_once(hub: FakeHub, api: Api, alice: str) -> None:
    hub.add_repo("owner/auto", gated="auto")
    reply = await api.post("/owner/auto/ask-access", token=ALICE)
    assert reply.body == {"status": "accepted"}
    [item] = (await api.get("/api/models/owner/auto/user-access-request/accepted")).body
    assert item["user"]["user"] == "alice"
    assert "grantedBy" not in item


async def test_asking_again_changes_nothing(
    hub: FakeHub, api: Api, alice: str, clock: ManualClock
) -> None:
    await api.post(f"/{REPO}/ask-access", token=ALICE)
    first = hub.snapshot(REPO)["alice"]
    clock.advance(10)
    assert (await api.post(f"/{REPO}/ask-access", token=ALICE)).body == {"status": "pending"}
    assert hub.snapshot(REPO)["alice"] == first
    await api.handle("accepted", user="alice")
    assert (await api.post(f"/{REPO}/ask-access", token=ALICE)).body == {"status": "accepted"}


async def test_rejected_users_stay_rejected(hub: FakeHub, api: Api, alice: str) -> None:
    await api.post(f"/{REPO}/ask-access", token=ALICE)
    await api.handle("rejected", user="alice")
    reply = await api.post(f"/{REPO}/ask-access", token=ALICE)
    assert reply.status == 403
    assert hub.request_status(REPO, "alice") == "rejected"
    with pytest.raises(FakeHubError) as caught:
        hub.ask_access(REPO, "alice")
    assert caught.value.status == 403


async def test_reset_users_ask_again_with_a_new_timestamp(
    hub: FakeHub, api: Api, alice: str, clock: ManualClock
) -> None:
    await api.post(f"/{REPO}/ask-access", token=ALICE)
    await api.handle("accepted", user="alice")
    await api.handle("reset", user="alice")
    old = hub.snapshot(REPO)["alice"]
    clock.advance(3600)
    reply = await api.post(f"/{REPO}/ask-access", token=ALICE, json={"Why": "again"})
    assert reply.body == {"status": "pending"}
    new = hub.snapshot(REPO)["alice"]
    assert new.timestamp == "2026-10-06T12:30:00.000Z" != old.timestamp
    assert new.request_id != old.request_id
    assert new.reviewed_at is None
    assert new.fields == {"Why": "again"}
    assert (await api.get(f"{ACCESS}/reset")).body == []


async def test_dataset_and_space_ask_access(hub: FakeHub, api: Api, alice: str) -> None:
    hub.add_repo("owner/data", repo_type="dataset")
    hub.add_repo("owner/app", repo_type="space", gated="auto")
    assert (await api.post("/datasets/owner/data/ask-access", token=ALICE)).status == 200
    assert hub.request_status("owner/data", "alice", repo_type="dataset") == "pending"
    assert (await api.post("/spaces/owner/app/ask-access", token=ALICE)).status == 200
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
    assert (reply.status, reply.body) == (200, {})
    assert hub.request_status(REPO, "alice") is None
    again = await api.post(f"{ACCESS}/cancel", token=ALICE)
    assert (again.status, again.error) == (404, "No access request found matching your criteria")
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
    hub.add_user("bob")
    assert hub.ask_access("acme/manual", "bob", fields={"a": 1}) == "pending"
    assert hub.ask_access("acme/manual", "bob") == "pending"
    assert hub.ask_access("acme/auto", "bob") == "accepted"
    with pytest.raises(FakeHubError, match="User not found"):
        hub.ask_access("acme/manual", "ghost")
    with pytest.raises(FakeHubError) as caught:
        hub.ask_access("acme/missing", "bob")
    assert caught.value.code == "RepoNotFound"
