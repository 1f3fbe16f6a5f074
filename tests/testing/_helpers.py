"""Helpers of the fake Hub's tests: a raw aiohttp client and its decoded replies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from hf_access.testing import FakeHub

REPO = "owner/gated-model"
ACCESS = f"/api/models/{REPO}/user-access-request"


class Reply:
    """A decoded answer: status, headers, JSON body (or text when not JSON)."""

    def __init__(
        self, status: int, headers: Mapping[str, str], body: Any, links: Mapping[str, str]
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.links = links  # rel -> absolute URL

    @property
    def error(self) -> str:
        return str(self.body["error"])

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body!r})"


class Api:
    """A plain aiohttp client for the fake Hub (no hf-access code involved)."""

    def __init__(self, session: aiohttp.ClientSession, hub: FakeHub) -> None:
        self.session = session
        self.hub = hub

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "owner",
        json: Any = None,
        data: Any = None,
        params: Any = None,
        absolute: bool = False,
        follow: bool = False,
    ) -> Reply:
        headers = {}
        if token == "owner":
            token = self.hub.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = path if absolute else self.hub.url + path
        async with self.session.request(
            method,
            url,
            headers=headers,
            json=json,
            data=data,
            params=params,
            allow_redirects=follow,  # see redirects (ask-access answers 303) as they come
        ) as response:
            body: Any
            if response.content_type == "application/json":
                body = await response.json()
            else:
                body = await response.text()
            links = {str(k): str(v["url"]) for k, v in response.links.items()}
            return Reply(response.status, response.headers.copy(), body, links)

    async def get(self, path: str, **options: Any) -> Reply:
        return await self.call("GET", path, **options)

    async def post(self, path: str, **options: Any) -> Reply:
        return await self.call("POST", path, **options)

    async def put(self, path: str, **options: Any) -> Reply:
        return await self.call("PUT", path, **options)

    async def handle(self, status: str, repo: str = REPO, **ident: Any) -> Reply:
        body = {"status": status, **ident}
        return await self.post(f"/api/models/{repo}/user-access-request/handle", json=body)
