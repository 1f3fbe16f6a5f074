"""``hf-access inbox``: the table, sorting, json and csv, namespaces from whoami."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta

import pytest

from hf_access.cli.inbox_cmd import format_age
from hf_access.testing import FakeHub, ManualClock

from .conftest import SECRET, Cli

# The command measures ages from the real time: the fake Hub's history is set around it.
T0 = float(int(time.time()))
DAY = 86400.0


@pytest.fixture
def inbox_hub() -> FakeHub:
    with FakeHub(clock=ManualClock(T0)) as hub:
        hub.add_user("owner2")
        hub.add_token(SECRET, user="owner2", role="write", namespaces=["owner2", "acme"])
        hub.add_org("acme", {"owner2": "admin"})
        hub.add_org("labs", {"owner2": "write"})
        hub.seed_repos("acme", ["manual", "auto", False, "manual"])
        hub.seed_repos("labs", ["manual"])
        # repo-000: 1 request waiting 3 days; repo-003: 5 waiting 1 day; repo-001: none.
        hub.seed_request("acme/repo-000", "old", requested_at=T0 - 3 * DAY)
        for i in range(5):
            hub.seed_request("acme/repo-003", f"u{i}", requested_at=T0 - DAY)
        hub.seed_request(
            "acme/repo-003", "done", status="accepted", requested_at=T0 - DAY, decided_at=T0
        )
        hub.set_private("acme/repo-003")
        yield hub


@pytest.fixture
def cli(inbox_hub: FakeHub) -> Cli:
    return Cli(inbox_hub)


def test_table_sorted_by_oldest_wait(cli: Cli) -> None:
    result = cli("--repo-type", "model", "inbox", "acme", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "acme/" in line]
    assert [line.split()[1] for line in lines] == [
        "acme/repo-000",
        "acme/repo-003",
        "acme/repo-001",
    ]
    assert "3d 0h" in lines[0]
    assert "(private)" in lines[1]
    assert "3 gated repos, 6 pending requests" in result.stderr
    assert SECRET not in result.output


def test_sort_by_pending_and_json(cli: Cli) -> None:
    result = cli("--repo-type", "model", "inbox", "acme", "--sort", "pending", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["repo_id"], r["pending"]) for r in rows] == [
        ("acme/repo-003", 5),
        ("acme/repo-000", 1),
        ("acme/repo-001", 0),
    ]
    first = rows[0]
    assert first["private"] is True
    assert first["gating"] == "manual"
    assert first["decided"] == 1
    assert first["median_decision_s"] == DAY
    assert first["received_7d"] == 6


def test_default_namespaces_and_unmanaged_repos(cli: Cli) -> None:
    result = cli("--repo-type", "model", "inbox", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["repo_id"], r["manageable"]) for r in rows] == [
        ("acme/repo-000", "true"),
        ("acme/repo-003", "true"),
        ("acme/repo-001", "true"),
        ("labs/repo-000", "false"),
    ]
    assert rows[-1]["note"].startswith("cannot manage")
    assert "1 the token cannot manage" in result.stderr
    assert cli.hub.counters.calls["whoami"] == 1


def test_every_type_by_default(cli: Cli) -> None:
    cli.hub.add_repo("acme/set", repo_type="dataset", gated="auto")
    result = cli("inbox", "acme", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [r["repo_type"] for r in json.loads(result.stdout)].count("dataset") == 1
    assert cli.hub.counters.calls["list_repos"] == 3


def test_errors(cli: Cli) -> None:
    bad = cli("inbox", "no/slash")
    assert bad.exit_code == 2
    assert "invalid namespace" in bad.stderr
    denied = cli("inbox", token="hf_wrong")
    assert denied.exit_code == 2
    assert denied.stderr.startswith("error:")


def test_format_age() -> None:
    assert [
        format_age(v)
        for v in (None, timedelta(0), timedelta(minutes=7), timedelta(hours=5, minutes=12))
    ] == ["-", "<1m", "7m", "5h 12m"]
