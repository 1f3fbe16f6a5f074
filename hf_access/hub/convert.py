"""The one cattrs converter between the Hub's JSON and hf-access's records.

The wire's names and nesting live here only: private ``_Wire*`` classes mirror the JSON
(with renames such as ``avatarUrl`` -> ``avatar_url``) and are turned into the public records.
Unknown keys are ignored (the Hub adds fields); a body of the wrong shape becomes a
:class:`~hf_access.core.errors.DecodeError` whose message names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ..core.convert import decode, json_kind, make_strict_converter
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

T = TypeVar("T")


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


def _make_converter() -> cattrs.Converter:
    conv = make_strict_converter(
        RequestStatus, RepoType, GatingMode, NotificationsMode, Action, Outcome
    )
    conv.register_structure_hook(
        _WireUser,
        make_dict_structure_fn(
            _WireUser,
            conv,
            id=override(rename="_id"),
            avatar_url=override(rename="avatarUrl"),
            is_pro=override(rename="isPro"),
            verified_org_names=override(rename="verifiedOrgNames"),
        ),
    )
    conv.register_structure_hook(
        _WireRequest,
        make_dict_structure_fn(
            _WireRequest,
            conv,
            request_id=override(rename="requestId"),
            reviewed_at=override(rename="reviewedAt"),
            granted_by=override(rename="grantedBy"),
        ),
    )
    conv.register_structure_hook(
        _WireReportEntry,
        make_dict_structure_fn(
            _WireReportEntry,
            conv,
            reviewed_at=override(rename="reviewedAt"),
            granted_by=override(rename="grantedBy"),
        ),
    )
    conv.register_unstructure_hook(
        AccessRequest,
        make_dict_unstructure_fn(AccessRequest, conv, fields=override(unstruct_hook=dict)),
    )
    return conv


converter = _make_converter()


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
        fields=dict(w.fields or {}),
        avatar_url=u.avatar_url if u else None,
        is_pro=u.is_pro if u else None,
        user_type=u.type if u else None,
        verified_orgs=tuple(u.verified_org_names) if u else (),
    )


def _decode(data: Any, cls: type[T], what: str) -> T:
    return decode(converter, data, cls, what, "the Hub")


def decode_requests(data: Any) -> list[AccessRequest]:
    """A list page (JSON array) -> records."""
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
    return converter.unstructure(record)
