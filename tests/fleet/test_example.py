"""examples/fleet.py runs as a user would run it, on the test's redis-server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_processes_share_one_quota(redis_url: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "fleet.py"), "--redis", redis_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 processes granted 80 users in 80 calls: 0 answers 429" in proc.stdout
