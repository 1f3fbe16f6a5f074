"""``hf-access watch``: one pass of a TOML policy over the pending requests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hf_access.testing import FakeHub

from .conftest import REPO, SECRET, Cli

POLICY = """
default = "hold"

[[rules]]
name = "deny-list"
type = "users"
users = ["user-000001"]
decision = "reject"
reason = "Not on the beta list."

[[rules]]
name = "everyone-else"
type = "users"
users = ["user-000000", "user-000002"]
decision = "accept"
"""


def test_watch_once_decides_by_policy_and_audits(run: Cli, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    audit = tmp_path / "audit.jsonl"
    state = tmp_path / "state.json"
    args = ["watch", REPO, "--policy", str(policy), "--once", "--include-existing"]
    args += ["--audit-log", str(audit)]
    result = run(*args, "--state-file", str(state))
    assert result.exit_code == 0, result.output
    statuses = run.statuses()
    assert statuses["user-000000"] == "accepted"
    assert statuses["user-000001"] == "rejected"
    assert statuses["user-000002"] == "accepted"
    assert statuses["user-000003"] == "pending"  # held: no rule matched
    lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    by_user = {line["user"]: line for line in lines}
    assert by_user["user-000001"]["rule"] == "deny-list"
    assert by_user["user-000001"]["reason"] == "Not on the beta list."
    assert by_user["user-000003"]["decision"] == "hold"
    assert SECRET not in result.output

    again = run(*args, "--state-file", str(state))  # a restart decides nothing twice
    assert again.exit_code == 0, again.output
    assert len(audit.read_text(encoding="utf-8").splitlines()) == len(lines)


def test_watch_dry_run_sends_nothing(run: Cli, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    result = run(
        "watch", REPO, "--policy", str(policy), "--once", "--dry-run", "--include-existing"
    )
    assert result.exit_code == 0, result.output
    assert set(run.statuses().values()) == {"pending"}
    assert run.hub.counters.calls.get("batch", 0) == 0


def test_watch_rejects_a_bad_policy_with_one_line(run: Cli, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rules]]\nname = "x"\ntype = "astrology"\ndecision = "accept"\n')
    result = run("watch", REPO, "--policy", str(policy), "--once")
    assert result.exit_code == 2
    assert "unknown rule type 'astrology'" in result.output
    assert "Traceback" not in result.output


def test_first_run_leaves_pending_requests_alone_and_says_so(run: Cli, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    result = run("watch", REPO, "--policy", str(policy), "--once")
    assert result.exit_code == 0, result.output
    assert set(run.statuses().values()) == {"pending"}  # nothing decided
    assert "first run: deciding only requests that arrive from now on" in result.stderr
    assert "left 5 pending requests alone" in result.stderr
    assert "--include-existing" in run("watch", "--help").stdout


@pytest.mark.slow
def test_sigterm_stops_a_continuous_watch_with_its_summary(hub: FakeHub, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    state = tmp_path / "state.json"
    env = {**os.environ, "HF_TOKEN": SECRET, "HF_ENDPOINT": hub.url}
    command = [sys.executable, "-m", "hf_access.cli", "watch", REPO, "--policy", str(policy)]
    proc = subprocess.Popen(
        [*command, "--interval", "5", "--state-file", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        start = proc.stderr.readline()
        assert start.startswith(f"watching {REPO} with policy {policy}, every 5s")
        assert f"state file: {state}" in start
        assert proc.stderr.readline().startswith("first run: deciding only requests")
        assert proc.stderr.readline().startswith("left 5 pending requests alone")
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143
    assert rest.startswith("watch stopped after 1 pass: 0 decisions: 0 accept"), rest
    assert "Traceback" not in rest
    assert state.exists()  # the position was saved
