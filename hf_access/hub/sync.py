"""Access as code: make a gated repo's access equal to a list, as a plan, then apply it.

:func:`plan_access` reads the repo's four lists once (one call per 1,000 entries per status)
and compares them with the users wanted:

- a wanted user with no request is **granted** (one call each: the Hub has no batch grant);
- a wanted user whose request is pending, or was reset, is **accepted** (batches of 100);
- a wanted user who is already accepted is left alone (``unchanged``);
- a wanted user who was **rejected** is reported and left rejected, unless
  ``include_rejected`` says to accept them too;
- an accepted user who is not wanted is moved away by ``remove``: ``"reject"`` (with a
  reason), ``"cancel"`` (back to pending), ``"reset"`` (with a reason), or ``"keep"`` (no one
  is removed).

Repos that hide their requesters list requests without names; those requests are matched
by ``request:<id>`` entries of the list. When the list names no request, the plan cannot
tell whose they are and leaves them as they are (:attr:`AccessPlan.hidden` counts them).

:func:`apply_plan` runs the plan's decisions through the session's bulk engine (batched,
rate limited, resumable with a journal, or a dry run) and returns the usual report. Applying
a plan of a repo already in sync makes no call at all::

    plan = await hub.plan_access("org/model-v2", AccessSource.from_repo("org/model-v1"))
    print(plan.diff())
    report = await hub.apply_plan(plan, journal="sync.jsonl")
"""

from __future__ import annotations

import asyncio
import enum
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from ..core.convert import parse_enum
from ..core.outcomes import BulkReport
from ..core.transport import counting
from . import wire as _wire
from .bulk import Decision, OnProgress
from .models import Action, RepoType, RequestStatus

if TYPE_CHECKING:
    from .client import AccessSession

__all__ = ["AccessPlan", "AccessSource", "Change", "RemoveMode", "apply_plan", "plan_access"]

_STATUSES = (
    RequestStatus.PENDING,
    RequestStatus.ACCEPTED,
    RequestStatus.REJECTED,
    RequestStatus.RESET,
)


class RemoveMode(str, enum.Enum):
    """What a sync does to accepted users who are not on the list."""

    REJECT = "reject"
    """Reject them (with an optional reason): they cannot ask again."""
    CANCEL = "cancel"
    """Move their requests back to pending: access lost, the request waits again."""
    RESET = "reset"
    """Reset them (with an optional reason): access lost, they must ask again."""
    KEEP = "keep"
    """Remove no one: the sync only adds."""

    @classmethod
    def parse(cls, value: RemoveMode | str) -> RemoveMode:
        """A member from itself or its value.

        >>> RemoveMode.parse("Reset")
        <RemoveMode.RESET: 'reset'>
        """
        return parse_enum(cls, value, "remove mode")

    @property
    def action(self) -> Action | None:
        """The bulk action that removes a user (``None`` for keep)."""
        return None if self is RemoveMode.KEEP else Action(self.value)


def _repo_type(value: RepoType | str | None) -> RepoType:
    return RepoType.parse(value)


