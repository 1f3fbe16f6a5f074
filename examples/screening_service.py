"""A small web service that applies verdicts from an outside screening system.

Your screening system (a KYC vendor, a review queue, a form checker...) posts its verdict::

    POST /verdict  {"user": "alice", "approved": true}
    POST /verdict  {"user": "bob", "approved": false, "reason": "sanctions list match"}

and the service decides the request on the Hub through one long-lived ``AccessSession``
(its connection pool and rate limiter are shared by every request the service receives).
Set ``VERDICT_SECRET`` to require ``Authorization: Bearer <secret>`` on every verdict.

Run it as is: it starts a fake Hub and the service, sends a few verdicts as a client,
prints the answers and exits. Given a repo (argument or ``HF_ACCESS_REPO``) it serves
verdicts for that repo on the real Hub (token: ``HF_TOKEN`` or a login) until Ctrl-C::

    python examples/screening_service.py
    python examples/screening_service.py my-org/gated-model --port 8080
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import sys
from typing import Any

import aiohttp
from aiohttp import web

from hf_access import AccessSession, NotFoundError, RequestNotFoundError
from hf_access.testing import FakeHub

SESSION = web.AppKey("session", AccessSession)
REPO = web.AppKey("repo", str)


async def verdict(request: web.Request) -> web.Response:
    secret = os.environ.get("VERDICT_SECRET")
    if secret and not hmac.compare_digest(
        request.headers.get("Authorization", ""), f"Bearer {secret}"
    ):
        return web.json_response({"error": "unauthorized"}, status=401)
    try:
        body: Any = await request.json()
        user, approved = body["user"], body["approved"]
        if not isinstance(user, str) or not isinstance(approved, bool):
            raise TypeError
        reason = body.get("reason")
    except (ValueError, KeyError, TypeError):
        return web.json_response(
            {"error": 'expected {"user": str, "approved": bool, "reason"?: str}'}, status=400
        )
    session, repo = request.app[SESSION], request.app[REPO]
    try:
        if approved:
            await session.accept(repo, user)
        else:
            await session.reject(repo, user, reason=reason)
    except ValueError as error:  # a malformed name or a reason over 200 characters
        return web.json_response({"error": str(error)}, status=400)
    except RequestNotFoundError:
        message = "no pending request for this user (or it was already decided)"
        return web.json_response({"user": user, "error": message}, status=404)
    except NotFoundError as error:
        return web.json_response({"user": user, "error": error.message}, status=404)
    status = "accepted" if approved else "rejected"
    return web.json_response({"user": user, "status": status})


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def make_app(
    repo: str, *, token: str | None = None, endpoint: str | None = None
) -> web.Application:
    app = web.Application()
    app[REPO] = repo

    async def hub_session(app: web.Application) -> Any:
        async with AccessSession(token=token, endpoint=endpoint) as session:
            print(f"talking to the Hub at {session.endpoint}", flush=True)
            app[SESSION] = session
            yield

    app.cleanup_ctx.append(hub_session)
    app.router.add_post("/verdict", verdict)
    app.router.add_get("/healthz", healthz)
    return app


async def self_demo() -> int:
    repo = "demo-org/gated-model"
    async with FakeHub() as hub:
        hub.add_repo(repo)
        hub.seed_pending(repo, 3)  # user-000000 .. user-000002
        runner = web.AppRunner(make_app(repo, token=hub.token, endpoint=hub.url))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        print(f"talking to a fake Hub at {hub.url} (in this process, no network)")
        print(f"screening service on http://127.0.0.1:{port}")
        verdicts = [
            {"user": "user-000000", "approved": True},
            {"user": "user-000001", "approved": False, "reason": "sanctions list match"},
            {"user": "nobody-asked", "approved": True},
        ]
        try:
            async with aiohttp.ClientSession() as client:
                for item in verdicts:
                    url = f"http://127.0.0.1:{port}/verdict"
                    async with client.post(url, json=item) as answer:
                        print(f"POST /verdict {item} -> {answer.status} {await answer.json()}")
        finally:
            await runner.cleanup()
        states = {name: record.status for name, record in hub.snapshot(repo).items()}
        print(f"on the Hub: {states}")
        ok = states == {
            "user-000000": "accepted",
            "user-000001": "rejected",
            "user-000002": "pending",
        }
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", default=os.environ.get("HF_ACCESS_REPO"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    if args.repo is None:
        return asyncio.run(self_demo())
    web.run_app(make_app(args.repo), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
