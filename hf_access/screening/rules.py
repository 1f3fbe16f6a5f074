"""The parts of screening policies: predicates, verdicts and rules (pure, no I/O).

See :mod:`hf_access.screening.policy` for how a policy puts them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs

from ..hub.models import AccessRequest
from ..hub.wire import validate_reason

__all__ = [
    "Combined",
    "DecideWith",
    "EmailDomains",
    "FormAnswers",
    "Lookup",
    "Not",
    "PolicyDecision",
    "Predicate",
    "Rule",
    "RuleLike",
    "Users",
    "Verdict",
    "VerifiedOrgs",
    "accept",
    "email_domains",
    "form",
    "hold",
    "lookup",
    "reject",
    "reset",
    "users",
    "verified_orgs",
]

log = logging.getLogger("hf_access.screening")
MAX_REASON = 200
DEFAULT_LOOKUP_TIMEOUT = 10.0
_TICKED = frozenset({"true", "yes", "y", "on", "1", "checked", "x"})


class PolicyDecision(str, enum.Enum):
    """What a policy does to a request. ``hold`` leaves it pending and sends nothing."""

    ACCEPT = "accept"
    REJECT = "reject"
    RESET = "reset"
    HOLD = "hold"

    @classmethod
    def parse(cls, value: PolicyDecision | str) -> PolicyDecision:
        if isinstance(value, PolicyDecision):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(
                f"unknown decision {value!r}: use accept, reject, reset or hold"
            ) from None


def _decision(value: PolicyDecision | str) -> PolicyDecision:
    return PolicyDecision.parse(value)


def _check_reason(_: object, __: attrs.Attribute[str | None], value: str | None) -> None:
    validate_reason(value)  # counted in UTF-16 code units, as the Hub counts


@attrs.frozen
class Verdict:
    """A decision, its reason (sent to the user for reject/reset) and the rule that made it.

    The Hub takes no reason with an accept, so an accept with a reason is refused here, when
    the policy is built, rather than on every pass (``hold`` may carry one: it is only
    written to the audit log).

    >>> Verdict("accept", "looks fine")
    Traceback (most recent call last):
    ...
    ValueError: accept takes no reason (the Hub sends none with an accept): 'looks fine'
    """

    decision: PolicyDecision = attrs.field(converter=_decision)
    reason: str | None = attrs.field(default=None, validator=_check_reason)
    rule: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.decision is PolicyDecision.ACCEPT and self.reason is not None:
            raise ValueError(
                f"accept takes no reason (the Hub sends none with an accept): {self.reason!r}"
            )


def accept(reason: None = None) -> Verdict:
    """Accept. The Hub takes no reason with an accept: giving one is a ValueError."""
    return Verdict(PolicyDecision.ACCEPT, reason)


def reject(reason: str | None = None) -> Verdict:
    """Reject; the user cannot ask again. ``reason`` (<= 200 chars) is sent to the Hub."""
    return Verdict(PolicyDecision.REJECT, reason)


def reset(reason: str | None = None) -> Verdict:
    """Reset; the user must ask again. ``reason`` (<= 200 chars) is e-mailed by the Hub."""
    return Verdict(PolicyDecision.RESET, reason)


def hold(reason: str | None = None) -> Verdict:
    """Leave the request pending for a human (nothing is sent)."""
    return Verdict(PolicyDecision.HOLD, reason)


# -- conditions ---------------------------------------------------------------------------------


class Predicate:
    """A condition on a request; combine with ``&``, ``|`` and ``~``."""

    async def test(self, request: AccessRequest, repo_id: str) -> bool:
        raise NotImplementedError

    def __and__(self, other: Predicate) -> Predicate:
        return Combined((self, other), need_all=True)

    def __or__(self, other: Predicate) -> Predicate:
        return Combined((self, other), need_all=False)

    def __invert__(self) -> Predicate:
        return Not(self)


def _norm(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in values if v.strip())


def _domains(values: Iterable[str]) -> frozenset[str]:
    return _norm(v.strip().removeprefix("*.").lstrip("@") for v in values)


def _strs(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _preds(values: Iterable[Predicate]) -> tuple[Predicate, ...]:
    return tuple(values)


@attrs.frozen
class Users(Predicate):
    names: frozenset[str] = attrs.field(converter=_norm)

    async def test(self, request: AccessRequest, repo_id: str) -> bool:
        return bool(request.username) and str(request.username).casefold() in self.names


@attrs.frozen
class EmailDomains(Predicate):
    """The e-mail's domain is one of ``domains`` or a subdomain of one (no e-mail: false)."""

    domains: frozenset[str] = attrs.field(converter=_domains)

    async def test(self, request: AccessRequest, repo_id: str) -> bool:
        if not request.email or "@" not in request.email:
            return False
        domain = request.email.rpartition("@")[2].strip().casefold()
        return any(domain == d or domain.endswith("." + d) for d in self.domains)