@attrs.frozen
class AccessSource:
    """Where the wanted users come from: a list of names, or another repo's accepted users.

    >>> AccessSource.from_users(["alice", "bob", "alice"]).users
    ('alice', 'bob')
    >>> AccessSource.from_repo("org/model-v1").describe()
    'the accepted users of org/model-v1'
    """

    users: tuple[str, ...] | None = None
    repo_id: str | None = None
    repo_type: RepoType = attrs.field(default=RepoType.MODEL, converter=_repo_type)

    @classmethod
    def from_users(cls, users: Iterable[str]) -> AccessSource:
        """A fixed list of user names (or ``request:<id>``); duplicates are dropped.

        Every entry is checked now: :class:`ValueError` names the first bad one.
        """
        if isinstance(users, str):
            raise ValueError("users must be an iterable of names, not one string")
        names: dict[str, None] = {}
        for index, user in enumerate(users):
            try:
                _check_entry(user)
            except ValueError as exc:
                raise ValueError(f"user {index}: {exc}") from None
            names[user] = None
        return cls(users=tuple(names))

    @classmethod
    def from_repo(cls, repo_id: str, *, repo_type: RepoType | str | None = None) -> AccessSource:
        """The users accepted on another repo (read when the plan is made)."""
        return cls(repo_id=_wire.validate_repo_id(repo_id), repo_type=repo_type)

    def describe(self) -> str:
        """A few words for plans and messages."""
        if self.repo_id is not None:
            return f"the accepted users of {self.repo_id}"
        count = len(self.users or ())
        return f"a list of {count:,} user{'' if count == 1 else 's'}"

    async def resolve(self, hub: AccessSession) -> tuple[list[str], int]:
        """``(names, hidden)``: the wanted users, and how many accepted requests of a source
        repo could not be named (it hides its requesters)."""
        if self.repo_id is None:
            return list(self.users or ()), 0
        names: list[str] = []
        hidden = 0
        async for request in hub.iter_requests(
            self.repo_id, RequestStatus.ACCEPTED, repo_type=self.repo_type
        ):
            if request.username:
                names.append(request.username)
            else:
                hidden += 1  # a request id means nothing on another repo
        return list(dict.fromkeys(names)), hidden


def _check_entry(user: object) -> str:
    if not isinstance(user, str):
        raise ValueError(f"expected a user name, not {type(user).__name__}")
    if _wire.UserRef.kind_of(user) == "userId":
        raise ValueError(f"{user!r}: name the user (user ids cannot be matched with the lists)")
    _wire.UserRef.parse(user)  # a user name or request:<id>
    return user


@attrs.frozen
class Change:
    """One change of a plan: ``action`` on ``user``, whose request is ``current`` now
    (``None``: no request)."""

    user: str
    action: Action
    current: RequestStatus | None = None


