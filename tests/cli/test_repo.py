"""``hf-access report`` and ``hf-access gating``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .conftest import REPO, Cli


def test_report_json_to_stdout(run: Cli) -> None:
    assert run("accept", REPO, "user-000000").exit_code == 0
    result = run("report", REPO)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 5
    accepted = next(r for r in rows if r["username"] == "user-000000")
    assert accepted["status"] == "accepted"
    assert accepted["granted_by"]["username"] == "owner2"
    assert "access report of acme/model: 5 entries (1 accepted, 4 pending)" in result.stderr


def test_report_csv_to_a_file(run: Cli, tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    result = run("report", REPO, "--format", "csv", "--output", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"to {path}" in result.stderr
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert {r["status"] for r in rows} == {"pending"}
    assert rows[0]["username"] == "user-000000"
    assert rows[0]["email"] == "user-000000@example.org"


def test_gating_show_and_set(run: Cli) -> None:
    shown = run("gating", REPO)
    assert shown.exit_code == 0
    assert shown.stdout == "acme/model: gated manual\n"
    changed = run(
        "gating", REPO, "--set", "auto", "--notify", "real-time", "--notify-email", "a@b.org"
    )
    assert changed.exit_code == 0, changed.stderr
    assert changed.stdout == "acme/model: gated auto\n"
    settings = run.hub.repo(REPO).settings
    assert settings["gatedNotificationsMode"] == "real-time"
    assert settings["gatedNotificationsEmail"] == "a@b.org"
    off = run("gating", REPO, "--set", "off")
    assert off.stdout == "acme/model: gated off\n"
    assert run.hub.repo(REPO).gated is False


def test_gating_bad_value_is_a_usage_error(run: Cli) -> None:
    result = run("gating", REPO, "--set", "sometimes")
    assert result.exit_code == 2
