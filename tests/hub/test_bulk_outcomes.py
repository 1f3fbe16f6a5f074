"""Outcomes per item: done, unchanged, failed with its typed error, not attempted and why."""

from __future__ import annotations

import pytest

from hf_access import (
    AccessSession,
    AuthenticationError,
    Outcome,
    PermissionDeniedError,
    RepoNotFoundError,
    RequestNotFoundError,
    UserNotFoundError,
)
from hf_access.testing import FakeHub

from ._bulk_helpers import FAST_RETRY, OTHER, REPO, Concurrency, calls, no_sleep


def session_with(fhub: FakeHub, token: str) -> AccessSession:
    return AccessSession(token=token, endpoint=fhub.url, retry=FAST_RETRY, sleep=no_sleep)


@pytest.fixture
async def people(fhub: FakeHub) -> dict[str, str]:
    """alice pending, bob accepted (by grant), carol with no request, 'ghost' unknown."""
    for name in ("alice", "bob", "carol"):
        fhub.add_user(name)
    fhub.ask_access(REPO, "alice")
    fhub.ask_access(REPO, "bob")
    async with session_with(fhub, fhub.token) as hub:
        await hub.accept(REPO, "bob")
    fhub.reset_counters()
    return {"pending": "alice", "accepted": "bob", "no_request": "carol", "unknown": "ghost"}


async def test_grant_outcomes(
    fhub: FakeHub, session: AccessSession, people: dict[str, str]
) -> None:
    report = await session.grant_many(REPO, ["alice", "bob", "carol", "ghost"])
    alice, bob, carol, ghost = report.items
    assert alice.outcome is Outcome.DONE  # a pending request is accepted by grant
    assert (bob.outcome, bob.detail, bob.attempts) == (Outcome.UNCHANGED, "already has access", 1)
    assert bob.ok
    assert bob.error is None
    assert carol.outcome is Outcome.DONE
    assert ghost.outcome is Outcome.FAILED
    assert isinstance(ghost.error, UserNotFoundError)
    assert calls(fhub) == {"grant": 4}
    assert report.stopped is None
    assert [fhub.request_status(REPO, n) for n in ("alice", "bob", "carol")] == ["accepted"] * 3
    assert report.summary().startswith("4 decisions: 2 done, 1 unchanged, 1 failed, 0 not")


async def test_handle_404_is_resolved_from_the_target_list(
    fhub: FakeHub, session: AccessSession, people: dict[str, str]
) -> None:
    report = await session.accept_many(REPO, ["alice", "bob", "carol", "ghost"], use_batch=False)
    alice, bob, carol, ghost = report.items
    assert alice.outcome is Outcome.DONE
    # bob already is accepted: the Hub's 404 is ambiguous, the accepted list settles it.
    assert (bob.outcome, bob.detail) == (Outcome.UNCHANGED, "already accepted")
    assert bob.attempts == 2  # the handle call and the search of the accepted list
    # carol has no request: the same 404, but she is not on the accepted list.
    assert carol.outcome is Outcome.FAILED
    assert isinstance(carol.error, RequestNotFoundError)
    assert ghost.outcome is Outcome.FAILED
    assert isinstance(ghost.error, UserNotFoundError)
    assert calls(fhub) == {"handle": 4, "list_accepted": 2}
    assert fhub.request_status(REPO, "carol") is None


async def test_handle_404_for_cancel_reads_the_pending_list(
    fhub: FakeHub, session: AccessSession, people: dict[str, str]
) -> None:
    report = await session.cancel_many(REPO, ["alice", "bob"], use_batch=False)
    assert [(i.outcome, i.detail) for i in report.items] == [
        (Outcome.UNCHANGED, "already pending"),
        (Outcome.DONE, None),
    ]
    assert calls(fhub) == {"handle": 2, "list_pending": 1}


async def test_precheck_with_batch_reports_unchanged_and_sends_the_rest(
    fhub: FakeHub, session: AccessSession
) -> None:
    users = fhub.seed_pending(REPO, 10)
    assert (await session.accept_many(REPO, users[:4])).ok
    fhub.reset_counters()
    spy = Concurrency.on(session)
    report = await session.accept_many(REPO, users, precheck=True)
    sent = [[r["user"] for r in c.body["requests"]] for c in spy.calls if c.method == "POST"]

    assert [i.outcome for i in report.items] == [Outcome.UNCHANGED] * 4 + [Outcome.DONE] * 6
    assert {i.detail for i in report.items[:4]} == {"already accepted"}
    assert {i.attempts for i in report.items[:4]} == {0}
    assert sent == [users[4:]]
    assert calls(fhub) == {"list_accepted": 1, "batch": 1}


async def test_precheck_for_grant_reads_the_accepted_list_once_per_repo(
    fhub: FakeHub, session: AccessSession, people: dict[str, str]
) -> None:
    report = await session.grant_many([REPO, OTHER], ["bob", "carol"], precheck=True)
    assert [(i.decision.repo_id, i.outcome) for i in report.items] == [
        (REPO, Outcome.UNCHANGED),
        (REPO, Outcome.DONE),
        (OTHER, Outcome.DONE),
        (OTHER, Outcome.DONE),
    ]
    assert calls(fhub) == {"list_accepted": 2, "grant": 3}


