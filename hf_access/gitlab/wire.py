"""GitLab's wire, pure: validation, paths, every call as a :class:`~hf_access.core.sansio.Call`,
pagination and rate-limit headers.

The session, its look-ups and the bulk executor all build their calls here, and a dry run
shows the very same values. Nothing here does I/O or needs an event loop.

>>> encode_target("acme/tools/app")
'acme%2Ftools%2Fapp'
>>> approve_path(TargetKind.GROUP, "acme", 42)
'groups/acme/access_requests/42/approve'
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import attrs

from ..core.ratelimit import RateLimitInfo
from ..core.sansio import Call, normalize_endpoint, parse_link_next
from ..core.transport import Response
from .models import AccessLevel, GitLabAccessRequest, GitLabMember, GitLabUser, TargetKind

log = logging.getLogger("hf_access")

__all__ = [
    "DEFAULT_ACCESS_LEVEL",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_PER_PAGE",
    "MAX_PAGE_SIZE",
    "MAX_PER_PAGE",
    "Target",
    "UnresolvedUser",
    "UserArg",
    "UserSlot",
    "approve_call",
    "approve_path",
    "deny_call",
    "encode_target",
    "has_pagination",
    "list_call",
    "member_call",
    "member_path",
    "next_link",
    "next_page_url",
    "normalize_api_url",
    "parse_gitlab_ratelimit",
    "request_access_call",
    "request_path",
    "requests_path",
    "user_ref",
    "users_call",
    "validate_access_level",
    "validate_page_size",
    "validate_per_page",
    "validate_target",
    "validate_user_id",
    "validate_username",
]

Target = int | str
UserArg = int | str | GitLabAccessRequest | GitLabMember | GitLabUser

API_SUFFIX = "/api/v4"
MAX_PAGE_SIZE = 100
"""The most entries GitLab lists on one page (its ``per_page``)."""
DEFAULT_PAGE_SIZE = 100
"""Entries a listing asks for per page unless told (GitLab's own default is 20)."""
MAX_PER_PAGE, DEFAULT_PER_PAGE = MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE  # GitLab's word for it
DEFAULT_ACCESS_LEVEL = AccessLevel.DEVELOPER
"""The level an approval gives when none is named."""
MAX_DEPTH = 21  # a top-level group, 20 levels of subgroups (the project sits in the last)

# GitLab's path rule: letters, digits, '_', '-', '.'; not starting with '-'; not ending in
# '.git' or '.atom'. Matched whole (``fullmatch``: ``$`` would let a final newline through).
# A segment of dots only ('.', '..') is refused: it would climb to another API route.
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.\-]{0,254}")
_USERNAME_RE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.\-]{0,254}")


def _all_dots(text: str) -> bool:
    return not text.strip(".")


# -- validation ------------------------------------------------------------------------------


def validate_target(target: Target) -> str:
    """The canonical text of a project or group: ``"123"`` or ``"group/sub/project"``.

    An id is a positive integer (or its digits); a path is ``/``-separated GitLab path
    segments. An already URL-encoded path (``group%2Fproject``) is accepted. ValueError
    otherwise.

    >>> validate_target("acme%2Fapp")
    'acme/app'
    """
    if isinstance(target, bool):
        raise ValueError(f"invalid project or group {target!r}")
    if isinstance(target, int):
        if target < 1:
            raise ValueError(f"invalid project or group id {target}: must be positive")
        return str(target)
    if not isinstance(target, str):
        raise ValueError(f"a project or group is an id or a path, not {type(target).__name__}")
    text = target.strip()
    if "%" in text:
        text = unquote(text)
    if text.isascii() and text.isdigit():
        if int(text) < 1:
            raise ValueError(f"invalid project or group id {target!r}: must be positive")
        return str(int(text))
    segments = text.split("/")
    if not text or len(segments) > MAX_DEPTH:
        raise ValueError(f"invalid project or group path {target!r}")
    for segment in segments:
        if _all_dots(segment):
            raise ValueError(
                f"invalid project or group path {target!r}: segment {segment!r} is not a name"
            )
        if not _SEGMENT_RE.fullmatch(segment) or segment.endswith((".git", ".atom")):
            raise ValueError(
                f"invalid project or group path {target!r}: segment {segment!r} is not a "
                "GitLab path (letters, digits, '_', '-', '.'; not starting with '-')"
            )
    return text


def encode_target(target: Target) -> str:
    """The ``:id`` path segment: the id, or the path with every ``/`` encoded as ``%2F``."""
    return quote(validate_target(target), safe="")


def validate_user_id(user_id: object) -> int:
    """A positive integer user id (bools are refused), else ValueError."""
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
        raise ValueError(f"invalid user id {user_id!r}: expected a positive integer")
    return user_id


