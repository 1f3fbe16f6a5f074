"""How the engine turns decisions into calls: batch chunks, fallback, grant, dry run, input checks."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from hf_access import AccessSession, Action, BulkProgress, Decision, Outcome, RequestStatus
from hf_access.testing import FakeHub

from ._bulk_helpers import OTHER, REPO, Concurrency, calls, repo_of


async def test_batch_carries_100_per_call_per_repo(fhub: FakeHub, session: AccessSession) -> None:
    first = fhub.seed_pending(REPO, 250)
    second = fhub.seed_pending(OTHER, 30)
    sent = Concurrency.on(session)

    report = await session.decide_many(
        [Decision(REPO, u, "accept") for u in first] + [(OTHER, u, "accept") for u in second]
    )

    assert report.ok
    assert report.done == 280
    assert calls(fhub) == {"batch": 4}
    assert report.calls == 4
    sizes = sorted((repo_of(c), len(c.body["requests"])) for c in sent.calls)
    assert sizes == [(REPO, 50), (REPO, 100), (REPO, 100), (OTHER, 30)]
    assert all(s.status == "accepted" for s in fhub.snapshot(REPO).values())
    assert all(s.status == "accepted" for s in fhub.snapshot(OTHER).values())
    assert [item.index for item in report.items] == list(range(280))
    assert all(item.attempts == 1 for item in report.items)


@pytest.mark.parametrize(
    ("action", "reason", "wanted"),
    [
        ("reject", "incomplete form", "rejected"),
        ("cancel", None, "pending"),
        ("reset", "please ask again", "reset"),
    ],
)
async def test_reject_cancel_reset_go_through_batch(
    fhub: FakeHub, session: AccessSession, action: str, reason: str | None, wanted: str
) -> None:
    users = fhub.seed_pending(REPO, 150)
    assert (await session.accept_many(REPO, users)).ok  # start from accepted users
    fhub.reset_counters()

    many = {
        "reject": session.reject_many,
        "cancel": session.cancel_many,
        "reset": session.reset_many,
    }[action]
    kwargs: dict[str, Any] = {"reason": reason} if reason else {}
    report = await many(REPO, users, **kwargs)

    assert report.ok
    assert report.done == 150
    assert calls(fhub) == {"batch": 2}
    records = fhub.snapshot(REPO)
    assert {r.status for r in records.values()} == {wanted}
    if action == "reject":
        assert {r.rejection_reason for r in records.values()} == {reason}
    if action == "reset":
        assert {r.reset_reason for r in records.values()} == {reason}


async def test_decisions_with_different_reasons_are_separate_batches(
    fhub: FakeHub, session: AccessSession
) -> None:
    users = fhub.seed_pending(REPO, 4)
    report = await session.decide_many(
        [
            (REPO, users[0], "reject", "reason A"),
            (REPO, users[1], "reject", "reason B"),
            (REPO, users[2], "reject", "reason A"),
            (REPO, users[3], "reject"),
        ]
    )
    assert report.ok
    assert calls(fhub) == {"batch": 3}
    reasons = [fhub.snapshot_of(REPO, u).rejection_reason for u in users]  # type: ignore[union-attr]
    assert reasons == ["reason A", "reason B", "reason A", None]


async def test_hub_without_batch_falls_back_to_handle_and_remembers(
    fhub: FakeHub, session: AccessSession
) -> None:
    users = fhub.seed_pending(REPO, 40)
    fhub.set_batch_enabled(False)

    report = await session.accept_many(REPO, users[:30])

    assert report.ok
    assert report.done == 30
    assert session._batch_support.available is False
    assert calls(fhub) == {"unknown": 1, "handle": 30}  # one 404 on batch, then per user
    assert report.calls == 31
    assert {item.attempts for item in report.items} == {1}  # each item's own handle call

    fhub.reset_counters()
    report = await session.reject_many(REPO, users[30:], reason="no")
    assert report.ok
    assert report.done == 10
    assert calls(fhub) == {"handle": 10}  # remembered: no batch call this time
    assert fhub.request_status(REPO, users[30]) == "rejected"


async def test_use_batch_false_sends_one_handle_per_user(
    fhub: FakeHub, session: AccessSession
) -> None:
    users = fhub.seed_pending(REPO, 12)
    report = await session.accept_many(REPO, users, use_batch=False)
    assert report.ok
    assert calls(fhub) == {"handle": 12}
    assert session._batch_support.available is True


async def test_fallback_to_handle_keeps_the_concurrency(
    fhub: FakeHub, session: AccessSession
) -> None:
    users = fhub.seed_pending(REPO, 64)
    fhub.set_batch_enabled(False)
    sent = Concurrency.on(session)

    report = await session.accept_many(REPO, users, concurrency=8)

    assert report.ok
    handles = [c for c in sent.calls if c.path.endswith("/handle")]
    assert len(handles) == 64
    assert sent.peak == 8  # observed: 1


async def test_grant_is_one_call_per_user_concurrently(
    fhub: FakeHub, session: AccessSession
) -> None:
    users = [fhub.add_user(f"grantee-{i}").name for i in range(40)]
    sent = Concurrency.on(session)

    report = await session.grant_many(REPO, users, concurrency=8)

    assert report.ok
    assert report.done == 40
    assert calls(fhub) == {"grant": 40}
    assert sent.peak == 8
    assert all(fhub.request_status(REPO, u) == "accepted" for u in users)


async def test_mixed_decisions_across_repos_in_input_order(
    fhub: FakeHub, session: AccessSession
) -> None:
    for name in ("alice", "bob", "carol", "dave", "erin", "frank"):
        fhub.add_user(name)
    for name in ("alice", "bob", "erin"):
        fhub.ask_access(REPO, name)
    for name in ("dave", "frank"):
        fhub.ask_access(OTHER, name)
    assert (await session.accept_many(OTHER, ["dave"])).ok

    decisions: list[Decision | tuple[str, ...]] = [
        (REPO, "alice", "accept"),
        Decision(OTHER, "carol", Action.GRANT),
        (REPO, "bob", "reject", "sanctioned country"),
        (OTHER, "dave", "cancel"),
        Decision(REPO, "erin", "reset", reason="form changed"),
        (OTHER, "frank", "ACCEPT"),
    ]
    report = await session.decide_many(decisions)

    assert [item.decision.user for item in report.items] == [
        "alice",
        "carol",
        "bob",
        "dave",
        "erin",
        "frank",
    ]
    assert [item.outcome for item in report.items] == [Outcome.DONE] * 6
    assert fhub.request_status(REPO, "alice") == "accepted"
    assert fhub.request_status(OTHER, "carol") == "accepted"
    assert fhub.snapshot_of(REPO, "bob").rejection_reason == "sanctioned country"  # type: ignore[union-attr]
    assert fhub.request_status(OTHER, "dave") == "pending"
    assert fhub.request_status(REPO, "erin") == "reset"
    assert fhub.request_status(OTHER, "frank") == "accepted"


async def test_duplicates_are_decided_once(fhub: FakeHub, session: AccessSession) -> None:
    users = fhub.seed_pending(REPO, 3)
    fhub.add_user("gina")
    sent = Concurrency.on(session)

    report = await session.decide_many(
        [
            (REPO, users[0], "accept"),
            (REPO, users[1], "accept"),
            (REPO, "gina", "grant"),
            (REPO, users[0], "accept"),
            (REPO, users[2], "accept"),
            (REPO, "gina", "grant"),
        ]
    )

    assert [item.outcome for item in report.items] == [Outcome.DONE] * 6
    batches = [c for c in sent.calls if c.path.endswith("/batch")]
    assert len(batches) == 1
    assert [r["user"] for r in batches[0].body["requests"]] == users
    assert calls(fhub) == {"batch": 1, "grant": 1}
    dup = report.items[3]
    assert (dup.attempts, dup.detail) == (0, "duplicate of item 0")
    assert report.items[0].attempts == 1
    assert (report.items[5].attempts, report.items[5].detail) == (0, "duplicate of item 2")


async def test_duplicate_mirrors_a_failure(fhub: FakeHub, session: AccessSession) -> None:
    report = await session.grant_many(REPO, ["ghost", "ghost"])
    first, dup = report.items
    assert first.outcome is dup.outcome is Outcome.FAILED
    assert dup.error is first.error
    assert dup.attempts == 0
    assert calls(fhub) == {"grant": 1}


@pytest.mark.parametrize(
    "decisions",
    [
        [(REPO, "alice", "accept"), (REPO, "alice", "reject")],
        [(REPO, "alice", "grant"), (OTHER, "bob", "accept"), (REPO, "alice", "cancel")],
        [Decision(REPO, "alice", "reset"), Decision(REPO, "alice", "reject", reason="x")],
    ],
)
async def test_conflicting_actions_raise_before_anything_is_sent(
    fhub: FakeHub, session: AccessSession, decisions: list[Any]
) -> None:
    fhub.seed_pending(REPO, 1)
    with pytest.raises(ValueError, match="alice on owner/gated-model is asked to"):
        await session.decide_many(decisions)
    with pytest.raises(ValueError, match="asked to"):
        session.start_bulk(decisions)
    assert calls(fhub) == {}


async def test_same_user_on_two_repos_is_no_conflict(fhub: FakeHub, session: AccessSession) -> None:
    fhub.add_user("alice")
    fhub.ask_access(REPO, "alice")
    report = await session.decide_many([(REPO, "alice", "reject"), (OTHER, "alice", "grant")])
    assert report.ok


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (("not-a-repo-id", "alice", "accept"), "invalid repo id"),
        (("owner/a/b", "alice", "accept"), "invalid repo id"),
        (("owner/bad--name", "alice", "accept"), "invalid repo id"),
        ((REPO, "bad user", "accept"), "invalid user name"),
        ((REPO, "-alice", "grant"), "invalid user name"),
        ((REPO, "", "accept"), "invalid user name"),
        ((REPO, "alice", "reject", "x" * 201), "at most 200"),
        ((REPO, "alice", "reset", "x" * 201), "at most 200"),
        ((REPO, "alice", "accept", "because"), "accept takes no reason"),
        ((REPO, "alice", "grant", "because"), "grant takes no reason"),
        ((REPO, "alice", "cancel", "because"), "cancel takes no reason"),
        ((REPO, "alice", "approve"), "unknown action"),
        ((REPO, "request:not a valid id!", "accept"), "invalid request id"),
        ((REPO, "request:655f3a1c9e6b2d4f8a7c1e05", "grant"), "not a request id"),
        ((REPO, "alice"), "decision 1"),
    ],
)
async def test_bad_input_raises_before_any_request(
    fhub: FakeHub, session: AccessSession, decision: tuple[object, ...], message: str
) -> None:
    fhub.seed_pending(REPO, 1)
    good = (REPO, "user-000000", "accept")
    with pytest.raises(ValueError, match=message) as info:
        await session.decide_many([good, decision])
    assert "decision 1" in str(info.value)
    assert calls(fhub) == {}
    assert fhub.request_status(REPO, "user-000000") == "pending"


async def test_bad_input_through_the_many_helpers(fhub: FakeHub, session: AccessSession) -> None:
    users = fhub.seed_pending(REPO, 2)
    with pytest.raises(ValueError, match="at most 200"):
        await session.reject_many(REPO, users, reason="r" * 201)
    with pytest.raises(ValueError, match="invalid user name"):
        await session.accept_many(REPO, [*users, "no spaces allowed"])
    with pytest.raises(ValueError, match="invalid repo id"):
        await session.grant_many([REPO, "nope"], users)
    with pytest.raises(ValueError, match="no repo"):
        await session.cancel_many([], users)
    with pytest.raises(ValueError, match="concurrency"):
        await session.accept_many(REPO, users, concurrency=0)
    assert calls(fhub) == {}
    assert {fhub.request_status(REPO, u) for u in users} == {"pending"}


async def test_dry_run_sends_nothing_and_plans_the_calls(
    fhub: FakeHub, session: AccessSession
) -> None:
    users = fhub.seed_pending(REPO, 250)
    decisions: list[tuple[str, ...]] = [(REPO, u, "accept") for u in users]
    decisions += [(OTHER, f"user-{i:06d}", "grant") for i in range(3)]
    decisions += [(OTHER, "user-000010", "reject", "spam")]

    report = await session.decide_many(decisions, dry_run=True)

    assert calls(fhub) == {}
    assert report.calls == 0
    assert report.stopped == "dry run"
    assert report.not_attempted == len(decisions)
    assert {item.detail for item in report.items} == {"dry run"}
    plan = [(c.method, c.path.rsplit("/", 1)[-1], c.items) for c in report.plan]
    assert plan == [
        ("POST", "batch", 100),
        ("POST", "batch", 100),
        ("POST", "batch", 50),
        ("POST", "grant", 1),
        ("POST", "grant", 1),
        ("POST", "grant", 1),
        ("POST", "batch", 1),
    ]
    first = report.plan[0]
    assert first.path == f"/api/models/{REPO}/user-access-request/batch"
    assert first.body["status"] == "accepted"
    assert first.body["requests"] == [{"user": u} for u in users[:100]]
    assert report.plan[3].body == {"user": "user-000000"}
    assert report.plan[6].body == {
        "status": "rejected",
        "rejectionReason": "spam",
        "requests": [{"user": "user-000010"}],
    }
    assert {r.status for r in fhub.snapshot(REPO).values()} == {"pending"}


async def test_dry_run_without_batch_plans_one_handle_per_user(
    fhub: FakeHub, session: AccessSession
) -> None:
    session._batch_support.available = False
    report = await session.cancel_many(REPO, ["a1", "b2"], dry_run=True)
    assert [(c.path.rsplit("/", 1)[-1], c.body) for c in report.plan] == [
        ("handle", {"user": "a1", "status": "pending"}),
        ("handle", {"user": "b2", "status": "pending"}),
    ]
    assert calls(fhub) == {}


async def test_on_progress_once_per_item_with_growing_counts(
    fhub: FakeHub, session: AccessSession
) -> None:
    users = fhub.seed_pending(REPO, 150)
    fhub.add_user("henry")
    seen: list[BulkProgress[Decision]] = []
    decisions = [(REPO, u, "accept") for u in users]
    decisions += [(REPO, "henry", "grant"), (REPO, "nobody", "grant"), (REPO, users[0], "accept")]

    report = await session.decide_many(decisions, on_progress=seen.append)

    total = len(decisions)
    assert len(seen) == total
    assert [p.finished for p in seen] == list(range(1, total + 1))
    assert all(p.total == total for p in seen)
    assert sorted(p.last.index for p in seen if p.last) == list(range(total))
    for before, after in itertools.pairwise(seen):
        assert after.done >= before.done
        assert after.failed >= before.failed
        assert after.calls >= before.calls
    last = seen[-1]
    assert (last.done, last.failed, last.unchanged, last.not_attempted) == (
        report.done,
        report.failed,
        report.unchanged,
        report.not_attempted,
    )
    assert (last.done, last.failed) == (total - 1, 1)
    assert last.calls == report.calls == 4  # 2 batches, 2 grants


async def test_batch_reports_each_item_of_a_chunk(fhub: FakeHub, session: AccessSession) -> None:
    users = fhub.seed_pending(REPO, 3)
    fhub.add_user("no-request")
    report = await session.accept_many(REPO, [users[0], "ghost-user", "no-request", users[1]])
    outcomes = [(i.outcome, type(i.error).__name__ if i.error else None) for i in report.items]
    assert outcomes == [
        (Outcome.DONE, None),
        (Outcome.FAILED, "UserNotFoundError"),
        (Outcome.FAILED, "RequestNotFoundError"),
        (Outcome.DONE, None),
    ]
    assert calls(fhub) == {"batch": 1}
    assert fhub.request_status(REPO, users[2]) == RequestStatus.PENDING.value
