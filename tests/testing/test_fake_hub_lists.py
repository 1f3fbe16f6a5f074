"""The four lists: item shape, order, pagination, limit, search, date filters, hiding."""

from __future__ import annotations

import pytest

from hf_access.testing import FakeHub, ManualClock

from ._helpers import ACCESS, REPO, Api

USER_KEYS = {"_id", "user", "fullname", "avatarUrl", "isPro", "type", "verifiedOrgNames", "email"}


async def test_pending_item_has_the_hub_shape(hub: FakeHub, api: Api) -> None:
    alice = hub.add_user(
        "alice", fullname="Alice A", email="a@acme.io", is_pro=True, verified_orgs=["acme"]
    )
    hub.ask_access(REPO, "alice", fields={"Company": "ACME", "Country": "FR"})
    reply = await api.get(f"{ACCESS}/pending")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    [item] = reply.body
    assert set(item) == {"requestId", "user", "timestamp", "status", "fields"}
    assert len(item["requestId"]) == 24
    assert set(item["user"]) == USER_KEYS
    assert item["user"]["_id"] == alice.id
    assert len(alice.id) == 24
    int(alice.id, 16)
    assert item["user"]["user"] == "alice"
    assert item["user"]["fullname"] == "Alice A"
    assert item["user"]["email"] == "a@acme.io"
    assert item["user"]["isPro"] is True
    assert item["user"]["type"] == "user"
    assert item["user"]["verifiedOrgNames"] == ["acme"]
    assert item["timestamp"] == "2026-10-06T11:30:00.000Z"
    assert item["status"] == "pending"
    assert item["fields"] == {"Company": "ACME", "Country": "FR"}
    assert "Link" not in reply.headers


async def test_accepted_item_has_reviewed_at_and_granted_by(
    hub: FakeHub, api: Api, clock: ManualClock
) -> None:
    hub.seed_pending(REPO, 1)
    clock.advance(60.25)
    assert (await api.handle("accepted", user="user-000000")).status == 200
    [item] = (await api.get(f"{ACCESS}/accepted")).body
    assert item["reviewedAt"] == "2026-10-06T11:31:00.250Z"
    assert item["timestamp"] == "2026-10-06T11:30:00.000Z"
    owner = hub.user("owner")
    assert item["grantedBy"] == {
        "_id": owner.id,
        "user": "owner",
        "fullname": "Repo Owner",
        "avatarUrl": item["grantedBy"]["avatarUrl"],
        "isPro": False,
        "type": "user",
    }
    assert item["user"]["email"] == "user-000000@example.org"


async def test_rejected_and_reset_items_have_no_granted_by_nor_reason(
    hub: FakeHub, api: Api
) -> None:
    hub.seed_pending(REPO, 2)
    await api.handle("rejected", user="user-000000", rejectionReason="no")
    await api.handle("accepted", user="user-000001")
    await api.handle("reset", user="user-000001", resetReason="again")
    [rejected] = (await api.get(f"{ACCESS}/rejected")).body
    [reset] = (await api.get(f"{ACCESS}/reset")).body
    for item in (rejected, reset):
        assert "grantedBy" not in item
        assert "reviewedAt" in item
        assert "rejectionReason" not in item
        assert "resetReason" not in item
    assert (rejected["status"], reset["status"]) == ("rejected", "reset")
    assert hub.snapshot(REPO)["user-000000"].rejection_reason == "no"
    assert hub.snapshot(REPO)["user-000001"].reset_reason == "again"


async def test_items_are_oldest_first_ties_by_creation(
    hub: FakeHub, api: Api, clock: ManualClock
) -> None:
    for name in ("carol", "alice", "bob", "dave"):
        hub.add_user(name)
    hub.ask_access(REPO, "carol")
    clock.advance(1)
    hub.ask_access(REPO, "alice")
    hub.ask_access(REPO, "bob")  # same millisecond as alice: creation order
    clock.advance(-5)  # a clock going back: dave is the oldest
    hub.ask_access(REPO, "dave")
    names = [item["user"]["user"] for item in (await api.get(f"{ACCESS}/pending")).body]
    assert names == ["dave", "carol", "alice", "bob"]


