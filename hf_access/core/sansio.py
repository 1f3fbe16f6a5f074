"""Pure helpers every provider shares: the Call value, endpoints and origins, ``Link``,
``Retry-After`` and ``RateLimit`` headers, and error bodies.

Nothing here does I/O or needs an event loop, so all of it is tested with plain values.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs
from multidict import istr

from .convert import frozen_builder
from .ratelimit import RateLimitInfo

__all__ = [
    "RETRY_STATUSES",
    "Call",
    "check_url",
    "clip",
    "encode_body",
    "error_body",
    "excerpt",
    "is_insecure",
    "is_loopback",
    "is_retryable_status",
    "normalize_endpoint",
    "origin_of",
    "parse_link_next",
    "parse_ratelimit",
    "parse_retry_after",
]

log = logging.getLogger("hf_access")


@attrs.frozen
class Call:
    """One HTTP call as a value: what a provider's wire module builds, a dry run shows, and
    the transport sends. ``body`` is JSON-ready data (None: no body); ``path`` is a path on
    the endpoint or an absolute URL on its origin (a next-page link).

    >>> Call("POST", "/api/models/org/m/user-access-request/grant", body={"user": "alice"})
    Call(method='POST', path='/api/models/org/m/user-access-request/grant', params=None, body={'user': 'alice'}, auth=True)
    """

    method: str
    path: str
    params: Mapping[str, str] | None = None
    body: Any = None
    auth: bool = True

    @property
    def target(self) -> str:
        """The path with its query, as a person reads the call (``/a/b?x=1``).

        >>> Call("PUT", "projects/3/access_requests/5/approve", {"access_level": "30"}).target
        '/projects/3/access_requests/5/approve?access_level=30'
        """
        path = self.path if "://" in self.path else "/" + self.path.lstrip("/")
        return f"{path}?{urlencode(self.params)}" if self.params else path

    @property
    def content(self) -> bytes | None:
        """The body as the transport sends it (see :func:`encode_body`); None without a body.

        >>> Call("POST", "/grant", body={"user": "alice"}).content
        b'{"user":"alice"}'
        """
        return None if self.body is None else encode_body(self.body)


make_call: Callable[[str, str, Mapping[str, str] | None, Any, bool], Call] = frozen_builder(Call)
"""``Call(method, path, params, body, auth)``, every field given by position, made quicker
(see :func:`~hf_access.core.convert.frozen_builder`): for the single calls' hot path."""


def _unencodable(value: Any) -> Any:
    raise TypeError(f"a value of type {type(value).__name__} cannot go in a JSON body")


def _json_encoder() -> Callable[[Any], str]:
    """The compact JSON encoder of every body: the C encoder called directly where there is
    one (half the cost of ``json.dumps`` for a small body), else the pure-Python one."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    # No markers: a body is a tree built by this library (a cycle would end in RecursionError).
    chunks = make(None, _unencodable, json.encoder.encode_basestring_ascii, None, ":", ",",
                  False, False, False)  # fmt: skip
    return lambda body: "".join(chunks(body, 0))


_ENCODE = _json_encoder()


def encode_body(body: Any) -> bytes:
    r"""A call's JSON body as the bytes that go on the wire: compact, ASCII only (characters
    beyond it escaped), serialised once by the transport (and by :attr:`Call.content`, which
    a dry run shows). A value JSON cannot carry (NaN, an object) raises ValueError or
    TypeError before anything is sent.

    >>> encode_body({"user": "zoë", "status": "accepted"})
    b'{"user":"zo\\u00eb","status":"accepted"}'
    """
    return _ENCODE(body).encode()


# ---------------------------------------------------------------------------------------------
# Endpoint and origin checks


def normalize_endpoint(endpoint: str) -> str:
    """Strip the trailing slash; ValueError when the URL is not http(s)://host."""
    endpoint = endpoint.strip().rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid endpoint {endpoint!r}: expected http(s)://host[:port]")
    return endpoint


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``; ValueError for a URL that does not parse (a port of
    99999 or ``:1:2``, a broken IPv6 address): see :func:`check_url`."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or default)


