"""whoami-v2 and the repo listings of a namespace: shapes, paging, private repos, seeding."""

from __future__ import annotations

import aiohttp
import pytest

from hf_access.testing import FakeHub, FakeHubError

from ._helpers import REPO, Api


async def test_whoami_names_the_user_its_orgs_and_the_token_role(hub: FakeHub, api: Api) -> None:
    hub.add_user("alice", fullname="Alice A")
    hub.add_org("acme", {"alice": "admin", "owner": "read"})
    hub.add_org("labs", {"alice": "contributor"})
    hub.add_org("other", {"owner": "write"})
    hub.add_token("hf_alice_secret", user="alice", role="write")
    reply = await api.get("/api/whoami-v2", token="hf_alice_secret")
    assert reply.status == 200
    body = reply.body
    assert body["type"] == "user"
    assert body["name"] == "alice"
    assert body["fullname"] == "Alice A"
    assert [(o["name"], o["roleInOrg"]) for o in body["orgs"]] == [
        ("acme", "admin"),
        ("labs", "contributor"),
    ]
    assert body["auth"] == {
        "type": "access_token",
        "accessToken": {"displayName": "fake token", "role": "write"},
    }
    assert "hf_alice_secret" not in str(body)
    assert hub.counters.calls["whoami"] == 1


async def test_whoami_of_a_namespaced_token_is_fine_grained(hub: FakeHub, api: Api) -> None:
    hub.add_token("hf_scoped", user="owner", role="write", namespaces=["acme"])
    body = (await api.get("/api/whoami-v2", token="hf_scoped")).body
    access = body["auth"]["accessToken"]
    assert access["role"] == "fineGrained"
    assert [s["entity"]["name"] for s in access["fineGrained"]["scoped"]] == ["acme"]


async def test_whoami_without_a_valid_token_is_401(api: Api) -> None:
    assert (await api.get("/api/whoami-v2", token=None)).status == 401
    assert (await api.get("/api/whoami-v2", token="hf_nope")).status == 401


async def test_listing_gives_the_gating_of_each_repo_of_the_author(hub: FakeHub, api: Api) -> None:
    hub.seed_repos("acme", ["manual", "auto", False])
    hub.add_repo("acme/data", repo_type="dataset", gated="auto")
    hub.add_repo("else/model")
    reply = await api.get("/api/models", params={"author": "acme", "expand[]": "gated"})
    assert reply.status == 200
    assert [(r["id"], r["gated"], r["private"]) for r in reply.body] == [
        ("acme/repo-000", "manual", False),
        ("acme/repo-001", "auto", False),
        ("acme/repo-002", False, False),
    ]
    assert all(len(r["_id"]) == 24 for r in reply.body)
    datasets = await api.get("/api/datasets", params={"author": "acme", "expand[]": "gated"})
    assert [(r["id"], r["gated"]) for r in datasets.body] == [("acme/data", "auto")]
    assert (await api.get("/api/spaces", params={"author": "acme"})).body == []
    everyone = await api.get("/api/models", params={"expand[]": "gated"})
    assert {r["id"] for r in everyone.body} == {
        REPO,
        "acme/repo-000",
        "acme/repo-001",
        "acme/repo-002",
        "else/model",
    }
    assert hub.counters.calls["list_repos"] == 4


async def test_listing_pages_with_link_next(hub: FakeHub, api: Api) -> None:
    created = hub.seed_repos("acme", ["manual"] * 25)
    seen: list[str] = []
    reply = await api.get("/api/models", params={"author": "acme", "limit": "10"})
    pages = 1
    seen += [r["id"] for r in reply.body]
    while "next" in reply.links:
        assert len(reply.body) == 10
        reply = await api.get(reply.links["next"], absolute=True)
        seen += [r["id"] for r in reply.body]
        pages += 1
    assert (pages, seen) == (3, created)


@pytest.mark.parametrize(("limit", "word"), [("9", "small"), ("1001", "big"), ("x", "NaN")])
async def test_listing_checks_its_limit(api: Api, limit: str, word: str) -> None:
    reply = await api.get("/api/models", params={"author": "acme", "limit": limit})
    assert reply.status == 400
    assert word.lower() in reply.error.lower()


async def test_private_repos_are_listed_only_to_who_can_read_them(hub: FakeHub, api: Api) -> None:
    hub.add_user("alice")
    hub.add_user("bob")
    hub.add_org("acme", {"alice": "read"})
    hub.add_token("hf_alice", user="alice", role="read")
    hub.add_token("hf_bob", user="bob", role="write", namespaces=["bob"])
    hub.seed_repos("acme", ["manual", "auto"])
    hub.set_private("acme/repo-001")

    async def ids(token: str) -> list[tuple[str, bool]]:
        reply = await api.get("/api/models", params={"author": "acme"}, token=token)
        return [(r["id"], r["private"]) for r in reply.body]

    assert await ids("owner") == [("acme/repo-000", False), ("acme/repo-001", True)]
    assert await ids("hf_alice") == [("acme/repo-000", False), ("acme/repo-001", True)]
    assert await ids("hf_bob") == [("acme/repo-000", False)]
    hub.set_private("acme/repo-001", False)
    assert await ids("hf_bob") == [("acme/repo-000", False), ("acme/repo-001", False)]


async def test_seed_request_stores_times_and_status(hub: FakeHub) -> None:
    hub.seed_request(REPO, "ann", requested_at=1_791_000_000)
    hub.seed_request(
        REPO, "ben", status="rejected", requested_at=1_791_000_000, decided_at=1_791_000_060
    )
    ann, ben = hub.snapshot_of(REPO, "ann"), hub.snapshot_of(REPO, "ben")
    assert ann is not None
    assert ben is not None
    assert (ann.status, ann.timestamp, ann.reviewed_at) == (
        "pending",
        "2026-10-03T04:00:00.000Z",
        None,
    )
    assert (ben.status, ben.reviewed_at) == ("rejected", "2026-10-03T04:01:00.000Z")
    with pytest.raises(ValueError, match="already has a request"):
        hub.seed_request(REPO, "ann", requested_at=1_791_000_000)
    with pytest.raises(ValueError, match="decided_at"):
        hub.seed_request(REPO, "cid", status="accepted", requested_at=1_791_000_000)


def test_seeding_checks_its_arguments() -> None:
    hub = FakeHub()
    with pytest.raises(ValueError, match="role"):
        hub.add_org("acme", {"owner": "boss"})
    with pytest.raises(FakeHubError):
        hub.add_org("acme", {"nobody": "admin"})
    hub.add_org("acme")
    with pytest.raises(ValueError, match="already exists"):
        hub.add_org("acme")
    with pytest.raises(ValueError, match="repo_type"):
        hub.seed_repos("acme", ["manual"], repo_type="kernel")


async def test_anonymous_listing_shows_public_repos_only() -> None:
    async with FakeHub() as hub, aiohttp.ClientSession() as session:
        hub.seed_repos("acme", ["manual", False])
        hub.set_private("acme/repo-001")
        url = f"{hub.url}/api/models?author=acme&expand[]=gated"
        async with session.get(url) as response:
            assert response.status == 200
            assert [item["id"] for item in await response.json()] == ["acme/repo-000"]
        async with session.get(url, headers={"Authorization": "Bearer nope"}) as response:
            assert response.status == 401