@attrs.frozen
class AccessPlan:
    """What a sync would change on one repo; apply it with :meth:`AccessSession.apply_plan`.

    Attributes:
        repo_id, repo_type: the repo to sync.
        source: where the wanted users came from (see :meth:`AccessSource.describe`).
        remove_mode: what is done to accepted users not on the list.
        reason: the reason sent with reject or reset.
        wanted: how many users are on the list.
        changes: the changes, removals last.
        unchanged: users on the list who already have access.
        rejected: users on the list who are rejected and stay so (see ``include_rejected``).
        kept: accepted users not on the list, kept because ``remove="keep"``.
        missing: ``request:<id>`` entries of the list that match no request of the repo.
        hidden: accepted requests with a hidden requester that the plan cannot match.
        source_hidden: accepted requests of a source repo that hides its requesters (not
            copied: they have no name).
        reads: calls made to read the lists.
    """

    repo_id: str
    repo_type: RepoType
    source: str
    remove_mode: RemoveMode
    reason: str | None
    wanted: int
    changes: tuple[Change, ...]
    unchanged: int = 0
    rejected: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    hidden: int = 0
    source_hidden: int = 0
    reads: int = 0

    def __len__(self) -> int:
        return len(self.changes)

    def __repr__(self) -> str:
        # Counts, not user lists: a plan for a large repo holds thousands of names.
        figures = ", ".join(f"{name}={value}" for name, value in self.counts().items())
        return f"<AccessPlan {self.repo_type.value}:{self.repo_id} {figures}>"

    @property
    def in_sync(self) -> bool:
        """Nothing to change: applying the plan sends nothing."""
        return not self.changes

    def users(self, action: Action | str) -> tuple[str, ...]:
        """The users a given action is planned for."""
        wanted = Action.parse(action)
        return tuple(c.user for c in self.changes if c.action is wanted)

    @property
    def grant(self) -> tuple[str, ...]:
        return self.users(Action.GRANT)

    @property
    def accept(self) -> tuple[str, ...]:
        return self.users(Action.ACCEPT)

    @property
    def remove(self) -> tuple[str, ...]:
        """The accepted users moved away (by the remove mode's action)."""
        action = self.remove_mode.action
        return self.users(action) if action is not None else ()

    def counts(self) -> dict[str, int]:
        """Every figure of the plan, by name (the JSON form's ``counts``)."""
        return {
            "wanted": self.wanted,
            "grant": len(self.grant),
            "accept": len(self.accept),
            "remove": len(self.remove),
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "kept": len(self.kept),
            "missing": len(self.missing),
            "hidden": self.hidden,
            "changes": len(self.changes),
        }

    def decisions(self) -> list[Decision]:
        """The plan as bulk decisions (what :meth:`AccessSession.apply_plan` runs)."""
        return [
            Decision(
                self.repo_id,
                change.user,
                change.action,
                self.reason if change.action.takes_reason else None,
                self.repo_type,
            )
            for change in self.changes
        ]

    def summary(self) -> str:
        """One line: ``org/model: 3 to grant, 2 to accept, 1 to remove (reject); 40 unchanged``.

        >>> AccessPlan("org/model", RepoType.MODEL, "a list", RemoveMode.KEEP, None, 0, ()).summary()
        'org/model is in sync with a list (0 users wanted)'
        """
        if self.in_sync:
            text = f"{self.repo_id} is in sync with {self.source} ({self.wanted:,} users wanted)"
        else:
            parts = [f"{len(self.grant):,} to grant", f"{len(self.accept):,} to accept"]
            if self.remove_mode is not RemoveMode.KEEP:
                parts.append(f"{len(self.remove):,} to remove ({self.remove_mode.value})")
            text = f"{self.repo_id}: {', '.join(parts)}; {self.unchanged:,} unchanged"
        notes = []
        if self.rejected:
            notes.append(f"{len(self.rejected):,} on the list rejected, left so")
        if self.kept:
            notes.append(f"{len(self.kept):,} not on the list kept")
        if self.missing:
            notes.append(f"{len(self.missing):,} unknown requests")
        if self.hidden:
            notes.append(f"{self.hidden:,} hidden requesters not matched")
        return text + (f" ({'; '.join(notes)})" if notes else "")

    def diff(self, *, limit: int | None = None) -> str:
        """The plan as lines, one per user (``+`` gains access, ``-`` loses it, ``!`` is
        reported and left as it is), then the summary. ``limit`` caps the user lines.

        >>> plan = AccessPlan(
        ...     "org/model", RepoType.MODEL, "a list", RemoveMode.CANCEL, None, 2,
        ...     (Change("ann", Action.GRANT), Change("bob", Action.CANCEL, RequestStatus.ACCEPTED)),
        ... )
        >>> print(plan.diff())
        + ann  grant (no request)
        - bob  cancel (accepted)
        org/model: 1 to grant, 0 to accept, 1 to remove (cancel); 0 unchanged
        """
        lines = [
            f"{'-' if c.action is self.remove_mode.action else '+'} {c.user}  "
            f"{c.action.value} ({c.current.value if c.current else 'no request'})"
            for c in self.changes
        ]
        lines += [f"! {user}  rejected: left rejected" for user in self.rejected]
        lines += [f"! {user}  unknown request: nothing to do" for user in self.missing]
        if limit is not None and len(lines) > limit:
            lines = [*lines[:limit], f"  ... and {len(lines) - limit:,} more"]
        lines.append(self.summary())
        return "\n".join(lines)


