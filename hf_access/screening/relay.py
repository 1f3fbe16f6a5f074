"""The webhook the Hub does not send: poll access requests, deliver signed Standard Webhooks.

>>> import asyncio
>>> from hf_access import AccessSession
>>> from hf_access.screening.relay import Relay
>>> async def main() -> None:
...     async with AccessSession() as hub, Relay(
...         hub, ["my-org/gated-model"], to="https://example.org/hooks/hf",
...         secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", outbox="relay.db",
...     ) as relay:
...         await relay.run()  # until cancelled

**Events.** ``access_request.created`` for every new pending request (found by the session's
:class:`~hf_access.watch.Watcher`, which asks only for what is newer than its position); with
``statuses`` also ``access_request.accepted``, ``.rejected`` and ``.reset`` for entries that
appear in those lists (decisions made on the Hub's page or by another tool). The Hub's
``after`` filters by a request's creation, not by its review, so a decision list is read whole
on each poll and compared with the previous reading. The body is
``{"type", "timestamp", "data": {"repo_id", "repo_type", "request_id", "user", "fullname",
"email", "status", "fields", "requested_at", "reviewed_at"}}``: what the Hub gave, nothing
more; ``timestamp`` is the event's own time (creation, or review), else when it was seen.

**At least once.** Each poll writes its new events and the positions that account for them
to the outbox (SQLite) in one transaction, before anything is sent. A crash or kill at any
point then either kept both (the events are sent after the restart) or lost both (the Hub
still lists the requests, so they are seen again). The ``webhook-id`` hashes the event's
identity (type, repo, request, time), so an event seen twice is queued once and keeps its id
across retries and restarts: receivers de-duplicate on it.

**In order per repo.** Only the oldest undelivered event of a repo is ever in flight; repos
are delivered concurrently. A failed attempt (connection error, timeout, a redirect, which is
never followed, or any answer but 2xx) is retried after an exponential backoff with jitter,
or the answer's ``Retry-After`` when longer (capped), until the event is ``max_age`` old; it
then goes to the dead letters and the repo's next event goes on. ``410 Gone`` disables the
endpoint (recorded in the outbox): :meth:`Relay.run` raises :class:`EndpointDisabledError`,
the events stay queued, and a relay made with ``enable=True`` sends them again.

**Secrets.** Deliveries go through their own HTTP client: the Hub token never reaches the
receiver. The signing secret is never logged, stored or shown (``repr`` hides it). Time is
injectable (``clock``, ``sleep``, ``random``), so tests never wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random as _random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from .._version import __version__
from ..core.convert import format_time as format_hub_time
from ..core.errors import HfAccessError
from ..core.sansio import is_insecure
from ..hub.models import AccessRequest, RepoType, RequestStatus
from ..hub.watch import (
    DEFAULT_INCLUDE_EXISTING,
    DEFAULT_INTERVAL,
    DEFAULT_STATUSES,
    FATAL,
    Stream,
    Watcher,
    WatchState,
    parse_repo,
    request_key,
)
from ..hub.wire import validate_repo_id
from ..webhooks import SecretLike, WebhookSecret, signed_headers
from ._delivery import (
    EVENT_TYPES,
    Attempt,
    DeliveryPolicy,
    Verdict,
    classify_status,
    event_id,
    event_payload,
    occurred_at,
    utc,
)
from ._outbox import NewEvent, Outbox, OutboxEvent, OutboxStats

if TYPE_CHECKING:
    from ..hub.client import AccessSession

__all__ = [
    "EVENT_TYPES",
    "DeliveryPolicy",
    "EndpointDisabledError",
    "Outbox",
    "OutboxEvent",
    "OutboxStats",
    "Relay",
]

log = logging.getLogger("hf_access.relay")
USER_AGENT = f"hf-access-relay/{__version__}"
_WATCH_KEY, _DECISIONS_KEY = "watch", "decisions"
_PRUNE_EVERY = 3600.0
_PER_PASS = 256  # deliveries per repo in one pass, so that polls are never starved


class EndpointDisabledError(HfAccessError):
    """The receiver answered ``410 Gone``: nothing more is sent to it until re-enabled."""


def _display(url: str) -> str:
    """The URL without credentials or query, for logs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the receiver's URL must be http(s)://host[:port]/path")
    return url.strip()


