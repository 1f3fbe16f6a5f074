"""The bulk engine shared by the Hub and GitLab: fan-out, outcomes, journal, stops.

A provider plugs in through an :class:`Executor`, which knows how to group decisions into
calls (``jobs``), what a dry run would send (``plan``), and how to run one job (``execute``).
Everything else lives here once: de-duplication, the journal, the dry run, ``concurrency``
workers, cancellation, the early stop on 401/403/config/rate-limit errors and on a server that
cannot be reached (:data:`UNREACHABLE_AFTER` calls in a row that could not connect, after
their retries), a missing target failing only its own items, progress callbacks and the report in
input order.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable, Generator, Hashable, Mapping, Sequence
from itertools import repeat
from operator import is_
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .convert import frozen_builder
from .errors import (
    AuthenticationError,
    ConfigurationError,
    HfAccessError,
    PermissionDeniedError,
    RateLimitError,
    RepoNotFoundError,
    TransportError,
)
from .journal import Journal, JournalEntry
from .outcomes import (
    ITEM_OUTCOMES,
    BulkProgress,
    BulkReport,
    D,
    ItemOutcome,
    Keyed,
    Outcome,
    PlannedCall,
)
from .sansio import Call
from .transport import CallCounter, counting

__all__ = ["UNREACHABLE_AFTER", "Engine", "Executor", "Job", "Settled"]

UNREACHABLE_AFTER = 3
"""Jobs in a row whose call could not connect (refused, no such host, connect timeout), each
after its retries, before a run stops: the server is unreachable and every other call would
fail too. A connection that breaks after it was made does not count (the server is there)."""

_FINAL = (Outcome.DONE, Outcome.UNCHANGED)
_make_outcome = frozen_builder(ItemOutcome)  # one per item of a single call: the quick maker
_MANY = 8  # items of one call from which its outcomes are made a field at a time
_STOPPING = (AuthenticationError, PermissionDeniedError, ConfigurationError)


@attrs.define
class Job:
    """One call's worth of items (indices into the run's decisions)."""

    indices: list[int]
    batch: bool = False


@attrs.frozen
class Settled:
    """How one item of a job ended."""

    outcome: Outcome
    error: HfAccessError | None = None
    detail: str | None = None


D_contra = TypeVar("D_contra", bound=Keyed, contravariant=True)


class Executor(Protocol[D_contra]):
    """What a provider supplies to the engine."""

    server: str
    """How messages name the server: ``"the Hub"``, ``"GitLab"``."""

    def jobs(self, decisions: Sequence[D_contra], todo: list[int]) -> list[Job]:
        """Group the items still to do into calls."""
        ...

    def call(self, decisions: Sequence[D_contra], job: Job) -> Call:
        """The call ``job`` sends (and a dry run shows): built in one place for both."""
        ...

    def scope(self, decision: D_contra) -> Hashable:
        """The repo, project or group a decision is about (a missing one fails them all)."""
        ...

    async def prepare(self, decisions: Sequence[D_contra], todo: list[int]) -> dict[int, Settled]:
        """Items settled before any job runs (the Hub's precheck); usually none."""
        ...

    async def execute(self, decisions: Sequence[D_contra], job: Job) -> list[Settled] | list[Job]:
        """Run one job: one :class:`Settled` per index, or jobs to run instead (a fallback).

        An :class:`~hf_access.HfAccessError` raised here fails every item of the job; the
        engine decides whether it also stops the run.
        """
        ...


class Engine(Generic[D]):
    """One run of decisions through an executor. Await it for the report; it runs once."""

    def __init__(
        self,
        decisions: Sequence[D],
        executor: Executor[D],
        *,
        concurrency: int,
        on_progress: Callable[[BulkProgress[D]], None] | None = None,
        journal: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
        clock: Callable[[], float] = time.monotonic,
        kind: str = "bulk",
        distinct: bool = False,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError("concurrency must be a positive integer")
        self._decisions = list(decisions)
        self._distinct = distinct  # the caller knows that no two decisions share a key
        self._executor = executor
        self._concurrency = concurrency
        self._on_progress = on_progress
        self._journal = Journal(journal, kind=kind) if journal is not None else None
        self._dry_run = dry_run
        self._clock = clock
        self._outcomes: list[ItemOutcome[D] | None] = [None] * len(self._decisions)
        self._dupes: dict[int, list[int]] = {}
        self._counts = dict.fromkeys(Outcome, 0)
        self._in_flight: dict[int, Job] = {}  # by id(): the jobs whose call is under way
        self._missing: dict[Hashable, tuple[int, HfAccessError]] = {}
        self._counter = CallCounter()
        self._started: float | None = None
        self._ended: float | None = None
        self._stopped: str | None = None
        self._plan: tuple[PlannedCall, ...] = ()
        self._state = "new"
        self._busy = 0  # workers running a job
        self._unanswered = 0  # jobs in a row that could not connect to the server
        self._wake = asyncio.Event()  # set when jobs are requeued, all work ends, or a stop

    @property
    def decisions(self) -> list[D]:
        return list(self._decisions)

    def __await__(self) -> Generator[Any, None, BulkReport[D]]:
        return self.run().__await__()

    async def run(self) -> BulkReport[D]:
        """Run the decisions and return the report (also what awaiting the run does)."""
        if self._state != "new":
            raise RuntimeError(
                "a bulk run runs once; start a new one (the journal skips what is done)"
            )
        self._state = "running"
        self._started = self._clock()
        if self._dry_run:
            todo = self._prepare(self._journal.load() if self._journal is not None else {})
            jobs = self._executor.jobs(self._decisions, todo)
            self._plan = tuple(
                PlannedCall(self._executor.call(self._decisions, job), len(job.indices))
                for job in jobs
            )
            self._stopped = "dry run"
            return self._finish()
        try:
            with counting() as counter:
                self._counter = counter
                # Locked and repaired before anything is sent: a second process stops here.
                recorded = self._journal.open() if self._journal is not None else {}
                todo = self._prepare(recorded)
                if todo:
                    early = await self._executor.prepare(self._decisions, todo)
                    self._settle_all(list(early), list(early.values()))
                    todo = [i for i in todo if i not in early]
                queue = deque(self._executor.jobs(self._decisions, todo))
                # One worker per slot of concurrency (no more than there are items): a job may
                # turn into several (the batch fallback), and idle workers pick those up.
                workers = [
                    asyncio.create_task(self._worker(queue))
                    for _ in range(min(self._concurrency, len(todo)))
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

    def report(self) -> BulkReport[D]:
        """The report so far: finished items as they ended, the others not attempted."""
        outcomes = self._outcomes
        if any(map(is_, outcomes, repeat(None))):
            in_flight = {index for job in self._in_flight.values() for index in job.indices}
            items = [
                ItemOutcome(
                    index,
                    self._decisions[index],
                    Outcome.NOT_ATTEMPTED,
                    detail=self._unfinished(index, in_flight),
                )
                if item is None
                else item
                for index, item in enumerate(outcomes)
            ]
        else:
            items = outcomes  # type: ignore[assignment]  # every item settled
        end = self._ended if self._ended is not None else self._clock()
        return BulkReport(
            items=tuple(items),
            calls=self._counter.calls,
            elapsed=0.0 if self._started is None else end - self._started,
            stopped=self._stopped,
            plan=self._plan,
        )

    # -- preparation --------------------------------------------------------------------------

    def _prepare(self, recorded: Mapping[str, JournalEntry]) -> list[int]:
        """De-duplicate, settle what the journal already holds, return what is left to do."""
        if self._distinct and not recorded:
            return list(range(len(self._decisions)))  # nothing to compare keys for
        keys = [decision.key for decision in self._decisions]
        # The first index of each key: filled from the end, the first one is left standing.
        first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
        if len(first) == len(keys):
            todo = list(range(len(keys)))  # the usual case: no duplicates
        else:
            for index, key in enumerate(keys):
                seen = first[key]
                if seen != index:
                    self._dupes.setdefault(seen, []).append(index)
            todo = sorted(first.values())
        if not recorded:
            return todo
        # Settled only once every duplicate is known, so that they mirror the journal too.
        left: list[int] = []
        for index in todo:
            entry = recorded.get(keys[index])
            if entry is not None and entry.outcome in _FINAL:
                detail = entry.detail or "settled by an earlier run (journal)"
                self._settle_all([index], [Settled(entry.outcome, None, detail)], from_journal=True)
            else:
                left.append(index)
        return left

    # -- workers ------------------------------------------------------------------------------

    async def _worker(self, queue: deque[Job]) -> None:
        while self._stopped is None:
            if not queue:
                if self._busy == 0:
                    self._wake.set()  # nothing left and nobody can add more: all end
                    return
                self._wake.clear()
                await self._wake.wait()  # a busy worker may requeue jobs
                continue
            if self._unanswered and self._busy:
                # A call could not connect: start nothing new while others are in flight; one
                # job at a time until a call gets an answer (or the run stops as unreachable).
                self._wake.clear()
                await self._wake.wait()
                continue
            job = queue.popleft()
            self._busy += 1
            try:
                await self._run_job(queue, job)
            finally:
                self._busy -= 1
                self._wake.set()  # idle workers look again: the queue or the rules changed

    async def _run_job(self, queue: deque[Job], job: Job) -> None:
        if self._missing:  # a repo, project or group found missing: its items fail unsent
            scope = self._executor.scope(self._decisions[job.indices[0]])
            if scope in self._missing:
                first, error = self._missing[scope]
                detail = f"{getattr(error, 'message', error)} (item {first})"
                self._settle_all(
                    job.indices, [Settled(Outcome.FAILED, error, detail)] * len(job.indices)
                )
                return
        self._in_flight[id(job)] = job
        with counting() as counter:
            try:
                result = await self._executor.execute(self._decisions, job)
            except HfAccessError as exc:
                self._on_error(job, exc)
                result = [Settled(Outcome.FAILED, exc)] * len(job.indices)
            else:
                self._unanswered = 0
        # Only now, not in a finally: an item cancelled mid-call stays "in flight".
        del self._in_flight[id(job)]
        if result and isinstance(result[0], Job):
            queue.extendleft(reversed([j for j in result if isinstance(j, Job)]))
            self._wake.set()
            return
        if len(result) != len(job.indices):
            raise RuntimeError(f"{len(result)} outcomes for a job of {len(job.indices)} items")
        self._settle_all(job.indices, result, attempts=counter.calls)  # type: ignore[arg-type]

    def _on_error(self, job: Job, exc: HfAccessError) -> None:
        if isinstance(exc, TransportError) and exc.unreachable:
            self._unanswered += 1
            if self._unanswered >= UNREACHABLE_AFTER:
                server = self._executor.server
                self._stop(
                    f"{server} is unreachable: {self._unanswered} calls in a row could not "
                    f"connect (last: {exc})"
                )
            return
        self._unanswered = 0
        if isinstance(exc, _STOPPING):
            self._stop(f"{type(exc).__name__}: {exc}")
        elif isinstance(exc, RateLimitError):
            server = self._executor.server
            wait = f"; {server} asks to wait {exc.retry_after:.0f}s" if exc.retry_after else ""
            self._stop(f"rate limited{wait}")
        elif isinstance(exc, RepoNotFoundError):
            scope = self._executor.scope(self._decisions[job.indices[0]])
            self._missing.setdefault(scope, (job.indices[0], exc))

    def _stop(self, reason: str) -> None:
        if self._stopped is None:
            self._stopped = reason
            self._wake.set()

    # -- outcomes -----------------------------------------------------------------------------

    def _settle_all(
        self,
        indices: Sequence[int],
        settled: Sequence[Settled],
        *,
        attempts: int = 0,
        from_journal: bool = False,
    ) -> None:
        """Settle the items of one call (``settled[n]`` for ``indices[n]``):
        journaled together (one write), then counted."""
        if not indices:
            return
        decisions, outcomes = self._decisions, self._outcomes
        one = settled[0]
        if len(indices) == 1 and self._on_progress is None and not self._dupes:
            # One item (a single call's): no run of items to find, nothing to fan out.
            index = indices[0]
            item = _make_outcome(
                index, decisions[index], one.outcome, one.error, one.detail, attempts, from_journal
            )
            outcomes[index] = item
            if self._journal is not None and not from_journal:
                self._journal.record_many((item,))
            self._counts[one.outcome] += 1
            return
        alike = settled.count(one) == len(settled)
        start, stop = indices[0], indices[-1] + 1
        run = stop - start == len(indices) and indices == list(range(start, stop))
        if alike and len(indices) >= _MANY:  # a batch call that ended alike for all its items
            items = ITEM_OUTCOMES.make(
                len(indices),
                indices,
                decisions[start:stop] if run else list(map(decisions.__getitem__, indices)),
                repeat(one.outcome),
                repeat(one.error),
                repeat(one.detail),
                repeat(attempts),
                repeat(from_journal),
            )
        else:
            items = [
                ItemOutcome(
                    index,
                    decisions[index],
                    each.outcome,
                    each.error,
                    each.detail,
                    attempts,
                    from_journal,
                )
                for index, each in zip(indices, settled, strict=True)
            ]
        if run:
            outcomes[start:stop] = items  # the usual case: a run of consecutive items
        else:
            for item in items:
                outcomes[item.index] = item
        if self._journal is not None and not from_journal:
            self._journal.record_many(items)
        if self._on_progress is None and not self._dupes:
            counts = self._counts  # the common case, counted without a call per item
            if alike:
                counts[one.outcome] += len(items)
            else:
                for each in settled:
                    counts[each.outcome] += 1
            return
        for item in items:
            self._fan_out(item)

    def _fan_out(self, item: ItemOutcome[D]) -> None:
        """Count an item, and its duplicates with it."""
        index = item.index
        self._count(item)
        for dup in self._dupes.get(index, ()):
            text = f"duplicate of item {index}" + (f": {item.detail}" if item.detail else "")
            copy = attrs.evolve(
                item, index=dup, decision=self._decisions[dup], attempts=0, detail=text
            )
            self._outcomes[dup] = copy
            self._count(copy)

    def _count(self, item: ItemOutcome[D]) -> None:
        self._counts[item.outcome] += 1
        if self._on_progress is None:
            return
        self._on_progress(
            BulkProgress(
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

    def _finish(self) -> BulkReport[D]:
        self._ended = self._clock()
        self._state = "finished"
        return self.report()

    def _unfinished(self, index: int, in_flight: set[int]) -> str:
        if self._stopped == "cancelled" and index in in_flight:
            return "cancelled while its call was in flight: it may have been applied; rerun to settle it"
        if self._stopped == "dry run":
            return "dry run"
        if self._stopped is not None:
            return f"run stopped: {self._stopped}"
        return "not finished" if self._state != "finished" else "not attempted"
