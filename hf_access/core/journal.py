"""The journal of a bulk run: one JSON line per finished item, so a run can be resumed.

What guarantees that nothing is lost and nothing is done twice:

- **One process per journal.** :meth:`Journal.open` takes an OS lock on the file (see
  :mod:`hf_access.core.filelock`); a second process gets :class:`~hf_access.FileInUseError`,
  naming the file and the holder's pid, before it sends anything.
- **One write per finished call.** The items a call settled are appended together with a
  single ``write`` to a file opened in append mode, as soon as the call ends, so a ``kill -9``
  leaves whole lines behind (at worst a torn last line). The file is ``fsync``-ed every few
  hundred lines and when the run ends.
- **Repair on open.** A torn last line is cut off; a corrupt line anywhere is moved to
  ``<journal>.corrupt`` with a :class:`~hf_access.HfAccessWarning`, so a journal always
  resumes. A file that does not start with a journal header is refused, never appended to.
- **Identity.** A rerun skips every decision recorded as ``done`` or ``unchanged`` whose key
  (provider, repo, user, action and, for a reject or reset, the reason) matches, and tries
  the failed ones again.

Format (JSON Lines; version 1 files, without ``kind``, are read too)::

    {"journal": "hf-access", "version": 2, "kind": "hub"}
    {"key": "model:org/repo|alice|accept", "outcome": "done", "at": "2026-11-22T10:00:00.000Z"}
    {"key": "model:org/repo|bob|reject|spam", "outcome": "failed", "error": "UserNotFoundError: ..."}
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from .convert import format_time
from .errors import HfAccessWarning
from .filelock import FileLock
from .outcomes import ItemOutcome, Outcome

__all__ = ["Journal", "JournalEntry"]

VERSION = 2
_VERSIONS = (1, 2)
_FSYNC_EVERY = 256
_OUTCOME = {o: f',"outcome":"{o.value}"' for o in Outcome}  # the constant part of a line
# A str as ``json.dumps`` writes it (ASCII, escaped), without its per-call set-up.
_json_str: Callable[[str], str] = json.encoder.encode_basestring_ascii


@attrs.frozen
class JournalEntry:
    key: str
    outcome: Outcome
    detail: str | None = None


def _entry(line: bytes) -> JournalEntry | None:
    """The entry a line holds, or None when it is not a journal line."""
    try:
        data = json.loads(line)
        key, outcome = data["key"], Outcome(data["outcome"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(key, str):
        return None
    detail = data.get("detail")
    return JournalEntry(key, outcome, detail if isinstance(detail, str) else None)


@attrs.define
class _Scan:
    entries: dict[str, JournalEntry]
    good: list[bytes]  # the header and every valid line, in order
    corrupt: list[tuple[int, bytes]]  # (line number, line)
    torn: int  # bytes of a torn last line (no final newline)


class Journal:
    """Append-only record of finished items (of either provider). One process per file.

    ``kind`` names what runs write it (``"hub"``, ``"gitlab"``): a journal of another kind
    is refused (``None``: any kind is read).
    """

    def __init__(self, path: str | os.PathLike[str], *, kind: str | None = None) -> None:
        self.path = Path(path)
        self.kind = kind
        self._fd: int | None = None
        self._unsynced = 0
        self._lock = FileLock(self.path, exclusive=True)

    # -- reading ------------------------------------------------------------------------------

    def _scan(self) -> _Scan | None:
        """Read the file (None when there is none yet); ValueError when it is not a journal."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        *complete, tail = data.split(b"\n")
        scan = _Scan({}, [], [], len(tail))
        header_seen = False
        for number, line in enumerate(complete, start=1):
            if not line.strip():
                continue
            if not header_seen:
                self._check_header(line)
                header_seen = True
                scan.good.append(line)
                continue
            entry = _entry(line)
            if entry is None:
                scan.corrupt.append((number, line))
                continue
            scan.entries[entry.key] = entry
            scan.good.append(line)
        if not header_seen and tail.strip() and not tail.startswith(b'{"journal":'):
            raise ValueError(f"{self.path}: not an hf-access journal; refusing to use it")
        return scan

    def _check_header(self, line: bytes) -> None:
        try:
            header: Any = json.loads(line)
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("journal") != "hf-access":
            raise ValueError(
                f"{self.path}: not an hf-access journal (no journal header on its first line); "
                "refusing to use it"
            )
        if header.get("version") not in _VERSIONS:
            raise ValueError(f"{self.path}: journal version {header.get('version')!r} is unknown")
        kind = header.get("kind")
        if kind is not None and self.kind is not None and kind != self.kind:
            raise ValueError(f"{self.path}: a journal of {kind} runs, not of {self.kind} runs")

    def load(self) -> dict[str, JournalEntry]:
        """The last recorded outcome of every key, read only (empty when there is no file).

        Corrupt lines are skipped here; :meth:`open` moves them out of the file.
        """
        scan = self._scan()
        return {} if scan is None else scan.entries

    # -- writing ------------------------------------------------------------------------------

    def open(self) -> dict[str, JournalEntry]:
        """Lock the file, repair it, open it for appending; return what it records.

        Raises :class:`~hf_access.FileInUseError` when another process has it, ValueError
        when the file is not a journal (or one of another kind).
        """
        if self._fd is not None:
            raise RuntimeError("the journal is already open")
        self._lock.acquire()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scan = self._scan()
            if scan is not None and scan.corrupt:
                self._quarantine(scan)
            elif scan is not None and scan.torn:
                os.truncate(self.path, self.path.stat().st_size - scan.torn)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            if scan is None or not scan.good:
                header = {"journal": "hf-access", "version": VERSION, "kind": self.kind or "bulk"}
                self._write(json.dumps(header, separators=(",", ":")) + "\n", 1)
                self.sync()
        except BaseException:
            self.close()
            raise
        return {} if scan is None else scan.entries

    def _quarantine(self, scan: _Scan) -> None:
        """Move corrupt lines to ``<journal>.corrupt``; rewrite the journal without them."""
        side = self.path.with_name(self.path.name + ".corrupt")
        with side.open("ab") as out:
            for number, line in scan.corrupt:
                out.write(b"%d: %s\n" % (number, line))
            out.flush()
            os.fsync(out.fileno())
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with temp.open("wb") as out:
            out.write(b"".join(line + b"\n" for line in scan.good))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.path)
        numbers = ", ".join(str(n) for n, _ in scan.corrupt[:10])
        more = "..." if len(scan.corrupt) > 10 else ""
        warnings.warn(
            f"{self.path}: {len(scan.corrupt)} corrupt line(s) ({numbers}{more}) moved to "
            f"{side}; their items will be decided again",
            HfAccessWarning,
            stacklevel=3,
        )

    def record(self, item: ItemOutcome[Any]) -> None:
        """Append one finished item (done, unchanged or failed)."""
        self.record_many((item,))

    def record_many(self, items: Iterable[ItemOutcome[Any]]) -> None:
        """Append the items one call settled, with one ``write``."""
        tail = f',"at":"{format_time(datetime.now(timezone.utc))}"}}\n'
        parts: list[str] = []
        for item in items:
            extra = ""
            if item.detail:
                extra += ',"detail":' + json.dumps(item.detail)
            if item.error is not None:
                extra += ',"error":' + json.dumps(f"{type(item.error).__name__}: {item.error}")
            parts.append('{"key":' + _json_str(item.decision.key) + _OUTCOME[item.outcome])
            parts.append(extra + tail)
        if parts:
            self._write("".join(parts), len(parts) // 2)

    def _write(self, text: str, lines: int) -> None:
        if self._fd is None:
            raise RuntimeError("journal is not open")
        data = memoryview(text.encode("utf-8"))
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        self._unsynced += lines
        if self._unsynced >= _FSYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        if self._fd is not None and self._unsynced:
            os.fsync(self._fd)
            self._unsynced = 0

    def close(self) -> None:
        try:
            if self._fd is not None:
                try:
                    self.sync()
                finally:
                    os.close(self._fd)
                    self._fd = None
        finally:
            self._lock.release()
