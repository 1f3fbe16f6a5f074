"""The relay's outbox: every event from the moment it is seen until it is delivered, in SQLite.

One file (WAL mode, so ``hf-access relay status`` and ``replay`` read and write while a relay
runs). Tables: ``events`` (pending and delivered, in the order they were seen: ``seq``),
``dead_letters`` (events given up on) and ``meta`` (the watch's positions and each
endpoint's disabled flag, written in the same transaction as the events they account for, so
a crash at any point either keeps both or loses both: what is lost is seen again on the Hub).
The secret is never stored; bodies hold requesters' names and e-mails, so a new file is made
readable by its owner only.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import attrs

__all__ = ["NewEvent", "Outbox", "OutboxEvent", "OutboxStats"]

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    repo TEXT NOT NULL,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    seen_at REAL NOT NULL,
    age_from REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS events_by_state ON events (state, repo, seq);
CREATE INDEX IF NOT EXISTS events_by_seen ON events (seen_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    repo TEXT NOT NULL,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    seen_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    died_at REAL NOT NULL
);
"""

_COLUMNS = "seq, id, repo, type, body, seen_at, age_from, state, attempts, next_at, last_status, last_error, delivered_at"


@attrs.frozen
class NewEvent:
    """An event to queue: its stable id, ordering key (the repo), type and exact body."""

    id: str
    repo: str
    type: str
    body: bytes


@attrs.frozen
class OutboxEvent:
    """One row of the outbox."""

    seq: int
    id: str
    repo: str
    type: str
    body: bytes = attrs.field(repr=False)
    seen_at: float
    age_from: float
    state: str
    attempts: int
    next_at: float
    last_status: int | None
    last_error: str | None
    delivered_at: float | None


@attrs.frozen
class OutboxStats:
    """Counts of an outbox, for ``hf-access relay status``."""

    pending: int
    delivered: int
    dead: int
    oldest_pending: float | None
    """When the oldest undelivered event was seen (epoch seconds)."""
    disabled: Mapping[str, str]
    """Endpoints that answered 410, with when and why."""


