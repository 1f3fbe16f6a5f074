"""Watch gated repos for new access requests: the Hub sends no webhook, so poll, cheaply.

>>> import asyncio
>>> from hf_access import AccessSession
>>> from hf_access.hub.watch import watch
>>> async def main() -> None:
...     async with AccessSession() as hub:
...         async with watch(hub, ["my-org/gated-model"], state_file="watch.json") as events:
...             async for event in events:      # runs until cancelled
...                 print(event.repo_id, event.request.label)

How it stays cheap. A *stream* is one list (repo, repo type, status). For each the watcher
keeps a position: the newest request ``timestamp`` it has handed out (``after``) and the ids
seen at that instant. Each poll asks only for ``after=<position - 1 ms>`` (one call while
fewer than a page arrived; the 1 ms and the ids make it right whether the Hub's ``after`` is
inclusive or not, which it does not document). A stream polled with nothing new waits ``backoff`` times longer,
up to ``max_interval``; anything new brings it back to ``interval``. Calls go through the
session, so they share its rate limiter. Transient failures (connection, timeout, 5xx, 429,
anything but the errors below) are logged and retried later with the same backoff; auth
errors (:class:`~hf_access.AuthenticationError`, :class:`~hf_access.PermissionDeniedError`),
a missing repo (:class:`~hf_access.NotFoundError`) and a closed session are raised.

"New since the watch started": with ``include_existing=False`` (the default) the first poll of a
stream only sets the position (requests already in the list are never handed out; how many were
left alone is counted in :attr:`Watcher.left_alone`); ``include_existing=True`` hands them out
too. A saved position (``state_file``) wins over both: :attr:`Watcher.resumed` names the streams
that start from one. "New" follows the request's own ``timestamp`` (its creation): on the
pending list that is every arrival; a request moved back into a list later keeps its old
timestamp and is not seen again.

Exactly once: an event counts as handled when the consumer asks for the next one, or when
the watch is closed (``async with`` / :meth:`Watcher.aclose`); the position is then written
(JSON, temp file + ``os.replace``; one process per state file). After a crash, or a ``break``
without ``async with``, the event being handled then comes again after a restart.
:meth:`Watcher.poll` with :meth:`Watcher.done` / :meth:`Watcher.revisit` gives the same
control to batch consumers; ``revisit`` hands a request out again on later polls while it is
still in the list (``WatchEvent.again``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypedDict

import attrs

from ..core.errors import (
    AuthenticationError,
    ConfigurationError,
    HfAccessError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from ..core.filelock import FileLock
from ._watch_state import Cursor, Stamp, WatchState, request_key
from .models import AccessRequest, RepoType, RequestStatus
from .wire import validate_repo_id

if TYPE_CHECKING:  # the session will import this module for its watch() method
    from typing_extensions import Unpack

    from .client import AccessSession

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_INCLUDE_EXISTING",
    "DEFAULT_INTERVAL",
    "DEFAULT_MAX_INTERVAL",
    "DEFAULT_STATUSES",
    "Cursor",
    "PollOptions",
    "Stream",
    "WatchEvent",
    "WatchOptions",
    "WatchState",
    "Watcher",
    "parse_repo",
    "request_key",
    "watch",
]

log = logging.getLogger("hf_access.hub.watch")
FATAL = (AuthenticationError, PermissionDeniedError, NotFoundError, ConfigurationError)
"""Errors a watch raises; every other :class:`~hf_access.HfAccessError` is retried later."""


def parse_repo(spec: str, repo_type: RepoType | str | None = None) -> tuple[str, RepoType]:
    """``"org/name"`` (of ``repo_type``) or ``"datasets/org/name"`` -> (repo id, type).

    >>> parse_repo("datasets/org/data")
    ('org/data', <RepoType.DATASET: 'dataset'>)
    """
    head, _, rest = spec.partition("/")
    if rest.count("/") == 1:
        return rest, RepoType.parse(head)
    return spec, RepoType.parse(repo_type)


@attrs.frozen
class Stream:
    """One list to watch: a repo and a status."""

    repo_id: str
    repo_type: RepoType
    status: RequestStatus

    @property
    def key(self) -> str:
        return f"{self.repo_type.value}:{self.repo_id}:{self.status.value}"


@attrs.frozen
class WatchEvent:
    """A request handed out by a watch, with the repo it belongs to."""

    repo_id: str
    repo_type: RepoType
    request: AccessRequest
    again: bool = False
    """Handed out again because :meth:`Watcher.revisit` asked for it."""

    @property
    def stream(self) -> Stream:
        return Stream(self.repo_id, self.repo_type, self.request.status)

    @property
    def key(self) -> str:
        return request_key(self.request)


@attrs.define
class _Listing:
    """One poll of one stream, until its new requests are handled."""

    stream: Stream
    unsettled: set[str]
    newest: Stamp  # newest timestamp listed, when trustworthy (complete or in order)
    present: set[str] | None  # every key listed, when the listing is complete
    ordered: bool  # new requests may move the position one by one


@attrs.define
class _Schedule:
    interval: float
    due: float = 0.0


DEFAULT_STATUSES: tuple[str, ...] = ("pending",)
"""The lists a watch polls unless told otherwise."""
DEFAULT_INTERVAL = 30.0
"""Seconds between two polls of a stream while requests arrive."""
DEFAULT_MAX_INTERVAL = 600.0
"""The longest wait between two polls of a stream where nothing arrives."""
DEFAULT_BACKOFF = 2.0
"""How many times longer a stream waits after a poll that found nothing."""
DEFAULT_CONCURRENCY = 8
"""Polls in flight at once."""
DEFAULT_INCLUDE_EXISTING = False
"""Whether a stream's first poll hands out the requests already listed (no: only news)."""


