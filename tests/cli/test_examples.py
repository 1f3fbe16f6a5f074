"""Every example runs, as a user would run it, against the embedded fake Hub (so none rots)."""

from __future__ import annotations

import os
import shutil
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
    if script == "fleet.py" and shutil.which("redis-server") is None:
        pytest.skip("examples/fleet.py starts a redis-server, and none is installed here")
    proc = _run(str(EXAMPLES / script))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    if script in EXPECTED:
        assert EXPECTED[script] in proc.stdout
    assert "talking to a fake Hub at http://127.0.0.1:" in proc.stdout + proc.stderr


def test_the_examples_read_the_same_sources_as_the_readme() -> None:
    # a repo from the argument or HF_ACCESS_REPO; the token from HF_TOKEN or the token file
    for script in SCRIPTS:
        text = (EXAMPLES / script).read_text(encoding="utf-8")
        assert "HF_REPO" not in text.replace("HF_ACCESS_REPO", ""), script
        assert 'environ.get("HF_TOKEN")' not in text, script  # the session resolves it
        if 'environ.get("HF_ACCESS_REPO")' in text or "sys.argv" in text:
            assert "talking to the Hub at" in text or script == "fleet.py", script


def test_auto_approver_on_a_given_hub_with_the_token_file(tmp_path: Path) -> None:
    from hf_access.testing import FakeHub

    with FakeHub() as hub:
        hub.add_repo("acme/model")
        hub.seed_pending("acme/model", 4)
        (tmp_path / "token").write_text(hub.token)
        url = hub.url
        env = {**_env(), "HF_HOME": str(tmp_path), "HF_ENDPOINT": url}
        env["HF_ACCESS_REPO"] = "acme/model"
        proc = subprocess.run(
            [sys.executable, str(EXAMPLES / "auto_approver.py")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"talking to the Hub at {url}" in proc.stderr
    assert "left 4 pending requests alone" in proc.stderr
    assert "0 decisions" in proc.stderr


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
