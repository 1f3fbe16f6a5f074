"""The inbox: every gated repo of a namespace with its pending count, ages and delays."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from hf_access import (
    AccessRequest,
    AccessSession,
    AuthenticationError,
    DecodeError,
    GatingMode,
    InboxRow,
    RepoType,
)
from hf_access.hub.inbox import Identity, decode_identity, decode_repos
from hf_access.testing import FakeHub, ManualClock

from ._sync_support import T0

NOW = datetime.fromtimestamp(T0, timezone.utc)
HOUR, DAY = 3600.0, 86400.0
BIG = "acme/repo-000"


def gating_mix() -> list[Any]:
    """30 repos: the first manual (the big one), then manual, auto and not gated in turn."""
    return ["manual"] + [("manual", "auto", False)[i % 3] for i in range(29)]


@pytest.fixture
async def hub() -> AsyncIterator[FakeHub]:
    async with FakeHub(clock=ManualClock(T0)) as fake:
        repos = fake.seed_repos("acme", gating_mix())
        fake.seed_pending(BIG, 2500)  # all made "now"
        # acme/repo-001 (manual): a history with known times.
        history = "acme/repo-001"
        fake.seed_request(history, "p-old", requested_at=T0 - 10 * DAY)
        fake.seed_request(history, "p-day", requested_at=T0 - 2 * DAY)
        fake.seed_request(history, "p-new", requested_at=T0 - 2 * HOUR)
        for name, made, waited, status in [
            ("a1", T0 - 3 * HOUR, 1 * HOUR, "accepted"),
            ("a2", T0 - 3 * DAY, 5 * HOUR, "accepted"),
            ("r1", T0 - 20 * DAY, 9 * HOUR, "rejected"),
            ("a-old", T0 - 40 * DAY, 1 * HOUR, "accepted"),  # older than 30 days: not read
            ("x1", T0 - 1 * DAY, 2 * HOUR, "reset"),  # reset: not read
        ]:
            fake.seed_request(
                history, name, status=status, requested_at=made, decided_at=made + waited
            )
        fake.add_repo("acme/data", repo_type="dataset", gated="auto")
        fake.seed_pending("acme/data", 2, prefix="d", repo_type="dataset")
        assert len(repos) == 30
        yield fake


@pytest.fixture
async def session(hub: FakeHub) -> AsyncIterator[AccessSession]:
    async with AccessSession(token=hub.token, endpoint=hub.url) as client:
        yield client


async def rows_of(session: AccessSession, *namespaces: str, **options: Any) -> list[InboxRow]:
    chosen = list(namespaces) or None
    return [row async for row in session.inbox(chosen, now=NOW, **options)]


async def test_every_gated_repo_of_the_namespace(hub: FakeHub, session: AccessSession) -> None:
    rows = await rows_of(session, "acme")
    gated = [(i, g) for i, g in enumerate(gating_mix()) if g is not False]
    models = [r for r in rows if r.repo_type is RepoType.MODEL]
    assert [r.repo_id for r in models] == [f"acme/repo-{i:03d}" for i, _ in gated]
    assert [r.gating.value for r in models] == [g for _, g in gated]
    assert [
        (r.repo_id, r.repo_type, r.pending) for r in rows if r.repo_type is not RepoType.MODEL
    ] == [("acme/data", RepoType.DATASET, 2)]
    assert all(r.manageable and r.note is None for r in rows)
    big = rows[0]
    assert (big.repo_id, big.pending, big.received_24h, big.received_7d) == (BIG, 2500, 2500, 2500)
    assert big.oldest_pending_age == timedelta(milliseconds=2499)  # seeded 1 ms apart
    assert big.median_decision is None
    quiet = next(r for r in rows if r.repo_id == "acme/repo-002")
    assert (quiet.pending, quiet.oldest_pending, quiet.received_7d) == (0, None, 0)


async def test_ages_counts_and_median_decision(session: AccessSession) -> None:
    row = next(r for r in await rows_of(session, "acme") if r.repo_id == "acme/repo-001")
    assert row.pending == 3
    assert row.oldest_pending_age == timedelta(days=10)
    assert row.oldest_pending == NOW - timedelta(days=10)
    assert row.received_24h == 2  # p-new, a1
    assert row.received_7d == 4  # p-day, p-new, a1, a2
    assert row.decided == 3  # a1, a2, r1 (a-old is older than 30 days; reset is not a decision)
    assert row.median_decision == timedelta(hours=5)


async def test_cost_is_one_listing_per_type_plus_the_pages(
    hub: FakeHub, session: AccessSession
) -> None:
    hub.reset_counters()
    rows = await rows_of(session, "acme")
    calls = hub.counters.calls
    assert calls["list_repos"] == 3  # models, datasets, spaces: one page each
    assert "whoami" not in calls  # namespaces given
    assert calls["list_pending"] == len(rows) + 2  # 2,500 pending: three pages
    assert calls["list_accepted"] == calls["list_rejected"] == len(rows)


async def test_counting_pending_keeps_one_page_at_most(
    session: AccessSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs: dict[int, weakref.ref[AccessRequest]] = {}  # records alive, by id
    most = 0
    real = session.iter_requests

    async def spying(*args: Any, **kwargs: Any) -> AsyncIterator[AccessRequest]:
        nonlocal most
        async for request in real(*args, **kwargs):
            key = id(request)
            refs[key] = weakref.ref(request, lambda _, key=key: refs.pop(key, None))
            most = max(most, len(refs))
            del request
            yield refs[key]()  # type: ignore[misc]

    at_next_page: list[int] = []  # records still alive when the next page is asked for
    send = session._send

    async def sending(call: Any) -> Any:
        if "cursor=" in call.path:  # a next page of a list
            at_next_page.append(len(refs))
        return await send(call)

    monkeypatch.setattr(session, "iter_requests", spying)
    monkeypatch.setattr(session, "_send", sending)
    rows = await rows_of(session, "acme", concurrency=1)
    assert rows[0].pending == 2500
    assert 1000 <= most <= 1001  # one page of 1,000 (and at most the item being handed over)
    # The page read is let go before the next one comes: never two pages at once.
    assert len(at_next_page) == 2
    assert max(at_next_page) <= 1


async def test_default_namespaces_come_from_whoami_and_unmanaged_are_listed() -> None:
    async with FakeHub(clock=ManualClock(T0)) as hub:
        hub.add_user("ann")
        hub.add_org("acme", {"ann": "admin"})
        hub.add_org("labs", {"ann": "write"})
        hub.add_org("club", {"ann": "read"})  # a reader manages nothing: not a default
        hub.add_token("hf_ann", user="ann", role="write", namespaces=["ann", "acme"])
        hub.seed_repos("ann", ["manual"])
        hub.seed_repos("acme", ["auto", False])
        hub.seed_repos("labs", ["manual"])
        hub.seed_repos("club", ["manual"])
        hub.seed_pending("labs/repo-000", 4)
        async with AccessSession(token="hf_ann", endpoint=hub.url) as session:
            rows = [row async for row in session.inbox(repo_types=["model"], now=NOW)]
        assert hub.counters.calls["whoami"] == 1
    assert [(r.namespace, r.repo_id, r.manageable) for r in rows] == [
        ("ann", "ann/repo-000", True),
        ("acme", "acme/repo-000", True),
        ("labs", "labs/repo-000", False),  # the token is not allowed there: a 403
    ]
    labs = rows[-1]
    assert labs.pending is None
    assert labs.note is not None
    assert labs.note.startswith("cannot manage: ")


async def test_a_bad_token_raises(hub: FakeHub) -> None:
    async with AccessSession(token="hf_wrong", endpoint=hub.url) as session:
        with pytest.raises(AuthenticationError):
            await rows_of(session)


async def test_arguments_are_checked_before_any_call(hub: FakeHub, session: AccessSession) -> None:
    with pytest.raises(ValueError, match="invalid namespace"):
        session.inbox(["no/slash"])
    with pytest.raises(ValueError, match="repo type"):
        session.inbox(["acme"], repo_types=["kernel"])
    with pytest.raises(ValueError, match="timezone"):
        session.inbox(["acme"], now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="concurrency"):
        session.inbox(["acme"], concurrency=0)
    assert hub.counters.total_calls == 0


async def test_stopping_early_leaves_no_task_behind(session: AccessSession) -> None:
    seen = []
    async for row in session.inbox(["acme"], now=NOW):
        seen.append(row)
        if len(seen) == 2:
            break
    assert len(seen) == 2


def test_decoders_tolerate_unknown_keys_and_refuse_nonsense() -> None:
    who = decode_identity({"name": "ann", "orgs": [{"name": "a"}, "junk"], "extra": 1})
    assert who == Identity("ann", {"a": "read"}, None)
    assert who.manageable() == ["ann"]
    repos = decode_repos(
        [{"id": "a/b", "gated": "auto", "likes": 3}, {"id": "a/c"}], RepoType.SPACE
    )
    assert [(r.repo_id, r.gating) for r in repos] == [
        ("a/b", GatingMode.AUTO),
        ("a/c", GatingMode.OFF),
    ]
    for bad in ({"orgs": []}, [], {"name": "x", "orgs": {}}):
        with pytest.raises(DecodeError):
            decode_identity(bad)
    for bad_page in ({}, [{"gated": "auto"}], [{"id": "a/b", "gated": "sometimes"}]):
        with pytest.raises(DecodeError):
            decode_repos(bad_page, RepoType.MODEL)
