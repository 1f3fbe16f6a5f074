"""Pure parts (index, windows, time format, seeding rules), lifecycle and the plugin."""

from __future__ import annotations

import ast
import pathlib
import random
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable

import pytest

from hf_access import testing
from hf_access.testing import FakeHub, FakeHubError, ManualClock
from hf_access.testing._index import SortedKeys
from hf_access.testing._limits import FixedWindows
from hf_access.testing._records import format_ms, parse_iso_ms
from hf_access.testing._validate import decode_cursor, encode_cursor


def test_public_names_are_exported() -> None:
    assert sorted(testing.__all__) == sorted(
        name for name in dir(testing) if not name.startswith("_") and name[0].isupper()
    )
    for name in testing.__all__:
        assert getattr(testing, name) is not None


def test_fake_hub_imports_only_aiohttp_attrs_and_stdlib() -> None:
    allowed = {"aiohttp", "attrs", "pytest", "pytest_asyncio", *sys.stdlib_module_names}
    folder = pathlib.Path(testing.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                own = path.name == "plugin.py" and name == "hf_access.testing"
                assert own or name.split(".")[0] in allowed, (path.name, name)


def test_sorted_keys_against_a_sorted_list() -> None:
    rng = random.Random(5)
    keys = SortedKeys()
    model: set[tuple[int, int]] = set()
    for step in range(20_000):
        if model and rng.random() < 0.4:
            key = rng.choice(sorted(model)) if step % 500 == 0 else model.pop()
            model.discard(key)
            keys.remove(key)
        else:
            key = (rng.randrange(1000), step)
            model.add(key)
            keys.add(key)
    ordered = sorted(model)
    assert list(keys) == ordered
    assert len(keys) == len(ordered)
    middle = ordered[len(ordered) // 2]
    assert list(keys.iter_from(middle)) == ordered[len(ordered) // 2 :]
    assert list(keys.iter_from(middle, inclusive=False)) == ordered[len(ordered) // 2 + 1 :]
    assert list(keys.iter_from((10**9, 0))) == []
    assert middle in keys
    assert (-1, -1) not in keys
    with pytest.raises(KeyError):
        keys.remove((-1, -1))


def test_fixed_windows() -> None:
    windows = FixedWindows(quota=2, window=10)
    assert windows.hit("a", 100.0) == (True, 1, 10)
    assert windows.hit("a", 105.5) == (True, 0, 5)
    assert windows.hit("a", 109.9) == (False, 0, 1)
    assert windows.hit("b", 109.9) == (True, 1, 1)
    assert windows.hit("a", 110.0) == (True, 1, 10)
    unlimited = FixedWindows()
    assert all(unlimited.hit("a", 0.0)[0] for _ in range(100))
    with pytest.raises(ValueError, match="quota"):
        FixedWindows(quota=0)


def test_time_format_round_trip() -> None:
    assert format_ms(0) == "1970-01-01T00:00:00.000Z"
    assert format_ms(1_791_286_200_007) == "2026-10-06T11:30:00.007Z"
    assert parse_iso_ms("2026-10-06T11:30:00.007Z") == 1_791_286_200_007
    assert parse_iso_ms("2026-10-06T13:30:00+02:00") == 1_791_286_200_000
    assert parse_iso_ms("2026-10-06") == 1_791_244_800_000
    assert decode_cursor(encode_cursor((123, 4))) == (123, 4)


def test_seeding_rules() -> None:
    hub = FakeHub(clock=ManualClock())
    hub.add_repo("a/one")
    hub.add_repo("a/two")
    first = hub.seed_pending("a/one", 3)
    assert first == ["user-000000", "user-000001", "user-000002"]
    assert hub.seed_pending("a/two", 2) == first[:2]  # the same users
    assert hub.seed_pending("a/one", 2, prefix="bot") == ["bot-000000", "bot-000001"]
    with pytest.raises(ValueError, match="already has a request"):
        hub.seed_pending("a/one", 1)
    user = hub.user("user-000000")
    assert len(user.id) == 24
    assert user.email == "user-000000@example.org"
    with pytest.raises(ValueError, match="already exists"):
        hub.add_user("user-000000")
    with pytest.raises(ValueError, match="already exists"):
        hub.add_repo("a/one")
    with pytest.raises(ValueError, match="gated"):
        hub.add_repo("a/three", gated=True)
    with pytest.raises(ValueError, match="repo_type"):
        hub.add_repo("a/three", repo_type="bucket")
    with pytest.raises(ValueError, match="unknown user"):
        hub.add_token("t", user="ghost")
    with pytest.raises(ValueError, match="role"):
        hub.add_token("t", user="owner", role="admin")
    with pytest.raises(FakeHubError, match="User not found"):
        hub.user("ghost")
    assert hub.request_status("a/one", "ghost") is None
    assert hub.snapshot_of("a/two", "user-000001") is not None


def test_seeding_is_fast() -> None:
    hub = FakeHub()
    hub.add_repo("a/big")
    started = time.perf_counter()
    hub.seed_pending("a/big", 20_000)
    assert time.perf_counter() - started < 5  # ~0.3 s here: 100,000 take about 1.5 s


def test_thread_lifecycle() -> None:
    hub = FakeHub()
    assert repr(hub) == "<FakeHub stopped>"
    with pytest.raises(RuntimeError, match="not started"):
        hub.url  # noqa: B018
    with hub:
        assert threading.current_thread() is threading.main_thread()
        request = urllib.request.Request(
            f"{hub.url}/api/models/a/b", headers={"Authorization": f"Bearer {hub.token}"}
        )
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(request, timeout=10)
        assert missing.value.code == 404
        missing.value.close()
        with pytest.raises(RuntimeError, match="already started"):
            hub.start_in_thread()
    hub.stop_thread()  # idempotent
    assert "stopped" in repr(hub)


async def test_async_lifecycle_and_port() -> None:
    probe = FakeHub()
    async with probe:
        port = probe.port
        with pytest.raises(RuntimeError, match="already started"):
            await probe.start()
    await probe.stop()  # idempotent
    busy = FakeHub()
    async with busy:
        second = FakeHub(port=busy.port)
        with pytest.raises(OSError, match="in use"):
            await second.start()
    assert port > 0


async def test_plugin_fake_hub(fake_hub: FakeHub) -> None:
    assert fake_hub.repo("owner/gated-model").gated == "manual"
    assert fake_hub.url.startswith("http://127.0.0.1:")


async def test_plugin_factory(fake_hub_factory: Callable[..., Awaitable[FakeHub]]) -> None:
    hub = await fake_hub_factory(quota=5, batch_enabled=False)
    other = await fake_hub_factory()
    assert hub.port != other.port


def test_plugin_thread_fixture(fake_hub_thread: FakeHub) -> None:
    assert fake_hub_thread.repo("owner/gated-model").repo_type == "model"
