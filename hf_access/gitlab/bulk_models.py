"""Records of GitLab bulk runs: decisions in, one outcome per decision out.

The outcome records are the Hub's (:class:`~hf_access.ItemOutcome`, :class:`~hf_access.BulkReport`)
over a :class:`GitLabDecision`: both providers run on one bulk engine.

>>> d = GitLabDecision("acme/app", "alice", "approve", access_level="reporter")
>>> d.key, d.access_level
('gitlab:project:acme/app|alice|approve:20', <AccessLevel.REPORTER: 20>)
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ..bulk_models import BulkProgress, BulkReport, ItemOutcome
from ..models import parse_enum
from . import _wire
from .models import AccessLevel, TargetKind

__all__ = [
    "GitLabAction",
    "GitLabBulkProgress",
    "GitLabBulkReport",
    "GitLabDecision",
    "GitLabItemOutcome",
]


class GitLabAction(str, enum.Enum):
    """What to do to one access request."""

    APPROVE = "approve"
    DENY = "deny"

    @classmethod
    def parse(cls, value: GitLabAction | str) -> GitLabAction:
        return parse_enum(cls, value, "action")


def _level(value: AccessLevel | int | str | None) -> AccessLevel | None:
    return None if value is None else AccessLevel.parse(value)


def _user(value: Any) -> int | str:
    return _wire.user_ref(value)


def _target(value: Any) -> str:
    return _wire.validate_target(value)


def _action(value: Any) -> GitLabAction:
    return GitLabAction.parse(value)


def _kind(value: Any) -> TargetKind:
    return TargetKind.parse(value)


@attrs.frozen
class GitLabDecision:
    """Approve or deny ``user``'s request on one project or group.

    ``target`` is an id or a full path; ``user`` an id, a user name or a record with an ``id``
    (kept as its id). ``access_level`` is for approve only (default developer). Every field
    is checked when the decision is built (ValueError).
    """

    target: str = attrs.field(converter=_target)
    user: int | str = attrs.field(converter=_user)
    action: GitLabAction = attrs.field(converter=_action)
    kind: TargetKind = attrs.field(default=TargetKind.PROJECT, converter=_kind, kw_only=True)
    access_level: AccessLevel | None = attrs.field(default=None, converter=_level, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.action is GitLabAction.APPROVE and self.access_level is None:
            object.__setattr__(self, "access_level", AccessLevel.DEVELOPER)
        if self.action is GitLabAction.DENY and self.access_level is not None:
            raise ValueError("deny takes no access level")

    @property
    def user_label(self) -> str:
        """The user name, or ``id:<n>``."""
        return self.user if isinstance(self.user, str) else f"id:{self.user}"

    @property
    def key(self) -> str:
        """Identity in journals and for de-duplication (user names are case-insensitive)."""
        user = self.user.lower() if isinstance(self.user, str) else f"id:{self.user}"
        action = self.action.value
        if self.access_level is not None:
            action += f":{int(self.access_level)}"
        return f"gitlab:{self.kind.value}:{self.target}|{user}|{action}"

    @property
    def subject(self) -> str:
        """``(kind, target, user)``: decisions on one subject must agree."""
        return self.key.rsplit("|", 1)[0]


GitLabItemOutcome = ItemOutcome[GitLabDecision]
"""The outcome of one GitLab decision: :class:`~hf_access.ItemOutcome` of a GitLabDecision."""
GitLabBulkProgress = BulkProgress[GitLabDecision]
"""A progress snapshot of a GitLab run."""
GitLabBulkReport = BulkReport[GitLabDecision]
"""The report of a GitLab run: the Hub's :class:`~hf_access.BulkReport`, GitLab decisions."""
