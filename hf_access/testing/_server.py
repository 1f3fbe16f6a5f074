"""The fake Hub's aiohttp application: routes, authentication, rate limits and faults.

One middleware does what every answer shares (request id, ``RateLimit`` headers, faults,
401, 429, error bodies); the handlers validate, call :class:`HubState` and serialize.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ._model import JsonDict, Repo, Token
from ._records import INVALID_CREDENTIALS, FakeHubError, bad_request, repo_not_found
from ._state import HubState
from ._validate import (
    WRITE_ONLY_SETTINGS,
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
_NO_ROUTE = "unknown"  # the counter name of paths that match no route
# Routes that serve public repos without a token (``list_repos``: see ``_listing``).
_ANONYMOUS = frozenset({"repo_info", "repo_page", "list_repos"})


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


def origin(request: web.Request) -> str:
    """``http://host:port`` as the client called it.

    Not ``request.url``: with aiohttp 3.9 and a recent yarl, building it from a host that
    holds a port raises ``ValueError``.
    """
    return f"{request.scheme}://{request.host}"


def next_link(request: web.Request, cursor: str) -> str:
    """A ``Link`` header to the same URL and query with ``cursor`` replaced."""
    pairs = [(key, value) for key, value in request.query.items() if key != "cursor"]
    pairs.append(("cursor", cursor))
    return f'<{origin(request)}{request.rel_url.with_query(pairs)}>; rel="next"'


def caller(state: HubState, request: web.Request) -> Token:
    """The caller's token (the middleware has refused requests without a known one).

    Read again from the header rather than stored on the request: string keys on a
    request warn on aiohttp 3.14, and ``web.RequestKey`` does not exist on aiohttp 3.9.
    """
    token = state.token(request.headers.get("Authorization"))
    if token is None:
        raise FakeHubError(401, INVALID_CREDENTIALS)
    return token


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering (the returned answer is never sent)."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


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
        """A new application with every route of FIDELITY.md.

        Every ``GET`` route also answers ``HEAD`` (the same answer without a body).
        """
        app = web.Application(middlewares=[self._middleware])
        add = app.router.add_route

        def get(path: str, handler: Handler, name: str) -> None:
            resource = app.router.add_resource(path, name=name)
            resource.add_route("GET", handler)
            resource.add_route("HEAD", handler)

        for status in ("pending", "accepted", "rejected", "reset"):
            get(f"{_ACCESS}/{status}", self._lister(status), f"list_{status}")
        add("POST", f"{_ACCESS}/handle", self.handle, name="handle")
        add("POST", f"{_ACCESS}/grant", self.grant, name="grant")
        add("POST", f"{_ACCESS}/batch", self.batch, name="batch")
        add("POST", f"{_ACCESS}/cancel", self.cancel, name="cancel")
        settings = f"/api/{_TYPES}/{{ns}}/{{name}}/settings"
        add("PUT", settings, self.settings, name="settings")
        # There is no GET for settings: the Hub answers 404, not 405 (FIDELITY.md).
        get(settings, self.settings, f"{_NO_ROUTE}:settings")
        get(f"/api/{_TYPES}/{{ns}}/{{name}}", self.repo_info, "repo_info")
        get("/{ns}/{name}/user-access-report", self.report, "report")
        get(f"/{_PAGE_TYPES}/{{ns}}/{{name}}/user-access-report", self.report, "report:t")
        add("POST", "/{ns}/{name}/ask-access", self.ask_access, name="ask_access")
        add(
            "POST",
            f"/{_PAGE_TYPES}/{{ns}}/{{name}}/ask-access",
            self.ask_access,
            name="ask_access:t",
        )
        # The repository pages that ask-access redirects to; ``/api/...`` is never a page.
        get(r"/{ns:(?!api/)[^{}/]+}/{name}", self.repo_page, "repo_page")
        get(f"/{_PAGE_TYPES}/{{ns}}/{{name}}", self.repo_page, "repo_page:t")
        return app

    # -- shared by every answer --------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        state = self.state
        traffic = state.traffic
        match = request.match_info
        route = match.route.name
        counted = _NO_ROUTE if route is None else route.split(":")[0]
        missing = (
            match.http_exception is not None
            or counted == _NO_ROUTE
            or (route == "batch" and not traffic.batch_enabled)  # an older Hub: no such route
        )
        authorization = request.headers.get("Authorization")
        token = state.token(authorization)
        admission = traffic.admit(
            _NO_ROUTE if missing else counted,
            token.user.name if token is not None else f"ip:{request.remote}",
        )
        windows = traffic.windows
        headers = {
            "X-Request-Id": f"Root=1-{int(state.clock()):08x}-{next(self._numbers):024x}",
            "RateLimit": f'"api";r={admission.remaining};t={admission.reset}',
            "RateLimit-Policy": f'"fixed window";"api";q={windows.quota};w={windows.window}',
        }
        response: web.StreamResponse
        plan = admission.plan
        try:
            if plan.delay_s:
                await asyncio.sleep(plan.delay_s)
            if plan.drop:
                return _drop(request)
            if plan.error_status is not None:
                message = _FAULT_MESSAGES.get(plan.error_status, "Server Error")
                raise FakeHubError(plan.error_status, message)
            if missing:
                exception = match.http_exception
                if exception is None or exception.status == 404:
                    raise FakeHubError(404, _NOT_FOUND)
                raise FakeHubError(exception.status, exception.reason)
            # No token at all is fine where the Hub serves anonymous callers; a token it
            # does not know is always refused (assumed for anonymous routes).
            if token is None and not (counted in _ANONYMOUS and authorization is None):
                raise FakeHubError(401, INVALID_CREDENTIALS)
            if not admission.allowed:
                traffic.count_rate_limited()
                retry = {"Retry-After": str(admission.reset)}
                raise FakeHubError(429, windows.message(), headers=retry)
            response = await handler(request)
        except FakeHubError as error:
            response = error_response(error)
        except web.HTTPException as exception:
            response = error_response(FakeHubError(exception.status, exception.reason))
        except ConnectionError:
            # The client went away while its body was read: nobody to answer, nothing to log
            # beyond a line at DEBUG.
            logger.debug("fake Hub: client gone during %s %s", request.method, request.path)
            return _drop(request)
        except Exception:
            logger.exception("fake Hub: unexpected error on %s %s", request.method, request.path)
            response = error_response(FakeHubError(500, "Internal Error"))
        if plan.drop_after:  # handled (a change is applied), then the answer is lost
            return _drop(request)
        response.headers.update(headers)
        return response

    def _repo(self, request: web.Request) -> Repo:
        """The repo of the path, or 404 ``RepoNotFound`` when it does not exist or is
        private to the caller (anonymous callers included) (assumed: the Hub's answer to a
        private repo is not recorded; a missing repo's is)."""
        info = request.match_info
        repo_type = info.get("rtype", "models")[:-1]
        repo = self.state.repo(repo_type, f"{info['ns']}/{info['name']}")
        if not self.state.may_read(self.state.token(request.headers.get("Authorization")), repo):
            raise repo_not_found()
        return repo

    def _owner_repo(self, request: web.Request) -> tuple[Token, Repo]:
        token = caller(self.state, request)
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
                response.headers["Link"] = next_link(request, encode_cursor(next_key))
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
        # Echoes what was sent, except the write-only notification settings.
        return json_response({k: v for k, v in values.items() if k not in WRITE_ONLY_SETTINGS})

    async def repo_info(self, request: web.Request) -> web.StreamResponse:
        # Anyone, even without a token, may read a public repository's gating mode
        # (``?expand[]=gated``); a private one only who may read it.
        repo = self._repo(request)
        return json_response({"_id": repo.id, "id": repo.repo_id, "gated": repo.gated})

    async def repo_page(self, request: web.Request) -> web.StreamResponse:
        # The page ask-access redirects to: a stand-in for the Hub's HTML page.
        repo = self._repo(request)
        title = html.escape(repo.repo_id)
        page = f"<!doctype html><title>{title}</title><h1>{title}</h1>\n"
        return web.Response(text=page, content_type="text/html")

    # -- requester side ----------------------------------------------------------------

    async def ask_access(self, request: web.Request) -> web.StreamResponse:
        token = caller(self.state, request)
        repo = self._repo(request)
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            fields: JsonDict = {key: str(value) for key, value in form.items()}
        else:
            fields = await _json_body(request)
        self.state.ask_access(repo, token.user, fields)
        # The Hub answers every ask (again, or from a rejected user) with a redirect to the
        # repository's page, without a body (FIDELITY.md, the requester's side).
        page = repo.repo_id if repo.repo_type == "model" else f"{repo.repo_type}s/{repo.repo_id}"
        location = f"{origin(request)}/{page}"
        return web.Response(status=303, headers={"Location": location})

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        token = caller(self.state, request)
        repo = self._repo(request)
        self.state.cancel_own(repo, token.user)
        return json_response({"ok": True})
