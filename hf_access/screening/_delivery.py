"""The relay's pure parts: events' ids and payloads, the retry schedule, answers' meaning.

Nothing here does I/O, so every decision is tested without a loop or a server.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from ..core.convert import format_time as format_hub_time
from ..core.sansio import parse_retry_after
from ..hub.models import AccessRequest, RepoType, RequestStatus
from ..hub.watch import request_key

__all__ = [
    "EVENT_TYPES",
    "Attempt",
    "DeliveryPolicy",
    "Verdict",
    "classify_status",
    "event_id",
    "event_payload",
]

EVENT_TYPES: Mapping[RequestStatus, str] = {
    RequestStatus.PENDING: "access_request.created",
    RequestStatus.ACCEPTED: "access_request.accepted",
    RequestStatus.REJECTED: "access_request.rejected",
    RequestStatus.RESET: "access_request.reset",
}
"""The event a request's appearance in each list stands for."""


def _time(value: datetime | None) -> str | None:
    return format_hub_time(value) if value is not None else None


def occurred_at(request: AccessRequest) -> datetime | None:
    """When the event happened, as far as the Hub tells: creation for pending, else review."""
    if request.status is RequestStatus.PENDING:
        return request.timestamp
    return request.reviewed_at


def event_id(repo_id: str, repo_type: RepoType, request: AccessRequest) -> str:
    """A ``webhook-id`` that is the same whenever the same event is seen again.

    It hashes the event type, the repo, the request's identity and the time of the event
    (creation for ``created``, review for decisions), so a restart that sees the event again
    finds the same id, while a request decided anew (a new ``reviewed_at``) or a new request
    after a reset (a new ``timestamp``) makes a new event.

    >>> from hf_access import AccessRequest, RepoType, RequestStatus
    >>> req = AccessRequest("r1", "alice", RequestStatus.PENDING)
    >>> event_id("org/m", RepoType.MODEL, req) == event_id("org/m", RepoType.MODEL, req)
    True
    >>> event_id("org/m", RepoType.MODEL, req)[:4]
    'msg_'
    """
    parts = (
        EVENT_TYPES[request.status],
        repo_type.value,
        repo_id,
        request_key(request),
        _time(occurred_at(request)) or "",
    )
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    return f"msg_{digest[:32]}"


def event_payload(
    repo_id: str, repo_type: RepoType, request: AccessRequest, *, seen_at: datetime
) -> bytes:
    """The JSON body of the event, exactly the bytes signed and sent on every attempt.

    ``timestamp`` is when the event happened (``seen_at``, the moment the relay saw it, when
    the Hub gives no time); ``data`` holds what the Hub gave, nothing more.
    """
    occurred = occurred_at(request) or seen_at
    data: dict[str, Any] = {
        "repo_id": repo_id,
        "repo_type": repo_type.value,
        "request_id": request.request_id,
        "user": request.username,
        "fullname": request.fullname,
        "email": request.email,
        "status": request.status.value,
        "fields": dict(request.fields),
        "requested_at": _time(request.timestamp),
        "reviewed_at": _time(request.reviewed_at),
    }
    body = {"type": EVENT_TYPES[request.status], "timestamp": _time(occurred), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode()


class Verdict(str, enum.Enum):
    """What one delivery attempt means for its event."""

    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"  # 410: the endpoint asks to be disabled


@attrs.frozen
class Attempt:
    """The outcome of one attempt: the verdict, the status (None: no answer), why."""

    verdict: Verdict
    status: int | None = None
    error: str = ""
    retry_after: float | None = None


def classify_status(status: int, headers: Mapping[str, str], *, now: float) -> Attempt:
    """A receiver's answer -> an :class:`Attempt`.

    2xx delivers; 410 disables the endpoint; everything else is a failure to retry, with
    the answer's ``Retry-After`` (seconds or an HTTP date) kept for the schedule. A redirect
    is a failure too: a payload is never sent after a redirect.

    >>> classify_status(204, {}, now=0).verdict
    <Verdict.DELIVERED: 'delivered'>
    >>> classify_status(503, {"Retry-After": "7"}, now=0).retry_after
    7.0
    >>> classify_status(307, {"Location": "/x"}, now=0).error
    'redirect not followed (307)'
    """
    if 200 <= status < 300:
        return Attempt(Verdict.DELIVERED, status)
    if status == 410:
        return Attempt(Verdict.GONE, status, "410 Gone: the receiver asks to stop")
    retry_after = parse_retry_after(headers.get("Retry-After"), now=now)
    if 300 <= status < 400:
        return Attempt(Verdict.RETRY, status, f"redirect not followed ({status})", retry_after)
    return Attempt(Verdict.RETRY, status, f"HTTP {status}", retry_after)


@attrs.frozen
class DeliveryPolicy:
    """How the relay retries a delivery, and when it gives up.

    After the ``n``-th failed attempt the next waits ``first_delay * factor ** (n - 1)``,
    at most ``max_delay``, less a random part of up to ``jitter`` of it (so that retries do
    not come in waves); a ``Retry-After`` longer than that is honoured up to
    ``max_retry_after``. An event still undelivered ``max_age`` seconds after it was first
    queued goes to the dead letters. ``timeout`` bounds each attempt.

    >>> policy = DeliveryPolicy(first_delay=1, factor=2, max_delay=60, jitter=0)
    >>> [policy.delay(n, random=0.0) for n in (1, 2, 3, 10)]
    [1.0, 2.0, 4.0, 60.0]
    >>> policy.delay(1, random=0.0, retry_after=30.0)
    30.0
    """

    first_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 1800.0
    jitter: float = 0.5
    max_age: float = 3 * 24 * 3600.0
    max_retry_after: float = 3600.0
    timeout: float = 15.0

    def __attrs_post_init__(self) -> None:
        if not 0 < self.first_delay <= self.max_delay or self.factor < 1:
            raise ValueError("need 0 < first_delay <= max_delay and factor >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")
        if self.max_age <= 0 or self.timeout <= 0 or self.max_retry_after < 0:
            raise ValueError("max_age and timeout must be > 0, max_retry_after >= 0")

    def delay(self, attempts: int, *, random: float, retry_after: float | None = None) -> float:
        """Seconds before the next attempt, after ``attempts`` failed ones.

        ``random`` is a number in [0, 1) (the jitter's draw).
        """
        exponent = min(max(attempts - 1, 0), 64)
        base = min(self.max_delay, self.first_delay * self.factor**exponent)
        wait = base * (1 - self.jitter * random)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


def utc(epoch: float) -> datetime:
    """Epoch seconds -> an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc)
