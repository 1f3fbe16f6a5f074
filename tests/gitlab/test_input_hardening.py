"""GitLab: bad targets and names are stopped before the wire; a ``str`` is one user."""

from __future__ import annotations

import pytest

from hf_access.gitlab import GitLabSession, decisions_for, wire
from hf_access.testing.gitlab import FakeGitLab


@pytest.mark.parametrize(
    "target", [".", "..", "acme/..", "../5", "acme%2F..", "acme/app\n/x", "acme//app", "²"]
)
def test_targets_that_are_not_names_are_refused(target: str) -> None:
    with pytest.raises(ValueError, match="invalid project or group"):
        wire.validate_target(target)


@pytest.mark.parametrize("name", ["..", ".", "bob\n.x"])
def test_user_names_that_are_not_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid user name"):
        wire.validate_username(name)


async def test_dot_dot_target_sends_nothing(fake_gitlab: FakeGitLab, client: GitLabSession) -> None:
    with pytest.raises(ValueError, match="is not a name"):
        await client.deny_many("..", [5])
    assert sum(fake_gitlab.counters.values()) == 0


def test_a_string_is_one_user() -> None:
    assert [d.user for d in decisions_for("acme/app", "alice", "approve")] == ["alice"]


async def test_approve_many_takes_a_string_as_one_user(
    fake_gitlab: FakeGitLab, client: GitLabSession
) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_user("alice")
    fake_gitlab.add_request("acme/app", "alice")
    report = await client.approve_many("acme/app", "alice")
    assert [item.decision.user for item in report.items] == ["alice"]
    assert report.done == 1
