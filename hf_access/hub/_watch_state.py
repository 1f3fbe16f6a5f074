"""Positions of a watch: per stream, what has been handed out; saved as JSON.

See :mod:`hf_access.hub.watch` for how they are used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from ..core.convert import format_time, parse_time
from .models import AccessRequest

__all__ = ["Cursor", "Stamp", "WatchState", "request_key"]

_MS = timedelta(milliseconds=1)
Stamp = datetime | None


def request_key(request: AccessRequest) -> str:
    """A request's identity: its id, else ``user:<name>`` / ``user-id:<id>``."""
    if request.request_id:
        return request.request_id
    return f"user:{request.username}" if request.username else f"user-id:{request.user_id}"


def _dump(stamps: Mapping[str, Stamp]) -> dict[str, str | None]:
    return {k: format_time(v) if v else None for k, v in stamps.items()}


def _load(stamps: Mapping[str, str | None]) -> dict[str, Stamp]:
    return {k: parse_time(v) if v else None for k, v in stamps.items()}


@attrs.define
class Cursor:
    """The position in one stream: everything older than ``after`` is handled, and so are
    the ``seen`` keys; ``revisit`` keys are handed out again while still listed."""

    after: Stamp = None
    seen: dict[str, Stamp] = attrs.Factory(dict)
    revisit: dict[str, Stamp] = attrs.Factory(dict)

    def query_after(self) -> Stamp:
        """The ``after`` to ask for: 1 ms before the position or the oldest revisit."""
        stamps = [s for s in (self.after, *self.revisit.values()) if s is not None]
        if self.after is None or len(stamps) <= len(self.revisit):
            return None  # no position yet, or a revisit without a timestamp: list it all
        return min(stamps) - _MS

    def is_new(self, request: AccessRequest) -> bool:
        key, stamp = request_key(request), request.timestamp
        if key in self.seen or key in self.revisit:
            return False
        return stamp is None or self.after is None or stamp >= self.after

    def deliver(self, key: str, stamp: Stamp, *, advance: bool) -> None:
        """Mark one new request handled (``advance``: handed out in timestamp order)."""
        if advance and stamp is not None and (self.after is None or stamp > self.after):
            self.after = stamp
            self.seen = {k: s for k, s in self.seen.items() if s is None or s >= stamp}
        self.seen[key] = stamp

    def settle(self, newest: Stamp, present: set[str] | None) -> None:
        """After every new request of a listing is handled: move to ``newest``; with the
        keys of a complete listing (``present``), forget revisits no longer listed."""
        if newest is not None and (self.after is None or newest > self.after):
            self.after = newest
        if self.after is not None:
            self.seen = {k: s for k, s in self.seen.items() if s is None or s >= self.after}
        if present is not None:
            self.revisit = {k: s for k, s in self.revisit.items() if k in present}

    def to_json(self) -> dict[str, Any]:
        after = format_time(self.after) if self.after else None
        return {"after": after, "seen": _dump(self.seen), "revisit": _dump(self.revisit)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cursor:
        after = parse_time(data["after"]) if data.get("after") else None
        return cls(after, _load(data.get("seen", {})), _load(data.get("revisit", {})))


@attrs.define
class WatchState:
    """Every stream's cursor, keyed by :attr:`Stream.key`; saved as JSON."""

    cursors: dict[str, Cursor] = attrs.Factory(dict)

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "streams": {k: c.to_json() for k, c in self.cursors.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WatchState:
        if data.get("version") != 1:
            raise ValueError(f"unknown watch state version {data.get('version')!r}")
        return cls({k: Cursor.from_json(v) for k, v in data.get("streams", {}).items()})

    @classmethod
    def load(cls, path: str | Path) -> WatchState:
        """The state saved at ``path`` (an empty one when the file does not exist)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        try:
            return cls.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}: not a watch state file: {exc}") from None

    def save(self, path: str | Path) -> None:
        """Write atomically: a temporary file next to ``path``, then ``os.replace``."""
        target = Path(path)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temp, target)
