"""Pure parts of the GitLab client: no event loop, no network."""

from __future__ import annotations

import pytest

from hf_access.core.ratelimit import RateLimitInfo
from hf_access.gitlab import (
    AccessLevel,
    GitLabAccessRequest,
    TargetKind,
    parse_gitlab_ratelimit,
)
from hf_access.gitlab import wire as _wire

# -- targets, users, levels ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "canonical", "encoded"),
    [
        (42, "42", "42"),
        ("42", "42", "42"),
        ("acme/app", "acme/app", "acme%2Fapp"),
        ("acme/sub.group/my-app_2", "acme/sub.group/my-app_2", "acme%2Fsub.group%2Fmy-app_2"),
        ("acme%2Fapp", "acme/app", "acme%2Fapp"),
        ("acme", "acme", "acme"),
    ],
)
def test_targets_are_ids_or_paths(target: int | str, canonical: str, encoded: str) -> None:
    assert _wire.validate_target(target) == canonical
    assert _wire.encode_target(target) == encoded


@pytest.mark.parametrize(
    "target",
    [
        0,
        -3,
        True,
        "",
        "/acme",
        "acme/",
        "acme//app",
        "-acme/app",
        "acme/app.git",
        "a b",
        "ac$me",
        1.5,
    ],
)
def test_bad_targets_raise_value_error(target: object) -> None:
    with pytest.raises(ValueError, match="project or group"):
        _wire.validate_target(target)  # type: ignore[arg-type]


def test_users_are_ids_names_or_records() -> None:
    assert _wire.user_ref(7) == 7
    assert _wire.user_ref("@alice") == "alice"
    assert _wire.user_ref(GitLabAccessRequest(id=9, username="bob")) == 9
    for bad in (0, -1, True, "", "a b", "-x", None):
        with pytest.raises(ValueError, match=r"invalid|a user is"):
            _wire.user_ref(bad)  # type: ignore[arg-type]


def test_access_levels_parse_numbers_and_names() -> None:
    assert AccessLevel.parse(30) is AccessLevel.DEVELOPER
    assert AccessLevel.parse("40") is AccessLevel.MAINTAINER
    assert AccessLevel.parse("Planner") is AccessLevel.PLANNER
    assert AccessLevel.parse("no access") is AccessLevel.NO_ACCESS
    assert [int(level) for level in AccessLevel] == [0, 5, 10, 15, 20, 30, 40, 50]
    for bad in (33, "boss", True, 3.0):
        with pytest.raises(ValueError, match="unknown access level"):
            AccessLevel.parse(bad)  # type: ignore[arg-type]


def test_kinds_parse() -> None:
    assert TargetKind.parse("projects") is TargetKind.PROJECT
    assert TargetKind.parse(TargetKind.GROUP).plural == "groups"
    with pytest.raises(ValueError, match="kind"):
        TargetKind.parse("namespace")


def test_per_page_is_1_to_100() -> None:
    assert _wire.validate_per_page(100) == 100
    for bad in (0, 101, True, "20"):
        with pytest.raises(ValueError, match="per_page"):
            _wire.validate_per_page(bad)  # type: ignore[arg-type]


# -- URLs, paths, pagination ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "api"),
    [
        ("https://gitlab.example.com", "https://gitlab.example.com/api/v4"),
        ("https://gitlab.example.com/", "https://gitlab.example.com/api/v4"),
        ("https://gitlab.example.com/api/v4/", "https://gitlab.example.com/api/v4"),
        ("https://example.com/gitlab", "https://example.com/gitlab/api/v4"),
    ],
)
def test_api_url_gets_api_v4_once(url: str, api: str) -> None:
    assert _wire.normalize_api_url(url) == api


def test_bad_urls_raise() -> None:
    for bad in ("gitlab.com", "ftp://gitlab.com", "https://h/?x=1"):
        with pytest.raises(ValueError, match="invalid"):
            _wire.normalize_api_url(bad)


