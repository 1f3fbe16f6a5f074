"""FakeHub: the fake Hugging Face Hub server, its lifecycle and its seeding API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from aiohttp import web

from ._faults import Faults
from ._limits import DEFAULT_WINDOW
from ._listing import ListingSeeding, register_listing
from ._records import Counters, FakeRepo, FakeUser, GatedMode, RequestRecord
from ._server import FakeHubApp
from ._serving import LocalServer
from ._state import HubState

OWNER = "owner"
OWNER_TOKEN = "hf_fake_owner_token"  # a fixed, fake credential


class FakeHub(ListingSeeding, LocalServer):
    """A local, in-memory Hugging Face Hub serving the access-request API over HTTP.

    It binds ``127.0.0.1`` (``port=0``: a free port). Start it in the running event loop::

        async with FakeHub() as hub:
            hub.add_repo("acme/model")
            hub.seed_pending("acme/model", 3)  # user-000000, user-000001, user-000002
            ...  # call hub.url with hub.token

    or, for synchronous callers, in a background thread with its own loop::

        with FakeHub() as hub:  # same as hub.start_in_thread() ... hub.stop_thread()
            HfApi(endpoint=hub.url, token=hub.token).list_pending_access_requests(...)

    A user ``owner`` with the write token :attr:`token` (``"hf_fake_owner_token"``,
    every namespace) exists from the start.

    Args:
        port: the port to bind; 0 picks a free one.
        clock: returns epoch seconds (e.g. a :class:`ManualClock`); drives timestamps and
            rate-limit windows.
        quota: calls allowed per user and window; ``None`` enforces nothing (the headers
            then advertise ``q=1000000``).
        window: the fixed window, in seconds (the Hub's is 300).
        faults: latency, errors and dropped connections to inject.
        batch_enabled: ``False`` answers the batch route with 404, like an older Hub.

    Seeding and inspection methods are thread-safe: call them while the server runs.
    """

    _name = "fake Hub"

    def __init__(
        self,
        *,
        port: int = 0,
        clock: Callable[[], float] | None = None,
        quota: int | None = None,
        window: int = DEFAULT_WINDOW,
        faults: Faults | None = None,
        batch_enabled: bool = True,
    ) -> None:
        self._state = HubState(clock or time.time, quota=quota, window=window, faults=faults)
        self._state.traffic.batch_enabled = batch_enabled
        self._state.add_user(OWNER, fullname="Repo Owner")
        self._state.superusers.add(OWNER)
        self._state.add_token(OWNER_TOKEN, user=OWNER, role="write", namespaces=None)
        super().__init__(port)

    def _build_app(self) -> web.Application:
        app = FakeHubApp(self._state).build()
        register_listing(app, self._state)
        return app

    # -- lifecycle -------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The owner's write token (``"hf_fake_owner_token"``)."""
        return OWNER_TOKEN

    # -- seeding -----------------------------------------------------------------------

    def add_repo(
        self,
        repo_id: str,
        *,
        repo_type: str = "model",
        gated: GatedMode = "manual",
        hide_requesters: bool = False,
    ) -> FakeRepo:
        """Create a repository, gated ``"manual"`` (default), ``"auto"`` or not (``False``).

        >>> FakeHub().add_repo("acme/model", gated="auto").gated
        'auto'
        """
        return self._state.add_repo(
            repo_id, repo_type=repo_type, gated=gated, hide_requesters=hide_requesters
        )

    def add_user(
        self,
        name: str,
        *,
        fullname: str | None = None,
        email: str | None = None,
        is_pro: bool = False,
        verified_orgs: Iterable[str] = (),
    ) -> FakeUser:
        """Create a user (full name defaults to the name, e-mail to ``{name}@example.org``).

        >>> FakeHub().add_user("alice").email
        'alice@example.org'
        """
        return self._state.add_user(
            name, fullname=fullname, email=email, is_pro=is_pro, verified_orgs=verified_orgs
        )

    def add_token(
        self,
        token: str,
        *,
        user: str,
        role: str = "write",
        namespaces: Iterable[str] | None = None,
    ) -> None:
        """Let ``token`` authenticate ``user`` (who must exist).

        ``role="read"`` gets 403 on owner calls. A write token manages the repositories
        of ``namespaces`` when they are given; by default it has its user's rights: every
        namespace for ``owner``; for anyone else the user's own namespace (``alice/...``)
        and the organisations where the user is ``admin`` or ``write`` (:meth:`add_org`).
        A token without rights on a repository gets the Hub's 403 "You have read access
        but not the required permissions for this operation".

        >>> hub = FakeHub()
        >>> _ = hub.add_user("alice")
        >>> hub.add_token("hf_alice", user="alice", role="read")
        >>> hub.add_token("hf_alice_acme", user="alice", namespaces=["alice", "acme"])
        """
        self._state.add_token(token, user=user, role=role, namespaces=namespaces)

    def seed_pending(
        self,
        repo_id: str,
        count: int,
        *,
        prefix: str = "user",
        repo_type: str = "model",
        fields: Mapping[str, object] | None = None,
    ) -> list[str]:
        """Create ``count`` pending requests from users ``f"{prefix}-{i:06d}"`` (i from 0).

        Missing users are created; existing ones are reused (seeding several repositories
        with the same prefix shares the users). The requests are stamped one millisecond
        apart, the last at the clock's current time, in creation order. Return the user names.

        >>> hub = FakeHub()
        >>> _ = hub.add_repo("acme/model")
        >>> hub.seed_pending("acme/model", 2)
        ['user-000000', 'user-000001']
        """
        repo = self._state.repo(repo_type, repo_id)
        return self._state.seed_pending(repo, count, prefix, fields)

    def ask_access(
        self,
        repo_id: str,
        user: str,
        *,
        repo_type: str = "model",
        fields: Mapping[str, object] | None = None,
    ) -> str:
        """Submit ``user``'s access request, as the Hub's gate form does; return the status.

        Auto-gated repositories accept at once, manual ones queue as ``"pending"``; asking
        again while pending, accepted or rejected changes nothing (a rejected user stays
        rejected, silently, as on the Hub); a ``reset`` user asks anew. Raise
        :class:`FakeHubError` like the HTTP route (400 for a repo that is not gated, 404
        for an unknown repo or user).

        >>> hub = FakeHub()
        >>> _ = hub.add_repo("acme/model")
        >>> _ = hub.add_user("alice")
        >>> hub.ask_access("acme/model", "alice", fields={"Company": "ACME"})
        'pending'
        """
        repo = self._state.repo(repo_type, repo_id)
        return self._state.ask_access(repo, self._state.user(user), fields or {})

    # -- inspection and switches -----------------------------------------------------

    def request_status(self, repo_id: str, user: str, *, repo_type: str = "model") -> str | None:
        """The status of ``user``'s request on the repo, ``None`` when there is none."""
        record = self.snapshot_of(repo_id, user, repo_type=repo_type)
        return record.status if record is not None else None

    def snapshot_of(
        self, repo_id: str, user: str, *, repo_type: str = "model"
    ) -> RequestRecord | None:
        """The stored record of ``user``'s request on the repo, or ``None``."""
        repo = self._state.repo(repo_type, repo_id)
        with self._state.lock:
            request = repo.by_user.get(user)
            return request.record() if request is not None else None

    def snapshot(self, repo_id: str, *, repo_type: str = "model") -> dict[str, RequestRecord]:
        """Every request of the repo: ``{user name: RequestRecord}``.

        >>> hub = FakeHub()
        >>> _ = hub.add_repo("acme/model")
        >>> _ = hub.seed_pending("acme/model", 1)
        >>> hub.snapshot("acme/model")["user-000000"].status
        'pending'
        """
        return self._state.snapshot(self._state.repo(repo_type, repo_id))

    def repo(self, repo_id: str, *, repo_type: str = "model") -> FakeRepo:
        """The repository's current record (gating mode, settings)."""
        return self._state.repo(repo_type, repo_id).public()

    def user(self, name: str) -> FakeUser:
        """A user's record (its ``id`` is the wire's ``_id``)."""
        return self._state.user(name).public()

    @property
    def counters(self) -> Counters:
        """A copy of what was served so far: calls per route, 429s, faults by kind."""
        return self._state.traffic.counters()

    def reset_counters(self) -> None:
        """Zero every counter."""
        self._state.traffic.reset_counters()

    def set_batch_enabled(self, enabled: bool) -> None:
        """``False`` makes the batch route answer 404, like a Hub without it."""
        self._state.traffic.batch_enabled = enabled

    def set_faults(self, faults: Faults | None) -> None:
        """Replace the fault settings (``None``: no faults); the generator is reseeded."""
        self._state.traffic.set_faults(faults)

    def set_rate_limit(self, quota: int | None, *, window: int = DEFAULT_WINDOW) -> None:
        """Replace the rate limit (``quota=None``: unlimited); every window restarts."""
        self._state.traffic.set_rate_limit(quota, window)
