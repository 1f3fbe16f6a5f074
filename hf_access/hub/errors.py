"""The Hub's failed answers as typed errors: the one classifier for this provider.

The Hub puts its message in the ``X-Error-Message`` header (else the body's ``error``) and
sometimes a code in ``X-Error-Code``; the message is what tells a missing repo, user or request
apart, since all three are 404s.

>>> err = error_for_status(404, "Repository not found")
>>> type(err).__name__
'RepoNotFoundError'
"""

from __future__ import annotations

from collections.abc import Mapping

from ..core.errors import (
    AlreadyHasAccessError,
    APIStatusError,
    NotFoundError,
    RepoNotFoundError,
    RequestNotFoundError,
    UserNotFoundError,
    class_for_status,
    make_error,
)
from ..core.sansio import clip, error_body, excerpt

__all__ = ["error_for_status", "error_from_response", "error_message"]


def _class_for(status: int, message: str, error_code: str | None) -> type[APIStatusError]:
    text = message.lower()
    if status == 404:
        if error_code == "RepoNotFound" or "repository not found" in text:
            return RepoNotFoundError
        if "user not found" in text or error_code == "UserNotFound":
            return UserNotFoundError
        if "no access request" in text or "request not found" in text:
            return RequestNotFoundError
        return NotFoundError
    if status == 400 and "already has access" in text:
        return AlreadyHasAccessError
    return class_for_status(status)


def error_for_status(
    status: int,
    message: str,
    *,
    error_code: str | None = None,
    request_id: str | None = None,
    method: str | None = None,
    url: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the most precise error for a failed Hub answer."""
    return make_error(
        _class_for(status, message, error_code),
        message,
        status=status,
        error_code=error_code,
        request_id=request_id,
        method=method,
        url=url,
        retry_after=retry_after,
    )


def error_message(headers: Mapping[str, str], body: bytes) -> str:
    """The Hub's message: the ``X-Error-Message`` header, else the body's ``error``/``message``,
    else a short one-line excerpt of the body.

    >>> error_message({}, b"<html><title>502 Bad Gateway</title><body>nginx</body></html>")
    '502 Bad Gateway'
    """
    header = headers.get("X-Error-Message")
    if header:
        return clip(header)
    text, data = error_body(body)
    if not text:
        return "(no message)"
    if isinstance(data, dict):
        for key in ("error", "message"):
            value = data.get(key)
            if isinstance(value, str):
                return clip(value)
            if isinstance(value, list):
                return clip("; ".join(str(v) for v in value))
    # Not the Hub's JSON (an HTML page from a proxy, another server): a short excerpt only.
    return excerpt(text)


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
