"""AutoApprover replicas on a RedisCoordinator (a real redis-server): only the leader decides,
a successor continues where the leader stopped, a leader that lost the lease is fenced off."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hf_access import AccessSession, AutoApprover, RetryPolicy
from hf_access.fleet import RedisCoordinator
from hf_access.screening.coordination import NotLeading
from hf_access.screening.policy import Policy, Rule, accept, reject, users
from hf_access.testing import FakeHub

from ._virtual import eventually

REPO = "owner/model"
POLICY = Policy([Rule("deny", users(["mallory"]), reject("Blocked."))], accept())


@pytest.fixture
async def hub() -> AsyncIterator[FakeHub]:
    async with FakeHub() as fake:
        fake.add_repo(REPO)
        yield fake


def arrive(hub: FakeHub, *names: str) -> None:
    for name in names:
        hub.add_user(name)
        hub.ask_access(REPO, name)


def audit(path: Path) -> list[dict[str, Any]]:
    """The outcome lines of an audit log (the intent lines written before sending left out)."""
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line["outcome"] != "intent"]


class Replica:
    def __init__(self, hub: FakeHub, redis_url: str, audit_log: Path, **options: Any) -> None:
        self.coordinator = RedisCoordinator.from_url(
            redis_url, name="screening", lease_ttl=options.pop("lease_ttl", 0.6)
        )
        self.session = AccessSession(hub.token, hub.url, retry=RetryPolicy(max_attempts=1))
        self.audit_log = audit_log
        self.approver = AutoApprover(
            self.session,
            [REPO],
            POLICY,
            audit_log=audit_log,
            coordinator=self.coordinator,
            include_existing=True,  # the requests pending at the start are decided too
        )

    async def close(self) -> None:
        await self.coordinator.aclose()
        await self.session.aclose()


async def test_only_the_leader_decides(hub: FakeHub, redis_url: str, tmp_path: Path) -> None:
    a = Replica(hub, redis_url, tmp_path / "a.jsonl")
    b = Replica(hub, redis_url, tmp_path / "b.jsonl")
    arrive(hub, "alice", "mallory")
    first = await a.approver.run_once()
    standby = await b.approver.run_once()
    assert [r.user for r in first.records] == ["alice", "mallory"]
    assert standby.records == ()
    assert hub.counters.calls.get("list_pending", 0) == 1  # the standby did not even look
    arrive(hub, "bob")
    assert [r.user for r in (await a.approver.run_once()).records] == ["bob"]
    assert hub.request_status(REPO, "bob") == "accepted"
    await a.close()
    await b.close()


async def test_a_successor_continues_where_the_leader_died(
    hub: FakeHub, redis_url: str, tmp_path: Path
) -> None:
    a = Replica(hub, redis_url, tmp_path / "a.jsonl")
    arrive(hub, "alice", "bob")
    await a.approver.run_once()  # position saved in Redis
    arrive(hub, "carol", "mallory")

    class Died(BaseException):
        pass

    write = a.approver._write

    def die(records: Any) -> None:
        if all(r.outcome == "intent" for r in records):
            return write(records)  # the intent lines, written before sending
        raise Died  # killed after sending, before its audit lines and position were written

    a.approver._write = die  # type: ignore[method-assign]
    with pytest.raises(Died):
        await a.approver.run_once()
    assert hub.request_status(REPO, "carol") == "accepted"  # the calls went through
    await a.close()  # gives the lease up (a crash would let it expire)

    arrive(hub, "dave")
    b = Replica(hub, redis_url, tmp_path / "b.jsonl")
    report = await b.approver.run_once()
    lines = {(r["user"], r["outcome"]) for r in audit(tmp_path / "b.jsonl")}
    # carol and mallory: decided by the dead leader, logged by its successor; dave: decided now.
    assert lines == {("carol", "recovered"), ("mallory", "recovered"), ("dave", "ok")}
    assert {r.user for r in report.records} == {"carol", "mallory", "dave"}
    assert hub.request_status(REPO, "mallory") == "rejected"
    # alice and bob were not handed out again: the position carried over.
    assert await b.coordinator.intents() == {}
    await b.close()


async def test_pending_requests_of_a_dead_leaders_intent_are_decided_again(
    hub: FakeHub, redis_url: str, tmp_path: Path
) -> None:
    a = Replica(hub, redis_url, tmp_path / "a.jsonl")
    arrive(hub, "alice")
    await a.approver.run_once()
    arrive(hub, "erin")

    class Died(BaseException):
        pass

    def die(*args: Any, **kwargs: Any) -> Any:
        raise Died  # killed after recording the intent, before sending

    async def never(*args: Any, **kwargs: Any) -> Any:
        raise Died

    a.session.start_bulk = die  # type: ignore[method-assign]
    finish = a.coordinator.finish
    a.coordinator.finish = never  # type: ignore[method-assign]
    with pytest.raises(Died):
        await a.approver.run_once()
    assert len(await a.coordinator.intents()) == 1
    assert hub.request_status(REPO, "erin") == "pending"
    a.coordinator.finish = finish  # type: ignore[method-assign]
    await a.close()

    b = Replica(hub, redis_url, tmp_path / "b.jsonl")
    await b.approver.run_once()
    assert hub.request_status(REPO, "erin") == "accepted"
    assert [(r["user"], r["outcome"]) for r in audit(tmp_path / "b.jsonl")] == [("erin", "ok")]
    assert await b.coordinator.intents() == {}
    await b.close()


async def test_a_leader_that_lost_its_lease_sends_nothing(
    hub: FakeHub, redis_url: str, tmp_path: Path
) -> None:
    old = Replica(hub, redis_url, tmp_path / "old.jsonl", lease_ttl=0.3)  # to run out soon
    new = Replica(hub, redis_url, tmp_path / "new.jsonl")
    arrive(hub, "alice")
    await old.approver.run_once()
    arrive(hub, "bob")
    evaluate = old.approver._evaluate

    async def paused(event: Any) -> Any:
        # The old leader freezes mid-pass (a long GC pause, a stopped VM): its clock and its
        # renewals stop, and the lease passes to the other replica meanwhile.
        old.coordinator._clock = lambda: 0.0
        assert old.coordinator._renewer is not None
        old.coordinator._renewer.cancel()
        await eventually(new.coordinator.try_lead, "the old lease runs out, the new one leads")
        return await evaluate(event)

    old.approver._evaluate = paused  # type: ignore[method-assign]
    with pytest.raises(NotLeading):
        await old.approver.run_once()  # the fenced intent is refused: nothing is sent
    assert hub.request_status(REPO, "bob") == "pending"
    assert [r["user"] for r in audit(tmp_path / "old.jsonl")] == ["alice"]
    assert [r.user for r in (await new.approver.run_once()).records] == ["bob"]
    assert hub.request_status(REPO, "bob") == "accepted"
    await old.close()
    await new.close()
