"""A webhook receiver for the relay tests: scripted answers, every attempt recorded."""

from __future__ import annotations

import socket
from collections.abc import Callable

import attrs
from aiohttp import web


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.define
class Hit:
    id: str
    timestamp: str
    signature: str
    body: bytes
    headers: dict[str, str]
    status: int
    at: float


class Receiver:
    """Listens on 127.0.0.1:``port`` once :meth:`start` is awaited (refused until then).

    ``answer(n)`` gives the status of the n-th attempt (0-based), with extra headers.
    """

    def __init__(
        self,
        port: int | None = None,
        answer: Callable[[int], tuple[int, dict[str, str]]] | None = None,
        clock: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.clock = clock
        self.port = port or free_port()
        self.answer = answer or (lambda n: (204, {}))
        self.hits: list[Hit] = []
        self.elsewhere = 0  # requests that followed a redirect
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/hf"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        status, headers = self.answer(len(self.hits))
        self.hits.append(
            Hit(
                request.headers.get("webhook-id", ""),
                request.headers.get("webhook-timestamp", ""),
                request.headers.get("webhook-signature", ""),
                body,
                dict(request.headers),
                status,
                self.clock(),
            )
        )
        return web.Response(status=status, headers=headers)

    async def _other(self, request: web.Request) -> web.Response:
        self.elsewhere += 1
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/hf", self._hook)
        app.router.add_route("*", "/moved", self._other)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def delivered(self) -> list[Hit]:
        return [h for h in self.hits if 200 <= h.status < 300]
