"""How to test your own code against the fake Hub: ``pytest examples/test_with_fake_hub.py``.

Installing hf-access registers a pytest plugin with these fixtures (pytest-asyncio needed
for the async ones):

* ``fake_hub``: a fake Hub running on 127.0.0.1 with the manually gated repo
  ``owner/gated-model``; seed it with ``add_user``, ``ask_access``, ``seed_pending`` and
  check the outcome with ``request_status`` or ``snapshot``;
* ``fake_hub_factory``: ``await fake_hub_factory(quota=..., faults=...)`` for other settings;
* ``fake_hub_thread``: the same hub served from a thread, for synchronous code.
"""

from __future__ import annotations

import pytest

from hf_access import AccessSession, Decision
from hf_access.testing import FakeHub, Faults

REPO = "owner/gated-model"  # created by the fake_hub fixture


# -- the code under test: yours ----------------------------------------------------------------


async def screen_pending(session: AccessSession, repo: str, allowed_domain: str) -> list[str]:
    """Accept pending requests from ``allowed_domain`` e-mails, reject the others."""
    decisions = []
    for request in await session.list_pending(repo):
        domain = (request.email or "").rpartition("@")[2]
        if domain == allowed_domain:
            decisions.append(Decision(repo, request.label, "accept"))
        else:
            decisions.append(Decision(repo, request.label, "reject", reason="not a member"))
    report = await session.decide_many(decisions)
    assert report.ok, report.failures()
    return [d.user for d in decisions if d.action.value == "accept"]


async def no_sleep(_seconds: float) -> None:
    """Retries and rate-limit waits pass instantly in tests (the session's sleep is injectable)."""


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_accepts_members_and_rejects_the_rest(fake_hub: FakeHub) -> None:
    fake_hub.add_user("alice", email="alice@acme.example")
    fake_hub.add_user("bob", email="bob@elsewhere.example")
    fake_hub.ask_access(REPO, "alice", fields={"Company": "ACME"})
    fake_hub.ask_access(REPO, "bob")

    async with AccessSession(token=fake_hub.token, endpoint=fake_hub.url) as session:
        accepted = await screen_pending(session, REPO, "acme.example")

    assert accepted == ["alice"]
    assert fake_hub.request_status(REPO, "alice") == "accepted"
    record = fake_hub.snapshot_of(REPO, "bob")
    assert record is not None
    assert record.status == "rejected"
    assert record.rejection_reason == "not a member"  # stored, although no list returns it


@pytest.mark.asyncio
async def test_many_requests_take_few_calls(fake_hub: FakeHub) -> None:
    fake_hub.seed_pending(REPO, 1_234)  # user-000000 ... user-001233, e-mails @example.org
    fake_hub.reset_counters()

    async with AccessSession(token=fake_hub.token, endpoint=fake_hub.url) as session:
        accepted = await screen_pending(session, REPO, "example.org")

    assert len(accepted) == 1_234
    assert fake_hub.counters.calls == {"list_pending": 2, "batch": 13}  # 1,000 per page


@pytest.mark.asyncio
async def test_survives_server_errors(fake_hub: FakeHub) -> None:
    fake_hub.seed_pending(REPO, 300)
    fake_hub.set_faults(Faults(error_rate=0.3, seed=1))  # 30% of answers are 5xx

    async with AccessSession(token=fake_hub.token, endpoint=fake_hub.url, sleep=no_sleep) as s:
        accepted = await screen_pending(s, REPO, "example.org")

    assert len(accepted) == 300
    assert fake_hub.counters.faults  # errors really happened, and were retried
    assert {r.status for r in fake_hub.snapshot(REPO).values()} == {"accepted"}
