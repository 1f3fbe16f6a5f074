"""Conformance of the fake GitLab: one test per recorded fact of GitLab's access-request API.

Facts come from GitLab's REST documentation and python-gitlab (the design notes on
GitLab's API); each test names the fact it checks and checks it over HTTP with a plain
aiohttp client (and, for the wrong-method case, with python-gitlab itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest

from hf_access.testing import ManualClock
from hf_access.testing.gitlab import FakeGitLab

API = "/api/v4"


class GitLabApi:
    """A plain aiohttp client for the fake GitLab."""

    def __init__(self, session: aiohttp.ClientSession, server: FakeGitLab) -> None:
        self.session = session
        self.server = server

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "root",
        bearer: bool = False,
        **options: Any,
    ) -> tuple[int, Any, Any]:
        """``(status, headers, decoded body)``."""
        headers = {}
        if token == "root":
            token = self.server.token
        if token is not None:
            headers = {"Authorization": f"Bearer {token}"} if bearer else {"PRIVATE-TOKEN": token}
        url = path if path.startswith("http") else f"{self.server.url}{API}{path}"
        async with self.session.request(method, url, headers=headers, **options) as response:
            raw = await response.read()
            body: Any = raw.decode()
            if response.content_type == "application/json":
                body = await response.json()
            return response.status, response.headers.copy(), body


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def gl(clock: ManualClock) -> AsyncIterator[GitLabApi]:
    async with FakeGitLab(clock=clock) as server, aiohttp.ClientSession() as session:
        server.add_project("acme/app")
        yield GitLabApi(session, server)


def kinds() -> list[tuple[str, str]]:
    return [("projects", "acme%2Fapp"), ("groups", "acme")]


# -- Calls -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "target"), kinds())
async def test_list_projects_and_groups_with_the_documented_item(
    gl: GitLabApi, kind: str, target: str
) -> None:
    """list: `GET /projects/:id/access_requests`, `GET /groups/:id/access_requests`; items
    `{id, username, name, state, locked, avatar_url, web_url, requested_at}`."""
    gl.server.seed_requests(target.replace("%2F", "/"), 2, kind=kind[:-1])
    status, _, body = await gl.call("GET", f"/{kind}/{target}/access_requests")
    assert status == 200
    assert [item["username"] for item in body] == ["user-000000", "user-000001"]
    assert set(body[0]) >= {
        "id",
        "username",
        "name",
        "state",
        "locked",
        "avatar_url",
        "web_url",
        "requested_at",
    }


async def test_list_older_servers_send_created_at() -> None:
    """list: older servers send `created_at` instead of `requested_at`."""
    async with FakeGitLab(old_server=True) as server, aiohttp.ClientSession() as session:
        server.add_project("acme/app")
        server.seed_requests("acme/app", 1)
        _, _, [item] = await GitLabApi(session, server).call("GET", "/projects/1/access_requests")
        assert "created_at" in item
        assert "requested_at" not in item


@pytest.mark.parametrize(("kind", "target"), kinds())
async def test_request_access_returns_the_requester_entry(
    gl: GitLabApi, kind: str, target: str
) -> None:
    """request access (as the caller): `POST` on the list paths returns the requester
    entry."""
    gl.server.add_token("glpat-eve", "eve")
    status, _, body = await gl.call("POST", f"/{kind}/{target}/access_requests", token="glpat-eve")
    assert status == 201
    assert body["username"] == "eve"
    assert gl.server.state(target.replace("%2F", "/"), kind=kind[:-1]).requests == ("eve",)


@pytest.mark.parametrize("how", ["query", "json", "none"])
async def test_approve_answers_201_with_the_new_member(gl: GitLabApi, how: str) -> None:
    """approve: `PUT /projects/:id/access_requests/:user_id/approve?access_level=N` (or JSON
    body); default level 30; answers `201` with the new member `{id, username, name, state,
    access_level, ...}`."""
    gl.server.add_request("acme/app", "alice")
    uid = gl.server.user("alice").id
    options: dict[str, Any] = {
        "query": {"params": {"access_level": "20"}},
        "json": {"json": {"access_level": 20}},
        "none": {},
    }[how]
    status, _, body = await gl.call(
        "PUT", f"/projects/acme%2Fapp/access_requests/{uid}/approve", **options
    )
    level = 30 if how == "none" else 20
    assert status == 201
    assert {key: body[key] for key in ("id", "username", "access_level")} == {
        "id": uid,
        "username": "alice",
        "access_level": level,
    }
    assert {"name", "state"} <= set(body)
    assert gl.server.state("acme/app").members == {"alice": level}


async def test_deny_answers_204_and_404_for_an_unknown_request(gl: GitLabApi) -> None:
    """deny: `DELETE /projects/:id/access_requests/:user_id`: `204`; unknown request ->
    `404`."""
    gl.server.add_request("acme/app", "alice")
    uid = gl.server.user("alice").id
    path = f"/projects/acme%2Fapp/access_requests/{uid}"
    status, _, body = await gl.call("DELETE", path)
    assert (status, body) == (204, "")
    status, _, body = await gl.call("DELETE", path)
    assert status == 404
    assert "message" in body


async def test_id_is_numeric_or_the_url_encoded_path(gl: GitLabApi) -> None:
    """`:id` is a numeric id or the URL-encoded path (`group%2Fproject`)."""
    gl.server.seed_requests("acme/app", 1)
    by_id = await gl.call("GET", "/projects/1/access_requests")
    by_path = await gl.call("GET", "/projects/acme%2Fapp/access_requests")
    assert by_id[0] == by_path[0] == 200
    assert by_id[2] == by_path[2]


async def test_access_levels_and_owner_only_for_groups(gl: GitLabApi) -> None:
    """Access levels: 0, 5, 10, 15, 20, 30, 40, 50; owner (50) only valid for groups on
    older servers (refused on projects here)."""
    gl.server.add_request("acme/app", "alice")
    gl.server.add_request("acme", "bob", kind="group")
    alice, bob = gl.server.user("alice").id, gl.server.user("bob").id
    status, _, _ = await gl.call(
        "PUT", f"/projects/1/access_requests/{alice}/approve", params={"access_level": "50"}
    )
    assert status == 400
    status, _, body = await gl.call(
        "PUT", f"/groups/acme/access_requests/{bob}/approve", params={"access_level": "50"}
    )
    assert (status, body["access_level"]) == (201, 50)


# -- Auth and errors -------------------------------------------------------------------------


async def test_auth_private_token_or_bearer(gl: GitLabApi) -> None:
    """Auth: `PRIVATE-TOKEN: <token>` or `Authorization: Bearer <token>`."""
    assert (await gl.call("GET", "/projects/1/access_requests"))[0] == 200
    assert (await gl.call("GET", "/projects/1/access_requests", bearer=True))[0] == 200


async def test_auth_no_token_is_401_unauthorized(gl: GitLabApi) -> None:
    """Auth: no token -> `401 {"message": "401 Unauthorized"}`."""
    status, _, body = await gl.call("GET", "/projects/1/access_requests", token=None)
    assert (status, body) == (401, {"message": "401 Unauthorized"})


async def test_auth_no_permission_is_403(gl: GitLabApi) -> None:
    """Auth: no permission -> `403`; errors carry `{"message": ...}` or `{"error": ...}`."""
    gl.server.add_token("glpat-dev", "dev", level=30)
    status, _, body = await gl.call("GET", "/projects/1/access_requests", token="glpat-dev")
    assert status == 403
    assert set(body) & {"message", "error"}


# -- Pagination ------------------------------------------------------------------------------


async def test_pagination_page_and_per_page_with_every_header(gl: GitLabApi) -> None:
    """Pagination: offset `page` (1..) and `per_page` (default 20, max 100); headers `Link`
    (next/prev/first/last), `X-Next-Page`, `X-Page`, `X-Per-Page`, `X-Prev-Page`, `X-Total`,
    `X-Total-Pages`."""
    gl.server.seed_requests("acme/app", 130)
    path = "/projects/1/access_requests"
    _, headers, body = await gl.call("GET", path)
    assert (len(body), headers["X-Per-Page"], headers["X-Page"]) == (20, "20", "1")
    _, headers, body = await gl.call("GET", path, params={"per_page": "500", "page": "2"})
    assert (len(body), headers["X-Per-Page"]) == (30, "100")
    assert (headers["X-Prev-Page"], headers["X-Next-Page"]) == ("1", "")
    assert (headers["X-Total"], headers["X-Total-Pages"]) == ("130", "2")
    rels = {part.split("rel=")[1].strip('"') for part in headers["Link"].split(",")}
    assert rels == {"prev", "first", "last"}


async def test_pagination_totals_dropped_above_10000_rows(gl: GitLabApi) -> None:
    """Pagination: totals dropped above 10,000 rows."""
    gl.server.seed_requests("acme", 10_001, kind="group")
    _, headers, _ = await gl.call("GET", "/groups/acme/access_requests", params={"per_page": "100"})
    assert "X-Total" not in headers
    assert "X-Total-Pages" not in headers
    assert 'rel="last"' not in headers["Link"]
    assert headers["X-Next-Page"] == "2"


# -- Rate limits -----------------------------------------------------------------------------


async def test_rate_limit_429_retry_later_with_headers(clock: ManualClock) -> None:
    """Rate limits: `429` with body `Retry later`; headers `RateLimit-Limit`,
    `RateLimit-Name`, `RateLimit-Observed`, `RateLimit-Remaining`, `RateLimit-Reset` (Unix
    time), `RateLimit-ResetTime` (HTTP date), `Retry-After` (seconds)."""
    clock.advance(15)
    async with FakeGitLab(clock=clock, quota=2) as server, aiohttp.ClientSession() as session:
        server.add_project("acme/app")
        gl = GitLabApi(session, server)
        for _ in range(2):
            assert (await gl.call("GET", "/projects/1/access_requests"))[0] == 200
        status, headers, body = await gl.call("GET", "/projects/1/access_requests")
    assert (status, body) == (429, "Retry later\n")
    reset = int(headers["RateLimit-Reset"])
    assert reset == int(clock()) + 45
    assert parsedate_to_datetime(headers["RateLimit-ResetTime"]).timestamp() == reset
    assert headers["Retry-After"] == "45"
    assert headers["RateLimit-Remaining"] == "0"
    assert {"RateLimit-Limit", "RateLimit-Name", "RateLimit-Observed"} <= set(headers)


async def test_rate_limit_headers_can_be_missing(gl: GitLabApi) -> None:
    """Rate limits: the headers can be missing (no limit configured)."""
    _, headers, _ = await gl.call("GET", "/projects/1/access_requests")
    assert not [name for name in headers if name.lower().startswith("ratelimit")]


# -- Wrong methods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/projects/1/access_requests/2/approve"),
        ("GET", "/projects/1/access_requests/2/approve"),
        ("GET", "/projects/1/access_requests/2"),
        ("DELETE", "/groups/acme/access_requests"),
    ],
)
async def test_wrong_method_on_an_action_route_is_405(
    gl: GitLabApi, method: str, path: str
) -> None:
    """A wrong method on an access-request route is `405`, not `404` (recorded with
    python-gitlab against GitLab)."""
    status, headers, body = await gl.call(method, path)
    assert status == 405
    assert body == {"error": "405 Not Allowed"}
    assert method not in headers["Allow"]


async def test_wrong_method_seen_by_python_gitlab(gl: GitLabApi) -> None:
    """python-gitlab's wrong-method case: a `POST` on the approve route raises its HTTP error
    with code 405."""
    gitlab = pytest.importorskip("gitlab")
    gl.server.add_request("acme/app", "alice")
    uid = gl.server.user("alice").id

    def run() -> int:
        client = gitlab.Gitlab(gl.server.url, private_token=gl.server.token)
        with pytest.raises(gitlab.GitlabHttpError) as refused:
            client.http_post(f"/projects/1/access_requests/{uid}/approve")
        return int(refused.value.response_code)

    assert await asyncio.to_thread(run) == 405
    assert gl.server.state("acme/app").requests == ("alice",)
