"""The Hub's converter, the shared time format, token resolution and the retry policy: no loop."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hf_access import (
    AccessRequest,
    DecodeError,
    GatingMode,
    GrantedBy,
    RequestStatus,
    RetryPolicy,
    Timeout,
)
from hf_access.core.convert import format_time as format_hub_time
from hf_access.core.convert import parse_time as parse_hub_time
from hf_access.hub import config as _config
from hf_access.hub.convert import (
    decode_gating,
    decode_report,
    decode_requests,
    to_jsonable,
)

UTC = timezone.utc

# -- times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-05T13:33:43.123Z", datetime(2026, 10, 5, 13, 33, 43, 123000, tzinfo=UTC)),
        ("2026-10-05T13:33:43Z", datetime(2026, 10, 5, 13, 33, 43, tzinfo=UTC)),
        ("2026-10-05T13:33:43.123z", datetime(2026, 10, 5, 13, 33, 43, 123000, tzinfo=UTC)),
        ("2026-10-05T15:33:43.123+02:00", datetime(2026, 10, 5, 13, 33, 43, 123000, tzinfo=UTC)),
        ("2026-10-05T13:33:43", datetime(2026, 10, 5, 13, 33, 43, tzinfo=UTC)),
    ],
)
def test_parse_hub_time(text: str, expected: datetime) -> None:
    parsed = parse_hub_time(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_parse_hub_time_rejects() -> None:
    with pytest.raises(ValueError, match="isoformat"):
        parse_hub_time("yesterday")
    with pytest.raises(TypeError):
        parse_hub_time(1_700_000_000)  # type: ignore[arg-type]


def test_format_hub_time() -> None:
    aware = datetime(2026, 10, 5, 15, 33, 43, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_hub_time(aware) == "2026-10-05T13:33:43.123Z"
    assert format_hub_time(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"


def test_hub_time_round_trip() -> None:
    text = "2026-10-05T13:33:43.120Z"
    assert format_hub_time(parse_hub_time(text)) == text


# -- list items ---------------------------------------------------------------------------------

FULL_ITEM = {
    "requestId": "655f3a1c9e6b2d4f8a7c1e05",
    "user": {
        "_id": "64b7e2a1c3d4e5f60718293a",
        "user": "alice",
        "fullname": "Alice A",
        "avatarUrl": "https://cdn/a.png",
        "isPro": False,
        "type": "user",
        "verifiedOrgNames": ["acme"],
        "email": "alice@example.org",
        "somethingNew": {"nested": True},
    },
    "timestamp": "2026-10-05T13:33:43.123Z",
    "reviewedAt": "2026-10-06T08:00:00.000Z",
    "status": "accepted",
    "grantedBy": {"user": "owner", "fullname": "The Owner", "extra": 1},
    "fields": {"Company": "ACME", "Country": "FR", "Age": 42},
    "brandNewKey": [1, 2, 3],
}


def test_decode_requests_full_item() -> None:
    (req,) = decode_requests([FULL_ITEM])
    assert req == AccessRequest(
        request_id="655f3a1c9e6b2d4f8a7c1e05",
        username="alice",
        status=RequestStatus.ACCEPTED,
        timestamp=datetime(2026, 10, 5, 13, 33, 43, 123000, tzinfo=UTC),
        user_id="64b7e2a1c3d4e5f60718293a",
        fullname="Alice A",
        email="alice@example.org",
        reviewed_at=datetime(2026, 10, 6, 8, 0, tzinfo=UTC),
        granted_by=GrantedBy(username="owner", fullname="The Owner"),
        fields={"Company": "ACME", "Country": "FR", "Age": 42},
        avatar_url="https://cdn/a.png",
        is_pro=False,
        user_type="user",
        verified_orgs=("acme",),
    )
    assert req.label == "alice"


def test_decode_requests_absent_values_are_none() -> None:
    (req,) = decode_requests(
        [{"requestId": "r1", "status": "pending", "user": {"user": "bob"}, "timestamp": None}]
    )
    assert req.username == "bob"
    assert req.status is RequestStatus.PENDING
    for name in ("timestamp", "email", "fullname", "reviewed_at", "granted_by", "user_id"):
        assert getattr(req, name) is None, name
    assert req.fields == {}
    assert req.verified_orgs == ()


def test_decode_requests_hidden_requester() -> None:
    (req,) = decode_requests([{"requestId": "abc123", "status": "pending"}])
    assert req.username is None
    assert req.request_id == "abc123"
    assert req.label == "request:abc123"


def test_decode_requests_empty_page() -> None:
    assert decode_requests([]) == []


def test_decode_requests_keeps_order() -> None:
    page = [{"requestId": str(i), "status": "pending", "user": {"user": f"u{i}"}} for i in range(5)]
    assert [r.username for r in decode_requests(page)] == [f"u{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("page", "field"),
    [
        ([{"status": "pending", "timestamp": "not a date"}], "timestamp"),
        ([{"status": "approved"}], "status"),
        ([{"requestId": "x"}], "status"),
        ([{"status": "pending", "user": {"user": 5}}], "user"),
        ([{"status": "pending", "fields": "Company=ACME"}], "fields"),
        ([{"status": "pending", "requestId": 12}], "request_id"),
        ([{"status": "pending"}, {"status": "pending", "reviewedAt": 3}], "[1]"),
    ],
)
def test_decode_requests_malformed_names_the_field(page: list, field: str) -> None:
    with pytest.raises(DecodeError, match="list page") as info:
        decode_requests(page)
    assert field in str(info.value)


@pytest.mark.parametrize("data", [None, {"items": []}, "[]", 3])
def test_decode_requests_requires_an_array(data: object) -> None:
    with pytest.raises(DecodeError, match="expected an array"):
        decode_requests(data)


# -- report and gating --------------------------------------------------------------------------


def test_decode_report() -> None:
    rows = decode_report(
        [
            {
                "fullname": "Alice A",
                "user": "alice",
                "email": "a@x.org",
                "time": "2026-10-05T13:33:43.123Z",
                "reviewedAt": "2026-10-06T08:00:00.000Z",
                "status": "accepted",
                "grantedBy": {"fullname": "O", "user": "owner"},
                "unknown": 1,
            },
            {"user": "bob", "status": "pending", "time": "2026-10-07T00:00:00.000Z"},
        ]
    )
    assert [r.username for r in rows] == ["alice", "bob"]
    assert rows[0].granted_by == GrantedBy("owner", "O")
    assert rows[0].reviewed_at == datetime(2026, 10, 6, 8, tzinfo=UTC)
    assert rows[1].status is RequestStatus.PENDING
    assert rows[1].email is None
    assert rows[1].granted_by is None


def test_decode_report_malformed() -> None:
    with pytest.raises(DecodeError, match="expected an array"):
        decode_report({"rows": []})
    with pytest.raises(DecodeError, match="status"):
        decode_report([{"user": "a", "status": "maybe"}])


@pytest.mark.parametrize(
    ("data", "mode"),
    [
        ({"_id": "x", "id": "o/m", "gated": False}, GatingMode.OFF),
        ({"gated": "auto"}, GatingMode.AUTO),
        ({"gated": "manual"}, GatingMode.MANUAL),
    ],
)
def test_decode_gating(data: dict, mode: GatingMode) -> None:
    assert decode_gating(data) is mode


@pytest.mark.parametrize("data", [{"id": "o/m"}, [], None, {"gated": "sometimes"}, {"gated": True}])
def test_decode_gating_malformed(data: object) -> None:
    with pytest.raises(DecodeError, match="gated"):
        decode_gating(data)


def test_to_jsonable() -> None:
    (req,) = decode_requests([FULL_ITEM])
    data = to_jsonable(req)
    assert data["username"] == "alice"
    assert data["status"] == "accepted"
    assert data["timestamp"] == "2026-10-05T13:33:43.123Z"
    assert data["fields"] == {"Company": "ACME", "Country": "FR", "Age": 42}


# -- config -------------------------------------------------------------------------------------


def test_token_path_defaults(tmp_path: Path) -> None:
    assert _config.token_path({"HF_TOKEN_PATH": str(tmp_path / "t")}) == tmp_path / "t"
    assert _config.token_path({"HF_HOME": str(tmp_path / "h")}) == tmp_path / "h" / "token"
    assert (
        _config.token_path({"XDG_CACHE_HOME": str(tmp_path / "c")})
        == tmp_path / "c" / "huggingface" / "token"
    )
    assert _config.token_path({}) == Path("~/.cache/huggingface/token").expanduser()
    # HF_TOKEN_PATH wins over HF_HOME, which wins over XDG_CACHE_HOME
    env = {"HF_TOKEN_PATH": "/a/t", "HF_HOME": "/b", "XDG_CACHE_HOME": "/c"}
    assert _config.token_path(env) == Path("/a/t")
    assert _config.token_path({"HF_HOME": "/b", "XDG_CACHE_HOME": "/c"}) == Path("/b/token")


def test_resolve_token_order(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("hf_from_file\n", encoding="utf-8")
    env = {"HF_TOKEN": "hf_from_env", "HF_TOKEN_PATH": str(token_file)}
    assert _config.resolve_token("hf_argument", env) == "hf_argument"
    assert _config.resolve_token(None, env) == "hf_from_env"
    assert _config.resolve_token(None, {"HF_TOKEN_PATH": str(token_file)}) == "hf_from_file"
    assert _config.resolve_token(None, {"HF_TOKEN": "  ", "HF_TOKEN_PATH": str(token_file)}) == (
        "hf_from_file"
    )
    assert _config.resolve_token(" hf_spaced \n", {}) == "hf_spaced"


def test_resolve_token_from_hf_home_and_xdg(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "token").write_text("hf_home_token")
    assert _config.resolve_token(None, {"HF_HOME": str(tmp_path / "home")}) == "hf_home_token"
    (tmp_path / "xdg" / "huggingface").mkdir(parents=True)
    (tmp_path / "xdg" / "huggingface" / "token").write_text("hf_xdg_token")
    assert _config.resolve_token(None, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}) == "hf_xdg_token"


def test_resolve_token_none_found(tmp_path: Path) -> None:
    assert _config.resolve_token(None, {"HF_TOKEN_PATH": str(tmp_path / "missing")}) is None
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    assert _config.resolve_token(None, {"HF_TOKEN_PATH": str(empty)}) is None
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    assert _config.resolve_token(None, {"HF_TOKEN_PATH": str(binary)}) is None
    assert _config.resolve_token(None, {"HF_TOKEN_PATH": str(tmp_path)}) is None  # a directory


def test_resolve_endpoint() -> None:
    assert _config.resolve_endpoint(None, {}) == "https://huggingface.co"
    assert _config.resolve_endpoint(None, {"HF_ENDPOINT": "https://mirror.example/"}) == (
        "https://mirror.example"
    )
    assert _config.resolve_endpoint("http://127.0.0.1:9000/", {"HF_ENDPOINT": "https://x"}) == (
        "http://127.0.0.1:9000"
    )
    assert _config.resolve_endpoint(None, {"HF_ENDPOINT": ""}) == "https://huggingface.co"


# -- retry policy and timeout -------------------------------------------------------------------


def test_backoff_doubles_and_caps() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=3.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_jitter_takes_a_seeded_fraction_off() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=100.0, jitter=0.5)
    rng, twin = random.Random(0), random.Random(0)
    delays = [policy.backoff(n, rng) for n in range(1, 5)]
    expected = [2 ** (n - 1) * (1 - 0.5 * twin.random()) for n in range(1, 5)]
    assert delays == pytest.approx(expected)
    for n, delay in enumerate(delays, start=1):
        assert 0.5 * 2 ** (n - 1) <= delay <= 2 ** (n - 1)


def test_backoff_caps_for_very_many_attempts() -> None:
    assert RetryPolicy(max_backoff=30.0, jitter=0.0).backoff(2_000) == 30.0


def test_retry_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)
    assert RetryPolicy(max_attempts=1).max_attempts == 1


def test_timeout_to_aiohttp() -> None:
    converted = Timeout(total=12.0, connect=3.0).to_aiohttp()
    assert (converted.total, converted.connect) == (12.0, 3.0)
