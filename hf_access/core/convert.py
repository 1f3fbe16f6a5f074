"""The strict cattrs base every provider's converter starts from, and the wire's time format.

Strict means a JSON value of the wrong type is refused (``"1"`` is no integer, ``1`` is no
string, ``true`` is no number) instead of being coerced; a provider adds its own records' hooks
on top. Failures become a :class:`~hf_access.core.errors.DecodeError` that names the field.

>>> format_time(parse_time("2026-10-05T13:33:43.123Z"))
'2026-10-05T13:33:43.123Z'
"""

from __future__ import annotations

import enum
import keyword
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import DecodeError

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "decode",
    "format_time",
    "frozen_builder",
    "json_kind",
    "make_strict_converter",
    "parse_enum",
    "parse_time",
    "plain_twin",
]

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)


def frozen_builder(cls: type[T]) -> Callable[..., T]:
    """A quicker maker of ``cls``'s records, for a frozen, slotted attrs class built by the
    thousand from values already checked (a list page's records): every field by position.

    A frozen class's ``__init__`` stores each field through ``object.__setattr__``, about 60
    ns a field. The builder makes the record as an instance of :func:`plain_twin`'s subclass,
    which stores the fields with plain assignments, then gives it ``cls`` itself
    (``__class__`` assignment, which Python allows between a class and a subclass of the same
    layout). What comes out is a record of ``cls`` in every respect: its type, equality, hash,
    repr, weak references and immutability.

    Where that cannot be done, ``cls`` itself is returned: a class without slots, or with a
    field that has a validator, a converter or no ``__init__`` argument, or an
    ``__attrs_pre_init__`` / ``__attrs_post_init__`` (the subclass would skip what they do).

    >>> import attrs
    >>> @attrs.frozen
    ... class Point:
    ...     x: int
    ...     y: int
    >>> point = frozen_builder(Point)(1, 2)
    >>> point, type(point) is Point, point == Point(1, 2)
    (Point(x=1, y=2), True, True)
    """
    import attrs

    fields = attrs.fields(cls)  # type: ignore[arg-type]
    if (
        any(f.validator or f.converter or not f.init for f in fields)
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
    ):
        return cls
    maker = plain_twin(cls)
    if maker is None:
        return cls

    def build(*values: Any) -> T:
        record = maker(*values)
        record.__class__ = cls
        return record

    return build


def plain_twin(cls: type[T]) -> type[T] | None:
    """A subclass of a slotted attrs class that adds no slot, whose ``__init__`` takes every
    field by position and stores each with a plain assignment (no validator, converter or
    hook runs: for values already checked); None for a class without slots.

    Its instances are meant to be given ``cls`` (``record.__class__ = cls``) once made: see
    :func:`frozen_builder`, and :class:`~hf_access.core.outcomes.RecordMaker`, which makes
    records by the thousand this way.
    """
    import attrs

    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    if "__slots__" not in cls.__dict__ or not all(
        name.isidentifier() and not keyword.iskeyword(name) for name in names
    ):
        return None
    # Straight-line assignments, as attrs writes the __init__ of a class that is not frozen:
    # with the plain setattr below, each one stores into its slot without a call.
    source = f"def __init__(self, {', '.join(names)}):\n" + "".join(
        f"    self.{name} = {name}\n" for name in names
    )
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # the field names were checked as identifiers above
    return type(
        cls.__name__,
        (cls,),
        {
            "__slots__": (),
            "__init__": namespace["__init__"],
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": cls.__module__,
        },
    )


def parse_time(value: str) -> datetime:
    """``2026-10-05T13:33:43.123Z`` (any ISO 8601 form) -> an aware datetime in UTC."""
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO date-time string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    """An aware datetime -> ISO 8601 in UTC with milliseconds and ``Z`` (the Hub's form)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


_LOOKUPS: dict[type[enum.Enum], dict[str, enum.Enum]] = {}


def parse_enum(cls: type[E], value: object, what: str, aliases: Mapping[str, E] | None = None) -> E:
    """A member of ``cls`` from itself, its value (any case) or an alias; else ValueError.

    One dict lookup per call: the table of each enum (values and aliases) is built once.

    >>> class Color(str, enum.Enum):
    ...     RED = "red"
    >>> parse_enum(Color, " Red ", "color")
    <Color.RED: 'red'>
    """
    if isinstance(value, cls):
        return value
    table = _LOOKUPS.get(cls)
    if table is None:
        table = {str(m.value).lower(): m for m in cls}
        _LOOKUPS[cls] = table
    text = str(value).strip().lower()
    member = table.get(text)
    if member is not None:
        return member  # type: ignore[return-value]
    if aliases and text in aliases:
        return aliases[text]
    allowed = ", ".join(str(m.value) for m in cls)
    raise ValueError(f"unknown {what} {value!r}: expected one of {allowed}")


def json_kind(data: Any) -> str:
    """How an error message names a JSON value's type (``null``, ``dict``, ``list``...)."""
    return "null" if data is None else type(data).__name__


def _strict(kind: type[Any], label: str) -> Any:
    def hook(value: Any, _: Any) -> Any:
        # bool is an int subclass: refuse it where an integer is expected.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {label}, got {json_kind(value)}")
        return value

    return hook


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _enum_hook(enum_type: type[enum.Enum]) -> Callable[[Any, Any], Any]:
    parse: Callable[[Any], Any] | None = getattr(enum_type, "parse", None)
    if parse is not None:
        own = parse
        return lambda value, _: own(value)
    return lambda value, _: parse_enum(enum_type, value, enum_type.__name__)


def make_strict_converter(*enums: type[enum.Enum]) -> cattrs.Converter:
    """A converter that ignores unknown keys, refuses wrong types, and reads/writes times.

    ``enums`` are parsed with their own ``parse`` classmethod where they have one (else
    :func:`parse_enum`) and unstructured to their values (each is named: a hook on
    ``enum.Enum`` would lose to the ``str`` hook for ``str``-based enums).
    """
    import cattrs  # imported on first use: import hf_access stays cheap

    conv = cattrs.Converter(forbid_extra_keys=False)
    for enum_type in enums:
        conv.register_structure_hook(enum_type, _enum_hook(enum_type))
        conv.register_unstructure_hook(enum_type, _enum_value)
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(int, _strict(int, "an integer"))
    conv.register_structure_hook(bool, _strict(bool, "a boolean"))
    conv.register_structure_hook(datetime, lambda v, _: parse_time(v))
    conv.register_unstructure_hook(datetime, format_time)
    return conv


def decode(conv: cattrs.Converter, data: Any, cls: type[T], what: str, server: str) -> T:
    """Structure ``data`` as ``cls``; a :class:`DecodeError` naming ``what`` and the field."""
    import cattrs

    try:
        return conv.structure(data, cls)
    except Exception as exc:  # cattrs raises ClassValidationError/IterableValidationError
        if isinstance(exc, cattrs.BaseValidationError):
            details = "; ".join(cattrs.transform_error(exc, path=what))
        else:
            details = str(exc)
        raise DecodeError(f"unexpected {what} from {server}: {details}") from None
