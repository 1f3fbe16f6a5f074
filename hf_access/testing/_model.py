"""The fake Hub's internal mutable objects and their wire shapes (pure, no I/O).

The wire dictionaries of a user are built once, when the user is created, so that a
1,000-item page is a loop of small dict assemblies followed by one ``json.dumps``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping

import attrs

from ._index import Key, SortedKeys
from ._records import STATUSES, FakeRepo, FakeUser, GatedMode, RequestRecord

JsonDict = dict[str, object]


def object_id(kind: int, number: int) -> str:
    """A deterministic 24-hex id shaped like the Hub's (Mongo ObjectId) ids."""
    return f"{0x65400000 + kind:08x}{number:016x}"


class User:
    """A user account and its prebuilt wire forms."""

    __slots__ = (
        "email",
        "email_lower",
        "fullname",
        "granter_wire",
        "id",
        "is_pro",
        "name",
        "report_granter",
        "search",
        "verified_orgs",
        "wire",
        "wire_no_email",
    )

    def __init__(
        self,
        name: str,
        user_id: str,
        fullname: str,
        email: str,
        is_pro: bool,
        verified_orgs: tuple[str, ...],
    ) -> None:
        self.name = name
        self.id = user_id
        self.fullname = fullname
        self.email = email
        self.is_pro = is_pro
        self.verified_orgs = verified_orgs
        self.search = f"{name}\n{fullname}".lower()
        self.email_lower = email.lower()
        avatar = hashlib.sha256(name.encode()).hexdigest()[:32]
        self.wire_no_email: JsonDict = {
            "_id": user_id,
            "user": name,
            "fullname": fullname,
            "avatarUrl": f"/avatars/{avatar}.svg",
            "isPro": is_pro,
            "type": "user",
            "verifiedOrgNames": list(verified_orgs),
        }
        self.wire: JsonDict = {**self.wire_no_email, "email": email}
        # ``grantedBy``: in a list item the granter's user object without
        # ``verifiedOrgNames``; in the access report only ``{fullname, user}``.
        self.granter_wire: JsonDict = {
            key: value for key, value in self.wire_no_email.items() if key != "verifiedOrgNames"
        }
        self.report_granter: JsonDict = {"fullname": fullname, "user": name}

    def public(self) -> FakeUser:
        """The public record of this user."""
        return FakeUser(
            self.name, self.id, self.fullname, self.email, self.is_pro, self.verified_orgs
        )


class Token:
    """An access token: whose it is, its role, the namespaces a write token may manage."""

    __slots__ = ("namespaces", "role", "user", "value")

    def __init__(
        self, value: str, user: User, role: str, namespaces: frozenset[str] | None
    ) -> None:
        self.value = value
        self.user = user
        self.role = role
        self.namespaces = namespaces