def validate_username(username: str) -> str:
    """A GitLab user name (a leading ``@`` is dropped), else ValueError."""
    if not isinstance(username, str):
        raise ValueError(f"invalid user name {username!r}")
    text = username.strip().removeprefix("@")
    if not _USERNAME_RE.fullmatch(text) or _all_dots(text) or text.endswith((".git", ".atom")):
        raise ValueError(f"invalid user name {username!r}")
    return text


def user_ref(user: UserArg) -> int | str:
    """A user id (int) or a validated user name (str) from what the caller gave."""
    if isinstance(user, GitLabAccessRequest | GitLabMember | GitLabUser):
        return validate_user_id(user.id)
    if isinstance(user, bool):
        raise ValueError(f"invalid user {user!r}")
    if isinstance(user, int):
        return validate_user_id(user)
    if isinstance(user, str):
        return validate_username(user)
    raise ValueError(f"a user is an id, a user name or a record, not {type(user).__name__}")


@attrs.frozen
class UnresolvedUser:
    """A user name not resolved to its id yet: a dry run's planned path shows it as ``{name}``.

    A real run resolves every name before it builds its call, so this never reaches a server.

    >>> deny_call(TargetKind.PROJECT, 3, UnresolvedUser("@eve")).path
    'projects/3/access_requests/{eve}'
    """

    name: str = attrs.field(converter=validate_username)

    def __str__(self) -> str:
        return "{" + self.name + "}"


UserSlot = int | UnresolvedUser
"""The ``:user_id`` of a path: an id, or (in a dry run only) a name still to resolve."""


def _user_segment(user: UserSlot) -> str:
    if isinstance(user, UnresolvedUser):
        return str(user)
    return str(validate_user_id(user))


def validate_access_level(level: AccessLevel | int | str) -> AccessLevel:
    """One of :class:`AccessLevel` (by member, number or name), else ValueError."""
    return AccessLevel.parse(level)