@attrs.frozen
class VerifiedOrgs(Predicate):
    orgs: frozenset[str] = attrs.field(converter=_norm)

    async def test(self, request: AccessRequest, repo_id: str) -> bool:
        return any(org.casefold() in self.orgs for org in request.verified_orgs)


def _field(fields: Mapping[str, object], name: str) -> object:
    if name in fields:
        return fields[name]
    wanted = name.strip().casefold()
    for key, value in fields.items():
        if key.strip().casefold() == wanted:
            return value
    return None


def _ticked(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, (int, str)) and str(value).strip().casefold() in _TICKED


def _choices(mapping: Mapping[str, Iterable[str]]) -> Mapping[str, frozenset[str]]:
    return {field: _norm(values) for field, values in mapping.items()}


@attrs.frozen
class FormAnswers(Predicate):
    """The gate form was answered as required (field names match case-insensitively).

    ``checked``: checkboxes that must be ticked; ``one_of``: ``{field: allowed answers}``
    (a multi-select must pick only allowed answers); ``not_in``: ``{field: refused answers}``
    (the field must be answered, e.g. a country not in a list). All must hold.
    """

    checked: tuple[str, ...] = attrs.field(default=(), converter=_strs)
    one_of: Mapping[str, frozenset[str]] = attrs.field(factory=dict, converter=_choices)
    not_in: Mapping[str, frozenset[str]] = attrs.field(factory=dict, converter=_choices)

    async def test(self, request: AccessRequest, repo_id: str) -> bool:
        fields = request.fields
        if not all(_ticked(_field(fields, name)) for name in self.checked):
            return False
        for name, allowed in self.one_of.items():
            value = _field(fields, name)
            picked = value if isinstance(value, (list, tuple)) else [value]
            answers = [str(v).strip().casefold() for v in picked if v is not None]
            if not answers or any(a not in allowed for a in answers):
                return False
        for name, refused in self.not_in.items():
            value = _field(fields, name)
            answer = "" if value is None else str(value).strip().casefold()
            if not answer or answer in refused:
                return False
        return True


LookupFn = Callable[[AccessRequest, str], "Awaitable[object] | object"]


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a daemon thread of its own, so a blocking call cannot freeze the loop.

    A thread still blocked when its caller gives up (the timeout) is left behind; being a
    daemon, it never keeps the process (or ``asyncio.run``'s shutdown) waiting.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the caller gave up (timeout or cancel)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as exc:  # handed to the awaiting task, not lost in the thread
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="hf-access-lookup", daemon=True).start()
    return await future


async def _call(fn: Callable[..., Any], timeout: float, request: AccessRequest, repo: str) -> Any:
    """``fn(request, repo)`` under ``timeout``: awaited when async, else run in a thread
    (a blocking lookup cannot freeze the event loop, and its timeout applies)."""

    async def run() -> Any:
        result = fn(request, repo) if _is_async(fn) else await _in_thread(fn, request, repo)
        if inspect.isawaitable(result):
            result = await result
        return result

    return await asyncio.wait_for(run(), timeout)


