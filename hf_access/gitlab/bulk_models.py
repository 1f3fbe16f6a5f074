"""Records of GitLab bulk runs: decisions in, one outcome per decision out.

They mirror :mod:`hf_access.bulk_models` (same :class:`~hf_access.Outcome`, same
:class:`~hf_access.PlannedCall`, same fields and figures) with a GitLab decision in place of
the Hub's, whose ``action`` is the Hub's :class:`~hf_access.Action`.

>>> d = GitLabDecision("acme/app", "alice", "approve", access_level="reporter")
>>> d.key, d.access_level
('gitlab:project:acme/app|alice|approve:20', <AccessLevel.REPORTER: 20>)
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ..bulk_models import Outcome, PlannedCall
from ..errors import HfAccessError
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
        if isinstance(value, GitLabAction):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if text == member.value:
                return member
        raise ValueError(f"unknown action {value!r}: expected 'approve' or 'deny'")


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


@attrs.frozen
class GitLabItemOutcome:
    """The outcome of one input decision (the fields of :class:`~hf_access.ItemOutcome`).

    ``attempts`` counts the requests sent for the item (user-name look-ups included; a
    transport retry is not counted separately). ``user_id`` is the resolved id, when known.
    """

    index: int
    decision: GitLabDecision
    outcome: Outcome
    error: HfAccessError | None = None
    detail: str | None = None
    attempts: int = 0
    from_journal: bool = False
    user_id: int | None = None

    @property
    def ok(self) -> bool:
        """Done or unchanged: the user is in the wanted state."""
        return self.outcome in (Outcome.DONE, Outcome.UNCHANGED)


@attrs.frozen
class GitLabBulkProgress:
    """A snapshot given to ``on_progress`` after each finished item."""

    total: int
    finished: int
    done: int
    unchanged: int
    failed: int
    not_attempted: int
    calls: int
    last: GitLabItemOutcome | None = None


@attrs.frozen
class GitLabBulkReport:
    """One :class:`GitLabItemOutcome` per input decision, **in input order** (as BulkReport)."""

    items: tuple[GitLabItemOutcome, ...]
    calls: int
    elapsed: float
    stopped: str | None = None
    plan: tuple[PlannedCall, ...] = ()

    def count(self, outcome: Outcome) -> int:
        return sum(1 for item in self.items if item.outcome is outcome)

    @property
    def done(self) -> int:
        return self.count(Outcome.DONE)

    @property
    def unchanged(self) -> int:
        return self.count(Outcome.UNCHANGED)

    @property
    def failed(self) -> int:
        return self.count(Outcome.FAILED)

    @property
    def not_attempted(self) -> int:
        return self.count(Outcome.NOT_ATTEMPTED)

    @property
    def ok(self) -> bool:
        """Every item is done or unchanged."""
        return all(item.ok for item in self.items)

    def failures(self) -> list[GitLabItemOutcome]:
        return [item for item in self.items if item.outcome is Outcome.FAILED]

    def summary(self) -> str:
        """``12 decisions: 10 done, 1 unchanged, 1 failed, 0 not attempted; 14 calls in 0.3s``"""
        text = (
            f"{len(self.items)} decisions: {self.done} done, {self.unchanged} unchanged, "
            f"{self.failed} failed, {self.not_attempted} not attempted; "
            f"{self.calls} calls in {self.elapsed:.1f}s"
        )
        if self.stopped:
            text += f" (stopped: {self.stopped})"
        return text
