"""Whole flows against FakeGitLab over real HTTP (127.0.0.1)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from hf_access import (
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
    RepoNotFoundError,
    RequestNotFoundError,
)
from hf_access.gitlab import AccessLevel, GitLabSession
from hf_access.testing.gitlab import FakeGitLab

from ..conftest import VirtualTime
from ._support import make_session

# -- the wire as GitLab shows it -----------------------------------------------------------


async def test_pagination_headers(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.seed_requests("acme/app", 5)
    url = f"{fake_gitlab.url}/api/v4/projects/acme%2Fapp/access_requests"
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            url, params={"per_page": "2", "page": "2"}, headers={"PRIVATE-TOKEN": fake_gitlab.token}
        ) as resp,
    ):
        body = await resp.json()
        h = resp.headers
    assert [item["username"] for item in body] == ["user-000002", "user-000003"]
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
    assert (h["X-Page"], h["X-Per-Page"], h["X-Prev-Page"], h["X-Next-Page"]) == (
        "2",
        "2",
        "1",
        "3",
    )
    assert (h["X-Total"], h["X-Total-Pages"]) == ("5", "3")
    links = dict(
        (part.split(";")[1].strip(), part.split(";")[0].strip(" <>"))
        for part in h["Link"].split(",")
    )
    assert set(links) == {'rel="prev"', 'rel="next"', 'rel="first"', 'rel="last"'}
    assert links['rel="next"'].endswith("access_requests?per_page=2&page=3")
    assert "acme%2Fapp" in links['rel="last"']


async def test_totals_are_dropped_above_10000(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_group("big")
    fake_gitlab.seed_requests("big", 10_001, kind="group")
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{fake_gitlab.url}/api/v4/groups/big/access_requests?per_page=100",
            headers={"Authorization": f"Bearer {fake_gitlab.token}"},  # Bearer works too
        ) as resp,
    ):
        assert resp.status == 200
        assert "X-Total" not in resp.headers
        assert "X-Total-Pages" not in resp.headers
        assert resp.headers["X-Next-Page"] == "2"
        assert 'rel="last"' not in resp.headers["Link"]


async def test_unauthenticated_and_unknown_routes(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_project("acme/app")
    base = f"{fake_gitlab.url}/api/v4"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/projects/acme%2Fapp/access_requests") as resp:
            assert (resp.status, await resp.json()) == (401, {"message": "401 Unauthorized"})
        async with http.get(f"{base}/nope", headers={"PRIVATE-TOKEN": fake_gitlab.token}) as resp:
            assert resp.status == 404
        async with http.get(f"{base}/users", params={"username": "ROOT"}) as resp:
            assert [u["username"] for u in await resp.json()] == ["root"]


@pytest.mark.parametrize("how", ["json", "form", "query"])
async def test_approve_reads_access_level_from_query_json_or_form(
    fake_gitlab: FakeGitLab, how: str
) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_request("acme/app", "alice")
    uid = fake_gitlab.user("alice").id
    url = f"{fake_gitlab.url}/api/v4/projects/acme%2Fapp/access_requests/{uid}/approve"
    options: dict[str, dict[str, Any]] = {
        "json": {"json": {"access_level": 20}},
        "form": {"data": {"access_level": "20"}},
        "query": {"params": {"access_level": "20"}},
    }
    kwargs = options[how]
    headers = {"PRIVATE-TOKEN": fake_gitlab.token}
    async with aiohttp.ClientSession() as http, http.put(url, headers=headers, **kwargs) as resp:
        assert resp.status == 201
        assert (await resp.json())["access_level"] == 20
    assert fake_gitlab.state("acme/app").members == {"alice": 20}


# -- the session against the fake ----------------------------------------------------------


async def test_list_approve_deny_flow(fake_gitlab: FakeGitLab, client: GitLabSession) -> None:
    fake_gitlab.add_project("acme/tools/app")
    names = fake_gitlab.seed_requests("acme/tools/app", 230)
    pending = await client.list_requests("acme/tools/app")
    assert [r.username for r in pending] == names
    assert fake_gitlab.counters["list_requests"] == 3  # 100 per page
    assert all(r.requested_at is not None and r.requested_at.tzinfo for r in pending)

    approved = await client.approve(
        "acme/tools/app", pending[0], access_level=AccessLevel.MAINTAINER
    )
    assert approved.access_level is AccessLevel.MAINTAINER
    await client.deny("acme/tools/app", "user-000001")  # by name, from the cached list
    state = fake_gitlab.state("acme/tools/app")
    assert state.members == {"user-000000": 40}
    assert len(state.requests) == 228
    assert "user-000001" not in state.requests
    with pytest.raises(RequestNotFoundError):
        await client.deny("acme/tools/app", "user-000001")
    member = await client.get_member("acme/tools/app", "user-000000")
    assert member is not None
    assert member.username == "user-000000"


async def test_groups_and_inherited_membership(
    fake_gitlab: FakeGitLab, fake_time: VirtualTime
) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_request("acme", "bob", kind="group")
    fake_gitlab.add_token("glpat-mia", "mia")
    fake_gitlab.add_member("acme", "mia", 40, kind="group")  # maintainer of the parent group
    async with make_session(fake_gitlab.url, "glpat-mia", fake_time) as mia:
        [request] = await mia.list_requests("acme", kind="group")
        with pytest.raises(PermissionDeniedError):  # no granting above one's own role
            await mia.approve("acme", request, kind="group", access_level="owner")
        await mia.approve("acme", request, kind="group", access_level="reporter")
        fake_gitlab.add_request("acme/app", "carl")
        await mia.approve("acme/app", "carl")  # allowed through the group
        inherited = await mia.get_member("acme/app", "bob")
        direct = await mia.get_member("acme/app", "bob", inherited=False)
    assert inherited is not None
    assert inherited.access_level is AccessLevel.REPORTER
    assert direct is None
    assert fake_gitlab.state("acme", kind="group").members == {"mia": 40, "bob": 20}


async def test_permissions_and_tokens(fake_gitlab: FakeGitLab, fake_time: VirtualTime) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_project("acme/secret", private=True)
    fake_gitlab.seed_requests("acme/app", 1)
    fake_gitlab.add_token("glpat-dev", "dev", level=30)
    async with make_session(fake_gitlab.url, "glpat-dev", fake_time) as dev:
        with pytest.raises(PermissionDeniedError):
            await dev.list_requests("acme/app")
        with pytest.raises(PermissionDeniedError):  # members cannot ask for access
            await dev.request_access("acme/app")
    async with make_session(fake_gitlab.url, "glpat-wrong", fake_time) as wrong:
        with pytest.raises(AuthenticationError, match="401 Unauthorized"):
            await wrong.list_requests("acme/app")
    fake_gitlab.add_token("glpat-out", "outsider")
    async with make_session(fake_gitlab.url, "glpat-out", fake_time) as outsider:
        with pytest.raises(RepoNotFoundError, match="Project Not Found"):
            await outsider.request_access("acme/secret")
        mine = await outsider.request_access("acme/app")
        assert mine.username == "outsider"
        await outsider.deny("acme/app", mine)  # requesters may withdraw their own request
    assert "outsider" not in fake_gitlab.state("acme/app").requests


async def test_invalid_level_and_unknown_targets(
    fake_gitlab: FakeGitLab, client: GitLabSession
) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_request("acme/app", "eve")
    with pytest.raises(BadRequestError, match="access_level"):
        await client.approve("acme/app", "eve", access_level=AccessLevel.OWNER)  # not on projects
    with pytest.raises(RepoNotFoundError, match="Group Not Found"):
        await client.list_requests("nope", kind="group")
    with pytest.raises(RepoNotFoundError):
        await client.approve(999, 2)


async def test_old_servers_send_created_at_only(fake_time: VirtualTime) -> None:
    async with FakeGitLab(clock=fake_time.clock, old_server=True) as gl:
        gl.add_project("acme/app")
        gl.seed_requests("acme/app", 1)
        async with make_session(gl.url, gl.token, fake_time) as client:
            [request] = await client.list_requests("acme/app")
    assert request.requested_at is not None
    assert request.requested_at.timestamp() == pytest.approx(fake_time.now, abs=1)


async def test_faults_are_retried(fake_gitlab: FakeGitLab, client: GitLabSession) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_request("acme/app", "eve")
    fake_gitlab.fail_next("approve", 502, times=2)
    await client.approve("acme/app", "eve")
    assert fake_gitlab.counters["approve"] == 3
    assert fake_gitlab.statuses[502] == 2


async def test_rate_limits_pace_the_session(fake_time: VirtualTime) -> None:
    async with FakeGitLab(clock=fake_time.clock, quota=5, period=60) as gl:
        gl.add_project("acme/app")
        names = gl.seed_requests("acme/app", 12)
        async with make_session(gl.url, gl.token, fake_time) as client:
            for name in names:
                await client.approve("acme/app", name)
            assert client.limiter.quota == 5
        assert gl.state("acme/app").requests == ()
        # The limiter learnt the quota from the headers and waited for the windows to
        # reset instead of hammering: no 429 at all.
        assert gl.statuses[201] == 12
        assert gl.statuses[429] == 0
        assert fake_time.now - 1_700_000_000.0 >= 60  # waited (in fake time) for a window


async def test_429_retry_later_with_headers(fake_time: VirtualTime) -> None:
    async with FakeGitLab(clock=fake_time.clock, quota=1, period=60) as gl:
        gl.add_project("acme/app")
        async with aiohttp.ClientSession() as http:
            url = f"{gl.url}/api/v4/projects/acme%2Fapp/access_requests"
            headers = {"PRIVATE-TOKEN": gl.token}
            async with http.get(url, headers=headers) as ok:
                assert ok.headers["RateLimit-Remaining"] == "0"
            async with http.get(url, headers=headers) as resp:
                assert resp.status == 429
                assert await resp.text() == "Retry later\n"
                h = resp.headers
    assert h["RateLimit-Name"] == "throttle_authenticated_api"
    assert (h["RateLimit-Limit"], h["RateLimit-Observed"], h["RateLimit-Remaining"]) == (
        "1",
        "2",
        "0",
    )
    assert int(h["RateLimit-Reset"]) == 1_700_000_040  # the period ends on a multiple of 60
    assert h["Retry-After"] == "40"
    assert h["RateLimit-ResetTime"].endswith("GMT")


async def test_seeding_helpers() -> None:
    gl = FakeGitLab()
    project = gl.add_project("a/b/c")
    assert gl.state("a/b", kind="group").path == "a/b"
    assert gl.state(project.id).path == "a/b/c"
    assert gl.add_user("zed").username == "zed"
    with pytest.raises(ValueError, match="exists"):
        gl.add_user("ZED")
    with pytest.raises(ValueError, match="lives in a group"):
        gl.add_project("lonely")
    with pytest.raises(RuntimeError):
        _ = gl.url
    assert repr(gl) == "<FakeGitLab stopped>"


async def test_borrowed_client_session(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_project("acme/app")
    async with aiohttp.ClientSession() as http:
        async with GitLabSession(fake_gitlab.token, fake_gitlab.url, session=http) as gl:
            assert await gl.list_requests("acme/app") == []
        assert not http.closed


async def test_current_user_is_the_tokens_own(
    fake_gitlab: FakeGitLab, fake_time: VirtualTime
) -> None:
    fake_gitlab.add_token("glpat-dev", "dev", level=30)
    async with make_session(fake_gitlab.url, "glpat-dev", fake_time) as dev:
        me = await dev.current_user()
    assert (me.username, me.id) == ("dev", fake_gitlab.user("dev").id)
    async with make_session(fake_gitlab.url, "glpat-wrong", fake_time) as wrong:
        with pytest.raises(AuthenticationError):
            await wrong.current_user()
