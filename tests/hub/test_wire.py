"""Pure helpers of the Hub's wire, the shared sans-io helpers and the Hub's error classifier."""

from __future__ import annotations

import ast
import email.utils
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from multidict import CIMultiDict

import hf_access
from hf_access import (
    AccessRequest,
    AlreadyHasAccessError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GatingMode,
    HfAccessError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RepoNotFoundError,
    RepoType,
    RequestNotFoundError,
    RequestStatus,
    ServerError,
    UserNotFoundError,
    UserRef,
)
from hf_access.core import sansio
from hf_access.core.ratelimit import RateLimitInfo
from hf_access.hub import errors as hub_errors
from hf_access.hub import wire as _wire
from hf_access.hub.errors import error_for_status

# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "repo_id",
    ["org/model", "a/b", "Org-1/model_v2.0", "x" * 96 + "/" + "y" * 96, "meta-llama/Llama-3.1-8B"],
)
def test_validate_repo_id_accepts_hub_names(repo_id: str) -> None:
    assert _wire.validate_repo_id(repo_id) == repo_id


@pytest.mark.parametrize(
    "repo_id",
    [
        "",
        "model",
        "org/",
        "/model",
        "a/b/c",
        "org/na me",
        "-org/model",
        "org/model-",
        ".org/model",
        "org--x/model",
        "org/model..x",
        "x" * 97 + "/model",
        "org/mödel",
        "org\\model",
        None,
        42,
    ],
)
def test_validate_repo_id_rejects_malformed(repo_id: object) -> None:
    with pytest.raises(ValueError, match="invalid repo id"):
        _wire.validate_repo_id(repo_id)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["alice", "a", "Bob_99", "jean-luc", "x.y", "u" * 96])
def test_validate_username_accepts(name: str) -> None:
    assert _wire.validate_username(name) == name


@pytest.mark.parametrize(
    "name", ["", "al ice", "-alice", "alice-", "a--b", "a..b", "u" * 97, "al/ice", "élise", None]
)
def test_validate_username_rejects(name: object) -> None:
    with pytest.raises(ValueError, match="invalid user name"):
        _wire.validate_username(name)  # type: ignore[arg-type]


def test_validate_reason_limits() -> None:
    assert _wire.validate_reason(None) is None
    assert _wire.validate_reason("") == ""
    assert _wire.validate_reason("r" * 200) == "r" * 200
    with pytest.raises(ValueError, match="201 characters"):
        _wire.validate_reason("r" * 201)
    with pytest.raises(ValueError, match="must be a string"):
        _wire.validate_reason(12)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [None, 10, 11, 500, 1000])
def test_validate_page_size_accepts(size: int | None) -> None:
    assert _wire.validate_page_size(size) == size


@pytest.mark.parametrize("size", [0, 9, 1001, -10, 10.0, "100"])
def test_validate_page_size_rejects(size: object) -> None:
    with pytest.raises(ValueError, match="10 to 1000"):
        _wire.validate_page_size(size)  # type: ignore[arg-type]


def test_validate_search_limit() -> None:
    assert _wire.validate_search(None) is None
    assert _wire.validate_search("s" * 250) == "s" * 250
    with pytest.raises(ValueError, match="250"):
        _wire.validate_search("s" * 251)


# -- paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo_type", "expected"),
    [
        (RepoType.MODEL, "/api/models/org/m"),
        (RepoType.DATASET, "/api/datasets/org/m"),
        (RepoType.SPACE, "/api/spaces/org/m"),
    ],
)
def test_repo_api_path(repo_type: RepoType, expected: str) -> None:
    assert _wire.repo_api_path(repo_type, "org/m") == expected
    assert _wire.repo_api_path(repo_type, "org/m", "settings") == expected + "/settings"


def test_repo_api_path_percent_encodes_segments() -> None:
    assert _wire.repo_api_path(RepoType.MODEL, "o rg/m?x") == "/api/models/o%20rg/m%3Fx"


@pytest.mark.parametrize("action", ["pending", "accepted", "rejected", "reset", "handle", "grant"])
def test_requests_path(action: str) -> None:
    assert (
        _wire.requests_path(RepoType.DATASET, "org/d", action)
        == f"/api/datasets/org/d/user-access-request/{action}"
    )


