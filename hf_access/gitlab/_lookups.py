"""Members and users: the look-ups the session and the bulk executor resolve decisions with.

A :class:`Directory` sends its calls through the session's transport and keeps the names it
learns (:class:`~hf_access.gitlab._names.NameCache`); the session and the bulk executor share
one, so a name is looked up once per session.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator

import attrs

from ..core.errors import (
    HfAccessWarning,
    NotFoundError,
    RepoNotFoundError,
    TransportError,
    UserNotFoundError,
)
from ..core.paging import iter_pages
from ..core.transport import Transport
from . import wire as _wire
from ._names import NameCache
from .convert import decode_member, decode_requests, decode_users
from .models import GitLabAccessRequest, GitLabMember, GitLabUser, TargetKind
from .wire import Target, UserArg

__all__ = ["Directory"]


@attrs.define
class Directory:
    """Look-ups over one transport, with the names learnt so far."""

    transport: Transport
    names: NameCache = attrs.Factory(NameCache)
    # Per target: how many reads of its list have ended, and the last one's failure when the
    # server could not be reached (shared with the tasks that waited while it ran).
    _reads: dict[tuple[TargetKind, str], int] = attrs.field(factory=dict, init=False)
    _unreachable: dict[tuple[TargetKind, str], TransportError] = attrs.field(
        factory=dict, init=False
    )

    async def requests(
        self, kind: TargetKind, target: str, page_size: int
    ) -> AsyncIterator[GitLabAccessRequest]:
        """Every pending request of a target (checked arguments), learning names as it goes."""
        first = _wire.list_call(kind, target, page_size)
        async for page in iter_pages(self.transport.send, first, decode_requests, _wire.next_link):
            for item in page.items:
                self.names.learn((kind, target), item.username, item.id)
                yield item
            cut = page.next_url is None and not _wire.has_pagination(page.response.headers)
            if cut and len(page.items) >= page_size:
                warnings.warn(
                    f"{first.path}: a full page of {len(page.items)} came without pagination "
                    "headers; the list may be cut short",
                    HfAccessWarning,
                    stacklevel=2,
                )

    async def member(
        self, kind: TargetKind, target: Target, user_id: int, *, inherited: bool = True
    ) -> GitLabMember | None:
        """The membership of ``user_id``, or None when not a member."""
        try:
            response = await self.transport.send(
                _wire.member_call(kind, target, user_id, inherited=inherited)
            )
        except NotFoundError as exc:
            if isinstance(exc, RepoNotFoundError | UserNotFoundError):
                raise
            return None
        return decode_member(response.json())

    async def find_user(self, username: str) -> GitLabUser | None:
        """``GET /users?username=``: the user, or None when no user has that name."""
        name = _wire.validate_username(username)
        response = await self.transport.send(_wire.users_call(name))
        for found in decode_users(response.json()):
            if found.username.lower() == name.lower():
                self.names.learn_user(found.username, found.id)
                return found
        return None

    async def resolve_user(self, kind: TargetKind, target: Target, user: UserArg) -> int:
        """The user id of ``user``: given, from the target's requests (cached), or ``/users``.

        Raises :class:`~hf_access.UserNotFoundError` for a name no user has.
        """
        ref = _wire.user_ref(user)
        if isinstance(ref, int):
            return ref
        known = self.names.lookup((kind, _wire.validate_target(target)), ref)
        if known is not None:
            return known
        found = await self.find_user(ref)
        if found is None:
            raise UserNotFoundError(
                f"no GitLab user is named {ref!r}",
                status=404,
                method="GET",
                url=f"{self.transport.base_url}/users?username={ref}",
            )
        return found.id

    async def load_requesters(self, kind: TargetKind, target: Target) -> None:
        """Read the target's request list once (cached), so names resolve without look-ups."""
        where = (kind, _wire.validate_target(target))
        tried = self._reads.get(where, 0)
        async with self.names.lock(where):
            if self.names.is_complete(where):
                return
            failure = self._unreachable.get(where)
            if failure is not None and self._reads.get(where, 0) != tried:
                # The read this task waited for found the server unreachable (after its
                # retries): fail now instead of retrying it once more per waiting task.
                shared = type(failure)(str(failure))
                shared.unreachable = True
                raise shared
            self._unreachable.pop(where, None)
            try:
                async for _ in self.requests(kind, where[1], _wire.DEFAULT_PAGE_SIZE):
                    pass
            except TransportError as exc:
                if exc.unreachable:
                    self._unreachable[where] = exc
                raise
            finally:
                self._reads[where] = self._reads.get(where, 0) + 1  # reads that ended
            self.names.mark_complete(where)
