"""GitLabSession against recorded answers (aioresponses): every call and every error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aioresponses import aioresponses

from hf_access import (
    ConfigurationError,
    HfAccessWarning,
    RepoNotFoundError,
    SessionClosedError,
    UnsafeLinkError,
    UserNotFoundError,
)
from hf_access.gitlab import AccessLevel, GitLabSession
from hf_access.testing.gitlab import FakeGitLab

from ..conftest import VirtualTime
from ._recorded import API, HOST, PROJECT, TOKEN, member, requester, sent, total_requests
from ._support import make_session

# -- lists ---------------------------------------------------------------------------------


async def test_list_follows_link_pages_and_sends_private_token(
    gl: GitLabSession, mocked: aioresponses
) -> None:
    page2 = f"{PROJECT}/access_requests?page=2&per_page=100"
    mocked.get(
        f"{PROJECT}/access_requests?per_page=100",
        payload=[requester(n) for n in range(1, 101)],
        headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"', "X-Next-Page": "2"},
    )
    mocked.get(page2, payload=[requester(101)], headers={"X-Next-Page": ""})
    items = await gl.list_requests("acme/app")
    assert [i.id for i in items] == list(range(1, 102))
    first = sent(mocked, "GET", f"{PROJECT}/access_requests?per_page=100")[0]
    headers = first.kwargs["headers"]
    assert headers["PRIVATE-TOKEN"] == TOKEN
    assert "Authorization" not in headers
    assert headers["User-Agent"].startswith("hf-access/")
    assert gl.calls == 2


async def test_list_follows_x_next_page_without_link(
    gl: GitLabSession, mocked: aioresponses
) -> None:
    base = f"{API}/groups/7/access_requests"
    mocked.get(
        f"{base}?per_page=2",
        payload=[requester(1), requester(2)],
        headers={"X-Next-Page": "2", "X-Page": "1"},
    )
    mocked.get(f"{base}?per_page=2&page=2", payload=[requester(3)], headers={"X-Next-Page": ""})
    items = await gl.list_requests(7, kind="group", page_size=2)
    assert [i.username for i in items] == ["user1", "user2", "user3"]


async def test_iteration_is_lazy(gl: GitLabSession, mocked: aioresponses) -> None:
    page2 = f"{PROJECT}/access_requests?page=2"
    mocked.get(
        f"{PROJECT}/access_requests?per_page=1",
        payload=[requester(1)],
        headers={"Link": f'<{page2}>; rel="next"'},
    )
    async for item in gl.iter_requests("acme/app", page_size=1):
        assert item.id == 1
        break
    assert total_requests(mocked) == 1


async def test_full_page_without_pagination_headers_warns(
    gl: GitLabSession, mocked: aioresponses
) -> None:
    mocked.get(f"{PROJECT}/access_requests?per_page=2", payload=[requester(1), requester(2)])
    with pytest.warns(HfAccessWarning, match="cut short"):
        await gl.list_requests("acme/app", page_size=2)


async def test_next_link_to_another_origin_is_refused(
    gl: GitLabSession, mocked: aioresponses
) -> None:
    mocked.get(
        f"{PROJECT}/access_requests?per_page=100",
        payload=[requester(1)],
        headers={"Link": '<https://evil.example/api/v4/x?page=2>; rel="next"'},
    )
    with pytest.raises(UnsafeLinkError):
        await gl.list_requests("acme/app")


# -- decisions -----------------------------------------------------------------------------


async def test_request_access_posts_as_the_caller(gl: GitLabSession, mocked: aioresponses) -> None:
    answer = requester(5)
    del answer["requested_at"]
    answer["created_at"] = "2012-10-22T14:13:35Z"  # an older server
    mocked.post(f"{PROJECT}/access_requests", payload=answer, status=201)
    request = await gl.request_access("acme/app")
    assert request.id == 5
    assert request.requested_at is not None
    assert request.requested_at.year == 2012


async def test_approve_sends_access_level_and_returns_the_member(
    gl: GitLabSession, mocked: aioresponses
) -> None:
    url = f"{PROJECT}/access_requests/5/approve?access_level=20"
    mocked.put(url, payload=member(5, 20), status=201)
    result = await gl.approve("acme/app", 5, access_level="reporter")
    assert result.access_level is AccessLevel.REPORTER
    assert result.id == 5
    assert len(sent(mocked, "PUT", url)) == 1


async def test_approve_default_is_developer_and_names_resolve_by_users(
    gl: GitLabSession, mocked: aioresponses
) -> None:
    mocked.get(f"{API}/users?username=alice", payload=[requester(8, "alice")])
    mocked.put(
        f"{API}/groups/acme/access_requests/8/approve?access_level=30",
        payload=member(8),
        status=201,
    )
    await gl.approve("acme", "alice", kind="group")
    # the id is remembered: no second look-up
    mocked.delete(f"{API}/groups/acme/access_requests/8", status=204)
    await gl.deny("acme", "Alice", kind="group")
    assert len(sent(mocked, "GET", f"{API}/users?username=alice")) == 1


async def test_names_resolve_from_the_cached_request_list(
    gl: GitLabSession, mocked: aioresponses
) -> None:
    mocked.get(f"{PROJECT}/access_requests?per_page=100", payload=[requester(4, "dora")])
    await gl.load_requesters("acme/app")
    await gl.load_requesters("acme/app")  # cached: one list call
    mocked.delete(f"{PROJECT}/access_requests/4", status=204)
    await gl.deny("acme/app", "dora")
    assert total_requests(mocked) == 2


async def test_unknown_user_name(gl: GitLabSession, mocked: aioresponses) -> None:
    mocked.get(f"{API}/users?username=ghost", payload=[])
    with pytest.raises(UserNotFoundError, match="ghost"):
        await gl.approve("acme/app", "ghost")


async def test_deny_is_a_delete(gl: GitLabSession, mocked: aioresponses) -> None:
    mocked.delete(f"{API}/projects/12/access_requests/5", status=204)
    await gl.deny(12, 5)
    assert len(sent(mocked, "DELETE", f"{API}/projects/12/access_requests/5")) == 1


async def test_get_member(gl: GitLabSession, mocked: aioresponses) -> None:
    mocked.get(f"{PROJECT}/members/all/5", payload=member(5, 40))
    mocked.get(f"{PROJECT}/members/6", status=404, payload={"message": "404 Not found"})
    mocked.get(
        f"{API}/projects/gone%2Fapp/members/all/5",
        status=404,
        payload={"message": "404 Project Not Found"},
    )
    found = await gl.get_member("acme/app", 5)
    assert found is not None
    assert found.access_level is AccessLevel.MAINTAINER
    assert await gl.get_member("acme/app", 6, inherited=False) is None
    with pytest.raises(RepoNotFoundError):
        await gl.get_member("gone/app", 5)


# -- validation, configuration, lifecycle ---------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda gl: gl.approve("acme/app", 0),
        lambda gl: gl.approve("acme/app", True),
        lambda gl: gl.approve("acme/app", 5, access_level=33),
        lambda gl: gl.approve("acme/app", 5, access_level="boss"),
        lambda gl: gl.approve("acme//app", 5),
        lambda gl: gl.deny("-acme/app", 5),
        lambda gl: gl.deny("acme/app", "bad name"),
        lambda gl: gl.deny("acme/app", 5, kind="namespace"),
        lambda gl: gl.request_access(0),
        lambda gl: gl.list_requests("acme/app", per_page=101),
        lambda gl: gl.get_member("acme/app", -1),
        lambda gl: gl.find_user("no spaces"),
    ],
)
@pytest.mark.filterwarnings("ignore:per_page is deprecated:DeprecationWarning")
async def test_caller_mistakes_raise_before_any_request(
    gl: GitLabSession, mocked: aioresponses, call: Any
) -> None:
    with pytest.raises(ValueError, match=r"invalid|unknown|per_page"):
        await call(gl)
    assert total_requests(mocked) == 0


@pytest.mark.filterwarnings("ignore:per_page is deprecated:DeprecationWarning")
def test_iter_requests_checks_arguments_at_once(fake_time: VirtualTime) -> None:
    gl = make_session(HOST, TOKEN, fake_time)
    with pytest.raises(ValueError, match="per_page"):
        gl.iter_requests("acme/app", per_page=0)


async def test_token_from_env_and_repr_hides_it(
    monkeypatch: pytest.MonkeyPatch, mocked: aioresponses
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("GITLAB_URL", f"{HOST}/api/v4/")
    async with GitLabSession() as gl:
        assert gl.url == API
        assert TOKEN not in repr(gl)
        assert "token=set" in repr(gl)
        mocked.delete(f"{PROJECT}/access_requests/5", status=204)
        await gl.deny("acme/app", 5)
        assert (
            sent(mocked, "DELETE", f"{PROJECT}/access_requests/5")[0].kwargs["headers"][
                "PRIVATE-TOKEN"
            ]
            == TOKEN
        )
    assert "closed" in repr(gl)


async def test_no_token_and_insecure_http_are_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, mocked: aioresponses
) -> None:
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    async with GitLabSession(endpoint=HOST) as gl:
        with pytest.raises(ConfigurationError, match="GITLAB_TOKEN"):
            await gl.deny("acme/app", 5)
    async with GitLabSession(TOKEN, "http://gitlab.internal") as gl:
        with pytest.raises(ConfigurationError, match="plain http"):
            await gl.deny("acme/app", 5)
    assert total_requests(mocked) == 0


async def test_closed_session_and_options(fake_time: VirtualTime) -> None:
    gl = make_session(HOST, TOKEN, fake_time)
    await gl.aclose()
    assert gl.closed
    with pytest.raises(SessionClosedError):
        await gl.deny("acme/app", 5)
    with pytest.raises(ValueError, match="quota or limiter"):
        GitLabSession(TOKEN, HOST, quota=__import__("hf_access").Quota(1, 1.0), limiter=gl.limiter)
    assert re.fullmatch(r"<GitLabSession endpoint='.*' token=set closed>", repr(gl))


async def test_page_size_is_the_one_name_and_per_page_its_deprecated_alias(
    fake_gitlab: FakeGitLab, client: GitLabSession
) -> None:
    fake_gitlab.add_project("acme/app")
    names = fake_gitlab.seed_requests("acme/app", 3)
    assert [r.username for r in await client.list_requests("acme/app", page_size=2)] == names
    with pytest.warns(DeprecationWarning, match="per_page is deprecated: use page_size") as seen:
        old = await client.list_requests("acme/app", per_page=2)
    assert [r.username for r in old] == names
    assert [w.filename for w in seen] == [__file__]  # the warning points at the caller
    with pytest.warns(DeprecationWarning, match="use page_size") as seen:
        lazy = client.iter_requests("acme/app", per_page=1)
    assert [w.filename for w in seen] == [__file__]
    assert [r.username async for r in lazy] == names
    with pytest.raises(ValueError, match="not both"):
        client.iter_requests("acme/app", page_size=2, per_page=2)
    with pytest.raises(ValueError, match="not both"):
        await client.list_requests("acme/app", page_size=2, per_page=2)
    for bad in (0, 101, True):
        with pytest.raises(ValueError, match="page_size must be"):
            client.iter_requests("acme/app", page_size=bad)
