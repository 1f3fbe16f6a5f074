"""Pure parts of the GitLab client: errors, the converter, decisions, the public surface."""

from __future__ import annotations

import doctest
import importlib
import types
from datetime import date, datetime, timezone

import pytest

import hf_access.gitlab as gitlab_pkg
from hf_access.core.errors import (
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
    ServerError,
    UserNotFoundError,
)
from hf_access.gitlab import (
    AccessLevel,
    AlreadyMemberError,
    GitLabDecision,
    decisions_for,
    gitlab_error,
)
from hf_access.gitlab import config as _config
from hf_access.gitlab import convert as _convert
from hf_access.gitlab import wire as _wire
from hf_access.gitlab._names import NameCache

# -- errors --------------------------------------------------------------------------------


API = "https://h/api/v4"


@pytest.mark.parametrize(
    ("status", "body", "method", "path", "cls", "message"),
    [
        (
            400,
            b'{"message":{"access_level":["is not included in the list"]}}',
            "PUT",
            "/projects/1/access_requests/2/approve",
            BadRequestError,
            "access_level is not included in the list",
        ),
        (
            400,
            b'{"error":"access_level does not have a valid value"}',
            "PUT",
            "/projects/1/access_requests/2/approve",
            BadRequestError,
            "access_level does not have a valid value",
        ),
        (
            401,
            b'{"message":"401 Unauthorized"}',
            "GET",
            "/user",
            AuthenticationError,
            "401 Unauthorized",
        ),
        (
            401,
            b'{"error":"invalid_token","error_description":"Token was revoked"}',
            "GET",
            "/user",
            AuthenticationError,
            "invalid_token: Token was revoked",
        ),
        (
            403,
            b'{"message":"403 Forbidden"}',
            "GET",
            "/groups/1/access_requests",
            PermissionDeniedError,
            "403 Forbidden",
        ),
        (
            404,
            b'{"message":"404 Project Not Found"}',
            "DELETE",
            "/projects/9/access_requests/2",
            RepoNotFoundError,
            "404 Project Not Found",
        ),
        (
            404,
            b'{"message":"404 Group Not Found"}',
            "GET",
            "/groups/x/access_requests",
            RepoNotFoundError,
            "404 Group Not Found",
        ),
        (
            404,
            b'{"message":"404 User Not Found"}',
            "GET",
            "/users/3",
            UserNotFoundError,
            "404 User Not Found",
        ),
        (
            404,
            b'{"message":"404 Not found"}',
            "DELETE",
            "/projects/1/access_requests/2",
            RequestNotFoundError,
            "404 Not found",
        ),
        (
            404,
            b'{"message":"404 Not found"}',
            "PUT",
            "/groups/a%2Fb/access_requests/2/approve",
            RequestNotFoundError,
            "404 Not found",
        ),
        (
            404,
            b'{"message":"404 Not found"}',
            "GET",
            "/projects/1/members/all/2",
            NotFoundError,
            "404 Not found",
        ),
        (
            409,
            b'{"message":"Member already exists"}',
            "POST",
            "/projects/1/members",
            AlreadyMemberError,
            "Member already exists",
        ),
        (409, b'{"message":"Conflict"}', "POST", "/projects/1/members", ConflictError, "Conflict"),
        (
            429,
            b"Retry later\n",
            "GET",
            "/projects/1/access_requests",
            RateLimitError,
            "Retry later",
        ),
        (502, b"<html>Bad Gateway</html>", "GET", "/user", ServerError, "Bad Gateway"),
        (418, b"", "GET", "/user", APIStatusError, "(no message)"),
    ],
)
def test_error_factory(
    status: int, body: bytes, method: str, path: str, cls: type[APIStatusError], message: str
) -> None:
    err = gitlab_error(
        status, {"X-Request-Id": "rid-1"}, body, method=method, url=API + path, retry_after=3.0
    )
    assert type(err) is cls
    assert err.status == status
    assert err.message == message
    assert err.request_id == "rid-1"
    if isinstance(err, RateLimitError):
        assert err.retry_after == 3.0


# -- the converter -------------------------------------------------------------------------


def test_decode_requests_from_the_documented_example() -> None:
    items = _convert.decode_requests(
        [
            {
                "id": 1,
                "username": "raymond_smith",
                "name": "Raymond Smith",
                "state": "active",
                "created_at": "2012-10-22T14:13:35Z",
                "requested_at": "2012-10-23T14:13:35Z",
                "locked": False,
                "avatar_url": "https://a/1.png",
                "web_url": "https://h/raymond",
                "new_field_from_a_newer_server": {"x": 1},
            },
            {
                "id": 2,
                "username": "john_doe",
                "name": "John Doe",
                "state": "active",
                "created_at": "2012-10-22T14:13:35.000+02:00",
            },
        ]
    )
    assert items[0].requested_at == datetime(2012, 10, 23, 14, 13, 35, tzinfo=timezone.utc)
    assert items[0].locked is False
    assert items[0].web_url == "https://h/raymond"
    # older servers: created_at only, offsets normalized to UTC
    assert items[1].requested_at == datetime(2012, 10, 22, 12, 13, 35, tzinfo=timezone.utc)
    assert items[1].requested_at.tzinfo is not None


