"""The async GitLab session: list, request, approve and deny access to projects and groups.

>>> import asyncio
>>> from hf_access.gitlab import AccessLevel, GitLabSession
>>> async def main() -> None:
...     async with GitLabSession(url="https://gitlab.example.com") as gl:  # token: GITLAB_TOKEN
...         for request in await gl.list_requests("acme/app"):
...             await gl.approve("acme/app", request, access_level=AccessLevel.REPORTER)
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import aiohttp

from .._http import RetryPolicy, Timeout, Transport
from .._session_base import SessionBase, make_limiter
from .._wire import RateLimitInfo
from ..errors import HfAccessWarning
from ..ratelimit import Quota, RateLimiter
from . import _config, _wire
from ._convert import decode_member, decode_request, decode_requests
from ._lookups import Lookups
from ._names import NameCache
from ._wire import Target, UserArg
from .bulk import GitLabBulkOptions, GitLabBulkRun, ProgressCallback, decisions_for
from .bulk_models import GitLabBulkReport, GitLabDecision
from .errors import gitlab_error
from .models import AccessLevel, GitLabAccessRequest, GitLabMember, TargetKind

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["GitLabSession"]

KindArg = TargetKind | str


def _private_token(token: str) -> tuple[str, str]:
    return ("PRIVATE-TOKEN", token)


class GitLabSession(SessionBase, Lookups):
    """One connection pool, rate limiter and retry loop for GitLab's access-request API.

    Built on the same transport as :class:`~hf_access.AccessSession` (same options, same
    limiter, same typed errors)::

        async with GitLabSession(url="https://gitlab.example.com", token="glpat-...") as gl:
            pending = await gl.list_requests("acme/app")
            await gl.approve("acme/app", "alice", access_level="reporter")
            await gl.deny("acme", 42, kind="group")

    Targets are a numeric id or a full path (``"group/subgroup/project"``, encoded for you);
    ``kind`` says whether it is a ``"project"`` (default) or a ``"group"``. Users are a user id,
    a user name (resolved to its id) or a record that has an ``id``.

    Args:
        url: ``https://<host>`` (``/api/v4`` is appended unless present). Default:
            ``GITLAB_URL``, else ``https://gitlab.com``.
        token: sent as ``PRIVATE-TOKEN``. Default: ``GITLAB_TOKEN``. Never shown in ``repr``.
        session, connection_limit, timeout, retry, quota, limiter, allow_insecure_http,
        user_agent, sleep, rng: as for :class:`~hf_access.AccessSession`.
        clock: epoch seconds, used to read ``RateLimit-Reset`` and to pace the limiter this
            session creates (injectable for tests; default: the system clocks).
    """

    _url_name = "url"

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        connection_limit: int = 64,
        timeout: Timeout = Timeout(),
        retry: RetryPolicy = RetryPolicy(),
        quota: Quota | None = None,
        limiter: RateLimiter | None = None,
        allow_insecure_http: bool = False,
        user_agent: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        limiter = make_limiter(quota, limiter, clock=clock or time.monotonic, sleep=sleep)
        wall = clock or time.time

        def rate_parser(headers: Mapping[str, str]) -> RateLimitInfo:
            return _wire.parse_gitlab_ratelimit(headers, now=wall())

        self._transport = Transport(
            base_url=_wire.normalize_api_url(_config.resolve_url(url)),
            token=_config.resolve_token(token),
            auth_header=_private_token,
            token_hint=_config.TOKEN_HINT,
            rate_parser=rate_parser,
            error_factory=gitlab_error,
            session=session,
            connection_limit=connection_limit,
            timeout=timeout,
            retry=retry,
            limiter=limiter,
            allow_insecure_http=allow_insecure_http,
            user_agent=user_agent,
            sleep=sleep,
            rng=rng,
        )
        self._names = NameCache()

    @property
    def url(self) -> str:
        """The API root, ``https://<host>/api/v4``."""
        return self._transport.base_url

    # -- lists --------------------------------------------------------------------------------

    def iter_requests(
        self,
        target: Target,
        *,
        kind: KindArg = TargetKind.PROJECT,
        per_page: int = _wire.DEFAULT_PER_PAGE,
    ) -> AsyncIterator[GitLabAccessRequest]:
        """Iterate lazily over the pending requests, page by page (arguments checked now).

        Example::

            async for request in gl.iter_requests("acme", kind="group"):
                print(request.id, request.username, request.requested_at)
        """
        k = TargetKind.parse(kind)
        path = _wire.requests_path(k, target)
        _wire.validate_per_page(per_page)
        return self._pages(k, _wire.validate_target(target), path, per_page)

    async def _pages(
        self, kind: TargetKind, target: str, path: str, per_page: int
    ) -> AsyncIterator[GitLabAccessRequest]:
        next_url: str | None = path
        params: Mapping[str, str] | None = {"per_page": str(per_page)}
        while next_url is not None:
            response = await self._request("GET", next_url, params=params)
            items = decode_requests(response.json())
            for item in items:
                self._names.learn((kind, target), item.username, item.id)
                yield item
            next_url = _wire.next_page_url(response.headers, response.url, params)
            params = None  # the next URL holds its query
            cut = next_url is None and not _wire.has_pagination(response.headers)
            if cut and len(items) >= per_page:
                warnings.warn(
                    f"{path}: a full page of {len(items)} came without pagination headers; "
                    "the list may be cut short",
                    HfAccessWarning,
                    stacklevel=2,
                )

    async def list_requests(
        self,
        target: Target,
        *,
        kind: KindArg = TargetKind.PROJECT,
        per_page: int = _wire.DEFAULT_PER_PAGE,
    ) -> list[GitLabAccessRequest]:
        """Every pending request of a project or group (all pages)."""
        iterator = self.iter_requests(target, kind=kind, per_page=per_page)
        result = [item async for item in iterator]
        self._names.mark_complete((TargetKind.parse(kind), _wire.validate_target(target)))
        return result

    # -- decisions ----------------------------------------------------------------------------

    async def request_access(
        self, target: Target, *, kind: KindArg = TargetKind.PROJECT
    ) -> GitLabAccessRequest:
        """Ask for access as the token's user (``POST .../access_requests``)."""
        k = TargetKind.parse(kind)
        response = await self._request("POST", _wire.requests_path(k, target))
        return decode_request(response.json())

    async def approve(
        self,
        target: Target,
        user: UserArg,
        *,
        kind: KindArg = TargetKind.PROJECT,
        access_level: AccessLevel | int | str = AccessLevel.DEVELOPER,
    ) -> GitLabMember:
        """Approve a request: the user becomes a member with ``access_level`` (default developer).

        ``PUT .../access_requests/:user_id/approve?access_level=N``; returns the new member.
        Raises :class:`~hf_access.RequestNotFoundError` when there is no such request.
        """
        k = TargetKind.parse(kind)
        _wire.validate_target(target)
        level = _wire.validate_access_level(access_level)
        user_id = await self.resolve_user(target, user, kind=k)
        response = await self._request(
            "PUT",
            _wire.approve_path(k, target, user_id),
            params={"access_level": str(int(level))},
        )
        return decode_member(response.json())

    async def deny(
        self, target: Target, user: UserArg, *, kind: KindArg = TargetKind.PROJECT
    ) -> None:
        """Deny (delete) a request: ``DELETE .../access_requests/:user_id`` (204).

        Raises :class:`~hf_access.RequestNotFoundError` when there is no such request.
        """
        k = TargetKind.parse(kind)
        _wire.validate_target(target)
        user_id = await self.resolve_user(target, user, kind=k)
        await self._request("DELETE", _wire.request_path(k, target, user_id))

    # -- bulk ---------------------------------------------------------------------------------

    def start_bulk(
        self,
        decisions: Iterable[GitLabDecision],
        *,
        concurrency: int = 8,
        on_progress: ProgressCallback | None = None,
        journal: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
    ) -> GitLabBulkRun:
        """A :class:`~hf_access.gitlab.bulk.GitLabBulkRun`, not started yet (checked now).

        Await it for the report; keep it to read ``run.report()`` after a cancellation.

        Args:
            decisions: :class:`~hf_access.gitlab.GitLabDecision` records.
            concurrency: calls in flight at once (all of them through the shared limiter).
            on_progress: called with a :class:`~hf_access.gitlab.GitLabBulkProgress` per item.
            journal: a JSON Lines file; finished items are appended as they end, and a rerun
                with the same file skips what is done.
            dry_run: send nothing; the report's ``plan`` lists the calls.
        """
        return GitLabBulkRun(
            self,
            decisions,
            concurrency=concurrency,
            on_progress=on_progress,
            journal=journal,
            dry_run=dry_run,
        )

    async def decide_many(
        self, decisions: Iterable[GitLabDecision], **options: Unpack[GitLabBulkOptions]
    ) -> GitLabBulkReport:
        """Run mixed decisions and return the report (``options`` as for :meth:`start_bulk`)."""
        return await self.start_bulk(decisions, **options)

    async def approve_many(
        self,
        targets: Target | Iterable[Target],
        users: UserArg | Iterable[UserArg],
        *,
        access_level: AccessLevel | int | str = AccessLevel.DEVELOPER,
        kind: KindArg = TargetKind.PROJECT,
        **options: Unpack[GitLabBulkOptions],
    ) -> GitLabBulkReport:
        """Approve every user on every target, one call per user::

            report = await gl.approve_many(["acme/app", "acme/lib"], ["alice", 42])
            assert report.ok, report.failures()

        ``options`` as for :meth:`start_bulk`; the outcome rules are in
        :mod:`hf_access.gitlab.bulk`.
        """
        decisions = decisions_for(targets, users, "approve", kind=kind, access_level=access_level)
        return await self.decide_many(decisions, **options)

    async def deny_many(
        self,
        targets: Target | Iterable[Target],
        users: UserArg | Iterable[UserArg],
        *,
        kind: KindArg = TargetKind.PROJECT,
        **options: Unpack[GitLabBulkOptions],
    ) -> GitLabBulkReport:
        """Deny every user's request on every target (rules in :mod:`hf_access.gitlab.bulk`)."""
        decisions = decisions_for(targets, users, "deny", kind=kind)
        return await self.decide_many(decisions, **options)
