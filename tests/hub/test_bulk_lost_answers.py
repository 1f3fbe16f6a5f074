"""Answers lost after the Hub applied the change: the run settles them honestly (by reading
the target list) before reporting: ``done`` when this run's call landed, ``failed`` only when
it did not. Runs against the fake Hub's ``drop_after_rate`` fault."""

from __future__ import annotations

import pytest

from hf_access import AccessSession, Call, Outcome, RetryPolicy
from hf_access.core.transport import Response
from hf_access.testing import FakeHub, Faults

from ._bulk_helpers import REPO, no_sleep
from .test_bulk_faults import assert_state_matches

RETRY = RetryPolicy(max_attempts=6, initial_backoff=0.001, max_backoff=0.002)


@pytest.mark.parametrize(
    ("use_batch", "count"), [(True, 3000), (False, 1000)], ids=["batch", "handle"]
)
async def test_lost_answers_are_done_not_unchanged(use_batch: bool, count: int) -> None:
    faults = Faults(drop_after_rate=0.1, error_rate=0.05, drop_rate=0.02, seed=11)
    async with FakeHub(faults=faults) as hub:
        hub.add_repo(REPO)
        users = hub.seed_pending(REPO, count)
        async with AccessSession(
            token=hub.token, endpoint=hub.url, retry=RETRY, sleep=no_sleep
        ) as session:
            report = await session.accept_many(REPO, users, use_batch=use_batch, concurrency=16)

        assert hub.counters.faults.get("drop_after", 0) > 0
        assert_state_matches(hub, report, count)
        # Every user was pending: this run made every change, none was "already there".
        assert report.unchanged == 0
        assert report.done == count, report.failures()[:3]
        lost = [i for i in report.items if i.detail and "answer was lost" in i.detail]
        if not use_batch:
            assert lost  # before: reported unchanged


async def test_grant_lost_answers_are_done() -> None:
    async with FakeHub(faults=Faults(drop_after_rate=0.15, seed=5)) as hub:
        hub.add_repo(REPO)
        users = [hub.add_user(f"g{i:03d}").name for i in range(300)]
        async with AccessSession(
            token=hub.token, endpoint=hub.url, retry=RETRY, sleep=no_sleep
        ) as session:
            report = await session.grant_many(REPO, users, concurrency=16)
        assert hub.counters.faults.get("drop_after", 0) > 0
        assert_state_matches(hub, report, len(users))
        assert (report.done, report.unchanged) == (300, 0)  # before: some unchanged


def lose_write_answers(hub: FakeHub, session: AccessSession) -> None:
    """Every write's answer is lost after the Hub applied it; reads are answered."""
    send = session._transport.send

    async def spy(call: Call) -> Response:
        hub.set_faults(Faults(drop_after_rate=1.0) if call.method == "POST" else None)
        return await send(call)

    session._transport.send = spy  # type: ignore[method-assign]


@pytest.mark.parametrize("use_batch", [True, False], ids=["batch", "handle"])
async def test_out_of_retries_after_lost_answers_is_settled_by_the_list(
    use_batch: bool,
) -> None:
    async with FakeHub() as hub:
        hub.add_repo(REPO)
        users = hub.seed_pending(REPO, 150 if use_batch else 10)
        async with AccessSession(
            token=hub.token,
            endpoint=hub.url,
            retry=RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.001),
            sleep=no_sleep,
        ) as session:
            lose_write_answers(hub, session)
            report = await session.accept_many(REPO, users, use_batch=use_batch, concurrency=1)
        assert hub.counters.faults.get("drop_after", 0) > 0
        assert_state_matches(hub, report, len(users))
        assert report.done == len(users)  # before: failed although applied
        assert all(i.detail and "answer was lost" in i.detail for i in report.items)


async def test_a_lost_answer_that_did_not_land_is_failed() -> None:
    # drop before handling: nothing applied, and the run says failed.
    async with FakeHub(faults=Faults(drop_rate=1.0, seed=1)) as hub:
        hub.add_repo(REPO)
        users = hub.seed_pending(REPO, 5)
        async with AccessSession(
            token=hub.token,
            endpoint=hub.url,
            retry=RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.001),
            sleep=no_sleep,
        ) as session:
            report = await session.accept_many(REPO, users)
        assert [i.outcome for i in report.items] == [Outcome.FAILED] * 5
        assert all(hub.request_status(REPO, u) == "pending" for u in users)
