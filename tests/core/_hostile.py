"""Hostile servers for the hardening tests: tiny aiohttp apps on 127.0.0.1.

``serve(handler)`` runs one in the test's event loop; ``ThreadedServer(handler)`` runs one in a
thread of its own (for the command line, which runs its own loop); ``bounded(fn)`` runs a
coroutine function in a thread with a deadline, so that a test of a bug that hangs or spins
fails instead of freezing the suite.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN = "hf_HOSTILEtestSECRET0123456789"
REPO = "org/model"
PENDING = f"/api/models/{REPO}/user-access-request/pending"


class Server:
    """A running hostile server: its ``url`` and the requests it saw (``method path?query``)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.hits: list[str] = []
        self.url = ""
        self.port = 0

    def app(self) -> web.Application:
        async def any_route(request: web.Request) -> web.StreamResponse:
            self.hits.append(f"{request.method} {request.path_qs}")
            return await self.handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", any_route)
        return app


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[Server]:
    server = Server(handler)
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{server.port}"
    try:
        yield server
    finally:
        await runner.cleanup()


@contextmanager
def threaded(handler: Handler) -> Iterator[Server]:
    """The same server, run by a loop in its own thread."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def main() -> None:
        loop = asyncio.new_event_loop()
        holder["loop"] = loop

        async def start() -> None:
            holder["cm"] = serve(handler)
            holder["server"] = await holder["cm"].__aenter__()
            ready.set()

        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(holder["cm"].__aexit__(None, None, None))
        loop.close()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert ready.wait(10), "the hostile server did not start"
    try:
        yield holder["server"]
    finally:
        holder["loop"].call_soon_threadsafe(holder["loop"].stop)
        thread.join(10)


def bounded(work: Callable[[], Awaitable[T]], seconds: float = 20.0) -> T:
    """Run ``work()`` in a fresh loop in a daemon thread; fail if it is not over in time.

    An endless CPU loop cannot be interrupted by any asyncio timeout; a thread left behind
    by a failing test dies with the process.
    """
    outcome: dict[str, Any] = {}

    def main() -> None:
        try:
            outcome["value"] = asyncio.run(work())  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"still running after {seconds:g}s: hung or spinning")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def json_answer(data: Any, status: int = 200, **headers: str) -> web.Response:
    return web.json_response(data, status=status, headers=headers)
