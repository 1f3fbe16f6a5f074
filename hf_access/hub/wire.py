"""The Hub's wire, pure: validation, paths, and every call as a :class:`~hf_access.core.sansio.Call`.

The session's methods and the bulk executor both build their calls here, and a dry run shows
the very same values, so what a dry run plans is what is sent. Nothing here does I/O or needs
an event loop: all of it is tested with plain values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import repeat
from operator import is_
from typing import Any
from urllib.parse import quote

from ..core.convert import format_time
from ..core.errors import DecodeError
from ..core.sansio import Call, parse_link_next
from ..core.transport import Response
from .models import (
    BatchResult,
    GatingMode,
    NotificationsMode,
    RepoType,
    RequestStatus,
)
from .models import UserArg as UserArg  # the wire's names of a user, kept here too
from .models import UserRef as UserRef
from .models import validate_username as validate_username

MAX_REASON = 200
MAX_BATCH = 100
MAX_SEARCH = 250
MIN_PAGE, MAX_PAGE = 10, 1000

# The Hub's rules for repo names (those of huggingface_hub's ``validate_repo_id``): letters,
# digits, '-', '_', '.'; starting and ending with a letter, digit or '_' (``org/_model`` is
# valid); no '--' or '..'; at most 96 characters; not ending in '.git' (user names: see
# hub/models.py). Every pattern is matched whole (``fullmatch``): ``$`` would let a final
# newline through.
_NAME = r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?"
_REPO_ID_RE = re.compile(rf"{_NAME}/{_NAME}")


def validate_repo_id(repo_id: str) -> str:
    """Return ``repo_id`` if it is ``namespace/name`` as the Hub accepts it, else ValueError.

    >>> validate_repo_id("org/_model")
    'org/_model'
    >>> validate_repo_id("org/model.git")
    Traceback (most recent call last):
    ...
    ValueError: invalid repo id 'org/model.git': a repo name cannot end in '.git'
    """
    if not isinstance(repo_id, str) or not _REPO_ID_RE.fullmatch(repo_id):
        raise ValueError(f"invalid repo id {repo_id!r}: expected 'namespace/name'")
    if "--" in repo_id or ".." in repo_id:
        raise ValueError(f"invalid repo id {repo_id!r}: '--' and '..' are not allowed")
    if repo_id.endswith(".git"):
        raise ValueError(f"invalid repo id {repo_id!r}: a repo name cannot end in '.git'")
    return repo_id


def reason_length(reason: str) -> int:
    """A reason's length as the Hub's validator counts it: UTF-16 code units (JavaScript's
    ``length``), so a character outside the Basic Multilingual Plane (an emoji) counts 2.

    >>> reason_length("ok"), reason_length("\N{GRINNING FACE}")
    (2, 2)
    """
    return len(reason.encode("utf-16-le", "surrogatepass")) // 2


def validate_reason(reason: str | None, *, field: str = "reason") -> str | None:
    """Reasons are at most 200 UTF-16 code units (the Hub's limit, counted as it counts)."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise ValueError(f"{field} must be a string")
    length = reason_length(reason)
    if length > MAX_REASON:
        unit = "characters" if length == len(reason) else "UTF-16 code units"
        raise ValueError(f"{field} is {length} {unit} long; the Hub accepts at most 200")
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


def user_label(user: UserArg) -> str:
    """The label of a user given any way (checked): see :attr:`UserRef.label`."""
    return UserRef.parse(user).label


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
# Calls


def list_call(
    repo_type: RepoType,
    repo_id: str,
    status: RequestStatus,
    *,
    search: str | None = None,
    page_size: int | None = None,
    after: datetime | None = None,
) -> Call:
    """The first page of one list (``GET .../user-access-request/{status}``)."""
    params: dict[str, str] = {}
    if page_size is not None:
        params["limit"] = str(page_size)
    if search:
        params["q"] = search
    if after is not None:
        params["after"] = format_time(after)
    return Call("GET", requests_path(repo_type, repo_id, status.value), params=params or None)


def next_link(response: Response, call: Call) -> str | None:
    """Where a list page says the next one is (``Link: <...>; rel="next"``)."""
    return parse_link_next(response.headers.get("Link"))


def handle_call(
    repo_type: RepoType, repo_id: str, user: UserRef, status: RequestStatus, reason: str | None
) -> Call:
    """Move one request to ``status`` (``POST .../user-access-request/handle``)."""
    body = {user.kind: user.value, **decision_body(status, reason)}
    return Call("POST", requests_path(repo_type, repo_id, "handle"), None, body)


def grant_call(repo_type: RepoType, repo_id: str, user: UserRef) -> Call:
    """Give access without a request (``POST .../user-access-request/grant``)."""
    if user.kind == "requestId":
        raise ValueError("grant takes a user name or user id, not a request id")
    return Call("POST", requests_path(repo_type, repo_id, "grant"), body=user.body())


def batch_call(
    repo_type: RepoType,
    repo_id: str,
    status: RequestStatus,
    reason: str | None,
    users: Sequence[UserRef],
) -> Call:
    """1 to 100 users moved to ``status`` (``POST .../user-access-request/batch``)."""
    requests = [{u.kind: u.value} for u in users]
    return _batch_call(repo_type, repo_id, status, reason, requests)


def batch_call_by_name(
    repo_type: RepoType,
    repo_id: str,
    status: RequestStatus,
    reason: str | None,
    names: Sequence[str],
) -> Call:
    """:func:`batch_call` of users all addressed by name, checked already (a bulk run's).

    >>> batch_call_by_name(RepoType.MODEL, "org/m", RequestStatus.ACCEPTED, None, ["bob"]).body
    {'status': 'accepted', 'requests': [{'user': 'bob'}]}
    """
    return _batch_call(repo_type, repo_id, status, reason, [{"user": name} for name in names])


def _batch_call(
    repo_type: RepoType,
    repo_id: str,
    status: RequestStatus,
    reason: str | None,
    requests: list[dict[str, str]],
) -> Call:
    if not 1 <= len(requests) <= MAX_BATCH:
        raise ValueError(f"a batch takes 1 to {MAX_BATCH} users, not {len(requests)}")
    body = {**decision_body(status, reason), "requests": requests}
    return Call("POST", requests_path(repo_type, repo_id, "batch"), body=body)


def gating_call(repo_type: RepoType, repo_id: str) -> Call:
    """The repo's gating mode (``GET /api/{type}s/{repo}?expand[]=gated``)."""
    return Call("GET", repo_api_path(repo_type, repo_id), params={"expand[]": "gated"})


def settings_call(repo_type: RepoType, repo_id: str, body: Mapping[str, Any]) -> Call:
    """Change gating settings (``PUT .../settings``); build ``body`` with :func:`settings_body`."""
    return Call("PUT", repo_api_path(repo_type, repo_id, "settings"), body=dict(body))


def report_call(repo_type: RepoType, repo_id: str) -> Call:
    """Every request in every status (``GET /{repo}/user-access-report``)."""
    return Call("GET", report_path(repo_type, repo_id))


def repos_call(repo_type: RepoType, author: str) -> Call:
    """A namespace's repos of one type with their gating (``GET /api/{type}s?author=``)."""
    return Call("GET", f"/api/{repo_type.plural}", params={"author": author, "expand[]": "gated"})


def whoami_call() -> Call:
    """Who the token is, and its organisations (``GET /api/whoami-v2``)."""
    return Call("GET", "/api/whoami-v2")


def decode_batch(data: Any, users: Sequence[UserRef]) -> list[BatchResult]:
    """The batch route's answer: one result per user sent, in input order."""
    if not isinstance(data, list) or len(data) != len(users):
        raise _batch_length_error(data, len(users))
    results: list[BatchResult] = []
    for index, (item, target) in enumerate(zip(data, users, strict=True)):
        if not isinstance(item, dict) or not isinstance(item.get("ok"), bool):
            raise _batch_ok_error(index)
        error = item.get("error")
        user = item.get("user")
        if target.kind == "user" and isinstance(user, str) and user != target.value:
            # Answers come in input order; one that names someone else is not to be trusted.
            raise _batch_user_error(index, user, target.value)
        results.append(
            BatchResult(
                target=target.label,
                ok=item["ok"],
                error=str(error) if error is not None else None,
                username=user if isinstance(user, str) else None,
            )
        )
    return results


def batch_failures(data: Any, names: Sequence[str | None]) -> dict[int, str | None]:
    """The batch route's answer, checked as :func:`decode_batch` checks it, for a bulk run:
    ``{position: the Hub's error code}`` of the items that failed (empty when all are ok).

    ``names[i]`` is the user name sent at position ``i`` (None: a user or request id). Builds
    nothing per item in the usual case.

    >>> batch_failures([{"ok": True}, {"ok": False, "error": "user_not_found"}], ["al", "bo"])
    {1: 'user_not_found'}
    """
    if not isinstance(data, list) or len(data) != len(names):
        raise _batch_length_error(data, len(names))
    try:  # the usual answer, checked without a step per item: all ok, each about its user
        if all(map(is_, map(dict.get, data, repeat("ok")), repeat(True))) and (
            list(map(dict.get, data, repeat("user"))) == names
        ):
            return {}
    except TypeError:
        pass  # an item that is not an object: the loop below names it
    failed: dict[int, str | None] = {}
    for index, (item, name) in enumerate(zip(data, names, strict=True)):
        if not isinstance(item, dict):
            raise _batch_ok_error(index)
        ok = item.get("ok")
        if ok is not True:
            if ok is not False:
                raise _batch_ok_error(index)
            error = item.get("error")
            failed[index] = str(error) if error is not None else None
        user = item.get("user")
        if user != name and name is not None and isinstance(user, str):
            raise _batch_user_error(index, user, name)
    return failed


def _batch_length_error(data: Any, sent: int) -> DecodeError:
    got = f"{len(data)} results" if isinstance(data, list) else type(data).__name__
    return DecodeError(f"unexpected batch answer: sent {sent} items, got {got}")


def _batch_ok_error(index: int) -> DecodeError:
    return DecodeError(f"unexpected batch answer: item [{index}] has no boolean 'ok'")


def _batch_user_error(index: int, user: str, sent: str) -> DecodeError:
    return DecodeError(
        f"unexpected batch answer: item [{index}] is about {user!r}, but {sent!r} was sent there"
    )
