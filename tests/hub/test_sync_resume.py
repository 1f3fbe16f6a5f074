"""A sync killed with kill -9 and run again: nothing done twice, the repo ends in sync."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from hf_access import Outcome
from hf_access.core.journal import Journal
from hf_access.testing import FakeHub, Faults

from ._sync_support import REPO

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from hf_access import AccessSession

    async def main(url, token, journal, users_file):
        users = open(users_file).read().split()
        async with AccessSession(token=token, endpoint=url) as hub:
            plan = await hub.plan_access("acme/model", users, remove="reject")
            report = await hub.apply_plan(plan, journal=journal, concurrency=4)
        print(json.dumps({
            "planned": plan.counts(),
            "outcomes": [[i.decision.user, i.decision.action.value, i.outcome.value]
                         for i in report.items],
        }))

    asyncio.run(main(*sys.argv[1:]))
    """
)

COUNT = 300


async def child(
    script: Path, hub: FakeHub, journal: Path, users: Path
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        hub.url,
        hub.token,
        str(journal),
        str(users),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


@pytest.mark.slow
async def test_sync_killed_and_run_again(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    journal = tmp_path / "sync.jsonl"
    wanted = [f"sync-{i:04d}" for i in range(COUNT)]
    users = tmp_path / "users.txt"
    users.write_text("\n".join(wanted))
    async with FakeHub(faults=Faults(latency_ms=8)) as hub:
        hub.add_repo(REPO)
        for name in wanted:
            hub.add_user(name)
        gone = ["gone-0", "gone-1", "gone-2"]  # accepted, not on the list: rejected
        for name in gone:
            hub.seed_request(REPO, name, status="accepted", requested_at=0, decided_at=60)
        # 1. Run until the journal holds some lines, then kill -9.
        first = await child(script, hub, journal, users)
        for _ in range(3000):
            if journal.exists() and len(journal.read_text().splitlines()) > 30:
                break
            await asyncio.sleep(0.005)
        assert first.returncode is None, "the child ended before it could be killed"
        first.kill()
        await first.communicate()
        assert await first.wait() == -9
        await hub.idle()  # calls the Hub received are applied or dropped

        journaled = {
            key.split("|")[1]
            for key, entry in Journal(journal).load().items()
            if entry.outcome is Outcome.DONE
        }
        granted_at_kill = {u for u in wanted if hub.request_status(REPO, u) == "accepted"}
        assert 30 <= len(journaled) < COUNT
        assert journaled <= granted_at_kill

        # 2. Run it again: the new plan holds only what is left, each sent once.
        hub.reset_counters()
        second = await child(script, hub, journal, users)
        out, err = await asyncio.wait_for(second.communicate(), timeout=60)
        assert second.returncode == 0, err.decode()
        result = json.loads(out)
        assert result["planned"]["grant"] == COUNT - len(granted_at_kill)
        assert hub.counters.calls.get("grant", 0) == COUNT - len(granted_at_kill)
        assert all(outcome == "done" for _, _, outcome in result["outcomes"])
        assert all(hub.request_status(REPO, u) == "accepted" for u in wanted)
        assert all(hub.request_status(REPO, u) == "rejected" for u in gone)

        # 3. Once more: in sync, no write at all.
        hub.reset_counters()
        third = await child(script, hub, journal, users)
        out, err = await asyncio.wait_for(third.communicate(), timeout=60)
        assert third.returncode == 0, err.decode()
        assert json.loads(out)["outcomes"] == []
        assert set(hub.counters.calls) <= {
            "list_pending",
            "list_accepted",
            "list_rejected",
            "list_reset",
        }
