"""Every example runs, as a user would run it, against the embedded fake Hub (so none rots)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    """No token, repo or endpoint from the developer's shell: the fake Hub only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env["HF_HOME"] = str(ROOT / ".no-hf-home")  # never read a real token file
    return env


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


EXPECTED = {
    "bulk_approve.py": "250 decisions: 250 done",
    "export_report.py": "40 entries (25 accepted, 10 pending, 5 rejected)",
    "screening_service.py": "'user-000001': 'rejected'",
    "webhook_receiver.py": "3 delivered, 0 pending",
}
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("test_"))


def test_the_examples_are_all_here() -> None:
    assert set(EXPECTED) <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_with_no_arguments(script: str) -> None:
    proc = _run(str(EXAMPLES / script))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    if script in EXPECTED:
        assert EXPECTED[script] in proc.stdout


def test_bulk_approve_with_a_users_file(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# two of them\nuser-000003\n\nuser-000007\n")
    proc = _run(str(EXAMPLES / "bulk_approve.py"), str(users))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 decisions: 2 done" in proc.stdout


def test_the_pytest_example_passes() -> None:
    proc = _run(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error::pytest.PytestWarning",
        str(EXAMPLES / "test_with_fake_hub.py"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
