"""The fake Hub's in-memory state and every rule of the access-request protocol.

Pure: no I/O, no event loop. The time comes from an injected clock. Every public method
takes one re-entrant lock, so the state may be seeded from a test's thread while the
server answers in its own thread.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Concatenate, ParamSpec, TypeVar

from ._faults import Faults
from ._index import Key
from ._limits import DEFAULT_WINDOW
from ._model import WRITE_ROLES, Directory, JsonDict, Repo, Request, Token, User, object_id
from ._records import (
    ALREADY_GRANTED,
    NO_PENDING_REQUEST,
    NO_REQUEST,
    READ_ONLY,
    REPO_TYPES,
    USER_NOT_FOUND,
    FakeHubError,
    FakeRepo,
    FakeUser,
    RequestRecord,
    as_gated,
    format_ms,
    repo_not_found,
)
from ._traffic import Traffic
from ._validate import Ident

_P = ParamSpec("_P")
_R = TypeVar("_R")

NOT_GATED = "This repository is not gated"


def _locked(
    method: Callable[Concatenate[HubState, _P], _R],
) -> Callable[Concatenate[HubState, _P], _R]:
    @functools.wraps(method)
    def wrapper(self: HubState, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper


class HubState:
    """Users, tokens, repositories and their requests; ``traffic`` counts and limits calls."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        quota: int | None = None,
        window: int = DEFAULT_WINDOW,
        faults: Faults | None = None,
    ) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.users_by_id: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}
        self.repos: dict[tuple[str, str], Repo] = {}
        self.directory = Directory()  # organisations and private repos
        self.superusers: set[str] = set()  # users who may manage every namespace
        self.traffic = Traffic(clock, quota=quota, window=window, faults=faults)
        self._seq = itertools.count()
        self._user_numbers = itertools.count(1)
        self._request_numbers = itertools.count(1)
        self._repo_numbers = itertools.count(1)

    def now_ms(self) -> int:
        """The injected clock, in epoch milliseconds."""
        return round(self.clock() * 1000)

    # -- seeding ---------------------------------------------------------------------

    @_locked
    def add_user(
        self,
        name: str,
        *,
        fullname: str | None = None,
        email: str | None = None,
        is_pro: bool = False,
        verified_orgs: Iterable[str] = (),
    ) -> FakeUser:
        if not name or "/" in name:
            raise ValueError(f"invalid user name {name!r}")
        if name in self.users:
            raise ValueError(f"user {name!r} already exists")
        return self._create_user(name, fullname, email, is_pro, tuple(verified_orgs)).public()

    @_locked
    def add_token(
        self, token: str, *, user: str, role: str, namespaces: Iterable[str] | None
    ) -> None:
        if role not in ("read", "write"):
            raise ValueError(f"role must be 'read' or 'write', got {role!r}")
        if not token:
            raise ValueError("a token cannot be empty")
        owner = self.users.get(user)
        if owner is None:
            raise ValueError(f"unknown user {user!r}: add it with add_user() first")
        allowed = frozenset(namespaces) if namespaces is not None else None
        self.tokens[token] = Token(token, owner, role, allowed)

    @_locked
    def add_repo(
        self, repo_id: str, *, repo_type: str, gated: object, hide_requesters: bool
    ) -> FakeRepo:
        namespace, _, name = repo_id.partition("/")
        if not namespace or not name or "/" in name:
            raise ValueError(f"repo_id must be 'namespace/name', got {repo_id!r}")
        if repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type must be one of {REPO_TYPES}, got {repo_type!r}")
        if (repo_type, repo_id) in self.repos:
            raise ValueError(f"{repo_type} {repo_id!r} already exists")
        repo = Repo(
            repo_id,
            repo_type,
            object_id(3, next(self._repo_numbers)),
            as_gated(gated),
            hide_requesters,
        )
        self.repos[(repo_type, repo_id)] = repo
        return repo.public()

    @_locked
    def seed_pending(
        self, repo: Repo, count: int, prefix: str, fields: Mapping[str, object] | None
    ) -> list[str]:
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        names = [f"{prefix}-{i:06d}" for i in range(count)]
        taken = [name for name in names if name in repo.by_user]
        if taken:
            raise ValueError(f"{taken[0]!r} already has a request on {repo.repo_id}")
        # One millisecond apart, the last at the clock's time: requests really arrive one by
        # one, and a list of them is then ordered by time alone (not by ties at one instant).
        now = self.now_ms()
        first = now - max(count - 1, 0)
        for offset, name in enumerate(names):
            user = self.users.get(name)
            if user is None:
                user = self._create_user(name, None, None, False, ())
            at = first + offset
            request = self._new_request(user, "pending", at, format_ms(at), fields)
            repo.insert(request)
        return names

    # -- look-ups ----------------------------------------------------------------------

    def repo(self, repo_type: str, repo_id: str) -> Repo:
        """The repository, or the Hub's 404 ``RepoNotFound``."""
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise repo_not_found()
        return repo

    def token(self, authorization: str | None) -> Token | None:
        """The token of an ``Authorization: Bearer`` header, when it is known."""
        if authorization is None or not authorization.startswith("Bearer "):
            return None
        return self.tokens.get(authorization[7:].strip())

    def user(self, name: str) -> User:
        user = self.users.get(name)
        if user is None:
            raise FakeHubError(404, USER_NOT_FOUND)
        return user

    def may_write(self, token: Token, namespace: str) -> bool:
        """Whether ``token`` may manage the repos of ``namespace`` (decide their requests).

        A token limited to namespaces manages those; any other write token has its user's
        rights: every namespace for a superuser (the fake's ``owner``), else the user's own
        namespace and the organisations where the user is ``admin`` or ``write``.
        """
        if token.role != "write":
            return False
        if token.namespaces is not None:
            return namespace in token.namespaces
        user = token.user.name
        return (
            user in self.superusers
            or user == namespace
            or self.directory.role_of(user, namespace) in WRITE_ROLES
        )

    def may_read(self, token: Token | None, repo: Repo) -> bool:
        """Public repos are readable by anyone; private ones by their namespace's user, the
        members of its organisation and whoever may manage it."""
        if not self.directory.is_private(repo):
            return True
        if token is None:
            return False
        user = token.user.name
        return (
            user == repo.namespace
            or self.directory.is_member(user, repo.namespace)
            or self.may_write(token, repo.namespace)
        )

    def check_write(self, token: Token, repo: Repo) -> None:
        """403 unless the token may manage the repository.

        The Hub gives the same message to a read token and to a write token whose user has
        no rights on the repository's namespace (FIDELITY.md, outcomes and errors).
        """
        if not self.may_write(token, repo.namespace):
            raise FakeHubError(403, READ_ONLY)

    # -- owner side --------------------------------------------------------------------

    @_locked
    def handle(
        self, repo: Repo, actor: User, ident: Ident, status: str, reason: str | None
    ) -> None:
        self._check_gated(repo)
        request = self._resolve(repo, ident)
        if request.status == status:  # a same-status move is an error, not a no-op
            raise FakeHubError(404, NO_REQUEST)
        self._move(repo, request, status, actor, reason)

    @_locked
    def grant(self, repo: Repo, actor: User, ident: Ident) -> None:
        self._check_gated(repo)
        kind, value = ident
        user = self.users.get(value) if kind == "user" else self.users_by_id.get(value)
        if user is None:
            raise FakeHubError(404, USER_NOT_FOUND)
        request = repo.by_user.get(user.name)
        if request is None:  # no request: an accepted entry without e-mail
            now = self.now_ms()
            request = self._new_request(user, "accepted", now, format_ms(now), None)
            request.show_email = False
            request.reviewed = request.timestamp
            request.granted_by = actor
            repo.insert(request)
        elif request.status == "accepted":
            raise FakeHubError(400, ALREADY_GRANTED)
        else:  # keeps the request's timestamp and e-mail
            self._move(repo, request, "accepted", actor, None)

    @_locked
    def batch(
        self, repo: Repo, actor: User, status: str, reason: str | None, idents: list[Ident]
    ) -> list[JsonDict]:
        self._check_gated(repo)
        results: list[JsonDict] = []
        for kind, value in idents:
            result: JsonDict = {kind: value}
            results.append(result)
            request: Request | None
            if kind == "requestId":
                request = repo.by_request_id.get(value)
            else:
                user = self.users.get(value) if kind == "user" else self.users_by_id.get(value)
                if user is None:
                    result.update(ok=False, error="user_not_found")
                    continue
                if kind == "userId" and not repo.hide_requesters:
                    result["user"] = user.name
                request = repo.by_user.get(user.name)
            if request is None:
                result.update(ok=False, error="request_not_found")
                continue
            if kind == "requestId" and not repo.hide_requesters:
                result["user"] = request.user.name
            if request.status != status:  # already in the target status: ok, unchanged
                self._move(repo, request, status, actor, reason)
            result["ok"] = True
        return results

    @_locked
    def list_page(
        self,
        repo: Repo,
        status: str,
        *,
        limit: int,
        query: str | None,
        after_ms: int | None,
        before_ms: int | None,
        cursor: Key | None,
    ) -> tuple[list[JsonDict], Key | None]:
        """One page of a list and the key to continue after (``None``: nothing more).

        Items are ordered by ``timestamp`` ascending, ties by creation order (assumed:
        the Hub does not document its order; oldest first suits a queue). ``after`` is
        inclusive and ``before`` exclusive (assumed: FIDELITY.md).
        """
        start: Key | None = None
        inclusive = True
        if after_ms is not None:
            start = (after_ms, -1)
        if cursor is not None and (start is None or cursor >= start):
            start, inclusive = cursor, False
        by_key = repo.by_key
        page: list[Request] = []
        more = False
        for key in repo.index[status].iter_from(start, inclusive=inclusive):
            if before_ms is not None and key[0] >= before_ms:
                break
            request = by_key[key]
            if query is not None and not request.matches(query):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(request)
        hidden = repo.hide_requesters
        items = [request.item(hidden) for request in page]
        return items, (page[-1].key if more else None)

    @_locked
    def report(self, repo: Repo) -> list[JsonDict]:
        hidden = repo.hide_requesters
        return [repo.by_key[key].report_entry(hidden) for key in sorted(repo.by_key)]

    @_locked
    def update_settings(self, repo: Repo, values: Mapping[str, object]) -> None:
        # Every value is stored (the write-only ones too, for inspection); switching modes
        # never touches stored requests (manual->auto accepts nobody).
        repo.gated = as_gated(values.get("gated", repo.gated))
        repo.settings.update(values)

    # -- requester side ----------------------------------------------------------------

    @_locked
    def ask_access(self, repo: Repo, user: User, fields: Mapping[str, object]) -> str:
        self._check_gated(repo)
        request = repo.by_user.get(user.name)
        if request is not None:
            if request.status != "reset":
                # Asking again changes nothing; a rejected user's request is silently
                # kept rejected (FIDELITY.md, the requester's side).
                return request.status
            repo.delete(request)  # reset: the user may ask again, as a new request
        status = "accepted" if repo.gated == "auto" else "pending"
        now = self.now_ms()
        request = self._new_request(user, status, now, format_ms(now), fields)
        if (
            status == "accepted"
        ):  # auto-approval: reviewed at once, by nobody (assumed: FIDELITY.md)
            request.reviewed = request.timestamp
        repo.insert(request)
        return status

    @_locked
    def cancel_own(self, repo: Repo, user: User) -> None:
        request = repo.by_user.get(user.name)
        if request is None or request.status != "pending":
            raise FakeHubError(404, NO_PENDING_REQUEST)
        repo.delete(request)

    # -- inspection ------------------------------------------------------------------

    @_locked
    def snapshot(self, repo: Repo) -> dict[str, RequestRecord]:
        return {key_user: req.record() for key_user, req in repo.by_user.items()}

    # -- internals -------------------------------------------------------------------

    def _create_user(
        self,
        name: str,
        fullname: str | None,
        email: str | None,
        is_pro: bool,
        verified_orgs: tuple[str, ...],
    ) -> User:
        user_id = object_id(1, next(self._user_numbers))
        user = User(
            name,
            user_id,
            fullname if fullname is not None else name,
            email if email is not None else f"{name}@example.org",
            is_pro,
            verified_orgs,
        )
        self.users[name] = user
        self.users_by_id[user_id] = user
        return user

    def _new_request(
        self,
        user: User,
        status: str,
        now: int,
        stamp: str,
        fields: Mapping[str, object] | None,
    ) -> Request:
        number = next(self._request_numbers)
        return Request(
            user, object_id(2, number), status, now, stamp, next(self._seq), dict(fields or {})
        )

    def _resolve(self, repo: Repo, ident: Ident) -> Request:
        kind, value = ident
        if kind == "requestId":
            request = repo.by_request_id.get(value)
        else:
            user = self.users.get(value) if kind == "user" else self.users_by_id.get(value)
            if user is None:
                raise FakeHubError(404, USER_NOT_FOUND)
            request = repo.by_user.get(user.name)
        if request is None:
            raise FakeHubError(404, NO_REQUEST)
        return request

    @staticmethod
    def _check_gated(repo: Repo) -> None:
        # FIDELITY.md: huggingface_hub's docstrings say 400 for a repo that is not gated;
        # lists still answer 200 (recorded), actions answer 400 here (assumed: FIDELITY.md).
        if repo.gated is False:
            raise FakeHubError(400, NOT_GATED)

    def _move(
        self, repo: Repo, request: Request, status: str, actor: User | None, reason: str | None
    ) -> None:
        # Every move between two different statuses is allowed. FIDELITY.md records all of
        # them except pending->reset and the moves out of reset (assumed: allowed here too).
        key = request.key
        repo.index[request.status].remove(key)
        repo.index[status].add(key)
        request.status = status
        request.reviewed = None if status == "pending" else format_ms(self.now_ms())
        request.granted_by = actor if status == "accepted" else None
        request.rejection_reason = reason if status == "rejected" else None
        request.reset_reason = reason if status == "reset" else None
