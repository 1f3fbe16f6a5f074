"""Serving an aiohttp app on 127.0.0.1, in the running loop or from a thread.

The lifecycle shared by :class:`~hf_access.testing.FakeHub` and
:class:`~hf_access.testing.gitlab.FakeGitLab`: ``async with`` serves in the caller's loop,
``with`` serves from a daemon thread with its own loop (for synchronous callers).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

from aiohttp import web

__all__ = ["LocalServer"]

S = TypeVar("S", bound="LocalServer")


class LocalServer:
    """Base of the fake servers: subclasses give ``_name`` and build the app."""

    _name = "server"

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handling = 0  # requests in a handler now

    def _build_app(self) -> web.Application:
        raise NotImplementedError

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "stopped"
        return f"<{type(self).__name__} {where}>"

    @property
    def port(self) -> int:
        """The bound port (only once started)."""
        if self._port is None:
            raise RuntimeError(f"the {self._name} is not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (only once started)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self: S) -> S:
        """Start serving in the running event loop; return ``self``."""
        if self._runner is not None:
            raise RuntimeError(f"the {self._name} is already started")
        app = self._build_app()
        app.middlewares.insert(0, self._count_handling)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._requested_port))
            await web.SockSite(runner, sock, backlog=1024).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(sock.getsockname()[1])
        return self

    @web.middleware
    async def _count_handling(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self._handling += 1
        try:
            return await handler(request)
        finally:
            self._handling -= 1

    @property
    def busy(self) -> bool:
        """Whether a client has a connection open or a request is being handled."""
        runner = self._runner
        open_connections = (
            runner is not None and runner.server is not None and bool(runner.server.connections)
        )
        return self._handling > 0 or open_connections

    async def idle(self, *, timeout: float = 10.0) -> None:
        """Wait until no connection is open and no request is in hand (checked every 2 ms).

        For a test that has closed its clients, or killed a process in the middle of its
        calls: once this returns, every request the server received has been applied, or
        dropped with its connection, and the state can be read. :class:`TimeoutError` after
        ``timeout`` seconds (a client still holds a connection open).
        """
        deadline = time.monotonic() + timeout
        while self.busy:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"the {self._name} was still busy after {timeout:g}s: "
                    f"{self._handling} request(s) in hand, or a connection left open"
                )
            await asyncio.sleep(0.002)

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        self._port = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self: S) -> S:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start_in_thread(self: S, *, timeout: float = 10.0) -> S:
        """Serve from a daemon thread with its own event loop; return ``self``.

        >>> from hf_access.testing import FakeHub
        >>> hub = FakeHub().start_in_thread()
        >>> hub.url.startswith("http://127.0.0.1:")
        True
        >>> hub.stop_thread()
        """
        if self._thread is not None or self._runner is not None:
            raise RuntimeError(f"the {self._name} is already started")
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
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=serve, name=f"fake-{self._name}", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"the {self._name} did not start in time")
        if failure:
            thread.join()
            raise failure[0]
        self._thread, self._loop = thread, loop
        return self

    def stop_thread(self, *, timeout: float = 10.0) -> None:
        """Stop the server started by :meth:`start_in_thread` (idempotent)."""
        thread, loop = self._thread, self._loop
        self._thread = self._loop = None
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def __enter__(self: S) -> S:
        return self.start_in_thread()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_thread()
