"""The async session: every call of the Hub's access-request API.

>>> import asyncio
>>> from hf_access import AccessSession
>>> async def main() -> None:
...     async with AccessSession() as hub:          # token from HF_TOKEN or the token file
...         for request in await hub.list_pending("my-org/gated-model"):
...             await hub.accept("my-org/gated-model", request)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..core.client import SessionBase
from ..core.config import ClientArgs, ClientOptions
from ..core.outcomes import BulkReport
from ..core.sansio import Call, make_call, parse_ratelimit
from ..core.transport import Transport
from . import config as _config
from . import wire as _wire
from .bulk import (
    BatchSupport,
    BulkOptions,
    BulkRun,
    Decision,
    DecisionLike,
    OnProgress,
    decisions_for,
)
from .convert import decode_gating, decode_report
from .errors import error_from_response
from .listing import iter_list
from .models import (
    AccessRequest,
    Action,
    BatchResult,
    GatingMode,
    NotificationsMode,
    ReportEntry,
    RepoType,
    RequestStatus,
    is_username,
)
from .wire import UserArg, UserRef

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .inbox import InboxRow
    from .sync import AccessPlan, AccessSource, RemoveMode
    from .watch import Watcher, WatchOptions

__all__ = ["AccessSession"]

RepoTypeArg = RepoType | str | None


def _bearer(token: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token}")


_STATUS_VALUES = {status: status.value for status in RequestStatus}

_CHECKED_PATHS: dict[tuple[str, str, RepoTypeArg], str] = {}
"""(route, repo id, repo type as given) -> the checked path of that route of the repo
(``handle``, ``grant``): a repo's single decisions after the first skip the checks of its id
and type. Bounded: cleared when full."""
_CHECKED_PATHS_MAX = 4096


def _remember(route: str, repo_id: str, repo_type: RepoTypeArg, path: str) -> None:
    if len(_CHECKED_PATHS) >= _CHECKED_PATHS_MAX:
        _CHECKED_PATHS.clear()
    _CHECKED_PATHS[route, repo_id, repo_type] = path


def _handle_call(
    repo_id: str,
    user: UserArg,
    status: RequestStatus | str,
    repo_type: RepoTypeArg,
    reason: str | None,
) -> Call:
    """The checked call of :meth:`AccessSession.handle` (and of accept, reject, cancel, reset,
    which send it without a coroutine of their own in between)."""
    if reason is None and user.__class__ is str and status.__class__ is RequestStatus:
        # The usual single decision: a user name, on a repo already checked once.
        try:
            path = _CHECKED_PATHS.get(("handle", repo_id, repo_type))
        except TypeError:  # an unhashable repo id or type: the checks below name it
            path = None
        if path is not None and is_username(user):
            body = {"user": user, "status": _STATUS_VALUES[status]}
            return make_call("POST", path, None, body, True)
    rtype = RepoType.parse(repo_type)
    _wire.validate_repo_id(repo_id)
    st = RequestStatus.parse(status)
    _wire.validate_reason(reason)
    call = _wire.handle_call(rtype, repo_id, _wire.UserRef.parse(user), st, reason)
    _remember("handle", repo_id, repo_type, call.path)
    return call


def _grant_call(repo_id: str, user: UserArg, repo_type: RepoTypeArg) -> Call:
    """The checked call of :meth:`AccessSession.grant` (a remembered repo: only the user is
    checked, as in :func:`_handle_call`)."""
    if user.__class__ is str:
        try:
            path = _CHECKED_PATHS.get(("grant", repo_id, repo_type))
        except TypeError:  # an unhashable repo id or type: the checks below name it
            path = None
        if path is not None and is_username(user):
            return make_call("POST", path, None, {"user": user}, True)
    rtype = RepoType.parse(repo_type)
    _wire.validate_repo_id(repo_id)
    call = _wire.grant_call(rtype, repo_id, _wire.UserRef.parse(user, allow_request_id=False))
    _remember("grant", repo_id, repo_type, call.path)
    return call


class AccessSession(SessionBase):
    """One connection pool, one rate limiter and one retry loop for every call to the Hub.

    Use it as an async context manager::

        async with AccessSession(token="hf_...") as hub:
            pending = await hub.list_pending("my-org/gated-model")

    Args:
        token: a token with write access to the repos. Default: ``HF_TOKEN``, else the file
            ``$HF_TOKEN_PATH`` (default ``$HF_HOME/token``). Never shown in ``repr``, logs or errors.
        endpoint: the Hub's URL. Default: ``HF_ENDPOINT``, else ``https://huggingface.co``.
        options: a :class:`~hf_access.ClientOptions` (pool, timeouts, retries, quota or
            limiter, injectable clocks); the same fields may be given as keyword arguments,
            which override it.
    """

    def __init__(
        self,
        token: str | None = None,
        endpoint: str | None = None,
        *,
        options: ClientOptions | None = None,
        **overrides: Unpack[ClientArgs],
    ) -> None:
        opts = ClientOptions.build(options, overrides)
        self._transport = Transport(
            base_url=_config.resolve_endpoint(endpoint),
            token=_config.resolve_token(token),
            auth_header=_bearer,
            token_hint=_config.TOKEN_HINT,
            rate_parser=parse_ratelimit,
            error_factory=error_from_response,
            options=opts,
        )
        # Set when the Hub answers the batch route with a bare 404 or a 405 (an older Hub):
        # later bulk runs of this session go straight to one handle call per user.
        self._batch_support = BatchSupport()

    # -- lists --------------------------------------------------------------------------------

    def iter_requests(
        self,
        repo_id: str,
        status: RequestStatus | str,
        *,
        repo_type: RepoTypeArg = None,
        search: str | None = None,
        page_size: int | None = None,
        after: datetime | None = None,
    ) -> AsyncIterator[AccessRequest]:
        """Iterate over one list lazily, following the ``Link`` pages (constant memory).

        Arguments are checked now, before anything is sent::

            async for request in hub.iter_requests("org/model", "pending", page_size=100):
                print(request.username, request.fields)

        ``after`` keeps only requests made after that time. A full page without a next link
        may be a list the Hub cut short: the list is then asked once more for what comes after
        the last entry (one extra call when the list is an exact multiple of the page size).
        A warning (:class:`~hf_access.HfAccessWarning`) is given only where that cannot help
        (see :mod:`hf_access.hub.listing`).
        """
        rtype = RepoType.parse(repo_type)
        _wire.validate_repo_id(repo_id)
        st = RequestStatus.parse(status)
        _wire.validate_search(search)
        _wire.validate_page_size(page_size)

        def call_after(since: datetime | None) -> Call:
            return _wire.list_call(
                rtype, repo_id, st, search=search, page_size=page_size, after=since
            )

        call_after(after)  # the arguments are checked now, before anything is sent
        return iter_list(self._send, call_after, after=after, full=page_size or _wire.MAX_PAGE)

    async def list_requests(
        self,
        repo_id: str,
        status: RequestStatus | str,
        *,
        repo_type: RepoTypeArg = None,
        search: str | None = None,
        page_size: int | None = None,
        after: datetime | None = None,
    ) -> list[AccessRequest]:
        """Every entry of one list (all pages)."""
        iterator = self.iter_requests(
            repo_id, status, repo_type=repo_type, search=search, page_size=page_size, after=after
        )
        return [item async for item in iterator]

    async def list_pending(
        self, repo_id: str, *, repo_type: RepoTypeArg = None, search: str | None = None
    ) -> list[AccessRequest]:
        """Requests waiting for a decision (``GET .../user-access-request/pending``)."""
        return await self.list_requests(repo_id, "pending", repo_type=repo_type, search=search)

    async def list_accepted(
        self, repo_id: str, *, repo_type: RepoTypeArg = None, search: str | None = None
    ) -> list[AccessRequest]:
        """Users with access (``GET .../user-access-request/accepted``)."""
        return await self.list_requests(repo_id, "accepted", repo_type=repo_type, search=search)

    async def list_rejected(
        self, repo_id: str, *, repo_type: RepoTypeArg = None, search: str | None = None
    ) -> list[AccessRequest]:
        """Users blocked from the repo (``GET .../user-access-request/rejected``)."""
        return await self.list_requests(repo_id, "rejected", repo_type=repo_type, search=search)

    async def list_reset(
        self, repo_id: str, *, repo_type: RepoTypeArg = None, search: str | None = None
    ) -> list[AccessRequest]:
        """Users whose request was reset (``GET .../user-access-request/reset``)."""
        return await self.list_requests(repo_id, "reset", repo_type=repo_type, search=search)

    # -- single decisions ---------------------------------------------------------------------

    async def handle(
        self,
        repo_id: str,
        user: UserArg,
        status: RequestStatus | str,
        *,
        repo_type: RepoTypeArg = None,
        reason: str | None = None,
    ) -> None:
        """Move one request to ``status`` (``POST .../user-access-request/handle``).

        The Hub answers a move to the status the request already has with the same 404 as
        "no request" (:class:`~hf_access.RequestNotFoundError`).
        """
        await self._send(_handle_call(repo_id, user, status, repo_type, reason))

    async def accept(self, repo_id: str, user: UserArg, *, repo_type: RepoTypeArg = None) -> None:
        """Accept a request: the user gets access."""
        await self._send(_handle_call(repo_id, user, RequestStatus.ACCEPTED, repo_type, None))

    async def reject(
        self,
        repo_id: str,
        user: UserArg,
        *,
        repo_type: RepoTypeArg = None,
        reason: str | None = None,
    ) -> None:
        """Reject a request (or revoke access): the user cannot ask again. ``reason`` <= 200 chars."""
        await self._send(_handle_call(repo_id, user, RequestStatus.REJECTED, repo_type, reason))

    async def cancel(self, repo_id: str, user: UserArg, *, repo_type: RepoTypeArg = None) -> None:
        """Move a request back to pending (an accepted user loses access)."""
        await self._send(_handle_call(repo_id, user, RequestStatus.PENDING, repo_type, None))

    async def reset(
        self,
        repo_id: str,
        user: UserArg,
        *,
        repo_type: RepoTypeArg = None,
        reason: str | None = None,
    ) -> None:
        """Reset a request: the user loses access and must ask again (e-mailed ``reason``)."""
        await self._send(_handle_call(repo_id, user, RequestStatus.RESET, repo_type, reason))

    async def grant(self, repo_id: str, user: UserArg, *, repo_type: RepoTypeArg = None) -> None:
        """Give a user access without a request (``POST .../user-access-request/grant``).

        Raises :class:`~hf_access.AlreadyHasAccessError` when the user already has access.
        """
        await self._send(_grant_call(repo_id, user, repo_type))

    # -- batch --------------------------------------------------------------------------------

    async def batch(
        self,
        repo_id: str,
        status: RequestStatus | str,
        users: UserArg | Sequence[UserArg],
        *,
        repo_type: RepoTypeArg = None,
        reason: str | None = None,
    ) -> list[BatchResult]:
        """One call of the batch endpoint: 1 to 100 users moved to ``status``.

        ``users`` is a list, or one user (a ``str`` is one user name, never its letters).

        Returns one :class:`~hf_access.BatchResult` per user, in input order. An item already in
        ``status`` is ``ok``; an unknown user or request is ``ok=False`` with the Hub's code.
        """
        rtype = RepoType.parse(repo_type)
        _wire.validate_repo_id(repo_id)
        st = RequestStatus.parse(status)
        listed = [users] if isinstance(users, str | UserRef | AccessRequest) else users
        refs = [_wire.UserRef.parse(u) for u in listed]
        call = _wire.batch_call(rtype, repo_id, st, reason, refs)
        response = await self._send(call)
        return _wire.decode_batch(response.json(), refs)

    # -- settings and report ------------------------------------------------------------------

    async def get_gating(self, repo_id: str, *, repo_type: RepoTypeArg = None) -> GatingMode:
        """The repo's gating mode (``GET /api/{type}s/{repo}?expand[]=gated``)."""
        rtype = RepoType.parse(repo_type)
        _wire.validate_repo_id(repo_id)
        response = await self._send(_wire.gating_call(rtype, repo_id))
        return decode_gating(response.json())

    async def set_gating(
        self,
        repo_id: str,
        mode: GatingMode | str | bool | None = None,
        *,
        repo_type: RepoTypeArg = None,
        notifications_mode: NotificationsMode | str | None = None,
        notifications_email: str | None = None,
        org_members_gated: bool | None = None,
    ) -> None:
        """Change gating settings (``PUT .../settings``); only the settings given are sent.

        ``mode`` is ``"auto"``, ``"manual"`` or ``"off"``/``False``.
        """
        rtype = RepoType.parse(repo_type)
        _wire.validate_repo_id(repo_id)
        body = _wire.settings_body(
            mode=mode,
            notifications_mode=notifications_mode,
            notifications_email=notifications_email,
            org_members_gated=org_members_gated,
        )
        await self._send(_wire.settings_call(rtype, repo_id, body))

    async def access_report(
        self, repo_id: str, *, repo_type: RepoTypeArg = None
    ) -> list[ReportEntry]:
        """Every request in every status (``GET /{repo}/user-access-report``, no ``/api``)."""
        rtype = RepoType.parse(repo_type)
        _wire.validate_repo_id(repo_id)
        response = await self._send(_wire.report_call(rtype, repo_id))
        return decode_report(response.json())

    # -- access as code and the inbox ------------------------------------------------------------

    async def plan_access(
        self,
        repo_id: str,
        desired: Iterable[str] | AccessSource,
        *,
        remove: RemoveMode | str = "cancel",
        reason: str | None = None,
        include_rejected: bool = False,
        repo_type: RepoTypeArg = None,
    ) -> AccessPlan:
        """What it takes to make ``repo_id``'s access equal to ``desired``; sends no write.

        ``desired`` is user names (or ``request:<id>``), or
        :meth:`AccessSource.from_repo` (the accepted users of another repo). Users with no
        request are granted, pending or reset ones accepted, rejected ones reported (accepted
        too with ``include_rejected``), and accepted users not wanted are moved away by
        ``remove``: ``"reject"`` or ``"reset"`` (with ``reason``), ``"cancel"``, or ``"keep"``::

            plan = await hub.plan_access("org/model", ["alice", "bob"], remove="keep")
            print(plan.diff())

        Reading the lists costs one call per 1,000 entries per status.
        """
        from . import sync as _sync  # imported on first use: import hf_access stays cheap

        return await _sync.plan_access(
            self,
            repo_id,
            desired,
            remove=remove,
            reason=reason,
            include_rejected=include_rejected,
            repo_type=repo_type,
        )

    async def apply_plan(
        self,
        plan: AccessPlan,
        *,
        journal: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
        concurrency: int = 16,
        use_batch: bool = True,
        on_progress: OnProgress | None = None,
    ) -> BulkReport[Decision]:
        """Apply a plan through the bulk engine (batched, resumable with ``journal``)::

            report = await hub.apply_plan(plan, journal="sync.jsonl")
            print(report.summary())

        A plan in sync sends nothing. Options are those of :meth:`start_bulk`.
        """
        from . import sync as _sync

        return await _sync.apply_plan(
            self,
            plan,
            journal=journal,
            dry_run=dry_run,
            concurrency=concurrency,
            use_batch=use_batch,
            on_progress=on_progress,
        )

    def inbox(
        self,
        namespaces: Iterable[str] | None = None,
        *,
        repo_types: Sequence[RepoType | str] = ("model", "dataset", "space"),
        concurrency: int = 4,
        now: datetime | None = None,
    ) -> AsyncIterator[InboxRow]:
        """Every gated repo of the namespaces, with its pending count and delays::

            async for row in hub.inbox(["my-org"]):
                print(row.repo_id, row.pending, row.oldest_pending_age)

        ``namespaces`` defaults to the token's user and the organisations where its role is
        admin or write (``GET /api/whoami-v2``). Arguments are checked now. See
        :mod:`hf_access.hub.inbox` for what each figure counts and what it costs.
        """
        from . import inbox as _inbox

        return _inbox.inbox(
            self, namespaces, repo_types=repo_types, concurrency=concurrency, now=now
        )

    # -- watching -------------------------------------------------------------------------------

    def watch(self, repo_ids: str | Iterable[str], **options: Unpack[WatchOptions]) -> Watcher:
        """Poll repos for new access requests (the Hub has no webhook for them)::

            async with hub.watch(["org/model"], state_file="watch.json") as events:
                async for event in events:
                    print(event.repo_id, event.request.label)

        Each poll asks only for requests newer than the last one seen, backs off while nothing
        arrives, shares this session's limiter, and rides out transient errors; auth errors
        and a missing repo are raised. ``options`` are :class:`~hf_access.hub.watch.WatchOptions`
        (``statuses``, ``repo_type``, ``interval``, ``max_interval``, ``include_existing``,
        ``state_file``, ...).
        """
        from .watch import Watcher  # imported on first use: import hf_access stays cheap

        return Watcher(self, repo_ids, **options)

    # -- bulk -----------------------------------------------------------------------------------

    def start_bulk(
        self, decisions: Iterable[DecisionLike], **options: Unpack[BulkOptions]
    ) -> BulkRun:
        """A :class:`~hf_access.hub.bulk.BulkRun` over mixed decisions, not started yet.

        Await it for the report; keep it to read ``run.report()`` after a cancellation.
        Every decision is checked now (ValueError), before anything is sent. The options
        (``concurrency``, ``use_batch``, ``precheck``, ``on_progress``, ``journal``,
        ``dry_run``) are those of every ``*_many`` method: see
        :class:`~hf_access.hub.bulk.BulkOptions`.

        Args:
            decisions: :class:`~hf_access.Decision` records or ``(repo_id, user, action[, reason])``.
        """
        return BulkRun(self._transport, self._batch_support, decisions, **options)

    async def decide_many(
        self, decisions: Iterable[DecisionLike], **options: Unpack[BulkOptions]
    ) -> BulkReport[Decision]:
        """Run mixed decisions across many repos; one outcome per decision, in input order.

        ::

            report = await hub.decide_many([
                Decision("org/model-a", "alice", "accept"),
                Decision("org/model-b", "mallory", "reject", reason="sanctioned country"),
            ])

        ``options`` are those of :meth:`start_bulk`.
        """
        return await self.start_bulk(decisions, **options)

    async def _many(
        self,
        action: Action,
        repo_ids: str | Sequence[str],
        users: UserArg | Iterable[UserArg],
        reason: str | None,
        repo_type: RepoTypeArg,
        options: BulkOptions,
    ) -> BulkReport[Decision]:
        decisions = decisions_for(repo_ids, users, action, reason=reason, repo_type=repo_type)
        return await self.decide_many(decisions, **options)

    async def accept_many(
        self,
        repo_ids: str | Sequence[str],
        users: UserArg | Iterable[UserArg],
        *,
        repo_type: RepoTypeArg = None,
        **options: Unpack[BulkOptions],
    ) -> BulkReport[Decision]:
        """Accept many users on one repo or each of many (batch route, 100 per call)::

            report = await hub.accept_many("org/model", ["alice", "bob"], journal="run.jsonl")
            assert report.ok, report.failures()

        ``options`` are those of :meth:`start_bulk` (``concurrency``, ``use_batch``,
        ``precheck``, ``on_progress``, ``journal``, ``dry_run``).
        """
        return await self._many(Action.ACCEPT, repo_ids, users, None, repo_type, options)

    async def reject_many(
        self,
        repo_ids: str | Sequence[str],
        users: UserArg | Iterable[UserArg],
        *,
        reason: str | None = None,
        repo_type: RepoTypeArg = None,
        **options: Unpack[BulkOptions],
    ) -> BulkReport[Decision]:
        """Reject (or revoke) many users; ``reason`` (<= 200 characters) goes to every one."""
        return await self._many(Action.REJECT, repo_ids, users, reason, repo_type, options)

    async def cancel_many(
        self,
        repo_ids: str | Sequence[str],
        users: UserArg | Iterable[UserArg],
        *,
        repo_type: RepoTypeArg = None,
        **options: Unpack[BulkOptions],
    ) -> BulkReport[Decision]:
        """Move many users back to pending (accepted users lose access)."""
        return await self._many(Action.CANCEL, repo_ids, users, None, repo_type, options)

    async def reset_many(
        self,
        repo_ids: str | Sequence[str],
        users: UserArg | Iterable[UserArg],
        *,
        reason: str | None = None,
        repo_type: RepoTypeArg = None,
        **options: Unpack[BulkOptions],
    ) -> BulkReport[Decision]:
        """Reset many users: they lose access and must ask again (e-mailed ``reason``)."""
        return await self._many(Action.RESET, repo_ids, users, reason, repo_type, options)

    async def grant_many(
        self,
        repo_ids: str | Sequence[str],
        users: UserArg | Iterable[UserArg],
        *,
        repo_type: RepoTypeArg = None,
        **options: Unpack[BulkOptions],
    ) -> BulkReport[Decision]:
        """Grant access to many users on one repo or each of many (one call per user).

        A user who already has access is ``unchanged``.
        """
        return await self._many(Action.GRANT, repo_ids, users, None, repo_type, options)
