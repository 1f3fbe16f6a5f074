"""FakeGitLab: the fake GitLab server, its lifecycle and its seeding API."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

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


class FakeGitLab:
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
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<FakeGitLab {self.url if self._port is not None else 'stopped'}>"

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The ``root`` user's token (owner of every project and group)."""
        return ROOT_TOKEN

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (the session appends ``/api/v4``)."""
        if self._port is None:
            raise RuntimeError("the fake GitLab is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> FakeGitLab:
        if self._runner is not None:
            raise RuntimeError("the fake GitLab is already started")
        runner = web.AppRunner(self._app.build(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._requested_port))
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner, self._port = runner, int(sock.getsockname()[1])
        return self

    async def stop(self) -> None:
        runner, self._runner, self._port = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeGitLab:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start_in_thread(self, *, timeout: float = 10.0) -> FakeGitLab:
        """Serve from a daemon thread with its own event loop (for synchronous callers).

        ``with FakeGitLab() as gl:`` does the same and stops it at the end.
        """
        if self._thread is not None or self._runner is not None:
            raise RuntimeError("the fake GitLab is already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def serve() -> None:
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                loop.close()

        thread = threading.Thread(target=serve, name="fake-gitlab", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the fake GitLab did not start in time")
        if failure:
            thread.join()
            raise failure[0]
        self._thread, self._loop = thread, loop
        return self

    def stop_thread(self, *, timeout: float = 10.0) -> None:
        """Stop the server started by :meth:`start_in_thread` (idempotent)."""
        thread, loop = self._thread, self._loop
        self._thread = self._loop = None
        if thread is not None and loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)

    def __enter__(self) -> FakeGitLab:
        return self.start_in_thread()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_thread()

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