@pytest.mark.parametrize(
    ("repo_type", "expected"),
    [
        (RepoType.MODEL, "/org/m/user-access-report"),
        (RepoType.DATASET, "/datasets/org/m/user-access-report"),
        (RepoType.SPACE, "/spaces/org/m/user-access-report"),
    ],
)
def test_report_path_has_no_api_prefix(repo_type: RepoType, expected: str) -> None:
    path = _wire.report_path(repo_type, "org/m")
    assert path == expected
    assert not path.startswith("/api")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, RepoType.MODEL),
        ("model", RepoType.MODEL),
        ("datasets", RepoType.DATASET),
        (" Space ", RepoType.SPACE),
        (RepoType.DATASET, RepoType.DATASET),
    ],
)
def test_repo_type_parse(value: object, expected: RepoType) -> None:
    assert RepoType.parse(value) is expected  # type: ignore[arg-type]


def test_repo_type_parse_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown repo type"):
        RepoType.parse("kernel")


# -- targets and bodies -------------------------------------------------------------------------

RID = "655f3a1c9e6b2d4f8a7c1e05"
UID = "64b7e2a1c3d4e5f60718293a"


def _request(**kw: object) -> AccessRequest:
    values: dict[str, object] = {
        "request_id": RID,
        "username": None,
        "status": RequestStatus.PENDING,
    }
    values.update(kw)
    return AccessRequest(**values)  # type: ignore[arg-type]


def test_target_of_user_name() -> None:
    target = UserRef.parse("alice")
    assert (target.kind, target.value, target.label) == ("user", "alice", "alice")
    assert target.body() == {"user": "alice"}


def test_target_of_record_with_username_uses_the_name() -> None:
    assert UserRef.parse(_request(username="bob", user_id=UID)).body() == {"user": "bob"}


def test_target_of_hidden_requester_uses_request_id() -> None:
    target = UserRef.parse(_request(user_id=UID))
    assert target.body() == {"requestId": RID}
    assert target.label == f"request:{RID}"


def test_target_of_for_grant_falls_back_to_user_id() -> None:
    target = UserRef.parse(_request(user_id=UID), allow_request_id=False)
    assert target.body() == {"userId": UID}
    assert target.label == f"user-id:{UID}"


def test_target_of_for_grant_without_user_id_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no user name, request id or user id"):
        UserRef.parse(_request(), allow_request_id=False)


def test_a_listed_request_is_named_in_one_place() -> None:
    """The label of a request (an AccessRequest's, the bulk pre-check's, an audit line's) is
    the UserRef's: the user name, else ``request:<id>``."""
    hidden, named = _request(), _request(username="bob")
    assert UserRef.of_request(None, RID) == UserRef("requestId", RID)
    assert UserRef.of_request("bob", RID) == UserRef("user", "bob")
    assert hidden.label == UserRef.of_request(None, RID).label == f"request:{RID}"
    assert named.label == "bob"
    assert UserRef.parse(hidden.label) == UserRef.parse(hidden)
    assert [UserRef.kind_of(x) for x in ("bob", hidden.label, f"user-id:{UID}")] == [
        "user",
        "requestId",
        "userId",
    ]


def test_no_module_writes_or_reads_a_user_label_by_hand() -> None:
    """``request:`` and ``user-id:`` are written only by hub/models.py's UserRef (a watch
    state file's keys, hub/_watch_state.py, are their own format, not labels)."""
    root = Path(hf_access.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        if where == "hub/models.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                prefixes = ("request:",) if where == "hub/_watch_state.py" else _LABELS
                if node.value.startswith(prefixes):
                    found.append(f"{where}:{node.lineno}: {node.value!r}")
    assert found == []


_LABELS = ("request:", "user-id:")


@pytest.mark.parametrize(
    "name",
    [
        "alice",
        "a",
        "user-000123",
        "A.b_c",
        "x_",
        "bad--name",
        "x..y",
        "x.",
        "-x",
        "a" * 97,
        "alice\n",
        "",
        " alice",
        "user-id",
        "request",
    ],
)
@pytest.mark.parametrize("allow_request_id", [True, False])
def test_a_name_without_a_colon_reads_as_its_label_reading(
    name: str, allow_request_id: bool
) -> None:
    # UserRef.parse reads a str without ':' first, as a user name; the label reading agrees.
    assert UserRef.kind_of(name) == "user"
    try:
        expected: UserRef | type[ValueError] = UserRef("user", _wire.validate_username(name))
    except ValueError:
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError, match="invalid user name"):
            UserRef.parse(name, allow_request_id=allow_request_id)
    else:
        assert UserRef.parse(name, allow_request_id=allow_request_id) == expected


