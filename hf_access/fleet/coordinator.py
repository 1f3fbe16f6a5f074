"""RedisCoordinator: one leader among the replicas of a service, with fencing.

Replicas that share a ``name`` compete for one lease in Redis. The holder is the leader: it
renews the lease every third of ``lease_ttl`` while it runs, and is the only one that may
write the shared position and intents. Each time the lease changes hands a counter in Redis
gives the new holder a larger **fencing token**; every write the leader makes goes through a
script that first checks the lease still carries its token, so a leader that was paused (or
cut off) past its lease cannot overwrite what its successor did::

    coordinator = RedisCoordinator.from_url("redis://localhost:6379/0", name="screening")
    async with coordinator:
        token = await coordinator.lead()          # waits while another replica leads
        position = await coordinator.load_position()
        await coordinator.begin("batch-17", {"users": ["alice"]})
        ...                                       # make the call, only while is_leader
        await coordinator.finish("batch-17", position={"cursor": "..."})

A leader that cannot renew (Redis away, lease taken) stops being the leader at once:
:attr:`is_leader` turns false before its lease could have run out anywhere, and the fenced
writes raise :class:`LeadershipLost`. Intents left by a leader that died stay in Redis for its
successor (:meth:`intents`) to settle.

The fencing counter, position and intents live as long as Redis keeps its data: run it with
persistence (``appendonly yes``) when the position must survive a restart of Redis itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _scripts
from ._redis import FleetError, LeadershipLost, describe_url, holder_id, open_client

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["RedisCoordinator"]

log = logging.getLogger("hf_access.fleet")


def _redis_failure(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, (RedisError, OSError, asyncio.TimeoutError, TimeoutError))


class RedisCoordinator:
    """Leader election with a renewed lease and fencing tokens, plus the leader's shared state.

    Args:
        client: a ``redis.asyncio.Redis`` (``decode_responses=True``); :meth:`from_url` opens one.
        name: the fleet's name; replicas with the same name elect one leader.
        lease_ttl: seconds the lease lasts without renewal (a crashed leader is replaced
            within this time).
        renew_every: seconds between renewals (a third of ``lease_ttl`` by default).
        holder: this replica's name (unique by default: host, pid and a random part).
        clock: monotonic seconds (the local deadline of the lease).
        owns_client: close ``client`` in :meth:`aclose`.
    """

    def __init__(
        self,
        client: Redis,
        *,
        name: str,
        lease_ttl: float = 5.0,
        renew_every: float | None = None,
        holder: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        owns_client: bool = False,
        description: str = "redis",
    ) -> None:
        if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
            raise ValueError(f"name must be a non-empty name without spaces, got {name!r}")
        if lease_ttl <= 0:
            raise ValueError("lease_ttl must be positive")
        renew_every = lease_ttl / 3 if renew_every is None else renew_every
        if not 0 < renew_every < lease_ttl:
            raise ValueError("renew_every must be positive and shorter than lease_ttl")
        if holder is not None and ("|" in holder or not holder):
            raise ValueError("holder must be a non-empty name without '|'")
        self._client = client
        self._owns_client = owns_client
        self._description = description
        self.name = name
        self.holder = holder or holder_id()
        base = f"hf-access:coord:{{{name}}}"
        self._lease_key = f"{base}:lease"
        self._fence_key = f"{base}:fence"
        self._position_key = f"{base}:position"
        self._intents_key = f"{base}:intents"
        self._ttl = lease_ttl
        self._ttl_ms = str(max(1, round(lease_ttl * 1000)))
        self._renew_every = renew_every
        self._clock = clock
        self._campaign: AsyncScript = client.register_script(_scripts.CAMPAIGN)
        self._renew: AsyncScript = client.register_script(_scripts.RENEW)
        self._resign: AsyncScript = client.register_script(_scripts.RESIGN)
        self._fenced: AsyncScript = client.register_script(_scripts.FENCED)
        self._token: int | None = None
        self._deadline = 0.0
        self._renewer: asyncio.Task[None] | None = None
        self._lease_left = 0.0
        self._closed = False
        self.terms = 0  # how many times this replica became the leader

    @classmethod
    def from_url(
        cls, url: str, *, name: str, timeout: float = 1.0, **options: Any
    ) -> RedisCoordinator:
        """A coordinator on the Redis at ``url`` (credentials are never shown).

        >>> RedisCoordinator.from_url("redis://127.0.0.1:6379/0", name="screening", holder="a")
        RedisCoordinator(name='screening', holder='a', redis='redis://127.0.0.1:6379/0', leader=False)
        """
        client = open_client(url, timeout=timeout)
        return cls(client, name=name, owns_client=True, description=describe_url(url), **options)

    def __repr__(self) -> str:
        return (
            f"RedisCoordinator(name={self.name!r}, holder={self.holder!r}, "
            f"redis={self._description!r}, leader={self.is_leader})"
        )

    # -- leadership ---------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True while this replica holds the lease and its local deadline has not passed."""
        return self._token is not None and self._clock() < self._deadline

    @property
    def token(self) -> int | None:
        """The fencing token of the current term (None when not the leader)."""
        return self._token if self.is_leader else None

    async def try_lead(self) -> bool:
        """One attempt to take (or keep) the lease; True if this replica leads now."""
        self._check_open()
        started = self._clock()
        try:
            held, token, _left = (
                int(v)
                for v in await self._campaign(
                    keys=[self._lease_key, self._fence_key], args=[self.holder, self._ttl_ms]
                )
            )
        except Exception as exc:
            if not _redis_failure(exc):
                raise
            self._lose(f"Redis at {self._description} is unreachable ({type(exc).__name__})")
            raise FleetError(f"cannot reach Redis at {self._description}") from None
        if not held:
            if self._token is not None:
                self._lose("another replica holds the lease")
            self._lease_left = max(0, _left) / 1000
            return False
        if self._token != token:
            self.terms += 1
            log.info("%s leads %r (fencing token %d)", self.holder, self.name, token)
        self._token = token
        self._deadline = started + self._ttl * 0.9
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._keep_lease())
        return True

    async def lead(self, *, poll: float | None = None) -> int:
        """Wait until this replica is the leader; return its fencing token.

        While another replica leads it tries again the moment that lease would run out (at
        the latest every ``poll`` seconds, a third of the lease time by default), so a dead
        leader is replaced within ``lease_ttl``; while Redis is away, every ``poll`` seconds.
        """
        poll = self._renew_every if poll is None else poll
        while True:
            wait = poll
            try:
                if await self.try_lead():
                    token = self._token
                    assert token is not None
                    return token
                wait = min(poll, self._lease_left + 0.005)
            except FleetError:
                pass
            await asyncio.sleep(wait)

    def ensure_leader(self) -> int:
        """The fencing token, or :class:`LeadershipLost` if this replica must not decide now."""
        token = self.token
        if token is None:
            raise LeadershipLost(f"{self.holder} is not the leader of {self.name!r}")
        return token

    async def resign(self) -> None:
        """Give the lease up now (a successor need not wait for it to expire)."""
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        token, self._token = self._token, None
        self._deadline = 0.0
        if token is not None:
            try:
                await self._resign(keys=[self._lease_key], args=[f"{self.holder}|{token}"])
            except Exception as exc:
                if not _redis_failure(exc):
                    raise

    async def _keep_lease(self) -> None:
        while self._token is not None:
            await asyncio.sleep(self._renew_every)
            token = self._held_token()
            if token is None:
                return
            started = self._clock()
            try:
                renewed = await self._renew(
                    keys=[self._lease_key], args=[f"{self.holder}|{token}", self._ttl_ms]
                )
            except Exception as exc:
                if not _redis_failure(exc):
                    raise
                self._lose(f"cannot renew the lease: Redis is unreachable ({type(exc).__name__})")
                return
            if not renewed:
                self._lose("the lease was lost (expired or taken over)")
                return
            if self._held_token() == token:
                self._deadline = started + self._ttl * 0.9

    def _held_token(self) -> int | None:
        return self._token

    def _lose(self, why: str) -> None:
        if self._token is not None:
            log.warning("%s stops leading %r: %s", self.holder, self.name, why)
        self._token = None
        self._deadline = 0.0

    # -- the leader's shared state -----------------------------------------------------------

    async def load_position(self) -> Any:
        """The position the leaders saved (JSON), or None if none was saved yet."""
        raw = await self._read(self._client.get(self._position_key))
        return None if raw is None else json.loads(raw)

    async def intents(self) -> dict[str, Any]:
        """Intents begun and not finished (by this replica or a leader before it)."""
        raw = await self._read(self._client.hgetall(self._intents_key))
        return {key: json.loads(value) for key, value in raw.items()}

    async def begin(self, intent_id: str, data: Any) -> int:
        """Record an intent before acting on it (fenced); return the fencing token."""
        return await self._write("begin", intent_id, json.dumps(data, sort_keys=True))

    async def finish(self, *intent_ids: str, position: Any = None) -> int:
        """Settle intents and, if given, save the position (fenced, one atomic step)."""
        saved = "" if position is None else json.dumps(position, sort_keys=True)
        return await self._write("finish", saved, *intent_ids)

    async def save_position(self, position: Any) -> int:
        """Save the position (fenced); return the fencing token."""
        return await self._write("position", json.dumps(position, sort_keys=True))

    async def check(self) -> int:
        """Ask Redis whether this replica still holds the lease (fenced no-op)."""
        return await self._write("check")

    async def _write(self, op: str, *args: str) -> int:
        token = self.ensure_leader()
        try:
            done = await self._fenced(
                keys=[self._lease_key, self._position_key, self._intents_key],
                args=[f"{self.holder}|{token}", op, *args],
            )
        except Exception as exc:
            if not _redis_failure(exc):
                raise
            self._lose(f"Redis is unreachable ({type(exc).__name__})")
            raise LeadershipLost(
                f"{self.holder} cannot reach Redis at {self._description}; it stops deciding"
            ) from None
        if not done:
            self._lose("the lease was lost (expired or taken over)")
            raise LeadershipLost(f"{self.holder} no longer leads {self.name!r} (token {token})")
        return token

    async def _read(self, pending: Any) -> Any:
        self._check_open()
        try:
            return await pending
        except Exception as exc:
            if not _redis_failure(exc):
                raise
            raise FleetError(f"cannot reach Redis at {self._description}") from None

    # -- lifecycle ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this coordinator is closed")

    async def __aenter__(self) -> RedisCoordinator:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Resign if leading and close an owned client."""
        if self._closed:
            return
        await self.resign()
        self._closed = True
        if self._owns_client:
            await self._client.aclose()
