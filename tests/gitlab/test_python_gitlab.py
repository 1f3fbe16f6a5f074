"""The official python-gitlab client against FakeGitLab (its sync calls run in a thread)."""

from __future__ import annotations

import asyncio
import warnings

import gitlab
import pytest

from hf_access.testing.gitlab import FakeGitLab


def _client(fake: FakeGitLab, token: str | None = None) -> gitlab.Gitlab:
    return gitlab.Gitlab(
        fake.url, private_token=token or fake.token, per_page=20, retry_transient_errors=False
    )


async def test_python_gitlab_lists_approves_and_denies(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_project("acme/tools/app")
    names = fake_gitlab.seed_requests("acme/tools/app", 45)
    fake_gitlab.add_group("acme/tools")
    fake_gitlab.seed_requests("acme/tools", 3, prefix="g", kind="group")

    def run() -> tuple[list[str], int | None, int | None, list[str]]:
        gl = _client(fake_gitlab)
        project = gl.projects.get("acme/tools/app", lazy=True)  # sent as acme%2Ftools%2Fapp
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # python-gitlab warns about cut-short lists
            requests = project.accessrequests.list(get_all=True)
        first = requests[0]
        first.approve(access_level=gitlab.const.AccessLevel.REPORTER)
        project.accessrequests.delete(requests[1].id)
        requests[2].delete()
        page = project.accessrequests.list(iterator=True)
        group = gl.groups.get("acme/tools", lazy=True)
        group_names = [r.username for r in group.accessrequests.list(get_all=True)]
        return [r.username for r in requests], first.access_level, page.total, group_names

    listed, level, total, group_names = await asyncio.to_thread(run)
    assert listed == names
    assert level == 20  # the answer's member attributes update the object
    assert total == 42
    assert group_names == ["g-000000", "g-000001", "g-000002"]
    state = fake_gitlab.state("acme/tools/app")
    assert state.members == {"user-000000": 20}
    assert state.requests[:1] == ("user-000003",)
    assert len(state.requests) == 42
    assert fake_gitlab.counters["list_requests"] == 3 + 1 + 1  # 45 at 20 a page, iterator, group


async def test_python_gitlab_sees_gitlab_errors(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_token("glpat-dev", "dev", level=30)

    def run() -> None:
        project = _client(fake_gitlab).projects.get("acme/app", lazy=True)
        with pytest.raises(gitlab.GitlabDeleteError) as missing:
            project.accessrequests.delete(12345)
        assert missing.value.response_code == 404
        assert "404 Not found" in str(missing.value.error_message)
        denied = _client(fake_gitlab, "glpat-dev").projects.get("acme/app", lazy=True)
        with pytest.raises(gitlab.GitlabListError) as forbidden:
            denied.accessrequests.list(get_all=True)
        assert forbidden.value.response_code == 403
        with pytest.raises(gitlab.GitlabAuthenticationError):
            _client(fake_gitlab, "glpat-nope").auth()

    await asyncio.to_thread(run)


def test_python_gitlab_with_the_fake_in_a_thread() -> None:
    with FakeGitLab() as fake:
        fake.add_group("acme")
        [name] = fake.seed_requests("acme", 1, kind="group")
        group = _client(fake).groups.get("acme", lazy=True)
        [request] = group.accessrequests.list(get_all=True)
        request.approve(access_level=gitlab.const.AccessLevel.OWNER)
        assert fake.state("acme", kind="group").members == {name: 50}
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url
