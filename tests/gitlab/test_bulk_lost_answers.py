"""GitLab: an answer lost after GitLab applied the change is settled by reading the state:
``done`` when this run's call landed (GitLab answers the retry 404), ``failed`` only when not."""

from __future__ import annotations

import pytest

from hf_access import Outcome, RetryPolicy
from hf_access.gitlab import GitLabSession
from hf_access.testing.gitlab import FakeGitLab

from ..conftest import VirtualTime
from ._support import make_session

TARGET = "acme/app"


def seed(gl: FakeGitLab, count: int) -> list[str]:
    gl.add_project(TARGET)
    names = [f"u{i}" for i in range(count)]
    for name in names:
        gl.add_user(name)
        gl.add_request(TARGET, name)
    return names


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_a_retry_after_a_lost_answer_is_done_not_unchanged(
    fake_gitlab: FakeGitLab, client: GitLabSession, action: str
) -> None:
    names = seed(fake_gitlab, 5)
    fake_gitlab.drop_after_next(action, 3)
    many = client.approve_many if action == "approve" else client.deny_many
    report = await many(TARGET, names, concurrency=1)
    assert [i.outcome for i in report.items] == [Outcome.DONE] * 5  # before: 3 unchanged
    assert sum("answer was lost" in (i.detail or "") for i in report.items) == 3
    assert not fake_gitlab.state(TARGET).requests


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_out_of_retries_after_a_lost_answer_is_settled(
    fake_gitlab: FakeGitLab, fake_time: VirtualTime, action: str
) -> None:
    names = seed(fake_gitlab, 3)
    fake_gitlab.drop_after_next(action, 3)
    async with make_session(
        fake_gitlab.url, fake_gitlab.token, fake_time, retry=RetryPolicy(max_attempts=1)
    ) as session:
        many = session.approve_many if action == "approve" else session.deny_many
        report = await many(TARGET, names, concurrency=1)
    assert [i.outcome for i in report.items] == [Outcome.DONE] * 3  # before: failed


async def test_a_lost_answer_that_did_not_land_is_failed(
    fake_gitlab: FakeGitLab, fake_time: VirtualTime
) -> None:
    names = seed(fake_gitlab, 2)
    fake_gitlab.fail_next("approve", 503, times=2)
    async with make_session(
        fake_gitlab.url, fake_gitlab.token, fake_time, retry=RetryPolicy(max_attempts=1)
    ) as session:
        report = await session.approve_many(TARGET, names, concurrency=1)
    assert [i.outcome for i in report.items] == [Outcome.FAILED] * 2
