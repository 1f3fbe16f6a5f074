"""The journal of a GitLab bulk run, in the format of :mod:`hf_access.journal`.

One JSON line per finished item, appended with a single ``write`` (it survives a kill); a
rerun skips the keys recorded ``done`` or ``unchanged``. A torn last line is ignored::

    {"journal": "hf-access", "version": 1}
    {"key": "gitlab:project:acme/app|alice|approve:30", "outcome": "done", "at": "..."}
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from .._convert import format_hub_time
from ..bulk_models import Outcome
from .bulk_models import GitLabItemOutcome

_HEADER = {"journal": "hf-access", "version": 1}


class GitLabJournal:
    """Append-only record of finished items (one process at a time)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def load(self) -> dict[str, tuple[Outcome, str | None]]:
        """The last outcome and detail recorded for every key (empty for a missing file)."""
        entries: dict[str, tuple[Outcome, str | None]] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return entries
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError
                if data.get("journal") == "hf-access":
                    continue
                key, outcome = str(data["key"]), Outcome(data["outcome"])
            except (KeyError, ValueError):
                if number == len(lines):
                    break  # torn last line: the process died while writing it
                raise ValueError(f"{self.path}:{number}: not a journal line") from None
            detail = data.get("detail")
            entries[key] = (outcome, detail if isinstance(detail, str) else None)
        return entries

    def open(self) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_torn_tail()
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if fresh:
            self._write(_HEADER)

    def _drop_torn_tail(self) -> None:
        """Cut a torn last line (no final newline), so new lines are not glued to it."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        if data and not data.endswith(b"\n"):
            os.truncate(self.path, data.rfind(b"\n") + 1)

    def record(self, item: GitLabItemOutcome) -> None:
        """Append one finished item (done, unchanged or failed)."""
        line: dict[str, object] = {
            "key": item.decision.key,
            "outcome": item.outcome.value,
            "at": format_hub_time(datetime.now(timezone.utc)),
        }
        if item.user_id is not None:
            line["user_id"] = item.user_id
        if item.detail:
            line["detail"] = item.detail
        if item.error is not None:
            line["error"] = f"{type(item.error).__name__}: {item.error}"
        self._write(line)

    def _write(self, data: dict[str, object]) -> None:
        if self._fd is None:
            raise RuntimeError("journal is not open")
        os.write(self._fd, (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8"))

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