def check_url(url: str) -> str | None:
    """Why ``url`` (from a server: a redirect, a next link) cannot be followed, or None.

    >>> check_url("https://h:99999/x"), check_url("https://h:1:2/x"), check_url("http://[::1/x")
    ('bad port', 'bad port', 'Invalid IPv6 URL')
    >>> check_url("http://[zz]/x") is not None, check_url("http://[::1]:8080/x") is None
    (True, True)
    >>> check_url("https://h:8443/x?page=2") is None
    True
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (parsing the port is the check)
    except ValueError as exc:
        text = str(exc)
        return "bad port" if "port" in text.lower() else text
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL with a host"
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("["):  # checked here too: Python before 3.11 lets any bracketed text by
        try:
            ipaddress.IPv6Address(host[1 : host.find("]")])
        except ValueError:
            return "Invalid IPv6 URL"
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        return "control characters or spaces in the URL"
    return None


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_insecure(url: str) -> bool:
    """True when a token sent to ``url`` would travel in clear over a network."""
    return urlsplit(url).scheme == "http" and not is_loopback(url)


# ---------------------------------------------------------------------------------------------
# Headers


_LINK_RE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def parse_link_next(header: str | None) -> str | None:
    """The URL of ``rel="next"`` in a ``Link`` header, or None."""
    if not header:
        return None
    for match in _LINK_RE.finditer(header):
        params = match.group(2)
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return match.group(1).strip()
    return None


def _sf_items(value: str) -> list[dict[str, str]]:
    """Split a structured-field list (``"api";r=1;t=2, "x";r=3``) into parameter dicts.

    The bare item (the bucket name, or a string such as ``"fixed window"``) is kept under the
    keys ``""`` (first) and collected under ``"_names"`` joined by ``|``.
    """
    items: list[dict[str, str]] = []
    for raw in value.split(","):
        params: dict[str, str] = {}
        names: list[str] = []
        for piece in raw.split(";"):
            piece = piece.strip()
            if not piece:
                continue
            key, eq, val = piece.partition("=")
            if eq:
                params[key.strip().lower()] = val.strip().strip('"')
            else:
                names.append(piece.strip('"').lower())
        params["_names"] = "|".join(names)
        items.append(params)
    return items


def _pick_bucket(items: list[dict[str, str]], bucket: str) -> dict[str, str] | None:
    for item in items:
        if bucket in item["_names"].split("|"):
            return item
    return items[0] if items else None


# The usual form of a one-bucket header: ``"api";r=999;t=120``.
_ONE_ITEM = re.compile(r'"([^",;]*)";([a-z]+)=([0-9.]+);([a-z]+)=([0-9.]+)')


def _bucket_numbers(value: str, bucket: str, first: str, second: str) -> tuple[float | None, ...]:
    """Two parameters of ``bucket``'s item in a structured-field header, as numbers."""
    one = _ONE_ITEM.fullmatch(value)
    if one is not None and one[1] == bucket and one[2] == first and one[4] == second:
        return (_num(one[3]), _num(one[5]))  # the usual form, read without splitting it
    return _any_bucket_numbers(value, bucket, first, second)


@functools.lru_cache(maxsize=256)
def _any_bucket_numbers(
    value: str, bucket: str, first: str, second: str
) -> tuple[float | None, ...]:
    """:func:`_bucket_numbers` of any header. Cached: a server sends the same
    ``RateLimit-Policy`` on every answer."""
    item = _pick_bucket(_sf_items(value), bucket)
    if item is None:
        return (None, None)
    return (_num(item.get(first)), _num(item.get(second)))