class PollOptions(TypedDict, total=False):
    """How a watch polls, declared once (defaults in brackets); the services on a watch (the
    :class:`~hf_access.screening.autoapprove.AutoApprover`) take them as they are.

    - ``repo_type`` [model]: the type of repos given as ``org/name``.
    - ``interval`` [:data:`DEFAULT_INTERVAL`, 30 s] and ``max_interval``
      [:data:`DEFAULT_MAX_INTERVAL`, 600 s]: seconds between polls of a stream, and the longest
      it backs off to while nothing arrives (``backoff`` [:data:`DEFAULT_BACKOFF`, 2] times
      longer each idle poll).
    - ``include_existing`` [:data:`DEFAULT_INCLUDE_EXISTING`, False]: hand out the requests
      already there at the first poll.
    - ``page_size`` [None: the Hub's]: entries per list page; ``concurrency``
      [:data:`DEFAULT_CONCURRENCY`, 8]: polls at once.
    - ``clock`` and ``sleep`` [``time.monotonic``, ``asyncio.sleep``]: monotonic seconds and
      the coroutine that waits (injectable).
    """

    repo_type: RepoType | str | None
    interval: float
    max_interval: float
    backoff: float
    include_existing: bool
    page_size: int | None
    concurrency: int
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


class WatchOptions(PollOptions, total=False):
    """The options of a watch: :class:`PollOptions`, and what to watch and where to keep the
    position (defaults in brackets).

    - ``statuses`` [:data:`DEFAULT_STATUSES`, pending only]: the lists to watch.
    - ``state_file`` [None]: where the position is kept across restarts; or ``state``, a
      :class:`WatchState` in memory.
    """

    statuses: Iterable[RequestStatus | str]
    state_file: str | os.PathLike[str] | None
    state: WatchState | None


