"""The async GitLab session: list, request, approve and deny access to projects and groups.

>>> import asyncio
>>> from hf_access.gitlab import AccessLevel, GitLabSession
>>> async def main() -> None:
...     async with GitLabSession(endpoint="https://gitlab.example.com") as gl:  # token: GITLAB_TOKEN
...         for request in await gl.list_requests("acme/app"):
...             await gl.approve("acme/app", request, access_level=AccessLevel.REPORTER)
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from ..core.client import SessionBase
from ..core.config import ClientArgs, ClientOptions
from ..core.transport import Transport
from . import config as _config
from . import wire as _wire
from ._lookups import Directory
from .bulk import (
    GitLabBulkOptions,
    GitLabBulkReport,
    GitLabBulkRun,
    GitLabDecision,
    decisions_for,
)
from .convert import decode_member, decode_request, decode_user
from .errors import gitlab_error
from .models import AccessLevel, GitLabAccessRequest, GitLabMember, GitLabUser, TargetKind
from .wire import Target, UserArg

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["GitLabSession"]

KindArg = TargetKind | str


def _private_token(token: str) -> tuple[str, str]:
    return ("PRIVATE-TOKEN", token)


def _page_size(page_size: int | None, per_page: int | None, *, stacklevel: int = 3) -> int:
    """The page size from ``page_size``, or from ``per_page``, its deprecated old name (with
    a DeprecationWarning); both given is a ValueError. Checked (1 to 100)."""
    if per_page is None:
        if page_size is None:
            return _wire.DEFAULT_PAGE_SIZE
        return _wire.validate_page_size(page_size)
    if page_size is not None:
        raise ValueError("give page_size or per_page (its deprecated old name), not both")
    warnings.warn(
        "per_page is deprecated: use page_size (the same value, as the Hub's listing names it)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return _wire.validate_per_page(per_page)


class GitLabSession(SessionBase):
    """One connection pool, rate limiter and retry loop for GitLab's access-request API.

    Built on the same transport as :class:`~hf_access.AccessSession` (same options, same
    limiter, same typed errors)::

        async with GitLabSession("glpat-...", "https://gitlab.example.com") as gl:
            pending = await gl.list_requests("acme/app")
            await gl.approve("acme/app", "alice", access_level="reporter")
            await gl.deny("acme", 42, kind="group")

    Targets are a numeric id or a full path (``"group/subgroup/project"``, encoded for you);
    ``kind`` says whether it is a ``"project"`` (default) or a ``"group"``. Users are a user id,
    a user name (resolved to its id) or a record that has an ``id``.

    Args:
        token: sent as ``PRIVATE-TOKEN``. Default: ``GITLAB_TOKEN``. Never shown in ``repr``.
        endpoint: ``https://<host>`` (``/api/v4`` is appended unless present). Default:
            ``GITLAB_URL``, else ``https://gitlab.com``.
        options: a :class:`~hf_access.ClientOptions`, or its fields as keyword arguments, as
            for :class:`~hf_access.AccessSession`.
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
            base_url=_wire.normalize_api_url(_config.resolve_url(endpoint)),
            token=_config.resolve_token(token),
            auth_header=_private_token,
            token_hint=_config.TOKEN_HINT,
            rate_parser=_wire.parse_gitlab_ratelimit,
            error_factory=gitlab_error,
            options=opts,
        )
        self._directory = Directory(self._transport)

    @property
    def url(self) -> str:
        """The API root, ``https://<host>/api/v4`` (the same as :attr:`endpoint`)."""
        return self._transport.base_url

    # -- lists --------------------------------------------------------------------------------

    def iter_requests(
        self,
        target: Target,
        *,
        kind: KindArg = TargetKind.PROJECT,
        page_size: int | None = None,
        per_page: int | None = None,
    ) -> AsyncIterator[GitLabAccessRequest]:
        """Iterate lazily over the pending requests, page by page (arguments checked now).

        ``page_size``: requests per call, 1 to 100 (default 100), as the Hub's listing names
        it; ``per_page`` is its deprecated old name. Example::

            async for request in gl.iter_requests("acme", kind="group"):
                print(request.id, request.username, request.requested_at)
        """
        k = TargetKind.parse(kind)
        size = _page_size(page_size, per_page)
        return self._directory.requests(k, _wire.validate_target(target), size)

    async def list_requests(
        self,
        target: Target,
        *,
        kind: KindArg = TargetKind.PROJECT,
        page_size: int | None = None,
        per_page: int | None = None,
    ) -> list[GitLabAccessRequest]:
        """Every pending request of a project or group (all pages; ``page_size`` as for
        :meth:`iter_requests`)."""
        size = _page_size(page_size, per_page, stacklevel=3)
        iterator = self.iter_requests(target, kind=kind, page_size=size)
        result = [item async for item in iterator]
        self._directory.names.mark_complete((TargetKind.parse(kind), _wire.validate_target(target)))
        return result

    # -- decisions ----------------------------------------------------------------------------

    async def request_access(
        self, target: Target, *, kind: KindArg = TargetKind.PROJECT
    ) -> GitLabAccessRequest:
        """Ask for access as the token's user (``POST .../access_requests``)."""
        k = TargetKind.parse(kind)
        response = await self._send(_wire.request_access_call(k, target))
        return decode_request(response.json())

    async def approve(
        self,
        target: Target,
        user: UserArg,
        *,
        kind: KindArg = TargetKind.PROJECT,
        access_level: AccessLevel | int | str = _wire.DEFAULT_ACCESS_LEVEL,
    ) -> GitLabMember:
        """Approve a request: the user becomes a member with ``access_level`` (default developer).

        ``PUT .../access_requests/:user_id/approve?access_level=N``; returns the new member.
        Raises :class:`~hf_access.RequestNotFoundError` when there is no such request.
        """
        k = TargetKind.parse(kind)
        _wire.validate_target(target)
        level = _wire.validate_access_level(access_level)
        user_id = await self._directory.resolve_user(k, target, user)
        response = await self._send(_wire.approve_call(k, target, user_id, level))
        return decode_member(response.json())

    async def deny(
        self, target: Target, user: UserArg, *, kind: KindArg = TargetKind.PROJECT
    ) -> None:
        """Deny (delete) a request: ``DELETE .../access_requests/:user_id`` (204).

        Raises :class:`~hf_access.RequestNotFoundError` when there is no such request.
        """
        k = TargetKind.parse(kind)
        _wire.validate_target(target)
        user_id = await self._directory.resolve_user(k, target, user)
        await self._send(_wire.deny_call(k, target, user_id))

    # -- members and users ------------------------------------------------------------------

    async def get_member(
        self,
        target: Target,
        user: UserArg,
        *,
        kind: KindArg = TargetKind.PROJECT,
        inherited: bool = True,
    ) -> GitLabMember | None:
        """The user's membership, or None when not a member::

            member = await gl.get_member("acme/app", "alice")  # inherited ones too

        ``GET .../members/all/:user_id`` (``.../members/:user_id`` if not ``inherited``).
        """
        k = TargetKind.parse(kind)
        _wire.validate_target(target)
        user_id = await self._directory.resolve_user(k, target, user)
        return await self._directory.member(k, target, user_id, inherited=inherited)

    async def current_user(self) -> GitLabUser:
        """``GET /user``: the user the token belongs to (its name keys a fleet's quota)."""
        response = await self._send(_wire.current_user_call())
        return decode_user(response.json())

    async def find_user(self, username: str) -> GitLabUser | None:
        """``GET /users?username=``: the user, or None when no user has that name."""
        return await self._directory.find_user(username)

    async def resolve_user(
        self, target: Target, user: UserArg, *, kind: KindArg = TargetKind.PROJECT
    ) -> int:
        """The user id of ``user``: given, from the target's requests (cached), or ``/users``.

        Raises :class:`~hf_access.UserNotFoundError` for a name no user has.
        """
        return await self._directory.resolve_user(TargetKind.parse(kind), target, user)

    async def load_requesters(self, target: Target, *, kind: KindArg = TargetKind.PROJECT) -> None:
        """Read the target's request list once (cached), so names resolve without look-ups."""
        await self._directory.load_requesters(TargetKind.parse(kind), target)

    # -- bulk ---------------------------------------------------------------------------------

    def start_bulk(
        self, decisions: Iterable[GitLabDecision], **options: Unpack[GitLabBulkOptions]
    ) -> GitLabBulkRun:
        """A :class:`~hf_access.gitlab.bulk.GitLabBulkRun`, not started yet (checked now).

        Await it for the report; keep it to read ``run.report()`` after a cancellation.
        ``options``: ``concurrency``, ``on_progress``, ``journal``, ``dry_run`` (see
        :class:`~hf_access.gitlab.bulk.GitLabBulkOptions`).

        Args:
            decisions: :class:`~hf_access.gitlab.GitLabDecision` records.
        """
        return GitLabBulkRun(self._transport, self._directory, decisions, **options)

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
        access_level: AccessLevel | int | str = _wire.DEFAULT_ACCESS_LEVEL,
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
