"""FakeGitLab: the fake GitLab server, its lifecycle and its seeding API."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from aiohttp import web

from .._serving import LocalServer
from ._app import GitLabApp
from ._state import (
    GROUP,
    OWNER,
    PROJECT,
    FakeTarget,
    FakeTargetState,
    FakeUser,
    GitLabState,
)

ROOT = "root"
ROOT_TOKEN = "glpat-fake-root-token"  # a fixed, fake credential

TargetRef = FakeTarget | str | int


class FakeGitLab(LocalServer):
    """A local, in-memory GitLab serving the access-request API on ``127.0.0.1``.

    ::

        async with FakeGitLab() as gl:
            gl.add_project("acme/app")              # creates the group "acme" too
            gl.seed_requests("acme/app", 3)         # user-000000 .. user-000002 ask access
            async with GitLabSession(url=gl.url, token=gl.token) as client:
                await client.approve("acme/app", "user-000000")
            assert gl.state("acme/app").members == {"user-000000": 30}

    A user ``root`` with the token :attr:`token` (``"glpat-fake-root-token"``, owner of
    everything) exists from the start. Targets given as text are paths of a project; pass
    ``kind="group"`` (or a :class:`FakeTarget`) for groups.

    Args:
        port: the port to bind (0: a free one).
        clock: epoch seconds; drives ``requested_at`` and rate-limit periods.
        quota: calls per user and ``period``, counted as GitLab's Rack::Attack does, with
            ``RateLimit-*`` headers on every answer and ``429 Retry later``; ``None``: no
            limit and no headers (GitLab's default for self-managed instances).
        old_server: lists show ``created_at`` only, not ``requested_at``.
    """

    _name = "fake GitLab"

    def __init__(
        self,
        *,
        port: int = 0,
        clock: Callable[[], float] | None = None,
        quota: int | None = None,
        period: int = 60,
        old_server: bool = False,
    ) -> None:
        self._state = GitLabState(clock or time.time, quota=quota, period=period)
        self._state.add_user(ROOT, "Administrator")
        self._state.add_token(ROOT_TOKEN, ROOT, OWNER)
        self._app = GitLabApp(self._state, old_server=old_server)
        super().__init__(port)

    def _build_app(self) -> web.Application:
        return self._app.build()

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The ``root`` user's token (owner of every project and group)."""
        return ROOT_TOKEN

    # -- seeding --------------------------------------------------------------------------

    def add_project(self, path: str, *, private: bool = False) -> FakeTarget:
        """Create a project (and its missing parent groups); returns it (``.id``).

        >>> FakeGitLab().add_project("acme/tools/app").id
        1
        """
        return self._state.add_target(PROJECT, path, private=private)

    def add_group(self, path: str, *, private: bool = False) -> FakeTarget:
        """Create a group (and its missing parents)."""
        return self._state.add_target(GROUP, path, private=private)

    def add_user(self, username: str, *, name: str | None = None) -> FakeUser:
        """Create a user; ids count from 1 (``root``), so the first one added is 2.

        >>> FakeGitLab().add_user("alice").id
        2
        """
        return self._state.add_user(username, name)

    def add_token(self, token: str, user: str, level: int = 0) -> None:
        """Let ``token`` authenticate ``user`` (created if missing).

        ``level`` is a role the token holds on **every** project and group (40 maintainer:
        may approve and deny anywhere; 0: only through memberships, see :meth:`add_member`).
        """
        self._state.ensure_user(user)
        self._state.add_token(token, user, int(level))

    def add_member(self, target: TargetRef, user: str, level: int, *, kind: str = PROJECT) -> None:
        """Make ``user`` (created if missing) a direct member of ``target`` at ``level``."""
        self._state.ensure_user(user)
        self._state.add_member(self._find(target, kind), user, int(level))

    def add_request(self, target: TargetRef, user: str, *, kind: str = PROJECT) -> None:
        """``user`` (created if missing) asks for access to ``target``."""
        self._state.add_request(self._find(target, kind), user)

    def seed_requests(
        self, target: TargetRef, count: int, prefix: str = "user", *, kind: str = PROJECT
    ) -> list[str]:
        """``count`` users ``{prefix}-000000``... (created if missing) ask for access.

        >>> gl = FakeGitLab()
        >>> _ = gl.add_group("acme")
        >>> gl.seed_requests("acme", 2, kind="group")
        ['user-000000', 'user-000001']
        """
        found = self._find(target, kind)
        names = [f"{prefix}-{n:06d}" for n in range(count)]
        for name in names:
            self._state.add_request(found, name)
        return names

    def state(self, target: TargetRef, *, kind: str = PROJECT) -> FakeTargetState:
        """A snapshot: the pending requesters and the direct members (name -> level)."""
        return self._state.snapshot(self._find(target, kind))

    def user(self, username: str) -> FakeUser:
        return self._state.user_named(username)

    def fail_next(self, route: str, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``route`` (e.g. ``"approve"``) with ``status``."""
        self._state.faults.setdefault(route, []).extend([status] * times)

    def drop_after_next(self, route: str, times: int = 1) -> None:
        """Handle the next ``times`` calls of ``route`` (their change is applied), then close
        the connection without answering: the answer is lost after GitLab acted."""
        self._state.drops_after[route] = self._state.drops_after.get(route, 0) + times

    @property
    def counters(self) -> Counter[str]:
        """Calls per route name: ``list_requests``, ``request_access``, ``approve``, ``deny``,
        ``get_member``, ``get_member_all``, ``list_members``, ``list_users``, ``current_user``,
        ``get_target`` (``unknown`` for no route)."""
        return self._state.counters

    @property
    def statuses(self) -> Counter[int]:
        """Answers per status code."""
        return self._state.statuses

    def _find(self, target: TargetRef, kind: str) -> FakeTarget:
        if isinstance(target, FakeTarget):
            return target
        return self._state.target(kind, target)
