"""The one cattrs converter between the Hub's JSON and hf-access's records.

The wire's names and nesting live here only: private ``_Wire*`` classes mirror the JSON
(with renames such as ``avatarUrl`` -> ``avatar_url``) and are turned into the public records.
Unknown keys are ignored (the Hub adds fields); a body of the wrong shape becomes a
:class:`~hf_access.errors.DecodeError` whose message names the field.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .bulk_models import Action, Outcome
from .errors import DecodeError
from .models import (
    AccessRequest,
    GatingMode,
    GrantedBy,
    NotificationsMode,
    ReportEntry,
    RepoType,
    RequestStatus,
)

T = TypeVar("T")


def parse_hub_time(value: str) -> datetime:
    """``2026-10-05T13:33:43.123Z`` (any ISO 8601 form) -> an aware datetime in UTC."""
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO date-time string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_hub_time(value: datetime) -> str:
    """An aware datetime -> the Hub's form, milliseconds and ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


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


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(datetime, lambda v, _: parse_hub_time(v))
    conv.register_unstructure_hook(datetime, format_hub_time)
    conv.register_structure_hook(GatingMode, lambda v, _: GatingMode.parse(v))
    # Registered before the str hook below: str-based enums would otherwise match it.
    conv.register_structure_hook(RequestStatus, lambda v, _: RequestStatus.parse(v))

    def _structure_str(value: Any, _: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        return value

    def _structure_bool(value: Any, _: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected a boolean, got {type(value).__name__}")
        return value

    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
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
    # Public records unstructure to plain JSON-ready dicts (used by the CLI's json/csv output).
    # Each str-based enum is named: a hook on enum.Enum loses to the str hook in their MRO.
    for enum_type in (RequestStatus, RepoType, GatingMode, NotificationsMode, Action, Outcome):
        conv.register_unstructure_hook(enum_type, _enum_value)
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
    try:
        return converter.structure(data, cls)
    except Exception as exc:  # cattrs raises ClassValidationError/IterableValidationError
        details = "; ".join(cattrs.transform_error(exc, path=what)) if _is_cattrs(exc) else str(exc)
        raise DecodeError(f"unexpected {what} from the Hub: {details}") from None


def _is_cattrs(exc: BaseException) -> bool:
    return isinstance(exc, cattrs.BaseValidationError)


def decode_requests(data: Any) -> list[AccessRequest]:
    """A list page (JSON array) -> records."""
    if not isinstance(data, list):
        raise DecodeError(
            f"unexpected list page from the Hub: expected an array, got {_kind(data)}"
        )
    wires = _decode(data, list[_WireRequest], "list page")
    return [_request_from_wire(w) for w in wires]


def decode_report(data: Any) -> list[ReportEntry]:
    if not isinstance(data, list):
        raise DecodeError(
            f"unexpected access report from the Hub: expected an array, got {_kind(data)}"
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


def _kind(data: Any) -> str:
    return "null" if data is None else type(data).__name__


def to_jsonable(record: Any) -> Any:
    """A record (or list of records) as JSON-ready data with snake_case keys and ISO times."""
    return converter.unstructure(record)