async def plan_access(
    hub: AccessSession,
    repo_id: str,
    desired: Iterable[str] | AccessSource,
    *,
    remove: RemoveMode | str = RemoveMode.CANCEL,
    reason: str | None = None,
    include_rejected: bool = False,
    repo_type: RepoType | str | None = None,
) -> AccessPlan:
    """Compare ``repo_id``'s lists with ``desired``; see the module for the rules.

    Every argument is checked before anything is sent (:class:`ValueError`).
    """
    rtype = RepoType.parse(repo_type)
    _wire.validate_repo_id(repo_id)
    mode = RemoveMode.parse(remove)
    _wire.validate_reason(reason)
    if reason is not None and mode not in (RemoveMode.REJECT, RemoveMode.RESET):
        raise ValueError(f"a reason goes with remove='reject' or 'reset', not {mode.value!r}")
    source = desired if isinstance(desired, AccessSource) else AccessSource.from_users(desired)

    async def read(status: RequestStatus) -> list[str]:
        return [
            _wire.user_label(request)
            async for request in hub.iter_requests(repo_id, status, repo_type=rtype)
        ]

    with counting() as counter:
        # The source and the four lists are read side by side (each list page by page).
        resolving = asyncio.ensure_future(source.resolve(hub))
        reading = [asyncio.ensure_future(read(status)) for status in _STATUSES]
        try:
            wanted, source_hidden = await resolving
            lists = [await task for task in reading]
        finally:
            for task in (resolving, *reading):
                task.cancel()  # nothing left behind when one fails (no-op once finished)
            await asyncio.gather(resolving, *reading, return_exceptions=True)
    current: dict[str, RequestStatus] = {}
    for status, keys in zip(_STATUSES, lists, strict=True):
        for key in keys:
            current[key] = status
    return _compare(
        repo_id,
        rtype,
        source.describe(),
        wanted,
        current,
        mode=mode,
        reason=reason,
        include_rejected=include_rejected,
        source_hidden=source_hidden,
        reads=counter.calls,
    )


def _compare(
    repo_id: str,
    repo_type: RepoType,
    source: str,
    wanted: Sequence[str],
    current: dict[str, RequestStatus],
    *,
    mode: RemoveMode,
    reason: str | None,
    include_rejected: bool,
    source_hidden: int,
    reads: int,
) -> AccessPlan:
    """The plan from the wanted names and ``{user key: status}`` of the repo (pure)."""
    changes: list[Change] = []
    rejected: list[str] = []
    missing: list[str] = []
    unchanged = 0
    accept_from = {RequestStatus.PENDING, RequestStatus.RESET}
    if include_rejected:
        accept_from.add(RequestStatus.REJECTED)
    for user in wanted:
        status = current.get(user)
        if status is RequestStatus.ACCEPTED:
            unchanged += 1
        elif status in accept_from:
            changes.append(Change(user, Action.ACCEPT, status))
        elif status is RequestStatus.REJECTED:
            rejected.append(user)
        elif _wire.UserRef.kind_of(user) == "requestId":
            missing.append(user)  # no request by that id: nothing to grant it to
        else:
            changes.append(Change(user, Action.GRANT))
    wanted_set = set(wanted)
    names_requests = any(_wire.UserRef.kind_of(user) == "requestId" for user in wanted)
    action = mode.action
    kept: list[str] = []
    hidden = 0
    for user, status in current.items():
        if status is not RequestStatus.ACCEPTED or user in wanted_set:
            continue
        if not names_requests and _wire.UserRef.kind_of(user) == "requestId":
            hidden += 1  # whose is it? The list names no request: leave it.
        elif action is None:
            kept.append(user)
        else:
            changes.append(Change(user, action, status))
    return AccessPlan(
        repo_id=repo_id,
        repo_type=repo_type,
        source=source,
        remove_mode=mode,
        reason=reason,
        wanted=len(wanted),
        changes=tuple(changes),
        unchanged=unchanged,
        rejected=tuple(rejected),
        kept=tuple(kept),
        missing=tuple(missing),
        hidden=hidden,
        source_hidden=source_hidden,
        reads=reads,
    )


async def apply_plan(
    hub: AccessSession,
    plan: AccessPlan,
    *,
    concurrency: int = 16,
    use_batch: bool = True,
    on_progress: OnProgress | None = None,
    journal: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
) -> BulkReport[Decision]:
    """Run the plan's decisions through the bulk engine; a plan in sync sends nothing."""
    return await hub.start_bulk(
        plan.decisions(),
        concurrency=concurrency,
        use_batch=use_batch,
        on_progress=on_progress,
        journal=journal,
        dry_run=dry_run,
    )
