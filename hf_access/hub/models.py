"""Records and enums of hf-access.

Every record is a frozen ``attrs`` class with snake_case names and timezone-aware datetimes.
The Hub's wire names (``user.user``, ``reviewedAt``, ``rejectionReason``...) never appear here:
they live in the one converter of :mod:`hf_access.hub.convert`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
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
    "UserArg",
    "UserRef",
    "validate_username",
]

# User names keep the rule of Hub accounts: letters, digits, '-', '_', '.'; starting with a
# letter or digit and ending with a letter, digit or '_'; no '--' or '..'; at most 96
# characters. Matched whole (``fullmatch``): ``$`` would let a final newline through.
_USER = r"[A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?"
_USER_RE = re.compile(_USER)
_USER_LINES_RE = re.compile(rf"(?:{_USER}\n)*{_USER}")  # user names, one a line
_HEX24_RE = re.compile(r"[0-9a-fA-F]{24}")
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9_\-]{1,64}")


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
        """A name for messages: the user name, else ``request:<id>`` (see :class:`UserRef`)."""
        return UserRef.of_request(self.username, self.request_id).label


def validate_username(user: str) -> str:
    """Return ``user`` if it is a well-formed Hub user name, else ValueError."""
    if not isinstance(user, str) or not is_username(user):
        raise ValueError(f"invalid user name {user!r}")
    return user


def is_username(user: str) -> bool:
    """Whether a ``str`` is a well-formed Hub user name (:func:`validate_username` without
    the error).

    >>> is_username("alice"), is_username("request:abc"), is_username("a--b")
    (True, False, False)
    """
    return _USER_RE.fullmatch(user) is not None and "--" not in user and ".." not in user


def plain_usernames(names: Sequence[object]) -> bool:
    """Whether every item is a well-formed user name (a ``str``): checked all at once, as
    :func:`validate_username` checks one. False tells nothing more (check them one by one).

    >>> plain_usernames(["alice", "bob"]), plain_usernames(["alice", "request:abc123"])
    (True, False)
    """
    if not names:
        return False
    try:
        lines = "\n".join(names)  # type: ignore[arg-type]
    except TypeError:  # not all strings
        return False
    return (
        lines.count("\n") == len(names) - 1  # no name holds a line break of its own
        and _USER_LINES_RE.fullmatch(lines) is not None
        and "--" not in lines
        and ".." not in lines
    )


_LABEL_PREFIXES = {"requestId": "request:", "userId": "user-id:"}


@attrs.frozen
class UserRef:
    """Who a decision is about, as the Hub's bodies address a user: by name (``user``), by
    user id (``userId``) or by request id (``requestId``, for repos that hide requesters).

    Its :attr:`label` is how decisions, journals, reports and messages name it: the user name,
    else ``request:<id>`` or ``user-id:<id>``; :meth:`parse` reads a label back. Those labels
    are written and read here and nowhere else.

    >>> UserRef.parse("request:abc123").body()
    {'requestId': 'abc123'}
    >>> UserRef.parse("alice").label
    'alice'
    >>> UserRef.of_request(None, "abc123").label
    'request:abc123'
    """

    kind: str  # "user", "userId" or "requestId"
    value: str

    @property
    def label(self) -> str:
        return _LABEL_PREFIXES.get(self.kind, "") + self.value

    def body(self) -> dict[str, str]:
        return {self.kind: self.value}

    @classmethod
    def of_request(cls, username: str | None, request_id: str | None) -> UserRef:
        """How a listed request is named: by its user name, else by its request id (a repo
        that hides its requesters). Taken as listed, not validated: it only names it."""
        if username:
            return cls("user", username)
        return cls("requestId", request_id or "")

    @staticmethod
    def kind_of(label: str) -> str:
        """The kind of user a label names, from its form alone (nothing is validated).

        >>> [UserRef.kind_of(x) for x in ("alice", "request:1", "user-id:0a")]
        ['user', 'requestId', 'userId']
        """
        for kind, prefix in _LABEL_PREFIXES.items():
            if label.startswith(prefix):
                return kind
        return "user"

    @classmethod
    def parse(cls, user: UserArg, *, allow_request_id: bool = True) -> UserRef:
        """A user name, a label, a :class:`UserRef` or a listed :class:`AccessRequest`.

        A record is addressed by user name when it has one, else by request id (repos that
        hide their requesters); grant takes no request id, so it falls back to the user id.
        """
        if isinstance(user, str) and ":" not in user:
            # A user name (every label's prefix ends in ':'): the usual case, read first.
            return cls("user", validate_username(user))
        if isinstance(user, UserRef):
            if user.kind == "requestId" and not allow_request_id:
                raise ValueError("this call takes a user name or user id, not a request id")
            return user
        if isinstance(user, AccessRequest):
            if user.username:
                return cls("user", validate_username(user.username))
            if allow_request_id and user.request_id:
                return cls("requestId", _request_id(user.request_id))
            if user.user_id:
                return cls("userId", _user_id(user.user_id))
            raise ValueError(
                "this access request has no user name, request id or user id to address"
            )
        if isinstance(user, str):
            kind = cls.kind_of(user)
            if kind == "requestId":
                if not allow_request_id:
                    raise ValueError("this call takes a user name or user id, not a request id")
                return cls(kind, _request_id(user.removeprefix(_LABEL_PREFIXES[kind])))
            if kind == "userId":
                return cls(kind, _user_id(user.removeprefix(_LABEL_PREFIXES[kind])))
            return cls("user", validate_username(user))
        raise ValueError(f"user must be a user name or an AccessRequest, not {type(user).__name__}")


def _request_id(value: str) -> str:
    if not isinstance(value, str) or not _REQUEST_ID_RE.fullmatch(value):
        raise ValueError(f"invalid request id {value!r}")
    return value


def _user_id(value: str) -> str:
    if not isinstance(value, str) or not _HEX24_RE.fullmatch(value):
        raise ValueError(f"invalid user id {value!r}: expected 24 hexadecimal characters")
    return value


UserArg = str | AccessRequest | UserRef
"""How callers name a user: a user name, ``request:<id>``, ``user-id:<id>``, a
:class:`UserRef`, or a record from a list."""


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
