"""The exception hierarchy of hf-access.

Every error the library raises on purpose derives from :class:`HfAccessError`; transport
exceptions (aiohttp's) are translated at one boundary and never reach the caller. Caller
mistakes (a malformed repo id, an unknown status, a reason over 200 characters) are plain
:class:`ValueError` raised before any request is sent.

Each provider has one classifier that turns a failed answer into the most precise class
(``hf_access.hub.errors`` for the Hub, ``hf_access.gitlab.errors`` for GitLab), starting from
:func:`class_for_status` and building with :func:`make_error`; the classes are shared, so one
``except`` serves both providers::

    HfAccessError
    ├── ConfigurationError            no token found, token over plain http, closed session
    │   └── FileInUseError            a journal or state file locked by another process
    ├── TransportError
    │   ├── APIConnectionError        connection refused, reset or dropped (alias HubConnectionError)
    │   └── APITimeoutError           connect or total timeout (alias HubTimeoutError)
    ├── DecodeError                   a body that does not have the documented shape
    │   └── ResponseTooLargeError     a body longer than ``max_body_size``
    ├── UnsafeLinkError               a next-page link or redirect to another origin
    └── APIStatusError                any non-2xx answer
        ├── BadRequestError           400
        │   └── AlreadyHasAccessError grant to a user who already has access
        ├── AuthenticationError       401
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        │   ├── RequestNotFoundError  no request, or already in that status
        │   ├── UserNotFoundError
        │   └── RepoNotFoundError
        ├── ConflictError             409 (GitLab: AlreadyMemberError)
        ├── RateLimitError            429 (``retry_after`` seconds)
        └── ServerError               5xx
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AlreadyHasAccessError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DecodeError",
    "FileInUseError",
    "HfAccessError",
    "HfAccessWarning",
    "HubConnectionError",
    "HubTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RepoNotFoundError",
    "RequestNotFoundError",
    "ResponseTooLargeError",
    "ServerError",
    "SessionClosedError",
    "TransportError",
    "UnsafeLinkError",
    "UserNotFoundError",
    "class_for_status",
    "make_error",
]


class HfAccessWarning(UserWarning):
    """Something looks wrong but the call went on (for example a list that may be cut short)."""


class HfAccessError(Exception):
    """Root of every error hf-access raises on purpose."""


class ConfigurationError(HfAccessError):
    """The session cannot make the call as configured (no token, insecure endpoint...)."""


class SessionClosedError(ConfigurationError, RuntimeError):
    """A call on a session that was closed (or never opened)."""


class FileInUseError(ConfigurationError):
    """A journal or state file is locked by another process (``path``, holder ``pid``).

    Two processes on one file would both send everything; the second one stops at once.
    """

    def __init__(self, path: str, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(f"{path} is in use by {holder}: one process per file")


class TransportError(HfAccessError):
    """The request did not get an HTTP answer.

    ``unreachable`` is True when no connection could be opened at all (refused, no such host,
    connect timeout), as opposed to one that broke after it was made.
    """

    unreachable: bool = False


class APIConnectionError(TransportError):
    """Connection refused, reset, or dropped before an answer."""


class APITimeoutError(TransportError):
    """The connect or total timeout ran out."""


HubConnectionError = APIConnectionError
"""The name of :class:`APIConnectionError` before 0.2 (kept as an alias)."""
HubTimeoutError = APITimeoutError
"""The name of :class:`APITimeoutError` before 0.2 (kept as an alias)."""


class DecodeError(HfAccessError):
    """A response body did not have the documented shape; the message names the field."""


class ResponseTooLargeError(DecodeError):
    """An answer longer than the session's ``max_body_size``; reading stopped at the limit."""


class UnsafeLinkError(HfAccessError):
    """A pagination link or redirect pointed at another origin; it was not followed."""


class APIStatusError(HfAccessError):
    """The server answered with an error status.

    Attributes:
        status: the HTTP status code.
        message: the server's message (``X-Error-Message`` or the body's ``error``).
        error_code: the ``X-Error-Code`` header, when set (``RepoNotFound``...).
        request_id: the ``X-Request-Id`` header, to quote to support.
        method, url: what was asked (the URL never carries a token).
        retry_after: the wait in seconds the server advised (``Retry-After``, or when the
            rate-limit window resets), when it said one; else None.
    """

    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error_code: str | None = None,
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        self.status = status
        self.message = message
        self.error_code = error_code
        self.request_id = request_id
        self.method = method
        self.url = url
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" ({self.method} {self.url})" if self.method and self.url else ""
        code = f" [{self.error_code}]" if self.error_code else ""
        rid = f" request id {self.request_id}" if self.request_id else ""
        wait = f" (retry after {self.retry_after:g}s)" if self.retry_after is not None else ""
        return f"{self.status}{code}: {self.message}{where}{rid}{wait}".rstrip()

    def _refresh(self) -> None:
        """Rebuild the text after a field changed."""
        self.args = (self._describe(),)


class BadRequestError(APIStatusError):
    """400: the Hub refused the request as malformed."""


class AlreadyHasAccessError(BadRequestError):
    """400 from grant: the user already has access to the repo."""


class AuthenticationError(APIStatusError):
    """401: no token or an invalid one."""


class PermissionDeniedError(APIStatusError):
    """403: the token lacks write access to the repo."""


class NotFoundError(APIStatusError):
    """404 of any kind."""


class RequestNotFoundError(NotFoundError):
    """404: no request for that user, **or** the request already has that status.

    The Hub answers both with the same message, so the error is ambiguous on its own; the
    bulk helpers resolve it from the lists (see the README).
    """


class UserNotFoundError(NotFoundError):
    """404: no such user on the Hub."""


class RepoNotFoundError(NotFoundError):
    """404 with ``X-Error-Code: RepoNotFound`` (or a private repo the token cannot see)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state (GitLab: already a member)."""


class RateLimitError(APIStatusError):
    """429 that outlasted the retry policy, or a rate-limit wait longer than it allows.
    ``retry_after`` is the wait the server advised."""


class ServerError(APIStatusError):
    """5xx: the Hub failed; retried by the session before this is raised."""


_BY_STATUS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def class_for_status(status: int) -> type[APIStatusError]:
    """The error class a status maps to before any provider looks at the message."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIStatusError)


def make_error(
    cls: type[APIStatusError],
    message: str,
    *,
    status: int,
    error_code: str | None = None,
    request_id: str | None = None,
    method: str | None = None,
    url: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build an error of ``cls``."""
    kwargs = {
        "status": status,
        "error_code": error_code,
        "request_id": request_id,
        "method": method,
        "url": url,
    }
    return cls(message, retry_after=retry_after, **kwargs)  # type: ignore[arg-type]
