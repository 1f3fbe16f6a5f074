"""hf-access: an asyncio client for access requests to gated Hugging Face Hub repositories.

>>> import hf_access
>>> hf_access.RequestStatus.parse("pending")
<RequestStatus.PENDING: 'pending'>
"""

import importlib as _importlib
import typing as _typing

from ._version import __version__
from .core.config import ClientOptions, RetryPolicy, Timeout
from .core.errors import (
    AlreadyHasAccessError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    FileInUseError,
    HfAccessError,
    HfAccessWarning,
    HubConnectionError,
    HubTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RepoNotFoundError,
    RequestNotFoundError,
    ResponseTooLargeError,
    ServerError,
    SessionClosedError,
    TransportError,
    UnsafeLinkError,
    UserNotFoundError,
)
from .core.outcomes import BulkProgress, BulkReport, ItemOutcome, Outcome, PlannedCall
from .core.paging import PaginationLoopError
from .core.ratelimit import Limiter, LimiterStats, Quota, RateLimiter
from .core.sansio import Call
from .hub.bulk import BulkRun, Decision
from .hub.client import AccessSession
from .hub.models import (
    AccessRequest,
    Action,
    BatchResult,
    GatingMode,
    GrantedBy,
    NotificationsMode,
    ReportEntry,
    RepoType,
    RequestStatus,
)
from .hub.wire import UserRef

if _typing.TYPE_CHECKING:
    from .hub.inbox import InboxRow
    from .hub.sync import AccessPlan, AccessSource, Change, RemoveMode
    from .hub.watch import Watcher, WatchEvent
    from .screening.autoapprove import AuditRecord, AutoApprover, PassReport
    from .screening.policy import Policy, PolicyDecision, Rule, Verdict

# Imported on first use, so that ``import hf_access`` stays cheap (PEP 562).
_LAZY = {
    "InboxRow": "hub.inbox",
    "AccessPlan": "hub.sync",
    "AccessSource": "hub.sync",
    "Change": "hub.sync",
    "RemoveMode": "hub.sync",
    "Watcher": "hub.watch",
    "WatchEvent": "hub.watch",
    "AuditRecord": "screening.autoapprove",
    "AutoApprover": "screening.autoapprove",
    "PassReport": "screening.autoapprove",
    "Policy": "screening.policy",
    "PolicyDecision": "screening.policy",
    "Rule": "screening.policy",
    "Verdict": "screening.policy",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hf_access' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AccessPlan",
    "AccessRequest",
    "AccessSession",
    "AccessSource",
    "Action",
    "AlreadyHasAccessError",
    "AuditRecord",
    "AuthenticationError",
    "AutoApprover",
    "BadRequestError",
    "BatchResult",
    "BulkProgress",
    "BulkReport",
    "BulkRun",
    "Call",
    "Change",
    "ClientOptions",
    "ConfigurationError",
    "ConflictError",
    "Decision",
    "DecodeError",
    "FileInUseError",
    "GatingMode",
    "GrantedBy",
    "HfAccessError",
    "HfAccessWarning",
    "HubConnectionError",
    "HubTimeoutError",
    "InboxRow",
    "ItemOutcome",
    "Limiter",
    "LimiterStats",
    "NotFoundError",
    "NotificationsMode",
    "Outcome",
    "PaginationLoopError",
    "PassReport",
    "PermissionDeniedError",
    "PlannedCall",
    "Policy",
    "PolicyDecision",
    "Quota",
    "RateLimitError",
    "RateLimiter",
    "RemoveMode",
    "RepoNotFoundError",
    "RepoType",
    "ReportEntry",
    "RequestNotFoundError",
    "RequestStatus",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Rule",
    "ServerError",
    "SessionClosedError",
    "Timeout",
    "TransportError",
    "UnsafeLinkError",
    "UserNotFoundError",
    "UserRef",
    "Verdict",
    "WatchEvent",
    "Watcher",
    "__version__",
]
