"""Fault injection settings and the seeded decisions taken for each request."""

from __future__ import annotations

import random
from typing import Any

import attrs


def _rate(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


def _latency(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    low, high = value if isinstance(value, tuple) else (value, value)
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and 0 <= low <= high):
        raise ValueError(f"latency_ms must be >= 0 or a (low, high) range, got {value!r}")


def _statuses(
    _: object, attribute: attrs.Attribute[tuple[int, ...]], value: tuple[int, ...]
) -> None:
    if not value or any(not 500 <= status <= 599 for status in value):
        raise ValueError(f"error_statuses must be 5xx statuses, got {value!r}")


@attrs.frozen
class Faults:
    """What can go wrong, on purpose, with every request the fake Hub receives.

    * ``latency_ms``: added to every answer, fixed (``20``) or drawn from a range
      (``(5, 50)``).
    * ``error_rate``: probability of answering one of ``error_statuses`` (chosen at random)
      instead of handling the request; the state is left untouched.
    * ``drop_rate``: probability of closing the connection without answering, before the
      request is handled (nothing changes).
    * ``drop_after_rate``: probability of handling the request (its change is applied)
      and then closing the connection without answering: the answer is lost after the
      Hub acted, so the client cannot tell from the wire whether its call landed.
    * ``slow_rate``: probability of answering normally but ``slow_ms`` later.
    * ``seed``: seeds the :class:`random.Random` behind every draw, so a run is
      reproducible.

    >>> Faults(error_rate=0.1, latency_ms=(1, 5), seed=42).error_statuses
    (500, 502, 503)
    """

    latency_ms: float | tuple[float, float] = attrs.field(default=0.0, validator=_latency)
    error_rate: float = attrs.field(default=0.0, validator=_rate)
    error_statuses: tuple[int, ...] = attrs.field(default=(500, 502, 503), validator=_statuses)
    drop_rate: float = attrs.field(default=0.0, validator=_rate)
    slow_rate: float = attrs.field(default=0.0, validator=_rate)
    slow_ms: float = 2000.0
    seed: int = 0
    drop_after_rate: float = attrs.field(default=0.0, validator=_rate, kw_only=True)

    @property
    def active(self) -> bool:
        """Whether any fault can happen at all."""
        rates = (self.error_rate, self.drop_rate, self.drop_after_rate, self.slow_rate)
        return bool(self.latency_ms) or any(rates)


@attrs.frozen
class FaultPlan:
    """The faults drawn for one request."""

    delay_s: float = 0.0
    drop: bool = False
    error_status: int | None = None
    drop_after: bool = False
    kinds: tuple[str, ...] = ()


NO_FAULT = FaultPlan()


class FaultInjector:
    """Draws a :class:`FaultPlan` per request from a seeded generator.

    Draws happen in a fixed order (latency, drop, error, drop after, slow) and only for
    the faults that are enabled, so the same settings and seed give the same sequence.

    >>> injector = FaultInjector(Faults(error_rate=1.0, error_statuses=(503,)))
    >>> injector.draw().error_status
    503
    """

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)

    def draw(self) -> FaultPlan:
        """Decide the faults of the next request."""
        faults = self.faults
        if not faults.active:
            return NO_FAULT
        rng = self._rng
        kinds: list[str] = []
        delay_ms = 0.0
        latency = faults.latency_ms
        if isinstance(latency, tuple):
            delay_ms = rng.uniform(latency[0], latency[1])
        else:
            delay_ms = float(latency)
        if delay_ms:
            kinds.append("latency")
        if faults.drop_rate and rng.random() < faults.drop_rate:
            kinds.append("drop")
            return FaultPlan(delay_s=delay_ms / 1000, drop=True, kinds=tuple(kinds))
        if faults.error_rate and rng.random() < faults.error_rate:
            status = rng.choice(faults.error_statuses)
            kinds.append(f"error_{status}")
            return FaultPlan(delay_s=delay_ms / 1000, error_status=status, kinds=tuple(kinds))
        drop_after = bool(faults.drop_after_rate) and rng.random() < faults.drop_after_rate
        if drop_after:
            kinds.append("drop_after")
        if faults.slow_rate and rng.random() < faults.slow_rate:
            kinds.append("slow")
            delay_ms += faults.slow_ms
        return FaultPlan(delay_s=delay_ms / 1000, drop_after=drop_after, kinds=tuple(kinds))
