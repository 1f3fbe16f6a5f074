"""The watch loop against the fake Hub, with an injected clock (no real sleeps)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from hf_access import (
    AccessRequest,
    AccessSession,
    AuthenticationError,
    HubConnectionError,
    PermissionDeniedError,
    RateLimiter,
    RepoNotFoundError,
    RequestStatus,
    RetryPolicy,
)
from hf_access.hub.watch import Cursor, Watcher, WatchEvent, WatchState, parse_repo, watch
from hf_access.testing import FakeHub, Faults

from ..conftest import VirtualTime
from .conftest import REPO


@pytest.fixture
async def session(hub: FakeHub, ft: VirtualTime) -> AsyncIterator[AccessSession]:
    async with open_session(hub, ft, retry=RetryPolicy(max_attempts=1)) as s:
        yield s


def open_session(
    hub: FakeHub, ft: VirtualTime, token: str | None = None, **kw: Any
) -> AccessSession:
    limiter = RateLimiter(clock=ft, sleep=ft.sleep)  # the fake clock: no real waits
    return AccessSession(token or hub.token, hub.url, sleep=ft.sleep, limiter=limiter, **kw)


def arrive(hub: FakeHub, ft: VirtualTime, *names: str, step: float = 1.0, repo: str = REPO) -> None:
    for name in names:
        ft.now += step
        hub.add_user(name)
        hub.ask_access(repo, name)


def make(
    session: AccessSession, ft: VirtualTime, repos: list[str] | None = None, **kw: object
) -> Watcher:
    return watch(
        session, repos or [REPO], interval=1.0, max_interval=8.0, clock=ft, sleep=ft.sleep, **kw
    )  # type: ignore[arg-type]


def names(events: list[WatchEvent]) -> list[str | None]:
    return [e.request.username for e in events]


def lists(hub: FakeHub) -> int:
    return hub.counters.calls.get("list_pending", 0)


async def test_first_poll_only_sets_the_position(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    hub.seed_pending(REPO, 3)
    w = make(session, ft)
    assert await w.poll() == []
    arrive(hub, ft, "alice", "bob")
    events = await w.poll(force=True)
    assert names(events) == ["alice", "bob"]
    assert all(e.repo_id == REPO and e.request.status is RequestStatus.PENDING for e in events)
    for e in events:
        w.done(e)
    assert await w.poll(force=True) == []
    assert lists(hub) == 3  # one call per poll


async def test_include_existing_hands_out_the_backlog(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    hub.seed_pending(REPO, 3)
    w = make(session, ft, include_existing=True)
    assert names(await w.poll()) == ["user-000000", "user-000001", "user-000002"]


async def test_same_millisecond_arrivals_are_neither_lost_nor_repeated(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    w = make(session, ft)
    await w.poll()
    arrive(hub, ft, "a", "b", step=0)
    first = await w.poll(force=True)
    for e in first:
        w.done(e)
    arrive(hub, ft, "c", step=0)  # same instant as a and b
    second = await w.poll(force=True)
    assert names(first) == ["a", "b"]
    assert names(second) == ["c"]


async def test_iterator_backs_off_when_idle_and_returns_to_base(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    def schedule(n: int) -> None:
        if n == 6:
            arrive(hub, ft, "late")
        if n == 8:
            arrive(hub, ft, "later")

    ft.on_sleep = schedule
    got: list[str | None] = []
    async with make(session, ft) as events:
        async for event in events:
            got.append(event.request.username)
            if len(got) == 2:
                break
    assert got == ["late", "later"]
    # first poll at once, then 1, 2, 4, 8, 8 (capped) while idle; "late" arrives during the
    # 6th sleep, back to 1 s after it; "later" comes during the 8th.
    assert ft.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 1.0, 2.0]
    assert lists(hub) == 9


async def test_state_file_survives_restarts_without_repeats(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    state = tmp_path / "watch.json"
    hub.seed_pending(REPO, 2, prefix="old")
    arrive(hub, ft, "a", "b", "c")
    seen: list[str | None] = []
    async with make(session, ft, state_file=state, include_existing=True) as events:
        async for event in events:
            seen.append(event.request.username)
            if len(seen) == 3:
                break  # handled old-000000, old-000001, a
    arrive(hub, ft, "d")
    async with make(session, ft, state_file=state) as events:
        async for event in events:
            seen.append(event.request.username)
            if event.request.username == "d":
                break
    assert seen == ["old-000000", "old-000001", "a", "b", "c", "d"]
    saved = json.loads(state.read_text())
    assert saved["version"] == 1
    assert set(saved["streams"]) == {f"model:{REPO}:pending"}
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["watch.json", "watch.json.lock"]  # no temp file left (the lock stays)


async def test_position_is_saved_event_by_event(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    state = tmp_path / "watch.json"
    arrive(hub, ft, "a", "b", "c")
    w = make(session, ft, state_file=state, include_existing=True)
    assert (await w.__anext__()).request.username == "a"
    assert (await w.__anext__()).request.username == "b"  # a is handled and saved now
    # A crash here (no aclose): a restart gives b again, never a.
    again = make(session, ft, state_file=state)
    assert names(await again.poll()) == ["b", "c"]


async def test_transient_errors_are_survived_with_backoff(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    w = make(session, ft)
    await w.poll()
    arrive(hub, ft, "alice")
    stream = w.streams[0]
    for faults in (Faults(error_rate=1.0, error_statuses=(503,)), Faults(drop_rate=1.0)):
        hub.set_faults(faults)
        before = w.interval_of(stream)
        assert await w.poll(force=True) == []
        assert w.interval_of(stream) == min(8.0, before * 2)
    hub.set_faults(None)
    assert w.errors == 2
    assert names(await w.poll(force=True)) == ["alice"]
    assert w.interval_of(stream) == 1.0


async def test_rate_limit_advice_is_honoured(hub: FakeHub, ft: VirtualTime) -> None:
    async with open_session(hub, ft, retry=RetryPolicy(max_rate_limit_wait=1)) as s:
        w = make(s, ft)
        await w.poll()
        hub.set_rate_limit(1, window=300)
        async with open_session(hub, ft) as other:  # another client spends the quota
            await other.list_pending(REPO)
        assert await w.poll(force=True) == []  # 429: the window has 100 s left
    assert w.errors == 1
    assert w.next_due() - ft.now >= 90  # the window ends 100 s later (not 2 s)


async def test_auth_errors_and_missing_repos_are_raised(hub: FakeHub, ft: VirtualTime) -> None:
    hub.add_user("reader")
    hub.add_token("hf_read", user="reader", role="read")
    cases = [
        ("hf_bad", [REPO], AuthenticationError),
        ("hf_read", [REPO], PermissionDeniedError),
        (hub.token, [REPO, "owner/nope"], RepoNotFoundError),
    ]
    for token, repos, error in cases:
        async with open_session(hub, ft, token) as s:
            with pytest.raises(error):
                await make(s, ft, repos).poll()
            with pytest.raises(error):
                async for _ in make(s, ft, repos):
                    pass


async def test_many_repos_statuses_and_types(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    hub.add_repo("owner/data", repo_type="dataset")
    hub.add_repo("owner/auto", gated="auto")
    w = make(
        session, ft, [REPO, "datasets/owner/data", "owner/auto"], statuses=["pending", "accepted"]
    )
    assert len(w.streams) == 6
    await w.poll()
    arrive(hub, ft, "a")
    ft.now += 1
    hub.add_user("b")
    hub.ask_access("owner/data", "b", repo_type="dataset")
    arrive(hub, ft, "c", repo="owner/auto")  # auto-gated: straight to accepted
    events = await w.poll(force=True)
    got = {
        (e.repo_type.value, e.repo_id, e.request.status.value, e.request.username) for e in events
    }
    assert got == {
        ("model", REPO, "pending", "a"),
        ("dataset", "owner/data", "pending", "b"),
        ("model", "owner/auto", "accepted", "c"),
    }
    assert hub.counters.total_calls == 12


async def test_pages_are_followed_then_polls_cost_one_call(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    w = make(session, ft, page_size=10)
    await w.poll()
    arrive(hub, ft, *(f"u{i}" for i in range(25)))
    events = await w.poll(force=True)
    assert len(events) == 25
    for e in events:
        w.done(e)
    hub.reset_counters()
    for _ in range(3):
        assert await w.poll(force=True) == []
    assert lists(hub) == 3


async def test_revisit_hands_out_again_while_pending(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    w = make(session, ft)
    await w.poll()
    arrive(hub, ft, "alice", "bob")
    first = await w.poll(force=True)
    w.revisit(first[0])
    w.done(first[1])
    arrive(hub, ft, "carol")
    second = await w.poll(force=True)
    assert [(e.request.username, e.again) for e in second] == [("alice", True), ("carol", False)]
    w.revisit(second[0])
    w.done(second[1])
    hub.add_user("x")  # someone else accepts alice meanwhile
    async with AccessSession(hub.token, hub.url) as other:
        await other.accept(REPO, "alice")
    assert await w.poll(force=True) == []
    assert w.state.cursors[w.streams[0].key].revisit == {}


async def test_hidden_requesters_are_keyed_by_request_id(
    hub: FakeHub, session: AccessSession, ft: VirtualTime
) -> None:
    hub.add_repo("owner/secret", hide_requesters=True)
    w = make(session, ft, ["owner/secret"])
    await w.poll()
    arrive(hub, ft, "a", "b", repo="owner/secret")
    events = await w.poll(force=True)
    assert [e.request.username for e in events] == [None, None]
    assert len({e.key for e in events}) == 2


async def test_arguments_are_checked_before_any_call(session: AccessSession) -> None:
    with pytest.raises(ValueError, match="invalid repo id"):
        watch(session, ["not a repo"])
    with pytest.raises(ValueError, match="unknown request status"):
        watch(session, [REPO], statuses=["waiting"])
    with pytest.raises(ValueError, match="interval"):
        watch(session, [REPO], interval=10, max_interval=5)
    assert parse_repo("spaces/o/s") == ("o/s", parse_repo("o/s", "space")[1])


# -- the cursor alone ----------------------------------------------------------------------------

T0 = datetime(2026, 10, 5, 12, 0, tzinfo=timezone.utc)


def item(rid: str, seconds: float) -> AccessRequest:
    return AccessRequest(rid, rid, RequestStatus.PENDING, timestamp=T0 + timedelta(seconds=seconds))


def test_cursor_queries_one_millisecond_before_the_position() -> None:
    c = Cursor(T0, {"x": T0})
    assert c.query_after() == T0 - timedelta(milliseconds=1)
    assert not c.is_new(item("x", 0))
    assert c.is_new(item("y", 0))
    assert not c.is_new(item("z", -1))
    c.revisit["old"] = T0 - timedelta(hours=1)
    assert c.query_after() == T0 - timedelta(hours=1, milliseconds=1)
    assert Cursor().query_after() is None


def test_cursor_advances_in_order_and_settles() -> None:
    c = Cursor(T0, {"x": T0})
    c.deliver("a", T0 + timedelta(seconds=1), advance=True)
    assert c.after == T0 + timedelta(seconds=1)
    assert c.seen == {"a": T0 + timedelta(seconds=1)}
    c.deliver("b", T0 + timedelta(seconds=5), advance=False)
    c.settle(T0 + timedelta(seconds=5), {"b"})
    assert c.after == T0 + timedelta(seconds=5)
    assert c.seen == {"b": T0 + timedelta(seconds=5)}


def test_state_round_trips_and_rejects_garbage(tmp_path: Path) -> None:
    state = WatchState({"model:o/m:pending": Cursor(T0, {"a": T0}, {"b": None})})
    path = tmp_path / "s.json"
    state.save(path)
    assert WatchState.load(path) == state
    assert WatchState.load(tmp_path / "missing.json") == WatchState()
    path.write_text('{"version": 9}')
    with pytest.raises(ValueError, match="not a watch state file"):
        WatchState.load(path)


class StubHub:
    """Only what a watch uses: ``iter_requests``, here failing after ``fail_after`` items."""

    def __init__(self, items: list[AccessRequest]) -> None:
        self.items = items
        self.fail_after: int | None = None
        self.afters: list[datetime | None] = []

    def iter_requests(
        self, repo_id: str, status: object, **kw: Any
    ) -> AsyncIterator[AccessRequest]:
        after = kw.get("after")
        self.afters.append(after)
        return self._gen(after)

    async def _gen(self, after: datetime | None) -> AsyncIterator[AccessRequest]:
        for n, request in enumerate(r for r in self.items if after is None or r.timestamp > after):  # type: ignore[operator]
            if self.fail_after is not None and n == self.fail_after:
                raise HubConnectionError("connection reset")
            yield request


@pytest.mark.parametrize("descending", [False, True])
async def test_a_listing_cut_by_an_error_loses_and_repeats_nothing(
    ft: VirtualTime, descending: bool
) -> None:
    stub = StubHub([item(f"r{i}", i) for i in range(6)])
    w = make(stub, ft, include_existing=True)  # type: ignore[arg-type]
    if descending:
        stub.items.reverse()
    stub.fail_after = 3
    first = await w.poll()
    for e in first:
        w.done(e)
    stub.fail_after = None
    second = await w.poll(force=True)
    for e in second:
        w.done(e)
    got = [e.key for e in first + second]
    assert sorted(got) == [f"r{i}" for i in range(6)]
    assert len(got) == 6
    assert w.errors == 1
    assert await w.poll(force=True) == []
    cursor = w.state.cursors[w.streams[0].key]
    assert cursor.after == T0 + timedelta(seconds=5)
    assert set(cursor.seen) == {"r5"}
