"""GitLab access requests: the same session, limiter and bulk engine for projects and groups.

>>> from hf_access.gitlab import AccessLevel, GitLabSession
>>> async def main() -> None:
...     async with GitLabSession(endpoint="https://gitlab.example.com") as gl:  # GITLAB_TOKEN
...         requests = await gl.list_requests("acme/app")
...         report = await gl.approve_many(["acme/app"], [r.id for r in requests],
...                                        access_level=AccessLevel.REPORTER)
...         print(report.summary())
"""

from ..core.ratelimit import RateLimitInfo
from .bulk import (
    GitLabAction,
    GitLabBulkProgress,
    GitLabBulkReport,
    GitLabBulkRun,
    GitLabDecision,
    GitLabItemOutcome,
    decisions_for,
)
from .client import GitLabSession
from .errors import AlreadyMemberError, gitlab_error
from .models import AccessLevel, GitLabAccessRequest, GitLabMember, GitLabUser, TargetKind
from .wire import parse_gitlab_ratelimit

__all__ = [
    "AccessLevel",
    "AlreadyMemberError",
    "GitLabAccessRequest",
    "GitLabAction",
    "GitLabBulkProgress",
    "GitLabBulkReport",
    "GitLabBulkRun",
    "GitLabDecision",
    "GitLabItemOutcome",
    "GitLabMember",
    "GitLabSession",
    "GitLabUser",
    "RateLimitInfo",
    "TargetKind",
    "decisions_for",
    "gitlab_error",
    "parse_gitlab_ratelimit",
]
