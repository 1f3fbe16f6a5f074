"""Sign and verify webhooks the Standard Webhooks way (HMAC-SHA256, ``whsec_`` secrets).

The relay (:mod:`hf_access.screening.relay`) signs every delivery with :func:`sign`; a
receiving service checks it with :func:`verify`. Nothing here does I/O and only the standard
library is used, so a receiver may import this module alone.

A message carries three headers: ``webhook-id`` (the same on every retry of one event:
de-duplicate on it), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature``: ``v1,`` + base64 of HMAC-SHA256 over ``"{id}.{timestamp}.{body}"``,
keyed with the bytes the ``whsec_`` secret encodes. While a secret is being rotated the
sender signs with both, space-separated, and a receiver accepts the message when any one
verifies.

>>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
>>> body = b'{"type": "access_request.created"}'
>>> headers = signed_headers("msg_1", 1_700_000_000, body, secret)
>>> headers["webhook-signature"][:3]
'v1,'
>>> verify(headers, body, secret, now=1_700_000_010).id
'msg_1'
>>> verify(headers, body + b" ", secret, now=1_700_000_010)
Traceback (most recent call last):
...
hf_access.webhooks.WebhookSignatureError: no signature matches the secret

Secrets are held by :class:`WebhookSecret`, whose ``repr`` and ``str`` never show them; no
error message of this module contains a secret, a signature or the body.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import hmac
import json
import re
import secrets as _random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from .core.errors import HfAccessError

__all__ = [
    "DEFAULT_TOLERANCE",
    "ReplayGuard",
    "SecretLike",
    "VerifiedWebhook",
    "WebhookError",
    "WebhookHeaderError",
    "WebhookReplayError",
    "WebhookSecret",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "generate_secret",
    "sign",
    "signed_headers",
    "verify",
]

PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300
"""Seconds a ``webhook-timestamp`` may be away from now, either way (the usual 5 minutes)."""

_ID = re.compile(r"[A-Za-z0-9_\-:]{1,256}")  # no '.', no space: they delimit what is signed
_MAX_SIGNATURES = 16  # more in one header is not rotation but noise: ignored
_MAX_HEADER = 8192


class WebhookError(HfAccessError):
    """A webhook message failed verification (see the subclasses for why)."""


class WebhookHeaderError(WebhookError):
    """A ``webhook-*`` header is missing or malformed."""


class WebhookSignatureError(WebhookError):
    """No signature of the message matches the secret(s)."""


class WebhookTimestampError(WebhookError):
    """The message's timestamp is too far from now (a replay, or a clock far off)."""

    def __init__(self, message: str, *, skew: float) -> None:
        super().__init__(message)
        self.skew = skew
        """Seconds the timestamp is ahead of now (negative: behind)."""


class WebhookReplayError(WebhookError):
    """The message's id was already accepted (a replay, or a retry of a handled event)."""

    def __init__(self, message: str, *, webhook_id: str) -> None:
        super().__init__(message)
        self.webhook_id = webhook_id


class WebhookSecret:
    """The signing key of an endpoint: ``whsec_`` + base64 of 24 to 64 random bytes.

    Built from that text (the ``whsec_`` prefix may be left out, and so may the base64
    padding), or from the raw key bytes. It never shows itself:

    >>> WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    WebhookSecret(<hidden>)
    >>> WebhookSecret("not base64!")
    Traceback (most recent call last):
    ...
    ValueError: a webhook secret is 'whsec_' followed by base64 text
    """

    __slots__ = ("_key",)
    _key: bytes

    def __init__(self, secret: str | bytes | WebhookSecret) -> None:
        if isinstance(secret, WebhookSecret):
            key = secret._key
        elif isinstance(secret, bytes):
            key = secret
        elif isinstance(secret, str):
            key = _decode_secret(secret)
        else:
            raise TypeError("a webhook secret is a str, bytes or WebhookSecret")
        if not key:
            raise ValueError("a webhook secret may not be empty")
        self._key = key

    def signature(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """``v1,<base64 HMAC-SHA256>`` of ``"{msg_id}.{timestamp}.{body}"``."""
        digest = hmac.new(self._key, _signed_content(msg_id, timestamp, body), hashlib.sha256)
        return "v1," + base64.b64encode(digest.digest()).decode("ascii")

    def _matches(self, content: bytes, candidates: list[bytes]) -> bool:
        expected = hmac.new(self._key, content, hashlib.sha256).digest()
        found = False
        for candidate in candidates:  # every candidate is compared: no early exit
            found |= hmac.compare_digest(expected, candidate)
        return found

    def __repr__(self) -> str:
        return "WebhookSecret(<hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WebhookSecret):
            return NotImplemented
        return hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self._key).digest())

    def __reduce__(self) -> Any:
        raise TypeError("a WebhookSecret is not pickled: keep the secret where secrets live")


