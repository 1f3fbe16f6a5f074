"""One process per journal or state file: a second process is refused at once, with the file
and the holder's pid; the lock goes with the holder, even after ``kill -9``."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path

import pytest

from hf_access import AccessSession, FileInUseError
from hf_access.core.filelock import FileLock
from hf_access.core.journal import Journal
from hf_access.hub.watch import Watcher
from hf_access.screening.autoapprove import AutoApprover
from hf_access.screening.policy import Policy
from hf_access.testing import FakeHub

REPO = "owner/gated-model"
ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from hf_access import AccessSession
    from hf_access.core.journal import Journal
    from hf_access.hub.watch import Watcher

    async def main(kind, path):
        if kind == "journal":
            journal = Journal(path, kind="hub")
            journal.open()
        else:
            session = AccessSession(token="hf_x", endpoint="http://127.0.0.1:9")
            watcher = Watcher(session, ["owner/gated-model"], state_file=path)
        print("ready", flush=True)
        sys.stdin.readline()  # hold the file until told (or killed)

    asyncio.run(main(*sys.argv[1:]))
    """
)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "holder.py"
    path.write_text(HOLDER)
    return path


async def start(script: Path, kind: str, path: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        kind,
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    assert line == b"ready\n", (await proc.stderr.read()).decode() if proc.stderr else line
    return proc


async def kill(proc: asyncio.subprocess.Process) -> None:
    proc.kill()  # SIGKILL: no cleanup runs in the holder
    await proc.communicate()
    assert await proc.wait() == -9


async def test_a_second_process_on_a_journal_is_refused_before_sending(
    tmp_path: Path, script: Path
) -> None:
    path = tmp_path / "run.jsonl"
    first = await start(script, "journal", path)
    try:
        async with FakeHub() as hub:
            hub.add_repo(REPO)
            users = hub.seed_pending(REPO, 5)
            hub.reset_counters()
            async with AccessSession(token=hub.token, endpoint=hub.url) as session:
                with pytest.raises(FileInUseError) as info:
                    await session.accept_many(REPO, users, journal=path)
                assert info.value.pid == first.pid
                assert str(path) in str(info.value)
                assert f"process {first.pid}" in str(info.value)
                assert hub.counters.total_calls == 0  # nothing sent twice

                await kill(first)  # the lock dies with its holder
                report = await session.accept_many(REPO, users, journal=path)
                assert report.done == 5
    finally:
        if first.returncode is None:
            await kill(first)


async def test_a_second_process_on_a_state_file_is_refused(tmp_path: Path, script: Path) -> None:
    state = tmp_path / "approver.json"
    first = await start(script, "watch", state)
    session = AccessSession(token="hf_x", endpoint="http://127.0.0.1:9")
    try:
        with pytest.raises(
            FileInUseError, match=rf"approver\.json is in use by process {first.pid}"
        ):
            AutoApprover(session, [REPO], Policy([]), state_file=state)
        with pytest.raises(FileInUseError):
            Watcher(session, [REPO], state_file=state)
        AutoApprover(session, [REPO], Policy([]), state_file=state, dry_run=True)  # reads only
        await kill(first)
        watcher = Watcher(session, [REPO], state_file=state)
        await watcher.aclose()
    finally:
        if first.returncode is None:
            await kill(first)
        await session.aclose()


def test_in_one_process_a_journal_is_exclusive_and_a_state_file_shared(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    journal = Journal(path)
    journal.open()
    try:
        with pytest.raises(FileInUseError, match=f"process {os.getpid()}"):
            Journal(path).open()
    finally:
        journal.close()
    Journal(path).open()  # released on close
    with FileLock(tmp_path / "s.json"), FileLock(tmp_path / "s.json"):
        pass