def test_target_of_prefixed_strings() -> None:
    assert UserRef.parse(f"request:{RID}").body() == {"requestId": RID}
    assert UserRef.parse(f"user-id:{UID}").body() == {"userId": UID}
    with pytest.raises(ValueError, match="invalid user id"):
        UserRef.parse("user-id:123")
    with pytest.raises(ValueError, match="invalid request id"):
        UserRef.parse("request:bad id!")
    # grant cannot address a request
    with pytest.raises(ValueError, match="not a request id"):
        UserRef.parse(f"request:{RID}", allow_request_id=False)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("bad name", "invalid user name"),
        ("", "invalid user name"),
        (42, "not int"),
        (None, "not NoneType"),
    ],
)
def test_target_of_rejects_bad_users(bad: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        UserRef.parse(bad)  # type: ignore[arg-type]


def test_target_of_record_with_malformed_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid user name"):
        UserRef.parse(_request(username="not valid"))


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (RequestStatus.ACCEPTED, None, {"status": "accepted"}),
        (RequestStatus.PENDING, None, {"status": "pending"}),
        (RequestStatus.REJECTED, None, {"status": "rejected"}),
        (RequestStatus.REJECTED, "spam", {"status": "rejected", "rejectionReason": "spam"}),
        (RequestStatus.RESET, "redo", {"status": "reset", "resetReason": "redo"}),
        (RequestStatus.RESET, None, {"status": "reset"}),
    ],
)
def test_decision_body(status: RequestStatus, reason: str | None, expected: dict) -> None:
    assert _wire.decision_body(status, reason) == expected


@pytest.mark.parametrize("status", [RequestStatus.ACCEPTED, RequestStatus.PENDING])
def test_decision_body_refuses_a_reason_the_status_cannot_carry(status: RequestStatus) -> None:
    with pytest.raises(ValueError, match="only be given to reject or reset"):
        _wire.decision_body(status, "why")


def test_decision_body_refuses_long_reasons() -> None:
    with pytest.raises(ValueError, match="at most 200"):
        _wire.decision_body(RequestStatus.REJECTED, "x" * 201)


def test_reason_key() -> None:
    assert _wire.reason_key(RequestStatus.REJECTED) == "rejectionReason"
    assert _wire.reason_key(RequestStatus.RESET) == "resetReason"
    assert _wire.reason_key(RequestStatus.ACCEPTED) is None


def _settings(**kw: object) -> dict:
    values: dict[str, object] = {
        "mode": None,
        "notifications_mode": None,
        "notifications_email": None,
        "org_members_gated": None,
    }
    values.update(kw)
    return _wire.settings_body(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "wire"),
    [
        (False, False),
        ("off", False),
        (GatingMode.OFF, False),
        ("auto", "auto"),
        ("MANUAL", "manual"),
    ],
)
def test_settings_body_gated(mode: object, wire: object) -> None:
    assert _settings(mode=mode) == {"gated": wire}


def test_settings_body_sends_only_what_is_given() -> None:
    assert _settings(notifications_mode="real_time") == {"gatedNotificationsMode": "real-time"}
    assert _settings(notifications_email="a@b.org") == {"gatedNotificationsEmail": "a@b.org"}
    assert _settings(org_members_gated=False) == {"orgMembersGated": False}
    assert _settings(mode="auto", notifications_mode="bulk", org_members_gated=True) == {
        "gated": "auto",
        "gatedNotificationsMode": "bulk",
        "orgMembersGated": True,
    }


def test_settings_body_errors() -> None:
    with pytest.raises(ValueError, match="at least one setting"):
        _settings()
    with pytest.raises(ValueError, match="ambiguous"):
        _settings(mode=True)
    with pytest.raises(ValueError, match="unknown gating mode"):
        _settings(mode="sometimes")
    with pytest.raises(ValueError, match="unknown notifications mode"):
        _settings(notifications_mode="weekly")
    with pytest.raises(ValueError, match="e-mail"):
        _settings(notifications_email="nobody")


# -- endpoint and origin ------------------------------------------------------------------------


def test_normalize_endpoint() -> None:
    assert sansio.normalize_endpoint("https://hub.example.org/") == "https://hub.example.org"
    assert sansio.normalize_endpoint(" http://127.0.0.1:8080// ") == "http://127.0.0.1:8080"
    for bad in ("hub.example.org", "ftp://hub.example.org", "https://"):
        with pytest.raises(ValueError, match="invalid endpoint"):
            sansio.normalize_endpoint(bad)