SecretLike: TypeAlias = str | bytes | WebhookSecret
"""A secret as ``whsec_...`` text, raw key bytes, or a :class:`WebhookSecret`."""


def _decode_secret(text: str) -> bytes:
    body = text.strip()
    if body.startswith(PREFIX):
        body = body[len(PREFIX) :]
    body = body.rstrip("=")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is 'whsec_' followed by base64 text") from None


def generate_secret(nbytes: int = 32) -> str:
    """A fresh random secret, as ``whsec_`` + base64 (``nbytes`` from 24 to 64).

    >>> generate_secret().startswith("whsec_")
    True
    """
    if not 24 <= nbytes <= 64:
        raise ValueError("a webhook secret has 24 to 64 random bytes")
    return PREFIX + base64.b64encode(_random.token_bytes(nbytes)).decode("ascii")


def _secrets(secret: SecretLike | Iterable[SecretLike]) -> list[WebhookSecret]:
    if isinstance(secret, (str, bytes, WebhookSecret)):
        return [WebhookSecret(secret)]
    keys = [WebhookSecret(s) for s in secret]
    if not keys:
        raise ValueError("give at least one webhook secret")
    return keys


def _body_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _check_id(msg_id: str) -> str:
    if not isinstance(msg_id, str) or not _ID.fullmatch(msg_id):
        raise ValueError("a webhook id is 1 to 256 letters, digits, '_', '-' or ':'")
    return msg_id


def _signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign(
    msg_id: str,
    timestamp: int,
    body: bytes | str,
    secret: SecretLike | Iterable[SecretLike],
) -> str:
    """The ``webhook-signature`` value: one ``v1,...`` per secret, space-separated.

    Several secrets sign the same message while one is being rotated. The specification's
    published example:

    >>> sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}',
    ...      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    _check_id(msg_id)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("a webhook timestamp is a non-negative integer (Unix seconds)")
    data = _body_bytes(body)
    return " ".join(key.signature(msg_id, timestamp, data) for key in _secrets(secret))


def signed_headers(
    msg_id: str,
    timestamp: int,
    body: bytes | str,
    secret: SecretLike | Iterable[SecretLike],
) -> dict[str, str]:
    """The three ``webhook-*`` headers of one delivery attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, secret),
    }


