"""``hf-access sync``: the plan, confirmation, apply, idempotence, json, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_access.cli import bulk_cmd

from .conftest import REPO, SECRET, Cli

WRITES = ("handle", "grant", "batch")


def writes(run: Cli) -> int:
    calls = run.hub.counters.calls
    return sum(calls.get(route, 0) for route in WRITES)


@pytest.fixture
def users(run: Cli, tmp_path: Path) -> Path:
    """acme/model: user-000000..4 pending, 'gone' accepted (not on the list), 'kept'
    accepted and 'spurned' rejected (both on it), 'fresh' with no request (on it)."""
    hub = run.hub
    hub.add_user("fresh")
    hub.seed_request(REPO, "gone", status="accepted", requested_at=0, decided_at=60)
    hub.seed_request(REPO, "spurned", status="rejected", requested_at=0, decided_at=60)
    hub.seed_request(REPO, "kept", status="accepted", requested_at=0, decided_at=60)
    path = tmp_path / "users.txt"
    path.write_text("# partners\nuser-000000\nuser-000001\nfresh\nspurned\nkept\n")
    hub.reset_counters()
    return path


def test_plan_prints_the_diff_and_sends_no_write(run: Cli, users: Path) -> None:
    result = run("sync", REPO, "--users-file", str(users), "--plan")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        "+ user-000000  accept (pending)",
        "+ user-000001  accept (pending)",
        "+ fresh  grant (no request)",
        "- gone  cancel (accepted)",
        "! spurned  rejected: left rejected",
        "acme/model: 1 to grant, 2 to accept, 1 to remove (cancel); 1 unchanged "
        "(1 on the list rejected, left so)",
    ]
    assert "spurned" in result.stderr  # the rejected user is reported
    assert "--include-rejected" in result.stderr
    assert "plan read in 4 calls; nothing was changed" in result.stderr
    assert writes(run) == 0
    assert SECRET not in result.output


def test_apply_then_in_sync(run: Cli, users: Path) -> None:
    result = run(
        "sync", REPO, "--users-file", str(users), "--remove", "reject", "--reason", "ended"
    )
    assert result.exit_code == 0, result.stderr
    assert "sync: 4 decisions: 4 done, 0 unchanged, 0 failed" in result.stderr
    statuses = run.statuses()
    assert {
        u: statuses[u] for u in ("user-000000", "user-000001", "fresh", "kept")
    } == dict.fromkeys(("user-000000", "user-000001", "fresh", "kept"), "accepted")
    assert statuses["gone"] == "rejected"
    assert statuses["spurned"] == "rejected"
    assert statuses["user-000002"] == "pending"  # not on the list, never accepted: left alone
    record = run.hub.snapshot_of(REPO, "gone")
    assert record is not None
    assert record.rejection_reason == "ended"

    run.hub.reset_counters()
    again = run("sync", REPO, "--users-file", str(users), "--remove", "reject", "--reason", "ended")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.startswith("acme/model is in sync with a list of 5 users")
    assert "nothing to do" in again.stderr
    assert writes(run) == 0


def test_include_rejected(run: Cli, users: Path) -> None:
    result = run("sync", REPO, "--users-file", str(users), "--include-rejected", "--remove", "keep")
    assert result.exit_code == 0, result.stderr
    assert run.statuses()["spurned"] == "accepted"
    assert run.statuses()["gone"] == "accepted"  # keep: nobody removed


def test_from_repo_and_json_plan(run: Cli, users: Path) -> None:
    run.hub.add_repo("acme/model-v1")
    run.hub.seed_request("acme/model-v1", "fresh", status="accepted", requested_at=0, decided_at=1)
    result = run("sync", REPO, "--from-repo", "acme/model-v1", "--plan", "--format", "json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["source"] == "the accepted users of acme/model-v1"
    assert plan["counts"]["grant"] == 1
    assert plan["counts"]["remove"] == 2  # gone, kept
    assert plan["changes"][0] == {"user": "fresh", "action": "grant", "current": None}
    assert {c["user"] for c in plan["changes"] if c["action"] == "cancel"} == {"gone", "kept"}
    assert plan["reads"] == 5
    assert writes(run) == 0


def test_json_outcomes_when_applying(run: Cli, users: Path) -> None:
    result = run("sync", REPO, "--users-file", str(users), "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sorted((r["user"], r["action"], r["outcome"]) for r in rows) == [
        ("fresh", "grant", "done"),
        ("gone", "cancel", "done"),
        ("user-000000", "accept", "done"),
        ("user-000001", "accept", "done"),
    ]


@pytest.fixture
def many(run: Cli, tmp_path: Path) -> Path:
    run.hub.seed_pending(REPO, 150, prefix="many")
    path = tmp_path / "many.txt"
    path.write_text("".join(f"many-{i:06d}\n" for i in range(150)))
    return path


def test_over_100_changes_needs_confirmation(
    run: Cli, many: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = run("sync", REPO, "--users-file", str(many), "--remove", "keep")
    assert refused.exit_code == 2
    assert "refusing to change the access of 150 users on acme/model" in refused.stderr
    assert writes(run) == 0
    monkeypatch.setattr(bulk_cmd, "stdin_is_interactive", lambda: True)
    declined = run("sync", REPO, "--users-file", str(many), "--remove", "keep", input="n\n")
    assert declined.exit_code == 3
    assert "About to change the access of 150 users" in declined.stderr
    assert writes(run) == 0
    done = run("sync", REPO, "--users-file", str(many), "--remove", "keep", "--yes")
    assert done.exit_code == 0, done.stderr
    assert run.hub.counters.calls["batch"] == 2
    assert run.statuses()["many-000149"] == "accepted"


def test_journal_is_written(run: Cli, users: Path, tmp_path: Path) -> None:
    journal = tmp_path / "sync.jsonl"
    result = run("sync", REPO, "--users-file", str(users), "--journal", str(journal))
    assert result.exit_code == 0, result.stderr
    keys = [json.loads(line).get("key") for line in journal.read_text().splitlines()[1:]]
    assert sorted(k.split("|")[1] for k in keys) == ["fresh", "gone", "user-000000", "user-000001"]


def test_failures_exit_1(run: Cli, tmp_path: Path) -> None:
    path = tmp_path / "ghost.txt"
    path.write_text("ghost\n")
    result = run("sync", REPO, "--users-file", str(path), "--remove", "keep")
    assert result.exit_code == 1
    assert "failed: ghost on acme/model" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --users-file and --from-repo"),
        (["--users-file", "x", "--from-repo", "a/b"], "give exactly one"),
        (["--from-repo", "nope"], "invalid repo id"),
        (["--users-file", "MISSING"], "cannot read MISSING"),
        (["--from-repo", "a/b", "--remove", "cancel", "--reason", "x"], "reason goes with"),
        (["--from-repo", "a/b", "--remove", "drop"], "'drop' is not one of"),
    ],
)
def test_usage_errors(run: Cli, args: list[str], message: str) -> None:
    result = run("sync", REPO, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert writes(run) == 0


def test_bad_names_in_the_file(run: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("alice\nnot a name\n")
    result = run("sync", REPO, "--users-file", str(path))
    assert result.exit_code == 2
    assert "user 1: invalid user name 'not a name'" in result.stderr
    assert run.hub.counters.total_calls == 0
