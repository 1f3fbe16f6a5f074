"""The inbox: every gated repo of the namespaces a token manages, and what waits on each.

For each namespace (default: the token's user and the organisations where its role is
``admin`` or ``write``, from ``GET /api/whoami-v2``) and each repo type, one listing call
(``GET /api/models?author=NS&expand[]=gated``, paged) finds the gated repos; then for each
gated repo:

- the pending list is read page by page and counted (never more than one page held), giving
  the exact number of pending requests, the oldest one's time, and how many arrived in the
  last 24 hours and 7 days;
- the accepted and rejected lists are read for requests made in the last 30 days
  (``after=``), which adds the decided ones to the 24 h / 7 d counts and gives the median
  time from request to decision.

Repos the token cannot manage (the lists answer 403) are rows too, marked as such, not
dropped. Reset requests are not read: their users have to ask again, and then they are
pending.

::

    async for row in hub.inbox():
        print(row.repo_id, row.pending, row.oldest_pending_age)
"""

from __future__ import annotations

import asyncio
import statistics
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs

from ..core.errors import (
    AuthenticationError,
    DecodeError,
    HfAccessError,
    PermissionDeniedError,
    RepoNotFoundError,
)
from ..core.paging import iter_pages
from ..core.sansio import Call
from . import wire as _wire
from .models import GatingMode, RepoType, RequestStatus

if TYPE_CHECKING:
    from .client import AccessSession

__all__ = [
    "MANAGING_ROLES",
    "RECENT",
    "Identity",
    "InboxRow",
    "RepoSummary",
    "decode_identity",
    "decode_repos",
    "inbox",
]

MANAGING_ROLES = ("admin", "write")
"""Roles in an organisation that let a member manage its repos' access requests."""

RECENT = timedelta(days=30)
"""How far back decided requests are read for the median time to a decision."""

_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


@attrs.frozen
class Identity:
    """Who a token is (``GET /api/whoami-v2``): its user, organisations and role.

    ``orgs`` maps each organisation to the user's role in it; ``token_role`` is the
    token's own kind (``read``, ``write`` or ``fineGrained``) when the Hub says it.
    """

    name: str
    orgs: Mapping[str, str] = attrs.field(factory=dict)
    token_role: str | None = None

    def manageable(self) -> list[str]:
        """The user's namespace, then the organisations where its role can manage repos.

        >>> Identity("ann", {"acme": "admin", "club": "read"}).manageable()
        ['ann', 'acme']
        """
        return [self.name, *(org for org, role in self.orgs.items() if role in MANAGING_ROLES)]


@attrs.frozen
class RepoSummary:
    """One repo of a namespace listing."""

    repo_id: str
    repo_type: RepoType
    gating: GatingMode
    private: bool = False


@attrs.frozen
class InboxRow:
    """One gated repo in the inbox.

    Attributes:
        repo_id, repo_type, gating, private: the repo.
        namespace: the namespace it was listed under.
        manageable: False when the token may not read its requests (then every figure is None
            and ``note`` says why).
        pending: the exact number of pending requests.
        oldest_pending: when the oldest pending request was made.
        oldest_pending_age: how long it has waited (at ``now``).
        received_24h, received_7d: requests made in the last 24 hours / 7 days that are
            pending, accepted or rejected now.
        median_decision: median time from request to decision over the requests of the last
            30 days that were accepted or rejected (None when there are none).
        decided: how many decisions the median is taken over.
        note: why a row has no figures (cannot manage, not found, an error).
    """

    namespace: str
    repo_id: str
    repo_type: RepoType
    gating: GatingMode
    private: bool = False
    manageable: bool = True
    pending: int | None = None
    oldest_pending: datetime | None = None
    oldest_pending_age: timedelta | None = None
    received_24h: int | None = None
    received_7d: int | None = None
    median_decision: timedelta | None = None
    decided: int = 0
    note: str | None = None


def _kind(data: object) -> str:
    return "null" if data is None else type(data).__name__


