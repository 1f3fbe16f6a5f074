"""The relay against the fake Hub and a local receiver, on an injected clock (no real sleeps)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks

from hf_access import AccessSession, AuthenticationError, RateLimiter, RetryPolicy
from hf_access.screening import DeliveryPolicy, EndpointDisabledError, Relay
from hf_access.screening.relay import Outbox
from hf_access.testing import FakeHub

from ..conftest import VirtualTime
from ._receiver import Hit, Receiver
from .conftest import REPO

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "owner/second-model"
DATA_KEYS = {
    "repo_id",
    "repo_type",
    "request_id",
    "user",
    "fullname",
    "email",
    "status",
    "fields",
    "requested_at",
    "reviewed_at",
}


@pytest.fixture
async def session(hub: FakeHub, ft: VirtualTime) -> AsyncIterator[AccessSession]:
    limiter = RateLimiter(clock=ft, sleep=ft.sleep)
    async with AccessSession(
        hub.token, hub.url, sleep=ft.sleep, limiter=limiter, retry=RetryPolicy(max_attempts=1)
    ) as s:
        yield s


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    await rec.start()
    yield rec
    await rec.stop()


def relay_for(
    session: AccessSession, ft: VirtualTime, url: str, outbox: Path | Outbox, **kw: Any
) -> Relay:
    options: dict[str, Any] = {"interval": 1.0, "random": lambda: 0.0}
    options.update(kw)
    repos = options.pop("repos", [REPO])
    return Relay(
        session, repos, to=url, secret=SECRET, outbox=outbox, clock=ft, sleep=ft.sleep, **options
    )


def arrive(hub: FakeHub, ft: VirtualTime, *names: str, repo: str = REPO, **kw: Any) -> None:
    for name in names:
        ft.now += 1
        if name not in hub._state.users:  # the seeding API: a user, then their request
            hub.add_user(name, email=f"{name}@example.org", fullname=name.title())
        hub.ask_access(repo, name, **kw)


async def drive(relay: Relay, ft: VirtualTime, until: Callable[[], bool], steps: int = 200) -> None:
    """Run the relay's loop on the fake clock until ``until()`` holds (bounded)."""
    for _ in range(steps):
        if until():
            return
        await ft.sleep(await relay.step())
    raise AssertionError("the relay did not get there")


def independently_valid(hit: Hit) -> bool:
    """The signature as the reference library computes it."""
    stamp = datetime.fromtimestamp(int(hit.timestamp), tz=timezone.utc)
    expected = standardwebhooks.Webhook(SECRET).sign(hit.id, stamp, hit.body.decode())
    return expected in hit.signature.split(" ")


def payload(hit: Hit) -> dict[str, Any]:
    return json.loads(hit.body)  # type: ignore[no-any-return]


async def test_new_requests_are_delivered_signed_with_the_hubs_data(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, receiver: Receiver, tmp_path: Path
) -> None:
    arrive(hub, ft, "early")  # before the relay: not an event (only what arrives afterwards)
    async with relay_for(session, ft, receiver.url, tmp_path / "r.db") as relay:
        assert await relay.poll() == 0
        arrive(hub, ft, "alice", fields={"Company": "ACME"})
        arrive(hub, ft, "bob")
        await drive(relay, ft, lambda: len(receiver.delivered()) == 2)
        assert relay.stats().delivered == 2
    first, second = receiver.hits
    assert all(independently_valid(h) for h in receiver.hits)
    body = payload(first)
    assert set(body) == {"type", "timestamp", "data"}
    assert body["type"] == "access_request.created"
    assert set(body["data"]) == DATA_KEYS
    record = hub.snapshot_of(REPO, "alice")
    assert record is not None
    assert body["data"]["user"] == "alice"
    assert body["data"]["email"] == "alice@example.org"
    assert body["data"]["fullname"] == "Alice"
    assert body["data"]["fields"] == {"Company": "ACME"}
    assert body["data"]["status"] == "pending"
    assert body["data"]["repo_id"] == REPO
    assert body["data"]["repo_type"] == "model"
    assert body["data"]["reviewed_at"] is None
    assert body["timestamp"] == body["data"]["requested_at"]
    assert payload(second)["data"]["user"] == "bob"
    assert first.headers["Content-Type"] == "application/json"
    assert "Authorization" not in first.headers  # the Hub token never reaches the receiver
    assert hub.token not in json.dumps(first.headers)


