"""The fake GitLab's memory: users, projects and groups, members, requests, tokens, limits.

Pure and synchronous: the aiohttp handlers call it; every mutation holds one lock so tests
may seed it from another thread while it serves.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from email.utils import formatdate

import attrs

PROJECT, GROUP = "project", "group"
PROJECT_LEVELS = frozenset({0, 10, 15, 20, 30, 40})
GROUP_LEVELS = frozenset({0, 5, 10, 15, 20, 30, 40, 50})
MAINTAINER, OWNER = 40, 50


class FakeGitLabError(Exception):
    """An error answer: ``{"message": ...}`` (or ``{"error": ...}`` when ``key="error"``)."""

    def __init__(
        self,
        status: int,
        message: object,
        *,
        key: str = "message",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.key = key
        self.headers = headers or {}


def not_found(what: str = "") -> FakeGitLabError:
    return FakeGitLabError(404, f"404 {what} Not Found" if what else "404 Not found")


FORBIDDEN = "403 Forbidden"
UNAUTHORIZED = "401 Unauthorized"


@attrs.define
class FakeUser:
    id: int
    username: str
    name: str
    state: str = "active"
    locked: bool = False


@attrs.define
class Membership:
    level: int
    created_at: float


@attrs.define(eq=False)
class FakeTarget:
    """A project or group. ``requests`` maps user id -> time requested (insertion order)."""

    kind: str
    id: int
    path: str
    parent: FakeTarget | None = None
    private: bool = False
    members: dict[int, Membership] = attrs.Factory(dict)
    requests: dict[int, float] = attrs.Factory(dict)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def ancestors(self) -> list[FakeTarget]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


@attrs.frozen
class FakeTargetState:
    """A snapshot of a project or group: pending requesters and members (name -> level)."""

    kind: str
    id: int
    path: str
    requests: tuple[str, ...]
    members: dict[str, int]


class GitLabState:
    """Everything the fake GitLab knows."""

    def __init__(
        self, clock: Callable[[], float], *, quota: int | None = None, period: int = 60
    ) -> None:
        if quota is not None and quota < 1:
            raise ValueError("quota must be at least 1")
        if period < 1:
            raise ValueError("period must be at least 1 second")
        self.clock = clock
        self.quota = quota
        self.period = period
        self.lock = threading.RLock()
        self.users: dict[int, FakeUser] = {}
        self._names: dict[str, int] = {}
        self.tokens: dict[str, tuple[int, int]] = {}  # token -> (user id, global level)
        self._targets: dict[tuple[str, int], FakeTarget] = {}
        self._paths: dict[tuple[str, str], FakeTarget] = {}
        self._windows: dict[str, tuple[float, int]] = {}
        self.faults: dict[str, list[int]] = {}
        self.drops_after: dict[str, int] = {}  # route -> answers to lose after applying
        self.counters: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    # -- seeding --------------------------------------------------------------------------

    def add_user(self, username: str, name: str | None = None) -> FakeUser:
        with self.lock:
            if username.lower() in self._names:
                raise ValueError(f"user {username!r} exists")
            user = FakeUser(len(self.users) + 1, username, name or username.title())
            self.users[user.id] = user
            self._names[username.lower()] = user.id
            return user

    def user_named(self, username: str) -> FakeUser:
        uid = self._names.get(username.lower())
        if uid is None:
            raise KeyError(f"no user {username!r}")
        return self.users[uid]

    def ensure_user(self, username: str) -> FakeUser:
        with self.lock:
            uid = self._names.get(username.lower())
            return self.users[uid] if uid is not None else self.add_user(username)

    def add_token(self, token: str, username: str, level: int = 0) -> None:
        with self.lock:
            self.tokens[token] = (self.user_named(username).id, level)

    def add_target(self, kind: str, path: str, *, private: bool = False) -> FakeTarget:
        with self.lock:
            path = path.strip("/")
            if not path or (kind == PROJECT and "/" not in path):
                raise ValueError(f"invalid {kind} path {path!r}: a project lives in a group")
            existing = self._paths.get((kind, path.lower()))
            if existing is not None:
                if kind == GROUP:
                    return existing  # groups are created on demand as parents: idempotent
                raise ValueError(f"{kind} {path!r} exists")
            parent = None
            if "/" in path:
                parent_path = path.rsplit("/", 1)[0]
                parent = self._paths.get((GROUP, parent_path.lower()))
                if parent is None:
                    parent = self.add_target(GROUP, parent_path)
            number = 1 + sum(1 for k, _ in self._targets if k == kind)
            target = FakeTarget(kind, number, path, parent, private)
            self._targets[(kind, number)] = target
            self._paths[(kind, path.lower())] = target
            return target

    def target(self, kind: str, ident: str | int) -> FakeTarget:
        """By id or full path (case-insensitive); the typed 404 GitLab sends otherwise."""
        text = str(ident)
        found = (
            self._targets.get((kind, int(text)))
            if text.isdigit()
            else self._paths.get((kind, text.lower()))
        )
        if found is None:
            raise not_found(kind.title())
        return found

    def add_member(self, target: FakeTarget, username: str, level: int) -> None:
        with self.lock:
            target.members[self.user_named(username).id] = Membership(level, self.clock())

    def add_request(self, target: FakeTarget, username: str, *, at: float | None = None) -> None:
        with self.lock:
            user = self.ensure_user(username)
            target.requests[user.id] = self.clock() if at is None else at

    def snapshot(self, target: FakeTarget) -> FakeTargetState:
        with self.lock:
            return FakeTargetState(
                kind=target.kind,
                id=target.id,
                path=target.path,
                requests=tuple(self.users[uid].username for uid in target.requests),
                members={self.users[u].username: m.level for u, m in target.members.items()},
            )

    # -- authentication, permissions, limits ----------------------------------------------

    def authenticate(
        self, private_token: str | None, authorization: str | None
    ) -> tuple[int, int] | None:
        """``(user id, token level)`` of the request's token; None without; 401 if unknown."""
        token = private_token
        if token is None and authorization:
            scheme, _, value = authorization.partition(" ")
            token = value.strip() if scheme.lower() == "bearer" else None
            if token is None:
                raise FakeGitLabError(401, UNAUTHORIZED)
        if token is None:
            return None
        entry = self.tokens.get(token.strip())
        if entry is None:
            raise FakeGitLabError(401, UNAUTHORIZED)
        return entry

    def level_of(self, user_id: int | None, target: FakeTarget, token_level: int = 0) -> int:
        """The user's role on ``target``: its own membership, inherited ones, the token's."""
        if user_id is None:
            return 0
        levels = [token_level]
        for node in [target, *target.ancestors()]:
            member = node.members.get(user_id)
            if member is not None:
                levels.append(member.level)
        return max(levels)

    def visible(self, user_id: int | None, target: FakeTarget, token_level: int) -> FakeTarget:
        if target.private and self.level_of(user_id, target, token_level) == 0:
            raise not_found(target.kind.title())
        return target

    def require(self, user_id: int | None, target: FakeTarget, token_level: int, level: int) -> int:
        have = self.level_of(user_id, target, token_level)
        if have < level:
            raise FakeGitLabError(403, FORBIDDEN)
        return have

    def hit(self, key: str) -> tuple[bool, dict[str, str]]:
        """Count one call (Rack::Attack style); ``(allowed, RateLimit-* headers)``."""
        if self.quota is None:
            return True, {}
        with self.lock:
            now = self.clock()
            start = now - (now % self.period)
            previous = self._windows.get(key)
            count = previous[1] + 1 if previous is not None and previous[0] == start else 1
            self._windows[key] = (start, count)
        reset = int(start + self.period)
        limit = self.quota
        headers = {
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": str(math.ceil(limit * 60 / self.period)),
            "RateLimit-Observed": str(count),
            "RateLimit-Remaining": str(max(0, limit - count)),
            "RateLimit-Reset": str(reset),
            "RateLimit-ResetTime": _http_date(reset),
        }
        if count > limit:
            headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
            return False, headers
        return True, headers

    # -- access requests ------------------------------------------------------------------

    def request_access(self, target: FakeTarget, user_id: int, token_level: int) -> float:
        with self.lock:
            if self.level_of(user_id, target, token_level) > 0:
                raise FakeGitLabError(403, FORBIDDEN)  # members cannot request access
            return target.requests.setdefault(user_id, self.clock())

    def approve(
        self, target: FakeTarget, caller: int, token_level: int, user_id: int, level: int
    ) -> Membership:
        with self.lock:
            have = self.require(caller, target, token_level, MAINTAINER)
            if user_id not in target.requests:
                raise not_found()
            allowed = GROUP_LEVELS if target.kind == GROUP else PROJECT_LEVELS
            if level not in allowed:
                raise FakeGitLabError(400, "access_level does not have a valid value", key="error")
            if level > have:
                raise FakeGitLabError(403, FORBIDDEN)  # no granting above one's own role
            del target.requests[user_id]
            member = Membership(level, self.clock())
            target.members[user_id] = member
            return member

    def deny(self, target: FakeTarget, caller: int, token_level: int, user_id: int) -> None:
        with self.lock:
            if caller != user_id:  # requesters may withdraw their own request
                self.require(caller, target, token_level, MAINTAINER)
            if target.requests.pop(user_id, None) is None:
                raise not_found()

    def member(self, target: FakeTarget, user_id: int, *, inherited: bool) -> Membership:
        nodes = [target, *target.ancestors()] if inherited else [target]
        found = [n.members[user_id] for n in nodes if user_id in n.members]
        if not found:
            raise not_found()
        return max(found, key=lambda m: m.level)

    def members(self, target: FakeTarget) -> list[tuple[FakeUser, Membership]]:
        return [(self.users[uid], m) for uid, m in target.members.items()]


def _http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)
