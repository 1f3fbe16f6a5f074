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
* ``fake_gitlab`` (async, function scope): a started, empty
  :class:`~hf_access.testing.gitlab.FakeGitLab` whose ``token`` is the owner ``root``'s::

      async def test_approve(fake_gitlab):
          fake_gitlab.add_project("acme/app")
          fake_gitlab.seed_requests("acme/app", 2)  # user-000000, user-000001
          async with GitLabSession(url=fake_gitlab.url, token=fake_gitlab.token) as gl:
              await gl.approve("acme/app", "user-000000")
          assert fake_gitlab.state("acme/app").members == {"user-000000": 30}

* ``fake_gitlab_thread`` (sync): like ``fake_gitlab`` but served from a background thread,
  for synchronous code such as python-gitlab or the ``hf-access gitlab`` command.

The async fixtures need pytest-asyncio. Without it, ``fake_hub``, ``fake_hub_factory`` and
``fake_gitlab`` fall back to the thread-served servers (the factory then returns hubs
synchronously).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hf_access.testing import FakeHub, gitlab

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


def _new_gitlab() -> gitlab.FakeGitLab:
    from hf_access.testing import gitlab  # imported late, as the hub is

    return gitlab.FakeGitLab()


@pytest.fixture
def fake_gitlab_thread() -> Iterator[gitlab.FakeGitLab]:
    """A started, empty :class:`FakeGitLab` served from a background thread."""
    with _new_gitlab() as server:
        yield server


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

    @pytest.fixture(name="fake_gitlab")
    def _fake_gitlab_threaded() -> Iterator[gitlab.FakeGitLab]:
        """A started, empty :class:`FakeGitLab` (served from a thread)."""
        with _new_gitlab() as server:
            yield server

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

    @pytest_asyncio.fixture(name="fake_gitlab")
    async def _fake_gitlab() -> AsyncIterator[gitlab.FakeGitLab]:
        """A started, empty :class:`FakeGitLab`, served by the test's event loop."""
        async with _new_gitlab() as server:
            yield server