async def test_a_failing_receiver_gets_everything_in_order_per_repo(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    hub.add_repo(OTHER)
    # refused until started; then 500 for four attempts, a 503 with Retry-After, then 200
    script = {0: 500, 1: 500, 2: 502, 3: 500, 4: 503}
    receiver = Receiver(
        answer=lambda n: (script.get(n, 200), {"Retry-After": "30"} if n == 4 else {}),
        clock=ft,
    )
    relay = relay_for(session, ft, receiver.url, tmp_path / "r.db", repos=[REPO, OTHER])
    try:
        await relay.poll()
        arrive(hub, ft, "a1", "a2", "a3")
        arrive(hub, ft, "b1", "b2", repo=OTHER)
        for _ in range(3):  # connection refused
            await ft.sleep(await relay.step())
        assert relay.stats().pending == 5
        assert relay.failed >= 2
        await receiver.start()
        await drive(relay, ft, lambda: relay.stats().pending == 0)
        assert relay.stats().dead == 0
    finally:
        await relay.aclose()
        await receiver.stop()
    got = receiver.delivered()
    per_repo: dict[str, list[str]] = {}
    for hit in got:
        data = payload(hit)["data"]
        per_repo.setdefault(data["repo_id"], []).append(data["user"])
    assert per_repo == {REPO: ["a1", "a2", "a3"], OTHER: ["b1", "b2"]}
    ids = {h.id for h in receiver.hits}
    assert len(ids) == 5  # retries reuse the event's id
    assert all(independently_valid(h) for h in receiver.hits)
    after_503 = [h for h in receiver.hits if h.id == receiver.hits[4].id]
    gap = after_503[after_503.index(receiver.hits[4]) + 1].at - receiver.hits[4].at
    assert 30 <= gap < 32  # the 503's Retry-After was honoured


async def test_retry_after_is_honoured_but_capped_and_backoff_grows(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    receiver = Receiver(answer=lambda n: (429, {"Retry-After": "100000"}) if n < 3 else (200, {}))
    await receiver.start()
    policy = DeliveryPolicy(first_delay=2, factor=3, max_delay=60, max_retry_after=500)
    box = Outbox(tmp_path / "r.db")
    relay = relay_for(session, ft, receiver.url, box, policy=policy, interval=10_000)
    try:
        await relay.poll()
        arrive(hub, ft, "alice")
        await relay.poll(force=True)
        event = box.events()[0]
        await relay.deliver()
        waits = [box.events()[0].next_at - ft.now]
        ft.now = box.events()[0].next_at
        await relay.deliver()
        waits.append(box.events()[0].next_at - ft.now)
        assert waits == [500, 500]  # capped at max_retry_after
        assert box.get(event.id).last_status == 429  # type: ignore[union-attr]
    finally:
        await relay.aclose()
        box.close()
        await receiver.stop()
    assert DeliveryPolicy(first_delay=2, factor=3, max_delay=60, jitter=0.5).delay(
        3, random=1.0
    ) == pytest.approx(9.0)  # 18 less half of it


async def test_too_old_goes_to_the_dead_letters_and_the_repo_goes_on(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    receiver = Receiver(answer=lambda n: (500, {}) if n < 4 else (204, {}))
    await receiver.start()
    policy = DeliveryPolicy(first_delay=10, factor=2, max_delay=100, max_age=60)
    relay = relay_for(session, ft, receiver.url, tmp_path / "r.db", policy=policy, interval=500)
    try:
        await relay.poll()
        arrive(hub, ft, "doomed")
        await relay.poll(force=True)
        await drive(relay, ft, lambda: relay.stats().dead == 1)
        arrive(hub, ft, "next")
        await relay.poll(force=True)
        await drive(relay, ft, lambda: relay.stats().pending == 0)
        dead = relay.outbox.dead_letters()
    finally:
        await relay.aclose()
        await receiver.stop()
    assert len(dead) == 1
    assert dead[0][2] == "access_request.created"
    assert dead[0][3] == 4  # attempts at 0, 10, 30 and the last one at the age limit, 60
    assert dead[0][4] == "HTTP 500"
    assert payload(receiver.delivered()[0])["data"]["user"] == "next"


async def test_410_disables_the_endpoint_until_enabled_again(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    receiver = Receiver(answer=lambda n: (410, {}) if n == 0 else (204, {}))
    await receiver.start()
    path = tmp_path / "r.db"
    try:
        async with relay_for(session, ft, receiver.url, path) as relay:
            await relay.poll()
            arrive(hub, ft, "alice", "bob")
            with pytest.raises(EndpointDisabledError, match="410"):
                await drive(relay, ft, lambda: False)
            assert len(receiver.hits) == 1  # nothing more after the 410
            assert relay.stats().pending == 2  # nothing lost
            assert receiver.url in relay.stats().disabled
        async with relay_for(session, ft, receiver.url, path) as again:
            with pytest.raises(EndpointDisabledError, match="--enable"):
                await again.run()
        async with relay_for(session, ft, receiver.url, path, enable=True) as enabled:
            await drive(enabled, ft, lambda: len(receiver.delivered()) == 2)
            assert enabled.stats().disabled == {}
    finally:
        await receiver.stop()
    assert [payload(h)["data"]["user"] for h in receiver.delivered()] == ["alice", "bob"]
    assert receiver.hits[0].id == receiver.hits[1].id


async def test_redirects_are_never_followed(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    receiver = Receiver(answer=lambda n: (307, {"Location": "/moved"}) if n < 2 else (204, {}))
    await receiver.start()
    try:
        async with relay_for(session, ft, receiver.url, tmp_path / "r.db") as relay:
            await relay.poll()
            arrive(hub, ft, "alice")
            await drive(relay, ft, lambda: len(receiver.delivered()) == 1)
            assert relay.failed == 2
    finally:
        await receiver.stop()
    assert receiver.elsewhere == 0


async def test_a_restart_queues_nothing_twice_and_keeps_ids(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    receiver = Receiver(answer=lambda n: (500, {}) if n < 1 else (204, {}))
    await receiver.start()
    path = tmp_path / "r.db"
    try:
        async with relay_for(session, ft, receiver.url, path) as relay:
            await relay.poll()
            arrive(hub, ft, "alice", "bob")
            assert await relay.poll(force=True) == 2
            await relay.deliver()  # alice's first attempt fails: both stay queued
            queued = [e.id for e in relay.outbox.events()]
        async with relay_for(session, ft, receiver.url, path) as restarted:
            assert await restarted.poll(force=True) == 0
            assert [e.id for e in restarted.outbox.events()] == queued
            await drive(restarted, ft, lambda: restarted.stats().pending == 0)
    finally:
        await receiver.stop()
    assert [h.id for h in receiver.hits] == [queued[0], *queued]


async def test_decisions_made_elsewhere_become_events(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, receiver: Receiver, tmp_path: Path
) -> None:
    arrive(hub, ft, "old", "alice", "bob", "carol")
    await session.accept(REPO, "old")  # decided before the relay started: not an event
    statuses = ["pending", "accepted", "rejected", "reset"]
    async with relay_for(session, ft, receiver.url, tmp_path / "r.db", statuses=statuses) as relay:
        await relay.poll()
        ft.now += 5
        await session.accept(REPO, "alice")
        await session.reject(REPO, "bob", reason="incomplete form")
        await session.reset(REPO, "carol")
        arrive(hub, ft, "dave")
        await drive(relay, ft, lambda: len(receiver.delivered()) == 4)
        assert await relay.poll(force=True) == 0  # nothing new on the next reading
    got = {payload(h)["data"]["user"]: payload(h) for h in receiver.delivered()}
    assert {u: b["type"] for u, b in got.items()} == {
        "alice": "access_request.accepted",
        "bob": "access_request.rejected",
        "carol": "access_request.reset",
        "dave": "access_request.created",
    }
    accepted = got["alice"]
    assert accepted["data"]["status"] == "accepted"
    assert accepted["data"]["reviewed_at"] is not None
    assert accepted["timestamp"] == accepted["data"]["reviewed_at"]
    assert set(accepted["data"]) == DATA_KEYS
    assert all(independently_valid(h) for h in receiver.hits)


async def test_replay_sends_again_with_the_same_id(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, receiver: Receiver, tmp_path: Path
) -> None:
    async with relay_for(session, ft, receiver.url, tmp_path / "r.db") as relay:
        await relay.poll()
        arrive(hub, ft, "alice")
        await drive(relay, ft, lambda: len(receiver.delivered()) == 1)
        arrive(hub, ft, "bob")
        await drive(relay, ft, lambda: len(receiver.delivered()) == 2)
        alice, bob = relay.outbox.events()
        assert relay.outbox.replay(now=ft.now, event_id=alice.id) == 1
        await drive(relay, ft, lambda: len(receiver.delivered()) == 3)
        assert relay.outbox.replay(now=ft.now, since=bob.seen_at) == 1
        await drive(relay, ft, lambda: len(receiver.delivered()) == 4)
        assert relay.outbox.replay(now=ft.now, event_id="msg_unknown") == 0
        with pytest.raises(ValueError, match="exactly one"):
            relay.outbox.replay(now=ft.now)
    assert [h.id for h in receiver.hits] == [alice.id, bob.id, alice.id, bob.id]


async def test_the_secret_never_shows(
    hub: FakeHub,
    session: AccessSession,
    ft: VirtualTime,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="hf_access")
    receiver = Receiver(answer=lambda n: (500, {}) if n < 2 else (204, {}))
    await receiver.start()
    path = tmp_path / "r.db"
    try:
        async with relay_for(session, ft, receiver.url, path) as relay:
            await relay.poll()
            arrive(hub, ft, "alice")
            await drive(relay, ft, lambda: len(receiver.delivered()) == 1)
            text = f"{relay!r} {relay.stats()!r} {relay.outbox.events()!r}"
    finally:
        await receiver.stop()
    key = SECRET[len("whsec_") :]
    assert key not in text
    assert key not in caplog.text
    assert "failed (HTTP 500)" in caplog.text
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert key.encode() not in raw
    assert hub.token.encode() not in raw
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_auth_errors_are_raised_and_transient_ones_ridden_out(
    hub: FakeHub, ft: VirtualTime, receiver: Receiver, tmp_path: Path
) -> None:
    limiter = RateLimiter(clock=ft, sleep=ft.sleep)
    async with AccessSession(
        "hf_wrong", hub.url, sleep=ft.sleep, limiter=limiter, retry=RetryPolicy(max_attempts=1)
    ) as bad:
        relay = relay_for(bad, ft, receiver.url, tmp_path / "r.db", statuses=["accepted"])
        with pytest.raises(AuthenticationError):
            await relay.poll()
        await relay.aclose()


async def test_bad_arguments_fail_before_anything_is_opened(
    session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    path = tmp_path / "never.db"
    bad: list[dict[str, Any]] = [
        {"to": "ftp://example.org/x"},
        {"to": "not a url"},
        {"secret": "whsec_!!"},
        {"secret": []},
        {"statuses": ["granted"]},
        {"statuses": []},
        {"repos": ["not/a/valid/repo"]},
        {"repos": []},
        {"interval": 0},
        {"concurrency": 0},
    ]
    for options in bad:
        kwargs: dict[str, Any] = {"to": "http://127.0.0.1:9/x", "secret": SECRET, **options}
        repos = kwargs.pop("repos", [REPO])
        with pytest.raises(ValueError):  # noqa: PT011 (each names its own problem)
            Relay(session, repos, outbox=path, clock=ft, sleep=ft.sleep, **kwargs)
    assert not path.exists()
    with pytest.raises(ValueError, match="max_delay"):
        DeliveryPolicy(first_delay=10, max_delay=1)


async def test_a_file_that_is_not_an_outbox(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not sqlite\n" * 100)
    with pytest.raises(ValueError, match="not a relay outbox"):
        Outbox(path)


async def test_an_attempt_that_gets_no_answer_is_bounded_and_retried(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, tmp_path: Path
) -> None:
    from aiohttp import web

    from ._receiver import free_port

    never = asyncio.Event()
    calls: list[str] = []

    async def hang(request: web.Request) -> web.Response:
        calls.append(request.headers["webhook-id"])
        await never.wait()  # no answer before the relay gives up
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/slow", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    policy = DeliveryPolicy(timeout=0.1)  # the one real wait of these tests: 0.1 s
    try:
        async with relay_for(
            session, ft, f"http://127.0.0.1:{port}/slow", tmp_path / "r.db", policy=policy
        ) as relay:
            await relay.poll()
            arrive(hub, ft, "alice")
            await relay.poll(force=True)
            assert await asyncio.wait_for(relay.deliver(), timeout=10) == 1
            event = relay.outbox.events()[0]
            assert event.state == "pending"
            assert event.last_error == "no answer within 0.1s"
            assert event.next_at > ft.now
    finally:
        never.set()  # let the handler end, so that the server stops at once
        await runner.cleanup()
    assert set(calls) <= {event.id}  # (a loaded machine may time out before the handler runs)


async def test_dataset_repos_and_their_type_in_the_payload(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, receiver: Receiver, tmp_path: Path
) -> None:
    hub.add_repo("owner/data", repo_type="dataset")
    repos = ["datasets/owner/data", REPO]
    async with relay_for(session, ft, receiver.url, tmp_path / "r.db", repos=repos) as relay:
        await relay.poll()
        arrive(hub, ft, "dana", repo="owner/data", repo_type="dataset")
        arrive(hub, ft, "mo")
        await drive(relay, ft, lambda: len(receiver.delivered()) == 2)
    got = {payload(h)["data"]["user"]: payload(h)["data"] for h in receiver.delivered()}
    assert (got["dana"]["repo_id"], got["dana"]["repo_type"]) == ("owner/data", "dataset")
    assert (got["mo"]["repo_id"], got["mo"]["repo_type"]) == (REPO, "model")


async def test_delivered_events_are_kept_for_replays_then_forgotten(
    hub: FakeHub, session: AccessSession, ft: VirtualTime, receiver: Receiver, tmp_path: Path
) -> None:
    async with relay_for(
        session, ft, receiver.url, tmp_path / "r.db", keep_delivered=60.0
    ) as relay:
        await relay.poll()
        arrive(hub, ft, "alice")
        await drive(relay, ft, lambda: relay.stats().delivered == 1)
        ft.now += 59
        task = asyncio.create_task(relay.run())  # prunes as it starts, then every hour
        await asyncio.sleep(0)
        assert relay.stats().delivered == 1  # still kept: younger than keep_delivered
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        ft.now += 2
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert relay.stats().delivered == 0
