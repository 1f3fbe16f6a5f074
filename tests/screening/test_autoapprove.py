"""AutoApprover against the fake Hub: requesters arrive over time through ask-access."""

from __future__ import annotations

import asyncio
import io
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hf_access import (
    AccessRequest,
    AccessSession,
    AuthenticationError,
    RateLimiter,
    RepoType,
    RequestStatus,
    RetryPolicy,
    UserRef,
)
from hf_access.cli.watch_cmd import run_watch_command
from hf_access.screening.autoapprove import AuditRecord, AutoApprover
from hf_access.screening.policy import (
    Policy,
    PolicyDecision,
    Rule,
    accept,
    email_domains,
    lookup,
    reject,
    users,
)
from hf_access.testing import FakeHub, Faults

from ..conftest import VirtualTime
from .conftest import REPO

EXAMPLE_POLICY = Path(__file__).parents[2] / "examples" / "policy.toml"


def open_session(hub: FakeHub, ft: VirtualTime, token: str | None = None) -> AccessSession:
    return AccessSession(
        token or hub.token,
        hub.url,
        sleep=ft.sleep,
        limiter=RateLimiter(clock=ft, sleep=ft.sleep),
        retry=RetryPolicy(max_attempts=1),
    )


@pytest.fixture
async def session(hub: FakeHub, ft: VirtualTime) -> AsyncIterator[AccessSession]:
    async with open_session(hub, ft) as s:
        yield s


def arrive(hub: FakeHub, ft: VirtualTime, *names: str, repo: str = REPO, **user: Any) -> None:
    for name in names:
        ft.now += 1
        hub.add_user(name, **user)
        hub.ask_access(repo, name)


POLICY = Policy(
    [
        Rule("deny", users(["mallory"]), reject("Blocked.")),
        Rule("staff", email_domains(["acme.com"]), accept()),
    ]
)


def approver(session: AccessSession, ft: VirtualTime, tmp_path: Path, **kw: Any) -> AutoApprover:
    options: dict[str, Any] = {
        "audit_log": tmp_path / "audit.jsonl",
        "state_file": tmp_path / "state.json",
        "interval": 1.0,
        "max_interval": 8.0,
        "include_existing": True,  # these tests decide what is pending when they start
        "clock": ft,
        "sleep": ft.sleep,
    }
    options.update(kw)
    return AutoApprover(session, [REPO], options.pop("policy", POLICY), **options)


def audit(tmp_path: Path) -> list[dict[str, Any]]:
    """The outcome lines of the audit log (the intent lines written before sending left out)."""
    path = tmp_path / "audit.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line["outcome"] != "intent"]