def test_origin_of_normalises_default_ports_and_case() -> None:
    assert sansio.origin_of("https://HuggingFace.co/x") == ("https", "huggingface.co", 443)
    assert sansio.origin_of("https://huggingface.co:443/y?z") == sansio.origin_of(
        "https://huggingface.co"
    )
    assert sansio.origin_of("http://h") == ("http", "h", 80)
    assert sansio.origin_of("https://h:8443") != sansio.origin_of("https://h")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.5.0.1", True),
        ("http://localhost:5000", True),
        ("http://LOCALHOST", True),
        ("http://[::1]:8080", True),
        ("http://localhost.evil.example", False),
        ("http://10.0.0.1", False),
        ("http://hub.example.org", False),
    ],
)
def test_is_loopback(url: str, loopback: bool) -> None:
    assert sansio.is_loopback(url) is loopback


def test_is_insecure() -> None:
    assert sansio.is_insecure("http://hub.example.org")
    assert not sansio.is_insecure("https://hub.example.org")
    assert not sansio.is_insecure("http://127.0.0.1:9999")
    assert not sansio.is_insecure("http://[::1]")


# -- Link ---------------------------------------------------------------------------------------

NEXT = "https://huggingface.co/api/models/o/m/user-access-request/pending?limit=10&cursor=abc"


@pytest.mark.parametrize(
    "header",
    [
        f'<{NEXT}>; rel="next"',
        f"<{NEXT}>; rel=next",
        f'<{NEXT}>;rel="next"',
        f'<{NEXT}> ; rel="next"; title="page 2"',
        f'<https://h/prev>; rel="prev", <{NEXT}>; rel="next"',
        f'<{NEXT}>; rel="next", <https://h/last>; rel="last"',
        f'<{NEXT}>; rel="next last"',
        f'<{NEXT}>; REL="next"',
    ],
)
def test_parse_link_next_forms(header: str) -> None:
    assert sansio.parse_link_next(header) == NEXT


def test_parse_link_next_keeps_commas_inside_the_url() -> None:
    assert sansio.parse_link_next('<https://h/x?ids=1,2,3>; rel="next"') == "https://h/x?ids=1,2,3"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        '<https://h/p>; rel="prev"',
        '<https://h/x>; rel="nextpage"',
        "garbage",
        "<https://h/x>",
    ],
)
def test_parse_link_next_absent(header: str | None) -> None:
    assert sansio.parse_link_next(header) is None


def test_parse_link_next_relation_type_is_case_insensitive() -> None:
    assert sansio.parse_link_next(f'<{NEXT}>; rel="Next"') == NEXT


# -- RateLimit ----------------------------------------------------------------------------------


def test_parse_ratelimit_draft09_single_bucket() -> None:
    info = sansio.parse_ratelimit(
        {
            "RateLimit": '"api";r=995;t=42',
            "RateLimit-Policy": '"fixed window";"api";q=1000;w=300',
        }
    )
    assert info == RateLimitInfo(remaining=995, reset_after=42.0, quota=1000, window=300.0)
    assert info.remaining is not None


def test_parse_ratelimit_picks_the_api_bucket_among_several() -> None:
    headers = CIMultiDict(
        {
            "ratelimit": '"resolvers";r=2999;t=100, "api";r=17;t=250, "pages";r=80;t=10',
            "ratelimit-policy": (
                '"fixed window";"resolvers";q=3000;w=300, '
                '"fixed window";"api";q=20;w=300, "fixed window";"pages";q=100;w=60'
            ),
        }
    )
    info = sansio.parse_ratelimit(headers)
    assert (info.remaining, info.reset_after, info.quota, info.window) == (17, 250.0, 20, 300.0)
    pages = sansio.parse_ratelimit(headers, bucket="pages")
    assert (pages.remaining, pages.quota, pages.window) == (80, 100, 60.0)


def test_parse_ratelimit_missing_headers() -> None:
    info = sansio.parse_ratelimit({})
    assert info == RateLimitInfo()
    assert info.remaining is None
    assert info.quota is None


def test_parse_ratelimit_only_remaining() -> None:
    info = sansio.parse_ratelimit({"RateLimit": '"api";r=3;t=9'})
    assert (info.remaining, info.reset_after, info.quota, info.window) == (3, 9.0, None, None)
    assert info.remaining is not None


def test_parse_ratelimit_ignores_garbage_values() -> None:
    info = sansio.parse_ratelimit({"RateLimit": '"api";r=lots;t=?'})
    assert info.remaining is None
    assert info.reset_after is None


