"""pytest plugin of hf-access: fixtures serving a :class:`~hf_access.testing.FakeHub`.

Registered through the ``pytest11`` entry point, so installing hf-access is enough.

* ``fake_hub`` (async, function scope): a started hub with the manually gated model
  ``owner/gated-model``; seed it in the test::

      async def test_accept(fake_hub):
          fake_hub.seed_pending("owner/gated-model", 3)  # user-000000 .. user-000002
          fake_hub.add_user("alice")
          fake_hub.add_token("hf_alice", user="alice", role="read")
          ...  # talk to fake_hub.url with fake_hub.token
          assert fake_hub.request_status("owner/gated-model", "user-000000") == "accepted"

* ``fake_hub_factory`` (async): ``await fake_hub_factory(quota=10, window=60)`` starts a
  hub with any :class:`FakeHub` options (no repository added); all are stopped at the end.
  For timestamps and rate-limit windows under the test's control, pass
  ``clock=ManualClock()`` and call ``clock.advance(seconds)`` instead of sleeping.
* ``fake_hub_thread`` (sync): like ``fake_hub`` but served from a background thread, for
  synchronous code such as ``huggingface_hub.HfApi``.

The async fixtures need pytest-asyncio. Without it, ``fake_hub`` and ``fake_hub_factory``
fall back to the thread-served hub (the factory then returns hubs synchronously).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hf_access.testing import FakeHub

GATED_REPO = "owner/gated-model"
"""The repository every ``fake_hub`` fixture starts with (gated ``"manual"``)."""


def _new_hub(**options: Any) -> FakeHub:
    from hf_access.testing import FakeHub  # imported late: keep pytest's start-up light

    return FakeHub(**options)


@pytest.fixture
def fake_hub_thread() -> Iterator[FakeHub]:
    """A :class:`FakeHub` served from a background thread, with ``owner/gated-model``."""
    with _new_hub() as hub:
        hub.add_repo(GATED_REPO)
        yield hub


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest-asyncio is part of the test extra

    @pytest.fixture(name="fake_hub")
    def _fake_hub_threaded() -> Iterator[FakeHub]:
        """A started :class:`FakeHub` with ``owner/gated-model`` (served from a thread)."""
        with _new_hub() as hub:
            hub.add_repo(GATED_REPO)
            yield hub

    @pytest.fixture(name="fake_hub_factory")
    def _fake_hub_factory_threaded() -> Iterator[Callable[..., FakeHub]]:
        """Start hubs with custom options: ``fake_hub_factory(quota=10)``."""
        hubs: list[FakeHub] = []

        def make(**options: Any) -> FakeHub:
            hub = _new_hub(**options).start_in_thread()
            hubs.append(hub)
            return hub

        yield make
        for hub in hubs:
            hub.stop_thread()

else:

    @pytest_asyncio.fixture(name="fake_hub")
    async def _fake_hub() -> AsyncIterator[FakeHub]:
        """A started :class:`FakeHub` with the manually gated ``owner/gated-model``."""
        async with _new_hub() as hub:
            hub.add_repo(GATED_REPO)
            yield hub

    @pytest_asyncio.fixture(name="fake_hub_factory")
    async def _fake_hub_factory() -> AsyncIterator[Callable[..., Awaitable[FakeHub]]]:
        """Start hubs with custom options: ``hub = await fake_hub_factory(quota=10)``."""
        hubs: list[FakeHub] = []

        async def make(**options: Any) -> FakeHub:
            hub = await _new_hub(**options).start()
            hubs.append(hub)
            return hub

        yield make
        for hub in hubs:
            await hub.stop()
