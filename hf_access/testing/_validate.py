"""Validation of the fake Hub's query strings and bodies (pure; raise 400 errors).

Messages copy the Hub's style (``* Too big: expected string to have <=200 characters *
at rejectionReason``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from ._index import Key
from ._records import STATUSES, FakeHubError, bad_request, parse_iso_ms

Ident = tuple[str, str]
"""How a body addresses a request: ``("user" | "userId" | "requestId", value)``."""

MAX_REASON = 200
MAX_QUERY = 250
MIN_LIMIT, MAX_LIMIT = 10, 1000
MAX_BATCH = 100

_IDENT_KEYS = ("user", "userId", "requestId")
# The Hub lists the options in this order in its message (FIDELITY.md, validation).
_STATUS_CHOICES = '"accepted"|"rejected"|"pending"|"reset"'
_REASON_KEYS = {"rejected": "rejectionReason", "reset": "resetReason"}


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _expected(kind: str, value: object, at: str) -> FakeHubError:
    return bad_request(f"* Invalid input: expected {kind}, received {_type_name(value)} * at {at}")


def parse_limit(raw: str | None) -> int:
    """The ``limit`` query parameter: 10..1000, default 1000."""
    if raw is None:
        return MAX_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request("* Invalid input: expected number, received NaN * at limit") from None
    if limit < MIN_LIMIT:
        raise bad_request(f"* Too small: expected number to be >={MIN_LIMIT} * at limit")
    if limit > MAX_LIMIT:
        raise bad_request(f"* Too big: expected number to be <={MAX_LIMIT} * at limit")
    return limit


def parse_search(raw: str | None) -> str | None:
    """The ``q`` query parameter, lower-cased (``None`` when absent or empty)."""
    if not raw:
        return None
    if len(raw) > MAX_QUERY:
        raise bad_request(f"* Too big: expected string to have <={MAX_QUERY} characters * at q")
    return raw.lower()


def parse_date(raw: str | None, at: str) -> int | None:
    """An ISO date-time query parameter (``after``, ``before``) as epoch milliseconds."""
    if raw is None or raw == "":
        return None
    try:
        return parse_iso_ms(raw)
    except ValueError:
        raise bad_request(f"* Invalid input: expected ISO date-time * at {at}") from None


def encode_cursor(key: Key) -> str:
    """An opaque cursor for the key of the last item of a page."""
    return base64.urlsafe_b64encode(f"{key[0]}.{key[1]}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> Key | None:
    """Read a cursor made by :func:`encode_cursor`."""
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        ms, seq = text.split(".")
        return int(ms), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("Invalid cursor") from None


def parse_ident(body: Mapping[str, object], keys: tuple[str, ...] = _IDENT_KEYS) -> Ident:
    """Exactly one of ``keys`` (``user``, ``userId``, ``requestId``) must be given."""
    present = [key for key in keys if body.get(key) is not None]
    if len(present) != 1:
        names = ", ".join(keys)
        raise bad_request(f"* Invalid input: expected exactly one of {names}")
    key = present[0]
    value = body[key]
    if not isinstance(value, str):
        raise _expected("string", value, key)
    if not value:
        raise bad_request(f"* Too small: expected string to have >=1 characters * at {key}")
    return key, value


def parse_status(body: Mapping[str, object]) -> str:
    """The target ``status`` of a handle or batch call."""
    status = body.get("status")
    if status not in STATUSES:
        raise bad_request(f"* Invalid option: expected one of {_STATUS_CHOICES} * at status")
    assert isinstance(status, str)
    return status


def parse_reasons(body: Mapping[str, object], status: str) -> str | None:
    """Validate ``rejectionReason`` and ``resetReason``; return the one that fits ``status``.

    A reason that does not fit the target status is validated, then ignored (assumed: FIDELITY.md).
    """
    for key in _REASON_KEYS.values():
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _expected("string", value, key)
        # Counted as JavaScript counts a string's length (UTF-16 code units: an emoji is 2),
        # as the client counts it (assumed: FIDELITY.md).
        if len(value.encode("utf-16-le", "surrogatepass")) // 2 > MAX_REASON:
            raise bad_request(
                f"* Too big: expected string to have <={MAX_REASON} characters * at {key}"
            )
    wanted = _REASON_KEYS.get(status)
    reason = body.get(wanted) if wanted else None
    return reason if isinstance(reason, str) else None


def parse_handle(body: Mapping[str, object]) -> tuple[Ident, str, str | None]:
    """A ``handle`` body: ``(identifier, status, reason)``."""
    ident = parse_ident(body)
    status = parse_status(body)
    return ident, status, parse_reasons(body, status)


def parse_grant(body: Mapping[str, object]) -> Ident:
    """A ``grant`` body: ``user`` or ``userId``."""
    return parse_ident(body, ("user", "userId"))


def parse_batch(body: Mapping[str, object]) -> tuple[str, str | None, list[Ident]]:
    """A ``batch`` body: ``(status, reason, identifiers in input order)``."""
    status = parse_status(body)
    reason = parse_reasons(body, status)
    items = body.get("requests")
    if not isinstance(items, list):
        raise _expected("array", items, "requests")
    if not items:
        raise bad_request("* Too small: expected array to have >=1 items * at requests")
    if len(items) > MAX_BATCH:
        raise bad_request(f"* Too big: expected array to have <={MAX_BATCH} items * at requests")
    idents: list[Ident] = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise _expected("object", item, f"requests.{position}")
        idents.append(parse_ident(item))
    return status, reason, idents


_SETTINGS_CHOICES: dict[str, tuple[object, ...]] = {
    "gated": (False, "auto", "manual"),
    "gatedNotificationsMode": ("bulk", "real-time"),
    "visibility": ("public", "private", "protected"),
    "discussionsSorting": ("recently-created", "trending", "reactions"),
}
_SETTINGS_BOOLS = ("orgMembersGated", "private", "discussionsDisabled")

WRITE_ONLY_SETTINGS = frozenset({"gatedNotificationsMode", "gatedNotificationsEmail"})
"""Settings the Hub accepts but never echoes (FIDELITY.md, settings answers)."""


def parse_settings(body: Mapping[str, object]) -> dict[str, object]:
    """A ``settings`` body: validated values, only the keys that were sent.

    An empty body is valid (the Hub answers ``200 {}``). Unknown keys are refused with
    400 so that a client's typo shows up in tests (assumed: the Hub's own behaviour for
    unknown keys is not recorded).
    """
    values: dict[str, object] = {}
    for key, value in body.items():
        if key in _SETTINGS_CHOICES:
            choices = _SETTINGS_CHOICES[key]
            # `False == 0` in Python: compare types too so that 0 is not taken for false.
            if not any(type(value) is type(c) and value == c for c in choices):
                shown = "|".join("false" if c is False else f'"{c}"' for c in choices)
                raise bad_request(f"* Invalid option: expected one of {shown} * at {key}")
        elif key in _SETTINGS_BOOLS:
            if not isinstance(value, bool):
                raise _expected("boolean", value, key)
        elif key == "gatedNotificationsEmail":
            if not isinstance(value, str) or "@" not in value:
                raise bad_request(f"* Invalid email address * at {key}")
        else:
            raise bad_request(f'* Unrecognized key: "{key}"')
        values[key] = value
    return values
