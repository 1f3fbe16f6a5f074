"""The fake Hub's aiohttp application: routes, authentication, rate limits and faults.

One middleware does what every answer shares (request id, ``RateLimit`` headers, faults,
401, 429, error bodies); the handlers validate, call :class:`HubState` and serialize.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ._model import JsonDict, Repo, Token
from ._records import INVALID_CREDENTIALS, FakeHubError, bad_request
from ._state import HubState
from ._validate import (
    decode_cursor,
    encode_cursor,
    parse_batch,
    parse_date,
    parse_grant,
    parse_handle,
    parse_limit,
    parse_search,
    parse_settings,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

logger = logging.getLogger("hf_access.testing")

_TYPES = "{rtype:models|datasets|spaces}"
_PAGE_TYPES = "{rtype:datasets|spaces}"
_ACCESS = f"/api/{_TYPES}/{{ns}}/{{name}}/user-access-request"
_FAULT_MESSAGES = {500: "Internal Error", 502: "Bad Gateway", 503: "Service Unavailable"}
_NOT_FOUND = "Sorry, we can't find the page you are looking for."

_TOKEN_KEY = "hf_access.testing.token"


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(value: object, *, status: int = 200) -> web.Response:
    """A JSON answer (compact, UTF-8)."""
    return web.Response(body=_dumps(value), status=status, content_type="application/json")


def error_response(error: FakeHubError) -> web.Response:
    """The Hub's error shape: ``{"error": message}`` plus ``X-Error-Message``/``-Code``."""
    response = json_response({"error": error.message}, status=error.status)
    headers = response.headers
    # A header value stays on one line of Latin-1 (messages may quote what was sent).
    message = " ".join(error.message.split())
    headers["X-Error-Message"] = message.encode("latin-1", "replace").decode("latin-1")
    if error.code is not None:
        headers["X-Error-Code"] = error.code
    headers.update(error.headers)
    return response


async def _json_body(request: web.Request) -> JsonDict:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("Invalid JSON body") from None
    if not isinstance(body, dict):
        raise bad_request("* Invalid input: expected object * at body")
    return body


