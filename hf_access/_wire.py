"""Pure helpers for the Hub's wire: validation, paths, bodies and header parsing.

Nothing here does I/O or needs an event loop, so all of it is tested with plain values.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import attrs

from .errors import APIStatusError, error_for_status
from .models import AccessRequest, GatingMode, NotificationsMode, RepoType, RequestStatus

MAX_REASON = 200
MAX_BATCH = 100
MAX_SEARCH = 250
MIN_PAGE, MAX_PAGE = 10, 1000

# Hub rules for names: letters, digits, '-', '_', '.'; no '--' or '..'; at most 96 characters;
# not starting or ending with '-' or '.'.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?"
_REPO_ID_RE = re.compile(rf"^{_NAME}/{_NAME}$")
_USER_RE = re.compile(rf"^{_NAME}$")
_HEX24_RE = re.compile(r"^[0-9a-fA-F]{24}$")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def validate_repo_id(repo_id: str) -> str:
    """Return ``repo_id`` if it is ``namespace/name`` as the Hub accepts it, else ValueError."""
    if not isinstance(repo_id, str) or not _REPO_ID_RE.match(repo_id):
        raise ValueError(f"invalid repo id {repo_id!r}: expected 'namespace/name'")
    if "--" in repo_id or ".." in repo_id:
        raise ValueError(f"invalid repo id {repo_id!r}: '--' and '..' are not allowed")
    return repo_id


def validate_username(user: str) -> str:
    """Return ``user`` if it is a well-formed Hub user name, else ValueError."""
    if not isinstance(user, str) or not _USER_RE.match(user) or "--" in user or ".." in user:
        raise ValueError(f"invalid user name {user!r}")
    return user


def validate_reason(reason: str | None, *, field: str = "reason") -> str | None:
    """Reasons are at most 200 characters (the Hub's limit)."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise ValueError(f"{field} must be a string")
    if len(reason) > MAX_REASON:
        raise ValueError(f"{field} is {len(reason)} characters long; the Hub accepts at most 200")
    return reason


def validate_page_size(page_size: int | None) -> int | None:
    if page_size is None:
        return None
    if not isinstance(page_size, int) or not MIN_PAGE <= page_size <= MAX_PAGE:
        raise ValueError(f"page_size must be an integer from {MIN_PAGE} to {MAX_PAGE}")
    return page_size


def validate_search(search: str | None) -> str | None:
    if search is not None and len(search) > MAX_SEARCH:
        raise ValueError(f"search is limited to {MAX_SEARCH} characters")
    return search


@attrs.frozen
class Target:
    """Who a decision is about, as the Hub's bodies address a user or a request."""

    kind: str  # "user", "userId" or "requestId"
    value: str

    @property
    def label(self) -> str:
        if self.kind == "user":
            return self.value
        return f"{'request' if self.kind == 'requestId' else 'user-id'}:{self.value}"

    def body(self) -> dict[str, str]:
        return {self.kind: self.value}


UserRef = str | AccessRequest


def target_of(user: UserRef, *, allow_request_id: bool = True) -> Target:
    """Turn a user name or a listed :class:`AccessRequest` into what the body sends.

    A record is addressed by user name when it has one, else by request id (repos that hide
    their requesters); grant takes no request id, so it falls back to the user id.
    """
    if isinstance(user, AccessRequest):
        if user.username:
            return Target("user", validate_username(user.username))
        if allow_request_id and user.request_id:
            if not _REQUEST_ID_RE.match(user.request_id):
                raise ValueError(f"invalid request id {user.request_id!r}")
            return Target("requestId", user.request_id)
        if user.user_id:
            return Target("userId", user.user_id)
        raise ValueError("this access request has no user name, request id or user id to address")
    if isinstance(user, str):
        if user.startswith("request:") and allow_request_id:
            rid = user.removeprefix("request:")
            if not _REQUEST_ID_RE.match(rid):
                raise ValueError(f"invalid request id {rid!r}")
            return Target("requestId", rid)
        if user.startswith("user-id:"):
            uid = user.removeprefix("user-id:")
            if not _HEX24_RE.match(uid):
                raise ValueError(f"invalid user id {uid!r}: expected 24 hexadecimal characters")
            return Target("userId", uid)
        return Target("user", validate_username(user))
    raise ValueError(f"user must be a user name or an AccessRequest, not {type(user).__name__}")


def user_key(user: UserRef) -> str:
    """How a decision names a user: the user name, else ``request:<id>`` / ``user-id:<id>``."""
    if isinstance(user, AccessRequest):
        if user.username:
            return user.username
        if user.request_id:
            return f"request:{user.request_id}"
        if user.user_id:
            return f"user-id:{user.user_id}"
        raise ValueError("this access request has no user name, request id or user id")
    return user


def reason_key(status: RequestStatus) -> str | None:
    """The body key that carries a reason for ``status`` (None when it takes none)."""
    if status is RequestStatus.REJECTED:
        return "rejectionReason"
    if status is RequestStatus.RESET:
        return "resetReason"
    return None


def decision_body(status: RequestStatus, reason: str | None) -> dict[str, Any]:
    """``{"status": ..., "rejectionReason"?: ...}``; ValueError for a reason the status cannot carry."""
    validate_reason(reason)
    body: dict[str, Any] = {"status": status.value}
    if reason is not None:
        key = reason_key(status)
        if key is None:
            raise ValueError(
                f"a reason can only be given to reject or reset, not to {status.value}"
            )
        body[key] = reason
    return body


def settings_body(
    *,
    mode: GatingMode | str | bool | None,
    notifications_mode: NotificationsMode | str | None,
    notifications_email: str | None,
    org_members_gated: bool | None,
) -> dict[str, Any]:
    """The body of ``PUT .../settings``: only what is given is sent."""
    body: dict[str, Any] = {}
    if mode is not None:
        gm = GatingMode.parse(mode)
        body["gated"] = False if gm is GatingMode.OFF else gm.value
    if notifications_mode is not None:
        body["gatedNotificationsMode"] = NotificationsMode.parse(notifications_mode).value
    if notifications_email is not None:
        if "@" not in notifications_email or len(notifications_email) > 254:
            raise ValueError(f"invalid notifications e-mail {notifications_email!r}")
        body["gatedNotificationsEmail"] = notifications_email
    if org_members_gated is not None:
        body["orgMembersGated"] = bool(org_members_gated)
    if not body:
        raise ValueError("set_gating needs at least one setting to change")
    return body


# ---------------------------------------------------------------------------------------------
# Paths


def repo_api_path(repo_type: RepoType, repo_id: str, *parts: str) -> str:
    """``/api/models/ns/name/<parts>``; repo id segments are percent-encoded."""
    encoded = "/".join(quote(p, safe="") for p in repo_id.split("/"))
    tail = "".join(f"/{p}" for p in parts)
    return f"/api/{repo_type.plural}/{encoded}{tail}"


@functools.lru_cache(maxsize=1024)
def requests_path(repo_type: RepoType, repo_id: str, action: str) -> str:
    """``/api/{type}s/{repo}/user-access-request/{action}``."""
    return repo_api_path(repo_type, repo_id, "user-access-request", action)


def report_path(repo_type: RepoType, repo_id: str) -> str:
    """The report has no ``/api`` prefix, and models have no type segment either."""
    encoded = "/".join(quote(p, safe="") for p in repo_id.split("/"))
    prefix = "" if repo_type is RepoType.MODEL else f"/{repo_type.plural}"
    return f"{prefix}/{encoded}/user-access-report"


# ---------------------------------------------------------------------------------------------
# Endpoint and origin checks


def normalize_endpoint(endpoint: str) -> str:
    """Strip the trailing slash; ValueError when the URL is not http(s)://host."""
    endpoint = endpoint.strip().rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid endpoint {endpoint!r}: expected http(s)://host[:port]")
    return endpoint


def origin_of(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or default)


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_insecure(url: str) -> bool:
    """True when a token sent to ``url`` would travel in clear over a network."""
    return urlsplit(url).scheme == "http" and not is_loopback(url)


# ---------------------------------------------------------------------------------------------
# Headers


_LINK_RE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def parse_link_next(header: str | None) -> str | None:
    """The URL of ``rel="next"`` in a ``Link`` header, or None."""
    if not header:
        return None
    for match in _LINK_RE.finditer(header):
        params = match.group(2)
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return match.group(1).strip()
    return None


@attrs.frozen
class RateLimitInfo:
    """What one response said of the quota. Any field may be unknown (None)."""

    remaining: int | None = None
    reset_after: float | None = None
    quota: int | None = None
    window: float | None = None

    @property
    def known(self) -> bool:
        return self.remaining is not None or self.quota is not None


def _sf_items(value: str) -> list[dict[str, str]]:
    """Split a structured-field list (``"api";r=1;t=2, "x";r=3``) into parameter dicts.

    The bare item (the bucket name, or a string such as ``"fixed window"``) is kept under the
    keys ``""`` (first) and collected under ``"_names"`` joined by ``|``.
    """
    items: list[dict[str, str]] = []
    for raw in value.split(","):
        params: dict[str, str] = {}
        names: list[str] = []
        for piece in raw.split(";"):
            piece = piece.strip()
            if not piece:
                continue
            key, eq, val = piece.partition("=")
            if eq:
                params[key.strip().lower()] = val.strip().strip('"')
            else:
                names.append(piece.strip('"').lower())
        params["_names"] = "|".join(names)
        items.append(params)
    return items


def _pick_bucket(items: list[dict[str, str]], bucket: str) -> dict[str, str] | None:
    for item in items:
        if bucket in item["_names"].split("|"):
            return item
    return items[0] if items else None


@functools.lru_cache(maxsize=256)
def _bucket_numbers(value: str, bucket: str, first: str, second: str) -> tuple[float | None, ...]:
    """Two parameters of ``bucket``'s item in a structured-field header, as numbers.

    Cached: a server sends the same ``RateLimit-Policy`` on every answer, and the
    ``RateLimit`` values repeat often enough under load to be worth keeping.
    """
    item = _pick_bucket(_sf_items(value), bucket)
    if item is None:
        return (None, None)
    return (_num(item.get(first)), _num(item.get(second)))


def _num(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def parse_ratelimit(headers: Mapping[str, str], *, bucket: str = "api") -> RateLimitInfo:
    """Read ``RateLimit`` and ``RateLimit-Policy`` (IETF draft-09 form, as the Hub sends them).

    Older drafts' ``RateLimit-Remaining`` / ``RateLimit-Reset`` / ``RateLimit-Limit`` are
    understood too (with a small reset value read as seconds, a large one as Unix time).
    """
    remaining: float | None = None
    reset_after: float | None = None
    quota: float | None = None
    window: float | None = None
    rl = headers.get("RateLimit")
    if rl:
        remaining, reset_after = _bucket_numbers(rl, bucket, "r", "t")
    policy = headers.get("RateLimit-Policy")
    if policy:
        quota, window = _bucket_numbers(policy, bucket, "q", "w")
    if remaining is None:
        remaining = _num(headers.get("RateLimit-Remaining"))
    if reset_after is None:
        raw = _num(headers.get("RateLimit-Reset"))
        if raw is not None:
            reset_after = raw - time.time() if raw > 1_000_000_000 else raw
            reset_after = max(0.0, reset_after)
    if quota is None:
        quota = _num(headers.get("RateLimit-Limit"))
    return RateLimitInfo(
        remaining=None if remaining is None else max(0, int(remaining)),
        reset_after=reset_after,
        quota=None if quota is None else int(quota),
        window=window,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


_NOT_JSON = object()


def error_body(body: bytes) -> tuple[str, Any]:
    """An error body as (its text, stripped; its JSON, or a marker when it is not JSON)."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        return text, json.loads(text) if text else _NOT_JSON
    except ValueError:
        return text, _NOT_JSON


def error_message(headers: Mapping[str, str], body: bytes) -> str:
    """The Hub's message: the ``X-Error-Message`` header, else the body's ``error``/``message``."""
    header = headers.get("X-Error-Message")
    if header:
        return header
    text, data = error_body(body)
    if not text:
        return "(no message)"
    if isinstance(data, dict):
        for key in ("error", "message"):
            value = data.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, list):
                return "; ".join(str(v) for v in value)
    return text[:500]


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    retry_after: float | None = None,
) -> APIStatusError:
    """The typed error for a failed answer (delegates to :func:`error_for_status`)."""
    return error_for_status(
        status,
        error_message(headers, body),
        error_code=headers.get("X-Error-Code"),
        request_id=headers.get("X-Request-Id"),
        method=method,
        url=url,
        retry_after=retry_after,
    )