class Relay:
    """Poll ``repo_ids`` and deliver their access-request events to ``to`` (see the module doc).

    Args:
        hub: the session: its token, limiter and retries serve the polls.
        repo_ids: ``"org/name"`` (of ``repo_type``) or ``"datasets/org/name"``.
        to: the receiver's URL.
        secret: the endpoint's ``whsec_`` secret, or several (new first) while rotating.
        outbox: the SQLite file (or an open :class:`Outbox`, left open on close).
        statuses: the lists to turn into events: ``pending`` (``created``), ``accepted``,
            ``rejected``, ``reset``.
        interval: seconds between polls (the watch's default); ``max_interval``: the
            backoff's limit while a pending list stays idle (default: ``interval``, no
            backoff).
        include_existing: the first poll queues what is already listed (default: only what
            arrives afterwards; a saved position always wins).
        policy: the retry schedule, per-attempt timeout and maximum age.
        enable: send to an endpoint even if it answered 410 before.
        keep_delivered: seconds a delivered event stays in the outbox (for replays).
        concurrency: repos delivered at once.
        clock, sleep, random: epoch seconds, the sleep and the jitter's draw, for tests.
        http: an aiohttp session for the deliveries (default: one of the relay's own).
    """

    def __init__(
        self,
        hub: AccessSession,
        repo_ids: Iterable[str],
        *,
        to: str,
        secret: SecretLike | Sequence[SecretLike],
        outbox: str | Path | Outbox = "hf-access-relay.db",
        statuses: Iterable[RequestStatus | str] = DEFAULT_STATUSES,
        repo_type: RepoType | str | None = None,
        interval: float = DEFAULT_INTERVAL,
        max_interval: float | None = None,
        include_existing: bool = DEFAULT_INCLUDE_EXISTING,
        policy: DeliveryPolicy = DeliveryPolicy(),
        enable: bool = False,
        keep_delivered: float = 30 * 24 * 3600.0,
        concurrency: int = 4,
        page_size: int | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = _check_url(to)
        self._where = _display(self.url)
        if isinstance(secret, (str, bytes, WebhookSecret)):
            self._secrets = [WebhookSecret(secret)]
        else:
            self._secrets = [WebhookSecret(s) for s in secret]
        if not self._secrets:
            raise ValueError("give at least one webhook secret")
        wanted = list(dict.fromkeys(RequestStatus.parse(s) for s in statuses))
        if not wanted:
            raise ValueError("give at least one status to relay")
        if concurrency < 1 or keep_delivered <= 0:
            raise ValueError("need concurrency >= 1 and keep_delivered > 0")
        specs = [
            parse_repo(r, repo_type)
            for r in ([repo_ids] if isinstance(repo_ids, str) else repo_ids)
        ]
        if not specs:
            raise ValueError("give at least one repo to relay")
        for repo_id, _ in specs:
            validate_repo_id(repo_id)
        self.interval, self.policy, self.enable = interval, policy, enable
        self.include_existing, self.keep_delivered = include_existing, keep_delivered
        self._hub, self._page_size = hub, page_size
        self._clock, self._sleep, self._random = clock, sleep, random
        self._concurrency = concurrency
        self._owns_outbox = not isinstance(outbox, Outbox)
        self._watcher: Watcher | None = None
        self._decision_streams = [
            Stream(rid, rtype, st)
            for rid, rtype in specs
            for st in wanted
            if st is not RequestStatus.PENDING
        ]
        self._repos = [
            f"{rtype.plural}/{rid}" if rtype is not RepoType.MODEL else rid for rid, rtype in specs
        ]
        if RequestStatus.PENDING in wanted:
            # checks the repos and the interval too, before anything is opened
            self._watcher = Watcher(
                hub,
                self._repos,
                statuses=("pending",),
                interval=interval,
                max_interval=max_interval or interval,
                include_existing=include_existing,
                page_size=page_size,
                clock=clock,
                sleep=sleep,
            )
        elif interval <= 0:
            raise ValueError("need interval > 0")
        self._outbox = Outbox(outbox) if not isinstance(outbox, Outbox) else outbox
        if self._watcher is not None:
            saved = self._outbox.meta(_WATCH_KEY)
            if saved is not None:
                self._watcher.state = WatchState.from_json(json.loads(saved))
        saved_decisions = self._outbox.meta(_DECISIONS_KEY)
        self._snapshots: dict[str, dict[str, str]] = (
            json.loads(saved_decisions) if saved_decisions else {}
        )
        self._decisions_due = clock()
        self._http, self._owns_http = http, http is None
        self._gone: str | None = None
        self.delivered = self.failed = self.dead = self.polls = 0
        if is_insecure(self.url):
            log.warning("relay to %s: plain http over a network; prefer https", self._where)

    def __repr__(self) -> str:
        return f"Relay(to={self._where!r}, repos={self._repos!r}, outbox={self._outbox!r})"

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    def stats(self) -> OutboxStats:
        """Pending, delivered and dead events, and disabled endpoints."""
        return self._outbox.stats()

    # -- polling -------------------------------------------------------------------------

    def _next_poll(self) -> float:
        due = [self._decisions_due] if self._decision_streams else []
        if self._watcher is not None:
            due.append(self._watcher.next_due())
        return min(due)

    async def poll(self, *, force: bool = False) -> int:
        """Poll the lists that are due (all with ``force``); queue what is new; return how
        many events were queued. Auth errors and a missing repo are raised; other failures
        are logged and the list is tried again later."""
        now = self._clock()
        found: list[tuple[str, RepoType, AccessRequest]] = []
        meta: dict[str, str | None] = {}
        if self._watcher is not None and (force or self._watcher.next_due() <= now):
            events = await self._watcher.poll(force=force)
            for event in events:
                found.append((event.repo_id, event.repo_type, event.request))
                self._watcher.done(event)
            meta[_WATCH_KEY] = json.dumps(self._watcher.state.to_json(), sort_keys=True)
        if self._decision_streams and (force or self._decisions_due <= now):
            lists = await asyncio.gather(*(self._list(s) for s in self._decision_streams))
            for stream, (items, error) in zip(self._decision_streams, lists, strict=True):
                if error is not None:
                    if isinstance(error, FATAL):
                        raise error
                    log.warning("relay %s: %s; trying again later", stream.key, error)
                    continue
                found.extend(self._changes(stream, items))
            self._decisions_due = now + self.interval
            meta[_DECISIONS_KEY] = json.dumps(self._snapshots, sort_keys=True)
        self.polls += 1
        if not meta:
            return 0
        found.sort(key=lambda item: _when(item[2]))
        seen = utc(now)
        rows = [
            NewEvent(
                event_id(rid, rtype, req),
                f"{rtype.value}:{rid}",
                EVENT_TYPES[req.status],
                event_payload(rid, rtype, req, seen_at=seen),
            )
            for rid, rtype, req in found
        ]
        added = self._outbox.record(rows, now=now, meta=meta)
        if added:
            log.info("relay: %d new event(s) queued", added)
        return added

    async def _list(self, stream: Stream) -> tuple[list[AccessRequest], Exception | None]:
        items: list[AccessRequest] = []
        try:
            async for item in self._hub.iter_requests(
                stream.repo_id, stream.status, repo_type=stream.repo_type, page_size=self._page_size
            ):
                items.append(item)
        except HfAccessError as exc:
            return items, exc
        return items, None

    def _changes(
        self, stream: Stream, items: list[AccessRequest]
    ) -> list[tuple[str, RepoType, AccessRequest]]:
        """Entries new in a decision list (or decided again: a new ``reviewed_at``)."""
        current = {
            request_key(i): format_hub_time(i.reviewed_at) if i.reviewed_at else "" for i in items
        }
        before = self._snapshots.get(stream.key)
        self._snapshots[stream.key] = current
        if before is None and not self.include_existing:
            return []  # the first reading only sets the baseline
        known = before or {}
        return [
            (stream.repo_id, stream.repo_type, i)
            for i in items
            if known.get(request_key(i)) != current[request_key(i)]
        ]

    # -- delivering ----------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            if not self._owns_http and self._http is not None:
                raise HfAccessError("the relay's HTTP session is closed")
            self._http = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=self._concurrency),
                headers={"User-Agent": USER_AGENT},
            )
        return self._http

    def _check_enabled(self) -> None:
        reason = self._gone or self._outbox.disabled(self.url)
        if reason is None:
            return
        if self.enable and self._gone is None:
            self._outbox.set_disabled(self.url, None)
            log.info("relay: %s enabled again", self._where)
            return
        raise EndpointDisabledError(
            f"{self._where} is disabled ({reason}); start the relay with --enable"
            " (enable=True) to send to it again"
        )

    async def deliver(self) -> int:
        """Attempt every repo's due events, in order; return the attempts made.

        Raises :class:`EndpointDisabledError` when the endpoint is (or becomes) disabled.
        """
        self._check_enabled()
        heads = self._outbox.due(now=self._clock())
        if not heads:
            return 0
        limit = asyncio.Semaphore(self._concurrency)

        async def chain(head: OutboxEvent) -> int:
            made = 0
            async with limit:
                # the repo's queue in order, read once: a delivery moves on to the next
                for event in self._outbox.pending_of(head.repo, limit=_PER_PASS):
                    if self._gone is not None or event.next_at > self._clock():
                        break
                    made += 1
                    if not await self._attempt(event):
                        break
            return made

        made = sum(await asyncio.gather(*(chain(h) for h in heads)))
        self._check_enabled()
        return made

    async def _send(self, event: OutboxEvent) -> Attempt:
        headers = signed_headers(event.id, int(self._clock()), event.body, self._secrets)
        headers["Content-Type"] = "application/json"
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout)
        try:
            async with self._client().post(
                self.url, data=event.body, headers=headers, allow_redirects=False, timeout=timeout
            ) as response:
                return classify_status(response.status, response.headers, now=self._clock())
        except asyncio.TimeoutError:
            return Attempt(Verdict.RETRY, None, f"no answer within {self.policy.timeout:g}s")
        except (aiohttp.ClientError, OSError) as exc:
            return Attempt(Verdict.RETRY, None, f"{type(exc).__name__}: {exc}"[:300])

    async def _attempt(self, event: OutboxEvent) -> bool:
        """One attempt and its bookkeeping; True when the event was delivered."""
        result = await self._send(event)
        now = self._clock()
        where = self._where
        if result.verdict is Verdict.DELIVERED:
            self._outbox.delivered(event.id, status=result.status or 0, now=now)
            self.delivered += 1
            log.debug("relay: %s %s delivered to %s", event.type, event.id, where)
            return True
        if result.verdict is Verdict.GONE:
            self._gone = f"410 Gone at {format_hub_time(utc(now))}"
            self._outbox.failed(event.id, status=result.status, error=result.error, next_at=now)
            self._outbox.set_disabled(self.url, self._gone)
            log.error("relay: %s answered 410 Gone: endpoint disabled", where)
            return False
        self.failed += 1
        if now - event.age_from >= self.policy.max_age:
            self._outbox.bury(event.id, status=result.status, error=result.error, now=now)
            self.dead += 1
            log.error(
                "relay: %s %s undelivered after %d attempts (%s): moved to the dead letters",
                event.type,
                event.id,
                event.attempts + 1,
                result.error,
            )
            return True  # the repo's next event may go on
        delay = self.policy.delay(
            event.attempts + 1, random=self._random(), retry_after=result.retry_after
        )
        next_at = min(now + delay, event.age_from + self.policy.max_age)
        self._outbox.failed(event.id, status=result.status, error=result.error, next_at=next_at)
        log.warning(
            "relay: %s %s to %s failed (%s); attempt %d, next in %.1fs",
            event.type,
            event.id,
            where,
            result.error,
            event.attempts + 1,
            next_at - now,
        )
        return False

    # -- running -------------------------------------------------------------------------

    async def step(self) -> float:
        """Poll what is due, deliver what is due; return the seconds until more is due."""
        await self.poll()
        await self.deliver()
        now = self._clock()
        wake = self._next_poll()
        pending = self._outbox.next_due()
        if pending is not None:
            wake = min(wake, pending)
        # an outside replay is seen within one interval at worst
        return max(0.0, min(wake - now, self.interval))

    async def run(self) -> None:
        """Poll and deliver until cancelled. Raises :class:`EndpointDisabledError` after a
        410, auth errors and a missing repo; every other failure is retried."""
        self._check_enabled()
        pruned = -float("inf")
        while True:
            if self._clock() - pruned >= _PRUNE_EVERY:  # delivered events kept for replays
                pruned = self._clock()
                self._outbox.prune(before=pruned - self.keep_delivered)
            await self._sleep(await self.step())

    async def aclose(self) -> None:
        """Close the relay's own HTTP session and outbox (borrowed ones stay open)."""
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None
        if self._owns_outbox:
            self._outbox.close()

    async def __aenter__(self) -> Relay:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _when(request: AccessRequest) -> tuple[bool, str]:
    stamp = occurred_at(request)
    return (stamp is None, format_hub_time(stamp) if stamp else "")
