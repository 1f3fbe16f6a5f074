"""A bulk run sizes the session's pool from its concurrency; large records print short."""

from __future__ import annotations

import warnings

import aiohttp
import pytest

from hf_access import (
    AccessSession,
    BulkReport,
    Decision,
    HfAccessWarning,
    ItemOutcome,
    Outcome,
)
from hf_access.testing import FakeHub

from .conftest import REPO


def pool_limit(hub: AccessSession) -> int:
    own = hub._transport._own
    assert own is not None
    assert own.connector is not None
    return own.connector.limit


async def test_a_bulk_run_grows_the_sessions_own_pool_to_its_concurrency(fhub: FakeHub) -> None:
    fhub.add_user("alice")
    async with AccessSession(fhub.token, fhub.url, connection_limit=4) as hub:
        assert pool_limit(hub) == 4
        report = await hub.grant_many(REPO, ["alice"], concurrency=32)
        assert report.ok
        assert pool_limit(hub) == 32
        await hub.grant_many(REPO, ["alice"], concurrency=8)  # never shrinks
        assert pool_limit(hub) == 32


async def test_a_dry_run_leaves_the_pool_alone(fhub: FakeHub) -> None:
    async with AccessSession(fhub.token, fhub.url, connection_limit=4) as hub:
        await hub.grant_many(REPO, ["alice"], concurrency=32, dry_run=True)
        assert pool_limit(hub) == 4


async def test_a_borrowed_pool_smaller_than_the_concurrency_is_warned_about(
    fhub: FakeHub,
) -> None:
    fhub.add_user("alice")
    connector = aiohttp.TCPConnector(limit=8)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        AccessSession(fhub.token, fhub.url, session=http) as hub,
    ):
        with pytest.warns(HfAccessWarning, match=r"allows 8 connections.*64 concurrent"):
            report = await hub.grant_many(REPO, ["alice"], concurrency=64)
        assert report.ok
        assert connector.limit == 8  # a borrowed pool is never changed
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            await hub.grant_many(REPO, ["alice"], concurrency=8)  # fits: no warning


def test_a_large_report_has_a_short_repr() -> None:
    items = tuple(
        ItemOutcome(i, Decision("org/model", f"user-{i:06d}", "accept"), Outcome.DONE)
        for i in range(20_000)
    )
    failed = ItemOutcome(20_000, Decision("org/model", "mallory", "accept"), Outcome.FAILED)
    report = BulkReport(items=(*items, failed), calls=201, elapsed=2.5, stopped="cancelled")
    text = repr(report)
    assert len(text) < 200
    assert "user-000001" not in text
    assert "20001 items" in text
    assert "done=20000" in text
    assert "failed=1" in text
    assert "calls=201" in text
    assert "cancelled" in text


def test_a_large_plan_has_a_short_repr() -> None:
    from hf_access import AccessPlan, Action, Change, RemoveMode, RepoType

    changes = tuple(Change(f"user-{i:06d}", Action.GRANT) for i in range(5_000))
    plan = AccessPlan("org/model", RepoType.MODEL, "a list", RemoveMode.KEEP, None, 5_000, changes)
    text = repr(plan)
    assert len(text) < 300
    assert "user-000001" not in text
    assert "grant=5000" in text


def test_decisions_for_are_checked_once_unless_changed_since() -> None:
    from hf_access.hub.bulk import decisions_for, normalize_decisions

    made = decisions_for(["org/a", "org/b"], ["alice", "request:abc123"], "accept")
    decisions, refs = normalize_decisions(made)
    assert decisions == list(made)
    assert [r.label for r in refs] == ["alice", "request:abc123"] * 2
    made.append(Decision("not a repo", "bob", "accept"))  # changed: every item is checked again
    with pytest.raises(ValueError, match="decision 4: invalid repo id"):
        normalize_decisions(made)
    bad = decisions_for("org/a", ["alice"], "accept", reason="no reason for accept")
    with pytest.raises(ValueError, match="decision 0: accept takes no reason"):
        normalize_decisions(bad)
