"""accept / reject / cancel / reset / grant: inputs, batching, dry runs, prompts, journal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hf_access.cli import bulk_cmd

from .conftest import REPO, Cli


def test_accept_named_users(run: Cli) -> None:
    run.hub.reset_counters()
    result = run("accept", REPO, "user-000000", "user-000001")
    assert result.exit_code == 0, result.stderr
    assert run.statuses()["user-000000"] == "accepted"
    assert run.statuses()["user-000001"] == "accepted"
    assert run.statuses()["user-000002"] == "pending"
    assert run.hub.counters.calls == {"batch": 1}
    assert result.stderr.startswith(
        "accept: 2 decisions: 2 done, 0 unchanged, 0 failed, 0 not attempted; 1 call in"
    )
    assert result.stdout == ""


def test_reject_with_reason(run: Cli) -> None:
    result = run("reject", REPO, "user-000000", "--reason", "incomplete form")
    assert result.exit_code == 0, result.stderr
    record = run.hub.snapshot_of(REPO, "user-000000")
    assert record is not None
    assert record.status == "rejected"
    assert record.rejection_reason == "incomplete form"


def test_cancel_reset_and_grant(run: Cli) -> None:
    assert run("accept", REPO, "user-000000", "user-000001").exit_code == 0
    assert run("cancel", REPO, "user-000000").exit_code == 0
    assert run.statuses()["user-000000"] == "pending"
    result = run("reset", REPO, "user-000001", "--reason", "new terms")
    assert result.exit_code == 0, result.stderr
    record = run.hub.snapshot_of(REPO, "user-000001")
    assert record is not None
    assert record.status == "reset"
    assert record.reset_reason == "new terms"
    run.hub.add_user("carol")
    run.hub.reset_counters()
    assert run("grant", REPO, "carol").exit_code == 0
    assert run.statuses()["carol"] == "accepted"
    assert run.hub.counters.calls == {"grant": 1}


def test_reason_only_for_reject_and_reset(run: Cli) -> None:
    result = run("accept", REPO, "user-000000", "--reason", "x")
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_from_file_names_with_comments(run: Cli, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# approved on Monday\nuser-000000\n\n  user-000001  \n# user-000002\n")
    result = run("accept", REPO, "user-000003", "--from-file", str(users))
    assert result.exit_code == 0, result.stderr
    assert [u for u, s in run.statuses().items() if s == "accepted"] == [
        "user-000000",
        "user-000001",
        "user-000003",
    ]


def test_from_file_csv_with_reasons(run: Cli, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_text(
        "email,User,reason\na@x.org,user-000000,\nb@y.org,user-000001,disposable e-mail\n"
    )
    result = run("reject", REPO, "--from-file", str(users), "--reason", "default reason")
    assert result.exit_code == 0, result.stderr
    first, second = (run.hub.snapshot_of(REPO, f"user-00000{i}") for i in (0, 1))
    assert first is not None
    assert first.rejection_reason == "default reason"
    assert second is not None
    assert second.rejection_reason == "disposable e-mail"


def test_from_stdin(run: Cli) -> None:
    result = run("accept", REPO, "--from-file", "-", input="user-000000\nuser-000004\n")
    assert result.exit_code == 0, result.stderr
    assert run.statuses()["user-000004"] == "accepted"


def test_csv_without_user_column_is_a_usage_error(run: Cli, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_text("email,name\na@x.org,alice\n")
    result = run("accept", REPO, "--from-file", str(users))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "no 'user' column" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "missing REPO"),
        ([REPO], "no users given"),
        (["--repo", REPO, "acme/other", "user-000000"], "not both"),
        (["--from-file", "/nonexistent/users.txt", REPO], "cannot read"),
    ],
)
def test_usage_errors(run: Cli, args: list[str], message: str) -> None:
    result = run("accept", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stderr.strip().endswith("(see 'hf-access accept --help')")
    assert len(result.stderr.strip().splitlines()) == 1


def test_several_repos(run: Cli, tmp_path: Path) -> None:
    run.hub.add_repo("acme/other")
    run.hub.seed_pending("acme/other", 3)
    result = run("accept", "--repo", REPO, "--repo", "acme/other", "user-000000", "user-000001")
    assert result.exit_code == 0, result.stderr
    for repo in (REPO, "acme/other"):
        assert run.statuses(repo)["user-000001"] == "accepted"
    repos = tmp_path / "repos.txt"
    repos.write_text(f"# both\n{REPO}\nacme/other\n")
    result = run("reject", "--repos-file", str(repos), "user-000002", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [row["repo_id"] for row in json.loads(result.stdout)] == [REPO, "acme/other"]


def test_failed_items_exit_1_and_json_outcomes(run: Cli) -> None:
    assert run("accept", REPO, "user-000000").exit_code == 0
    result = run("accept", REPO, "user-000000", "user-000001", "ghost-user", "--format", "json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(r["user"], r["outcome"]) for r in rows] == [
        ("user-000000", "done"),  # the batch route reports "already there" as ok
        ("user-000001", "done"),
        ("ghost-user", "failed"),
    ]
    assert rows[2]["error_type"] == "UserNotFoundError"
    assert "failed: ghost-user on acme/model: " in result.stderr


def test_unchanged_without_batch(run: Cli) -> None:
    assert run("accept", REPO, "user-000000").exit_code == 0
    run.hub.reset_counters()
    result = run("accept", REPO, "user-000000", "user-000001", "--no-batch", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    outcomes = [json.loads(line)["outcome"] for line in result.stdout.splitlines()]
    assert outcomes == ["unchanged", "done"]
    assert run.hub.counters.calls.get("batch", 0) == 0
    assert run.hub.counters.calls["handle"] == 2


def test_csv_outcomes(run: Cli) -> None:
    result = run("accept", REPO, "user-000000", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["outcome"] == "done"
    assert rows[0]["from_journal"] == "false"


def test_dry_run_prints_calls_and_sends_nothing(run: Cli) -> None:
    run.hub.seed_pending(REPO, 250, prefix="many")
    names = [f"many-{i:06d}" for i in range(250)]
    run.hub.reset_counters()
    result = run("accept", REPO, *names, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "POST /api/models/acme/model/user-access-request/batch  (100 users)",
        "POST /api/models/acme/model/user-access-request/batch  (100 users)",
        "POST /api/models/acme/model/user-access-request/batch  (50 users)",
    ]
    assert "250 decisions would take 3 calls; nothing was sent" in result.stderr
    assert run.hub.counters.total_calls == 0
    plan = json.loads(
        run("reject", REPO, "many-000001", "--reason", "r", "--dry-run", "--format", "json").stdout
    )
    assert plan[0]["body"] == {
        "status": "rejected",
        "rejectionReason": "r",
        "requests": [{"user": "many-000001"}],
    }
    assert set(run.statuses().values()) == {"pending"}


@pytest.fixture
def many(run: Cli, tmp_path: Path) -> Path:
    run.hub.seed_pending(REPO, 150, prefix="many")
    path = tmp_path / "many.txt"
    path.write_text("".join(f"many-{i:06d}\n" for i in range(150)))
    return path


def test_more_than_100_needs_yes_without_a_terminal(run: Cli, many: Path) -> None:
    result = run("accept", REPO, "--from-file", str(many))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: refusing to accept 150 users on 1 repo(s) (acme/model) without "
        "confirmation (stdin is not a terminal): add --yes"
    )
    assert set(run.statuses().values()) == {"pending"}
    result = run("accept", REPO, "--from-file", str(many), "--yes")
    assert result.exit_code == 0, result.stderr
    assert run.statuses()["many-000149"] == "accepted"


def test_confirmation_prompt(run: Cli, many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_cmd, "stdin_is_interactive", lambda: True)
    declined = run("accept", REPO, "--from-file", str(many), input="n\n")
    assert declined.exit_code == 3  # declined: its own code
    assert "About to accept 150 users on 1 repo(s) (acme/model). Continue?" in declined.stderr
    assert "nothing was changed" in declined.stderr
    assert set(run.statuses().values()) == {"pending"}
    accepted = run("accept", REPO, "--from-file", str(many), input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert run.statuses()["many-000000"] == "accepted"


def test_up_to_100_needs_no_confirmation(run: Cli) -> None:
    run.hub.seed_pending(REPO, 100, prefix="few")
    result = run("accept", REPO, *[f"few-{i:06d}" for i in range(100)])
    assert result.exit_code == 0, result.stderr


def test_journal_resume(run: Cli, tmp_path: Path) -> None:
    journal = tmp_path / "accept.jsonl"
    first = run("accept", REPO, "user-000000", "ghost-user", "--journal", str(journal))
    assert first.exit_code == 1
    assert journal.exists()
    run.hub.add_user("ghost-user")
    run.hub.ask_access(REPO, "ghost-user")
    run.hub.reset_counters()
    second = run(
        "accept", REPO, "user-000000", "ghost-user", "--journal", str(journal), "--format", "json"
    )
    assert second.exit_code == 0, second.stderr
    rows = json.loads(second.stdout)
    assert [r["from_journal"] for r in rows] == [True, False]
    assert "(1 taken from the journal)" in second.stderr
    assert run.hub.counters.calls == {"batch": 1}
    assert run.statuses()["ghost-user"] == "accepted"


def test_dry_run_needs_no_token(run: Cli) -> None:
    result = run("accept", REPO, "user-000000", "--dry-run", token=None)
    assert result.exit_code == 0, result.stderr
    assert "batch" in result.stdout


def test_precheck_skips_users_already_there(run: Cli) -> None:
    assert run("accept", REPO, "user-000000").exit_code == 0
    run.hub.reset_counters()
    result = run("accept", REPO, "user-000000", "user-000001", "--precheck", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["outcome"], r["detail"]) for r in rows] == [
        ("unchanged", "already accepted"),
        ("done", None),
    ]
    assert run.hub.counters.calls == {"list_accepted": 1, "batch": 1}


def test_confirmation_counts_decisions_over_repos(
    run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    run.hub.add_repo("acme/other")
    names = run.hub.seed_pending(REPO, 60, prefix="two")
    run.hub.seed_pending("acme/other", 60, prefix="two")
    monkeypatch.setattr(bulk_cmd, "stdin_is_interactive", lambda: True)
    result = run("accept", "--repo", REPO, "--repo", "acme/other", *names, input="n\n")
    assert result.exit_code == 3  # declined
    assert "accept 60 users on 2 repo(s) (acme/model, acme/other; 120 decisions)" in result.stderr


def test_a_journal_in_use_by_another_process_is_one_line_and_nothing_is_sent(
    run: Cli, tmp_path: Path
) -> None:
    from hf_access.core.journal import Journal

    journal = tmp_path / "run.jsonl"
    holder = Journal(journal, kind="hub")
    holder.open()  # stands for another process: the lock is exclusive
    try:
        run.hub.reset_counters()
        result = run("accept", REPO, "user-000000", "--journal", str(journal))
    finally:
        holder.close()
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert "run.jsonl is in use by process" in result.stderr
    assert run.hub.counters.calls == {}
