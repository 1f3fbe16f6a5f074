"""GitLab access requests: the same session, limiter and bulk engine for projects and groups.

>>> from hf_access.gitlab import AccessLevel, GitLabSession
>>> async def main() -> None:
...     async with GitLabSession(url="https://gitlab.example.com") as gl:  # GITLAB_TOKEN
...         requests = await gl.list_requests("acme/app")
...         report = await gl.approve_many(["acme/app"], [r.id for r in requests],
...                                        access_level=AccessLevel.REPORTER)
...         print(report.summary())
"""

from .._wire import RateLimitInfo
from ._wire import parse_gitlab_ratelimit
from .bulk import GitLabBulkRun, decisions_for
from .bulk_models import (
    GitLabAction,
    GitLabBulkProgress,
    GitLabBulkReport,
    GitLabDecision,
    GitLabItemOutcome,
)
from .errors import AlreadyMemberError, gitlab_error
from .models import AccessLevel, GitLabAccessRequest, GitLabMember, GitLabUser, TargetKind
from .session import GitLabSession

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
