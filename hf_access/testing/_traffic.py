"""What the fake Hub counts and limits per call: route counters, windows, faults (pure)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ._faults import FaultInjector, FaultPlan, Faults
from ._limits import DEFAULT_WINDOW, FixedWindows
from ._records import Counters


class Admission:
    """The outcome of :meth:`Traffic.admit` for one call."""

    __slots__ = ("allowed", "plan", "remaining", "reset")

    def __init__(self, allowed: bool, remaining: int, reset: int, plan: FaultPlan) -> None:
        self.allowed = allowed
        self.remaining = remaining
        self.reset = reset
        self.plan = plan


class Traffic:
    """Counts calls per route, applies the fixed windows and draws the faults.

    Thread-safe (one lock), so counters can be read from a test's thread while the
    server runs in another.

    >>> traffic = Traffic(lambda: 0.0, quota=1, window=60)
    >>> [traffic.admit("handle", "alice").allowed for _ in range(2)]
    [True, False]
    >>> traffic.counters().calls
    {'handle': 2}
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        quota: int | None = None,
        window: int = DEFAULT_WINDOW,
        faults: Faults | None = None,
    ) -> None:
        self.clock = clock
        self.batch_enabled = True
        self.windows = FixedWindows(quota, window)
        self._injector = FaultInjector(faults)
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._faults: dict[str, int] = {}
        self._rate_limited = 0

    def admit(self, route: str, identity: str) -> Admission:
        """Count a call to ``route`` by ``identity``, check its window, draw its faults."""
        with self._lock:
            calls = self._calls
            calls[route] = calls.get(route, 0) + 1
            allowed, remaining, reset = self.windows.hit(identity, self.clock())
            plan = self._injector.draw()
            for kind in plan.kinds:
                self._faults[kind] = self._faults.get(kind, 0) + 1
        return Admission(allowed, remaining, reset, plan)

    def count_rate_limited(self) -> None:
        """Record a 429 answer."""
        with self._lock:
            self._rate_limited += 1

    def set_faults(self, faults: Faults | None) -> None:
        """Replace the fault settings; the generator restarts from the seed."""
        with self._lock:
            self._injector = FaultInjector(faults)

    def set_rate_limit(self, quota: int | None, window: int = DEFAULT_WINDOW) -> None:
        """Replace the windows; every count restarts."""
        windows = FixedWindows(quota, window)
        with self._lock:
            self.windows = windows

    def counters(self) -> Counters:
        """A copy of the counters."""
        with self._lock:
            return Counters(dict(self._calls), self._rate_limited, dict(self._faults))

    def reset_counters(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._rate_limited = 0
