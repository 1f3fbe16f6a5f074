"""``hf-access demo`` at a small scale (the hidden options keep it fast)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hf_access.cli.app import cli


def test_demo_small_scale(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            "--requests",
            "600",
            "--quota",
            "1000",
            "--window",
            "60",
            "--output-dir",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # lines are wrapped at 100 columns
    for step in ("What is pending", "Screening", "Bulk accept and reject", "Access reports",
                 "Calls used"):  # fmt: skip
        assert step in text
    assert "600 decisions: 600 done" in text
    assert "one call per user" in text
    assert "1000 calls per 60 s window" in text
    assert "\x1b[" not in text  # no colours or bars when not on a terminal
    reports = sorted(p.name for p in out.glob("access-report-*.csv"))
    assert reports == [
        "access-report-acme-ai-atlas-70b.csv",
        "access-report-acme-ai-atlas-8b.csv",
        "access-report-acme-ai-speech-commands-xl.csv",
    ]
    outcomes = [json.loads(line) for line in (out / "decisions.jsonl").read_text().splitlines()]
    assert len(outcomes) == 600
    assert {o["action"] for o in outcomes} == {"accept", "reject"}
    assert all(o["outcome"] == "done" for o in outcomes)


def test_demo_is_in_the_help_but_its_tuning_is_hidden() -> None:
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0
    assert "--requests" not in result.stdout
