"""kill -9 between the Hub applying a decision and its audit line: the intent is on disk
before the call, and the next start settles it by reading the target list, so every
decision the Hub applied has an audit line and none is decided twice."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from hf_access.testing import FakeHub

REPO = "owner/gated-model"
ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from hf_access import AccessSession
    from hf_access.screening.autoapprove import AutoApprover
    from hf_access.screening.policy import Policy, accept

    async def main(url, token, audit, state, stall):
        async with AccessSession(token=token, endpoint=url) as hub:
            send = hub._transport.send

            async def stalling(call):  # the window a crash can hit: applied, not yet logged
                response = await send(call)
                if stall == "stall" and call.path.endswith("/batch"):
                    print("applied", flush=True)
                    await asyncio.sleep(600)
                return response

            hub._transport.send = stalling
            approver = AutoApprover(
                hub, ["owner/gated-model"], Policy([], default=accept()),
                audit_log=audit, state_file=state, include_existing=True,
            )
            report = await approver.run_once()
            print(report.summary(), flush=True)

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def run_child(script: Path, hub: FakeHub, audit: Path, state: Path, *, kill: bool) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        hub.url,
        hub.token,
        str(audit),
        str(state),
        "stall" if kill else "go",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if kill:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert line == b"applied\n", line
        proc.kill()  # SIGKILL after the Hub applied the batch, before the audit was written
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert kill or proc.returncode == 0, err.decode()
    return await proc.wait()


def lines(audit: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]


@pytest.mark.slow
async def test_kill_9_between_the_call_and_the_audit_leaves_no_gap(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    audit, state = tmp_path / "audit.jsonl", tmp_path / "approver.json"
    async with FakeHub() as hub:
        hub.add_repo(REPO)
        users: list[str] = []
        for round_ in range(3):
            users += hub.seed_pending(REPO, 30, prefix=f"r{round_}")
            assert await run_child(script, hub, audit, state, kill=True) == -9
            assert all(hub.request_status(REPO, u) == "accepted" for u in users)
            recovered = {r["user"] for r in lines(audit) if r["outcome"] == "recovered"}
            assert recovered == set(users[:-30])  # the earlier kills' gaps are closed
        assert await run_child(script, hub, audit, state, kill=False) == 0
        batches = hub.counters.calls.get("batch", 0)

    records = lines(audit)
    outcomes: dict[str, list[str]] = {}
    for record in records:
        outcomes.setdefault(str(record["user"]), []).append(str(record["outcome"]))
    for user in users:  # every applied decision has an outcome line, exactly one
        finals = [o for o in outcomes.get(user, []) if o != "intent"]
        assert finals in (["recovered"], ["ok"]), (user, outcomes.get(user))
        assert outcomes[user].count("intent") == 1, (user, outcomes[user])  # decided once
    assert sum(o == ["intent", "recovered"] for o in outcomes.values()) == len(users)
    assert batches == 3  # the last run found nothing left to send
