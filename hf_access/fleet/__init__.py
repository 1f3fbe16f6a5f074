"""A fleet on one token: a quota and a leader shared through Redis (``pip install 'hf-access[redis]'``).

* :class:`RedisRateLimiter` keeps one token's window in Redis, so every process that passes it
  as ``AccessSession(limiter=...)`` (or ``GitLabSession(limiter=...)``) spends the same quota,
  learns from every answer and pauses together on a 429.
* :class:`RedisCoordinator` elects one leader among the replicas of a service, with a renewed
  lease and fencing tokens, and keeps the leader's position and intents in Redis for whoever
  takes over.

Both run their logic as Lua scripts inside Redis (Valkey works too), one round trip per step,
on Redis's clock. This package builds only on the core of hf-access.
"""

from __future__ import annotations

from ._redis import FleetError, LeadershipLost
from .coordinator import RedisCoordinator
from .limiter import FleetLimiterStats, RedisRateLimiter

__all__ = [
    "FleetError",
    "FleetLimiterStats",
    "LeadershipLost",
    "RedisCoordinator",
    "RedisRateLimiter",
]
