"""GitLabSession against recorded answers (aioresponses): errors, retries and 429s."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from hf_access import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DecodeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RepoNotFoundError,
    RequestNotFoundError,
    RetryPolicy,
    ServerError,
)
from hf_access.gitlab import AlreadyMemberError, GitLabSession

from ..conftest import VirtualTime
from ._recorded import HOST, PROJECT, TOKEN, requester
from ._support import make_session

# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"error": "access_level does not have a valid value"}, BadRequestError),
        (401, {"message": "401 Unauthorized"}, AuthenticationError),
        (403, {"message": "403 Forbidden"}, PermissionDeniedError),
        (404, {"message": "404 Not found"}, RequestNotFoundError),
        (404, {"message": "404 Project Not Found"}, RepoNotFoundError),
        (409, {"message": "Member already exists"}, AlreadyMemberError),
        (409, {"message": "Something else"}, ConflictError),
    ],
)
async def test_approve_errors_are_typed(
    gl: GitLabSession,
    mocked: aioresponses,
    status: int,
    body: dict[str, str],
    cls: type[APIStatusError],
) -> None:
    mocked.put(
        f"{PROJECT}/access_requests/5/approve?access_level=30",
        status=status,
        payload=body,
        headers={"X-Request-Id": "req-9"},
    )
    with pytest.raises(cls) as info:
        await gl.approve("acme/app", 5)
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.request_id == "req-9"
    assert TOKEN not in str(info.value)


async def test_deny_unknown_request_and_list_404_differ(
    gl: GitLabSession, mocked: aioresponses
) -> None:
    mocked.delete(f"{PROJECT}/access_requests/5", status=404, payload={"message": "404 Not found"})
    mocked.get(
        f"{PROJECT}/access_requests?per_page=100", status=404, payload={"message": "404 Not found"}
    )
    with pytest.raises(RequestNotFoundError):
        await gl.deny("acme/app", 5)
    with pytest.raises(NotFoundError) as info:
        await gl.list_requests("acme/app")
    assert type(info.value) is NotFoundError


async def test_429_pauses_then_succeeds(
    gl: GitLabSession, mocked: aioresponses, fake_time: VirtualTime
) -> None:
    url = f"{PROJECT}/access_requests/5"
    mocked.delete(
        url,
        status=429,
        body="Retry later\n",
        headers={"Retry-After": "7", "RateLimit-Remaining": "0", "RateLimit-Limit": "5"},
    )
    mocked.delete(url, status=204)
    await gl.deny("acme/app", 5)
    assert fake_time.sleeps
    assert max(fake_time.sleeps) >= 7
    assert gl.limiter.stats.pauses == 1


async def test_429_beyond_the_policy_is_a_rate_limit_error(
    fake_time: VirtualTime, mocked: aioresponses
) -> None:
    policy = RetryPolicy(max_rate_limited=1)
    async with make_session(HOST, TOKEN, fake_time, retry=policy) as gl:
        mocked.delete(
            f"{PROJECT}/access_requests/5",
            status=429,
            body="Retry later\n",
            headers={"Retry-After": "3"},
            repeat=True,
        )
        with pytest.raises(RateLimitError) as info:
            await gl.deny("acme/app", 5)
    assert info.value.retry_after == 3
    assert info.value.message == "Retry later"


async def test_5xx_is_retried_then_a_server_error(
    gl: GitLabSession, mocked: aioresponses, fake_time: VirtualTime
) -> None:
    url = f"{PROJECT}/access_requests?per_page=100"
    mocked.get(url, status=502, body="Bad Gateway")
    mocked.get(url, payload=[requester(1)])
    assert len(await gl.list_requests("acme/app")) == 1
    mocked.get(url, status=500, payload={"message": "500 Internal Server Error"}, repeat=True)
    with pytest.raises(ServerError, match="500 Internal Server Error"):
        await gl.list_requests("acme/app")
    assert len(fake_time.sleeps) == 1 + 2  # one retry, then two before giving up


async def test_malformed_body_is_a_decode_error(gl: GitLabSession, mocked: aioresponses) -> None:
    mocked.put(
        f"{PROJECT}/access_requests/5/approve?access_level=30",
        status=201,
        payload={"id": 5, "username": "x", "access_level": "developer"},
    )
    with pytest.raises(DecodeError, match="access_level"):
        await gl.approve("acme/app", 5)


async def test_limiter_learns_gitlab_headers(
    gl: GitLabSession, mocked: aioresponses, fake_time: VirtualTime
) -> None:
    reset = int(fake_time.now) + 40
    mocked.get(
        f"{PROJECT}/access_requests?per_page=100",
        payload=[],
        headers={
            "RateLimit-Limit": "600",
            "RateLimit-Observed": "10",
            "RateLimit-Remaining": "590",
            "RateLimit-Reset": str(reset),
        },
    )
    await gl.list_requests("acme/app")
    assert gl.limiter.quota == 600
    assert gl.limiter.remaining == 590
    assert gl.limiter.reset_in() == pytest.approx(40)
