"""The journal: items appended as they finish, reruns skip what is done, kill -9 and resume."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from hf_access import (
    AccessSession,
    BulkProgress,
    Decision,
    HfAccessWarning,
    Outcome,
    UserNotFoundError,
)
from hf_access.core.journal import Journal
from hf_access.testing import FakeHub, Faults

from ._bulk_helpers import REPO, calls


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_each_item_is_in_the_journal_when_it_finishes(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    users = [fhub.add_user(f"j{i:02d}").name for i in range(20)]
    seen: list[bool] = []

    def on_progress(p: BulkProgress[Decision]) -> None:
        assert p.last is not None
        keys = {line.get("key") for line in lines(journal)}
        seen.append(p.last.decision.key in keys)

    report = await session.grant_many(
        REPO, [*users, "ghost"], journal=journal, on_progress=on_progress
    )

    assert seen == [True] * 21
    recorded = lines(journal)
    assert recorded[0] == {"journal": "hf-access", "version": 2, "kind": "hub"}
    assert len(recorded) == 22
    by_key = {line["key"]: line for line in recorded[1:]}
    assert by_key[f"model:{REPO}|ghost|grant"]["outcome"] == "failed"
    assert str(by_key[f"model:{REPO}|ghost|grant"]["error"]).startswith("UserNotFoundError")
    assert report.done == 20


async def test_rerun_skips_done_and_retries_failed(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    users = [fhub.add_user(f"k{i:02d}").name for i in range(8)]
    fhub.add_user("already")
    fhub.ask_access(REPO, "already")
    await session.accept(REPO, "already")
    names = [*users, "late-1", "already", "late-2"]

    first = await session.grant_many(REPO, names, journal=journal)
    assert [i.outcome for i in first.items[8:]] == [
        Outcome.FAILED,
        Outcome.UNCHANGED,
        Outcome.FAILED,
    ]
    assert isinstance(first.items[8].error, UserNotFoundError)

    fhub.add_user("late-1")
    fhub.add_user("late-2")
    fhub.reset_counters()
    second = await session.grant_many(REPO, names, journal=journal)

    assert calls(fhub) == {"grant": 2}  # only the two failed ones are sent again
    assert second.calls == 2
    skipped = [i for i in second.items if i.from_journal]
    assert [i.index for i in skipped] == [*range(8), 9]
    assert all(i.attempts == 0 for i in skipped)
    assert [i.outcome for i in skipped] == [Outcome.DONE] * 8 + [Outcome.UNCHANGED]
    assert second.items[9].detail == "already has access"  # the detail is kept
    assert [(i.outcome, i.from_journal) for i in (second.items[8], second.items[10])] == [
        (Outcome.DONE, False),
        (Outcome.DONE, False),
    ]
    assert second.ok

    fhub.reset_counters()
    third = await session.grant_many(REPO, names, journal=journal)
    assert calls(fhub) == {}
    assert third.ok
    assert all(i.from_journal for i in third.items)


async def test_journal_keys_are_per_action_and_repo(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 5)
    assert (await session.accept_many(REPO, users, journal=journal)).ok
    fhub.reset_counters()
    report = await session.cancel_many(REPO, users, journal=journal)  # another action
    assert report.ok
    assert not any(i.from_journal for i in report.items)
    assert calls(fhub) == {"batch": 1}


async def test_torn_last_line_is_tolerated(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 6)
    assert (await session.accept_many(REPO, users[:4], journal=journal)).ok
    with journal.open("a") as handle:
        handle.write('{"key":"model:owner/gated-model|user-000004|acc')  # killed mid-write
    fhub.reset_counters()

    report = await session.accept_many(REPO, users, journal=journal)

    assert [i.from_journal for i in report.items] == [True] * 4 + [False] * 2
    assert report.ok
    assert calls(fhub) == {"batch": 1}


async def test_a_corrupt_line_is_quarantined_and_the_run_resumes(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 3)
    done = f"model:{REPO}|{users[0]}|accept"
    journal.write_text(
        '{"journal":"hf-access","version":1}\nnot json\n'
        + json.dumps({"key": done, "outcome": "done"})
        + '\n{"key": 5}\n'
    )
    with pytest.warns(HfAccessWarning, match=r"2 corrupt line\(s\) \(2, 4\) moved to"):
        report = await session.accept_many(REPO, users, journal=journal)
    assert [i.from_journal for i in report.items] == [True, False, False]
    assert report.ok
    assert (tmp_path / "run.jsonl.corrupt").read_text() == "not json\n".join(["2: ", ""]) + (
        '4: {"key": 5}\n'
    )
    # Regression: every later resume failed with "not a journal line".
    fhub.reset_counters()
    again = await session.accept_many(REPO, users, journal=journal)
    assert all(i.from_journal for i in again.items)
    assert calls(fhub) == {}


async def test_resume_after_a_torn_line_keeps_the_journal_readable(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 6)
    assert (await session.accept_many(REPO, users[:2], journal=journal)).ok
    with journal.open("a") as handle:
        handle.write('{"key":"model:owner/gated-model|user-000002|acc')  # killed mid-write

    assert (await session.accept_many(REPO, users[:4], journal=journal)).ok  # resumes
    # Regression: the record after the torn line was glued to it (lost), and this third run
    # failed with "not a journal line".
    assert (await session.accept_many(REPO, users, journal=journal)).ok
    entries = Journal(journal).load()
    assert {f"model:{REPO}|{u}|accept" for u in users} <= set(entries)


async def test_duplicates_of_an_item_settled_by_the_journal(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 3)
    names = [*users, users[0]]
    assert (await session.accept_many(REPO, names, journal=journal)).ok

    report = await session.accept_many(REPO, names, journal=journal)

    # Regression: the duplicate mirrors the journal's outcome (it was left "not attempted").
    dup = report.items[3]
    assert dup.outcome is Outcome.DONE
    assert dup.from_journal
    assert dup.attempts == 0
    assert report.ok


async def test_dry_run_reads_the_journal_and_writes_nothing(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 150)
    assert (await session.accept_many(REPO, users[:120], journal=journal)).ok
    before = journal.read_bytes()
    fhub.reset_counters()

    report = await session.accept_many(REPO, users, journal=journal, dry_run=True)

    assert journal.read_bytes() == before
    assert calls(fhub) == {}
    assert [c.items for c in report.plan] == [30]
    assert report.done == 120
    assert report.not_attempted == 30


# -- kill -9 and resume ------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from hf_access import AccessSession

    async def main(url, token, journal, action, count, concurrency):
        users = [f"kill-{i:04d}" for i in range(count)]
        async with AccessSession(token=token, endpoint=url) as hub:
            if action == "grant":
                report = await hub.grant_many(
                    "owner/gated-model", users, concurrency=concurrency, journal=journal
                )
            else:
                report = await hub.accept_many(
                    "owner/gated-model", users, concurrency=concurrency, journal=journal,
                    use_batch=False,
                )
        print(json.dumps({
            "stopped": report.stopped,
            "items": [
                [i.decision.user, i.outcome.value, i.from_journal, i.attempts, repr(i.error)]
                for i in report.items
            ],
        }))

    url, token, journal, action, count, concurrency = sys.argv[1:]
    asyncio.run(main(url, token, journal, action, int(count), int(concurrency)))
    """
)

