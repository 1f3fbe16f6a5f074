"""Records and enums of GitLab access requests.

Frozen ``attrs`` records with snake_case names and timezone-aware datetimes. GitLab's wire
shapes live in :mod:`hf_access.gitlab._convert` only.

>>> AccessLevel.parse("maintainer")
<AccessLevel.MAINTAINER: 40>
>>> TargetKind.parse("groups")
<TargetKind.GROUP: 'group'>
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import attrs

__all__ = [
    "AccessLevel",
    "GitLabAccessRequest",
    "GitLabMember",
    "GitLabUser",
    "TargetKind",
]


class AccessLevel(enum.IntEnum):
    """GitLab's roles, by the number the API uses (``access_level``)."""

    NO_ACCESS = 0
    MINIMAL = 5
    GUEST = 10
    PLANNER = 15
    REPORTER = 20
    DEVELOPER = 30
    MAINTAINER = 40
    OWNER = 50

    @classmethod
    def parse(cls, value: AccessLevel | int | str) -> AccessLevel:
        """Accept a member, its number (``30``, ``"30"``) or its name (``"developer"``).

        Anything else is a :class:`ValueError`:

        >>> AccessLevel.parse(30)
        <AccessLevel.DEVELOPER: 30>
        """
        if isinstance(value, AccessLevel):
            return value
        if isinstance(value, bool):
            raise ValueError(f"unknown access level {value!r}")
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                pass
        elif isinstance(value, str):
            text = value.strip().lower().replace("-", "_").replace(" ", "_")
            if text.isdigit():
                return cls.parse(int(text))
            for member in cls:
                if text == member.name.lower() or (text == "none" and member == cls.NO_ACCESS):
                    return member
        allowed = ", ".join(f"{m.value} {m.name.lower()}" for m in cls)
        raise ValueError(f"unknown access level {value!r}: expected one of {allowed}")

    @property
    def label(self) -> str:
        """``developer``, ``no_access``..."""
        return self.name.lower()


class TargetKind(str, enum.Enum):
    """What an access request is for: a project or a group."""

    PROJECT = "project"
    GROUP = "group"

    @property
    def plural(self) -> str:
        """The path segment of the API: ``projects`` or ``groups``."""
        return f"{self.value}s"

    @classmethod
    def parse(cls, value: TargetKind | str) -> TargetKind:
        """Accept a member, ``"project"``/``"projects"`` or ``"group"``/``"groups"``."""
        if isinstance(value, TargetKind):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if text in (member.value, member.plural):
                return member
        raise ValueError(f"unknown kind {value!r}: expected 'project' or 'group'")


@attrs.frozen
class GitLabAccessRequest:
    """One pending access request: a user who asked to join a project or group.

    ``id`` is the requester's **user** id (what approve and deny take). ``requested_at`` is
    ``created_at`` on older servers.
    """

    id: int
    username: str
    name: str | None = None
    state: str | None = None
    locked: bool | None = None
    avatar_url: str | None = None
    web_url: str | None = None
    requested_at: datetime | None = None


@attrs.frozen
class GitLabMember:
    """A member of a project or group (approve's answer, and the members endpoint)."""

    id: int
    username: str
    access_level: AccessLevel
    name: str | None = None
    state: str | None = None
    avatar_url: str | None = None
    web_url: str | None = None
    created_at: datetime | None = None
    expires_at: date | None = None


@attrs.frozen
class GitLabUser:
    """A user as ``GET /users?username=`` shows it."""

    id: int
    username: str
    name: str | None = None
    state: str | None = None
    avatar_url: str | None = None
    web_url: str | None = None