@attrs.frozen
class Lookup(Predicate):
    """An outside check: ``fn(request, repo_id)`` (async or not) returning a truth value.

    If it raises or takes longer than ``timeout`` seconds, the rule holds the request.
    """

    fn: LookupFn
    timeout: float = DEFAULT_LOOKUP_TIMEOUT

    async def test(self, request: AccessRequest, repo_id: str) -> bool:
        return bool(await _call(self.fn, self.timeout, request, repo_id))


@attrs.frozen
class Combined(Predicate):
    """Every part holds (``need_all``), or any part does; parts are tested in order, lazily."""

    parts: tuple[Predicate, ...] = attrs.field(converter=_preds)
    need_all: bool = True

    async def test(self, request: AccessRequest, repo_id: str) -> bool:
        for part in self.parts:
            if await part.test(request, repo_id) != self.need_all:
                return not self.need_all
        return self.need_all


@attrs.frozen
class Not(Predicate):
    part: Predicate

    async def test(self, request: AccessRequest, repo_id: str) -> bool:
        return not await self.part.test(request, repo_id)


def _read_list(path: str | Path) -> list[str]:
    """One entry a line; blank lines and ``#`` comments are skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def users(names: Iterable[str] = (), *, file: str | Path | None = None) -> Predicate:
    """The requester is one of ``names`` (case-insensitive), or listed in ``file``."""
    return Users([*names, *(_read_list(file) if file else [])])


def email_domains(domains: Iterable[str] = (), *, file: str | Path | None = None) -> Predicate:
    """The requester's e-mail is at one of ``domains`` or their subdomains."""
    return EmailDomains([*domains, *(_read_list(file) if file else [])])


def verified_orgs(orgs: Iterable[str]) -> Predicate:
    """The requester belongs to one of the verified organisations ``orgs``."""
    return VerifiedOrgs(orgs)


def form(
    *,
    checked: Iterable[str] = (),
    one_of: Mapping[str, Iterable[str]] | None = None,
    not_in: Mapping[str, Iterable[str]] | None = None,
) -> Predicate:
    """The gate form was answered as required (see :class:`FormAnswers`)."""
    return FormAnswers(tuple(checked), one_of or {}, not_in or {})


def lookup(fn: LookupFn, *, timeout: float = DEFAULT_LOOKUP_TIMEOUT) -> Predicate:
    """An outside check as a condition (see :class:`Lookup`)."""
    return Lookup(fn, timeout)


# -- rules and the policy -----------------------------------------------------------------------


class RuleLike(Protocol):
    """Anything with a ``name`` that returns a verdict when it matches, ``None`` otherwise."""

    @property
    def name(self) -> str: ...

    async def apply(self, request: AccessRequest, repo_id: str) -> Verdict | None: ...


@attrs.frozen
class Rule:
    """When ``when`` holds, decide ``then``."""

    name: str
    when: Predicate
    then: Verdict

    async def apply(self, request: AccessRequest, repo_id: str) -> Verdict | None:
        if await self.when.test(request, repo_id):
            return attrs.evolve(self.then, rule=self.name)
        return None


@attrs.frozen
class DecideWith:
    """An outside service decides: ``fn(request, repo_id)`` returns a :class:`Verdict`
    (or ``None``: no opinion, the next rule is tried). Failure or timeout: hold."""

    name: str
    fn: Callable[[AccessRequest, str], Awaitable[Verdict | None]]
    timeout: float = DEFAULT_LOOKUP_TIMEOUT

    async def apply(self, request: AccessRequest, repo_id: str) -> Verdict | None:
        result = await _call(self.fn, self.timeout, request, repo_id)
        if result is None:
            return None
        if not isinstance(result, Verdict):
            raise TypeError(f"expected a Verdict or None, got {type(result).__name__}")
        return attrs.evolve(result, rule=self.name)


def _failure_reason(name: str, exc: BaseException) -> str:
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        text = f"rule {name!r} timed out"
    else:
        text = f"rule {name!r} failed: {type(exc).__name__}: {exc}"
    return text[:MAX_REASON]


def _rules(values: Iterable[RuleLike]) -> tuple[RuleLike, ...]:
    return tuple(values)