@dataclass(frozen=True)
class VerifiedWebhook:
    """A message that passed :func:`verify`: its id, attempt timestamp and body bytes."""

    id: str
    timestamp: int
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON (a :class:`ValueError` when it is not JSON)."""
        return json.loads(self.body)


class ReplayGuard:
    """Remembers the ids of accepted messages for ``ttl`` seconds (at most ``max_ids``).

    A message older than the tolerance is refused anyway, so remembering ids for twice the
    tolerance stops every replay of a captured message. The sender's retries reuse the id
    on purpose: a receiver answers ``2xx`` to a :class:`WebhookReplayError` (it has the
    event already) and keeps its own durable de-duplication for retries hours apart.

    >>> guard = ReplayGuard()
    >>> guard.remember("msg_1", now=100.0)
    >>> guard.remember("msg_1", now=101.0)
    Traceback (most recent call last):
    ...
    hf_access.webhooks.WebhookReplayError: webhook id 'msg_1' was already accepted
    """

    def __init__(self, *, ttl: float = 2 * DEFAULT_TOLERANCE, max_ids: int = 100_000) -> None:
        if ttl <= 0 or max_ids < 1:
            raise ValueError("need ttl > 0 and max_ids >= 1")
        self.ttl, self.max_ids = ttl, max_ids
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, msg_id: object) -> bool:
        with self._lock:
            return msg_id in self._seen

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def remember(self, msg_id: str, *, now: float | None = None) -> None:
        """Record ``msg_id``; raise :class:`WebhookReplayError` if it is already there."""
        moment = time.time() if now is None else now
        with self._lock:
            while self._seen:
                oldest, at = next(iter(self._seen.items()))
                if at > moment - self.ttl and len(self._seen) < self.max_ids:
                    break
                del self._seen[oldest]
            if msg_id in self._seen:
                raise WebhookReplayError(
                    f"webhook id {msg_id!r} was already accepted", webhook_id=msg_id
                )
            self._seen[msg_id] = moment


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        for key, item in headers.items():  # a plain dict with other capitals
            if key.lower() == name:
                value = item
                break
    if not isinstance(value, str) or not value.strip():
        raise WebhookHeaderError(f"missing header {name}")
    if len(value) > _MAX_HEADER:
        raise WebhookHeaderError(f"header {name} is too long")
    return value.strip()


def _candidates(header: str) -> list[bytes]:
    found: list[bytes] = []
    for item in header.split()[:_MAX_SIGNATURES]:
        version, _, encoded = item.partition(",")
        if version != "v1" or not encoded:
            continue  # another scheme (v1a...) or noise: not ours to judge
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def verify(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: SecretLike | Iterable[SecretLike],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
    seen: ReplayGuard | None = None,
) -> VerifiedWebhook:
    """Check a received message; return it, or raise a :class:`WebhookError`.

    ``headers``: the request's headers (any capitalisation); ``body``: the bytes exactly as
    received (never a re-serialised JSON); ``secret``: the endpoint's secret, or several
    during a rotation. ``tolerance``: seconds the timestamp may be away from ``now``
    (default: the clock). ``seen``: a :class:`ReplayGuard` that refuses an id it already
    accepted (only verified ids are remembered).

    Raises :class:`WebhookHeaderError`, :class:`WebhookTimestampError`,
    :class:`WebhookSignatureError` or :class:`WebhookReplayError`, in that order of checks.
    """
    if tolerance < 0:
        raise ValueError("tolerance is a number of seconds >= 0")
    keys = _secrets(secret)
    msg_id = _header(headers, "webhook-id")
    if not _ID.fullmatch(msg_id):
        raise WebhookHeaderError("malformed header webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 15:
        raise WebhookHeaderError("malformed header webhook-timestamp (Unix seconds)")
    timestamp = int(stamp)
    moment = time.time() if now is None else now
    skew = timestamp - moment
    if abs(skew) > tolerance:
        where = "ahead of" if skew > 0 else "behind"
        raise WebhookTimestampError(
            f"webhook timestamp is {abs(skew):.0f}s {where} now (tolerance {tolerance:g}s)",
            skew=skew,
        )
    candidates = _candidates(_header(headers, "webhook-signature"))
    if not candidates:
        raise WebhookSignatureError("no v1 signature in header webhook-signature")
    data = _body_bytes(body)
    content = _signed_content(msg_id, timestamp, data)
    matched = False
    for key in keys:  # every key is tried: the time taken does not tell which one matched
        matched |= key._matches(content, candidates)
    if not matched:
        raise WebhookSignatureError("no signature matches the secret")
    if seen is not None:
        seen.remember(msg_id, now=moment)
    return VerifiedWebhook(msg_id, timestamp, data)
