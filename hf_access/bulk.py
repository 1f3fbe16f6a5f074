"""The bulk engine: many decisions, over many users and repos, at the Hub's limits.

A :class:`BulkRun` takes decisions (repo, user, action, reason), checks them all before
sending anything, and then:

- groups accept / reject / cancel / reset per repo, action and reason into batch calls of up to
  100 users (one handle call per user where the Hub has no batch route, remembered per
  session); grant has no batch route and goes one call per user;
- runs ``concurrency`` calls at a time, every one through the session's shared rate limiter;
- reports one :class:`~hf_access.ItemOutcome` per input decision, in input order: done,
  unchanged (the user already was in the wanted state), failed (with the typed error) or not
  attempted (and why);
- stops early on 401/403 (nothing after that could succeed), decides duplicates once, and
  appends each finished item to a journal so that an interrupted run can be resumed.

Use it through the session::

    report = await hub.accept_many("org/model", ["alice", "bob"], journal="accept.jsonl")
    print(report.summary())

or keep the run object to read a partial report after a cancellation::

    run = hub.start_bulk(decisions)
    try:
        report = await run
    except asyncio.CancelledError:
        print(run.report().summary())
        raise
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import attrs

from . import _wire
from ._engine import Engine, Job, Settled
from .bulk_models import Action, BulkProgress, Decision, Outcome, PlannedCall
from .errors import (
    AlreadyHasAccessError,
    APIStatusError,
    HfAccessError,
    NotFoundError,
    RequestNotFoundError,
    UserNotFoundError,
)
from .models import RepoType

if TYPE_CHECKING:
    from .session import AccessSession

__all__ = ["BulkOptions", "BulkRun", "DecisionLike", "OnProgress", "normalize_decisions"]

DecisionLike = Decision | tuple[Any, ...]
OnProgress = Callable[[BulkProgress[Decision]], None]


class BulkOptions(TypedDict, total=False):
    """The options of every bulk method (see :meth:`AccessSession.start_bulk`)."""

    concurrency: int
    use_batch: bool
    precheck: bool
    on_progress: OnProgress | None
    journal: str | os.PathLike[str] | None
    dry_run: bool


def normalize_decisions(decisions: Iterable[DecisionLike]) -> list[Decision]:
    """Check every decision before anything is sent; ValueError names the first bad one.

    Tuples ``(repo_id, user, action[, reason])`` are accepted. Two different actions for the
    same user on the same repo are a conflict, not something to guess about.
    """
    out: list[Decision] = []
    actions: dict[tuple[RepoType, str, str], Action] = {}
    for index, raw in enumerate(decisions):
        try:
            decision = raw if isinstance(raw, Decision) else Decision(*raw)
            _wire.validate_repo_id(decision.repo_id)
            _wire.target_of(decision.user, allow_request_id=decision.action is not Action.GRANT)
            _wire.validate_reason(decision.reason)
            if decision.reason is not None and not decision.action.takes_reason:
                raise ValueError(f"{decision.action.value} takes no reason")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"decision {index}: {exc}") from None
        who = (decision.repo_type, decision.repo_id, decision.user)
        seen = actions.setdefault(who, decision.action)
        if seen is not decision.action:
            raise ValueError(
                f"decision {index}: {decision.user} on {decision.repo_id} is asked to "
                f"{seen.value} and to {decision.action.value}"
            )
        out.append(decision)
    return out


def _is_missing_route(exc: HfAccessError) -> bool:
    """A 404 that names nothing (no repo, user or request) or a 405: the route does not exist."""
    if isinstance(exc, APIStatusError) and exc.status == 405:
        return True
    return type(exc) is NotFoundError


def _batch_item_error(code: str | None, target: str) -> HfAccessError:
    if code == "user_not_found":
        return UserNotFoundError("User not found", status=404, error_code=code)
    if code == "request_not_found":
        return RequestNotFoundError(
            f"No access request found for {target}", status=404, error_code=code
        )
    return APIStatusError(f"batch item failed: {code}", status=400, error_code=code)


@attrs.define
class _HubExecutor:
    """How Hub decisions become calls: batches of 100, or one handle/grant call per user."""

    hub: AccessSession
    use_batch: bool
    precheck: bool
    server: str = "the Hub"

    def scope(self, decision: Decision) -> Hashable:
        return (decision.repo_type, decision.repo_id)

    def _batchable(self, decision: Decision) -> bool:
        return (
            self.use_batch
            and decision.action is not Action.GRANT
            and not self.hub._batch_unsupported
        )

    def jobs(self, decisions: Sequence[Decision], todo: list[int]) -> list[Job]:
        groups: dict[tuple[Any, ...], list[int]] = {}
        jobs: list[Job] = []
        for index in todo:
            d = decisions[index]
            if self._batchable(d):
                groups.setdefault((d.repo_type, d.repo_id, d.action, d.reason), []).append(index)
            else:
                jobs.append(Job([index]))
        for indices in groups.values():
            for start in range(0, len(indices), _wire.MAX_BATCH):
                jobs.append(Job(indices[start : start + _wire.MAX_BATCH], batch=True))
        jobs.sort(key=lambda job: job.indices[0])
        return jobs

    def plan(self, decisions: Sequence[Decision], job: Job) -> PlannedCall:
        first = decisions[job.indices[0]]
        status = first.action.target_status
        body: dict[str, object]
        if job.batch:
            action = "batch"
            body = {
                **_wire.decision_body(status, first.reason),
                "requests": [_wire.target_of(decisions[i].user).body() for i in job.indices],
            }
        elif first.action is Action.GRANT:
            action = "grant"
            body = dict(_wire.target_of(first.user, allow_request_id=False).body())
        else:
            action = "handle"
            body = {
                **_wire.target_of(first.user).body(),
                **_wire.decision_body(status, first.reason),
            }
        path = _wire.requests_path(first.repo_type, first.repo_id, action)
        return PlannedCall("POST", path, len(job.indices), body)

    async def prepare(self, decisions: Sequence[Decision], todo: list[int]) -> dict[int, Settled]:
        """With ``precheck``: read each repo's target list once, settle the users already on it."""
        if not self.precheck:
            return {}
        listed: dict[tuple[Any, ...], set[str]] = {}
        for index in todo:
            d = decisions[index]
            listed.setdefault((d.repo_type, d.repo_id, d.action.target_status), set())
        for (repo_type, repo_id, status), names in listed.items():
            try:
                async for request in self.hub.iter_requests(repo_id, status, repo_type=repo_type):
                    names.add(request.username or f"request:{request.request_id}")
            except HfAccessError:
                names.clear()  # could not read it: decide every item normally
        settled: dict[int, Settled] = {}
        for index in todo:
            d = decisions[index]
            status = d.action.target_status
            if d.user in listed[(d.repo_type, d.repo_id, status)]:
                settled[index] = Settled(Outcome.UNCHANGED, None, f"already {status.value}")
        return settled

    async def execute(self, decisions: Sequence[Decision], job: Job) -> list[Settled] | list[Job]:
        if job.batch and self.hub._batch_unsupported:
            return [Job([i]) for i in job.indices]
        if job.batch:
            return await self._batch(decisions, job)
        return [await self._single(decisions[job.indices[0]])]

    async def _batch(self, decisions: Sequence[Decision], job: Job) -> list[Settled] | list[Job]:
        first = decisions[job.indices[0]]
        try:
            results = await self.hub.batch(
                first.repo_id,
                first.action.target_status,
                [decisions[i].user for i in job.indices],
                repo_type=first.repo_type,
                reason=first.reason,
            )
        except HfAccessError as exc:
            if not _is_missing_route(exc):
                raise
            # An older Hub without the batch route: one handle call per user from now on.
            self.hub._batch_unsupported = True
            return [Job([i]) for i in job.indices]
        return [
            Settled(Outcome.DONE)
            if result.ok
            else Settled(Outcome.FAILED, _batch_item_error(result.error, result.target))
            for result in results
        ]

    async def _single(self, d: Decision) -> Settled:
        try:
            if d.action is Action.GRANT:
                await self.hub.grant(d.repo_id, d.user, repo_type=d.repo_type)
            else:
                await self.hub.handle(
                    d.repo_id,
                    d.user,
                    d.action.target_status,
                    repo_type=d.repo_type,
                    reason=d.reason,
                )
        except AlreadyHasAccessError:
            return Settled(Outcome.UNCHANGED, None, "already has access")
        except RequestNotFoundError as exc:
            # The Hub's 404 means "no request" *or* "already in that status": ask the list.
            if await self._already_there(d):
                return Settled(Outcome.UNCHANGED, None, f"already {d.action.target_status.value}")
            return Settled(Outcome.FAILED, exc)
        return Settled(Outcome.DONE)

    async def _already_there(self, d: Decision) -> bool:
        """Is ``d.user`` on the list of the status the decision wants? (searched by name)"""
        if d.user.startswith(("request:", "user-id:")):
            return False
        try:
            async for request in self.hub.iter_requests(
                d.repo_id, d.action.target_status, repo_type=d.repo_type, search=d.user
            ):
                if request.username == d.user:
                    return True
        except HfAccessError:
            return False
        return False


class BulkRun(Engine[Decision]):
    """One bulk run over Hub decisions. Await it for the :class:`~hf_access.BulkReport`.

    Create it with :meth:`AccessSession.start_bulk` (the ``*_many`` methods do it for you).
    Every decision is checked here, before anything is sent. It runs once.
    """

    def __init__(
        self,
        hub: AccessSession,
        decisions: Iterable[DecisionLike],
        *,
        concurrency: int = 16,
        use_batch: bool = True,
        precheck: bool = False,
        on_progress: OnProgress | None = None,
        journal: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            normalize_decisions(decisions),
            _HubExecutor(hub, use_batch, precheck),
            concurrency=concurrency,
            on_progress=on_progress,
            journal=journal,
            dry_run=dry_run,
            clock=clock,
        )