def decode_identity(data: Any) -> Identity:
    """A ``whoami-v2`` answer -> :class:`Identity` (unknown keys ignored).

    >>> decode_identity({"name": "ann", "orgs": [{"name": "acme", "roleInOrg": "write"}],
    ...                  "auth": {"accessToken": {"role": "write", "token": "x"}}})
    Identity(name='ann', orgs={'acme': 'write'}, token_role='write')
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise DecodeError(f"unexpected whoami answer from the Hub: {_kind(data)} with no name")
    orgs: dict[str, str] = {}
    raw_orgs = data.get("orgs")
    raw_orgs = [] if raw_orgs is None else raw_orgs
    if not isinstance(raw_orgs, list):
        raise DecodeError("unexpected whoami answer from the Hub: 'orgs' is not an array")
    for org in raw_orgs:
        if isinstance(org, Mapping) and isinstance(org.get("name"), str):
            role = org.get("roleInOrg")
            # Not documented: an organisation listed without a role. Read as the least (read), so
            # the inbox never claims a repo its owner cannot manage.
            orgs[org["name"]] = role if isinstance(role, str) else "read"
    auth = data.get("auth")
    access = auth.get("accessToken") if isinstance(auth, Mapping) else None
    role = access.get("role") if isinstance(access, Mapping) else None
    return Identity(data["name"], orgs, role if isinstance(role, str) else None)


def decode_repos(data: Any, repo_type: RepoType) -> list[RepoSummary]:
    """A repo listing page -> :class:`RepoSummary` records (unknown keys ignored)."""
    if not isinstance(data, list):
        raise DecodeError(
            f"unexpected repo listing from the Hub: expected an array, got {_kind(data)}"
        )
    repos = []
    for index, item in enumerate(data):
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise DecodeError(f"unexpected repo listing from the Hub: item [{index}] has no id")
        try:
            # Not documented: a listing item without "gated". Read as not gated (nothing to review).
            gating = GatingMode.parse(item.get("gated", False))
        except ValueError as exc:
            raise DecodeError(f"unexpected repo listing from the Hub: {exc}") from None
        repos.append(
            RepoSummary(item["id"], repo_type, gating, private=item.get("private") is True)
        )
    return repos


def _check_namespace(namespace: str) -> str:
    try:
        return _wire.validate_username(namespace)
    except ValueError:
        raise ValueError(f"invalid namespace {namespace!r}") from None


async def _row(hub: AccessSession, namespace: str, repo: RepoSummary, now: datetime) -> InboxRow:
    base = InboxRow(namespace, repo.repo_id, repo.repo_type, repo.gating, repo.private)
    day, week, since = now - _DAY, now - _WEEK, now - RECENT
    try:
        pending = received_day = received_week = 0
        oldest: datetime | None = None
        # Counted as the pages come: only the page being read is held.
        async for request in hub.iter_requests(
            repo.repo_id, RequestStatus.PENDING, repo_type=repo.repo_type
        ):
            pending += 1
            made = request.timestamp
            if made is None:
                continue
            if oldest is None or made < oldest:
                oldest = made
            received_day += made >= day
            received_week += made >= week
        waits: list[float] = []
        for status in (RequestStatus.ACCEPTED, RequestStatus.REJECTED):
            async for request in hub.iter_requests(
                repo.repo_id, status, repo_type=repo.repo_type, after=since
            ):
                made, decided = request.timestamp, request.reviewed_at
                if made is None or made < since:
                    continue  # "after" may or may not be inclusive (not documented): checked here
                received_day += made >= day
                received_week += made >= week
                if decided is None or decided < made:
                    continue
                # An owner's grant has no request to wait on: its review is its creation.
                # Only auto-gated repos decide at the very instant of a request.
                if decided == made and repo.gating is not GatingMode.AUTO:
                    continue
                waits.append((decided - made).total_seconds())
    except AuthenticationError:
        raise
    except PermissionDeniedError as exc:
        return attrs.evolve(base, manageable=False, note=f"cannot manage: {exc.message}")
    except RepoNotFoundError:
        return attrs.evolve(base, note="not found (deleted or renamed since it was listed)")
    except HfAccessError as exc:
        return attrs.evolve(base, note=f"{type(exc).__name__}: {exc}")
    return attrs.evolve(
        base,
        pending=pending,
        oldest_pending=oldest,
        oldest_pending_age=now - oldest if oldest is not None else None,
        received_24h=received_day,
        received_7d=received_week,
        median_decision=timedelta(seconds=statistics.median(waits)) if waits else None,
        decided=len(waits),
    )


def iter_repos(
    hub: AccessSession, namespace: str, repo_type: RepoType
) -> AsyncIterator[RepoSummary]:
    """Every repo of ``namespace`` of one type, with its gating, page by page."""
    return _repos(hub, _wire.repos_call(repo_type, namespace), repo_type)


async def _repos(
    hub: AccessSession, first: Call, repo_type: RepoType
) -> AsyncIterator[RepoSummary]:
    def decode(data: Any) -> list[RepoSummary]:
        return decode_repos(data, repo_type)

    async for page in iter_pages(hub._send, first, decode, _wire.next_link):
        for repo in page.items:
            yield repo
        del page  # released before the next page is read


async def whoami(hub: AccessSession) -> Identity:
    """Who the session's token is (``GET /api/whoami-v2``)."""
    response = await hub._send(_wire.whoami_call())
    return decode_identity(response.json())


def inbox(
    hub: AccessSession,
    namespaces: Iterable[str] | None = None,
    *,
    repo_types: Sequence[RepoType | str] = ("model", "dataset", "space"),
    concurrency: int = 4,
    now: datetime | None = None,
) -> AsyncIterator[InboxRow]:
    """One :class:`InboxRow` per gated repo, namespace by namespace, in listing order."""
    if isinstance(namespaces, str):
        namespaces = [namespaces]
    chosen = None if namespaces is None else [_check_namespace(ns) for ns in namespaces]
    types = [RepoType.parse(t) for t in repo_types]
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError("concurrency must be a positive integer")
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return _inbox(hub, chosen, types, concurrency, now)


async def _inbox(
    hub: AccessSession,
    namespaces: list[str] | None,
    types: list[RepoType],
    concurrency: int,
    now: datetime | None,
) -> AsyncIterator[InboxRow]:
    if namespaces is None:
        namespaces = (await whoami(hub)).manageable()
    moment = now if now is not None else datetime.now(timezone.utc)
    running: deque[asyncio.Task[InboxRow]] = deque()
    try:
        for namespace in dict.fromkeys(namespaces):
            for repo_type in types:
                async for repo in iter_repos(hub, namespace, repo_type):
                    if repo.gating is GatingMode.OFF:
                        continue
                    running.append(asyncio.ensure_future(_row(hub, namespace, repo, moment)))
                    if len(running) >= concurrency:
                        yield await running.popleft()
        while running:
            yield await running.popleft()
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
