"""A process that takes fleet resources, says so on stdout, and waits to be killed (-9)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_PROGRAM = textwrap.dedent(
    """
    import asyncio, sys
    from hf_access import Quota
    from hf_access.fleet import RedisCoordinator, RedisRateLimiter

    async def main(kind, url, name, count):
        if kind == "limiter":
            quota = Quota(100, 60.0) if count > 1 else None
            limiter = RedisRateLimiter.from_url(url, key=name, quota=quota, lease_ttl=0.3)
            for _ in range(count):
                await limiter.acquire()
        else:
            coordinator = RedisCoordinator.from_url(url, name=name, lease_ttl=0.3)
            await coordinator.lead()
            await coordinator.begin("batch-1", {"users": ["alice", "bob"]})
        print("ready", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
    """
)


def start(kind: str, url: str, name: str, count: int = 1) -> subprocess.Popen[str]:
    """Start the process and wait until it holds what it was asked to take."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _PROGRAM, kind, url, name, str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"the helper process failed to start: {line!r}")
    return proc


def kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()  # SIGKILL: no clean-up of any kind
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()
