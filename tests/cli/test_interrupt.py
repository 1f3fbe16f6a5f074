"""Ctrl-C during a bulk run: a clean stop, the partial summary, exit 130, then a resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hf_access.testing import Faults

from .conftest import REPO, SECRET, Cli


def _journal_lines(path: Path) -> int:
    try:
        return len(path.read_text().splitlines())
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_the_journal_resumes(run: Cli, tmp_path: Path) -> None:
    hub = run.hub
    hub.seed_pending(REPO, 200, prefix="slow")
    users = tmp_path / "users.txt"
    users.write_text("".join(f"slow-{i:06d}\n" for i in range(200)))
    journal = tmp_path / "journal.jsonl"
    hub.set_faults(Faults(latency_ms=40))  # one call per user, two at a time: ~4 s in all
    args = [
        "--endpoint", hub.url, "--token", SECRET, "accept", REPO, "--from-file", str(users),
        "--no-batch", "--concurrency", "2", "--journal", str(journal), "--yes",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hf_access.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while _journal_lines(journal) < 6 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # polling the journal file, not waiting for a fixed time
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "accept: 200 decisions:" in stderr
    assert "stopped: cancelled" in stderr
    assert f"Run the same command again to resume: the journal {journal}" in stderr
    accepted = sum(1 for status in run.statuses().values() if status == "accepted")
    assert 0 < accepted < 200

    hub.set_faults(None)
    result = run("accept", REPO, "--from-file", str(users), "--no-batch", "--journal",
                 str(journal), "--yes")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "taken from the journal" in result.stderr
    assert sum(1 for s in run.statuses().values() if s == "accepted") == 200


@pytest.mark.slow
def test_the_first_ctrl_c_at_the_prompt_aborts_at_once(tmp_path: Path) -> None:
    # A real terminal on stdin (a pty), so the prompt is asked; Ctrl-C is SIGINT.
    import os
    import pty
    import signal
    import subprocess
    import sys

    from hf_access.testing import FakeHub

    with FakeHub() as hub:
        hub.add_repo("acme/model")
        names = hub.seed_pending("acme/model", 150)
        users = tmp_path / "users.txt"
        users.write_text("\n".join(names), encoding="utf-8")
        master, slave = pty.openpty()
        env = {**os.environ, "HF_TOKEN": hub.token, "HF_ENDPOINT": hub.url}
        proc = subprocess.Popen(
            [sys.executable, "-m", "hf_access.cli", "accept", "acme/model", "--from-file", str(users)],
            stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        os.close(slave)
        try:
            assert proc.stderr is not None
            prompt = b""
            while b"Continue?" not in prompt:
                chunk = proc.stderr.read1(1024)  # type: ignore[attr-defined]
                assert chunk, prompt
                prompt += chunk
            proc.send_signal(signal.SIGINT)
            _, rest = proc.communicate(timeout=20)
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 130, rest
        assert b"interrupted: nothing was sent" in rest
        assert {r.status for r in hub.snapshot("acme/model").values()} == {"pending"}