def test_decode_member_and_users() -> None:
    member = _convert.decode_member(
        {
            "id": 1,
            "username": "r",
            "name": "R",
            "state": "active",
            "access_level": 20,
            "created_at": "2012-10-22T14:13:35Z",
            "expires_at": "2030-01-31",
        }
    )
    assert member.access_level is AccessLevel.REPORTER
    assert member.expires_at == date(2030, 1, 31)
    users = _convert.decode_users([{"id": 5, "username": "eve", "name": "Eve"}])
    assert users[0].id == 5


@pytest.mark.parametrize(
    ("call", "data", "field"),
    [
        (_convert.decode_requests, {"id": 1}, "expected an array"),
        (_convert.decode_requests, [{"id": "one", "username": "x"}], "[0].id"),
        (_convert.decode_requests, [{"id": 1}], "username"),
        (_convert.decode_requests, [{"id": 1, "username": "x", "locked": "no"}], "locked"),
        (_convert.decode_requests, [{"id": True, "username": "x"}], "id"),
        (
            _convert.decode_requests,
            [{"id": 1, "username": "x", "requested_at": "soon"}],
            "requested_at",
        ),
        (_convert.decode_member, {"id": 1, "username": "x", "access_level": 33}, "access_level"),
        (_convert.decode_member, [], "expected an object"),
        (_convert.decode_request, None, "got null"),
        (_convert.decode_users, [{"username": "x"}], "id"),
    ],
)
def test_malformed_bodies_are_decode_errors_naming_the_field(
    call: object, data: object, field: str
) -> None:
    with pytest.raises(DecodeError, match="GitLab") as info:
        call(data)  # type: ignore[operator]
    assert field in str(info.value)


# -- decisions, config, caches, the public surface ------------------------------------------


def test_decisions_validate_and_key() -> None:
    d = GitLabDecision(12, "@Alice", "approve", kind="groups")
    assert d.access_level is AccessLevel.DEVELOPER
    assert d.key == "gitlab:group:12|alice|approve:30"
    assert GitLabDecision("a/b", 5, "deny").key == "gitlab:project:a/b|id:5|deny"
    with pytest.raises(ValueError, match="deny takes no access level"):
        GitLabDecision("a/b", 5, "deny", access_level=20)
    with pytest.raises(ValueError, match="unknown action"):
        GitLabDecision("a/b", 5, "ban")
    with pytest.raises(ValueError, match="invalid user id"):
        GitLabDecision("a/b", 0, "deny")


def test_decisions_for_is_the_product_targets_first() -> None:
    decisions = decisions_for(["a/b", "c/d"], ["x", 3], "approve", access_level="reporter")
    assert [(d.target, d.user) for d in decisions] == [
        ("a/b", "x"),
        ("a/b", 3),
        ("c/d", "x"),
        ("c/d", 3),
    ]
    assert decisions_for("a/b", "x", "deny")[0].user == "x"  # a single target / user


def test_config_reads_gitlab_env() -> None:
    env = {"GITLAB_TOKEN": " glpat-env ", "GITLAB_URL": "https://git.example.org"}
    assert _config.resolve_token(None, env) == "glpat-env"
    assert _config.resolve_token("given", env) == "given"
    assert _config.resolve_token(None, {}) is None
    assert _config.resolve_url(None, env) == "https://git.example.org"
    assert _config.resolve_url(None, {}) == "https://gitlab.com"


def test_name_cache() -> None:
    cache = NameCache()
    cache.learn(("project", "a/b"), "Alice", 7)
    cache.learn_user("bob", 8)
    assert cache.lookup(("project", "a/b"), "ALICE") == 7
    assert cache.lookup(("project", "c/d"), "bob") == 8
    assert cache.lookup(("project", "c/d"), "alice") is None
    assert not cache.is_complete("x")
    cache.mark_complete("x")
    assert cache.is_complete("x")


def test_public_surface_is_honest() -> None:
    for name in gitlab_pkg.__all__:
        obj = getattr(gitlab_pkg, name)
        obj = getattr(obj, "__origin__", obj)  # a generic alias documents its origin
        assert obj.__doc__, name
    public = {
        name
        for name in dir(gitlab_pkg)
        if not name.startswith(("_", "@"))
        and not isinstance(getattr(gitlab_pkg, name), types.ModuleType)
    }
    assert public == set(gitlab_pkg.__all__)


@pytest.mark.parametrize(
    "module",
    [
        "hf_access.gitlab.wire",
        "hf_access.gitlab.convert",
        "hf_access.gitlab._names",
        "hf_access.gitlab.errors",
        "hf_access.gitlab.models",
        "hf_access.gitlab.bulk",
        "hf_access.testing.gitlab",
        "hf_access.testing.gitlab._server",
        "hf_access.cli.gitlab_support",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


def test_next_page_keeps_the_query_sent_as_params() -> None:
    url = "https://h/api/v4/groups/7/access_requests"
    assert _wire.next_page_url({"X-Next-Page": "2"}, url, {"per_page": "2"}) == (
        f"{url}?per_page=2&page=2"
    )
