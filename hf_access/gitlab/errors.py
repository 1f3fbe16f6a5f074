"""GitLab's failed answers as hf-access's typed errors (the one factory for this provider).

GitLab answers errors with ``{"message": ...}`` (a string, or a dict of field errors for
validation failures) or ``{"error": ...}`` (parameter errors), and throttling with the plain
text ``Retry later``. The classes are :mod:`hf_access.core.errors`' own, so one ``except`` serves
both providers:

=====  ==========================================================================
400    :class:`~hf_access.core.errors.BadRequestError`
401    :class:`~hf_access.core.errors.AuthenticationError`
403    :class:`~hf_access.core.errors.PermissionDeniedError`
404    :class:`~hf_access.core.errors.RepoNotFoundError` (``404 Project Not Found``,
       ``404 Group Not Found``), :class:`~hf_access.core.errors.UserNotFoundError`,
       :class:`~hf_access.core.errors.RequestNotFoundError` (approve or deny of a request
       that does not exist), else :class:`~hf_access.core.errors.NotFoundError`
409    :class:`AlreadyMemberError` ("already exists" / "already a member"), else
       :class:`~hf_access.core.errors.ConflictError`
429    :class:`~hf_access.core.errors.RateLimitError` (``retry_after``)
5xx    :class:`~hf_access.core.errors.ServerError`
=====  ==========================================================================

>>> err = gitlab_error(404, {}, b'{"message":"404 Project Not Found"}', method="GET", url="u")
>>> type(err).__name__, err.message
('RepoNotFoundError', '404 Project Not Found')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import (
    APIStatusError,
    ConflictError,
    NotFoundError,
    RepoNotFoundError,
    RequestNotFoundError,
    UserNotFoundError,
    class_for_status,
    make_error,
)
from ..core.sansio import clip, error_body, excerpt

__all__ = ["AlreadyMemberError", "error_message", "gitlab_error"]


class AlreadyMemberError(ConflictError):
    """409: the user already is a member of the project or group."""


# approve (PUT .../access_requests/:user_id/approve) or deny (DELETE .../access_requests/:user_id)
_DECISION_PATH = re.compile(r"/access_requests/\d+(?:/approve)?/?$")


def _flatten(value: Any) -> str | None:
    """GitLab's ``message``: a string, a list, or ``{"field": ["is invalid"]}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [p for p in (_flatten(v) for v in value) if p]
        return "; ".join(parts) if parts else None
    if isinstance(value, dict):
        parts = []
        for key, inner in value.items():
            text = _flatten(inner)
            parts.append(f"{key} {text}" if text else str(key))
        return "; ".join(parts) if parts else None
    return None


def error_message(body: bytes) -> str:
    """The message of an error body: ``message``, else ``error`` (+ description), else text.

    >>> error_message(b'{"message": {"access_level": ["is not included in the list"]}}')
    'access_level is not included in the list'
    >>> error_message(b"Retry later\\n")
    'Retry later'
    """
    text, data = error_body(body)
    if not text:
        return "(no message)"
    if isinstance(data, dict):
        for key in ("message", "error"):
            message = _flatten(data.get(key))
            if message:
                description = data.get("error_description")
                if key == "error" and isinstance(description, str):
                    return clip(f"{message}: {description}")
                return clip(message)
    # Not GitLab's JSON (an HTML page from a proxy, another server): a short excerpt only.
    return excerpt(text)


def _class_for(status: int, message: str, method: str, url: str) -> type[APIStatusError]:
    text = message.lower()
    if status == 404:
        if "project not found" in text or "group not found" in text:
            return RepoNotFoundError
        if "user not found" in text:
            return UserNotFoundError
        if method in ("PUT", "DELETE") and _DECISION_PATH.search(urlsplit(url).path):
            return RequestNotFoundError
        return NotFoundError
    if status == 409:
        if "already" in text and ("exist" in text or "member" in text):
            return AlreadyMemberError
        return ConflictError
    return class_for_status(status)


def gitlab_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    retry_after: float | None = None,
) -> APIStatusError:
    """The typed error for a failed GitLab answer (the ``error_factory`` of the transport)."""
    message = error_message(body)
    return make_error(
        _class_for(status, message, method.upper(), url),
        message,
        status=status,
        request_id=headers.get("X-Request-Id"),
        method=method,
        url=url,
        retry_after=retry_after,
    )
