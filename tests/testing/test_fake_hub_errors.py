"""The Hub's error answers (FIDELITY.md), row by row, on every owner route and repo type."""

from __future__ import annotations

from typing import Any

import pytest

from hf_access.testing import FakeHub

from ._helpers import REPO, Api

READ_ONLY = "You have read access but not the required permissions for this operation"


def owner_routes(repo: str, segment: str = "models") -> list[tuple[str, str, Any]]:
    """(method, path, JSON body) of every owner call on ``repo``."""
    access = f"/api/{segment}/{repo}/user-access-request"
    report = f"/{repo}" if segment == "models" else f"/{segment}/{repo}"
    return [
        ("GET", f"{access}/pending", None),
        ("GET", f"{access}/accepted", None),
        ("GET", f"{access}/rejected", None),
        ("GET", f"{access}/reset", None),
        ("POST", f"{access}/handle", {"user": "user-000000", "status": "accepted"}),
        ("POST", f"{access}/grant", {"user": "user-000000"}),
        ("POST", f"{access}/batch", {"status": "accepted", "requests": [{"user": "user-000000"}]}),
        ("GET", f"{report}/user-access-report", None),
        ("PUT", f"/api/{segment}/{repo}/settings", {"gated": "auto"}),
    ]


ROUTES = owner_routes(REPO)
IDS = [f"{method} {path.rsplit('/', 1)[-1]}" for method, path, _ in ROUTES]


@pytest.fixture
def seeded(hub: FakeHub) -> FakeHub:
    hub.seed_pending(REPO, 1)
    hub.add_user("reader")
    hub.add_token("hf_read", user="reader", role="read")
    hub.add_user("other")
    hub.add_token("hf_other_ns", user="other", role="write", namespaces=["acme"])
    return hub


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=IDS)
@pytest.mark.parametrize("token", [None, "hf_wrong"])
async def test_missing_or_bad_token_is_401_before_anything(
    seeded: FakeHub, api: Api, method: str, path: str, body: Any, token: str | None
) -> None:
    reply = await api.call(method, path, token=token, json=body)
    assert reply.status == 401
    assert reply.body == {"error": "Invalid username or password."}
    assert reply.headers["X-Error-Message"] == "Invalid username or password."
    # 401 even on a repo that does not exist: checked before anything else.
    missing = path.replace("gated-model", "missing")
    assert (await api.call(method, missing, token=token, json=body)).status == 401
    assert seeded.request_status(REPO, "user-000000") == "pending"


async def test_authorization_must_be_bearer(seeded: FakeHub, api: Api) -> None:
    async with api.session.get(
        f"{seeded.url}/api/models/{REPO}/user-access-request/pending",
        headers={"Authorization": f"Basic {seeded.token}"},
    ) as response:
        assert response.status == 401


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=IDS)
async def test_read_token_is_403(
    seeded: FakeHub, api: Api, method: str, path: str, body: Any
) -> None:
    reply = await api.call(method, path, token="hf_read", json=body)
    assert (reply.status, reply.error) == (403, READ_ONLY)
    assert reply.headers["X-Error-Message"] == READ_ONLY
    assert seeded.request_status(REPO, "user-000000") == "pending"


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=IDS)
async def test_write_token_of_another_namespace_is_403(
    seeded: FakeHub, api: Api, method: str, path: str, body: Any
) -> None:
    assert (await api.call(method, path, token="hf_other_ns", json=body)).status == 403


async def test_namespaced_write_token_manages_its_namespace(seeded: FakeHub, api: Api) -> None:
    seeded.add_repo("acme/model")
    reply = await api.get("/api/models/acme/model/user-access-request/pending", token="hf_other_ns")
    assert reply.status == 200


@pytest.mark.parametrize("segment", ["models", "datasets", "spaces"])
async def test_unknown_repo_is_404_repo_not_found(seeded: FakeHub, api: Api, segment: str) -> None:
    routes = [*owner_routes("acme/missing", segment), ("GET", f"/api/{segment}/acme/missing", None)]
    for method, path, body in routes:
        reply = await api.call(method, path, json=body)
        assert reply.status == 404, path
        assert reply.headers["X-Error-Code"] == "RepoNotFound", path
        assert reply.error == reply.headers["X-Error-Message"]


async def test_unknown_repo_on_requester_routes(seeded: FakeHub, api: Api) -> None:
    for path in (
        "/acme/missing/ask-access",
        "/datasets/acme/missing/ask-access",
        "/api/models/acme/missing/user-access-request/cancel",
    ):
        reply = await api.post(path, token="hf_read")
        assert reply.status == 404
        assert reply.headers["X-Error-Code"] == "RepoNotFound"


async def test_every_answer_has_a_request_id(seeded: FakeHub, api: Api) -> None:
    ids = set()
    for method, path, body in [*ROUTES, ("GET", "/no/such/route/at/all", None)]:
        for token in ("owner", None):
            reply = await api.call(method, path, token=token, json=body)
            ids.add(reply.headers["X-Request-Id"])
    assert len(ids) == 2 * (len(ROUTES) + 1)


async def test_unknown_route_and_method(seeded: FakeHub, api: Api) -> None:
    missing = await api.get("/api/models/owner/gated-model/user-access-request/everything")
    assert missing.status == 404
    assert "X-Error-Code" not in missing.headers
    wrong_method = await api.call("DELETE", f"/api/models/{REPO}/user-access-request/handle")
    assert wrong_method.status == 405
    assert wrong_method.headers["X-Error-Message"]
    assert seeded.counters.calls["unknown"] == 2


async def test_body_must_be_a_json_object(seeded: FakeHub, api: Api) -> None:
    reply = await api.post(f"/api/models/{REPO}/user-access-request/handle", json=["user"])
    assert reply.status == 400


async def test_write_rights_follow_the_tokens_user(seeded: FakeHub, api: Api) -> None:
    # A write token without namespaces has its user's rights: their own namespace and the
    # organisations where they are admin or write; nothing else (not the owner's repos).
    hub = seeded
    for name in ("ann", "carl", "rita"):
        hub.add_user(name)
        hub.add_token(f"hf_{name}", user=name, role="write")
    hub.add_org("org", {"ann": "write", "carl": "contributor", "rita": "read"})
    for repo in ("org/model", "ann/model"):
        hub.add_repo(repo)
        hub.seed_pending(repo, 1)
    body = {"user": "user-000000", "status": "accepted"}

    async def handle(repo: str, token: str) -> int:
        path = f"/api/models/{repo}/user-access-request/handle"
        return (await api.call("POST", path, token=token, json=body)).status

    assert await handle("org/model", "hf_carl") == 403
    assert await handle("org/model", "hf_rita") == 403
    assert await handle("ann/model", "hf_carl") == 403
    assert await handle(REPO, "hf_ann") == 403
    assert await handle("org/model", "hf_ann") == 200
    assert await handle("ann/model", "hf_ann") == 200
    assert hub.request_status(REPO, "user-000000") == "pending"


async def test_private_repos_are_not_found_by_who_cannot_read_them(
    seeded: FakeHub, api: Api
) -> None:
    hub = seeded
    hub.add_repo("acme/secret")
    hub.set_private("acme/secret")
    info = "/api/models/acme/secret"
    assert (await api.get(info)).status == 200  # the owner reads everything
    for token in (None, "hf_read"):
        reply = await api.get(info, token=token)
        assert (reply.status, reply.headers["X-Error-Code"]) == (404, "RepoNotFound")
    assert (await api.get(info, token="hf_other_ns")).status == 200  # a token for acme/...
    hub.set_private("acme/secret", False)
    assert (await api.get(info, token=None)).status == 200
