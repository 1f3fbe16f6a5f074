"""The fake GitLab's aiohttp application: routes, authentication, limits, pagination."""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from ._state import (
    GROUP,
    PROJECT,
    UNAUTHORIZED,
    FakeGitLabError,
    FakeTarget,
    FakeUser,
    GitLabState,
    Membership,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JsonDict = dict[str, Any]

API = "/api/v4"
_TARGET = API + "/{kind:projects|groups}/{id}"
_PUBLIC = frozenset({"list_users", "get_target"})
MAX_TOTAL = 10_000  # above this GitLab drops X-Total, X-Total-Pages and rel="last"

logger = logging.getLogger("hf_access.testing.gitlab")


def iso(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _json(value: object, status: int = 200) -> web.Response:
    body = json.dumps(value, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type="application/json")


def _error(error: FakeGitLabError) -> web.Response:
    response = _json({error.key: error.message}, status=error.status)
    response.headers.update(error.headers)
    return response


def _int_param(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise FakeGitLabError(400, f"{name} is invalid", key="error") from None


class GitLabApp:
    """Builds the application serving a :class:`GitLabState`."""

    def __init__(self, state: GitLabState, *, old_server: bool = False) -> None:
        self.state = state
        self.old_server = old_server
        self._ids = itertools.count(1)

    def build(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        add = app.router.add_route
        add("GET", f"{_TARGET}/access_requests", self.list_requests, name="list_requests")
        add("POST", f"{_TARGET}/access_requests", self.request_access, name="request_access")
        add("PUT", _TARGET + r"/access_requests/{uid:\d+}/approve", self.approve, name="approve")
        add("DELETE", _TARGET + r"/access_requests/{uid:\d+}", self.deny, name="deny")
        add("GET", f"{_TARGET}/members", self.list_members, name="list_members")
        add("GET", _TARGET + r"/members/all/{uid:\d+}", self.get_member, name="get_member_all")
        add("GET", _TARGET + r"/members/{uid:\d+}", self.get_member, name="get_member")
        add("GET", f"{API}/users", self.list_users, name="list_users")
        add("GET", f"{API}/user", self.current_user, name="current_user")
        add("GET", _TARGET, self.get_target, name="get_target")
        return app

    # -- shared by every answer -----------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        state = self.state
        match = request.match_info
        route = match.route.name if match.http_exception is None else None
        exception = match.http_exception
        wrong_method = exception if isinstance(exception, web.HTTPMethodNotAllowed) else None
        state.counters[route or "unknown"] += 1
        headers = {"X-Request-Id": f"01FAKE{next(self._ids):020d}"}
        response: web.StreamResponse
        try:
            auth = state.authenticate(
                request.headers.get("PRIVATE-TOKEN"), request.headers.get("Authorization")
            )
            allowed, limits = state.hit(f"user:{auth[0]}" if auth else f"ip:{request.remote}")
            headers.update(limits)
            faults = state.faults.get(route or "", [])
            if not allowed:
                response = web.Response(status=429, text="Retry later\n")
            elif faults:
                status = faults.pop(0)
                raise FakeGitLabError(status, f"{status} Fake Fault")
            elif wrong_method is not None:  # a known path, another method: 405 (Grape's)
                allow = ", ".join(sorted(wrong_method.allowed_methods))
                raise FakeGitLabError(405, "405 Not Allowed", key="error", headers={"Allow": allow})
            elif route is None:
                raise FakeGitLabError(404, "404 Not Found", key="error")
            elif auth is None and route not in _PUBLIC:
                raise FakeGitLabError(401, UNAUTHORIZED)
            else:
                response = await handler(request)
                if route is not None and state.drops_after.get(route, 0) > 0:
                    # Applied, then the answer is lost: the client cannot tell it landed.
                    state.drops_after[route] -= 1
                    if request.transport is not None:
                        request.transport.abort()
                    return web.Response(status=500)  # never sent
        except FakeGitLabError as error:
            response = _error(error)
        except web.HTTPException as exc:
            response = _error(FakeGitLabError(exc.status, f"{exc.status} {exc.reason}"))
        except ConnectionError:
            # The client went away while its body was read: nobody to answer, no traceback.
            logger.debug("fake GitLab: client gone during %s %s", request.method, request.path)
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never sent
        except Exception:
            logger.exception("fake GitLab: error on %s %s", request.method, request.path)
            response = _error(FakeGitLabError(500, "500 Internal Server Error"))
        response.headers.update(headers)
        state.statuses[response.status] += 1
        return response

    def _auth(self, request: web.Request) -> tuple[int | None, int]:
        """``(user id, token level)`` of the caller (``(None, 0)`` when anonymous).

        Read again from the headers the middleware checked (no per-request storage: its
        string keys warn on aiohttp 3.14 and ``web.RequestKey`` is missing on 3.9).
        """
        state = self.state
        headers = request.headers
        auth = state.authenticate(headers.get("PRIVATE-TOKEN"), headers.get("Authorization"))
        return auth or (None, 0)

    def _target(self, request: web.Request) -> tuple[FakeTarget, int | None, int]:
        user_id, token_level = self._auth(request)
        kind = PROJECT if request.match_info["kind"] == "projects" else GROUP
        target = self.state.target(kind, request.match_info["id"])
        return self.state.visible(user_id, target, token_level), user_id, token_level

    # -- serialization --------------------------------------------------------------------

    def _user(self, request: web.Request, user: FakeUser) -> JsonDict:
        root = f"{request.scheme}://{request.host}"
        return {
            "id": user.id,
            "username": user.username,
            "name": user.name,
            "state": user.state,
            "locked": user.locked,
            "avatar_url": f"{root}/uploads/-/system/user/avatar/{user.id}/avatar.png",
            "web_url": f"{root}/{user.username}",
        }

    def _requester(self, request: web.Request, user: FakeUser, at: float) -> JsonDict:
        data = self._user(request, user)
        data["created_at"] = iso(at)
        if not self.old_server:
            data["requested_at"] = iso(at)
        return data

    def _member(self, request: web.Request, user: FakeUser, member: Membership) -> JsonDict:
        data = self._user(request, user)
        data.update(
            access_level=member.level,
            created_at=iso(member.created_at),
            expires_at=None,
            membership_state="active",
        )
        return data

    def _page(self, request: web.Request, items: Sequence[JsonDict]) -> web.Response:
        """GitLab's offset pagination with every header (``Link``, ``X-*``)."""
        query = request.query
        page = max(1, _int_param(query.get("page"), "page") or 1)
        per_page = _int_param(query.get("per_page"), "per_page") or 20
        per_page = 20 if per_page < 1 else min(per_page, 100)
        total = len(items)
        pages = max(1, math.ceil(total / per_page))
        response = _json(list(items[(page - 1) * per_page : page * per_page]))

        def link(number: int) -> str:
            pairs = [(k, v) for k, v in query.items() if k != "page"] + [("page", str(number))]
            # Not request.url: aiohttp 3.9 with a recent yarl cannot build it (host:port).
            return f"{request.scheme}://{request.host}{request.rel_url.with_query(pairs)}"

        rels = []
        if page > 1:
            rels.append((min(page - 1, pages), "prev"))
        if page < pages:
            rels.append((page + 1, "next"))
        rels.append((1, "first"))
        if total <= MAX_TOTAL:
            rels.append((pages, "last"))
        h = response.headers
        h["Link"] = ", ".join(f'<{link(n)}>; rel="{rel}"' for n, rel in rels)
        h["X-Page"] = str(page)
        h["X-Per-Page"] = str(per_page)
        h["X-Next-Page"] = str(page + 1) if page < pages else ""
        h["X-Prev-Page"] = str(min(page - 1, pages)) if page > 1 else ""
        if total <= MAX_TOTAL:
            h["X-Total"] = str(total)
            h["X-Total-Pages"] = str(pages)
        return response

    # -- access requests ------------------------------------------------------------------

    async def list_requests(self, request: web.Request) -> web.StreamResponse:
        target, user_id, token_level = self._target(request)
        self.state.require(user_id, target, token_level, 40)
        users = self.state.users
        items = [self._requester(request, users[u], t) for u, t in target.requests.items()]
        return self._page(request, items)

    async def request_access(self, request: web.Request) -> web.StreamResponse:
        target, user_id, token_level = self._target(request)
        assert user_id is not None
        at = self.state.request_access(target, user_id, token_level)
        return _json(self._requester(request, self.state.users[user_id], at), status=201)

    async def approve(self, request: web.Request) -> web.StreamResponse:
        target, user_id, token_level = self._target(request)
        assert user_id is not None
        level = await self._access_level(request)
        uid = int(request.match_info["uid"])
        member = self.state.approve(target, user_id, token_level, uid, level)
        return _json(self._member(request, self.state.users[uid], member), status=201)

    async def _access_level(self, request: web.Request) -> int:
        raw: object = request.query.get("access_level")
        if raw is None and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = json.loads(await request.read() or b"{}")
                except ValueError:
                    raise FakeGitLabError(400, "400 Bad request - invalid JSON") from None
                raw = body.get("access_level") if isinstance(body, dict) else None
            else:
                raw = (await request.post()).get("access_level")
        if raw is None:
            return 30
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise FakeGitLabError(400, "access_level is invalid", key="error")
        value = _int_param(str(raw), "access_level")
        return 30 if value is None else value

    async def deny(self, request: web.Request) -> web.StreamResponse:
        target, user_id, token_level = self._target(request)
        assert user_id is not None
        self.state.deny(target, user_id, token_level, int(request.match_info["uid"]))
        return web.Response(status=204)

    # -- members, users, targets ----------------------------------------------------------

    async def list_members(self, request: web.Request) -> web.StreamResponse:
        target, _, _ = self._target(request)
        items = [self._member(request, u, m) for u, m in self.state.members(target)]
        return self._page(request, items)

    async def get_member(self, request: web.Request) -> web.StreamResponse:
        target, _, _ = self._target(request)
        uid = int(request.match_info["uid"])
        inherited = request.match_info.route.name == "get_member_all"
        member = self.state.member(target, uid, inherited=inherited)
        return _json(self._member(request, self.state.users[uid], member))

    async def list_users(self, request: web.Request) -> web.StreamResponse:
        wanted = request.query.get("username")
        users = [
            self._user(request, u)
            for u in self.state.users.values()
            if wanted is None or u.username.lower() == wanted.lower()
        ]
        return self._page(request, users)

    async def current_user(self, request: web.Request) -> web.StreamResponse:
        user_id, _ = self._auth(request)
        assert user_id is not None  # the middleware refused anonymous callers
        return _json(self._user(request, self.state.users[user_id]))

    async def get_target(self, request: web.Request) -> web.StreamResponse:
        target, _, _ = self._target(request)
        root = f"{request.scheme}://{request.host}"
        return _json(
            {
                "id": target.id,
                "name": target.name,
                "path": target.name,
                "full_path": target.path,
                "path_with_namespace": target.path,
                "web_url": f"{root}/{target.path}",
            }
        )
