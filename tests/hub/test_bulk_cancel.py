"""Cancelling a run: it stops quickly, closes nothing it does not own, and reports what it did."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from hf_access import AccessSession, BulkProgress, Call, Decision, Outcome
from hf_access.core.transport import Response
from hf_access.testing import FakeHub, Faults

from ._bulk_helpers import FAST_RETRY, REPO, calls, no_sleep


@pytest.fixture
async def borrowed(fhub: FakeHub) -> AsyncIterator[tuple[aiohttp.ClientSession, AccessSession]]:
    async with aiohttp.ClientSession() as http:
        hub = AccessSession(
            token=fhub.token, endpoint=fhub.url, session=http, retry=FAST_RETRY, sleep=no_sleep
        )
        async with hub:
            yield http, hub


async def test_cancel_mid_run_stops_quickly_and_reports(
    fhub: FakeHub, borrowed: tuple[aiohttp.ClientSession, AccessSession]
) -> None:
    http, hub = borrowed
    users = [fhub.add_user(f"c{i:03d}").name for i in range(50)]
    transport = hub._transport
    original = transport.send
    gate = asyncio.Event()  # never set: calls after the fifth hang until cancelled
    entered = 0

    async def send(call: Call) -> Response:
        nonlocal entered
        entered += 1
        if entered > 5:
            await gate.wait()
        return await original(call)

    transport.send = send  # type: ignore[method-assign]
    run = hub.start_bulk([(REPO, u, "grant") for u in users], concurrency=3)
    task = asyncio.create_task(run.run())
    while entered < 8:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=1.0)

    report = run.report()
    assert report.stopped == "cancelled"
    assert report == run.report()  # final: it does not change any more
    assert [i.outcome for i in report.items[:5]] == [Outcome.DONE] * 5
    assert all(i.outcome is Outcome.NOT_ATTEMPTED for i in report.items[5:])
    assert all(i.detail and "cancelled" in i.detail for i in report.items[5:])
    assert calls(fhub) == {"grant": 5}
    assert [fhub.request_status(REPO, u) for u in users[:6]] == ["accepted"] * 5 + [None]
    # Nothing it does not own was closed: the borrowed pool and the session still work.
    assert not http.closed
    assert not hub.closed
    transport.send = original  # type: ignore[method-assign]
    await hub.grant(REPO, users[10])
    assert fhub.request_status(REPO, users[10]) == "accepted"
    with pytest.raises(RuntimeError, match="runs once"):
        await run


async def test_cancel_a_batch_run_on_a_slow_hub(fhub: FakeHub) -> None:
    users = fhub.seed_pending(REPO, 1000)
    fhub.set_faults(Faults(latency_ms=20))
    progress: list[BulkProgress[Decision]] = []
    async with aiohttp.ClientSession() as http:
        hub = AccessSession(token=fhub.token, endpoint=fhub.url, session=http)
        tasks: list[asyncio.Task[object]] = []

        def on_progress(p: BulkProgress[Decision]) -> None:
            progress.append(p)
            if p.finished == 200:
                tasks[0].cancel()

        run = hub.start_bulk(
            [(REPO, u, "accept") for u in users], concurrency=2, on_progress=on_progress
        )
        task = asyncio.create_task(run.run())
        tasks.append(task)
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5.0)
        assert not http.closed
    await fhub.idle()  # what the fake Hub had received is applied or dropped

    report = run.report()
    assert report.stopped == "cancelled"
    assert 200 <= report.done < 1000
    assert report.done + report.not_attempted == 1000
    done = {i.decision.user for i in report.items if i.outcome is Outcome.DONE}
    state = fhub.snapshot(REPO)
    assert all(state[u].status == "accepted" for u in done)
    # A chunk in flight at the cancellation may have been applied; nothing else was.
    accepted = {u for u, r in state.items() if r.status == "accepted"}
    assert len(accepted - done) <= 2 * 100


async def test_cancel_before_start_and_during_precheck(fhub: FakeHub) -> None:
    users = fhub.seed_pending(REPO, 10)
    fhub.set_faults(Faults(latency_ms=200))
    async with AccessSession(token=fhub.token, endpoint=fhub.url) as hub:
        run = hub.start_bulk([(REPO, u, "accept") for u in users], precheck=True)
        task = asyncio.create_task(run.run())
        for _ in range(5000):  # until the precheck's list call is on the wire (5 s at most)
            if fhub.counters.total_calls:
                break
            await asyncio.sleep(0.001)
        assert fhub.counters.total_calls == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    report = run.report()
    assert report.stopped == "cancelled"
    assert report.not_attempted == 10
    assert {r.status for r in fhub.snapshot(REPO).values()} == {"pending"}


async def test_cancel_reports_calls_in_flight_as_maybe_applied(
    fhub: FakeHub, session: AccessSession
) -> None:
    users = [fhub.add_user(f"f{i:03d}").name for i in range(10)]
    transport = session._transport
    original = transport.send
    gate = asyncio.Event()
    applied: list[str] = []

    async def send(call: Call) -> Response:
        response = await original(call)
        applied.append(call.body["user"])
        if len(applied) > 2:
            await gate.wait()  # the Hub applied it; the answer is "still on its way"
        return response

    transport.send = send  # type: ignore[method-assign]
    run = session.start_bulk([(REPO, u, "grant") for u in users], concurrency=2)
    task = asyncio.create_task(run.run())
    while len(applied) < 4:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Regression: in-flight items were reported "run stopped: cancelled", like unsent ones.
    report = run.report()
    in_flight = [i for i in report.items if i.decision.user in applied[2:]]
    assert len(in_flight) == 2
    assert all(fhub.request_status(REPO, i.decision.user) == "accepted" for i in in_flight)
    for item in in_flight:
        assert item.outcome is Outcome.NOT_ATTEMPTED
        assert item.detail is not None
        assert "in flight" in item.detail
