"""The watch's options have one default each, in hf_access/hub/watch.py: the watch, the
AutoApprover, the relay and the commands take theirs from there, and the AutoApprover still
takes every documented keyword and hands it to its watch."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hf_access import AccessSession, RepoType
from hf_access.cli.relay_cmd import relay_group
from hf_access.cli.watch_cmd import run_watch_command, watch_cmd
from hf_access.hub import watch as watch_module
from hf_access.hub.watch import (
    DEFAULT_BACKOFF,
    DEFAULT_CONCURRENCY,
    DEFAULT_INCLUDE_EXISTING,
    DEFAULT_INTERVAL,
    DEFAULT_MAX_INTERVAL,
    DEFAULT_STATUSES,
    PollOptions,
    Watcher,
    WatchOptions,
)
from hf_access.screening.autoapprove import AutoApprover
from hf_access.screening.policy import Policy
from hf_access.screening.relay import Relay
from hf_access.testing import FakeHub

from ..conftest import VirtualTime
from .conftest import REPO

SECRET = "whsec_" + "A" * 32


@pytest.fixture
async def session(hub: FakeHub) -> AsyncIterator[AccessSession]:
    async with AccessSession(hub.token, hub.url) as s:
        yield s


def test_the_options_are_declared_once() -> None:
    polling = set(PollOptions.__optional_keys__)
    assert polling < set(WatchOptions.__optional_keys__)
    assert set(WatchOptions.__optional_keys__) - polling == {"statuses", "state_file", "state"}
    # Watcher's keywords are exactly the options (mypy checks their types where they are
    # forwarded), and its defaults are the module's constants.
    params = inspect.signature(Watcher).parameters
    keywords = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords == set(WatchOptions.__optional_keys__)
    assert params["statuses"].default == DEFAULT_STATUSES
    assert params["interval"].default == DEFAULT_INTERVAL
    assert params["max_interval"].default == DEFAULT_MAX_INTERVAL
    assert params["backoff"].default == DEFAULT_BACKOFF
    assert params["concurrency"].default == DEFAULT_CONCURRENCY
    assert params["include_existing"].default is DEFAULT_INCLUDE_EXISTING
    for name in ("DEFAULT_INTERVAL", "DEFAULT_MAX_INTERVAL", "DEFAULT_CONCURRENCY"):
        assert name in (PollOptions.__doc__ or "")
        assert name in watch_module.__all__


async def test_the_services_take_the_watchs_defaults(
    session: AccessSession, tmp_path: Path
) -> None:
    approver = AutoApprover(session, [REPO], Policy([]))
    watcher = approver.watcher
    assert (watcher.interval, watcher.max_interval, watcher.backoff) == (
        DEFAULT_INTERVAL,
        DEFAULT_MAX_INTERVAL,
        DEFAULT_BACKOFF,
    )
    assert watcher.include_existing is DEFAULT_INCLUDE_EXISTING
    relay = Relay(session, [REPO], to="https://example.org/h", secret=SECRET, outbox=tmp_path / "o")
    try:
        assert relay.interval == DEFAULT_INTERVAL
        assert relay.include_existing is DEFAULT_INCLUDE_EXISTING
    finally:
        await relay.aclose()
    params = inspect.signature(run_watch_command).parameters
    assert params["interval"].default == DEFAULT_INTERVAL
    assert params["include_existing"].default is DEFAULT_INCLUDE_EXISTING
    relay_run = relay_group.commands["run"]
    for command in (watch_cmd, relay_run):
        [interval] = [p for p in command.params if p.name == "interval"]
        assert interval.default == DEFAULT_INTERVAL


async def test_the_autoapprover_hands_its_documented_keywords_to_the_watch(
    session: AccessSession, ft: VirtualTime
) -> None:
    approver = AutoApprover(
        session,
        ["org/data"],
        Policy([]),
        interval=5.0,
        max_interval=50.0,
        repo_type="dataset",
        include_existing=True,
        concurrency=3,
        clock=ft,
        sleep=ft.sleep,
        backoff=3.0,
        page_size=20,
    )
    w = approver.watcher
    assert (w.interval, w.max_interval, w.backoff, w.page_size) == (5.0, 50.0, 3.0, 20)
    assert w.include_existing is True
    assert [s.repo_type for s in w.streams] == [RepoType.DATASET]
    assert w.next_due() == ft()  # its clock
    with pytest.raises(TypeError):
        AutoApprover(session, [REPO], Policy([]), intervall=5.0)  # type: ignore[call-arg]