def _num(value: str | None) -> float | None:
    """A finite number, or None: a header value that is not one (``nan``, ``inf``, ``1e400``,
    garbage) is ignored, never raised (logged at DEBUG)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        log.debug("ignoring a header value that is not a finite number: %.40r", value)
        return None
    return number


def _count(value: float | None) -> int | None:
    """A count (>= 0) from a finite number."""
    return None if value is None else max(0, int(value))


# The Hub's usual ``RateLimit`` value: ``"api";r=999;t=120``, in whole numbers. At most nine
# digits each, so they read exactly as they are, with none of :func:`_num`'s checks to make.
_USUAL_RATELIMIT: dict[str, re.Pattern[str]] = {}
"""Bucket -> the pattern of its usual ``RateLimit`` value (made on first use)."""


def _usual_ratelimit(bucket: str) -> re.Pattern[str]:
    """Make (and keep) the pattern of a bucket not seen yet."""
    quoted = re.escape(f'"{bucket}"')
    pattern = _USUAL_RATELIMIT[bucket] = re.compile(quoted + r";r=([0-9]{1,9});t=([0-9]{1,9})")
    return pattern


def parse_ratelimit(
    headers: Mapping[str, str], now: float | None = None, *, bucket: str = "api"
) -> RateLimitInfo:
    """Read ``RateLimit`` and ``RateLimit-Policy`` (IETF draft-09 form, as the Hub sends them).

    Older drafts' ``RateLimit-Remaining`` / ``RateLimit-Reset`` / ``RateLimit-Limit`` are
    understood too (with a small reset value read as seconds, a large one as Unix time).
    It never raises: a value that is not a finite number is left unknown (and the limiter
    ignores values outside sane bounds, see :func:`~hf_access.core.ratelimit.sane_info`).

    >>> parse_ratelimit({"RateLimit": '"api";r=nan;t=1e400', "RateLimit-Policy": '"api";q=inf;w=x'})
    RateLimitInfo(remaining=None, reset_after=None, quota=None, window=None)
    """
    # Fast path, for every answer of the Hub: the usual window numbers and a policy giving
    # the quota (read once per distinct value). Anything else takes the general reading
    # below, which gives the same result for these headers (tests/hub/test_wire.py).
    rl = headers.get(_RATELIMIT)
    pattern = _USUAL_RATELIMIT.get(bucket) or _usual_ratelimit(bucket)
    usual = pattern.fullmatch(rl) if rl else None
    if usual is not None:
        policy = headers.get(_RATELIMIT_POLICY)
        known = _POLICIES.get((policy, bucket))
        quota, window = known if known is not None else _policy(policy, bucket)
        if quota is not None:
            remaining, reset = usual.groups()
            return _make_info(int(remaining), float(reset), quota, window)
    return read_ratelimit(headers, bucket=bucket, now=now)


_RATELIMIT, _RATELIMIT_POLICY = istr("RateLimit"), istr("RateLimit-Policy")  # quicker lookups
_make_info = frozen_builder(RateLimitInfo)  # once per answer: the quick maker

_POLICIES: dict[tuple[str | None, str], tuple[int | None, float | None]] = {}
"""(``RateLimit-Policy`` value, bucket) -> its quota and window: a server sends the same
policy on every answer. Bounded: cleared when full."""


def _policy(value: str | None, bucket: str) -> tuple[int | None, float | None]:
    """The quota and window of ``bucket`` in a ``RateLimit-Policy`` value (remembered)."""
    if not value:
        numbers: tuple[int | None, float | None] = (None, None)
    else:
        quota, window = _bucket_numbers(value, bucket, "q", "w")
        numbers = (_count(quota), window)
    if len(_POLICIES) >= 64:
        _POLICIES.clear()
    _POLICIES[value, bucket] = numbers
    return numbers


def read_ratelimit(
    headers: Mapping[str, str], *, bucket: str = "api", now: float | None = None
) -> RateLimitInfo:
    """:func:`parse_ratelimit` without its fast path: every form, every header looked at."""
    remaining: float | None = None
    reset_after: float | None = None
    quota: float | None = None
    window: float | None = None
    rl = headers.get("RateLimit")
    if rl:
        remaining, reset_after = _bucket_numbers(rl, bucket, "r", "t")
    policy = headers.get("RateLimit-Policy")
    if policy:
        quota, window = _bucket_numbers(policy, bucket, "q", "w")
    if remaining is None:
        remaining = _num(headers.get("RateLimit-Remaining"))
    if reset_after is None:
        raw = _num(headers.get("RateLimit-Reset"))
        if raw is not None:
            current = time.time() if now is None else now
            reset_after = raw - current if raw > 1_000_000_000 else raw
            reset_after = max(0.0, reset_after)
    if quota is None:
        quota = _num(headers.get("RateLimit-Limit"))
    return RateLimitInfo(
        remaining=_count(remaining),
        reset_after=reset_after,
        quota=_count(quota),
        window=window,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date).

    None for anything else (``nan``, ``inf``, garbage, an impossible date): never raises.

    >>> parse_retry_after("7"), parse_retry_after("1e400"), parse_retry_after("soon")
    (7.0, None, None)
    """
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except (ValueError, OverflowError):
        pass
    else:
        if not math.isfinite(number):
            log.debug("ignoring a Retry-After that is not a finite number: %.40r", value)
            return None
        return max(0.0, number)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, OverflowError, OSError, IndexError):
        log.debug("ignoring a Retry-After that is neither seconds nor a date: %.40r", value)
        return None
    current = time.time() if now is None else now
    return max(0.0, when - current)


RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    """Only 408, 429, 500, 502, 503 and 504 are worth retrying (a 501 or 505 never heals).

    >>> [s for s in (408, 429, 500, 501, 502, 503, 504, 505, 520) if is_retryable_status(s)]
    [408, 429, 500, 502, 503, 504]
    """
    return status in RETRY_STATUSES


_NOT_JSON = object()


def error_body(body: bytes) -> tuple[str, Any]:
    """An error body as (its text, stripped; its JSON, or a marker when it is not JSON).

    JSON nested too deep to parse counts as not JSON (never a ``RecursionError``).
    """
    text = body.decode("utf-8", errors="replace").strip()
    try:
        return text, json.loads(text) if text else _NOT_JSON
    except (ValueError, RecursionError):
        return text, _NOT_JSON


EXCERPT_LENGTH = 200
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[^>]*>")
_SCRIPT_RE = re.compile(r"<(script|style)[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def clip(text: str, limit: int = 500) -> str:
    """``text`` cut to ``limit`` characters (a server's message can be of any length).

    >>> clip("abcdef", 4)
    'abc…'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """A short one-line excerpt of a body that is not JSON (an HTML page: its title, else its
    text without tags), at most ``limit`` characters.

    >>> excerpt("<html><head><title>502 Bad Gateway</title></head>\\n<body>...</body></html>")
    '502 Bad Gateway'
    >>> excerpt("x" * 300, 20)
    'xxxxxxxxxxxxxxxxxxx…'
    """
    head = text[: 64 * 1024]
    if head.lstrip().startswith("<"):
        title = _TITLE_RE.search(head)
        if title and title.group(1).strip():
            head = title.group(1)
        else:
            head = _TAG_RE.sub(" ", _SCRIPT_RE.sub(" ", head))
    line = " ".join(head.split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return line or "(no message)"
