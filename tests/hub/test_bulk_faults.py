"""Under injected faults every item is accounted for and the fake Hub's state equals the report."""

from __future__ import annotations

import pytest

from hf_access import AccessSession, BulkReport, Decision, Outcome, RetryPolicy
from hf_access.testing import FakeHub, Faults

from ._bulk_helpers import REPO, no_sleep

FAULTS = Faults(error_rate=0.10, drop_rate=0.02, drop_after_rate=0.03, seed=7)
RETRY = RetryPolicy(max_attempts=6, initial_backoff=0.001, max_backoff=0.002)


def assert_state_matches(
    hub: FakeHub, report: BulkReport[Decision], total: int, *, unknown_ok: bool = False
) -> None:
    """Every item's outcome is the Hub's state; with ``unknown_ok``, a failed item may be
    applied only if its detail says it cannot be told (answer lost, list unreadable)."""
    assert len(report.items) == total
    assert [i.index for i in report.items] == list(range(total))
    assert report.not_attempted == 0
    assert report.stopped is None
    state = hub.snapshot(REPO)
    for item in report.items:
        record = state.get(item.decision.user)
        status = record.status if record is not None else None
        if item.ok:
            assert status == "accepted", item
        else:
            assert item.outcome is Outcome.FAILED, item
            if unknown_ok and status == "accepted":
                assert "may have been applied" in (item.detail or ""), item
            else:
                assert status != "accepted", item


@pytest.mark.parametrize(
    ("use_batch", "count"), [(True, 5000), (False, 1500)], ids=["batch-5000", "handle-1500"]
)
async def test_accepts_under_faults(use_batch: bool, count: int) -> None:
    async with FakeHub(faults=FAULTS) as hub:
        hub.add_repo(REPO)
        users = hub.seed_pending(REPO, count)
        async with AccessSession(
            token=hub.token, endpoint=hub.url, retry=RETRY, sleep=no_sleep
        ) as session:
            report = await session.accept_many(REPO, users, use_batch=use_batch, concurrency=16)

        faults = hub.counters.faults
        assert faults.get("drop", 0) > 0
        assert sum(n for kind, n in faults.items() if kind.startswith("error_")) > 0
        assert report.calls > (50 if use_batch else 1500)  # retries happened
        assert_state_matches(hub, report, len(users))
        assert report.ok, report.failures()[:3]


async def test_grant_run_under_faults() -> None:
    async with FakeHub(faults=FAULTS) as hub:
        hub.add_repo(REPO)
        users = [hub.add_user(f"f{i:03d}").name for i in range(400)]
        names = [*users, "ghost-1", "ghost-2"]
        async with AccessSession(
            token=hub.token, endpoint=hub.url, retry=RETRY, sleep=no_sleep
        ) as session:
            report = await session.grant_many(REPO, names, concurrency=16)

        assert hub.counters.faults.get("drop", 0) > 0
        assert_state_matches(hub, report, len(names))
        assert report.done == 400
        assert report.failed == 2
        assert report.calls >= 402
        assert max(i.attempts for i in report.items) > 1


async def test_exhausted_retries_fail_only_their_items() -> None:
    # One attempt only: every injected fault becomes a failed item, the rest goes on.
    async with FakeHub(
        faults=Faults(error_rate=0.2, drop_rate=0.05, drop_after_rate=0.05, seed=3)
    ) as hub:
        hub.add_repo(REPO)
        users = [hub.add_user(f"e{i:03d}").name for i in range(300)]
        async with AccessSession(
            token=hub.token, endpoint=hub.url, retry=RetryPolicy(max_attempts=1)
        ) as session:
            report = await session.grant_many(REPO, users, concurrency=8)

        assert report.failed > 0
        assert report.done > 0
        kinds = {type(i.error).__name__ for i in report.failures()}
        assert kinds <= {"ServerError", "APIConnectionError"}
        assert_state_matches(hub, report, len(users), unknown_ok=True)
        lost = [i for i in report.items if "answer was lost" in (i.detail or "")]
        assert lost  # some lost answers were settled by reading the list
