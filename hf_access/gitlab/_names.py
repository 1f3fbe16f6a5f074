"""User name -> id, learnt from access-request lists (per target) and from ``/users``.

>>> cache = NameCache()
>>> cache.learn(("project", "acme/app"), "Alice", 7)
>>> cache.lookup(("project", "acme/app"), "alice"), cache.lookup(("group", "acme"), "alice")
(7, None)
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable


class NameCache:
    """Positive entries only: a name missing here is looked up again (ids never change)."""

    def __init__(self) -> None:
        self._per_target: dict[Hashable, dict[str, int]] = {}
        self._users: dict[str, int] = {}
        self._complete: set[Hashable] = set()
        self._locks: dict[Hashable, asyncio.Lock] = {}

    def learn(self, where: Hashable, username: str, user_id: int) -> None:
        """A requester seen in ``where``'s list."""
        self._per_target.setdefault(where, {})[username.lower()] = user_id

    def learn_user(self, username: str, user_id: int) -> None:
        """A user found by ``GET /users?username=``."""
        self._users[username.lower()] = user_id

    def lookup(self, where: Hashable, username: str) -> int | None:
        key = username.lower()
        found = self._per_target.get(where, {}).get(key)
        return found if found is not None else self._users.get(key)

    def is_complete(self, where: Hashable) -> bool:
        """Whether ``where``'s whole list has been read."""
        return where in self._complete

    def mark_complete(self, where: Hashable) -> None:
        self._complete.add(where)

    def lock(self, where: Hashable) -> asyncio.Lock:
        """One lock per target, so concurrent tasks read its list once."""
        return self._locks.setdefault(where, asyncio.Lock())
