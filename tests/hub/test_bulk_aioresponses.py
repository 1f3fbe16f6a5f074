"""Rows easier to fake at the HTTP layer: 405 on batch, odd batch answers, 401 mid-run, 429."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

from hf_access import (
    AccessSession,
    APIStatusError,
    AuthenticationError,
    DecodeError,
    Outcome,
    RateLimitError,
    RetryPolicy,
)

from ..conftest import need_aioresponses, sent_body
from ._bulk_helpers import no_sleep

HUB = "https://hub.test"
BASE = f"{HUB}/api/models/org/model/user-access-request"
OTHER_BASE = f"{HUB}/api/models/org/other/user-access-request"
HEADERS = {
    "RateLimit": '"api";r=999;t=100',
    "RateLimit-Policy": '"fixed window";"api";q=1000;w=300',
}


@pytest.fixture
def mock() -> Iterator[aioresponses]:
    need_aioresponses()
    with aioresponses() as m:
        yield m


def hub() -> AccessSession:
    return AccessSession(
        token="hf_test", endpoint=HUB, retry=RetryPolicy(max_attempts=2), sleep=no_sleep
    )


def sent(mock: aioresponses, url: str) -> list[Any]:
    """The JSON bodies POSTed to ``url``, in order."""
    return [
        sent_body(call.kwargs)
        for (method, u), calls in mock.requests.items()
        if method == "POST" and str(u) == url
        for call in calls
    ]


async def test_405_on_batch_falls_back_to_handle(mock: aioresponses) -> None:
    mock.post(f"{BASE}/batch", status=405, headers=HEADERS)
    mock.post(f"{BASE}/handle", payload={}, headers=HEADERS, repeat=True)

    async with hub() as session:
        report = await session.reject_many("org/model", ["a1", "b2", "c3"], reason="nope")
        assert session._batch_support.available is False
        again = await session.accept_many("org/model", ["d4"])

    assert report.ok
    assert report.done == 3
    assert again.ok
    assert len(sent(mock, f"{BASE}/batch")) == 1  # remembered: never asked again
    assert sent(mock, f"{BASE}/handle") == [
        {"user": "a1", "status": "rejected", "rejectionReason": "nope"},
        {"user": "b2", "status": "rejected", "rejectionReason": "nope"},
        {"user": "c3", "status": "rejected", "rejectionReason": "nope"},
        {"user": "d4", "status": "accepted"},
    ]


async def test_batch_answer_of_the_wrong_length_fails_that_chunk_only(
    mock: aioresponses,
) -> None:
    mock.post(f"{BASE}/batch", payload=[{"user": "a1", "ok": True}], headers=HEADERS)
    mock.post(
        f"{OTHER_BASE}/batch",
        payload=[{"user": "a1", "ok": True}, {"user": "b2", "ok": True}],
        headers=HEADERS,
    )
    async with hub() as session:
        report = await session.accept_many(["org/model", "org/other"], ["a1", "b2"])

    first, second, third, fourth = report.items
    assert first.outcome is second.outcome is Outcome.FAILED
    assert isinstance(first.error, DecodeError)
    assert "sent 2 items, got 1 results" in str(first.error)
    assert third.outcome is fourth.outcome is Outcome.DONE
    assert report.stopped is None


@pytest.mark.parametrize(
    "answer",
    [
        {"oops": True},
        [{"user": "a1", "ok": "yes"}, {"user": "b2", "ok": True}],
        [{"user": "a1"}, {"user": "b2", "ok": True}],
    ],
)
async def test_malformed_batch_answer_fails_the_chunk(mock: aioresponses, answer: Any) -> None:
    mock.post(f"{BASE}/batch", payload=answer, headers=HEADERS)
    async with hub() as session:
        report = await session.accept_many("org/model", ["a1", "b2"])
    assert report.failed == 2
    assert all(isinstance(i.error, DecodeError) for i in report.items)


async def test_batch_item_errors_map_to_typed_errors(mock: aioresponses) -> None:
    mock.post(
        f"{BASE}/batch",
        payload=[
            {"user": "a1", "ok": False, "error": "user_not_found"},
            {"user": "b2", "ok": True},
            {"user": "c3", "ok": False, "error": "request_not_found"},
            {"user": "d4", "ok": False, "error": "something_new"},
        ],
        headers=HEADERS,
    )
    async with hub() as session:
        report = await session.accept_many("org/model", ["a1", "b2", "c3", "d4"])
    assert [type(i.error).__name__ if i.error else None for i in report.items] == [
        "UserNotFoundError",
        None,
        "RequestNotFoundError",
        "APIStatusError",
    ]
    assert isinstance(report.items[3].error, APIStatusError)
    assert report.items[3].error.error_code == "something_new"


async def test_batch_answer_naming_other_users_is_not_misattributed(
    mock: aioresponses,
) -> None:
    mock.post(
        f"{BASE}/batch",
        payload=[
            {"user": "b2", "ok": False, "error": "user_not_found"},
            {"user": "a1", "ok": True},
        ],
        headers=HEADERS,
    )
    async with hub() as session:
        report = await session.accept_many("org/model", ["a1", "b2"])
    # Regression: read by position, this answer made a1 failed and b2 done.
    assert [i.outcome for i in report.items] == [Outcome.FAILED, Outcome.FAILED]
    assert all(isinstance(i.error, DecodeError) for i in report.items)


async def test_401_mid_run_stops_it(mock: aioresponses) -> None:
    served: list[str] = []

    def grant(url: Any, **kwargs: Any) -> CallbackResult:
        served.append(sent_body(kwargs)["user"])
        if len(served) == 4:
            return CallbackResult(
                status=401,
                payload={"error": "Invalid username or password."},
                headers=HEADERS,
            )
        return CallbackResult(status=200, payload={}, headers=HEADERS)

    mock.post(f"{BASE}/grant", callback=grant, repeat=True)
    users = [f"u{i}" for i in range(10)]
    async with hub() as session:
        report = await session.grant_many("org/model", users, concurrency=1)

    assert served == users[:4]  # nothing sent after the 401
    assert [i.outcome for i in report.items] == [Outcome.DONE] * 3 + [Outcome.FAILED] + [
        Outcome.NOT_ATTEMPTED
    ] * 6
    assert isinstance(report.items[3].error, AuthenticationError)
    assert report.stopped is not None
    assert report.stopped.startswith("AuthenticationError")
    assert {i.detail for i in report.items[4:]} == {f"run stopped: {report.stopped}"}
    assert report.calls == 4


async def test_401_on_the_second_batch(mock: aioresponses) -> None:
    answers = iter([200, 401])

    def batch(url: Any, **kwargs: Any) -> CallbackResult:
        status = next(answers)
        users = sent_body(kwargs)["requests"]
        if status == 401:
            return CallbackResult(status=401, payload={"error": "expired"}, headers=HEADERS)
        answer = json.dumps([{**u, "ok": True} for u in users])
        return CallbackResult(status=200, body=answer, headers=HEADERS)

    mock.post(re.compile(r".*/batch$"), callback=batch, repeat=True)
    users = [f"u{i:03d}" for i in range(300)]
    async with hub() as session:
        report = await session.accept_many("org/model", users, concurrency=1)

    assert (report.done, report.failed, report.not_attempted) == (100, 100, 100)
    assert report.calls == 2


async def test_429_with_a_long_retry_after_stops_the_run(mock: aioresponses) -> None:
    limited = {"Retry-After": "1200", **HEADERS}
    mock.post(f"{BASE}/grant", payload={}, headers=HEADERS)
    mock.post(f"{BASE}/grant", status=429, payload={"error": "quota"}, headers=limited)
    async with hub() as session:
        report = await session.grant_many("org/model", ["a", "b", "c"], concurrency=1)
    assert [i.outcome for i in report.items] == [
        Outcome.DONE,
        Outcome.FAILED,
        Outcome.NOT_ATTEMPTED,
    ]
    assert isinstance(report.items[1].error, RateLimitError)
    assert report.stopped is not None
    assert report.stopped.startswith("rate limited")
    assert "wait 1200s" in report.stopped


async def test_server_error_is_retried_then_done(mock: aioresponses) -> None:
    mock.post(f"{BASE}/batch", status=503, headers=HEADERS)
    mock.post(
        f"{BASE}/batch",
        payload=[{"user": "a1", "ok": True}],
        headers=HEADERS,
    )
    async with hub() as session:
        report = await session.accept_many("org/model", ["a1"])
    assert report.ok
    assert report.items[0].attempts == 2
    assert report.calls == 2
