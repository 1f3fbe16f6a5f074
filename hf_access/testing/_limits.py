"""Fixed-window rate limiting, as the Hub counts its ``api`` bucket (pure, no I/O)."""

from __future__ import annotations

import math

UNLIMITED_QUOTA = 1_000_000
"""The quota advertised in the ``RateLimit`` headers when no quota is enforced.

Large enough that a client which paces itself from the headers never slows down, while
the headers keep the Hub's shape (a client must always find them).
"""

DEFAULT_WINDOW = 300
"""The Hub's window: five minutes."""

_ADVICE = (
    "Upgrade to a PRO user or Team/Enterprise organization account (https://hf.co/pricing) "
    "to get higher limits. See https://huggingface.co/docs/hub/rate-limits"
)


class FixedWindows:
    """Counts calls per key (a user name, or ``ip:<address>``) in windows of ``window`` s.

    Windows are aligned on multiples of ``window`` seconds since the epoch, so a test
    that controls the clock knows exactly when a window ends. ``quota=None`` counts
    but never refuses, and advertises :data:`UNLIMITED_QUOTA`.

    >>> windows = FixedWindows(quota=2, window=60)
    >>> [windows.hit("alice", now=120.0)[0] for _ in range(3)]
    [True, True, False]
    >>> windows.hit("alice", now=180.0)
    (True, 1, 60)
    """

    __slots__ = ("_counts", "enforced", "quota", "window")

    def __init__(self, quota: int | None = None, window: int = DEFAULT_WINDOW) -> None:
        if quota is not None and quota < 1:
            raise ValueError(f"quota must be at least 1, got {quota}")
        if window < 1:
            raise ValueError(f"window must be at least 1 second, got {window}")
        self.enforced = quota is not None
        self.quota = quota if quota is not None else UNLIMITED_QUOTA
        self.window = window
        self._counts: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, now: float) -> tuple[bool, int, int]:
        """Count one call for ``key``; return ``(allowed, remaining, seconds_to_reset)``.

        A refused call is not counted.
        """
        window = self.window
        start = now - (now % window)
        previous = self._counts.get(key)
        count = previous[1] if previous is not None and previous[0] == start else 0
        reset = max(1, math.ceil(start + window - now))
        if count >= self.quota and self.enforced:
            return False, 0, reset
        count += 1
        self._counts[key] = (start, count)
        return True, max(0, self.quota - count), reset

    def message(self) -> str:
        """The 429 message, worded as the Hub's (FIDELITY.md, rate limits).

        >>> print(FixedWindows(quota=1000).message())  # doctest: +NORMALIZE_WHITESPACE
        We had to rate limit you, you hit the quota of 1000 api requests per 5 minutes
        period. Upgrade to a PRO user or Team/Enterprise organization account
        (https://hf.co/pricing) to get higher limits. See
        https://huggingface.co/docs/hub/rate-limits
        """
        if self.window % 60 == 0:
            minutes = self.window // 60
            span = f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
        else:
            span = f"{self.window} seconds"
        return (
            f"We had to rate limit you, you hit the quota of {self.quota} api requests per "
            f"{span} period. {_ADVICE}"
        )
