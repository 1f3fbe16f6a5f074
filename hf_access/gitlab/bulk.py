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

How each item ends (``Outcome``), with the semantics of :mod:`hf_access.bulk`:

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

import os
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, TypedDict

import attrs

from .._engine import Engine, Job, Settled
from ..bulk_models import BulkProgress, Outcome, PlannedCall
from ..errors import RequestNotFoundError
from . import _wire
from ._wire import Target, UserArg
from .bulk_models import GitLabAction, GitLabDecision
from .errors import AlreadyMemberError
from .models import AccessLevel, GitLabAccessRequest, GitLabMember, GitLabUser, TargetKind

if TYPE_CHECKING:
    from .session import GitLabSession

__all__ = ["GitLabBulkOptions", "GitLabBulkRun", "ProgressCallback", "decisions_for"]

ProgressCallback = Callable[[BulkProgress[GitLabDecision]], None]


class GitLabBulkOptions(TypedDict, total=False):
    """The options of every GitLab bulk method (see :meth:`GitLabSession.start_bulk`)."""

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


def _planned(d: GitLabDecision) -> PlannedCall:
    """What a dry run shows: the path, with ``{name}`` where a user name is still to resolve."""
    user = str(d.user) if isinstance(d.user, int) else f"{{{d.user}}}"
    base = f"/{d.kind.plural}/{_wire.encode_target(d.target)}/access_requests/{user}"
    if d.action is GitLabAction.APPROVE:
        level = int(d.access_level or AccessLevel.DEVELOPER)
        return PlannedCall("PUT", f"{base}/approve?access_level={level}", 1)
    return PlannedCall("DELETE", base, 1)


@attrs.define
class _GitLabExecutor:
    """GitLab has no batch route: one call per decision, after resolving a user name."""

    session: GitLabSession
    server: str = "GitLab"

    def scope(self, decision: GitLabDecision) -> Hashable:
        return (decision.kind, decision.target)

    def jobs(self, decisions: Sequence[GitLabDecision], todo: list[int]) -> list[Job]:
        return [Job([index]) for index in todo]

    def plan(self, decisions: Sequence[GitLabDecision], job: Job) -> PlannedCall:
        return _planned(decisions[job.indices[0]])

    async def prepare(
        self, decisions: Sequence[GitLabDecision], todo: list[int]
    ) -> dict[int, Settled]:
        return {}

    async def execute(
        self, decisions: Sequence[GitLabDecision], job: Job
    ) -> list[Settled] | list[Job]:
        d = decisions[job.indices[0]]
        user_id = d.user if isinstance(d.user, int) else None
        if user_id is None:
            await self.session.load_requesters(d.target, kind=d.kind)
            user_id = await self.session.resolve_user(d.target, d.user, kind=d.kind)
        if d.action is GitLabAction.APPROVE:
            return [await self._approve(d, user_id)]
        return [await self._deny(d, user_id)]

    async def _approve(self, d: GitLabDecision, user_id: int) -> Settled:
        level = d.access_level or AccessLevel.DEVELOPER
        try:
            member = await self.session.approve(d.target, user_id, kind=d.kind, access_level=level)
        except (RequestNotFoundError, AlreadyMemberError) as exc:
            current = await self.session.get_member(d.target, user_id, kind=d.kind)
            if current is None:
                return Settled(Outcome.FAILED, exc, "no access request, and not a member")
            return Settled(
                Outcome.UNCHANGED, None, f"already a member ({current.access_level.label})"
            )
        return Settled(Outcome.DONE, None, f"approved as {member.access_level.label}")

    async def _deny(self, d: GitLabDecision, user_id: int) -> Settled:
        try:
            await self.session.deny(d.target, user_id, kind=d.kind)
        except RequestNotFoundError as exc:
            current = await self.session.get_member(d.target, user_id, kind=d.kind)
            if current is None:
                return Settled(Outcome.UNCHANGED, None, "no pending request, and not a member")
            detail = f"no pending request: already a member ({current.access_level.label})"
            return Settled(Outcome.FAILED, exc, detail)
        return Settled(Outcome.DONE, None, "request denied")


class GitLabBulkRun(Engine[GitLabDecision]):
    """One bulk run over GitLab decisions, on the engine the Hub's runs use.

    Create it with :meth:`GitLabSession.start_bulk` (``approve_many`` / ``deny_many`` do it
    for you). Every decision is checked here, before anything is sent. Await it once.
    """

    def __init__(
        self,
        session: GitLabSession,
        decisions: Iterable[GitLabDecision],
        *,
        concurrency: int = 8,
        on_progress: ProgressCallback | None = None,
        journal: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            _check(decisions),
            _GitLabExecutor(session),
            concurrency=concurrency,
            on_progress=on_progress,
            journal=journal,
            dry_run=dry_run,
            clock=clock,
        )
