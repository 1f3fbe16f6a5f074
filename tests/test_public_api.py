"""hf_access's curated surface: __all__ is exact, every public name is exported."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import hf_access
from hf_access.core import errors


def test_every_name_in_all_exists() -> None:
    missing = [name for name in hf_access.__all__ if not hasattr(hf_access, name)]
    assert missing == []


def test_all_has_no_duplicates() -> None:
    assert len(set(hf_access.__all__)) == len(hf_access.__all__)
    assert all(isinstance(name, str) for name in hf_access.__all__)


def test_every_public_name_is_in_all() -> None:
    public = {
        name
        for name, value in vars(hf_access).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public - set(hf_access.__all__) == set()


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from hf_access import *", namespace)
    namespace.pop("__builtins__", None)
    assert set(namespace) == set(hf_access.__all__)


def test_session_surface_is_exported() -> None:
    for name in (
        "AccessSession",
        "AccessRequest",
        "BatchResult",
        "GatingMode",
        "NotificationsMode",
        "ReportEntry",
        "RepoType",
        "RequestStatus",
        "RetryPolicy",
        "Timeout",
        "Quota",
        "RateLimiter",
        "LimiterStats",
        "HfAccessWarning",
        "__version__",
    ):
        assert name in hf_access.__all__, name


def test_every_error_class_is_exported_and_rooted() -> None:
    for name in errors.__all__:
        value = getattr(errors, name)
        if inspect.isclass(value) and issubclass(value, Exception):
            assert name in hf_access.__all__, name
            assert getattr(hf_access, name) is value
            assert issubclass(value, hf_access.HfAccessError) or value is hf_access.HfAccessWarning


def test_version_is_a_string() -> None:
    assert isinstance(hf_access.__version__, str)
    assert hf_access.__version__[0].isdigit()


def _resolves(path: str) -> bool:
    """Whether ``path`` is a module, or a name in one."""
    try:
        importlib.import_module(path)
        return True
    except ModuleNotFoundError:
        parent, _, name = path.rpartition(".")
        try:
            return hasattr(importlib.import_module(parent), name)
        except ModuleNotFoundError:
            return False


def test_the_changelog_moved_table_names_real_places() -> None:
    """Every old path of 0.2's "Moved" table is gone and every new one exists."""
    text = (Path(__file__).parent.parent / "CHANGELOG.md").read_text(encoding="utf-8")
    table = text.split("### Moved", 1)[1].split("\n### ", 1)[0]
    rows = [line.split("|")[1:3] for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) >= 20
    for old, new in rows:
        for path in re.findall(r"`(hf_access[\w.]*)`", old):
            assert not _resolves(path), f"{path} still exists: it did not move"
        for path in re.findall(r"`(hf_access[\w.]*)`", new):
            assert _resolves(path), f"{path} (where {old.strip()} went) does not exist"
