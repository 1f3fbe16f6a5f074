"""The one cattrs converter between the Hub's JSON and hf-access's records.

The wire's names and nesting live here only: private ``_Wire*`` classes mirror the JSON
(with renames such as ``avatarUrl`` -> ``avatar_url``) and are turned into the public records.
Unknown keys are ignored (the Hub adds fields); a body of the wrong shape becomes a
:class:`~hf_access.core.errors.DecodeError` whose message names the field.

List pages, the hot path, are read in two steps. A fast path checks each item's shape with
plain type tests and builds the record directly; it accepts only bodies of exactly the
expected shape (``str`` or null where a string goes, ISO times, the statuses' own values...),
and on anything else it gives up on the whole page. The page is then read again by the
cattrs converter, which either accepts it (it is more lenient: ``" Pending "`` is a status
there too) or raises the :class:`DecodeError` naming the field. Both build the same records
for a body the fast path accepts; the converter's hooks are generated once, on first use.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..core.convert import decode, frozen_builder, json_kind, make_strict_converter, parse_time
from ..core.errors import DecodeError
from ..core.outcomes import Outcome
from .models import (
    AccessRequest,
    Action,
    GatingMode,
    GrantedBy,
    NotificationsMode,
    ReportEntry,
    RepoType,
    RequestStatus,
)

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")

_NO_FIELDS: Mapping[str, object] = MappingProxyType({})
"""The ``fields`` of every record whose request has no form (one shared, read-only value)."""


@attrs.define
class _WireGrantedBy:
    user: str | None = None
    fullname: str | None = None


@attrs.define
class _WireUser:
    id: str | None = None
    user: str | None = None
    fullname: str | None = None
    email: str | None = None
    avatar_url: str | None = None
    is_pro: bool | None = None
    type: str | None = None
    verified_org_names: list[str] = attrs.Factory(list)


@attrs.define
class _WireRequest:
    status: RequestStatus
    request_id: str | None = None
    user: _WireUser | None = None
    timestamp: datetime | None = None
    reviewed_at: datetime | None = None
    granted_by: _WireGrantedBy | None = None
    fields: dict[str, Any] | None = None


@attrs.define
class _WireReportEntry:
    status: RequestStatus
    user: str | None = None
    fullname: str | None = None
    email: str | None = None
    time: datetime | None = None
    reviewed_at: datetime | None = None
    granted_by: _WireGrantedBy | None = None


def _objects_only(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A generated hook that refuses anything but a JSON object (a string has no fields)."""

    def structure(value: Any, cls: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {json_kind(value)}")
        return hook(value, cls)

    return structure


def _make_converter() -> cattrs.Converter:
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    conv = make_strict_converter(
        RequestStatus, RepoType, GatingMode, NotificationsMode, Action, Outcome
    )
    renames: dict[type[Any], dict[str, str]] = {
        _WireGrantedBy: {},
        _WireUser: {
            "id": "_id",
            "avatar_url": "avatarUrl",
            "is_pro": "isPro",
            "verified_org_names": "verifiedOrgNames",
        },
        _WireRequest: {
            "request_id": "requestId",
            "reviewed_at": "reviewedAt",
            "granted_by": "grantedBy",
        },
        _WireReportEntry: {"reviewed_at": "reviewedAt", "granted_by": "grantedBy"},
    }
    for cls, names in renames.items():
        overrides = {field: override(rename=wire) for field, wire in names.items()}
        hook = make_dict_structure_fn(cls, conv, **overrides)  # type: ignore[arg-type]
        conv.register_structure_hook(cls, _objects_only(hook))
    conv.register_unstructure_hook(
        AccessRequest,
        make_dict_unstructure_fn(AccessRequest, conv, fields=override(unstruct_hook=dict)),
    )
    return conv


@functools.cache
def get_converter() -> cattrs.Converter:
    """The one converter, built (and its hooks generated) on first use."""
    return _make_converter()


def _granted(wire: _WireGrantedBy | None) -> GrantedBy | None:
    if wire is None:
        return None
    return GrantedBy(username=wire.user, fullname=wire.fullname)


def _request_from_wire(w: _WireRequest) -> AccessRequest:
    u = w.user
    return AccessRequest(
        request_id=w.request_id,
        username=u.user if u else None,
        status=w.status,
        timestamp=w.timestamp,
        user_id=u.id if u else None,
        fullname=u.fullname if u else None,
        email=u.email if u else None,
        reviewed_at=w.reviewed_at,
        granted_by=_granted(w.granted_by),
        fields=dict(w.fields) if w.fields else _NO_FIELDS,
        avatar_url=u.avatar_url if u else None,
        is_pro=u.is_pro if u else None,
        user_type=_USER_TYPES.get(u.type, u.type) if u else None,
        verified_orgs=tuple(u.verified_org_names) if u else (),
    )


def _decode(data: Any, cls: type[T], what: str) -> T:
    return decode(get_converter(), data, cls, what, "the Hub")


class _NotFast(Exception):
    """The fast path met something it does not read: the converter reads the page instead."""


_USER_TYPES: dict[str | None, str | None] = {name: name for name in ("user", "org")}
"""One string per user type for every record, not one per record (a list holds thousands)."""
_STATUSES: dict[object, RequestStatus] = {m.value: m for m in RequestStatus}
_from_iso = datetime.fromisoformat
_READS_Z = sys.version_info >= (3, 11)  # fromisoformat reads a final "Z" as UTC from 3.11 on


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if type(value) is not str:
        raise _NotFast
    text = value
    if len(text) == 24 and text[23] == "Z":  # the Hub's form: 2026-10-05T13:33:43.123Z
        try:
            return _from_iso(text if _READS_Z else text[:23] + "+00:00")
        except ValueError:
            raise _NotFast from None
    try:
        return parse_time(text)
    except ValueError:
        raise _NotFast from None


_make_request = frozen_builder(AccessRequest)
"""``AccessRequest(...)`` for the fast path's checked values, every field by position (about
0.3 µs where the frozen class's ``__init__`` takes 0.9 µs)."""


def _fast_request(item: Any) -> AccessRequest:
    """One list item of exactly the expected shape -> its record; else :class:`_NotFast`."""
    if item.__class__ is not dict:
        raise _NotFast
    get = item.get
    status = _STATUSES.get(get("status"))  # an unhashable status raises TypeError
    request_id = get("requestId")
    if status is None or (request_id is not None and request_id.__class__ is not str):
        raise _NotFast
    user = get("user")
    if user is None:
        user_id = username = fullname = email = avatar = user_type = None
        is_pro = None
        orgs: tuple[str, ...] = ()
    else:
        if user.__class__ is not dict:
            raise _NotFast
        uget = user.get
        user_id, username, fullname = uget("_id"), uget("user"), uget("fullname")
        email, avatar, user_type = uget("email"), uget("avatarUrl"), uget("type")
        for text in (user_id, username, fullname, email, avatar, user_type):
            if text is not None and text.__class__ is not str:
                raise _NotFast
        user_type = _USER_TYPES.get(user_type, user_type)
        is_pro = uget("isPro")
        if is_pro is not None and is_pro.__class__ is not bool:
            raise _NotFast
        names = uget("verifiedOrgNames", ())
        if names.__class__ is not list and names != ():
            raise _NotFast
        orgs = tuple(names)
        for name in orgs:
            if name.__class__ is not str:
                raise _NotFast
    granted = get("grantedBy")
    granted_by = None
    if granted is not None:
        if granted.__class__ is not dict:
            raise _NotFast
        by_user, by_name = granted.get("user"), granted.get("fullname")
        if (by_user is not None and by_user.__class__ is not str) or (
            by_name is not None and by_name.__class__ is not str
        ):
            raise _NotFast
        granted_by = GrantedBy(by_user, by_name)
    form = get("fields")
    if form is None or form == {}:
        fields = _NO_FIELDS
    elif form.__class__ is dict:
        fields = dict(form)  # JSON object keys are always strings
    else:
        raise _NotFast
    return _make_request(
        request_id,
        username,
        status,
        _time(get("timestamp")),
        user_id,
        fullname,
        email,
        _time(get("reviewedAt")),
        granted_by,
        fields,
        avatar,
        is_pro,
        user_type,
        orgs,
    )


def decode_requests(data: Any) -> list[AccessRequest]:
    """A list page (JSON array) -> records.

    The fast path reads a page of the expected shape; any other page goes to the converter,
    which accepts it or raises the :class:`DecodeError` naming the field.
    """
    if data.__class__ is list:
        try:
            return [_fast_request(item) for item in data]
        except (_NotFast, TypeError):
            pass
    if not isinstance(data, list):
        raise DecodeError(
            f"unexpected list page from the Hub: expected an array, got {json_kind(data)}"
        )
    wires = _decode(data, list[_WireRequest], "list page")
    return [_request_from_wire(w) for w in wires]


def decode_report(data: Any) -> list[ReportEntry]:
    if not isinstance(data, list):
        raise DecodeError(
            f"unexpected access report from the Hub: expected an array, got {json_kind(data)}"
        )
    wires = _decode(data, list[_WireReportEntry], "access report")
    return [
        ReportEntry(
            username=w.user,
            status=w.status,
            fullname=w.fullname,
            email=w.email,
            time=w.time,
            reviewed_at=w.reviewed_at,
            granted_by=_granted(w.granted_by),
        )
        for w in wires
    ]


def decode_gating(data: Any) -> GatingMode:
    if not isinstance(data, Mapping) or "gated" not in data:
        raise DecodeError("unexpected repo info from the Hub: no 'gated' field")
    try:
        return GatingMode.parse(data["gated"])
    except ValueError as exc:
        raise DecodeError(f"unexpected repo info from the Hub: gated: {exc}") from None


def to_jsonable(record: Any) -> Any:
    """A record (or list of records) as JSON-ready data with snake_case keys and ISO times."""
    return get_converter().unstructure(record)