class Outbox:
    """The SQLite outbox at ``path`` (created when missing; ``":memory:"`` keeps it in
    memory, for demos and tests). See the module doc.

    >>> import tempfile, os
    >>> box = Outbox(os.path.join(tempfile.mkdtemp(), "relay.db"))
    >>> box.record([NewEvent("msg_1", "model:org/m", "access_request.created", b"{}")], now=10)
    1
    >>> [e.id for e in box.due(now=10)]
    ['msg_1']
    >>> box.close()
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        memory = str(path) == ":memory:"  # nothing survives the process: demos and tests
        if not memory and not self.path.exists():
            with contextlib.suppress(FileExistsError):  # private: bodies hold e-mails
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        try:
            where = ":memory:" if memory else self.path
            self._db = sqlite3.connect(where, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            raise ValueError(f"{self.path}: cannot open the outbox: {exc}") from None
        try:
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self._write():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                found = self._meta("schema")
                if found is None:
                    self._set_meta("schema", SCHEMA_VERSION)
                elif found != SCHEMA_VERSION:
                    raise ValueError(f"{self.path}: outbox schema {found}, expected 1")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ValueError(f"{self.path}: not a relay outbox ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r})"

    @contextmanager
    def _write(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- queueing ------------------------------------------------------------------------

    def record(
        self,
        events: Iterable[NewEvent],
        *,
        now: float,
        meta: Mapping[str, str | None] | None = None,
    ) -> int:
        """Queue ``events`` (an id already known is left alone) and write ``meta``, in one
        transaction; return how many were new."""
        added = 0
        with self._write():
            for event in events:
                known = self._db.execute(
                    "SELECT 1 FROM events WHERE id = ? UNION ALL SELECT 1 FROM dead_letters"
                    " WHERE id = ?",
                    (event.id, event.id),
                ).fetchone()
                if known:
                    continue
                self._db.execute(
                    "INSERT INTO events (id, repo, type, body, seen_at, age_from, next_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (event.id, event.repo, event.type, event.body, now, now, now),
                )
                added += 1
            for key, value in (meta or {}).items():
                self._set_meta(key, value)
        return added

    def meta(self, key: str) -> str | None:
        """A value written with :meth:`record` (``None`` when absent)."""
        return self._meta(key)

    # -- delivering ----------------------------------------------------------------------

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[OutboxEvent]:
        return [OutboxEvent(*row) for row in self._db.execute(sql, args).fetchall()]

    def heads(self) -> list[OutboxEvent]:
        """The oldest pending event of every repo (only a head may be sent: order per repo)."""
        return self._rows(
            f"SELECT {_COLUMNS} FROM events WHERE seq IN"
            " (SELECT MIN(seq) FROM events WHERE state = 'pending' GROUP BY repo) ORDER BY seq"
        )

    def pending_of(self, repo: str, *, limit: int = 1) -> list[OutboxEvent]:
        """The oldest pending events of ``repo``, in order (at most ``limit``)."""
        return self._rows(
            f"SELECT {_COLUMNS} FROM events WHERE repo = ? AND state = 'pending'"
            " ORDER BY seq LIMIT ?",
            (repo, limit),
        )

    def due(self, *, now: float) -> list[OutboxEvent]:
        """The heads whose next attempt is due at ``now``."""
        return [e for e in self.heads() if e.next_at <= now]

    def next_due(self) -> float | None:
        """When the earliest head is due (``None``: nothing pending)."""
        return min((e.next_at for e in self.heads()), default=None)

    def get(self, event_id: str) -> OutboxEvent | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM events WHERE id = ?", (event_id,))
        return rows[0] if rows else None

    def events(self, *, state: str | None = None) -> list[OutboxEvent]:
        """Every event (of one ``state``: pending, delivered), in the order seen."""
        if state is None:
            return self._rows(f"SELECT {_COLUMNS} FROM events ORDER BY seq")
        return self._rows(f"SELECT {_COLUMNS} FROM events WHERE state = ? ORDER BY seq", (state,))

    def delivered(self, event_id: str, *, status: int, now: float) -> None:
        # one statement: a transaction of its own (autocommit), no BEGIN/COMMIT round
        self._db.execute(
            "UPDATE events SET state = 'delivered', delivered_at = ?, attempts = attempts + 1,"
            " last_status = ?, last_error = NULL WHERE id = ?",
            (now, status, event_id),
        )

    def failed(self, event_id: str, *, status: int | None, error: str, next_at: float) -> None:
        """One more failed attempt; the next is due at ``next_at``."""
        self._db.execute(
            "UPDATE events SET attempts = attempts + 1, last_status = ?, last_error = ?,"
            " next_at = ? WHERE id = ?",
            (status, error, next_at, event_id),
        )

    def bury(self, event_id: str, *, status: int | None, error: str, now: float) -> None:
        """A last failed attempt: move the event to the dead letters."""
        with self._write():
            self._db.execute(
                "INSERT OR REPLACE INTO dead_letters (seq, id, repo, type, body, seen_at,"
                " attempts, last_status, last_error, died_at) SELECT seq, id, repo, type, body,"
                " seen_at, attempts + 1, ?, ?, ? FROM events WHERE id = ?",
                (status, error, now, event_id),
            )
            self._db.execute("DELETE FROM events WHERE id = ?", (event_id,))

    def dead_letters(self) -> list[tuple[str, str, str, int, str | None, float]]:
        """``(id, repo, type, attempts, last_error, died_at)`` of every dead letter."""
        rows = self._db.execute(
            "SELECT id, repo, type, attempts, last_error, died_at FROM dead_letters ORDER BY seq"
        ).fetchall()
        return [tuple(row) for row in rows]

    # -- endpoints -----------------------------------------------------------------------

    def disabled(self, url: str) -> str | None:
        """Why ``url`` is disabled (it answered 410), or ``None``."""
        return self._meta(f"disabled:{url}")

    def set_disabled(self, url: str, reason: str | None) -> None:
        with self._write():
            self._set_meta(f"disabled:{url}", reason)

    # -- operator's tools ----------------------------------------------------------------

    def stats(self) -> OutboxStats:
        counts = dict(
            self._db.execute("SELECT state, COUNT(*) FROM events GROUP BY state").fetchall()
        )
        (dead,) = self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()
        (oldest,) = self._db.execute(
            "SELECT MIN(seen_at) FROM events WHERE state = 'pending'"
        ).fetchone()
        disabled = dict(
            self._db.execute(
                "SELECT substr(key, 10), value FROM meta WHERE key LIKE 'disabled:%'"
            ).fetchall()
        )
        return OutboxStats(
            pending=int(counts.get("pending", 0)),
            delivered=int(counts.get("delivered", 0)),
            dead=int(dead),
            oldest_pending=oldest,
            disabled=disabled,
        )

    def replay(self, *, now: float, since: float | None = None, event_id: str | None = None) -> int:
        """Queue again the events seen at or after ``since``, or the one ``event_id``
        (delivered or dead): same id, same body, a fresh age. Return how many."""
        if (since is None) == (event_id is None):
            raise ValueError("replay takes exactly one of since and event_id")
        where, args = ("seen_at >= ?", (since,)) if since is not None else ("id = ?", (event_id,))
        with self._write():
            self._db.execute(
                "INSERT INTO events (seq, id, repo, type, body, seen_at, age_from, next_at)"
                f" SELECT seq, id, repo, type, body, seen_at, ?, ? FROM dead_letters WHERE {where}",
                (now, now, *args),
            )
            revived = self._db.execute(f"DELETE FROM dead_letters WHERE {where}", args).rowcount
            again = self._db.execute(
                "UPDATE events SET state = 'pending', attempts = 0, next_at = ?, age_from = ?,"
                f" delivered_at = NULL WHERE {where} AND state = 'delivered'",
                (now, now, *args),
            ).rowcount
        return int(revived) + int(again)

    def prune(self, *, before: float) -> int:
        """Forget delivered events delivered before ``before``; return how many."""
        with self._write():
            cursor = self._db.execute(
                "DELETE FROM events WHERE state = 'delivered' AND delivered_at < ?", (before,)
            )
        return int(cursor.rowcount)
