"""A clock that tests move by hand, for :class:`FakeHub`'s ``clock`` argument."""

from __future__ import annotations


class ManualClock:
    """Epoch seconds that change only when told to: timestamps and rate-limit windows
    become predictable, and no test has to sleep.

    >>> clock = ManualClock(1_800_000_000.0)
    >>> clock()
    1800000000.0
    >>> clock.advance(1.5)
    >>> clock()
    1800000001.5
    """

    __slots__ = ("now",)

    def __init__(self, start: float = 1_791_286_200.0) -> None:
        self.now = float(start)  # default: 2026-10-06T11:30:00Z, on a 5-minute boundary

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds``."""
        self.now += seconds

    def __repr__(self) -> str:
        return f"ManualClock({self.now!r})"