async def test_pagination_follows_link_over_three_pages(hub: FakeHub, api: Api) -> None:
    names = hub.seed_pending(REPO, 25)
    reply = await api.get(f"{ACCESS}/pending", params={"limit": "10", "q": "user-"})
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        seen += [item["user"]["user"] for item in reply.body]
        link = reply.headers.get("Link")
        if link is None:
            break
        assert link.endswith('>; rel="next"')
        url = reply.links["next"]
        assert str(url).startswith(f"{hub.url}{ACCESS}/pending?")
        assert "limit=10" in str(url)
        assert "q=user-" in str(url)
        assert "cursor=" in str(url)
        reply = await api.get(str(url), absolute=True)
    assert pages == 3
    assert seen == names
    assert [len(x) for x in (seen[:10], seen[10:20], seen[20:])] == [10, 10, 5]


async def test_full_last_page_has_no_next_link(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 20)
    first = await api.get(f"{ACCESS}/pending", params={"limit": "10"})
    second = await api.get(first.links["next"], absolute=True)
    assert len(second.body) == 10
    assert "Link" not in second.headers


async def test_cursor_survives_items_leaving_the_list(hub: FakeHub, api: Api) -> None:
    names = hub.seed_pending(REPO, 30)
    first = await api.get(f"{ACCESS}/pending", params={"limit": "10"})
    for name in names[:15]:  # accept the first page and half of the second
        await api.handle("accepted", user=name)
    second = await api.get(first.links["next"], absolute=True)
    assert [item["user"]["user"] for item in second.body] == names[15:25]


async def test_default_limit_is_1000(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 1001)
    reply = await api.get(f"{ACCESS}/pending")
    assert len(reply.body) == 1000
    assert 'rel="next"' in reply.headers["Link"]


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("9", "* Too small: expected number to be >=10 * at limit"),
        ("1001", "* Too big: expected number to be <=1000 * at limit"),
        ("abc", "* Invalid input: expected number, received NaN * at limit"),
    ],
)
async def test_limit_outside_10_to_1000_is_400(api: Api, limit: str, message: str) -> None:
    reply = await api.get(f"{ACCESS}/pending", params={"limit": limit})
    assert reply.status == 400
    assert reply.error == message
    assert reply.headers["X-Error-Message"] == message


@pytest.mark.parametrize("limit", ["10", "1000"])
async def test_limit_bounds_are_accepted(api: Api, limit: str) -> None:
    assert (await api.get(f"{ACCESS}/pending", params={"limit": limit})).status == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [("ALI", ["alice"]), ("smith", ["bob"]), ("acme.io", ["carol"]), ("zz", [])],
)
async def test_search_on_name_fullname_email(
    hub: FakeHub, api: Api, query: str, expected: list[str]
) -> None:
    hub.add_user("alice")
    hub.add_user("bob", fullname="Bob Smith")
    hub.add_user("carol", email="carol@ACME.io")
    for name in ("alice", "bob", "carol"):
        hub.ask_access(REPO, name)
    reply = await api.get(f"{ACCESS}/pending", params={"q": query})
    assert [item["user"]["user"] for item in reply.body] == expected


async def test_search_ignores_the_hidden_email_of_granted_users(hub: FakeHub, api: Api) -> None:
    hub.add_user("erin", email="erin@secret.io")
    await api.post(f"{ACCESS}/grant", json={"user": "erin"})
    assert (await api.get(f"{ACCESS}/accepted", params={"q": "secret"})).body == []


async def test_search_over_250_characters_is_400(api: Api) -> None:
    reply = await api.get(f"{ACCESS}/pending", params={"q": "x" * 251})
    assert reply.status == 400
    assert reply.error == "* Too big: expected string to have <=250 characters * at q"
    assert (await api.get(f"{ACCESS}/pending", params={"q": "x" * 250})).status == 200


