"""hf_access's curated surface: __all__ is exact, every public name is exported."""

from __future__ import annotations

import inspect

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
