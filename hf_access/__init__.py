"""hf-access: an asyncio client for access requests to gated Hugging Face Hub repositories.

>>> import hf_access
>>> hf_access.RequestStatus.parse("pending")
<RequestStatus.PENDING: 'pending'>
"""

from ._http import RetryPolicy, Timeout
from ._version import __version__
from .autoapprove import AuditRecord, AutoApprover, PassReport
from .bulk import BulkRun
from .bulk_models import (
    Action,
    BulkProgress,
    BulkReport,
    Decision,
    ItemOutcome,
    Outcome,
    PlannedCall,
)
from .errors import (
    AlreadyHasAccessError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    HfAccessError,
    HfAccessWarning,
    HubConnectionError,
    HubTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RepoNotFoundError,
    RequestNotFoundError,
    ServerError,
    SessionClosedError,
    TransportError,
    UnsafeLinkError,
    UserNotFoundError,
)
from .hub.inbox import InboxRow
from .hub.sync import AccessPlan, AccessSource, Change, RemoveMode
from .models import (
    AccessRequest,
    BatchResult,
    GatingMode,
    GrantedBy,
    NotificationsMode,
    ReportEntry,
    RepoType,
    RequestStatus,
)
from .policy import Policy, PolicyDecision, Rule, Verdict
from .ratelimit import LimiterStats, Quota, RateLimiter
from .session import AccessSession
from .watch import Watcher, WatchEvent

__all__ = [
    "APIStatusError",
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
    "Change",
    "ConfigurationError",
    "ConflictError",
    "Decision",
    "DecodeError",
    "GatingMode",
    "GrantedBy",
    "HfAccessError",
    "HfAccessWarning",
    "HubConnectionError",
    "HubTimeoutError",
    "InboxRow",
    "ItemOutcome",
    "LimiterStats",
    "NotFoundError",
    "NotificationsMode",
    "Outcome",
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
    "RetryPolicy",
    "Rule",
    "ServerError",
    "SessionClosedError",
    "Timeout",
    "TransportError",
    "UnsafeLinkError",
    "UserNotFoundError",
    "Verdict",
    "WatchEvent",
    "Watcher",
    "__version__",
]
