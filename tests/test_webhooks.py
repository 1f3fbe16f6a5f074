"""hf_access.webhooks: signatures checked against the specification's vector and an
independent implementation (the ``standardwebhooks`` package), and every way to fail."""

from __future__ import annotations

import base64
import pickle
import time
from datetime import datetime, timezone

import pytest
import standardwebhooks

from hf_access import HfAccessError
from hf_access.webhooks import (
    ReplayGuard,
    WebhookError,
    WebhookHeaderError,
    WebhookReplayError,
    WebhookSecret,
    WebhookSignatureError,
    WebhookTimestampError,
    generate_secret,
    sign,
    signed_headers,
    verify,
)

# The example published with the specification's reference libraries.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

BODY = b'{"type":"access_request.created","data":{"user":"alice"}}'


def test_sign_matches_the_published_vector() -> None:
    assert sign(VECTOR_ID, VECTOR_TS, VECTOR_BODY, VECTOR_SECRET) == VECTOR_SIG
    # the prefix and the padding are optional, bytes and str bodies sign alike
    assert sign(VECTOR_ID, VECTOR_TS, VECTOR_BODY.encode(), VECTOR_SECRET[6:]) == VECTOR_SIG


def test_verify_accepts_the_published_vector() -> None:
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TS),
        "webhook-signature": VECTOR_SIG,
    }
    message = verify(headers, VECTOR_BODY, VECTOR_SECRET, now=VECTOR_TS + 299)
    assert message.id == VECTOR_ID
    assert message.timestamp == VECTOR_TS
    assert message.json() == {"test": 2432232314}


def test_the_reference_library_verifies_what_we_sign() -> None:
    secret = generate_secret()
    now = int(time.time())
    headers = signed_headers("msg_relay_1", now, BODY, secret)
    payload = standardwebhooks.Webhook(secret).verify(BODY, headers)
    assert payload["data"]["user"] == "alice"


def test_we_verify_what_the_reference_library_signs() -> None:
    secret = generate_secret(24)
    now = int(time.time())
    stamp = datetime.fromtimestamp(now, tz=timezone.utc)
    signature = standardwebhooks.Webhook(secret).sign("msg_x", stamp, BODY.decode())
    headers = {"Webhook-Id": "msg_x", "Webhook-Timestamp": str(now), "Webhook-Signature": signature}
    assert verify(headers, BODY, secret).body == BODY


def test_rotation_signs_with_every_secret_and_either_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    headers = signed_headers("msg_r", 1000, BODY, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(headers, BODY, old, now=1000).id == "msg_r"
    assert verify(headers, BODY, new, now=1000).id == "msg_r"
    assert verify(headers, BODY, [generate_secret(), new], now=1000).id == "msg_r"
    with pytest.raises(WebhookSignatureError):
        verify(headers, BODY, generate_secret(), now=1000)
    # the reference library accepts the rotated header too
    for secret in (old, new):
        headers_now = signed_headers("msg_r", int(time.time()), BODY, [new, old])
        assert standardwebhooks.Webhook(secret).verify(BODY, headers_now)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "webhook-id": "msg_other"}, b),
        lambda h, b: ({**h, "webhook-timestamp": "1001"}, b),
        lambda h, b: ({**h, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}, b),
        lambda h, b: ({**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v1a,")}, b),
    ],
)
def test_any_change_breaks_the_signature(tamper: object) -> None:
    headers = signed_headers("msg_t", 1000, BODY, VECTOR_SECRET)
    changed_headers, changed_body = tamper(headers, BODY)  # type: ignore[operator]
    with pytest.raises(WebhookSignatureError):
        verify(changed_headers, changed_body, VECTOR_SECRET, now=1000)


@pytest.mark.parametrize(
    ("drop", "value"),
    [
        ("webhook-id", None),
        ("webhook-timestamp", None),
        ("webhook-signature", None),
        ("webhook-id", "has.dot"),
        ("webhook-id", "has space"),
        ("webhook-timestamp", "1e3"),
        ("webhook-timestamp", "-5"),
        ("webhook-timestamp", "١٠٠٠"),  # digits, but not ASCII ones
        ("webhook-signature", "   "),
    ],
)
def test_missing_or_malformed_headers(drop: str, value: str | None) -> None:
    headers = signed_headers("msg_h", 1000, BODY, VECTOR_SECRET)
    if value is None:
        del headers[drop]
    else:
        headers[drop] = value
    with pytest.raises(WebhookHeaderError):
        verify(headers, BODY, VECTOR_SECRET, now=1000)


def test_signature_header_without_a_v1_entry() -> None:
    headers = signed_headers("msg_h", 1000, BODY, VECTOR_SECRET)
    headers["webhook-signature"] = "v1a,abc v2,xyz v1,not-base64!"
    with pytest.raises(WebhookSignatureError, match="no v1 signature"):
        verify(headers, BODY, VECTOR_SECRET, now=1000)


def test_timestamp_tolerance_both_ways() -> None:
    headers = signed_headers("msg_ts", 10_000, BODY, VECTOR_SECRET)
    assert verify(headers, BODY, VECTOR_SECRET, now=10_300).id == "msg_ts"
    assert verify(headers, BODY, VECTOR_SECRET, now=9_700).id == "msg_ts"
    with pytest.raises(WebhookTimestampError, match="behind") as old:
        verify(headers, BODY, VECTOR_SECRET, now=10_301)
    assert old.value.skew == -301
    with pytest.raises(WebhookTimestampError, match="ahead"):
        verify(headers, BODY, VECTOR_SECRET, now=9_699)
    assert verify(headers, BODY, VECTOR_SECRET, now=10_900, tolerance=900).id == "msg_ts"