class Request:
    """One user's access request to one repository."""

    __slots__ = (
        "fields",
        "granted_by",
        "rejection_reason",
        "request_id",
        "reset_reason",
        "reviewed",
        "seq",
        "show_email",
        "status",
        "timestamp",
        "ts_ms",
        "user",
    )

    def __init__(
        self,
        user: User,
        request_id: str,
        status: str,
        ts_ms: int,
        timestamp: str,
        seq: int,
        fields: JsonDict,
        *,
        show_email: bool = True,
    ) -> None:
        self.user = user
        self.request_id = request_id
        self.status = status
        self.ts_ms = ts_ms
        self.timestamp = timestamp
        self.seq = seq
        self.fields = fields
        self.show_email = show_email
        self.reviewed: str | None = None
        self.granted_by: User | None = None
        self.rejection_reason: str | None = None
        self.reset_reason: str | None = None

    @property
    def key(self) -> Key:
        """The ordering key: timestamp, then creation sequence."""
        return (self.ts_ms, self.seq)

    def matches(self, query: str) -> bool:
        """Case-insensitive substring search on user name, full name and (shown) e-mail."""
        user = self.user
        return query in user.search or (self.show_email and query in user.email_lower)

    def item(self, hidden: bool) -> JsonDict:
        """The list item, in the shape the Hub sends (see FIDELITY.md)."""
        item: JsonDict = {"requestId": self.request_id}
        if not hidden:
            item["user"] = self.user.wire if self.show_email else self.user.wire_no_email
        item["timestamp"] = self.timestamp
        if self.reviewed is not None:
            item["reviewedAt"] = self.reviewed
        item["status"] = self.status
        if self.granted_by is not None and self.status == "accepted":
            item["grantedBy"] = self.granted_by.granter_wire
        if self.fields:  # left out when the requester gave no answers
            item["fields"] = self.fields
        return item

    def report_entry(self, hidden: bool) -> JsonDict:
        """The access report's entry (identity left out when the repo hides requesters)."""
        entry: JsonDict = {}
        if not hidden:
            entry["fullname"] = self.user.fullname
            entry["user"] = self.user.name
            if self.show_email:
                entry["email"] = self.user.email
        entry["time"] = self.timestamp
        if self.reviewed is not None:
            entry["reviewedAt"] = self.reviewed
        entry["status"] = self.status
        if self.granted_by is not None and self.status == "accepted":
            entry["grantedBy"] = self.granted_by.report_granter
        return entry

    def record(self) -> RequestRecord:
        """The public record of this request."""
        return RequestRecord(
            user=self.user.name,
            user_id=self.user.id,
            request_id=self.request_id,
            status=self.status,
            timestamp=self.timestamp,
            reviewed_at=self.reviewed,
            granted_by=self.granted_by.name if self.granted_by is not None else None,
            email=self.user.email if self.show_email else None,
            fields=dict(self.fields),
            rejection_reason=self.rejection_reason,
            reset_reason=self.reset_reason,
        )


class Repo:
    """A repository, its settings and its requests (one per user) indexed by status."""

    __slots__ = (
        "by_key",
        "by_request_id",
        "by_user",
        "gated",
        "hide_requesters",
        "id",
        "index",
        "namespace",
        "repo_id",
        "repo_type",
        "settings",
    )

    def __init__(
        self, repo_id: str, repo_type: str, repo_oid: str, gated: GatedMode, hide: bool
    ) -> None:
        self.repo_id = repo_id
        self.repo_type = repo_type
        self.namespace = repo_id.split("/", 1)[0]
        self.id = repo_oid
        self.gated = gated
        self.hide_requesters = hide
        self.settings: JsonDict = {"gated": gated}
        self.by_user: dict[str, Request] = {}
        self.by_request_id: dict[str, Request] = {}
        self.by_key: dict[Key, Request] = {}
        self.index: Mapping[str, SortedKeys] = {status: SortedKeys() for status in STATUSES}

    def insert(self, request: Request) -> None:
        """Store a new request (its user has none on this repo)."""
        key = request.key
        self.by_user[request.user.name] = request
        self.by_request_id[request.request_id] = request
        self.by_key[key] = request
        self.index[request.status].add(key)

    def delete(self, request: Request) -> None:
        """Forget a request entirely."""
        key = request.key
        self.index[request.status].remove(key)
        del self.by_key[key]
        del self.by_request_id[request.request_id]
        del self.by_user[request.user.name]

    def public(self) -> FakeRepo:
        """The public record of this repository."""
        return FakeRepo(
            self.repo_id,
            self.repo_type,
            self.id,
            self.gated,
            self.hide_requesters,
            dict(self.settings),
        )


WRITE_ROLES = ("admin", "write")
"""Organisation roles that may manage the organisation's repos (and their requests)."""


@attrs.define
class Directory:
    """Organisations (name -> {member: role}) and the set of private repos."""

    orgs: dict[str, dict[str, str]] = attrs.field(factory=dict)
    private: set[tuple[str, str]] = attrs.field(factory=set)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def orgs_of(self, user: str) -> list[tuple[str, str]]:
        """``[(org, role)]`` of ``user``, in the order the organisations were added."""
        with self.lock:
            return [(org, m[user]) for org, m in self.orgs.items() if user in m]

    def role_of(self, user: str, namespace: str) -> str | None:
        """``user``'s role in the organisation ``namespace`` (``None``: not a member)."""
        with self.lock:
            return self.orgs.get(namespace, {}).get(user)

    def is_member(self, user: str, namespace: str) -> bool:
        return self.role_of(user, namespace) is not None

    def is_private(self, repo: Repo) -> bool:
        with self.lock:
            return (repo.repo_type, repo.repo_id) in self.private