class FakeHubApp:
    """Builds the :class:`aiohttp.web.Application` that serves a :class:`HubState`."""

    def __init__(self, state: HubState) -> None:
        self.state = state
        self._numbers = itertools.count(1)

    def build(self) -> web.Application:
        """A new application with every route of hub-api.md."""
        app = web.Application(middlewares=[self._middleware])
        add = app.router.add_route
        for status in ("pending", "accepted", "rejected", "reset"):
            add("GET", f"{_ACCESS}/{status}", self._lister(status), name=f"list_{status}")
        add("POST", f"{_ACCESS}/handle", self.handle, name="handle")
        add("POST", f"{_ACCESS}/grant", self.grant, name="grant")
        add("POST", f"{_ACCESS}/batch", self.batch, name="batch")
        add("POST", f"{_ACCESS}/cancel", self.cancel, name="cancel")
        add("PUT", f"/api/{_TYPES}/{{ns}}/{{name}}/settings", self.settings, name="settings")
        add("GET", f"/api/{_TYPES}/{{ns}}/{{name}}", self.repo_info, name="repo_info")
        add("GET", "/{ns}/{name}/user-access-report", self.report, name="report")
        add(
            "GET",
            f"/{_PAGE_TYPES}/{{ns}}/{{name}}/user-access-report",
            self.report,
            name="report:t",
        )
        add("POST", "/{ns}/{name}/ask-access", self.ask_access, name="ask_access")
        add(
            "POST",
            f"/{_PAGE_TYPES}/{{ns}}/{{name}}/ask-access",
            self.ask_access,
            name="ask_access:t",
        )
        return app

    # -- shared by every answer --------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        state = self.state
        traffic = state.traffic
        match = request.match_info
        route = match.route.name
        missing = match.http_exception is not None or (
            route == "batch" and not traffic.batch_enabled  # an older Hub: no such route
        )
        token = state.token(request.headers.get("Authorization"))
        admission = traffic.admit(
            "unknown" if missing or route is None else route.split(":")[0],
            token.user.name if token is not None else f"ip:{request.remote}",
        )
        windows = traffic.windows
        headers = {
            "X-Request-Id": f"Root=1-{int(state.clock()):08x}-{next(self._numbers):024x}",
            "RateLimit": f'"api";r={admission.remaining};t={admission.reset}',
            "RateLimit-Policy": f'"fixed window";"api";q={windows.quota};w={windows.window}',
        }
        response: web.StreamResponse
        try:
            plan = admission.plan
            if plan.delay_s:
                await asyncio.sleep(plan.delay_s)
            if plan.drop:
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)  # never reaches the client
            if plan.error_status is not None:
                message = _FAULT_MESSAGES.get(plan.error_status, "Server Error")
                raise FakeHubError(plan.error_status, message)
            if missing:
                exception = match.http_exception
                if exception is None or exception.status == 404:
                    raise FakeHubError(404, _NOT_FOUND)
                raise FakeHubError(exception.status, exception.reason)
            if token is None:
                raise FakeHubError(401, INVALID_CREDENTIALS)
            if not admission.allowed:
                traffic.count_rate_limited()
                retry = {"Retry-After": str(admission.reset)}
                raise FakeHubError(429, windows.message(), headers=retry)
            request[_TOKEN_KEY] = token
            response = await handler(request)
        except FakeHubError as error:
            response = error_response(error)
        except web.HTTPException as exception:
            response = error_response(FakeHubError(exception.status, exception.reason))
        except Exception:
            logger.exception("fake Hub: unexpected error on %s %s", request.method, request.path)
            response = error_response(FakeHubError(500, "Internal Error"))
        response.headers.update(headers)
        return response

    def _repo(self, request: web.Request) -> Repo:
        info = request.match_info
        repo_type = info.get("rtype", "models")[:-1]
        return self.state.repo(repo_type, f"{info['ns']}/{info['name']}")

    def _owner_repo(self, request: web.Request) -> tuple[Token, Repo]:
        token: Token = request[_TOKEN_KEY]
        repo = self._repo(request)
        self.state.check_write(token, repo)
        return token, repo

    # -- owner side --------------------------------------------------------------------

    def _lister(self, status: str) -> Handler:
        async def list_requests(request: web.Request) -> web.StreamResponse:
            _, repo = self._owner_repo(request)
            query = request.query
            items, next_key = self.state.list_page(
                repo,
                status,
                limit=parse_limit(query.get("limit")),
                query=parse_search(query.get("q")),
                after_ms=parse_date(query.get("after"), "after"),
                before_ms=parse_date(query.get("before"), "before"),
                cursor=decode_cursor(query.get("cursor")),
            )
            response = json_response(items)
            if next_key is not None:
                pairs = [(key, value) for key, value in query.items() if key != "cursor"]
                pairs.append(("cursor", encode_cursor(next_key)))
                response.headers["Link"] = f'<{request.url.with_query(pairs)}>; rel="next"'
            return response

        return list_requests

    async def handle(self, request: web.Request) -> web.StreamResponse:
        token, repo = self._owner_repo(request)
        ident, status, reason = parse_handle(await _json_body(request))
        self.state.handle(repo, token.user, ident, status, reason)
        return json_response({})

    async def grant(self, request: web.Request) -> web.StreamResponse:
        token, repo = self._owner_repo(request)
        ident = parse_grant(await _json_body(request))
        self.state.grant(repo, token.user, ident)
        return json_response({})

    async def batch(self, request: web.Request) -> web.StreamResponse:
        token, repo = self._owner_repo(request)
        status, reason, idents = parse_batch(await _json_body(request))
        return json_response(self.state.batch(repo, token.user, status, reason, idents))

    async def report(self, request: web.Request) -> web.StreamResponse:
        _, repo = self._owner_repo(request)
        response = json_response(self.state.report(repo))
        namespace, name = repo.repo_id.split("/", 1)
        response.headers["Content-Disposition"] = (
            f"attachment; filename=user-access-report-{namespace}-{name}.json"
        )
        return response

    async def settings(self, request: web.Request) -> web.StreamResponse:
        _, repo = self._owner_repo(request)
        values = parse_settings(await _json_body(request))
        self.state.update_settings(repo, values)
        return json_response(values)  # echoes only what was sent

    async def repo_info(self, request: web.Request) -> web.StreamResponse:
        # Any valid token may read a repository's gating mode (``?expand[]=gated``).
        repo = self._repo(request)
        return json_response({"_id": repo.id, "id": repo.repo_id, "gated": repo.gated})

    # -- requester side ----------------------------------------------------------------

    async def ask_access(self, request: web.Request) -> web.StreamResponse:
        token: Token = request[_TOKEN_KEY]
        repo = self._repo(request)
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            fields: JsonDict = {key: str(value) for key, value in form.items()}
        else:
            fields = await _json_body(request)
        status = self.state.ask_access(repo, token.user, fields)
        return json_response({"status": status})

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        token: Token = request[_TOKEN_KEY]
        repo = self._repo(request)
        self.state.cancel_own(repo, token.user)
        return json_response({})
