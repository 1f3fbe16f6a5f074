"""Approve or deny many GitLab access requests: bounded, rate-limited, resumable.

GitLab has no batch endpoint, so every decision is one call (plus a look-up where needed),
all through the session's shared limiter. Outcomes come back in input order::

    report = await gl.approve_many(["acme/app", "acme/lib"], ["alice", 42], access_level=20)
    print(report.summary())

or keep the run to read the report so far after a cancellation::

    run = gl.start_bulk(decisions)
    try:
        report = await run
    except asyncio.CancelledError:
        print(run.report().summary())
        raise

How each item ends (``Outcome``), with the semantics of :mod:`hf_access.hub.bulk`:

* approve: ``done`` on GitLab's 201. A 404 (no request) or a 409 is resolved by reading the
  membership (``GET .../members/all/:user_id``): a member is ``unchanged`` (at whatever level
  it has; the detail names it), anyone else ``failed`` with
  :class:`~hf_access.RequestNotFoundError`.
* deny: ``done`` on 204. On a 404, a user who is neither requesting nor a member is
  ``unchanged`` (the state a deny leaves); a member is ``failed`` (deny removes no member).
* 401, 403, a missing token and a 429 beyond the retry policy stop the run: what was not
  started is ``not_attempted`` and ``report.stopped`` says why.
* A project or group that does not exist fails its remaining items without more calls.
* Duplicates are decided once and share the outcome; approve and deny of one user on one
  target in the same run is a ValueError, raised before anything is sent.
* ``journal``: one JSON line per finished item; a rerun skips what is done or unchanged.
* ``dry_run``: nothing is sent; ``report.plan`` lists the calls.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypedDict

import attrs

from ..core.convert import parse_enum
from ..core.engine import Engine, Job, Settled
from ..core.errors import HfAccessError, RequestNotFoundError
from ..core.outcomes import BulkProgress, BulkReport, ItemOutcome, Outcome
from ..core.sansio import Call
from ..core.transport import Response, Transport, counting
from . import wire as _wire
from ._lookups import Directory
from .convert import decode_member
from .errors import AlreadyMemberError
from .models import AccessLevel, GitLabAccessRequest, GitLabMember, GitLabUser, TargetKind
from .wire import Target, UserArg

__all__ = [
    "GitLabAction",
    "GitLabBulkOptions",
    "GitLabBulkProgress",
    "GitLabBulkReport",
    "GitLabBulkRun",
    "GitLabDecision",
    "GitLabItemOutcome",
    "ProgressCallback",
    "decisions_for",
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
            object.__setattr__(self, "access_level", _wire.DEFAULT_ACCESS_LEVEL)
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


ProgressCallback = Callable[[BulkProgress[GitLabDecision]], None]


class GitLabBulkOptions(TypedDict, total=False):
    """The options of every GitLab bulk method, declared once (defaults in brackets).

    - ``concurrency`` [8]: calls in flight at once (all through the session's limiter).
    - ``on_progress`` [None]: called with a progress snapshot after every item.
    - ``journal`` [None]: a JSON Lines file; a rerun with the same file skips what is done.
    - ``dry_run`` [False]: send nothing; the report's ``plan`` lists the calls.
    """

    concurrency: int
    on_progress: ProgressCallback | None
    journal: str | os.PathLike[str] | None
    dry_run: bool


KindArg = TargetKind | str
_SINGLE_USER = (str, int, GitLabAccessRequest, GitLabMember, GitLabUser)


def decisions_for(
    targets: Target | Iterable[Target],
    users: UserArg | Iterable[UserArg],
    action: GitLabAction | str,
    *,
    kind: KindArg = TargetKind.PROJECT,
    access_level: AccessLevel | int | str | None = None,
) -> list[GitLabDecision]:
    """Every (target, user) pair as a decision, targets first (ValueError on a bad one).

    >>> [d.key for d in decisions_for(["a/b", 7], ["eve"], "deny")]
    ['gitlab:project:a/b|eve|deny', 'gitlab:project:7|eve|deny']
    """
    target_list = [targets] if isinstance(targets, str | int) else list(targets)
    user_list = [users] if isinstance(users, _SINGLE_USER) else list(users)
    return [
        GitLabDecision(t, u, action, kind=kind, access_level=access_level)
        for t in target_list
        for u in user_list
    ]


def _check(decisions: Iterable[GitLabDecision]) -> list[GitLabDecision]:
    """Every item a GitLabDecision, and no user both approved and denied on one target."""
    out = list(decisions)
    subjects: dict[str, GitLabAction] = {}
    for index, d in enumerate(out):
        if not isinstance(d, GitLabDecision):
            raise ValueError(f"decision {index}: a {type(d).__name__}, not a GitLabDecision")
        if subjects.setdefault(d.subject, d.action) is not d.action:
            raise ValueError(
                f"decision {index}: {d.user_label} on {d.target} is asked to approve and to deny"
            )
    return out


_LOST = "its answer was lost (settled by reading the state)"
_UNKNOWN = (
    "its answer was lost and the state could not be read: it may have been applied "
    "(a rerun settles it)"
)


def _user_id(d: GitLabDecision) -> int | None:
    return d.user if isinstance(d.user, int) else None


def _call(d: GitLabDecision, user: _wire.UserSlot) -> Call:
    """The call for one decision, built by the wire; a dry run passes a name it could not
    resolve without sending anything as an :class:`~hf_access.gitlab.wire.UnresolvedUser`."""
    if d.action is GitLabAction.APPROVE:
        level = d.access_level or _wire.DEFAULT_ACCESS_LEVEL
        return _wire.approve_call(d.kind, d.target, user, level)
    return _wire.deny_call(d.kind, d.target, user)


@attrs.define
class _GitLabExecutor:
    """GitLab has no batch route: one call per decision, after resolving a user name."""

    transport: Transport
    directory: Directory
    server: str = "GitLab"

    def scope(self, decision: GitLabDecision) -> Hashable:
        return (decision.kind, decision.target)

    def jobs(self, decisions: Sequence[GitLabDecision], todo: list[int]) -> list[Job]:
        return [Job([index]) for index in todo]

    def call(self, decisions: Sequence[GitLabDecision], job: Job) -> Call:
        d = decisions[job.indices[0]]
        user_id = _user_id(d)
        if user_id is None:
            known = self.directory.names.lookup((d.kind, d.target), str(d.user))
            return _call(d, known if known is not None else _wire.UnresolvedUser(str(d.user)))
        return _call(d, user_id)

    async def prepare(
        self, decisions: Sequence[GitLabDecision], todo: list[int]
    ) -> dict[int, Settled]:
        return {}

    async def execute(
        self, decisions: Sequence[GitLabDecision], job: Job
    ) -> list[Settled] | list[Job]:
        d = decisions[job.indices[0]]
        user_id = _user_id(d)
        if user_id is None:
            await self.directory.load_requesters(d.kind, d.target)
            user_id = await self.directory.resolve_user(d.kind, d.target, d.user)
        if d.action is GitLabAction.APPROVE:
            return [await self._approve(d, user_id)]
        return [await self._deny(d, user_id)]

    async def _send(self, call: Call) -> tuple[Response | HfAccessError, bool]:
        """The answer or the error, and whether an attempt lost its answer (it may have
        landed: GitLab then answers the retry as if it was already done)."""
        with counting() as counter:
            try:
                return await self.transport.send(call), counter.unanswered > 0
            except HfAccessError as exc:
                return exc, counter.unanswered > 0

    async def _approve(self, d: GitLabDecision, user_id: int) -> Settled:
        answer, lost = await self._send(_call(d, user_id))
        if isinstance(answer, RequestNotFoundError | AlreadyMemberError):
            current = await self.directory.member(d.kind, d.target, user_id)
            if current is None:
                return Settled(Outcome.FAILED, answer, "no access request, and not a member")
            level = current.access_level.label
            if lost:
                return Settled(Outcome.DONE, None, f"approved as {level}; {_LOST}")
            return Settled(Outcome.UNCHANGED, None, f"already a member ({level})")
        if isinstance(answer, HfAccessError):
            if lost:
                try:
                    current = await self.directory.member(d.kind, d.target, user_id)
                except HfAccessError:  # cannot tell: say so rather than guess
                    return Settled(Outcome.FAILED, answer, _UNKNOWN)
                if current is not None:
                    level = current.access_level.label
                    return Settled(Outcome.DONE, None, f"approved as {level}; {_LOST}")
            raise answer
        member = decode_member(answer.json())
        return Settled(Outcome.DONE, None, f"approved as {member.access_level.label}")

    async def _deny(self, d: GitLabDecision, user_id: int) -> Settled:
        answer, lost = await self._send(_call(d, user_id))
        if isinstance(answer, RequestNotFoundError):
            current = await self.directory.member(d.kind, d.target, user_id)
            if current is None:
                if lost:
                    return Settled(Outcome.DONE, None, f"request denied; {_LOST}")
                return Settled(Outcome.UNCHANGED, None, "no pending request, and not a member")
            detail = f"no pending request: already a member ({current.access_level.label})"
            return Settled(Outcome.FAILED, answer, detail)
        if isinstance(answer, HfAccessError):
            if lost:
                gone = await self._request_gone(d, user_id)
                if gone:
                    return Settled(Outcome.DONE, None, f"request denied; {_LOST}")
                if gone is None:  # cannot tell: say so rather than guess
                    return Settled(Outcome.FAILED, answer, _UNKNOWN)
            raise answer
        return Settled(Outcome.DONE, None, "request denied")

    async def _request_gone(self, d: GitLabDecision, user_id: int) -> bool | None:
        """After a lost answer: is the request no longer pending (and the user no member)?
        None when the state could not be read."""
        try:
            async for request in self.directory.requests(d.kind, d.target, _wire.MAX_PAGE_SIZE):
                if request.id == user_id:
                    return False
            return await self.directory.member(d.kind, d.target, user_id) is None
        except HfAccessError:
            return None


class GitLabBulkRun(Engine[GitLabDecision]):
    """One bulk run over GitLab decisions, on the engine the Hub's runs use.

    Create it with :meth:`GitLabSession.start_bulk` (``approve_many`` / ``deny_many`` do it
    for you). Every decision is checked here, before anything is sent. Await it once.
    """

    def __init__(
        self,
        transport: Transport,
        directory: Directory,
        decisions: Iterable[GitLabDecision],
        *,
        clock: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> None:
        opts: GitLabBulkOptions = {**_DEFAULTS, **options}  # type: ignore[typeddict-item]
        unknown = set(opts) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown bulk option(s): {', '.join(sorted(unknown))}")
        super().__init__(
            _check(decisions),
            _GitLabExecutor(transport, directory),
            concurrency=opts["concurrency"],
            on_progress=opts["on_progress"],
            journal=opts["journal"],
            dry_run=opts["dry_run"],
            clock=clock,
            kind="gitlab",
        )
        if not opts["dry_run"]:
            transport.make_room(opts["concurrency"])  # the pool sized from the concurrency


_DEFAULTS: GitLabBulkOptions = {
    "concurrency": 8,
    "on_progress": None,
    "journal": None,
    "dry_run": False,
}