async def test_every_request_decided_exactly_once_across_passes_and_restarts(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    arrive(hub, ft, "a1", "a2", email="x@acme.com")
    arrive(hub, ft, "mallory")
    arrive(hub, ft, "h1")  # no rule: held
    first = await approver(session, ft, tmp_path).run_once()
    assert first.summary().startswith("4 decisions: 2 accept, 1 reject, 0 reset, 1 hold; 0 failed")
    arrive(hub, ft, "a3", email="y@acme.com")
    arrive(hub, ft, "h2")
    second = await approver(session, ft, tmp_path).run_once()  # a restart: same state file
    third = await approver(session, ft, tmp_path).run_once()
    assert [r.user for r in second.records] == ["a3", "h2"]  # in order of arrival
    assert third.records == ()
    lines = audit(tmp_path)
    assert Counter(line["request_id"] for line in lines).most_common(1)[0][1] == 1
    assert {line["user"]: (line["decision"], line["outcome"]) for line in lines} == {
        "a1": ("accept", "ok"),
        "a2": ("accept", "ok"),
        "a3": ("accept", "ok"),
        "mallory": ("reject", "ok"),
        "h1": ("hold", "held"),
        "h2": ("hold", "held"),
    }
    line = next(x for x in lines if x["user"] == "mallory")
    assert line["reason"] == "Blocked."
    assert line["rule"] == "deny"
    assert line["dry_run"] is False
    assert line["repo"] == REPO
    assert line["time"].endswith("Z")
    assert hub.request_status(REPO, "a3") == "accepted"
    assert hub.request_status(REPO, "mallory") == "rejected"
    assert hub.request_status(REPO, "h1") == "pending"
    assert hub.snapshot_of(REPO, "mallory").rejection_reason == "Blocked."  # type: ignore[union-attr]


async def test_decisions_are_batched_per_action_and_reason(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    hub.seed_pending(REPO, 230)
    hub.seed_pending(REPO, 20, prefix="bad")
    policy = Policy(
        [Rule("bad", users([f"bad-{i:06d}" for i in range(20)]), reject("No."))], default=accept()
    )
    report = await approver(session, ft, tmp_path, policy=policy).run_once()
    assert len(report.records) == 250
    assert hub.counters.calls == {
        "list_pending": 1,
        "batch": 4,
    }  # 100 + 100 + 30 accepts, 20 rejects
    assert report.calls == 5
    statuses = Counter(r.status for r in hub.snapshot(REPO).values())
    assert statuses == {"accepted": 230, "rejected": 20}


async def test_outside_lookup_failure_holds_and_recheck_decides_later(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    crm_up = False

    async def paid(request: AccessRequest, repo_id: str) -> bool:
        if not crm_up:
            raise aiohttp.ClientError("crm unreachable")
        return True

    policy = Policy([Rule("crm", lookup(paid), accept())], default=reject("Unpaid."))
    arrive(hub, ft, "alice")
    (tmp_path / "plain").mkdir()
    plain = await approver(session, ft, tmp_path / "plain", policy=policy).run_once()
    assert [(r.decision.value, r.outcome, r.rule) for r in plain.records] == [
        ("hold", "held", "crm")
    ]
    assert "crm unreachable" in (plain.records[0].reason or "")
    assert hub.request_status(REPO, "alice") == "pending"  # never decided on a failure
    crm_up = True
    assert (await approver(session, ft, tmp_path / "plain", policy=policy).run_once()).records == ()

    crm_up = False
    rechecking = approver(session, ft, tmp_path, policy=policy, recheck_held=True)
    assert [r.outcome for r in (await rechecking.run_once()).records] == ["held"]
    again = await rechecking.run_once()  # still failing: held again, no new audit line
    assert again.records == ()
    assert again.rechecked == 1
    crm_up = True
    later = await approver(session, ft, tmp_path, policy=policy, recheck_held=True).run_once()
    assert [(r.user, r.decision.value, r.outcome) for r in later.records] == [
        ("alice", "accept", "ok")
    ]
    assert hub.request_status(REPO, "alice") == "accepted"
    assert [line["outcome"] for line in audit(tmp_path)] == ["held", "ok"]


async def test_dry_run_sends_nothing_and_uses_nothing_up(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    arrive(hub, ft, "a", email="a@acme.com")
    arrive(hub, ft, "mallory")
    report = await approver(session, ft, tmp_path, dry_run=True).run_once()
    assert [(r.user, r.outcome, r.dry_run) for r in report.records] == [
        ("a", "dry_run", True),
        ("mallory", "dry_run", True),
    ]
    assert "batch" not in hub.counters.calls
    assert not (tmp_path / "state.json").exists()
    assert all(line["dry_run"] for line in audit(tmp_path))
    real = await approver(session, ft, tmp_path).run_once()
    assert [(r.user, r.outcome) for r in real.records] == [("a", "ok"), ("mallory", "ok")]


async def test_hidden_requesters_are_decided_by_request_id(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    hub.add_repo("owner/secret", hide_requesters=True)
    arrive(hub, ft, "a", "b", repo="owner/secret")
    policy = Policy([], default=accept())
    a = AutoApprover(
        session,
        ["owner/secret"],
        policy,
        audit_log=tmp_path / "audit.jsonl",
        include_existing=True,
    )
    report = await a.run_once()
    assert [r.user for r in report.records] == [None, None]
    assert all(r.request_id and r.outcome == "ok" for r in report.records)
    assert hub.request_status("owner/secret", "a", repo_type="model") == "accepted"


async def test_failed_batch_call_is_retried_on_a_later_pass(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    broken = [True]

    def break_the_hub(request: AccessRequest, repo_id: str) -> bool:
        if broken[0]:  # after the listing, before the batch call
            hub.set_faults(Faults(error_rate=1.0, error_statuses=(503,)))
            broken[0] = False
        return True

    policy = Policy([Rule("ok", lookup(break_the_hub), accept())])
    arrive(hub, ft, "alice")
    first = await approver(session, ft, tmp_path, policy=policy).run_once()
    assert [(r.outcome, r.error is not None) for r in first.records] == [("error", True)]
    assert first.failed == 1
    hub.set_faults(None)
    second = await approver(session, ft, tmp_path, policy=policy).run_once()
    assert [(r.user, r.outcome) for r in second.records] == [("alice", "ok")]
    assert hub.request_status(REPO, "alice") == "accepted"


async def test_withdrawn_request_is_a_final_error(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    arrive(hub, ft, "alice", "bob")
    hub.add_token("hf_alice", user="alice", role="read")

    async def alice_withdraws(request: AccessRequest, repo_id: str) -> bool:
        if request.username == "alice":  # between the listing and the batch call
            url = f"{hub.url}/api/models/{REPO}/user-access-request/cancel"
            headers = {"Authorization": "Bearer hf_alice"}
            async with aiohttp.ClientSession() as http, http.post(url, headers=headers) as r:
                assert r.status == 200
        return True

    policy = Policy([Rule("ok", lookup(alice_withdraws), accept())])
    report = await approver(session, ft, tmp_path, policy=policy).run_once()
    assert [(r.user, r.outcome, r.error) for r in report.records] == [
        ("alice", "error", "request_not_found"),
        ("bob", "ok", None),
    ]
    arrive(hub, ft, "carol")  # alice's failure is final: not tried again
    again = await approver(session, ft, tmp_path, policy=policy).run_once()
    assert [r.user for r in again.records] == ["carol"]


async def test_batch_route_missing_falls_back_to_handle(ft: VirtualTime, tmp_path: Path) -> None:
    async with FakeHub(clock=ft, batch_enabled=False) as hub:
        hub.add_repo(REPO)
        arrive(hub, ft, "a", "b", email="x@acme.com")
        async with open_session(hub, ft) as s:
            report = await approver(s, ft, tmp_path).run_once()
        assert [r.outcome for r in report.records] == ["ok", "ok"]
        assert hub.counters.calls.get("handle") == 2


async def test_auth_error_is_raised(hub: FakeHub, ft: VirtualTime, tmp_path: Path) -> None:
    async with open_session(hub, ft, "hf_wrong") as bad:
        with pytest.raises(AuthenticationError):
            await approver(bad, ft, tmp_path).run_once()


async def test_run_forever_follows_arrivals_until_cancelled(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    reports: list[int] = []

    def schedule(n: int) -> None:
        if n == 2:
            arrive(hub, ft, "a", email="a@acme.com")
        if n == 5:
            arrive(hub, ft, "mallory")
        if n == 7:
            task.cancel()

    ft.on_sleep = schedule
    a = approver(session, ft, tmp_path)
    task = asyncio.create_task(a.run(on_pass=lambda r: reports.append(len(r.records))))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(x["user"], x["decision"]) for x in audit(tmp_path)] == [
        ("a", "accept"),
        ("mallory", "reject"),
    ]
    assert sum(reports) == 2
    assert ft.sleeps[:3] == [1.0, 2.0, 1.0]  # backed off while idle, back to 1 s after "a"


async def test_run_watch_command(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    arrive(hub, ft, "mallory")
    hub.add_user("alice", email="alice@uni.edu")
    ft.now += 1
    hub.ask_access(
        REPO,
        "alice",
        fields={"I agree to the license": True, "Intended use": "research", "Country": "FR"},
    )
    out, err = io.StringIO(), io.StringIO()
    code = await run_watch_command(
        session,
        [REPO],
        EXAMPLE_POLICY,
        once=True,
        audit_log=tmp_path / "audit.jsonl",
        state_file=tmp_path / "state.json",
        include_existing=True,
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert "reject owner/gated-model mallory [rule deny-list]" in text
    assert "accept owner/gated-model alice [rule academic] -> ok" in text
    assert err.getvalue().splitlines()[-1].startswith("2 decisions: 1 accept, 1 reject")

    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\ntype = "nope"\ndecision = "accept"\n')
    with pytest.raises(ValueError, match="unknown rule type 'nope'"):
        await run_watch_command(session, [REPO], bad, once=True, out=out, err=err)

    async with open_session(hub, ft, "hf_wrong") as wrong:
        with pytest.raises(AuthenticationError):
            await run_watch_command(wrong, [REPO], EXAMPLE_POLICY, once=True, out=out, err=err)


async def test_first_run_leaves_what_is_already_pending_alone(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    arrive(hub, ft, "a1", email="x@acme.com")
    arrive(hub, ft, "mallory")
    arrive(hub, ft, "h1")
    first = await approver(session, ft, tmp_path, include_existing=False).run_once()
    assert (first.records, first.left_alone) == ((), 3)
    assert hub.request_status(REPO, "mallory") == "pending"
    arrive(hub, ft, "a2", email="y@acme.com")
    second = await approver(session, ft, tmp_path, include_existing=False).run_once()
    assert [(r.user, r.outcome) for r in second.records] == [("a2", "ok")]
    assert second.left_alone == 0  # the saved position: nothing is left alone twice
    assert hub.request_status(REPO, "a1") == "pending"


async def test_the_default_is_new_requests_only(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    arrive(hub, ft, "mallory")
    report = await AutoApprover(session, [REPO], POLICY, clock=ft, sleep=ft.sleep).run_once()
    assert (report.records, report.left_alone) == ((), 1)


async def test_watch_command_says_what_its_first_run_does(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    arrive(hub, ft, "mallory")
    arrive(hub, ft, "h1")
    out, err = io.StringIO(), io.StringIO()
    state = tmp_path / "state.json"
    code = await run_watch_command(
        session, [REPO], EXAMPLE_POLICY, once=True, state_file=state, out=out, err=err
    )
    assert code == 0
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("first run: deciding only requests that arrive from now on")
    assert lines[1] == (
        "left 2 pending requests alone: pending before the watch started "
        "(--include-existing decides them)"
    )
    assert hub.request_status(REPO, "mallory") == "pending"

    arrive(hub, ft, "mallory2")
    err = io.StringIO()
    code = await run_watch_command(
        session, [REPO], EXAMPLE_POLICY, once=True, state_file=state, out=out, err=err
    )
    assert err.getvalue().startswith("resuming from the state file")
    assert "left" not in err.getvalue()


def test_an_audit_line_names_a_hidden_requester_by_its_request_label() -> None:
    hidden = AccessRequest(request_id="abc123", username=None, status=RequestStatus.PENDING)
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    record = AuditRecord(
        when, "org/m", RepoType.MODEL, None, "abc123", PolicyDecision.ACCEPT, None, "r1", "ok"
    )
    assert hidden.label == UserRef.of_request(None, "abc123").label == "request:abc123"
    assert record.line().startswith("accept org/m request:abc123 [rule r1]")
