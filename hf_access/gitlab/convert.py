"""The one cattrs converter between GitLab's JSON and the records of :mod:`.models`.

Private ``_Wire*`` classes mirror the JSON; unknown keys are ignored (GitLab adds fields);
a body of the wrong shape becomes a :class:`~hf_access.core.errors.DecodeError` naming the field.

>>> decode_requests([{"id": 1, "username": "raymond_smith", "name": "Raymond Smith",
...     "state": "active", "created_at": "2012-10-22T14:13:35Z"}])[0].requested_at.year
2012
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

import attrs
import cattrs

from ..core.convert import decode, json_kind, make_strict_converter
from ..core.errors import DecodeError
from .models import AccessLevel, GitLabAccessRequest, GitLabMember, GitLabUser

__all__ = ["decode_member", "decode_request", "decode_requests", "decode_user", "decode_users"]

T = TypeVar("T")


@attrs.define
class _WireRequest:
    id: int
    username: str
    name: str | None = None
    state: str | None = None
    locked: bool | None = None
    avatar_url: str | None = None
    web_url: str | None = None
    requested_at: datetime | None = None
    created_at: datetime | None = None


def _access_level(value: Any, _: Any) -> AccessLevel:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an access level number, got {json_kind(value)}")
    return AccessLevel(value)  # ValueError for a number GitLab does not define


def _date(value: Any, _: Any) -> date:
    if not isinstance(value, str):
        raise TypeError(f"expected a date string, got {json_kind(value)}")
    return date.fromisoformat(value[:10])


def _make_converter() -> cattrs.Converter:
    conv = make_strict_converter()
    conv.register_structure_hook(AccessLevel, _access_level)
    conv.register_structure_hook(date, _date)
    return conv


converter = _make_converter()


def _decode(data: Any, cls: Any, what: str) -> Any:
    return decode(converter, data, cls, what, "GitLab")


def _expect(data: Any, kind: type[Any], what: str) -> None:
    if not isinstance(data, kind):
        expected = "an array" if kind is list else "an object"
        raise DecodeError(
            f"unexpected {what} from GitLab: expected {expected}, got {json_kind(data)}"
        )


def _request(w: _WireRequest) -> GitLabAccessRequest:
    return GitLabAccessRequest(
        id=w.id,
        username=w.username,
        name=w.name,
        state=w.state,
        locked=w.locked,
        avatar_url=w.avatar_url,
        web_url=w.web_url,
        requested_at=w.requested_at or w.created_at,
    )


def decode_requests(data: Any) -> list[GitLabAccessRequest]:
    """A page of ``GET .../access_requests`` (a JSON array) -> records."""
    _expect(data, list, "access request page")
    wires: list[_WireRequest] = _decode(data, list[_WireRequest], "access request page")
    return [_request(w) for w in wires]


def decode_request(data: Any) -> GitLabAccessRequest:
    """The answer of ``POST .../access_requests``."""
    _expect(data, dict, "access request")
    wire: _WireRequest = _decode(data, _WireRequest, "access request")
    return _request(wire)


def decode_member(data: Any) -> GitLabMember:
    """A member (approve's answer, ``GET .../members/:user_id``)."""
    _expect(data, dict, "member")
    member: GitLabMember = _decode(data, GitLabMember, "member")  # the wire's own names
    return member


def decode_user(data: Any) -> GitLabUser:
    """One user (the answer of ``GET /user``)."""
    _expect(data, dict, "user")
    user: GitLabUser = _decode(data, GitLabUser, "user")
    return user


def decode_users(data: Any) -> list[GitLabUser]:
    """The answer of ``GET /users?username=`` (a JSON array)."""
    _expect(data, list, "user list")
    users: list[GitLabUser] = _decode(data, list[GitLabUser], "user list")
    return users
