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

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from . import _wire
from ._http import CallCounter, counting
from .bulk_models import (
    Action,
    BulkProgress,
    BulkReport,
    Decision,
    ItemOutcome,
    Outcome,
    PlannedCall,
)
from .errors import (
    AlreadyHasAccessError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    HfAccessError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RepoNotFoundError,
    RequestNotFoundError,
    UserNotFoundError,
)
from .journal import Journal
from .models import RepoType

if TYPE_CHECKING:
    from .session import AccessSession

__all__ = ["BulkRun", "DecisionLike", "normalize_decisions"]

DecisionLike = Decision | tuple[Any, ...]
OnProgress = Callable[[BulkProgress], None]

_FINAL = (Outcome.DONE, Outcome.UNCHANGED)


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


@attrs.define
class _Job:
    indices: list[int]
    batch: bool


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


class BulkRun:
    """One bulk run. Await it for the :class:`~hf_access.BulkReport`; it runs once.

    Create it with :meth:`AccessSession.start_bulk` (the ``*_many`` methods do it for you).
    Arguments are checked here, before anything is sent.
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
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError("concurrency must be a positive integer")
        self._hub = hub
        self._decisions = normalize_decisions(decisions)
        self._concurrency = concurrency
        self._use_batch = use_batch
        self._precheck = precheck
        self._on_progress = on_progress
        self._journal = Journal(journal) if journal is not None else None
        self._dry_run = dry_run
        self._clock = clock
        n = len(self._decisions)
        self._outcomes: list[ItemOutcome | None] = [None] * n
        self._dupes: dict[int, list[int]] = {}
        self._counts = dict.fromkeys(Outcome, 0)
        self._finished = 0
        self._in_flight: set[int] = set()
        self._failed_repos: dict[tuple[RepoType, str], HfAccessError] = {}
        self._counter = CallCounter()
        self._started: float | None = None
        self._ended: float | None = None
        self._stopped: str | None = None
        self._plan: tuple[PlannedCall, ...] = ()
        self._state = "new"
        self._report: BulkReport | None = None

    @property
    def decisions(self) -> list[Decision]:
        return list(self._decisions)

    def __await__(self) -> Generator[Any, None, BulkReport]:
        return self.run().__await__()

    # -- the run --------------------------------------------------------------------------------

    async def run(self) -> BulkReport:
        """Run the decisions and return the report (also what awaiting the run does)."""
        if self._state != "new":
            raise RuntimeError(
                "a BulkRun runs once; start a new one (the journal skips what is done)"
            )
        self._state = "running"
        self._started = self._clock()
        todo = self._prepare()
        if self._dry_run:
            self._plan = tuple(self._planned_calls(todo))
            self._stopped = "dry run"
            return self._finish()
        try:
            with counting() as counter:
                self._counter = counter
                if self._journal is not None:
                    self._journal.open()
                if self._precheck and todo:
                    todo = await self._run_precheck(todo)
                jobs = deque(self._jobs(todo))
                while jobs and self._stopped is None:
                    workers = [
                        asyncio.create_task(self._worker(jobs))
                        for _ in range(min(self._concurrency, len(jobs)))
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

    def report(self) -> BulkReport:
        """The report so far: finished items as they ended, the others not attempted."""
        if self._report is not None:
            return self._report
        return self._build_report()

    # -- preparation ----------------------------------------------------------------------------

    def _prepare(self) -> list[int]:
        """De-duplicate, take what the journal already settled, and return what is left to do."""
        recorded = self._journal.load() if self._journal is not None else {}
        first: dict[str, int] = {}
        todo: list[int] = []
        for index, decision in enumerate(self._decisions):
            key = decision.key
            if key in first:
                self._dupes.setdefault(first[key], []).append(index)
                continue
            first[key] = index
            entry = recorded.get(key)
            if entry is not None and entry.outcome in _FINAL:
                detail = entry.detail or "settled by an earlier run (journal)"
                self._settle(index, entry.outcome, detail=detail, from_journal=True, record=False)
                continue
            todo.append(index)
        return todo

    def _batchable(self, decision: Decision) -> bool:
        return (
            self._use_batch
            and decision.action is not Action.GRANT
            and not self._hub._batch_unsupported
        )

    def _jobs(self, todo: list[int]) -> Iterable[_Job]:
        groups: dict[tuple[Any, ...], list[int]] = {}
        singles: list[_Job] = []
        for index in todo:
            d = self._decisions[index]
            if self._batchable(d):
                key = (d.repo_type, d.repo_id, d.action, d.reason)
                groups.setdefault(key, []).append(index)
            else:
                singles.append(_Job([index], batch=False))
        jobs: list[_Job] = []
        for indices in groups.values():
            for start in range(0, len(indices), _wire.MAX_BATCH):
                jobs.append(_Job(indices[start : start + _wire.MAX_BATCH], batch=True))
        jobs.extend(singles)
        jobs.sort(key=lambda job: job.indices[0])
        return jobs

    def _planned_calls(self, todo: list[int]) -> Iterable[PlannedCall]:
        for job in self._jobs(todo):
            first = self._decisions[job.indices[0]]
            status = first.action.target_status
            if job.batch:
                path = _wire.requests_path(first.repo_type, first.repo_id, "batch")
                body: dict[str, object] = {
                    **_wire.decision_body(status, first.reason),
                    "requests": [
                        _wire.target_of(self._decisions[i].user).body() for i in job.indices
                    ],
                }
            elif first.action is Action.GRANT:
                path = _wire.requests_path(first.repo_type, first.repo_id, "grant")
                body = dict(_wire.target_of(first.user, allow_request_id=False).body())
            else:
                path = _wire.requests_path(first.repo_type, first.repo_id, "handle")
                body = {
                    **_wire.target_of(first.user).body(),
                    **_wire.decision_body(status, first.reason),
                }
            yield PlannedCall("POST", path, len(job.indices), body)

    async def _run_precheck(self, todo: list[int]) -> list[int]:
        """Read each repo's target list once and settle the users already on it."""
        wanted: dict[tuple[RepoType, str, Any], set[str]] = {}
        for index in todo:
            d = self._decisions[index]
            wanted.setdefault((d.repo_type, d.repo_id, d.action.target_status), set())
        for (repo_type, repo_id, status), names in wanted.items():
            try:
                async for request in self._hub.iter_requests(repo_id, status, repo_type=repo_type):
                    names.add(request.username or f"request:{request.request_id}")
            except HfAccessError:
                names.clear()  # could not read it: decide every item normally
        left: list[int] = []
        for index in todo:
            d = self._decisions[index]
            status = d.action.target_status
            if d.user in wanted[(d.repo_type, d.repo_id, status)]:
                self._settle(index, Outcome.UNCHANGED, detail=f"already {status.value}")
            else:
                left.append(index)
        return left

    # -- workers --------------------------------------------------------------------------------

    async def _worker(self, jobs: deque[_Job]) -> None:
        while jobs and self._stopped is None:
            job = jobs.popleft()
            repo = self._repo_of(job)
            if repo in self._failed_repos:
                self._fail(job, self._failed_repos[repo], attempts=0)
                continue
            if job.batch and self._hub._batch_unsupported:
                jobs.extendleft(_Job([i], batch=False) for i in reversed(job.indices))
                continue
            self._in_flight.update(job.indices)
            try:
                if job.batch:
                    await self._run_batch(job, jobs)
                else:
                    await self._run_single(job)
            finally:
                self._in_flight.difference_update(job.indices)

    def _repo_of(self, job: _Job) -> tuple[RepoType, str]:
        d = self._decisions[job.indices[0]]
        return (d.repo_type, d.repo_id)

    async def _run_batch(self, job: _Job, jobs: deque[_Job]) -> None:
        first = self._decisions[job.indices[0]]
        users = [self._decisions[i].user for i in job.indices]
        with counting() as counter:
            try:
                results = await self._hub.batch(
                    first.repo_id,
                    first.action.target_status,
                    users,
                    repo_type=first.repo_type,
                    reason=first.reason,
                )
            except HfAccessError as exc:
                if _is_missing_route(exc):
                    self._hub._batch_unsupported = True
                    jobs.extendleft(_Job([i], batch=False) for i in reversed(job.indices))
                    return
                self._on_error(job, exc, counter.calls)
                return
        for index, result in zip(job.indices, results, strict=True):
            if result.ok:
                self._settle(index, Outcome.DONE, attempts=counter.calls)
            else:
                error = _batch_item_error(result.error, result.target)
                self._settle(index, Outcome.FAILED, error=error, attempts=counter.calls)

    async def _run_single(self, job: _Job) -> None:
        index = job.indices[0]
        d = self._decisions[index]
        with counting() as counter:
            try:
                if d.action is Action.GRANT:
                    await self._hub.grant(d.repo_id, d.user, repo_type=d.repo_type)
                else:
                    await self._hub.handle(
                        d.repo_id,
                        d.user,
                        d.action.target_status,
                        repo_type=d.repo_type,
                        reason=d.reason,
                    )
            except AlreadyHasAccessError:
                self._settle(
                    index, Outcome.UNCHANGED, detail="already has access", attempts=counter.calls
                )
                return
            except RequestNotFoundError as exc:
                # The Hub's 404 means "no request" *or* "already in that status": ask the list.
                if await self._already_there(d):
                    detail = f"already {d.action.target_status.value}"
                    self._settle(index, Outcome.UNCHANGED, detail=detail, attempts=counter.calls)
                else:
                    self._on_error(job, exc, counter.calls)
                return
            except HfAccessError as exc:
                self._on_error(job, exc, counter.calls)
                return
        self._settle(index, Outcome.DONE, attempts=counter.calls)

    async def _already_there(self, d: Decision) -> bool:
        """Is ``d.user`` on the list of the status the decision wants? (searched by name)"""
        if d.user.startswith(("request:", "user-id:")):
            return False
        try:
            async for request in self._hub.iter_requests(
                d.repo_id, d.action.target_status, repo_type=d.repo_type, search=d.user
            ):
                if request.username == d.user:
                    return True
        except HfAccessError:
            return False
        return False

    def _on_error(self, job: _Job, exc: HfAccessError, attempts: int) -> None:
        if isinstance(exc, (AuthenticationError, PermissionDeniedError, ConfigurationError)):
            self._stop(f"{type(exc).__name__}: {exc}")
        elif isinstance(exc, RateLimitError):
            wait = f"; the Hub asks to wait {exc.retry_after:.0f}s" if exc.retry_after else ""
            self._stop(f"rate limited{wait}")
        elif isinstance(exc, RepoNotFoundError):
            self._failed_repos[self._repo_of(job)] = exc
        self._fail(job, exc, attempts)

    def _stop(self, reason: str) -> None:
        if self._stopped is None:
            self._stopped = reason

    def _fail(self, job: _Job, exc: HfAccessError, attempts: int) -> None:
        for index in job.indices:
            self._settle(index, Outcome.FAILED, error=exc, attempts=attempts)

    # -- outcomes -------------------------------------------------------------------------------

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
    ) -> None:
        item = ItemOutcome(
            index=index,
            decision=self._decisions[index],
            outcome=outcome,
            error=error,
            detail=detail,
            attempts=attempts,
            from_journal=from_journal,
        )
        self._outcomes[index] = item
        if record and self._journal is not None:
            self._journal.record(item)
        self._count(item)
        for dup in self._dupes.get(index, ()):
            copy = attrs.evolve(
                item, index=dup, decision=self._decisions[dup], attempts=0, detail=_dup_detail(item)
            )
            self._outcomes[dup] = copy
            self._count(copy)

    def _count(self, item: ItemOutcome) -> None:
        self._counts[item.outcome] += 1
        self._finished += 1
        if self._on_progress is not None:
            self._on_progress(
                BulkProgress(
                    total=len(self._decisions),
                    finished=self._finished,
                    done=self._counts[Outcome.DONE],
                    unchanged=self._counts[Outcome.UNCHANGED],
                    failed=self._counts[Outcome.FAILED],
                    not_attempted=self._counts[Outcome.NOT_ATTEMPTED],
                    calls=self._counter.calls,
                    last=item,
                )
            )

    def _finish(self) -> BulkReport:
        self._ended = self._clock()
        self._state = "finished"
        self._report = self._build_report(final=True)
        return self._report

    def _build_report(self, *, final: bool = False) -> BulkReport:
        items: list[ItemOutcome] = []
        for index, item in enumerate(self._outcomes):
            if item is None:
                item = ItemOutcome(
                    index=index,
                    decision=self._decisions[index],
                    outcome=Outcome.NOT_ATTEMPTED,
                    detail=self._unfinished_detail(index, final),
                )
            items.append(item)
        end = self._ended if self._ended is not None else self._clock()
        elapsed = 0.0 if self._started is None else end - self._started
        return BulkReport(
            items=tuple(items),
            calls=self._counter.calls,
            elapsed=elapsed,
            stopped=self._stopped,
            plan=self._plan,
        )

    def _unfinished_detail(self, index: int, final: bool) -> str:
        if self._stopped == "cancelled" and index in self._in_flight:
            return "cancelled while its call was in flight: it may have been applied; rerun to settle it"
        if self._stopped is not None:
            return self._stopped if self._stopped == "dry run" else f"run stopped: {self._stopped}"
        return "not finished" if not final else "not attempted"


def _dup_detail(item: ItemOutcome) -> str:
    text = f"duplicate of item {item.index}"
    return f"{text}: {item.detail}" if item.detail else text
