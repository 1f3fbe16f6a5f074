"""The journal of a bulk run: one JSON line per finished item, so a run can be resumed.

Each line is written with a single ``write`` to a file opened in append mode as soon as the
item finishes, so it survives the process being killed (``kill -9``); the file is also
``fsync``-ed every few hundred lines and when the run ends. A rerun given the same journal
skips every decision recorded there as ``done`` or ``unchanged`` and tries the failed ones
again. A torn last line (a kill during the write) is ignored.

Format (JSON Lines)::

    {"journal": "hf-access", "version": 1}
    {"key": "model:org/repo|alice|accept", "outcome": "done", "at": "2026-11-22T10:00:00.000Z"}
    {"key": "model:org/repo|bob|accept", "outcome": "failed", "error": "UserNotFoundError: ..."}
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from .convert import format_time
from .outcomes import ItemOutcome, Outcome

__all__ = ["Journal", "JournalEntry"]

_HEADER = {"journal": "hf-access", "version": 1}
_FSYNC_EVERY = 256


@attrs.frozen
class JournalEntry:
    key: str
    outcome: Outcome
    detail: str | None = None


class Journal:
    """Append-only record of finished items (of either provider). One process per file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._unsynced = 0

    def load(self) -> dict[str, JournalEntry]:
        """The last recorded outcome of every key (empty when the file does not exist)."""
        entries: dict[str, JournalEntry] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return entries
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError:
                if number == len(text.splitlines()):
                    break  # torn last line: the process died while writing it
                raise ValueError(f"{self.path}:{number}: not a journal line") from None
            if not isinstance(data, dict):
                raise ValueError(f"{self.path}:{number}: not a journal line")
            if data.get("journal") == "hf-access":
                continue
            try:
                key = str(data["key"])
                outcome = Outcome(data["outcome"])
            except (KeyError, ValueError):
                raise ValueError(f"{self.path}:{number}: not a journal line") from None
            detail = data.get("detail")
            entries[key] = JournalEntry(key, outcome, detail if isinstance(detail, str) else None)
        return entries

    def open(self) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_torn_line()
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if fresh:
            self._write(_HEADER)

    def _drop_torn_line(self) -> None:
        """Cut a last line left half-written by a killed run, so appends start on a new line."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        if data and not data.endswith(b"\n"):
            os.truncate(self.path, data.rfind(b"\n") + 1)

    def record(self, item: ItemOutcome[Any]) -> None:
        """Append one finished item (done, unchanged or failed)."""
        line: dict[str, object] = {
            "key": item.decision.key,
            "outcome": item.outcome.value,
            "at": format_time(datetime.now(timezone.utc)),
        }
        if item.detail:
            line["detail"] = item.detail
        if item.error is not None:
            line["error"] = f"{type(item.error).__name__}: {item.error}"
        self._write(line)

    def _write(self, data: dict[str, object]) -> None:
        if self._fd is None:
            raise RuntimeError("journal is not open")
        os.write(self._fd, (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8"))
        self._unsynced += 1
        if self._unsynced >= _FSYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        if self._fd is not None and self._unsynced:
            os.fsync(self._fd)
            self._unsynced = 0

    def close(self) -> None:
        if self._fd is None:
            return
        try:
            self.sync()
        finally:
            os.close(self._fd)
            self._fd = None
