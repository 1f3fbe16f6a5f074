"""Public records of the fake Hub, its error type and the Hub's time format."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Literal

import attrs

STATUSES = ("pending", "accepted", "rejected", "reset")
"""Every status an access request can have, in the order of the Hub's lists."""

REPO_TYPES = ("model", "dataset", "space")

GatedMode = Literal["auto", "manual", False]
"""A repository's gating: ``"auto"``, ``"manual"`` or not gated (``False``)."""

NO_REQUEST = "No access request found matching your criteria"
NO_PENDING_REQUEST = "No pending access request found for this repo and this user"
USER_NOT_FOUND = "User not found"
INVALID_CREDENTIALS = "Invalid username or password."
READ_ONLY = "You have read access but not the required permissions for this operation"
ALREADY_GRANTED = "That user already has access to the repo"


class FakeHubError(Exception):
    """An error answer of the fake Hub, also raised by its programmatic requester calls.

    ``status`` is the HTTP status, ``message`` goes to the JSON body's ``error`` and to the
    ``X-Error-Message`` header, ``code`` (when set) to ``X-Error-Code``.

    >>> FakeHubError(404, "User not found").status
    404
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.code = code
        self.headers: Mapping[str, str] = headers or {}


def repo_not_found() -> FakeHubError:
    """The Hub's answer for a repository that does not exist."""
    return FakeHubError(404, "Repository not found", code="RepoNotFound")


def as_gated(value: object) -> GatedMode:
    """Check a gating mode; raise :class:`ValueError` for anything else (``True`` too)."""
    if value is False:
        return False
    if value == "auto" or value == "manual":
        return "auto" if value == "auto" else "manual"
    raise ValueError(f"gated must be 'manual', 'auto' or False, got {value!r}")


def bad_request(message: str) -> FakeHubError:
    """A 400 validation error."""
    return FakeHubError(400, message)


def format_ms(ms: int) -> str:
    """Format epoch milliseconds the way the Hub does: ``YYYY-MM-DDTHH:MM:SS.mmmZ``.

    >>> format_ms(1_791_286_423_123)
    '2026-10-06T11:33:43.123Z'
    """
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def parse_iso_ms(text: str) -> int:
    """Parse an ISO 8601 date or date-time into epoch milliseconds (naive means UTC).

    Raise :class:`ValueError` when ``text`` is not a date.

    >>> parse_iso_ms("2026-10-06T11:33:43.123Z")
    1791286423123
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


@attrs.frozen
class FakeUser:
    """A user account of the fake Hub (``id`` is the 24-hex ``_id`` of the wire)."""

    name: str
    id: str
    fullname: str
    email: str
    is_pro: bool = False
    verified_orgs: tuple[str, ...] = ()


@attrs.frozen
class FakeRepo:
    """A repository of the fake Hub and its gating settings."""

    repo_id: str
    repo_type: str
    id: str
    gated: GatedMode
    hide_requesters: bool
    settings: Mapping[str, object] = attrs.field(factory=dict)


@attrs.frozen
class RequestRecord:
    """The stored state of one user's access request (see :meth:`FakeHub.snapshot`).

    Timestamps use the Hub's format. ``email`` is ``None`` for users added by grant;
    ``granted_by`` is the name of the user whose token accepted the request (``None``
    unless accepted by an owner). Reasons are stored although no list returns them.
    """

    user: str
    user_id: str
    request_id: str
    status: str
    timestamp: str
    reviewed_at: str | None
    granted_by: str | None
    email: str | None
    fields: Mapping[str, object]
    rejection_reason: str | None = None
    reset_reason: str | None = None


@attrs.frozen
class Counters:
    """What the fake Hub served (a copy taken by :attr:`FakeHub.counters`).

    ``calls`` counts requests per route name (``list_pending``, ``list_accepted``,
    ``list_rejected``, ``list_reset``, ``handle``, ``grant``, ``batch``, ``report``,
    ``settings``, ``repo_info``, ``repo_page``, ``ask_access``, ``cancel``, and
    ``unknown`` for paths that match no route); ``rate_limited`` counts the 429 answers
    served; ``faults`` counts injected faults by kind (``latency``, ``slow``, ``drop``,
    ``drop_after``, ``error_500``, ``error_502``, ``error_503``).
    """

    calls: Mapping[str, int]
    rate_limited: int
    faults: Mapping[str, int]

    @property
    def total_calls(self) -> int:
        """Every request received, whatever the route."""
        return sum(self.calls.values())