async def test_batch_on_items_already_there_is_done_without_precheck(
    fhub: FakeHub, session: AccessSession, people: dict[str, str]
) -> None:
    # The batch route answers ok for an item already in the target status: without a
    # precheck the engine cannot tell it from a change, and reports it done.
    report = await session.accept_many(REPO, ["bob"])
    assert report.items[0].outcome is Outcome.DONE
    assert calls(fhub) == {"batch": 1}


@pytest.mark.parametrize("kind", ["invalid token", "read token"])
async def test_401_403_stop_the_run(fhub: FakeHub, kind: str) -> None:
    users = [fhub.add_user(f"u{i}").name for i in range(10)]
    if kind == "read token":
        fhub.add_token("hf_read", user="u0", role="read")
    token, error = (
        ("hf_not_a_token", AuthenticationError)
        if kind == "invalid token"
        else ("hf_read", PermissionDeniedError)
    )
    async with session_with(fhub, token) as hub:
        report = await hub.grant_many(REPO, users, concurrency=1)

    first, *rest = report.items
    assert first.outcome is Outcome.FAILED
    assert isinstance(first.error, error)
    assert report.stopped is not None
    assert report.stopped.startswith(error.__name__)
    assert all(i.outcome is Outcome.NOT_ATTEMPTED for i in rest)
    assert {i.detail for i in rest} == {f"run stopped: {report.stopped}"}
    assert all(i.attempts == 0 for i in rest)
    assert calls(fhub) == {"grant": 1}  # nothing sent after it
    assert "(stopped: " in report.summary()


async def test_403_on_one_namespace_mid_run_stops_everything_after(fhub: FakeHub) -> None:
    fhub.add_repo("elsewhere/model")
    users = fhub.seed_pending(REPO, 5)
    fhub.seed_pending("elsewhere/model", 5)
    fhub.add_token("hf_scoped", user="owner", role="write", namespaces=["owner"])
    decisions = [(REPO, u, "accept") for u in users[:3]]
    decisions += [("elsewhere/model", u, "accept") for u in users]
    decisions += [(REPO, u, "accept") for u in users[3:]]

    async with session_with(fhub, "hf_scoped") as hub:
        report = await hub.decide_many(decisions, use_batch=False, concurrency=1)

    outcomes = [i.outcome for i in report.items]
    assert outcomes[:3] == [Outcome.DONE] * 3
    assert outcomes[3] is Outcome.FAILED
    assert isinstance(report.items[3].error, PermissionDeniedError)
    assert outcomes[4:] == [Outcome.NOT_ATTEMPTED] * 6
    assert report.stopped is not None
    assert "PermissionDeniedError" in report.stopped
    assert calls(fhub) == {"handle": 4}
    assert [fhub.request_status(REPO, u) for u in users] == ["accepted"] * 3 + ["pending"] * 2


async def test_401_in_a_batch_run(fhub: FakeHub) -> None:
    users = fhub.seed_pending(REPO, 350)
    async with session_with(fhub, "hf_wrong") as hub:
        report = await hub.accept_many(REPO, users, concurrency=1)
    assert report.failed == 100  # the chunk that got the 401
    assert {type(i.error) for i in report.items[:100]} == {AuthenticationError}
    assert report.not_attempted == 250
    assert calls(fhub) == {"batch": 1}


@pytest.mark.parametrize("use_batch", [True, False])
async def test_unknown_repo_fails_its_items_only(
    fhub: FakeHub, session: AccessSession, use_batch: bool
) -> None:
    users = fhub.seed_pending(REPO, 6)
    decisions = [(REPO, u, "accept") for u in users[:3]]
    decisions += [("owner/missing-model", u, "accept") for u in users]
    decisions += [(REPO, u, "accept") for u in users[3:]]

    report = await session.decide_many(decisions, use_batch=use_batch, concurrency=1)

    assert report.stopped is None
    mine = report.items[:3] + report.items[9:]
    missing = report.items[3:9]
    assert all(i.outcome is Outcome.DONE for i in mine)
    assert all(i.outcome is Outcome.FAILED for i in missing)
    assert all(isinstance(i.error, RepoNotFoundError) for i in missing)
    if not use_batch:
        # Known missing after its first call: its other items are not sent.
        assert [i.attempts for i in missing] == [1, 0, 0, 0, 0, 0]
        assert calls(fhub) == {"handle": 7}
    else:
        assert calls(fhub) == {"batch": 2}
    assert all(fhub.request_status(REPO, u) == "accepted" for u in users)


async def test_per_user_error_fails_that_item_only(fhub: FakeHub, session: AccessSession) -> None:
    users = [fhub.add_user(f"p{i}").name for i in range(6)]
    names = [*users[:3], "ghost-1", *users[3:], "ghost-2"]
    report = await session.grant_many(REPO, names, concurrency=2)
    assert [i.outcome for i in report.items] == [
        Outcome.DONE,
        Outcome.DONE,
        Outcome.DONE,
        Outcome.FAILED,
        Outcome.DONE,
        Outcome.DONE,
        Outcome.DONE,
        Outcome.FAILED,
    ]
    assert [i.index for i in report.failures()] == [3, 7]
    assert all(isinstance(i.error, UserNotFoundError) for i in report.failures())
    assert report.stopped is None
    assert not report.ok