def validate_page_size(page_size: int, *, name: str = "page_size") -> int:
    """Entries per page, 1 to 100 (sent as GitLab's ``per_page``), else ValueError naming the
    argument ``name``."""
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ValueError(f"{name} must be an integer from 1 to {MAX_PAGE_SIZE}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"{name} must be from 1 to {MAX_PAGE_SIZE}, not {page_size}")
    return page_size


def validate_per_page(per_page: int) -> int:
    """:func:`validate_page_size` under GitLab's name for it."""
    return validate_page_size(per_page, name="per_page")


# -- URLs and paths --------------------------------------------------------------------------


def normalize_api_url(url: str) -> str:
    """``https://host[/prefix]`` with ``/api/v4`` appended unless it is already there.

    >>> normalize_api_url("https://gitlab.example.com/")
    'https://gitlab.example.com/api/v4'
    >>> normalize_api_url("https://gitlab.example.com/api/v4")
    'https://gitlab.example.com/api/v4'
    """
    base = normalize_endpoint(url)
    parts = urlsplit(base)
    if parts.query or parts.fragment:
        raise ValueError(f"invalid GitLab URL {url!r}: no query or fragment expected")
    if base.endswith(API_SUFFIX):
        return base
    return base + API_SUFFIX


def requests_path(kind: TargetKind, target: Target) -> str:
    """``projects/:id/access_requests`` (list and request access)."""
    return f"{kind.plural}/{encode_target(target)}/access_requests"


def request_path(kind: TargetKind, target: Target, user_id: UserSlot) -> str:
    """``projects/:id/access_requests/:user_id`` (deny)."""
    return f"{requests_path(kind, target)}/{_user_segment(user_id)}"


def approve_path(kind: TargetKind, target: Target, user_id: UserSlot) -> str:
    """``projects/:id/access_requests/:user_id/approve``."""
    return f"{request_path(kind, target, user_id)}/approve"


def member_path(kind: TargetKind, target: Target, user_id: int, *, inherited: bool) -> str:
    """``projects/:id/members/all/:user_id`` (inherited members too) or ``.../members/:user_id``."""
    scope = "members/all" if inherited else "members"
    return f"{kind.plural}/{encode_target(target)}/{scope}/{validate_user_id(user_id)}"


# -- pagination ------------------------------------------------------------------------------


def next_page_url(
    headers: Mapping[str, str], current_url: str, params: Mapping[str, str] | None = None
) -> str | None:
    """The next page: ``Link`` rel=next, else ``X-Next-Page`` applied to ``current_url``.

    ``params`` are query parameters the current request sent besides its URL's own.

    >>> next_page_url({"X-Next-Page": "3"}, "https://h/api/v4/groups/1/access_requests?page=2")
    'https://h/api/v4/groups/1/access_requests?page=3'
    >>> next_page_url({"X-Next-Page": ""}, "https://h/x?page=2") is None
    True
    """
    link = parse_link_next(headers.get("Link"))
    if link:
        return link
    raw = (headers.get("X-Next-Page") or "").strip()
    if not raw.isdigit():
        return None
    parts = urlsplit(current_url)
    pairs = parse_qsl(parts.query, keep_blank_values=True) + list((params or {}).items())
    query = [(k, v) for k, v in pairs if k != "page"]
    query.append(("page", raw))
    return urlunsplit(parts._replace(query=urlencode(query)))


def has_pagination(headers: Mapping[str, str]) -> bool:
    """Whether the answer says anything about further pages."""
    return "Link" in headers or "X-Next-Page" in headers or "X-Total-Pages" in headers


# -- rate limits -----------------------------------------------------------------------------


def _int(value: str | None) -> int | None:
    """A whole number from a header, or None for anything else (never raises).

    >>> [_int(v) for v in ("12", "1e400", "nan", "-inf", "x", None)]
    [12, None, None, None, None, None]
    """
    if value is None:
        return None
    try:
        number = float(value.strip())
    except (ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        log.debug("ignoring a rate-limit header that is not a finite number: %.40r", value)
        return None
    return int(number)


def parse_gitlab_ratelimit(headers: Mapping[str, str], now: float | None = None) -> RateLimitInfo:
    """What GitLab's ``RateLimit-*`` headers say of the quota (any may be missing).

    GitLab (Rack::Attack) sends ``RateLimit-Limit`` rounded to a per-minute figure,
    ``RateLimit-Observed`` (calls counted in the period) and ``RateLimit-Remaining`` (left in
    it), ``RateLimit-Reset`` (Unix time the period ends; a small number is read as seconds)
    and ``RateLimit-ResetTime`` (the same as an HTTP date). The quota of the real period is
    ``observed + remaining``; the period is derived from the per-minute limit when both are
    known, else one minute. ``now`` is the current Unix time (injectable).

    >>> parse_gitlab_ratelimit({"RateLimit-Limit": "2000", "RateLimit-Observed": "5",
    ...     "RateLimit-Remaining": "1995", "RateLimit-Reset": "1700000060"}, now=1700000000)
    RateLimitInfo(remaining=1995, reset_after=60.0, quota=2000, window=60.0)
    """
    current = time.time() if now is None else now
    per_minute = _int(headers.get("RateLimit-Limit"))
    observed = _int(headers.get("RateLimit-Observed"))
    remaining = _int(headers.get("RateLimit-Remaining"))
    reset_after: float | None = None
    raw_reset = _int(headers.get("RateLimit-Reset"))
    if raw_reset is not None:
        reset_after = float(raw_reset - current if raw_reset > 1_000_000_000 else raw_reset)
    else:
        stamp = headers.get("RateLimit-ResetTime")
        if stamp:
            try:
                reset_after = email.utils.parsedate_to_datetime(stamp).timestamp() - current
            except (TypeError, ValueError, OverflowError, OSError, IndexError):
                reset_after = None
    if reset_after is None and remaining == 0:
        retry = _int(headers.get("Retry-After"))
        reset_after = None if retry is None else float(retry)
    quota = per_minute
    window: float | None = 60.0 if per_minute else None
    if observed is not None and remaining is not None and remaining > 0:
        quota = observed + remaining
        if per_minute and per_minute > 0:
            window = 60.0 * quota / per_minute
    return RateLimitInfo(
        remaining=None if remaining is None else max(0, remaining),
        reset_after=None if reset_after is None else max(0.0, reset_after),
        quota=None if quota is None or quota < 1 else quota,
        window=window,
    )


# -- calls -----------------------------------------------------------------------------------


def list_call(kind: TargetKind, target: Target, page_size: int) -> Call:
    """The first page of a target's pending requests (``page_size`` sent as ``per_page``)."""
    return Call("GET", requests_path(kind, target), params={"per_page": str(page_size)})


def next_link(response: Response, call: Call) -> str | None:
    """The next page of a listing (see :func:`next_page_url`)."""
    return next_page_url(response.headers, response.url, call.params)


def request_access_call(kind: TargetKind, target: Target) -> Call:
    """Ask for access as the token's user."""
    return Call("POST", requests_path(kind, target))


def approve_call(
    kind: TargetKind, target: Target, user_id: UserSlot, level: AccessLevel = DEFAULT_ACCESS_LEVEL
) -> Call:
    """Approve a request at ``level`` (``PUT .../access_requests/:user_id/approve``)."""
    params = {"access_level": str(int(level))}
    return Call("PUT", approve_path(kind, target, user_id), params=params)


def deny_call(kind: TargetKind, target: Target, user_id: UserSlot) -> Call:
    """Deny (delete) a request (``DELETE .../access_requests/:user_id``)."""
    return Call("DELETE", request_path(kind, target, user_id))


def member_call(kind: TargetKind, target: Target, user_id: int, *, inherited: bool) -> Call:
    """One membership (``GET .../members[/all]/:user_id``)."""
    return Call("GET", member_path(kind, target, user_id, inherited=inherited))


def users_call(username: str) -> Call:
    """Find a user by name (``GET /users?username=``)."""
    return Call("GET", "users", params={"username": username})


def current_user_call() -> Call:
    """The token's own user (``GET /user``)."""
    return Call("GET", "user")
