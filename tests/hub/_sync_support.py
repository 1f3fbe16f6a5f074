"""Helpers of the sync and inbox tests: a fake Hub seeded with requests in every status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hf_access.testing import FakeHub, ManualClock

REPO = "acme/model"
SOURCE = "acme/model-v1"
T0 = 1_791_286_200.0  # ManualClock's default start: 2026-10-06T11:30:00Z
WRITE_ROUTES = ("handle", "grant", "batch", "settings")


def seed(hub: FakeHub, repo: str, statuses: Mapping[str, str], *, at: float = T0 - 3600) -> None:
    """Give each user a request in the given status (decided a minute after it was made)."""
    for user, status in statuses.items():
        decided = None if status == "pending" else at + 60
        hub.seed_request(repo, user, status=status, requested_at=at, decided_at=decided)


def add_users(hub: FakeHub, names: Iterable[str]) -> None:
    for name in names:
        hub.add_user(name)


def writes(hub: FakeHub) -> int:
    """Write calls the fake Hub received so far."""
    calls = hub.counters.calls
    return sum(calls.get(route, 0) for route in WRITE_ROUTES)


def statuses(hub: FakeHub, repo: str = REPO) -> dict[str, str]:
    return {name: record.status for name, record in hub.snapshot(repo).items()}


def new_hub(clock: ManualClock | None = None) -> FakeHub:
    hub = FakeHub(clock=clock or ManualClock(T0))
    hub.add_repo(REPO)
    hub.add_repo(SOURCE)
    return hub
