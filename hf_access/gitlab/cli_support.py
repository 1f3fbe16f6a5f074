"""What the ``hf-access gitlab`` commands need: argument parsing and JSON-ready rows.

Pure functions (no click, no I/O), so the CLI stays a thin layer::

    async with GitLabSession(url=url, token=token) as gl:
        rows = [request_row(r) for r in await gl.list_requests(target, kind=kind)]
        report = await gl.approve_many(targets, [parse_user(u) for u in users])
        rows = [outcome_row(item) for item in report.items]

>>> parse_user("42"), parse_user("id:7"), parse_user("@alice")
(42, 7, 'alice')
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import attrs

from .._convert import format_hub_time
from ..errors import AuthenticationError, ConfigurationError, PermissionDeniedError
from . import _wire
from .bulk_models import GitLabBulkReport, GitLabItemOutcome
from .models import GitLabAccessRequest, GitLabMember, GitLabUser

__all__ = ["exit_code", "member_row", "outcome_row", "parse_user", "parse_users", "request_row"]

JsonRow = dict[str, Any]


def parse_user(text: str) -> int | str:
    """A command-line user: digits or ``id:<n>`` are a user id, anything else a user name."""
    value = text.strip()
    if value.startswith("id:"):
        value = value[3:]
        if not value.isdigit():
            raise ValueError(f"invalid user id {text!r}")
    if value.isdigit():
        return _wire.validate_user_id(int(value))
    return _wire.validate_username(value)


def parse_users(lines: Iterable[str]) -> list[int | str]:
    """Users from a file's lines (blank lines and ``#`` comments skipped).

    >>> parse_users(["# approved on 5 Oct", "alice", "", "42"])
    ['alice', 42]
    """
    return [
        parse_user(line) for line in lines if line.strip() and not line.lstrip().startswith("#")
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return format_hub_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(record: GitLabAccessRequest | GitLabMember | GitLabUser) -> JsonRow:
    return {key: _plain(value) for key, value in attrs.asdict(record, recurse=False).items()}


def request_row(request: GitLabAccessRequest) -> JsonRow:
    """An access request as a JSON-ready dict (snake_case keys, ISO times)."""
    return _row(request)


def member_row(member: GitLabMember) -> JsonRow:
    """A member as a JSON-ready dict; ``access_level`` is the number, ``role`` its name."""
    row = _row(member)
    row["role"] = member.access_level.label
    return row


def outcome_row(item: GitLabItemOutcome) -> JsonRow:
    """One decision's outcome, flat, for json/jsonl/csv (the Hub rows' columns, GitLab's ids)."""
    d = item.decision
    return {
        "index": item.index,
        "kind": d.kind.value,
        "target": d.target,
        "user": d.user,
        "action": d.action.value,
        "access_level": None if d.access_level is None else int(d.access_level),
        "outcome": item.outcome.value,
        "error": str(item.error) if item.error is not None else None,
        "error_type": type(item.error).__name__ if item.error is not None else None,
        "detail": item.detail,
        "attempts": item.attempts,
        "from_journal": item.from_journal,
    }


def exit_code(report: GitLabBulkReport) -> int:
    """The CLI's convention: 0 all done or unchanged (or a dry run), 2 stopped by an auth or
    configuration error, 130 cancelled, 1 otherwise."""
    if report.stopped == "dry run":
        return 0
    if report.stopped == "cancelled":
        return 130
    for item in report.failures():
        if isinstance(item.error, AuthenticationError | PermissionDeniedError | ConfigurationError):
            return 2
    return 0 if report.ok else 1
