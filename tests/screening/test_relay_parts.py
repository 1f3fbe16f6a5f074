"""The relay's pure parts (ids, payloads, answers, the schedule) and the outbox, without a loop."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hf_access import AccessRequest, RepoType, RequestStatus
from hf_access.screening._delivery import (
    DeliveryPolicy,
    Verdict,
    classify_status,
    event_id,
    event_payload,
)
from hf_access.screening._outbox import NewEvent, Outbox

T0 = datetime(2026, 10, 5, 13, 33, 43, 123000, tzinfo=timezone.utc)


def request(status: str = "pending", **kw: object) -> AccessRequest:
    options: dict[str, object] = {"timestamp": T0, "email": "a@example.org", "fullname": "A"}
    options.update(kw)
    return AccessRequest("r1", "alice", RequestStatus.parse(status), **options)  # type: ignore[arg-type]


def test_ids_are_stable_and_tell_events_apart() -> None:
    base = event_id("org/m", RepoType.MODEL, request())
    assert base == event_id("org/m", RepoType.MODEL, request(fullname="changed"))
    others = {
        event_id("org/m", RepoType.DATASET, request()),
        event_id("org/n", RepoType.MODEL, request()),
        event_id("org/m", RepoType.MODEL, request(timestamp=T0 + timedelta(days=1))),
        event_id("org/m", RepoType.MODEL, request("accepted", reviewed_at=T0)),
        event_id("org/m", RepoType.MODEL, request("accepted", reviewed_at=T0 + timedelta(1))),
        event_id("org/m", RepoType.MODEL, request("rejected", reviewed_at=T0)),
    }
    assert base not in others
    assert len(others) == 6
    assert all(i.startswith("msg_") and "." not in i for i in others)


def test_payload_holds_what_the_hub_gave_and_nothing_more() -> None:
    seen = T0 + timedelta(hours=1)
    body = json.loads(
        event_payload("org/m", RepoType.MODEL, request(fields={"c": 1}), seen_at=seen)
    )
    assert body == {
        "type": "access_request.created",
        "timestamp": "2026-10-05T13:33:43.123Z",
        "data": {
            "repo_id": "org/m",
            "repo_type": "model",
            "request_id": "r1",
            "user": "alice",
            "fullname": "A",
            "email": "a@example.org",
            "status": "pending",
            "fields": {"c": 1},
            "requested_at": "2026-10-05T13:33:43.123Z",
            "reviewed_at": None,
        },
    }
    hidden = AccessRequest("r2", None, RequestStatus.ACCEPTED)  # no times, no user
    decided = json.loads(event_payload("org/m", RepoType.MODEL, hidden, seen_at=seen))
    assert decided["type"] == "access_request.accepted"
    assert decided["timestamp"] == "2026-10-05T14:33:43.123Z"  # when it was seen
    assert decided["data"]["user"] is None
    # the same event always has the same bytes
    assert event_payload("org/m", RepoType.MODEL, request(), seen_at=seen) == event_payload(
        "org/m", RepoType.MODEL, request(), seen_at=seen + timedelta(1)
    )


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (202, Verdict.DELIVERED),
        (299, Verdict.DELIVERED),
        (410, Verdict.GONE),
        (301, Verdict.RETRY),
        (308, Verdict.RETRY),
        (400, Verdict.RETRY),
        (404, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (504, Verdict.RETRY),
    ],
)
def test_answers(status: int, verdict: Verdict) -> None:
    assert classify_status(status, {}, now=0).verdict is verdict


def test_retry_after_as_an_http_date() -> None:
    answer = classify_status(
        503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412480 - 90
    )
    assert answer.retry_after == pytest.approx(90)
    assert classify_status(503, {"Retry-After": "soon"}, now=0).retry_after is None


def test_backoff_with_jitter_stays_within_its_bounds() -> None:
    policy = DeliveryPolicy(first_delay=1, factor=2, max_delay=100, jitter=0.5)
    for attempts in range(1, 40):
        full = min(100.0, 2.0 ** (attempts - 1))
        for draw in (0.0, 0.3, 0.999):
            assert full / 2 <= policy.delay(attempts, random=draw) <= full
    assert policy.delay(10**6, random=0.0) == 100  # no overflow however many attempts
    with pytest.raises(ValueError, match="jitter"):
        DeliveryPolicy(jitter=1.0)
    with pytest.raises(ValueError, match="max_age"):
        DeliveryPolicy(max_age=0)


def test_outbox_orders_per_repo_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path) as box:
        events = [
            NewEvent("a1", "model:a", "t", b"1"),
            NewEvent("b1", "model:b", "t", b"2"),
            NewEvent("a2", "model:a", "t", b"3"),
        ]
        assert box.record(events, now=5, meta={"watch": "{}"}) == 3
        assert box.record(events, now=6) == 0  # known ids are left alone
        assert [e.id for e in box.due(now=5)] == ["a1", "b1"]  # only heads
        box.failed("a1", status=500, error="HTTP 500", next_at=50)
        assert [e.id for e in box.due(now=10)] == ["b1"]  # a2 waits behind a1
        assert box.next_due() == 5
        box.delivered("b1", status=204, now=11)
        box.bury("a1", status=500, error="HTTP 500", now=60)
        assert box.record([NewEvent("a1", "model:a", "t", b"1")], now=61) == 0  # dead: known
    with Outbox(path) as box:
        assert [e.id for e in box.due(now=60)] == ["a2"]
        stats = box.stats()
        assert (stats.pending, stats.delivered, stats.dead) == (1, 1, 1)
        assert box.meta("watch") == "{}"
        assert box.dead_letters()[0][:5] == ("a1", "model:a", "t", 2, "HTTP 500")
        assert box.replay(now=70, event_id="a1") == 1
        assert [e.id for e in box.due(now=70)] == ["a1"]  # back at its place, first
        assert box.prune(before=12) == 1  # b1, delivered at 11
        assert box.stats().delivered == 0
    with Outbox(path) as box:
        assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
