"""A service that receives the relay's access-request webhooks and checks their signatures.

``hf-access relay`` (or :class:`hf_access.screening.Relay`) POSTs every new access request to
your service as a Standard Webhook. This receiver verifies each one with
:func:`hf_access.webhooks.verify` (signature, timestamp within 5 minutes, an id not seen
before), answers at once, and hands the event to a queue for the real work.

Run it as is: it starts a fake Hub, this receiver and a relay between them, lets three users
ask for access, prints what arrived and exits. With ``--serve`` it only receives, on
``--port`` (secret: ``HF_ACCESS_WEBHOOK_SECRET``), until Ctrl-C::

    python examples/webhook_receiver.py
    HF_ACCESS_WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --serve --port 8080
    hf-access relay my-org/gated-model --to http://127.0.0.1:8080/hooks/hf   # elsewhere
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from typing import Any

from aiohttp import web

from hf_access import AccessSession
from hf_access.screening import Relay
from hf_access.testing import FakeHub
from hf_access.webhooks import (
    ReplayGuard,
    WebhookError,
    WebhookReplayError,
    generate_secret,
    verify,
)

SECRET = web.AppKey("secret", str)
SEEN = web.AppKey("seen", ReplayGuard)
QUEUE = web.AppKey("queue", asyncio.Queue)


async def receive(request: web.Request) -> web.Response:
    body = await request.read()  # the exact bytes that were signed
    try:
        message = verify(request.headers, body, request.app[SECRET], seen=request.app[SEEN])
    except WebhookReplayError:
        return web.Response(status=200, text="duplicate")  # already queued: say so, calmly
    except WebhookError as error:
        return web.Response(status=400, text=type(error).__name__)
    await request.app[QUEUE].put((message.id, message.json()))
    return web.Response(status=204)  # fast: the work happens off the request


def make_app(secret: str, queue: asyncio.Queue[tuple[str, Any]]) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)  # webhooks are small
    app[SECRET], app[SEEN], app[QUEUE] = secret, ReplayGuard(), queue
    app.router.add_post("/hooks/hf", receive)
    return app


async def serve(port: int) -> None:
    secret = os.environ.get("HF_ACCESS_WEBHOOK_SECRET")
    if not secret:
        sys.exit("set HF_ACCESS_WEBHOOK_SECRET to the relay's whsec_ secret")
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    runner = web.AppRunner(make_app(secret, queue))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"receiving on http://127.0.0.1:{port}/hooks/hf", flush=True)
    while True:
        webhook_id, event = await queue.get()
        print(webhook_id, event["type"], event["data"]["repo_id"], event["data"]["user"])


async def demo() -> None:
    secret = generate_secret()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    runner = web.AppRunner(make_app(secret, queue))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with FakeHub() as hub:
        hub.add_repo("my-org/gated-model")
        print(f"talking to a fake Hub at {hub.url} (in this process, no network)")
        async with (
            AccessSession(hub.token, hub.url) as session,
            Relay(
                session,
                ["my-org/gated-model"],
                to=f"http://127.0.0.1:{port}/hooks/hf",
                secret=secret,
                outbox=":memory:",
                interval=0.2,
            ) as relay,
        ):
            await relay.poll()  # the starting position: only new requests become events
            for name in ("alice", "bob", "carol"):
                hub.add_user(name, email=f"{name}@example.org")
                hub.ask_access("my-org/gated-model", name, fields={"Company": "ACME"})
            task = asyncio.create_task(relay.run())
            try:
                for _ in range(3):
                    webhook_id, event = await asyncio.wait_for(queue.get(), timeout=30)
                    data = event["data"]
                    print(f"{event['type']} {data['user']} <{data['email']}> ({webhook_id})")
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            # The last answer may still have been on its way when the run stopped: that event
            # stays in the outbox (at least once), and goes again now; the receiver says
            # "duplicate" if it already has it.
            await relay.deliver()
            print(f"{relay.delivered} delivered, {relay.stats().pending} pending")
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", action="store_true", help="only receive, until Ctrl-C")
    parser.add_argument("--port", type=int, default=8080)
    options = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --serve quietly
        asyncio.run(serve(options.port) if options.serve else demo())


if __name__ == "__main__":
    main()