def test_timestamp_is_checked_before_the_signature() -> None:
    # an old message with a forged signature is refused for its age, without an HMAC oracle
    headers = {"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
    with pytest.raises(WebhookTimestampError):
        verify(headers, BODY, VECTOR_SECRET, now=10_000)


def test_replay_guard_refuses_a_second_delivery_of_an_id() -> None:
    guard = ReplayGuard()
    headers = signed_headers("msg_once", 1000, BODY, VECTOR_SECRET)
    verify(headers, BODY, VECTOR_SECRET, now=1000, seen=guard)
    with pytest.raises(WebhookReplayError) as caught:
        verify(headers, BODY, VECTOR_SECRET, now=1001, seen=guard)
    assert caught.value.webhook_id == "msg_once"


def test_replay_guard_remembers_only_verified_ids() -> None:
    guard = ReplayGuard()
    headers = signed_headers("msg_forged", 1000, BODY, generate_secret())
    with pytest.raises(WebhookSignatureError):
        verify(headers, BODY, VECTOR_SECRET, now=1000, seen=guard)
    assert "msg_forged" not in guard
    good = signed_headers("msg_forged", 1000, BODY, VECTOR_SECRET)
    verify(good, BODY, VECTOR_SECRET, now=1000, seen=guard)
    assert "msg_forged" in guard


def test_replay_guard_forgets_after_ttl_and_stays_bounded() -> None:
    guard = ReplayGuard(ttl=10, max_ids=3)
    guard.remember("a", now=0)
    guard.remember("a", now=11)  # expired: accepted again
    for name in ("b", "c", "d"):
        guard.remember(name, now=12)
    assert len(guard) == 3
    assert "a" not in guard  # the oldest went when the guard was full
    with pytest.raises(ValueError, match="ttl"):
        ReplayGuard(ttl=0)


def test_errors_are_rooted_in_the_library_tree() -> None:
    for cls in (
        WebhookHeaderError,
        WebhookSignatureError,
        WebhookTimestampError,
        WebhookReplayError,
    ):
        assert issubclass(cls, WebhookError)
        assert issubclass(cls, HfAccessError)


def test_the_secret_never_shows() -> None:
    raw = generate_secret()
    key = WebhookSecret(raw)
    assert raw not in repr(key)
    assert raw not in str(key)
    assert raw[6:] not in f"{key!r} {key}"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    headers = signed_headers("msg_s", 1000, BODY, raw)
    errors: list[Exception] = []
    for attempt in (
        lambda: verify(headers, BODY + b"x", raw, now=1000),
        lambda: verify(headers, BODY, raw, now=5000),
        lambda: verify({}, BODY, raw, now=1000),
        lambda: WebhookSecret(raw + "!"),
    ):
        with pytest.raises((WebhookError, ValueError)) as caught:
            attempt()
        errors.append(caught.value)
    for error in errors:
        text = f"{error!s} {error!r}"
        assert raw[6:] not in text
        assert headers["webhook-signature"][3:] not in text


def test_secret_parsing() -> None:
    assert WebhookSecret(VECTOR_SECRET) == WebhookSecret(VECTOR_SECRET[6:])
    assert WebhookSecret(VECTOR_SECRET) == WebhookSecret(base64.b64decode(VECTOR_SECRET[6:]))
    assert WebhookSecret(WebhookSecret(VECTOR_SECRET)) == WebhookSecret(VECTOR_SECRET)
    # unpadded base64 is accepted, as the reference libraries do
    padded = "whsec_" + base64.b64encode(b"k" * 25).decode()
    assert padded.endswith("=")
    assert WebhookSecret(padded) == WebhookSecret(padded.rstrip("="))
    for bad in ("", "whsec_", "whsec_***", b""):
        with pytest.raises(ValueError, match="webhook secret"):
            WebhookSecret(bad)
    with pytest.raises(TypeError):
        WebhookSecret(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one"):
        sign("m", 1, BODY, [])
    with pytest.raises(ValueError, match="24 to 64"):
        generate_secret(8)
    assert len(base64.b64decode(generate_secret(64)[6:])) == 64


def test_sign_refuses_ids_and_timestamps_that_could_be_confused() -> None:
    for bad_id in ("a.b", "", "a b", "x" * 300):
        with pytest.raises(ValueError, match="webhook id"):
            sign(bad_id, 1, BODY, VECTOR_SECRET)
    for bad_ts in (-1, 1.5, True):
        with pytest.raises(ValueError, match="timestamp"):
            sign("m", bad_ts, BODY, VECTOR_SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tolerance"):
        verify({}, BODY, VECTOR_SECRET, tolerance=-1)


async def test_the_readme_receiver_accepts_once_and_refuses_forgeries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from tests.test_readme import readme_example

    namespace: dict[str, object] = {}
    exec(readme_example("receiver"), namespace)
    app = web.Application()
    app.router.add_post("/hook", namespace["receive"])  # type: ignore[arg-type]
    body = b'{"type":"access_request.created","data":{"user":"alice"}}'
    headers = signed_headers("msg_readme", int(time.time()), body, VECTOR_SECRET)
    async with TestClient(TestServer(app)) as client:
        first = await client.post("/hook", data=body, headers=headers)
        again = await client.post("/hook", data=body, headers=headers)
        forged = await client.post("/hook", data=body + b" ", headers=headers)
    assert (first.status, again.status, forged.status) == (204, 200, 400)
    assert capsys.readouterr().out == "access_request.created alice\n"
