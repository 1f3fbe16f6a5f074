"""What the ``hf-access gitlab`` commands need: argument parsing and JSON-ready rows.

Pure functions (no click, no I/O), so the CLI stays a thin layer::

    async with GitLabSession(token, url) as gl:
        rows = [request_row(r) for r in await gl.list_requests(target, kind=kind)]
        report = await gl.approve_many(targets, [parse_user(u) for u in users])
        rows = [outcome_row(item) for item in report.items]

>>> parse_user("42"), parse_user("id:7"), parse_user("@alice")
(42, 7, 'alice')
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import attrs

from ..core.convert import format_time
from ..gitlab import wire as gitlab_wire
from ..gitlab.bulk import GitLabItemOutcome
from ..gitlab.models import GitLabAccessRequest, GitLabMember, GitLabUser

__all__ = ["outcome_row", "parse_user", "request_row"]

JsonRow = dict[str, Any]


def parse_user(text: str) -> int | str:
    """A command-line user: digits or ``id:<n>`` are a user id, anything else a user name."""
    value = text.strip()
    if value.startswith("id:"):
        value = value[3:]
        if not value.isdigit():
            raise ValueError(f"invalid user id {text!r}")
    if value.isdigit():
        return gitlab_wire.validate_user_id(int(value))
    return gitlab_wire.validate_username(value)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(record: GitLabAccessRequest | GitLabMember | GitLabUser) -> JsonRow:
    return {key: _plain(value) for key, value in attrs.asdict(record, recurse=False).items()}


def request_row(request: GitLabAccessRequest) -> JsonRow:
    """An access request as a JSON-ready dict (snake_case keys, ISO times)."""
    return _row(request)


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
