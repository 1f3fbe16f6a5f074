"""``hf-access list``: every status and format."""

from __future__ import annotations

import csv
import io
import json

import pytest

from .conftest import REPO, Cli


@pytest.fixture
def mixed(run: Cli) -> Cli:
    """user-000000 accepted, user-000001 rejected, the rest pending; forms on two of them."""
    hub = run.hub
    hub.add_user("alice", email="alice@uni.example")
    hub.ask_access(REPO, "alice", fields={"Company": "ACME", "Country": "FR"})
    assert run("accept", REPO, "user-000000").exit_code == 0
    assert run("reject", REPO, "user-000001", "--reason", "spam").exit_code == 0
    return run


def test_table_is_the_default(mixed: Cli) -> None:
    result = mixed("list", REPO)
    assert result.exit_code == 0, result.stderr
    assert "user-000002" in result.stdout
    assert "alice" in result.stdout
    assert "Company=ACME" in result.stdout
    assert "user-000000" not in result.stdout  # accepted, not pending
    assert "4 pending requests on acme/model (1 call)" in result.stderr


def test_json(mixed: Cli) -> None:
    result = mixed("list", REPO, "--format", "json")
    data = json.loads(result.stdout)
    assert [r["username"] for r in data] == ["user-000002", "user-000003", "user-000004", "alice"]
    alice = data[-1]
    assert alice["status"] == "pending"
    assert alice["email"] == "alice@uni.example"
    assert alice["fields"] == {"Company": "ACME", "Country": "FR"}
    assert alice["timestamp"].endswith("Z")


def test_jsonl_all_statuses(mixed: Cli) -> None:
    result = mixed("list", REPO, "--status", "all", "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    by_user = {r["username"]: r["status"] for r in rows}
    assert by_user["user-000000"] == "accepted"
    assert by_user["user-000001"] == "rejected"
    assert by_user["alice"] == "pending"
    assert len(rows) == 6
    accepted = next(r for r in rows if r["username"] == "user-000000")
    assert accepted["granted_by"]["username"] == "owner2"


def test_csv_flattens_fields(mixed: Cli) -> None:
    result = mixed("list", REPO, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 4
    alice = rows[-1]
    assert alice["username"] == "alice"
    assert alice["status"] == "pending"
    assert alice["field:Company"] == "ACME"
    assert rows[0]["field:Company"] == ""


def test_status_search_and_limit(mixed: Cli) -> None:
    rejected = mixed("list", REPO, "--status", "rejected", "--format", "json")
    assert [r["username"] for r in json.loads(rejected.stdout)] == ["user-000001"]
    found = mixed("list", REPO, "--search", "alice", "--format", "json")
    assert [r["username"] for r in json.loads(found.stdout)] == ["alice"]
    limited = mixed("list", REPO, "--status", "all", "--limit", "2", "--format", "jsonl")
    assert len(limited.stdout.splitlines()) == 2


def test_long_listing_follows_pages(run: Cli) -> None:
    run.hub.seed_pending(REPO, 2500, prefix="bulk")
    result = run("list", REPO, "--format", "jsonl")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2505
    assert "(3 calls)" in result.stderr
    table = run("list", REPO)  # a long table is plain aligned text (fast)
    rows = table.stdout.splitlines()
    assert rows[1].split() == ["user", "status", "requested", "email", "fields"]
    assert len(rows) == 2 + 1 + 2505  # title, header, rule, rows
    assert rows[-1].startswith("bulk-002499  pending")


def test_hidden_requesters_show_request_ids(run: Cli) -> None:
    run.hub.add_repo("acme/hidden", hide_requesters=True)
    run.hub.seed_pending("acme/hidden", 2)
    table = run("list", "acme/hidden")
    assert "request:" in table.stdout
    data = json.loads(run("list", "acme/hidden", "--format", "json").stdout)
    assert all(r["username"] is None and r["request_id"] for r in data)
