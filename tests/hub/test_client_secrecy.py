"""The token never shows in repr, logs or exception text."""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

from hf_access import (
    AccessSession,
    ConfigurationError,
    HfAccessError,
    RetryPolicy,
    SessionClosedError,
)

TOKEN = "hf_SECRET_abc123"
HUB = "https://huggingface.co"
REPO = "org/gated-model"
REQ = f"{HUB}/api/models/{REPO}/user-access-request"


def assert_secret_absent(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert "SECRET" not in text


def assert_error_clean(err: BaseException) -> None:
    assert_secret_absent(
        str(err),
        repr(err),
        "".join(traceback.format_exception(err)),
        *(repr(a) for a in err.args),
        *(repr(v) for v in vars(err).values()),
    )


async def test_repr_of_session_hides_the_token(make_hub: Any) -> None:
    hub = make_hub(token=TOKEN)
    assert_secret_absent(repr(hub), str(hub), repr(hub.limiter), repr(vars(hub)))
    assert "token=set" in repr(hub)
    transport = hub._transport
    assert_secret_absent(repr(transport._token), str(transport._token))


async def test_repr_with_token_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub = AccessSession()
    assert_secret_absent(repr(hub))
    assert "token=set" in repr(hub)
    await hub.aclose()


FAILURES = [
    ("401", {"status": 401, "payload": {"error": "Invalid username or password."}}),
    ("403", {"status": 403, "payload": {"error": "You have read access"}}),
    ("404", {"status": 404, "headers": {"X-Error-Code": "RepoNotFound"}}),
    ("400", {"status": 400, "body": "That user already has access to the repo"}),
    ("500", {"status": 500, "body": "oops"}),
    ("429", {"status": 429, "headers": {"Retry-After": "9999"}}),
    ("connection", {"exception": aiohttp.ClientConnectionError("Connection reset by peer")}),
    ("timeout", {"exception": asyncio.TimeoutError()}),
    ("disconnected", {"exception": aiohttp.ServerDisconnectedError()}),
    ("bad-json", {"status": 200, "body": "{not json", "content_type": "text/plain"}),
]


@pytest.mark.parametrize("failure", [f[1] for f in FAILURES], ids=[f[0] for f in FAILURES])
async def test_failing_calls_never_show_the_token(
    make_hub: Any, mocked: aioresponses, caplog: pytest.LogCaptureFixture, failure: dict
) -> None:
    caplog.set_level(logging.DEBUG)
    mocked.post(f"{REQ}/batch", repeat=True, **failure)
    async with make_hub(retry=RetryPolicy(max_attempts=3, jitter=0.0)) as hub:
        with pytest.raises(HfAccessError) as info:
            await hub.batch(REPO, "accepted", ["alice"])
    assert_error_clean(info.value)
    assert_secret_absent(caplog.text, *(repr(r.args) for r in caplog.records))
    # the token was really sent: it is only absent from what a user can see
    calls = [c for group in mocked.requests.values() for c in group]
    assert calls[0].kwargs["headers"]["Authorization"] == f"Bearer {TOKEN}"


async def test_logs_of_successful_and_retried_calls(
    make_hub: Any, mocked: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mocked.get(f"{REQ}/pending", exception=aiohttp.ClientConnectionError("boom"))
    mocked.get(f"{REQ}/pending", status=503)
    mocked.get(f"{REQ}/pending", status=429, headers={"Retry-After": "1"})
    mocked.get(f"{REQ}/pending", payload=[])
    mocked.post(f"{REQ}/handle", payload={})
    async with make_hub() as hub:
        await hub.list_pending(REPO)
        await hub.reject(REPO, "alice", reason="no")
    assert caplog.records, "the retries should have been logged"
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert_secret_absent(caplog.text, *(r.getMessage() for r in caplog.records))


async def test_configuration_errors_never_show_the_token(
    make_hub: Any, mocked: aioresponses
) -> None:
    async with make_hub(endpoint="http://hub.example.org") as hub:
        with pytest.raises(ConfigurationError) as info:
            await hub.accept(REPO, "alice")
    assert_error_clean(info.value)
    secure = make_hub()
    await secure.aclose()
    with pytest.raises(SessionClosedError) as closed:
        await secure.accept(REPO, "alice")
    assert_error_clean(closed.value)
    assert mocked.requests == {}


async def test_unsafe_link_error_never_shows_the_token(
    hub: AccessSession, mocked: aioresponses
) -> None:
    mocked.get(
        f"{REQ}/pending", payload=[], headers={"Link": '<https://evil.example/x>; rel="next"'}
    )
    with pytest.raises(HfAccessError) as info:
        await hub.list_pending(REPO)
    assert_error_clean(info.value)


async def test_value_errors_never_show_the_token(hub: AccessSession) -> None:
    with pytest.raises(ValueError, match="invalid repo id") as info:
        await hub.accept("bad repo", "alice")
    assert_error_clean(info.value)
