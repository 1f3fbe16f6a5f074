"""The pieces the ``hf-access gitlab`` commands use: argument parsing, rows, exit codes."""

from __future__ import annotations

import json

import pytest

from hf_access.gitlab import GitLabSession
from hf_access.gitlab.cli_support import (
    exit_code,
    member_row,
    outcome_row,
    parse_user,
    parse_users,
    request_row,
)
from hf_access.testing.gitlab import FakeGitLab

from ._gitlab_support import FakeTime, make_session


def test_parse_user() -> None:
    assert parse_user(" 42 ") == 42
    assert parse_user("id:42") == 42
    assert parse_user("@alice") == "alice"
    for bad in ("id:x", "0", "a b", ""):
        with pytest.raises(ValueError, match="invalid user"):
            parse_user(bad)
    assert parse_users(["# a comment", "bob", "  ", "7"]) == ["bob", 7]


async def test_rows_are_json_ready_and_exit_codes(
    fake_gitlab: FakeGitLab, client: GitLabSession, fake_time: FakeTime
) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.seed_requests("acme/app", 2)
    [first, _] = await client.list_requests("acme/app")
    row = request_row(first)
    assert row["username"] == "user-000000"
    assert row["requested_at"].endswith("Z")
    json.dumps(row)

    member = await client.approve("acme/app", first, access_level="reporter")
    assert member_row(member)["access_level"] == 20
    assert member_row(member)["role"] == "reporter"

    report = await client.approve_many("acme/app", ["user-000001", "ghost"])
    rows = [outcome_row(item) for item in report.items]
    json.dumps(rows)
    assert rows[0]["outcome"] == "done"
    assert rows[0]["access_level"] == 30
    assert rows[1]["error_type"] == "UserNotFoundError"
    assert exit_code(report) == 1
    dry = await client.deny_many("acme/app", [5], dry_run=True)
    assert exit_code(dry) == 0
    async with make_session(fake_gitlab.url, "glpat-bad", fake_time) as bad:
        stopped = await bad.deny_many("acme/app", [5])
    assert exit_code(stopped) == 2
