"""Replicas of a screening service on one coordinator: only the leader decides.

:class:`~hf_access.AutoApprover` takes ``coordinator=`` (for instance
:class:`hf_access.fleet.RedisCoordinator`): anything with the methods of :class:`Coordinator`.
Each term of leadership starts from the position the last leader saved; before sending a
pass's decisions the leader records them as an intent (a fenced write, refused once another
replica holds the lease), and after writing their audit lines it settles the intent and saves
the position in one step. A leader that dies between the two leaves its intent behind: its
successor hands those requests out again if they are still pending (they are decided then),
and writes an audit line with outcome ``recovered`` for those that are not (the dead
leader's call went through).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..hub.watch import Watcher, WatchEvent, WatchState

__all__ = ["Coordinator", "NotLeading"]

log = logging.getLogger("hf_access")


class Coordinator(Protocol):
    """What an AutoApprover needs of a coordinator (see :class:`hf_access.fleet.RedisCoordinator`).

    ``begin`` and ``finish`` must refuse (raise) once this replica is no longer the leader.
    """

    @property
    def is_leader(self) -> bool: ...

    def ensure_leader(self) -> int: ...

    async def try_lead(self) -> bool: ...

    async def lead(self, *, poll: float | None = None) -> int: ...

    async def load_position(self) -> Any: ...

    async def intents(self) -> dict[str, Any]: ...

    async def begin(self, intent_id: str, data: Any) -> int: ...

    async def finish(self, *intent_ids: str, position: Any = None) -> int: ...


class NotLeading(Exception):
    """This replica is not the leader (or lost the lead mid-pass): it decides nothing now."""


def event_id(event: WatchEvent) -> str:
    return f"{event.stream.key}/{event.key}"


class Term:
    """The AutoApprover's side of one coordinator: the current term, its intents."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator
        self.token: int | None = None
        self.passes = 0
        self.leftover: dict[str, list[dict[str, Any]]] = {}

    async def enter(self, watcher: Watcher, *, wait: bool) -> bool:
        """Lead (waiting for it if ``wait``); on a new term, continue from the shared position."""
        coordinator = self.coordinator
        if wait:
            token = await coordinator.lead()
        elif await coordinator.try_lead():
            token = coordinator.ensure_leader()
        else:
            return False
        if token != self.token:
            position = await coordinator.load_position()
            leftover = await coordinator.intents()
            watcher.restart(WatchState.from_json(position) if position else watcher.state)
            self.token, self.leftover = token, leftover
            log.info("leading (fencing token %d); %d intents left to settle", token, len(leftover))
        return True

    def check(self) -> None:
        if not self.coordinator.is_leader:
            raise NotLeading("this replica is not the leader")

    async def begin(self, items: Sequence[Mapping[str, Any]]) -> str:
        """Record a pass's decisions before any is sent; NotLeading if this replica may not."""
        self.passes += 1
        intent_id = f"{self.token}-{self.passes}"
        try:
            await self.coordinator.begin(intent_id, list(items))
        except Exception:
            if self.coordinator.is_leader:
                raise
            raise NotLeading("the lead was lost before sending") from None
        self.check()
        return intent_id

    def settle(
        self, events: Sequence[WatchEvent], watcher: Watcher
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """Intents of a dead leader that this pass settles, and their items decided already.

        An item handed out again is decided by this pass; one that is not, on a stream listed
        whole, left the pending list: the dead leader's call went through.
        """
        handed = {event_id(e) for e in events}
        settled: list[str] = []
        done: list[dict[str, Any]] = []
        for intent_id, items in list(self.leftover.items()):
            if any(item["stream"] not in watcher.listed for item in items):
                continue  # not listed whole this time: settle it on a later pass
            settled.append(intent_id)
            done.extend(item for item in items if item["id"] not in handed)
            del self.leftover[intent_id]
        return settled, done

    async def finish(self, intent_ids: Sequence[str], position: Any) -> None:
        try:
            await self.coordinator.finish(*intent_ids, position=position)
        except Exception:
            if self.coordinator.is_leader:
                raise
            raise NotLeading("the lead was lost before saving the position") from None