class Watcher:
    """Polls streams on a backoff schedule and hands out new requests (see the module doc).

    Use :func:`watch` (later ``AccessSession.watch``) to make one. Iterate it for events,
    or drive it with :meth:`poll`, :meth:`done`, :meth:`revisit` and :meth:`save`. Its
    keyword arguments are :class:`WatchOptions` (documented there, with their defaults).
    """

    def __init__(
        self,
        hub: AccessSession,
        repo_ids: str | Iterable[str],
        *,
        statuses: Iterable[RequestStatus | str] = DEFAULT_STATUSES,
        repo_type: RepoType | str | None = None,
        interval: float = DEFAULT_INTERVAL,
        max_interval: float = DEFAULT_MAX_INTERVAL,
        backoff: float = DEFAULT_BACKOFF,
        include_existing: bool = DEFAULT_INCLUDE_EXISTING,
        state_file: str | os.PathLike[str] | None = None,
        state: WatchState | None = None,
        page_size: int | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < interval <= max_interval or backoff < 1 or concurrency < 1:
            raise ValueError("need 0 < interval <= max_interval, backoff >= 1, concurrency >= 1")
        specs = [
            parse_repo(r, repo_type)
            for r in ([repo_ids] if isinstance(repo_ids, str) else repo_ids)
        ]
        for repo_id, _ in specs:
            validate_repo_id(repo_id)
        wanted = [RequestStatus.parse(s) for s in statuses]
        self.streams = tuple(Stream(rid, rtype, st) for rid, rtype in specs for st in wanted)
        if not self.streams:
            raise ValueError("nothing to watch: give at least one repo and one status")
        self._hub, self.state_file = hub, Path(state_file) if state_file else None
        # One process per state file: a second one gets FileInUseError (file, pid) at once.
        self._lock = FileLock(self.state_file) if self.state_file else None
        if self._lock is not None:
            self._lock.acquire()
        try:
            self.state = state or (
                WatchState.load(self.state_file) if self.state_file else WatchState()
            )
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        self.interval, self.max_interval, self.backoff = interval, max_interval, backoff
        self.include_existing, self.page_size = include_existing, page_size
        self._clock, self._sleep = clock, sleep
        self._limit = asyncio.Semaphore(concurrency)
        self._plans: dict[str, _Listing] = {}
        self._schedule = {s.key: _Schedule(interval, clock()) for s in self.streams}
        self._queue: collections.deque[WatchEvent] = collections.deque()
        self._last: WatchEvent | None = None
        self._dirty = False
        self.polls = self.errors = 0
        self.listed: frozenset[str] = frozenset()  # streams the last poll listed whole
        self.resumed = frozenset(s.key for s in self.streams if s.key in self.state.cursors)
        """The streams that start from a saved position (their first poll hands out news)."""
        self.left_alone: dict[str, int] = {}
        """Per stream: requests already listed at its first poll and never handed out."""

    # -- polling -------------------------------------------------------------------------------

    def next_due(self) -> float:
        """The clock time at which the next stream is due."""
        return min(s.due for s in self._schedule.values())

    def interval_of(self, stream: Stream) -> float:
        """The current (backed-off) interval of a stream."""
        return self._schedule[stream.key].interval

    async def wait(self) -> None:
        """Sleep until the next stream is due."""
        delay = self.next_due() - self._clock()
        if delay > 0:
            await self._sleep(delay)

    async def poll(self, *, force: bool = False) -> list[WatchEvent]:
        """Poll the streams that are due (every stream with ``force``); return what is new.

        Settle every event with :meth:`done` or :meth:`revisit`: unsettled ones come again.
        """
        now = self._clock()
        due = [s for s in self.streams if force or self._schedule[s.key].due <= now]
        results = await asyncio.gather(*(self._list(s) for s in due))
        for _, _, error in results:  # raise before anything moves: nothing is lost
            if isinstance(error, FATAL):
                raise error
        events: list[WatchEvent] = []
        self.listed = frozenset(
            s.key
            for s, (_, complete, error) in zip(due, results, strict=True)
            if complete and not error
        )
        for stream, (items, complete, error) in zip(due, results, strict=True):
            first = stream.key not in self.state.cursors
            new = self._plan(stream, items, complete)
            events.extend(new)
            self._reschedule(stream, error, first or any(not e.again for e in new))
        self.polls += 1
        return events

    async def _list(self, stream: Stream) -> tuple[list[AccessRequest], bool, Exception | None]:
        cursor = self.state.cursors.get(stream.key)
        items: list[AccessRequest] = []
        try:
            async with self._limit:
                pages = self._hub.iter_requests(
                    stream.repo_id,
                    stream.status,
                    repo_type=stream.repo_type,
                    page_size=self.page_size,
                    after=cursor.query_after() if cursor else None,
                )
                async for item in pages:
                    items.append(item)
        except HfAccessError as exc:
            return items, False, exc
        return items, True, None

    def _plan(self, stream: Stream, items: list[AccessRequest], complete: bool) -> list[WatchEvent]:
        cursor = self.state.cursors.get(stream.key)
        stamps = [i.timestamp for i in items if i.timestamp is not None]
        ordered = complete or stamps == sorted(stamps)
        newest = max(stamps, default=None) if ordered else None
        present = {request_key(i) for i in items} if complete else None
        if cursor is None and not self.include_existing:
            if complete:  # the first poll only sets the position
                at_newest = {request_key(i): newest for i in items if i.timestamp == newest}
                self.state.cursors[stream.key] = Cursor(newest, at_newest)
                self.left_alone[stream.key] = len(items)
                self._dirty = True
            return []
        if cursor is None:
            cursor = self.state.cursors[stream.key] = Cursor()
        again = [i for i in items if request_key(i) in cursor.revisit]
        new = sorted((i for i in items if cursor.is_new(i)), key=_order)
        new = list({request_key(i): i for i in new}.values())
        keys = {request_key(i) for i in (*again, *new)}
        self._plans[stream.key] = _Listing(stream, keys, newest, present, ordered)
        self._settle_if_done(stream.key)
        make = WatchEvent
        return [make(stream.repo_id, stream.repo_type, i, True) for i in again] + [
            make(stream.repo_id, stream.repo_type, i) for i in new
        ]

    def _reschedule(self, stream: Stream, error: Exception | None, fresh: bool) -> None:
        slot = self._schedule[stream.key]
        if fresh and error is None:
            slot.interval = self.interval
        else:
            slot.interval = min(self.max_interval, slot.interval * self.backoff)
        wait = slot.interval
        if error is not None:
            self.errors += 1
            if isinstance(error, RateLimitError) and error.retry_after:
                wait = max(wait, error.retry_after)
            log.warning("watch %s: %s; next try in %.0fs", stream.key, error, wait)
        slot.due = self._clock() + wait

    def restart(self, state: WatchState | None = None) -> None:
        """Continue from ``state`` (another process's position): forget the events in hand
        and make every stream due now."""
        self.state = state or WatchState()
        self._plans.clear()
        self._queue.clear()
        self._last = None
        now = self._clock()
        for slot in self._schedule.values():
            slot.interval, slot.due = self.interval, now
        self._dirty = True

    # -- settling ------------------------------------------------------------------------------

    def done(self, event: WatchEvent) -> None:
        """The event is handled: it is never handed out again."""
        self._settle(event, keep=False, advance=False)

    def revisit(self, event: WatchEvent) -> None:
        """The event is handled for now: hand it out again while it is still listed."""
        self._settle(event, keep=True, advance=False)

    def _settle(self, event: WatchEvent, *, keep: bool, advance: bool) -> None:
        stream, key = event.stream, event.key
        cursor = self.state.cursors.setdefault(stream.key, Cursor())
        plan = self._plans.get(stream.key)
        if event.again:
            if not keep:
                cursor.revisit.pop(key, None)
        else:
            cursor.deliver(
                key, event.request.timestamp, advance=advance and bool(plan and plan.ordered)
            )
            if keep:
                cursor.revisit[key] = event.request.timestamp
        if plan is not None:
            plan.unsettled.discard(key)
            self._settle_if_done(stream.key)
        self._dirty = True

    def _settle_if_done(self, key: str) -> None:
        plan = self._plans.get(key)
        if plan is not None and not plan.unsettled:
            del self._plans[key]
            self.state.cursors.setdefault(key, Cursor()).settle(plan.newest, plan.present)
            self._dirty = True

    def save(self) -> None:
        """Write the state file (if any) when something changed since the last write."""
        if self.state_file is not None and self._dirty:
            self.state.save(self.state_file)
            self._dirty = False

    # -- iteration -----------------------------------------------------------------------------

    def __aiter__(self) -> Watcher:
        return self

    async def __anext__(self) -> WatchEvent:
        self._commit()
        while not self._queue:
            await self.wait()
            self._queue.extend(await self.poll())
            self.save()
        self._last = self._queue.popleft()
        return self._last

    def _commit(self) -> None:
        last, self._last = self._last, None
        plan = self._plans.get(last.stream.key) if last else None
        if last is not None and plan is not None and last.key in plan.unsettled:
            self._settle(last, keep=False, advance=True)
        self.save()

    async def aclose(self) -> None:
        """The last event handed out is handled: save the position, let go of the state file."""
        try:
            self._commit()
            self._queue.clear()
        finally:
            if self._lock is not None:
                self._lock.release()

    async def __aenter__(self) -> Watcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _order(request: AccessRequest) -> tuple[bool, datetime]:
    stamp = request.timestamp
    return (stamp is None, stamp or datetime.min.replace(tzinfo=timezone.utc))


def watch(
    hub: AccessSession, repo_ids: str | Iterable[str], **options: Unpack[WatchOptions]
) -> Watcher:
    """Watch ``repo_ids`` (``"org/name"`` or ``"datasets/org/name"``) for new requests.

    Returns a :class:`Watcher`: an async iterator of :class:`WatchEvent` (and an async
    context manager that saves the position on exit); ``options`` are :class:`WatchOptions`.
    The same as ``hub.watch(repo_ids, **options)``.
    """
    return Watcher(hub, repo_ids, **options)