def test_parse_ratelimit_negative_remaining_is_zero() -> None:
    assert sansio.parse_ratelimit({"RateLimit": '"api";r=-4;t=1'}).remaining == 0


def test_parse_ratelimit_older_headers_in_seconds() -> None:
    info = sansio.parse_ratelimit(
        {"RateLimit-Limit": "600", "RateLimit-Remaining": "598", "RateLimit-Reset": "57"}
    )
    assert (info.remaining, info.reset_after, info.quota) == (598, 57.0, 600)


def test_parse_ratelimit_older_reset_as_unix_time() -> None:
    reset_at = int(time.time()) + 30
    info = sansio.parse_ratelimit({"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset_at)})
    assert info.remaining == 0
    assert info.reset_after is not None
    assert 25 <= info.reset_after <= 31


def test_parse_ratelimit_older_reset_in_the_past_is_zero() -> None:
    info = sansio.parse_ratelimit({"RateLimit-Reset": str(int(time.time()) - 100)})
    assert info.reset_after == 0.0


def test_parse_ratelimit_draft09_wins_over_older_headers() -> None:
    info = sansio.parse_ratelimit(
        {"RateLimit": '"api";r=5;t=6', "RateLimit-Remaining": "99", "RateLimit-Reset": "77"}
    )
    assert (info.remaining, info.reset_after) == (5, 6.0)


@pytest.mark.parametrize(
    "headers",
    [
        {"RateLimit": '"api";r=995;t=42', "RateLimit-Policy": '"fixed window";"api";q=1000;w=300'},
        {"RateLimit": '"api";r=995;t=42', "RateLimit-Policy": '"api";q=1000;w=300'},
        {"RateLimit": '"api";r=0;t=0', "RateLimit-Policy": '"fixed window";"api";q=1;w=1'},
        {"RateLimit": '"api";r=007;t=0042', "RateLimit-Policy": '"api";q=1000;w=300'},
        {"RateLimit": '"api";r=999999999;t=999999999', "RateLimit-Policy": '"api";q=5;w=60'},
        {"RateLimit": '"api";r=9999999999;t=1', "RateLimit-Policy": '"api";q=5;w=60'},
        {"RateLimit": '"api";r=5;t=1.5', "RateLimit-Policy": '"api";q=5;w=60'},
        {"RateLimit": '"pages";r=5;t=1', "RateLimit-Policy": '"api";q=5;w=60'},
        {"RateLimit": '"api";r=5;t=1', "RateLimit-Policy": '"pages";q=5;w=60'},
        {"RateLimit": '"api";r=5;t=1', "RateLimit-Policy": '"api";q=inf;w=60'},
        {"RateLimit": '"api";r=5;t=1', "RateLimit-Policy": '"api";w=60', "RateLimit-Limit": "9"},
        {"RateLimit": '"api";r=5;t=1', "RateLimit-Limit": "9"},
        {"RateLimit": '"api";t=1;r=5', "RateLimit-Policy": '"api";q=5;w=60'},
        {"RateLimit": '"api";r=5;t=1\n', "RateLimit-Policy": '"api";q=5;w=60'},
        {"RateLimit": "", "RateLimit-Policy": '"api";q=5;w=60'},
        {"RateLimit-Remaining": "3", "RateLimit-Reset": "9", "RateLimit-Policy": '"api";q=5;w=60'},
    ],
)
@pytest.mark.parametrize("bucket", ["api", "pages"])
def test_parse_ratelimit_reads_as_the_general_reading(headers: dict[str, str], bucket: str) -> None:
    # parse_ratelimit's fast path (the Hub's usual headers) and the general reading agree.
    for given in (headers, CIMultiDict(headers)):
        fast = sansio.parse_ratelimit(given, bucket=bucket, now=1000.0)
        general = sansio.read_ratelimit(given, bucket=bucket, now=1000.0)
        assert fast == general
        fields = ("remaining", "reset_after", "quota", "window")
        assert [type(getattr(fast, f)) for f in fields] == [
            type(getattr(general, f)) for f in fields
        ]


# -- Retry-After --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), (" 3 ", 3.0), ("0", 0.0), ("1.5", 1.5), ("-5", 0.0), (None, None), ("", None)],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert sansio.parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 10, 5, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    header = email.utils.formatdate(now + 90, usegmt=True)
    assert header.endswith("GMT")
    assert sansio.parse_retry_after(header, now=now) == pytest.approx(90.0)
    assert sansio.parse_retry_after("Mon, 05 Oct 2026 12:01:30 GMT", now=now) == pytest.approx(90.0)


def test_parse_retry_after_date_in_the_past_is_zero() -> None:
    now = datetime(2026, 10, 5, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    assert sansio.parse_retry_after("Mon, 05 Oct 2026 11:00:00 GMT", now=now) == 0.0


def test_parse_retry_after_garbage() -> None:
    assert sansio.parse_retry_after("soon") is None


@pytest.mark.parametrize(("status", "retry"), [(408, True), (429, True), (500, True), (502, True), (503, True), (504, True), (400, False), (401, False), (403, False), (404, False), (409, False)])  # fmt: skip
def test_is_retryable_status(status: int, retry: bool) -> None:
    assert sansio.is_retryable_status(status) is retry


# -- error factory ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "code", "cls"),
    [
        (404, "No access request found matching your criteria", None, RequestNotFoundError),
        (404, "User not found", None, UserNotFoundError),
        (404, "Whatever", "UserNotFound", UserNotFoundError),
        (404, "Repository not found", "RepoNotFound", RepoNotFoundError),
        (404, "Something", "RepoNotFound", RepoNotFoundError),
        (404, "Repository not found", None, RepoNotFoundError),
        (404, "Not here", None, NotFoundError),
        (400, "That user already has access to the repo", None, AlreadyHasAccessError),
        (400, "* Too big: expected string to have <=200 characters * at rejectionReason", None, BadRequestError),
        (401, "Invalid username or password.", None, AuthenticationError),
        (403, "You have read access but not the required permissions for this operation", None, PermissionDeniedError),
        (429, "you hit the quota of 1000 api requests per 5 minutes period", None, RateLimitError),
        (500, "boom", None, ServerError),
        (502, "bad gateway", None, ServerError),
        (503, "unavailable", None, ServerError),
        (504, "timeout", None, ServerError),
        (409, "conflict", None, ConflictError),
    ],
)  # fmt: skip
def test_error_for_status_picks_the_precise_class(
    status: int, message: str, code: str | None, cls: type[APIStatusError]
) -> None:
    err = error_for_status(
        status, message, error_code=code, request_id="req-1", method="POST", url="https://h/x"
    )
    assert type(err) is cls
    assert isinstance(err, APIStatusError)
    assert isinstance(err, HfAccessError)
    assert (err.status, err.message, err.error_code, err.request_id) == (
        status,
        message,
        code,
        "req-1",
    )
    assert (err.method, err.url) == ("POST", "https://h/x")
    text = str(err)
    assert str(status) in text
    assert message in text
    assert "req-1" in text
    assert "POST https://h/x" in text
    if code:
        assert f"[{code}]" in text


def test_error_for_status_rate_limit_carries_retry_after() -> None:
    err = error_for_status(429, "slow down", retry_after=12.5)
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 12.5
    assert "retry after 12.5s" in str(err)
    assert error_for_status(429, "slow down").retry_after is None  # type: ignore[attr-defined]


def test_already_has_access_is_a_bad_request() -> None:
    assert issubclass(AlreadyHasAccessError, BadRequestError)
    for cls in (RequestNotFoundError, UserNotFoundError, RepoNotFoundError):
        assert issubclass(cls, NotFoundError)


def test_error_message_sources() -> None:
    assert hub_errors.error_message({"X-Error-Message": "from header"}, b'{"error": "body"}') == (
        "from header"
    )
    assert hub_errors.error_message({}, b'{"error": "from body"}') == "from body"
    assert hub_errors.error_message({}, b'{"message": "msg"}') == "msg"
    assert hub_errors.error_message({}, b'{"error": ["a", "b"]}') == "a; b"
    assert hub_errors.error_message({}, b"plain text") == "plain text"
    assert hub_errors.error_message({}, b"") == "(no message)"
    assert (
        hub_errors.error_message({}, b"x" * 900) == "x" * 199 + "…"
    )  # a short excerpt of a body that is not JSON


def test_error_from_response_reads_the_headers() -> None:
    headers = CIMultiDict(
        {"x-error-message": "User not found", "x-error-code": "X", "x-request-id": "Root=1-abc"}
    )
    err = hub_errors.error_from_response(404, headers, b"{}", method="POST", url="https://h/u")
    assert isinstance(err, UserNotFoundError)
    assert (err.message, err.error_code, err.request_id) == ("User not found", "X", "Root=1-abc")