def test_paths() -> None:
    project, group = TargetKind.PROJECT, TargetKind.GROUP
    assert _wire.requests_path(group, "a/b") == "groups/a%2Fb/access_requests"
    assert _wire.request_path(project, 3, 9) == "projects/3/access_requests/9"
    assert _wire.approve_path(project, "a/b", 9) == "projects/a%2Fb/access_requests/9/approve"
    assert _wire.member_path(group, "a", 9, inherited=True) == "groups/a/members/all/9"
    assert _wire.member_path(group, "a", 9, inherited=False) == "groups/a/members/9"


def test_next_page_prefers_link_then_x_next_page() -> None:
    url = "https://h/api/v4/projects/1/access_requests?per_page=2&page=1"
    link = '<https://h/api/v4/x?page=2>; rel="next", <https://h/api/v4/x?page=9>; rel="last"'
    assert (
        _wire.next_page_url({"Link": link, "X-Next-Page": "5"}, url) == "https://h/api/v4/x?page=2"
    )
    assert _wire.next_page_url({"X-Next-Page": "2"}, url) == (
        "https://h/api/v4/projects/1/access_requests?per_page=2&page=2"
    )
    last = '<https://h/api/v4/x?page=1>; rel="first"'
    assert _wire.next_page_url({"Link": last, "X-Next-Page": ""}, url) is None
    assert _wire.next_page_url({}, url) is None


# -- rate-limit headers --------------------------------------------------------------------


NOW = 1_700_000_000.0


def test_ratelimit_headers_of_gitlab_com() -> None:
    info = parse_gitlab_ratelimit(
        {
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": "2000",
            "RateLimit-Observed": "120",
            "RateLimit-Remaining": "1880",
            "RateLimit-Reset": str(int(NOW) + 42),
            "RateLimit-ResetTime": "Tue, 14 Nov 2023 22:14:02 GMT",
        },
        now=NOW,
    )
    assert (info.quota, info.remaining, info.reset_after, info.window) == (2000, 1880, 42.0, 60.0)


def test_ratelimit_period_is_derived_from_the_per_minute_limit() -> None:
    # 600 calls per hour: Rack::Attack announces ceil(600 * 60 / 3600) = 10 per minute.
    info = parse_gitlab_ratelimit(
        {"RateLimit-Limit": "10", "RateLimit-Observed": "100", "RateLimit-Remaining": "500"},
        now=NOW,
    )
    assert info.quota == 600
    assert info.window == pytest.approx(3600.0)
    assert info.reset_after is None


def test_ratelimit_reset_time_as_http_date_and_retry_after() -> None:
    stamp = "Tue, 14 Nov 2023 22:13:50 GMT"  # NOW + 30
    info = parse_gitlab_ratelimit({"RateLimit-ResetTime": stamp}, now=NOW)
    assert info.reset_after == pytest.approx(30.0)
    throttled = parse_gitlab_ratelimit(
        {
            "RateLimit-Limit": "5",
            "RateLimit-Observed": "9",
            "RateLimit-Remaining": "0",
            "Retry-After": "17",
        },
        now=NOW,
    )
    assert (throttled.remaining, throttled.reset_after, throttled.quota) == (0, 17.0, 5)


def test_ratelimit_missing_or_garbled_headers_say_nothing() -> None:
    assert parse_gitlab_ratelimit({}, now=NOW) == RateLimitInfo()
    garbled = parse_gitlab_ratelimit(
        {"RateLimit-Remaining": "lots", "RateLimit-ResetTime": "soon"}, now=NOW
    )
    assert garbled.remaining is None
    assert garbled.reset_after is None
    # a reset in the past is "now"; a small reset is read as seconds
    assert parse_gitlab_ratelimit({"RateLimit-Reset": str(int(NOW) - 5)}, now=NOW).reset_after == 0
    assert parse_gitlab_ratelimit({"RateLimit-Reset": "12"}, now=NOW).reset_after == 12
