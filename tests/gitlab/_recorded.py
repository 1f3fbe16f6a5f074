"""Recorded GitLab answers for the aioresponses tests: URLs, bodies and fixtures."""

from __future__ import annotations

from typing import Any

from aioresponses import aioresponses
from yarl import URL

HOST = "https://gitlab.example.com"
API = f"{HOST}/api/v4"
TOKEN = "glpat-secret-value"
PROJECT = f"{API}/projects/acme%2Fapp"


def requester(n: int, name: str | None = None) -> dict[str, Any]:
    return {
        "id": n,
        "username": name or f"user{n}",
        "name": f"User {n}",
        "state": "active",
        "locked": False,
        "avatar_url": None,
        "web_url": f"{HOST}/user{n}",
        "requested_at": "2024-05-01T10:00:00.000Z",
    }


def member(n: int, level: int = 30) -> dict[str, Any]:
    return {
        "id": n,
        "username": f"user{n}",
        "name": f"User {n}",
        "state": "active",
        "access_level": level,
        "created_at": "2024-05-02T10:00:00.000Z",
        "expires_at": None,
    }


def sent(m: aioresponses, method: str, url: str) -> list[Any]:
    return m.requests.get((method, URL(url)), [])


def total_requests(m: aioresponses) -> int:
    return sum(len(calls) for calls in m.requests.values())
