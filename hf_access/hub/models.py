"""Records and enums of hf-access.

Every record is a frozen ``attrs`` class with snake_case names and timezone-aware datetimes.
The Hub's wire names (``user.user``, ``reviewedAt``, ``rejectionReason``...) never appear here:
they live in the one converter of :mod:`hf_access.hub.convert`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from ..core.convert import parse_enum

__all__ = [
    "AccessRequest",
    "Action",
    "BatchResult",
    "GatingMode",
    "GrantedBy",
    "NotificationsMode",
    "RepoType",
    "ReportEntry",
    "RequestStatus",
]


class RepoType(str, enum.Enum):
    """The kind of repository, as huggingface_hub names it."""

    MODEL = "model"
    DATASET = "dataset"
    SPACE = "space"

    @property
    def plural(self) -> str:
        """The path segment the Hub's API uses: ``models``, ``datasets`` or ``spaces``."""
        return f"{self.value}s"

    @classmethod
    def parse(cls, value: RepoType | str | None) -> RepoType:
        """Accept an enum member, its value (``"dataset"``), its plural (``"datasets"``) or None."""
        if value is None:
            return cls.MODEL
        if isinstance(value, cls):
            return value
        return parse_enum(cls, value, "repo type", _PLURALS)


_PLURALS: Mapping[str, RepoType] = {m.plural: m for m in RepoType}


class RequestStatus(str, enum.Enum):
    """The lists the Hub keeps for every gated repo."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RESET = "reset"

    @classmethod
    def parse(cls, value: RequestStatus | str) -> RequestStatus:
        """Accept a member or its value; anything else is a :class:`ValueError`."""
        return parse_enum(cls, value, "request status")


class GatingMode(str, enum.Enum):
    """How a repo is gated. ``OFF`` is the wire's ``false``."""

    OFF = "off"
    AUTO = "auto"
    MANUAL = "manual"

    @classmethod
    def parse(cls, value: GatingMode | str | bool) -> GatingMode:
        """Accept a member, ``"auto"``, ``"manual"``, ``"off"``, ``False`` (and ``"false"``)."""
        if isinstance(value, GatingMode):
            return value
        if value is False:
            return cls.OFF
        if value is True:
            raise ValueError("gating mode True is ambiguous: use 'auto' or 'manual'")
        text = str(value).strip().lower()
        if text in ("false", "off", "none", ""):
            return cls.OFF
        for member in cls:
            if text == member.value:
                return member
        raise ValueError(f"unknown gating mode {value!r}: expected auto, manual or off")


class NotificationsMode(str, enum.Enum):
    """When the Hub e-mails the owners about new requests."""

    BULK = "bulk"
    REAL_TIME = "real-time"

    @classmethod
    def parse(cls, value: NotificationsMode | str) -> NotificationsMode:
        return parse_enum(cls, value, "notifications mode", {"real_time": cls.REAL_TIME})


@attrs.frozen
class GrantedBy:
    """Who accepted a request (present only on accepted entries)."""

    username: str | None = None
    fullname: str | None = None


@attrs.frozen
class AccessRequest:
    """One entry of a repo's pending, accepted, rejected or reset list.

    ``username`` and the other user fields are ``None`` when the repo hides its requesters;
    the request is then addressed by ``request_id`` (the session does it for you when you pass
    the record itself to ``accept``, ``reject``...).
    """

    request_id: str | None
    username: str | None
    status: RequestStatus
    timestamp: datetime | None = None
    user_id: str | None = None
    fullname: str | None = None
    email: str | None = None
    reviewed_at: datetime | None = None
    granted_by: GrantedBy | None = None
    fields: Mapping[str, object] = attrs.field(factory=dict)
    avatar_url: str | None = None
    is_pro: bool | None = None
    user_type: str | None = None
    verified_orgs: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """A name for messages: the user name, else ``request:<id>``."""
        if self.username:
            return self.username
        return f"request:{self.request_id}"


@attrs.frozen
class ReportEntry:
    """One row of a repo's access report (every request in every status)."""

    username: str | None
    status: RequestStatus
    fullname: str | None = None
    email: str | None = None
    time: datetime | None = None
    reviewed_at: datetime | None = None
    granted_by: GrantedBy | None = None


@attrs.frozen
class BatchResult:
    """The outcome of one item of a batch call, in the order the items were sent.

    ``target`` is what was sent for the item (a user name, or ``request:<id>``/``user-id:<id>``);
    ``error`` is the Hub's code (``user_not_found``, ``request_not_found``) when ``ok`` is false.
    An item that already had the target status comes back ``ok``.
    """

    target: str
    ok: bool
    error: str | None = None
    username: str | None = None


class Action(str, enum.Enum):
    """What to do to one user's access. ``cancel`` moves a request back to pending."""

    ACCEPT = "accept"
    REJECT = "reject"
    CANCEL = "cancel"
    RESET = "reset"
    GRANT = "grant"

    @classmethod
    def parse(cls, value: Action | str) -> Action:
        return parse_enum(cls, value, "action")

    @property
    def target_status(self) -> RequestStatus:
        """The status the request has once the action is done (grant: accepted)."""
        return _TARGET[self]

    @property
    def takes_reason(self) -> bool:
        return self in (Action.REJECT, Action.RESET)


_TARGET: Mapping[Action, RequestStatus] = {
    Action.ACCEPT: RequestStatus.ACCEPTED,
    Action.REJECT: RequestStatus.REJECTED,
    Action.CANCEL: RequestStatus.PENDING,
    Action.RESET: RequestStatus.RESET,
    Action.GRANT: RequestStatus.ACCEPTED,
}
