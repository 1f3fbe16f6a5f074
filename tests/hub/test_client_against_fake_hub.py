"""Every call of AccessSession over real HTTP, against the fake Hub."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hf_access import (
    AccessSession,
    AlreadyHasAccessError,
    AuthenticationError,
    GatingMode,
    NotificationsMode,
    PermissionDeniedError,
    RepoNotFoundError,
    RequestNotFoundError,
    RequestStatus,
    UserNotFoundError,
    UserRef,
)
from hf_access.testing import FakeHub

REPO = "owner/gated-model"


@pytest.fixture
async def client(fake_hub: FakeHub):
    async with AccessSession(token=fake_hub.token, endpoint=fake_hub.url) as hub:
        yield hub


async def test_lists_follow_pages_and_carry_every_field(fake_hub: FakeHub, client) -> None:
    names = fake_hub.seed_pending(REPO, 25, fields={"Company": "ACME"})
    seen = [r async for r in client.iter_requests(REPO, "pending", page_size=10)]
    assert [r.username for r in seen] == names
    assert fake_hub.counters.calls["list_pending"] == 3
    first = seen[0]
    assert first.status is RequestStatus.PENDING
    assert first.email == "user-000000@example.org"
    assert first.fields == {"Company": "ACME"}
    assert first.request_id
    assert first.user_id
    assert len(first.user_id) == 24
    assert first.timestamp is not None
    assert first.timestamp.tzinfo is not None
    assert first.reviewed_at is None
    assert first.granted_by is None


async def test_every_decision_moves_the_request(fake_hub: FakeHub, client) -> None:
    a, b, c, d = fake_hub.seed_pending(REPO, 4)
    await client.accept(REPO, a)
    await client.reject(REPO, b, reason="not eligible")
    await client.reset(REPO, c, reason="fill the form again")
    await client.accept(REPO, d)
    await client.cancel(REPO, d)
    assert [fake_hub.request_status(REPO, u) for u in (a, b, c, d)] == [
        "accepted",
        "rejected",
        "reset",
        "pending",
    ]
    accepted = await client.list_accepted(REPO)
    assert [r.username for r in accepted] == [a]
    assert accepted[0].granted_by is not None
    assert accepted[0].granted_by.username == "owner"
    assert accepted[0].reviewed_at is not None
    assert [r.username for r in await client.list_rejected(REPO)] == [b]
    assert [r.username for r in await client.list_reset(REPO)] == [c]
    assert [r.username for r in await client.list_pending(REPO)] == [d]


async def test_a_repo_already_used_still_checks_every_later_decision(
    fake_hub: FakeHub, client
) -> None:
    """Single decisions on a repo seen before skip re-checking its id and type, never the
    user, the status or the reason: every mistake still raises before anything is sent."""
    a, b, c = fake_hub.seed_pending(REPO, 3)
    await client.accept(REPO, a)  # the repo is checked, and remembered
    sent = client.calls
    mistakes = [
        (lambda: client.accept(REPO, "bad user"), "invalid user name"),
        (lambda: client.reject(REPO, "a--b"), "invalid user name"),
        (lambda: client.accept(REPO, 42), "user name or an AccessRequest"),
        (lambda: client.handle(REPO, b, "approved"), "unknown request status"),
        (lambda: client.handle(REPO, b, "accepted", reason="ok"), "only be given"),
        (lambda: client.reject(REPO, b, reason="x" * 201), "at most 200"),
        (lambda: client.accept(REPO, b, repo_type="kernel"), "unknown repo type"),
        (lambda: client.accept([REPO], b), "invalid repo id"),  # unhashable: still ValueError
        (lambda: client.accept(REPO + ".git", b), "invalid repo id"),
    ]
    for call, match in mistakes:
        with pytest.raises(ValueError, match=match):
            await call()
    assert client.calls == sent
    # The remembered repo takes every other form of a decision as before.
    await client.reject(REPO, b, reason="not eligible")
    await client.handle(REPO, c, RequestStatus.ACCEPTED)
    await client.cancel(REPO, c, repo_type="model")
    assert [fake_hub.request_status(REPO, u) for u in (a, b, c)] == [
        "accepted",
        "rejected",
        "pending",
    ]


async def test_a_remembered_repo_still_checks_every_grant(fake_hub: FakeHub, client) -> None:
    for name in ("newcomer", "second", "third"):
        fake_hub.add_user(name)
    await client.grant(REPO, "newcomer")  # the repo is checked, and remembered
    sent = client.calls
    mistakes = [
        (lambda: client.grant(REPO, "bad user"), "invalid user name"),
        (lambda: client.grant(REPO, "a--b"), "invalid user name"),
        (lambda: client.grant(REPO, "request:" + "0" * 24), "user name or user id"),
        (lambda: client.grant(REPO, 42), "user name or an AccessRequest"),
        (lambda: client.grant(REPO, "second", repo_type="kernel"), "unknown repo type"),
        (lambda: client.grant([REPO], "second"), "invalid repo id"),  # unhashable
        (lambda: client.grant(REPO + ".git", "second"), "invalid repo id"),
    ]
    for call, match in mistakes:
        with pytest.raises(ValueError, match=match):
            await call()
    assert client.calls == sent
    await client.grant(REPO, "second", repo_type="model")
    await client.grant(REPO, UserRef.parse("third"))
    accepted = {entry.username for entry in await client.list_accepted(REPO)}
    assert {"newcomer", "second", "third"} <= accepted


async def test_the_hubs_errors_arrive_typed(fake_hub: FakeHub, client) -> None:
    (user,) = fake_hub.seed_pending(REPO, 1)
    fake_hub.add_user("newcomer")
    await client.accept(REPO, user)
    with pytest.raises(RequestNotFoundError) as same_status:
        await client.accept(REPO, user)
    assert same_status.value.status == 404
    assert "No access request found" in same_status.value.message
    with pytest.raises(RequestNotFoundError):
        await client.accept(REPO, "newcomer")  # exists, never asked
    with pytest.raises(UserNotFoundError):
        await client.accept(REPO, "nobody-at-all")
    with pytest.raises(AlreadyHasAccessError):
        await client.grant(REPO, user)
    with pytest.raises(RepoNotFoundError) as missing:
        await client.list_pending("owner/no-such-repo")
    assert missing.value.error_code == "RepoNotFound"


async def test_grant_gives_access_without_a_request(fake_hub: FakeHub, client) -> None:
    fake_hub.add_user("newcomer")
    await client.grant(REPO, "newcomer")
    (entry,) = await client.list_accepted(REPO, search="newcomer")
    assert entry.username == "newcomer"
    assert entry.email is None  # the Hub keeps no e-mail for granted entries


async def test_batch_answers_in_input_order(fake_hub: FakeHub, client) -> None:
    users = fake_hub.seed_pending(REPO, 3)
    await client.accept(REPO, users[1])
    results = await client.batch(REPO, "accepted", [users[2], "ghost-user", users[1], users[0]])
    assert [r.target for r in results] == [users[2], "ghost-user", users[1], users[0]]
    assert [r.ok for r in results] == [True, False, True, True]
    assert results[1].error == "user_not_found"
    assert all(fake_hub.request_status(REPO, u) == "accepted" for u in users)


async def test_hidden_requesters_are_addressed_by_request_id(fake_hub: FakeHub, client) -> None:
    fake_hub.add_repo("owner/private-gate", hide_requesters=True)
    (name,) = fake_hub.seed_pending("owner/private-gate", 1)
    (request,) = await client.list_pending("owner/private-gate")
    assert request.username is None
    assert request.request_id
    await client.accept("owner/private-gate", request)
    assert fake_hub.request_status("owner/private-gate", name) == "accepted"


async def test_gating_settings_and_report(fake_hub: FakeHub, client) -> None:
    assert await client.get_gating(REPO) is GatingMode.MANUAL
    await client.set_gating(REPO, "auto", notifications_mode=NotificationsMode.REAL_TIME)
    assert await client.get_gating(REPO) is GatingMode.AUTO
    await client.set_gating(REPO, False)
    assert await client.get_gating(REPO) is GatingMode.OFF
    await client.set_gating(REPO, GatingMode.MANUAL)
    users = fake_hub.seed_pending(REPO, 2)
    await client.accept(REPO, users[0])
    report = await client.access_report(REPO)
    assert {(e.username, e.status) for e in report} == {
        (users[0], RequestStatus.ACCEPTED),
        (users[1], RequestStatus.PENDING),
    }
    assert all(e.time is not None for e in report)


async def test_datasets_use_their_own_paths(fake_hub: FakeHub, client) -> None:
    fake_hub.add_repo("owner/gated-data", repo_type="dataset")
    (user,) = fake_hub.seed_pending("owner/gated-data", 1, repo_type="dataset")
    await client.accept("owner/gated-data", user, repo_type="dataset")
    assert fake_hub.request_status("owner/gated-data", user, repo_type="dataset") == "accepted"
    report = await client.access_report("owner/gated-data", repo_type="datasets")
    assert [e.status for e in report] == [RequestStatus.ACCEPTED]


async def test_after_keeps_only_newer_requests(fake_hub_factory) -> None:
    from hf_access.testing import ManualClock

    clock = ManualClock()
    hub = await fake_hub_factory(clock=clock)
    hub.add_repo(REPO)
    hub.seed_pending(REPO, 2, prefix="early")
    clock.advance(60)
    cut = datetime.fromtimestamp(clock() - 1, tz=timezone.utc)
    hub.seed_pending(REPO, 2, prefix="late")
    async with AccessSession(token=hub.token, endpoint=hub.url) as client:
        newer = await client.list_requests(REPO, "pending", after=cut)
    assert [r.username for r in newer] == ["late-000000", "late-000001"]


async def test_bad_and_weak_tokens(fake_hub: FakeHub) -> None:
    fake_hub.add_user("reader")
    fake_hub.add_token("hf_reader", user="reader", role="read")
    async with AccessSession(token="hf_wrong", endpoint=fake_hub.url) as bad:
        with pytest.raises(AuthenticationError) as exc:
            await bad.list_pending(REPO)
    assert "hf_wrong" not in str(exc.value)
    assert "hf_wrong" not in repr(exc.value)
    async with AccessSession(token="hf_reader", endpoint=fake_hub.url) as reader:
        with pytest.raises(PermissionDeniedError):
            await reader.accept(REPO, "reader")


async def test_the_limiter_learns_the_fake_hubs_quota(fake_hub_factory) -> None:
    hub = await fake_hub_factory(quota=50, window=300)
    hub.add_repo(REPO)
    async with AccessSession(token=hub.token, endpoint=hub.url) as client:
        await client.list_pending(REPO)
        assert client.limiter.quota == 50
        assert client.limiter.window == 300
        assert client.limiter.remaining == 49
