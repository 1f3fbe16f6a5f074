"""The list page's fast path and the converter agree: same records, same errors."""

from __future__ import annotations

import copy
import pickle
import sys
import weakref
from typing import Any

import attrs
import pytest

from hf_access import AccessRequest, DecodeError
from hf_access.core.convert import frozen_builder
from hf_access.hub import convert
from hf_access.hub.convert import decode_requests

ITEM: dict[str, Any] = {
    "requestId": "654000020000000000000001",
    "user": {
        "_id": "654000010000000000000002",
        "user": "alice",
        "fullname": "Alice A",
        "avatarUrl": "/avatars/a.svg",
        "isPro": False,
        "type": "user",
        "verifiedOrgNames": ["acme"],
        "email": "alice@example.org",
    },
    "timestamp": "2026-10-05T13:33:43.123Z",
    "reviewedAt": "2026-10-06T08:00:00+02:00",
    "grantedBy": {"user": "owner", "fullname": "The Owner"},
    "status": "accepted",
    "fields": {"Company": "ACME"},
}


def converter_only(page: Any) -> list[Any]:
    """What the cattrs converter alone reads from ``page`` (the path taken on a failure)."""
    wires = convert._decode(page, list[convert._WireRequest], "list page")
    return [convert._request_from_wire(w) for w in wires]


def variant(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    item = copy.deepcopy(ITEM)
    target = item
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return item


GOOD = [
    ITEM,
    {"requestId": "r1", "status": "pending"},
    {"requestId": "r1", "status": "pending", "user": None, "fields": {}},
    variant(("user", "verifiedOrgNames"), KeyError),
    variant(("user",), {}),
    variant(("timestamp",), "2026-10-05T13:33:43Z"),
    variant(("timestamp",), "2026-10-05T15:33:43.123+02:00"),
    variant(("status",), " Pending "),  # only the converter reads this one
    variant(("grantedBy",), None),
    {**ITEM, "somethingNew": [1, 2]},
]


@pytest.mark.parametrize("item", GOOD)
def test_fast_path_builds_what_the_converter_builds(item: dict[str, Any]) -> None:
    assert decode_requests([item, ITEM]) == converter_only([item, ITEM])


BAD = [
    (("status",), KeyError, "status"),
    (("status",), "approved", "status"),
    (("status",), ["pending"], "status"),
    (("requestId",), 42, "request_id"),
    (("user",), "alice", r"\[1\]\.user"),
    (("user", "user"), 7, "user"),
    (("user", "isPro"), "no", "is_pro"),
    (("user", "verifiedOrgNames"), None, "verified_org_names"),
    (("user", "verifiedOrgNames"), [1], "verified_org_names"),
    (("timestamp",), 1_700_000_000, "timestamp"),
    (("timestamp",), "2026-13-45T00:00:00.000Z", "timestamp"),
    (("reviewedAt",), "yesterday", "reviewed_at"),
    (("grantedBy",), "owner", "granted_by"),
    (("grantedBy", "user"), 3, "granted_by.user"),
    (("fields",), ["Company"], "fields"),
]


@pytest.mark.parametrize(("path", "value", "field"), BAD)
def test_a_wrong_shape_is_a_decode_error_naming_the_field(
    path: tuple[str, ...], value: Any, field: str
) -> None:
    page = [ITEM, variant(path, value)]
    with pytest.raises(DecodeError, match=field) as info:
        decode_requests(page)
    assert "list page" in str(info.value)
    assert "[1]" in str(info.value)  # the item's position in the page


def test_records_without_a_form_share_one_read_only_mapping() -> None:
    first, second = decode_requests([{"requestId": "a", "status": "pending"}] * 2)
    assert first.fields == {}
    assert first.fields is second.fields
    with pytest.raises(TypeError):
        first.fields["x"] = 1  # type: ignore[index]


def test_a_form_is_copied_not_shared_with_the_page() -> None:
    page = [copy.deepcopy(ITEM)]
    (record,) = decode_requests(page)
    page[0]["fields"]["Company"] = "changed"
    assert record.fields == {"Company": "ACME"}


def test_fast_records_are_the_frozen_class_own_in_every_respect() -> None:
    """The fast path makes its records through a mutable twin given the frozen class: they
    must be indistinguishable from records the class makes itself."""
    (fast,) = decode_requests([ITEM])
    (slow,) = converter_only([ITEM])
    assert type(fast) is AccessRequest
    assert type(slow) is AccessRequest
    assert fast == slow
    assert repr(fast) == repr(slow)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.username = "mallory"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        fast.extra = 1  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(fast)) == fast
    assert copy.copy(fast) == fast
    assert attrs.evolve(fast, username="bob").username == "bob"
    assert attrs.asdict(fast) == attrs.asdict(slow)
    assert sys.getsizeof(fast) == sys.getsizeof(slow)
    assert weakref.ref(fast)() is fast


@attrs.frozen
class _Point:
    x: int
    y: int = 0


def test_frozen_builder_makes_what_the_class_makes() -> None:
    build = frozen_builder(_Point)
    assert build is not _Point
    point = build(1, 2)
    assert type(point) is _Point
    assert point == _Point(1, 2)
    assert hash(point) == hash(_Point(1, 2))
    assert weakref.ref(point)() is point
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del point.x
    with pytest.raises(TypeError):
        build(1)  # every field, by position


@attrs.frozen
class _Validated:
    x: int = attrs.field(validator=attrs.validators.gt(0))


@attrs.frozen
class _Converted:
    x: int = attrs.field(converter=int)


@attrs.frozen
class _Derived:
    x: int
    y: int = attrs.field(init=False, default=0)


@attrs.frozen
class _PostInit:
    x: int

    def __attrs_post_init__(self) -> None:
        pass


@attrs.frozen(slots=False)
class _NoSlots:
    x: int


@pytest.mark.parametrize("cls", [_Validated, _Converted, _Derived, _PostInit, _NoSlots])
def test_frozen_builder_leaves_a_class_it_cannot_copy_to_the_class(cls: type) -> None:
    """Where the quick maker would skip a check or a hook, the class itself is used."""
    assert frozen_builder(cls) is cls
