"""AccessSession set-up: pool ownership, close, token and endpoint resolution, transport errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

from hf_access import (
    AccessSession,
    ConfigurationError,
    HfAccessError,
    HubConnectionError,
    HubTimeoutError,
    Quota,
    RateLimiter,
    RetryPolicy,
    SessionClosedError,
    TransportError,
    __version__,
)

TOKEN = "hf_SECRET_abc123"
HUB = "https://huggingface.co"
PENDING = "/api/models/org/m/user-access-request/pending"


def _auth(m: aioresponses) -> list[str]:
    return [c.kwargs["headers"]["Authorization"] for calls in m.requests.values() for c in calls]


def _urls(m: aioresponses) -> list[str]:
    return [str(url) for (_, url) in m.requests]


# -- the pool -----------------------------------------------------------------------------------


async def test_owns_one_pool_with_the_connection_limit(make_hub: Any, mocked: aioresponses) -> None:
    mocked.get(HUB + PENDING, payload=[], repeat=True)
    session = make_hub(connection_limit=7)
    async with session:
        pool = session._transport._own
        assert isinstance(pool, aiohttp.ClientSession)
        assert pool.connector is not None
        assert pool.connector.limit == 7
        await session.list_pending("org/m")
        await session.list_pending("org/m")
        assert session._transport._own is pool  # one pool for every call
        assert session.calls == 2
    assert pool.closed
    assert session.closed


async def test_borrowed_session_is_used_and_left_open(vt: Any, mocked: aioresponses) -> None:
    mocked.get(HUB + PENDING, payload=[])
    async with aiohttp.ClientSession() as borrowed:
        async with AccessSession(TOKEN, session=borrowed, sleep=vt.sleep) as hub:
            assert await hub.list_pending("org/m") == []
            assert hub._transport._own is None
        assert hub.closed
        assert not borrowed.closed


async def test_closed_borrowed_session_raises(vt: Any, mocked: aioresponses) -> None:
    borrowed = aiohttp.ClientSession()
    await borrowed.close()
    hub = AccessSession(TOKEN, session=borrowed, sleep=vt.sleep)
    with pytest.raises(SessionClosedError, match="passed to this session is closed"):
        await hub.list_pending("org/m")
    await hub.aclose()
    assert mocked.requests == {}


async def test_use_after_close_raises(make_hub: Any, mocked: aioresponses) -> None:
    hub = make_hub()
    async with hub:
        pass
    assert "closed" in repr(hub)
    with pytest.raises(SessionClosedError):
        await hub.list_pending("org/m")
    with pytest.raises(SessionClosedError):
        await hub.accept("org/m", "alice")
    with pytest.raises(SessionClosedError):
        async with hub:
            pass
    assert issubclass(SessionClosedError, ConfigurationError)
    assert mocked.requests == {}


async def test_use_after_close_without_token_says_closed(vt: Any) -> None:
    hub = AccessSession(sleep=vt.sleep)
    await hub.aclose()
    with pytest.raises(SessionClosedError):
        await hub.accept("org/m", "alice")


async def test_aclose_twice_is_harmless(make_hub: Any) -> None:
    hub = make_hub()
    async with hub:
        pass
    await hub.aclose()
    assert hub.closed


async def test_session_without_context_manager_opens_lazily(
    make_hub: Any, mocked: aioresponses
) -> None:
    mocked.get(HUB + PENDING, payload=[])
    hub = make_hub()
    assert await hub.list_pending("org/m") == []
    await hub.aclose()
    assert hub.closed


def test_quota_and_limiter_are_exclusive() -> None:
    with pytest.raises(ValueError, match="either quota or limiter"):
        AccessSession(TOKEN, quota=Quota(10, 60.0), limiter=RateLimiter())


def test_connection_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="connection_limit"):
        AccessSession(TOKEN, connection_limit=0)


async def test_quota_argument_reaches_the_limiter() -> None:
    hub = AccessSession(TOKEN, quota=Quota(42, 60.0))
    assert (hub.limiter.quota, hub.limiter.window) == (42, 60.0)
    await hub.aclose()


async def test_shared_limiter_is_used(vt: Any) -> None:
    limiter = RateLimiter(clock=vt.clock, sleep=vt.sleep)
    one = AccessSession(TOKEN, limiter=limiter)
    two = AccessSession(TOKEN, limiter=limiter)
    assert one.limiter is limiter
    assert two.limiter is limiter
    await one.aclose()
    await two.aclose()


# -- token --------------------------------------------------------------------------------------


async def test_token_from_argument_wins(
    make_hub: Any, mocked: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_env")
    mocked.get(HUB + PENDING, payload=[])
    async with make_hub(token="hf_arg") as hub:
        await hub.list_pending("org/m")
    assert _auth(mocked) == ["Bearer hf_arg"]


async def test_token_from_env(
    make_hub: Any, mocked: aioresponses, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_env")
    (tmp_path / "file").write_text("hf_file")
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "file"))
    mocked.get(HUB + PENDING, payload=[])
    async with make_hub(token=None) as hub:
        await hub.list_pending("org/m")
    assert _auth(mocked) == ["Bearer hf_env"]


@pytest.mark.parametrize("where", ["HF_TOKEN_PATH", "HF_HOME", "XDG_CACHE_HOME"])
async def test_token_from_file(
    where: str,
    make_hub: Any,
    mocked: aioresponses,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if where == "HF_TOKEN_PATH":
        path = tmp_path / "custom" / "my-token"
        monkeypatch.setenv("HF_TOKEN_PATH", str(path))
    elif where == "HF_HOME":
        path = tmp_path / "hf-home" / "token"
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    else:
        path = tmp_path / "cache" / "huggingface" / "token"
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path.parent.mkdir(parents=True)
    path.write_text("hf_from_file\n")
    mocked.get(HUB + PENDING, payload=[])
    async with make_hub(token=None) as hub:
        await hub.list_pending("org/m")
    assert _auth(mocked) == ["Bearer hf_from_file"]


async def test_no_token_raises_before_any_request(make_hub: Any, mocked: aioresponses) -> None:
    hub = make_hub(token=None)
    assert "token=none" in repr(hub)
    async with hub:
        for call in (
            hub.list_pending("org/m"),
            hub.accept("org/m", "alice"),
            hub.grant("org/m", "alice"),
            hub.batch("org/m", "accepted", ["alice"]),
            hub.get_gating("org/m"),
            hub.set_gating("org/m", "auto"),
            hub.access_report("org/m"),
        ):
            with pytest.raises(ConfigurationError, match="HF_TOKEN"):
                await call
    assert mocked.requests == {}


# -- endpoint -----------------------------------------------------------------------------------


async def test_default_endpoint(make_hub: Any) -> None:
    assert make_hub().endpoint == "https://huggingface.co"


async def test_endpoint_from_env_and_argument(
    make_hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://mirror.example.org/")
    assert make_hub().endpoint == "https://mirror.example.org"
    assert make_hub(endpoint="https://other.example.org//").endpoint == "https://other.example.org"


async def test_requests_go_to_the_endpoint(make_hub: Any, mocked: aioresponses) -> None:
    mocked.get("https://mirror.example.org:8443" + PENDING, payload=[])
    async with make_hub(endpoint="https://mirror.example.org:8443/") as hub:
        assert await hub.list_pending("org/m") == []
    assert _urls(mocked) == ["https://mirror.example.org:8443" + PENDING]


@pytest.mark.parametrize("endpoint", ["huggingface.co", "ftp://huggingface.co", "https://"])
def test_invalid_endpoint(endpoint: str) -> None:
    with pytest.raises(ValueError, match="invalid endpoint"):
        AccessSession(TOKEN, endpoint=endpoint)


async def test_refuses_token_over_plain_http(make_hub: Any, mocked: aioresponses) -> None:
    async with make_hub(endpoint="http://hub.example.org") as hub:
        with pytest.raises(ConfigurationError, match="plain http") as info:
            await hub.list_pending("org/m")
    assert TOKEN not in str(info.value)
    assert mocked.requests == {}


async def test_plain_http_allowed_explicitly(make_hub: Any, mocked: aioresponses) -> None:
    mocked.get("http://hub.example.org" + PENDING, payload=[])
    async with make_hub(endpoint="http://hub.example.org", allow_insecure_http=True) as hub:
        assert await hub.list_pending("org/m") == []
    assert _auth(mocked) == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:8080", "http://localhost:5000", "http://[::1]:7000"]
)
async def test_plain_http_to_loopback_is_fine(
    endpoint: str, make_hub: Any, mocked: aioresponses
) -> None:
    mocked.get(endpoint + PENDING, payload=[])
    async with make_hub(endpoint=endpoint) as hub:
        assert await hub.list_pending("org/m") == []
    assert len(_auth(mocked)) == 1


# -- headers ------------------------------------------------------------------------------------


async def test_user_agent_names_hf_access_and_its_version(
    hub: AccessSession, mocked: aioresponses
) -> None:
    mocked.get(HUB + PENDING, payload=[])
    await hub.list_pending("org/m")
    (calls,) = mocked.requests.values()
    headers = calls[0].kwargs["headers"]
    assert headers["User-Agent"].startswith(f"hf-access/{__version__} ")
    assert headers["Accept"] == "application/json"
    assert headers["Authorization"] == f"Bearer {TOKEN}"


async def test_custom_user_agent(make_hub: Any, mocked: aioresponses) -> None:
    mocked.get(HUB + PENDING, payload=[])
    async with make_hub(user_agent="my-bot/1.0") as hub:
        await hub.list_pending("org/m")
    (calls,) = mocked.requests.values()
    assert calls[0].kwargs["headers"]["User-Agent"] == "my-bot/1.0"


async def test_timeout_is_passed_to_aiohttp(make_hub: Any, mocked: aioresponses) -> None:
    from hf_access import Timeout

    mocked.get(HUB + PENDING, payload=[])
    async with make_hub(timeout=Timeout(total=7.0, connect=2.0)) as hub:
        await hub.list_pending("org/m")
        # The session's own pool carries the timeout: its calls need not repeat it.
        pool = hub._transport._client()
        assert (pool.timeout.total, pool.timeout.connect) == (7.0, 2.0)
    (calls,) = mocked.requests.values()
    assert calls[0].kwargs.get("timeout") in (None, pool.timeout)
    assert calls[0].kwargs["allow_redirects"] is False


async def test_timeout_is_passed_with_each_call_on_a_borrowed_pool(mocked: aioresponses) -> None:
    from hf_access import AccessSession, Timeout

    mocked.get(HUB + PENDING, payload=[])
    async with (
        aiohttp.ClientSession() as borrowed,
        AccessSession(
            "hf_test", HUB, session=borrowed, timeout=Timeout(total=7.0, connect=2.0)
        ) as hub,
    ):
        await hub.list_pending("org/m")
    (calls,) = mocked.requests.values()
    assert calls[0].kwargs["timeout"].total == 7.0
    assert calls[0].kwargs["timeout"].connect == 2.0


# -- transport errors are translated ------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (asyncio.TimeoutError(), HubTimeoutError),
        (TimeoutError(), HubTimeoutError),
        (aiohttp.ServerTimeoutError("read timeout"), HubTimeoutError),
        # aiohttp 3.10 added ConnectionTimeoutError; 3.9 raises its base class on a connect timeout
        (
            getattr(aiohttp, "ConnectionTimeoutError", aiohttp.ServerTimeoutError)("connect"),
            HubTimeoutError,
        ),
        (aiohttp.ClientConnectionError("refused"), HubConnectionError),
        (aiohttp.ServerDisconnectedError(), HubConnectionError),
        (aiohttp.ClientPayloadError("truncated"), HubConnectionError),
        (aiohttp.ClientOSError(104, "reset by peer"), HubConnectionError),
    ],
)
async def test_transport_errors_are_translated(
    exception: BaseException, expected: type[TransportError], make_hub: Any, mocked: aioresponses
) -> None:
    mocked.get(HUB + PENDING, exception=exception)
    async with make_hub(retry=RetryPolicy(max_attempts=1)) as hub:
        with pytest.raises(expected) as info:
            await hub.list_pending("org/m")
    assert isinstance(info.value, HfAccessError)
    assert not isinstance(info.value, aiohttp.ClientError)
    assert "GET https://huggingface.co" in str(info.value)


async def test_transport_error_releases_the_limiter(make_hub: Any, mocked: aioresponses) -> None:
    mocked.get(HUB + PENDING, exception=aiohttp.ClientConnectionError())
    async with make_hub(retry=RetryPolicy(max_attempts=1)) as hub:
        with pytest.raises(HubConnectionError):
            await hub.list_pending("org/m")
        assert hub.limiter.in_flight == 0
        assert hub.calls == 1  # requests sent, answered or not
