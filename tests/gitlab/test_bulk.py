"""approve_many / deny_many: outcomes, stops, duplicates, journal, dry run, cancellation."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aioresponses import aioresponses

from hf_access import (
    AuthenticationError,
    Outcome,
    PermissionDeniedError,
    RateLimitError,
    RepoNotFoundError,
    RequestNotFoundError,
    RetryPolicy,
    ServerError,
    UserNotFoundError,
)
from hf_access.gitlab import (
    GitLabBulkProgress,
    GitLabDecision,
    GitLabSession,
    decisions_for,
)
from hf_access.testing.gitlab import FakeGitLab

from ..conftest import VirtualTime, need_aioresponses
from ._support import make_session


def outcomes(report: Any) -> list[str]:
    return [item.outcome.value for item in report.items]


async def test_approve_outcomes_in_input_order(
    fake_gitlab: FakeGitLab, client: GitLabSession
) -> None:
    fake_gitlab.add_project("acme/app")
    for name in ("ann", "bea"):
        fake_gitlab.add_request("acme/app", name)
    fake_gitlab.add_member("acme/app", "cid", 20)  # already a member, no request
    fake_gitlab.add_user("dan")  # no request, not a member
    report = await client.approve_many(
        ["acme/app"], ["ann", "cid", "ghost", "dan", "bea"], access_level="reporter", concurrency=3
    )
    assert outcomes(report) == ["done", "unchanged", "failed", "failed", "done"]
    ann, cid, ghost, dan, _ = report.items
    assert ann.detail == "approved as reporter"
    assert cid.detail == "already a member (reporter)"
    assert cid.error is None
    assert isinstance(ghost.error, UserNotFoundError)
    assert isinstance(dan.error, RequestNotFoundError)
    assert dan.detail == "no access request, and not a member"
    assert [i.index for i in report.items] == [0, 1, 2, 3, 4]
    assert report.stopped is None
    assert not report.ok
    assert fake_gitlab.state("acme/app").members == {"cid": 20, "ann": 20, "bea": 20}
    assert fake_gitlab.counters["list_requests"] == 1  # names resolved from one cached list
    assert report.calls == sum(fake_gitlab.counters.values())
    assert "5 decisions: 2 done, 1 unchanged, 2 failed" in report.summary()


async def test_deny_outcomes(fake_gitlab: FakeGitLab, client: GitLabSession) -> None:
    fake_gitlab.add_group("acme")
    fake_gitlab.add_request("acme", "ann", kind="group")
    fake_gitlab.add_user("dan")
    fake_gitlab.add_member("acme", "cid", 30, kind="group")
    ids = [fake_gitlab.user(n).id for n in ("ann", "dan", "cid")]
    report = await client.deny_many("acme", ids, kind="group")
    assert outcomes(report) == ["done", "unchanged", "failed"]
    assert report.items[1].detail == "no pending request, and not a member"
    assert isinstance(report.items[2].error, RequestNotFoundError)
    assert "already a member (developer)" in (report.items[2].detail or "")
    assert report.items[0].attempts == 1
    assert report.items[1].attempts == 2
    assert fake_gitlab.state("acme", kind="group").requests == ()


async def test_many_targets_and_groups(fake_gitlab: FakeGitLab, client: GitLabSession) -> None:
    for group in ("g1", "g2"):
        fake_gitlab.add_group(group)
        fake_gitlab.seed_requests(group, 2, kind="group")
    report = await client.approve_many(["g1", "g2"], ["user-000000", "user-000001"], kind="group")
    assert report.done == 4
    assert [(i.decision.target, i.decision.user) for i in report.items] == [
        ("g1", "user-000000"),
        ("g1", "user-000001"),
        ("g2", "user-000000"),
        ("g2", "user-000001"),
    ]


async def test_401_stops_the_run(fake_gitlab: FakeGitLab, fake_time: VirtualTime) -> None:
    fake_gitlab.add_project("acme/app")
    async with make_session(fake_gitlab.url, "glpat-revoked", fake_time) as gl:
        report = await gl.approve_many("acme/app", [2, 3, 4, 5], concurrency=1)
    assert outcomes(report) == ["failed"] + ["not_attempted"] * 3
    assert isinstance(report.items[0].error, AuthenticationError)
    assert report.stopped is not None
    assert report.stopped.startswith("AuthenticationError")
    assert report.items[1].detail is not None
    assert "run stopped" in report.items[1].detail
    assert fake_gitlab.counters["approve"] == 1


async def test_403_stops_the_run(fake_gitlab: FakeGitLab, fake_time: VirtualTime) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.seed_requests("acme/app", 6)
    fake_gitlab.add_token("glpat-reporter", "rita", level=20)
    async with make_session(fake_gitlab.url, "glpat-reporter", fake_time) as gl:
        ids = [fake_gitlab.user(f"user-{n:06d}").id for n in range(6)]
        report = await gl.deny_many("acme/app", ids, concurrency=2)
    assert report.failed == 2
    assert report.not_attempted == 4
    assert all(isinstance(i.error, PermissionDeniedError) for i in report.failures())
    assert len(fake_gitlab.state("acme/app").requests) == 6


async def test_duplicates_are_decided_once(fake_gitlab: FakeGitLab, client: GitLabSession) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_request("acme/app", "ann")
    ann = fake_gitlab.user("ann").id
    report = await client.approve_many("acme/app", ["ann", "ann", "@ANN", ann], concurrency=4)
    assert outcomes(report) == ["done", "done", "done", "unchanged"]
    assert report.items[1].detail == "duplicate of item 0: approved as developer"
    assert report.items[1].attempts == 0
    assert fake_gitlab.counters["approve"] == 2  # the name once, the id once (then unchanged)


async def test_conflicts_and_bad_input_raise_before_any_request(
    fake_gitlab: FakeGitLab, client: GitLabSession
) -> None:
    fake_gitlab.add_project("acme/app")
    clash = [
        GitLabDecision("acme/app", "ann", "approve"),
        GitLabDecision("acme/app", "ANN", "deny"),
    ]
    with pytest.raises(ValueError, match="approve and to deny"):
        client.start_bulk(clash)
    with pytest.raises(ValueError, match="project or group path"):
        await client.approve_many(["acme/app", "bad//path"], ["ann"])
    with pytest.raises(ValueError, match="unknown access level"):
        await client.approve_many("acme/app", ["ann"], access_level=99)
    with pytest.raises(ValueError, match="concurrency"):
        await client.approve_many("acme/app", ["ann"], concurrency=0)
    assert sum(fake_gitlab.counters.values()) == 0


async def test_missing_target_fails_its_items_without_more_calls(
    fake_gitlab: FakeGitLab, client: GitLabSession
) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.seed_requests("acme/app", 2)
    ids = [fake_gitlab.user("user-000000").id, fake_gitlab.user("user-000001").id]
    report = await client.approve_many(["gone/app", "acme/app"], ids, concurrency=1)
    assert outcomes(report) == ["failed", "failed", "done", "done"]
    assert isinstance(report.items[1].error, RepoNotFoundError)
    assert report.items[1].attempts == 0
    assert report.items[1].detail is not None
    assert report.items[1].detail.endswith("(item 0)")
    assert "not found" in report.items[1].detail.lower()


async def test_journal_resumes(
    fake_gitlab: FakeGitLab, fake_time: VirtualTime, tmp_path: Path
) -> None:
    fake_gitlab.add_project("acme/app")
    names = fake_gitlab.seed_requests("acme/app", 4)
    journal = tmp_path / "runs" / "approve.jsonl"
    fake_gitlab.fail_next("approve", 500)
    async with make_session(
        fake_gitlab.url, fake_gitlab.token, fake_time, retry=RetryPolicy(max_attempts=1)
    ) as gl:
        first = await gl.approve_many("acme/app", names, concurrency=1, journal=journal)
        assert outcomes(first) == ["failed", "done", "done", "done"]
        assert isinstance(first.items[0].error, ServerError)
        calls = sum(fake_gitlab.counters.values())
        second = await gl.approve_many("acme/app", names, concurrency=1, journal=str(journal))
    assert outcomes(second) == ["done"] * 4
    assert [i.from_journal for i in second.items] == [False, True, True, True]
    assert sum(fake_gitlab.counters.values()) == calls + 1
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert lines[0] == {"journal": "hf-access", "version": 2, "kind": "gitlab"}
    assert [line["outcome"] for line in lines[1:]] == ["failed", "done", "done", "done", "done"]
    assert lines[1]["key"] == "gitlab:project:acme/app|user-000000|approve:30"
    assert lines[1]["error"].startswith("ServerError: 500")


async def test_dry_run_sends_nothing(
    fake_gitlab: FakeGitLab, client: GitLabSession, tmp_path: Path
) -> None:
    fake_gitlab.add_project("acme/app")
    journal = tmp_path / "j.jsonl"
    done = GitLabDecision("acme/app", 7, "approve", access_level=20)
    journal.write_text(
        '{"journal":"hf-access","version":1}\n'
        + json.dumps({"key": done.key, "outcome": "done"})
        + "\n"
        + '{"key": "torn'  # a torn last line is ignored
    )
    report = await client.approve_many(
        "acme/app", [7, "bob"], access_level=20, dry_run=True, journal=journal
    )
    assert sum(fake_gitlab.counters.values()) == 0
    assert outcomes(report) == ["done", "not_attempted"]
    assert report.items[0].from_journal
    assert report.items[1].detail == "dry run"
    assert report.stopped == "dry run"
    [plan] = report.plan
    assert (plan.method, plan.path, plan.params) == (
        "PUT",
        "projects/acme%2Fapp/access_requests/{bob}/approve",
        {"access_level": "20"},
    )
    deny = await client.deny_many(3, [5], dry_run=True)
    assert [(p.method, p.path) for p in deny.plan] == [("DELETE", "projects/3/access_requests/5")]


async def test_cancellation_leaves_a_report(
    fake_gitlab: FakeGitLab, client: GitLabSession, tmp_path: Path
) -> None:
    fake_gitlab.add_project("acme/app")
    names = fake_gitlab.seed_requests("acme/app", 6)
    journal = tmp_path / "j.jsonl"
    seen: list[GitLabBulkProgress] = []

    def progress(p: GitLabBulkProgress) -> None:
        seen.append(p)
        if p.finished == 2:
            task.cancel()

    run = client.start_bulk(
        decisions_for("acme/app", names, "approve"),
        concurrency=1,
        on_progress=progress,
        journal=journal,
    )
    task = asyncio.create_task(run.run())
    with pytest.raises(asyncio.CancelledError):
        await task
    report = run.report()
    assert report.stopped == "cancelled"
    assert outcomes(report) == ["done", "done"] + ["not_attempted"] * 4
    # the third item was in flight when the task was cancelled
    assert report.items[2].detail is not None
    assert report.items[2].detail.startswith("cancelled while its call was in flight")
    assert report.items[3].detail == "run stopped: cancelled"
    assert [p.finished for p in seen] == [1, 2]
    assert seen[-1].last is not None
    assert seen[-1].done == 2
    assert len(journal.read_text().splitlines()) == 1 + 2
    with pytest.raises(RuntimeError, match="runs once"):
        await run


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is new in 3.11")
async def test_a_timeout_leaves_the_report_on_the_run(
    fake_gitlab: FakeGitLab, client: GitLabSession
) -> None:
    fake_gitlab.add_project("acme/app")
    names = fake_gitlab.seed_requests("acme/app", 3)
    if sys.version_info >= (3, 11):  # (mypy checks for 3.10)
        run = client.start_bulk(decisions_for("acme/app", names, "approve"), concurrency=1)

        async def with_deadline() -> None:
            async with asyncio.timeout(None) as deadline:
                # The deadline passes as item 0 finishes (no real waiting).
                run._on_progress = lambda p: deadline.reschedule(asyncio.get_running_loop().time())
                await run

        with pytest.raises(TimeoutError):
            await with_deadline()
        assert outcomes(run.report()) == ["done", "not_attempted", "not_attempted"]
        assert run.report().stopped == "cancelled"


async def test_concurrency_is_bounded_and_progress_is_reported(
    fake_gitlab: FakeGitLab, client: GitLabSession
) -> None:
    fake_gitlab.add_project("acme/app")
    fake_gitlab.seed_requests("acme/app", 20)
    ids = [fake_gitlab.user(f"user-{n:06d}").id for n in range(20)]
    transport = client._transport
    original = transport.send
    live, peak = 0, 0

    async def tracking(*args: Any, **kwargs: Any) -> Any:
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        try:
            await asyncio.sleep(0)
            return await original(*args, **kwargs)
        finally:
            live -= 1

    transport.send = tracking  # type: ignore[method-assign]
    seen: list[int] = []
    report = await client.approve_many(
        "acme/app", ids, concurrency=4, on_progress=lambda p: seen.append(p.finished)
    )
    assert report.done == 20
    assert 1 < peak <= 4
    assert sorted(seen) == list(range(1, 21))


async def test_bulk_goes_through_the_shared_limiter(fake_time: VirtualTime) -> None:
    async with FakeGitLab(clock=fake_time.clock, quota=10, period=60) as gl:
        gl.add_project("acme/app")
        names = gl.seed_requests("acme/app", 30)
        async with make_session(gl.url, gl.token, fake_time) as client:
            report = await client.approve_many("acme/app", names, concurrency=8)
        assert report.done == 30
        assert gl.statuses[429] == 0
        assert client.limiter.stats.waits >= 3


# -- answers the fake does not give: 409 and a long 429 --------------------------------------


async def test_409_already_member_is_unchanged(fake_time: VirtualTime) -> None:
    api = "https://gitlab.example.com/api/v4/projects/9"
    need_aioresponses()
    with aioresponses() as m:
        m.put(
            f"{api}/access_requests/5/approve?access_level=30",
            status=409,
            payload={"message": "Member already exists"},
        )
        m.get(f"{api}/members/all/5", payload={"id": 5, "username": "u", "access_level": 50})
        async with make_session("https://gitlab.example.com", "t", fake_time) as gl:
            report = await gl.approve_many(9, [5])
    assert outcomes(report) == ["unchanged"]
    assert report.items[0].detail == "already a member (owner)"


async def test_long_rate_limit_stops_the_run(fake_time: VirtualTime) -> None:
    api = "https://gitlab.example.com/api/v4/projects/9"
    need_aioresponses()
    with aioresponses() as m:
        m.delete(
            f"{api}/access_requests/1",
            status=429,
            body="Retry later\n",
            headers={"Retry-After": "3600"},
        )
        async with make_session("https://gitlab.example.com", "t", fake_time) as gl:
            report = await gl.deny_many(9, [1, 2, 3], concurrency=1)
    assert outcomes(report) == ["failed", "not_attempted", "not_attempted"]
    assert isinstance(report.items[0].error, RateLimitError)
    assert report.stopped == "rate limited; GitLab asks to wait 3600s"
    assert report.items[0].outcome is Outcome.FAILED


async def test_journal_with_a_torn_line_stays_readable(
    fake_gitlab: FakeGitLab, client: GitLabSession, tmp_path: Path
) -> None:
    fake_gitlab.add_project("acme/app")
    names = fake_gitlab.seed_requests("acme/app", 2)
    journal = tmp_path / "j.jsonl"
    journal.write_text('{"journal":"hf-access","version":1}\n{"key": "gitlab:proj')  # killed
    first = await client.approve_many("acme/app", names[:1], journal=journal)
    assert first.done == 1
    second = await client.approve_many("acme/app", names, journal=journal)
    assert [i.from_journal for i in second.items] == [True, False]
    assert len(journal.read_text().splitlines()) == 3


async def test_duplicates_mirror_an_item_settled_by_the_journal(
    fake_gitlab: FakeGitLab, client: GitLabSession, tmp_path: Path
) -> None:
    fake_gitlab.add_project("acme/app")
    [name] = fake_gitlab.seed_requests("acme/app", 1)
    journal = tmp_path / "j.jsonl"
    await client.approve_many("acme/app", [name], journal=journal)
    report = await client.approve_many("acme/app", [name, name], journal=journal)
    assert outcomes(report) == ["done", "done"]
    assert [i.from_journal for i in report.items] == [True, True]
