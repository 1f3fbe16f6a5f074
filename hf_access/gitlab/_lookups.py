"""Members and users: the look-ups the session and the bulk engine resolve decisions with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, RepoNotFoundError, UserNotFoundError
from . import _wire
from ._convert import decode_member, decode_users
from ._names import NameCache
from ._wire import Target, UserArg
from .models import GitLabAccessRequest, GitLabMember, GitLabUser, TargetKind

if TYPE_CHECKING:
    from .._http import Response

KindArg = TargetKind | str


class Lookups:
    """Mixed into :class:`~hf_access.gitlab.GitLabSession`."""

    _names: NameCache

    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...

        async def _request(
            self,
            method: str,
            path: str,
            *,
            params: Mapping[str, str] | None = None,
            json_body: Any = None,
        ) -> Response: ...

        async def list_requests(
            self, target: Target, *, kind: KindArg = ..., per_page: int = ...
        ) -> list[GitLabAccessRequest]: ...

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
        user_id = await self.resolve_user(target, user, kind=k)
        try:
            response = await self._request(
                "GET", _wire.member_path(k, target, user_id, inherited=inherited)
            )
        except NotFoundError as exc:
            if isinstance(exc, RepoNotFoundError | UserNotFoundError):
                raise
            return None
        return decode_member(response.json())

    async def find_user(self, username: str) -> GitLabUser | None:
        """``GET /users?username=``: the user, or None when no user has that name."""
        name = _wire.validate_username(username)
        response = await self._request("GET", "users", params={"username": name})
        for found in decode_users(response.json()):
            if found.username.lower() == name.lower():
                self._names.learn_user(found.username, found.id)
                return found
        return None

    async def resolve_user(
        self, target: Target, user: UserArg, *, kind: KindArg = TargetKind.PROJECT
    ) -> int:
        """The user id of ``user``: given, from the target's requests (cached), or ``/users``.

        Raises :class:`~hf_access.UserNotFoundError` for a name no user has.
        """
        ref = _wire.user_ref(user)
        if isinstance(ref, int):
            return ref
        where = (TargetKind.parse(kind), _wire.validate_target(target))
        known = self._names.lookup(where, ref)
        if known is not None:
            return known
        found = await self.find_user(ref)
        if found is None:
            raise UserNotFoundError(
                f"no GitLab user is named {ref!r}",
                status=404,
                method="GET",
                url=f"{self.url}/users?username={ref}",
            )
        return found.id

    async def load_requesters(self, target: Target, *, kind: KindArg = TargetKind.PROJECT) -> None:
        """Read the target's request list once (cached), so names resolve without look-ups."""
        where = (TargetKind.parse(kind), _wire.validate_target(target))
        async with self._names.lock(where):
            if not self._names.is_complete(where):
                await self.list_requests(target, kind=where[0])
