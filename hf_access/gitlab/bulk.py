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

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from .._http import CallCounter, counting
from ..bulk_models import Outcome, PlannedCall
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    HfAccessError,
    PermissionDeniedError,
    RateLimitError,
    RepoNotFoundError,
    RequestNotFoundError,
)
from . import _wire
from ._journal import GitLabJournal
from ._wire import Target, UserArg
from .bulk_models import (
    GitLabAction,
    GitLabBulkProgress,
    GitLabBulkReport,
    GitLabDecision,
    GitLabItemOutcome,
)
from .errors import AlreadyMemberError
from .models import AccessLevel, GitLabAccessRequest, GitLabMember, GitLabUser, TargetKind

if TYPE_CHECKING:
    from .session import GitLabSession

__all__ = ["GitLabBulkRun", "ProgressCallback", "decisions_for"]

ProgressCallback = Callable[[GitLabBulkProgress], None]
KindArg = TargetKind | str
_SINGLE_USER = (str, int, GitLabAccessRequest, GitLabMember, GitLabUser)
_FINAL = (Outcome.DONE, Outcome.UNCHANGED)
_Result = tuple[Outcome, HfAccessError | None, str | None]


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


class GitLabBulkRun:
    """One bulk run over GitLab decisions. Await it for the report; it runs once.

    Create it with :meth:`GitLabSession.start_bulk` (``approve_many`` / ``deny_many`` do it
    for you). Every decision is checked here, before anything is sent.
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
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError("concurrency must be a positive integer")
        self._session = session
        self._decisions = list(decisions)
        subjects: dict[str, GitLabAction] = {}
        for index, d in enumerate(self._decisions):
            if not isinstance(d, GitLabDecision):
                raise ValueError(f"decision {index}: a {type(d).__name__}, not a GitLabDecision")
            if subjects.setdefault(d.subject, d.action) is not d.action:
                raise ValueError(
                    f"decision {index}: {d.user_label} on {d.target} is asked to approve and "
                    "to deny"
                )
        self._concurrency = concurrency
        self._on_progress = on_progress
        self._journal = GitLabJournal(journal) if journal is not None else None
        self._dry_run = dry_run
        self._clock = clock
        self._outcomes: list[GitLabItemOutcome | None] = [None] * len(self._decisions)
        self._dupes: dict[int, list[int]] = {}
        self._counts = dict.fromkeys(Outcome, 0)
        self._in_flight: set[int] = set()
        self._missing: dict[tuple[TargetKind, str], tuple[int, HfAccessError]] = {}
        self._counter = CallCounter()
        self._started: float | None = None
        self._ended: float | None = None
        self._stopped: str | None = None
        self._plan: tuple[PlannedCall, ...] = ()
        self._state = "new"

    @property
    def decisions(self) -> list[GitLabDecision]:
        return list(self._decisions)

    def __await__(self) -> Generator[Any, None, GitLabBulkReport]:
        return self.run().__await__()

    async def run(self) -> GitLabBulkReport:
        """Run the decisions and return the report (also what awaiting the run does)."""
        if self._state != "new":
            raise RuntimeError("a GitLabBulkRun runs once; start a new one (the journal resumes)")
        self._state = "running"
        self._started = self._clock()
        todo = self._prepare()
        if self._dry_run:
            self._plan = tuple(_planned(self._decisions[i]) for i in todo)
            self._stopped = "dry run"
            return self._finish()
        try:
            with counting() as counter:
                self._counter = counter
                if self._journal is not None:
                    self._journal.open()
                queue = deque(todo)
                workers = [
                    asyncio.create_task(self._worker(queue))
                    for _ in range(min(self._concurrency, len(queue)))
                ]
                try:
                    await asyncio.gather(*workers)
                except BaseException:
                    for worker in workers:
                        worker.cancel()
                    await asyncio.gather(*workers, return_exceptions=True)
                    raise
        except asyncio.CancelledError:
            self._stopped = "cancelled"
            self._finish()
            raise
        finally:
            if self._journal is not None:
                self._journal.close()
        return self._finish()

    def report(self) -> GitLabBulkReport:
        """The report so far: finished items as they ended, the others not attempted."""
        items = [
            item
            if item is not None
            else GitLabItemOutcome(
                i, self._decisions[i], Outcome.NOT_ATTEMPTED, detail=self._unfinished(i)
            )
            for i, item in enumerate(self._outcomes)
        ]
        end = self._ended if self._ended is not None else self._clock()
        return GitLabBulkReport(
            items=tuple(items),
            calls=self._counter.calls,
            elapsed=0.0 if self._started is None else end - self._started,
            stopped=self._stopped,
            plan=self._plan,
        )

    # -- preparation and workers ----------------------------------------------------------

    def _prepare(self) -> list[int]:
        """De-duplicate, settle what the journal already holds, return what is left to do."""
        recorded = self._journal.load() if self._journal is not None else {}
        first: dict[str, int] = {}
        for index, decision in enumerate(self._decisions):
            if decision.key in first:
                self._dupes.setdefault(first[decision.key], []).append(index)
            else:
                first[decision.key] = index
        # Settled only now that every duplicate is known, so they mirror the journal too.
        todo: list[int] = []
        for key, index in first.items():
            entry = recorded.get(key)
            if entry is not None and entry[0] in _FINAL:
                detail = entry[1] or "settled by an earlier run (journal)"
                self._settle(index, entry[0], detail=detail, from_journal=True, record=False)
            else:
                todo.append(index)
        return todo

    async def _worker(self, queue: deque[int]) -> None:
        while queue and self._stopped is None:
            index = queue.popleft()
            self._in_flight.add(index)
            await self._decide(index)
            # Only now: an item cancelled mid-call stays "in flight" for the report.
            self._in_flight.discard(index)

    async def _decide(self, index: int) -> None:
        d = self._decisions[index]
        where = (d.kind, d.target)
        if where in self._missing:
            first, missing = self._missing[where]
            why = f"{d.kind.value} not found (item {first})"
            self._settle(index, Outcome.FAILED, error=missing, detail=why)
            return
        user_id: int | None = d.user if isinstance(d.user, int) else None
        with counting() as counter:
            try:
                if user_id is None:
                    await self._session.load_requesters(d.target, kind=d.kind)
                    user_id = await self._session.resolve_user(d.target, d.user, kind=d.kind)
                if d.action is GitLabAction.APPROVE:
                    outcome, error, detail = await self._approve(d, user_id)
                else:
                    outcome, error, detail = await self._deny(d, user_id)
            except HfAccessError as exc:
                self._on_error(index, exc)
                outcome, error, detail = Outcome.FAILED, exc, None
        self._settle(
            index, outcome, error=error, detail=detail, attempts=counter.calls, user_id=user_id
        )

    async def _approve(self, d: GitLabDecision, user_id: int) -> _Result:
        level = d.access_level or AccessLevel.DEVELOPER
        try:
            member = await self._session.approve(d.target, user_id, kind=d.kind, access_level=level)
        except (RequestNotFoundError, AlreadyMemberError) as exc:
            current = await self._session.get_member(d.target, user_id, kind=d.kind)
            if current is None:
                return Outcome.FAILED, exc, "no access request, and not a member"
            return Outcome.UNCHANGED, None, f"already a member ({current.access_level.label})"
        return Outcome.DONE, None, f"approved as {member.access_level.label}"

    async def _deny(self, d: GitLabDecision, user_id: int) -> _Result:
        try:
            await self._session.deny(d.target, user_id, kind=d.kind)
        except RequestNotFoundError as exc:
            current = await self._session.get_member(d.target, user_id, kind=d.kind)
            if current is None:
                return Outcome.UNCHANGED, None, "no pending request, and not a member"
            detail = f"no pending request: already a member ({current.access_level.label})"
            return Outcome.FAILED, exc, detail
        return Outcome.DONE, None, "request denied"

    def _on_error(self, index: int, exc: HfAccessError) -> None:
        d = self._decisions[index]
        if isinstance(exc, AuthenticationError | PermissionDeniedError | ConfigurationError):
            self._stop(f"{type(exc).__name__}: {exc}")
        elif isinstance(exc, RateLimitError):
            wait = f"; GitLab asks to wait {exc.retry_after:.0f}s" if exc.retry_after else ""
            self._stop(f"rate limited{wait}")
        elif isinstance(exc, RepoNotFoundError):
            self._missing.setdefault((d.kind, d.target), (index, exc))

    def _stop(self, reason: str) -> None:
        if self._stopped is None:
            self._stopped = reason

    # -- outcomes -------------------------------------------------------------------------

    def _settle(
        self,
        index: int,
        outcome: Outcome,
        *,
        error: HfAccessError | None = None,
        detail: str | None = None,
        attempts: int = 0,
        from_journal: bool = False,
        record: bool = True,
        user_id: int | None = None,
    ) -> None:
        item = GitLabItemOutcome(
            index,
            self._decisions[index],
            outcome,
            error=error,
            detail=detail,
            attempts=attempts,
            from_journal=from_journal,
            user_id=user_id,
        )
        self._outcomes[index] = item
        if record and self._journal is not None:
            self._journal.record(item)
        self._count(item)
        for dup in self._dupes.get(index, ()):
            text = f"duplicate of item {index}" + (f": {detail}" if detail else "")
            copy = attrs.evolve(
                item, index=dup, decision=self._decisions[dup], attempts=0, detail=text
            )
            self._outcomes[dup] = copy
            self._count(copy)

    def _count(self, item: GitLabItemOutcome) -> None:
        self._counts[item.outcome] += 1
        if self._on_progress is None:
            return
        self._on_progress(
            GitLabBulkProgress(
                total=len(self._decisions),
                finished=sum(self._counts.values()),
                done=self._counts[Outcome.DONE],
                unchanged=self._counts[Outcome.UNCHANGED],
                failed=self._counts[Outcome.FAILED],
                not_attempted=self._counts[Outcome.NOT_ATTEMPTED],
                calls=self._counter.calls,
                last=item,
            )
        )

    def _finish(self) -> GitLabBulkReport:
        self._ended = self._clock()
        self._state = "finished"
        return self.report()

    def _unfinished(self, index: int) -> str:
        if self._stopped == "cancelled" and index in self._in_flight:
            return "cancelled while its call was in flight: it may have been applied; rerun to settle it"
        if self._stopped == "dry run":
            return "dry run"
        if self._stopped is not None:
            return f"run stopped: {self._stopped}"
        return "not finished" if self._state != "finished" else "not attempted"


def _planned(d: GitLabDecision) -> PlannedCall:
    """What a dry run shows: the path, with ``{name}`` where a user name is still to resolve."""
    user = str(d.user) if isinstance(d.user, int) else f"{{{d.user}}}"
    base = f"/{d.kind.plural}/{_wire.encode_target(d.target)}/access_requests/{user}"
    if d.action is GitLabAction.APPROVE:
        level = int(d.access_level or AccessLevel.DEVELOPER)
        return PlannedCall("PUT", f"{base}/approve?access_level={level}", 1)
    return PlannedCall("DELETE", base, 1)
