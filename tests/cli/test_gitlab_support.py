"""The pieces the ``hf-access gitlab`` commands use: argument parsing and JSON-ready rows."""

from __future__ import annotations

import json

import pytest

from hf_access.cli.gitlab_support import outcome_row, parse_user, request_row
from hf_access.gitlab import GitLabSession
from hf_access.testing.gitlab import FakeGitLab


def test_parse_user() -> None:
    assert parse_user(" 42 ") == 42
    assert parse_user("id:42") == 42
    assert parse_user("@alice") == "alice"
    for bad in ("id:x", "0", "a b", ""):
        with pytest.raises(ValueError, match="invalid user"):
            parse_user(bad)


async def test_rows_are_json_ready(fake_gitlab: FakeGitLab) -> None:
    async with GitLabSession(fake_gitlab.token, fake_gitlab.url) as client:
        await _rows_are_json_ready(fake_gitlab, client)


async def _rows_are_json_ready(fake_gitlab: FakeGitLab, client: GitLabSession) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.seed_requests("acme/app", 2)
    [first, _] = await client.list_requests("acme/app")
    row = request_row(first)
    assert row["username"] == "user-000000"
    assert row["requested_at"].endswith("Z")
    json.dumps(row)

    report = await client.approve_many("acme/app", ["user-000001", "ghost"])
    rows = [outcome_row(item) for item in report.items]
    json.dumps(rows)
    assert rows[0]["outcome"] == "done"
    assert rows[0]["access_level"] == 30
    assert rows[1]["error_type"] == "UserNotFoundError"
