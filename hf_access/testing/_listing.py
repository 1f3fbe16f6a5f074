"""Who the token is, and the repos of a namespace: ``whoami-v2`` and the repo listings.

Routes (FIDELITY.md, "Repos of a namespace, and who the token is"):

* ``GET /api/whoami-v2``: the token's user, its organisations with the user's role in each,
  and the token's own role;
* ``GET /api/models|datasets|spaces?author=NS&expand[]=gated``: a namespace's repos, paged
  with ``limit`` (default and maximum 1000 (assumed: FIDELITY.md)) and a ``Link: rel="next"`` header.

Organisations and private repos are kept by the state (``HubState.directory``), which
also decides who may read and manage a repo; :class:`ListingSeeding` gives
:class:`~hf_access.testing.FakeHub` its seeding methods for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from aiohttp import web

from ._model import JsonDict, Repo, Request
from ._records import REPO_TYPES, GatedMode, bad_request, format_ms
from ._server import caller, json_response, next_link
from ._state import HubState
from ._validate import parse_limit

__all__ = ["ORG_ROLES", "ListingSeeding", "register_listing"]

ORG_ROLES = ("admin", "write", "contributor", "read")
"""The roles a user can have in an organisation (``roleInOrg``)."""

_TYPE_PATHS = "{rtype:models|datasets|spaces}"


def _repo_item(repo: Repo, private: bool, expand: Sequence[str]) -> JsonDict:
    item: JsonDict = {"_id": repo.id, "id": repo.repo_id, "private": private}
    if not expand or "gated" in expand:
        item["gated"] = repo.gated
    return item


class ListingRoutes:
    """The handlers of ``whoami-v2`` and of the repo listings over one :class:`HubState`."""

    def __init__(self, state: HubState) -> None:
        self.state = state

    async def whoami(self, request: web.Request) -> web.StreamResponse:
        token = caller(self.state, request)
        user = token.user
        orgs = [
            {"type": "org", "name": org, "fullname": org, "roleInOrg": role}
            for org, role in self.state.directory.orgs_of(user.name)
        ]
        access: JsonDict = {"displayName": "fake token", "role": token.role}
        if token.namespaces is not None:
            # A token limited to namespaces is the Hub's fine-grained kind.
            access["role"] = "fineGrained"
            access["fineGrained"] = {
                "scoped": [
                    {
                        "entity": {"type": "org", "name": ns},
                        "permissions": ["repo.content.read", "repo.write"]
                        if token.role == "write"
                        else ["repo.content.read"],
                    }
                    for ns in sorted(token.namespaces)
                ]
            }
        return json_response(
            {
                "type": "user",
                "id": user.id,
                "name": user.name,
                "fullname": user.fullname,
                "email": user.email,
                "isPro": user.is_pro,
                "orgs": orgs,
                # Never the token itself: only its kind and role.
                "auth": {"type": "access_token", "accessToken": access},
            }
        )

    async def list_repos(self, request: web.Request) -> web.StreamResponse:
        # Anonymous callers see the public repos (assumed: the Hub's public listing).
        token = self.state.token(request.headers.get("Authorization"))
        repo_type = request.match_info["rtype"][:-1]
        query = request.query
        # (assumed: FIDELITY.md) the Hub's bounds for repo listings are not recorded: the
        # access lists' are used.
        limit = parse_limit(query.get("limit"))
        author = query.get("author") or None
        expand = query.getall("expand[]", []) + query.getall("expand", [])
        try:
            start = int(query.get("cursor", "0"))
        except ValueError:
            raise bad_request("Invalid cursor") from None
        state = self.state
        directory = state.directory
        with state.lock:
            # Creation order (assumed: the Hub's default order for an author listing is not
            # recorded; a stable order is what paging needs).
            repos = [
                repo
                for (rtype, _), repo in state.repos.items()
                if rtype == repo_type and (author is None or repo.namespace == author)
            ]
        visible = [repo for repo in repos if state.may_read(token, repo)]
        page = visible[start : start + limit]
        items = [_repo_item(repo, directory.is_private(repo), expand) for repo in page]
        response = json_response(items)
        if start + limit < len(visible):
            response.headers["Link"] = next_link(request, str(start + limit))
        return response


def register_listing(app: web.Application, state: HubState) -> None:
    """Add ``whoami-v2`` and the repo listings to a fake Hub application."""
    routes = ListingRoutes(state)
    app.router.add_route("GET", "/api/whoami-v2", routes.whoami, name="whoami")
    app.router.add_route("GET", f"/api/{_TYPE_PATHS}", routes.list_repos, name="list_repos")


class ListingSeeding:
    """Seeding methods of :class:`~hf_access.testing.FakeHub` for organisations, private
    repos and requests with chosen times (mixed into ``FakeHub``)."""

    _state: HubState

    def add_org(self, name: str, members: Mapping[str, str] | None = None) -> None:
        """Create an organisation; ``members`` maps user names (who must exist) to roles
        (``admin``, ``write``, ``contributor``, ``read``), as ``whoami-v2`` reports them.

        >>> from hf_access.testing import FakeHub
        >>> hub = FakeHub()
        >>> hub.add_org("acme", {"owner": "admin"})
        """
        if not name or "/" in name:
            raise ValueError(f"invalid organisation name {name!r}")
        members = dict(members or {})
        for user, role in members.items():
            if role not in ORG_ROLES:
                raise ValueError(f"role must be one of {ORG_ROLES}, got {role!r}")
            self._state.user(user)  # FakeHubError (404) for an unknown user
        directory = self._state.directory
        with directory.lock:
            if name in directory.orgs:
                raise ValueError(f"organisation {name!r} already exists")
            directory.orgs[name] = members

    def set_private(self, repo_id: str, private: bool = True, *, repo_type: str = "model") -> None:
        """Make a repo private (listed only to tokens that can read it) or public again."""
        repo = self._state.repo(repo_type, repo_id)
        directory = self._state.directory
        with directory.lock:
            if private:
                directory.private.add((repo.repo_type, repo.repo_id))
            else:
                directory.private.discard((repo.repo_type, repo.repo_id))

    def seed_repos(
        self,
        namespace: str,
        gating: Iterable[GatedMode],
        *,
        repo_type: str = "model",
        prefix: str = "repo",
    ) -> list[str]:
        """Create one repo per gating mode given, named ``f"{namespace}/{prefix}-{i:03d}"``.

        >>> from hf_access.testing import FakeHub
        >>> FakeHub().seed_repos("acme", ["manual", False])
        ['acme/repo-000', 'acme/repo-001']
        """
        if repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type must be one of {REPO_TYPES}, got {repo_type!r}")
        names = []
        for index, gated in enumerate(gating):
            repo_id = f"{namespace}/{prefix}-{index:03d}"
            self._state.add_repo(repo_id, repo_type=repo_type, gated=gated, hide_requesters=False)
            names.append(repo_id)
        return names

    def seed_request(
        self,
        repo_id: str,
        user: str,
        *,
        status: str = "pending",
        requested_at: float,
        decided_at: float | None = None,
        repo_type: str = "model",
    ) -> None:
        """Store ``user``'s request made at ``requested_at`` (epoch seconds) with ``status``,
        decided (``reviewedAt``) at ``decided_at`` unless pending. The user is created when
        missing. For histories the clock cannot replay one call at a time.

        >>> from hf_access.testing import FakeHub
        >>> hub = FakeHub()
        >>> _ = hub.add_repo("acme/model")
        >>> hub.seed_request("acme/model", "ann", status="accepted",
        ...                  requested_at=1_791_000_000, decided_at=1_791_003_600)
        >>> hub.snapshot("acme/model")["ann"].reviewed_at
        '2026-10-03T05:00:00.000Z'
        """
        state = self._state
        if status not in ("pending", "accepted", "rejected", "reset"):
            raise ValueError(f"unknown status {status!r}")
        if (status == "pending") != (decided_at is None):
            raise ValueError("decided_at is given exactly when the status is not pending")
        repo = state.repo(repo_type, repo_id)
        with state.lock:
            if user in repo.by_user:
                raise ValueError(f"{user!r} already has a request on {repo_id}")
            if user not in state.users:
                state.add_user(user)
            account = state.users[user]
            ms = round(requested_at * 1000)
            request: Request = state._new_request(account, status, ms, format_ms(ms), None)
            if decided_at is not None:
                request.reviewed = format_ms(round(decided_at * 1000))
            if status == "accepted":
                request.granted_by = state.users.get("owner")
            repo.insert(request)
