"""The README's examples run, against the fake Hub, so they never rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hf_access.testing import FakeHub

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example(name: str, language: str = "python") -> str:
    text = README.read_text(encoding="utf-8")
    marker = f"<!-- readme-example: {name}"
    start = text.index(marker)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    assert match is not None, f"no python block after {marker}"
    return match.group(1)


@pytest.mark.slow
def test_quickstart_runs_against_the_fake_hub(tmp_path: Path) -> None:
    script = tmp_path / "quickstart.py"
    script.write_text(readme_example("quickstart"), encoding="utf-8")
    with FakeHub() as hub:
        hub.add_repo("my-org/gated-model", gated="manual")
        for name, domain in [
            ("ann", "my-company.com"),
            ("ben", "my-company.com"),
            ("cat", "elsewhere.org"),
            ("dan", "my-company.com"),
        ]:
            hub.add_user(name, email=f"{name}@{domain}")
            hub.ask_access("my-org/gated-model", name)
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": hub.token}
        env.pop("HF_TOKEN_PATH", None)
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "3 decisions: 3 done, 0 unchanged, 0 failed" in done.stdout
        assert hub.request_status("my-org/gated-model", "ann") == "accepted"
        assert hub.request_status("my-org/gated-model", "cat") == "pending"


@pytest.mark.slow
def test_the_pytest_setup_for_fake_hub_passes(tmp_path: Path) -> None:
    # The two files as a user would copy them, in a project of their own.
    (tmp_path / "pytest.ini").write_text(readme_example("pytest-config", "ini"), encoding="utf-8")
    (tmp_path / "test_access.py").write_text(readme_example("pytest-test"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_readme_claims_only_flags_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    bench = README.parent / "benchmarks"
    if "either script takes `--quick`" in text:
        for script in ("bench_bulk.py", "bench_fake_hub.py"):
            assert '"--quick"' in (bench / script).read_text(encoding="utf-8"), script
    assert "2.5 hours at the scaled quota" not in text  # the free plan's figure
    assert text.count("handle calls/s") + text.count("handle calls per") == 1  # given once