async def test_after_and_before_filter_on_timestamp(
    hub: FakeHub, api: Api, clock: ManualClock
) -> None:
    for day in range(4):
        hub.add_user(f"d{day}")
        hub.ask_access(REPO, f"d{day}")
        clock.advance(86400)

    async def names(**params: str) -> list[str]:
        reply = await api.get(f"{ACCESS}/pending", params=params)
        assert reply.status == 200, reply
        return [item["user"]["user"] for item in reply.body]

    assert await names(after="2026-10-07T11:30:00.000Z") == ["d1", "d2", "d3"]  # inclusive
    assert await names(before="2026-10-08T11:30:00.000Z") == ["d0", "d1"]  # exclusive
    assert await names(after="2026-10-07", before="2026-10-09T00:00:00+00:00") == ["d1", "d2"]
    bad = await api.get(f"{ACCESS}/pending", params={"after": "yesterday"})
    assert bad.status == 400
    assert bad.error == "* Invalid input: expected ISO date-time * at after"


async def test_filters_carry_over_pages(hub: FakeHub, api: Api, clock: ManualClock) -> None:
    hub.seed_pending(REPO, 15, prefix="early")
    clock.advance(10)
    hub.seed_pending(REPO, 25, prefix="late")
    params = {"limit": "10", "after": "2026-10-06T11:30:05Z"}
    reply = await api.get(f"{ACCESS}/pending", params=params)
    seen = [item["user"]["user"] for item in reply.body]
    while "Link" in reply.headers:
        assert "after=" in reply.headers["Link"]
        reply = await api.get(reply.links["next"], absolute=True)
        seen += [item["user"]["user"] for item in reply.body]
    assert seen == [f"late-{i:06d}" for i in range(25)]


async def test_bad_cursor_is_400(api: Api) -> None:
    reply = await api.get(f"{ACCESS}/pending", params={"cursor": "!!"})
    assert reply.status == 400


async def test_hidden_requesters_have_no_user_object(hub: FakeHub, api: Api) -> None:
    hub.add_repo("owner/secret", hide_requesters=True)
    hub.seed_pending("owner/secret", 2)
    reply = await api.get("/api/models/owner/secret/user-access-request/pending")
    assert all("user" not in item for item in reply.body)
    request_id = reply.body[0]["requestId"]
    handled = await api.handle("accepted", repo="owner/secret", requestId=request_id)
    assert handled.status == 200
    assert hub.request_status("owner/secret", "user-000000") == "accepted"
    accepted = await api.get("/api/models/owner/secret/user-access-request/accepted")
    assert accepted.body[0]["requestId"] == request_id
    assert "user" not in accepted.body[0]


async def test_granted_user_has_no_email(hub: FakeHub, api: Api, clock: ManualClock) -> None:
    hub.add_user("gina")
    assert (await api.post(f"{ACCESS}/grant", json={"user": "gina"})).status == 200
    [item] = (await api.get(f"{ACCESS}/accepted")).body
    assert "email" not in item["user"]
    assert item["timestamp"] == item["reviewedAt"] == "2026-10-06T11:30:00.000Z"
    assert hub.snapshot(REPO)["gina"].email is None


@pytest.mark.parametrize(("repo_type", "segment"), [("dataset", "datasets"), ("space", "spaces")])
async def test_datasets_and_spaces_have_the_same_lists(
    hub: FakeHub, api: Api, repo_type: str, segment: str
) -> None:
    hub.add_repo("owner/thing", repo_type=repo_type)
    hub.seed_pending("owner/thing", 3, repo_type=repo_type)
    reply = await api.get(f"/api/{segment}/owner/thing/user-access-request/pending")
    assert len(reply.body) == 3
    models = await api.get("/api/models/owner/thing/user-access-request/pending")
    assert models.status == 404
    assert models.headers["X-Error-Code"] == "RepoNotFound"


async def test_not_gated_repo_still_lists_its_requests(hub: FakeHub, api: Api) -> None:
    hub.seed_pending(REPO, 2)
    assert (await api.put(f"/api/models/{REPO}/settings", json={"gated": False})).status == 200
    reply = await api.get(f"{ACCESS}/pending")
    assert reply.status == 200
    assert len(reply.body) == 2