COUNT, CONCURRENCY = 400, 4


async def child(
    script: Path, hub: FakeHub, journal: Path, action: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        hub.url,
        hub.token,
        str(journal),
        action,
        str(COUNT),
        str(CONCURRENCY),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


@pytest.mark.slow
@pytest.mark.parametrize("action", ["grant", "accept"])
async def test_kill_9_and_resume(tmp_path: Path, action: str) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    journal = tmp_path / "run.jsonl"
    route = "grant" if action == "grant" else "handle"
    async with FakeHub(faults=Faults(latency_ms=8)) as hub:
        hub.add_repo(REPO)
        users = [f"kill-{i:04d}" for i in range(COUNT)]
        for name in users:
            hub.add_user(name)
            if action == "accept":
                hub.ask_access(REPO, name)

        # 1. Run until the journal holds some lines, then kill -9.
        first = await child(script, hub, journal, action)
        for _ in range(3000):
            if journal.exists() and len(journal.read_text().splitlines()) > 40:
                break
            await asyncio.sleep(0.005)
        assert first.returncode is None, "the child ended before it could be killed"
        first.kill()  # SIGKILL
        await first.communicate()  # closes its pipes
        assert await first.wait() == -9
        # Calls the Hub had received when the child died are either applied or dropped
        # (its handler is cancelled with the connection): let them end before looking.
        await hub.idle()

        settled = {
            key.split("|")[1]
            for key, entry in Journal(journal).load().items()
            if entry.outcome in (Outcome.DONE, Outcome.UNCHANGED)
        }
        accepted_at_kill = {u for u in users if hub.request_status(REPO, u) == "accepted"}
        calls_first = hub.counters.calls.get(route, 0)
        assert 40 <= len(settled) < COUNT
        assert settled <= accepted_at_kill
        in_flight = accepted_at_kill - settled  # applied by the Hub, answer never journaled
        assert len(in_flight) <= CONCURRENCY
        # Every call the Hub received was either applied, or dropped with the connection.
        assert len(accepted_at_kill) <= calls_first <= len(accepted_at_kill) + CONCURRENCY

        # 2. Rerun with the same journal and the same inputs.
        hub.reset_counters()
        second = await child(script, hub, journal, action)
        out, err = await asyncio.wait_for(second.communicate(), timeout=60)
        assert second.returncode == 0, err.decode()
        result = json.loads(out)

    items = result["items"]
    assert result["stopped"] is None
    assert [user for user, *_ in items] == users  # every item accounted for, in order
    outcomes = {
        user: (outcome, from_journal, attempts)
        for user, outcome, from_journal, attempts, _ in items
    }
    for user in users:
        outcome, from_journal, attempts = outcomes[user]
        if user in settled:  # done before the kill: skipped, nothing sent for it
            assert (outcome, from_journal, attempts) in {("done", True, 0), ("unchanged", True, 0)}
        elif user in in_flight:  # sent twice: the second answer says it was already there
            assert (outcome, from_journal) == ("unchanged", False), user
        else:
            assert (outcome, from_journal) == ("done", False), user
    # The rerun sent exactly one decision per item the journal did not settle; no user was
    # decided twice except the few in flight at the kill, which came back unchanged.
    served = hub.counters.calls
    assert served.get(route, 0) == COUNT - len(settled)
    if action == "accept":  # each in-flight item's 404 was resolved by one list search
        assert served.get("list_accepted", 0) == len(in_flight)
    assert all(hub.request_status(REPO, u) == "accepted" for u in users)
