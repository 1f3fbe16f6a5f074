"""One process per file: an OS lock on a journal or a state file, held while it is used.

The lock is ``flock`` on a small companion file, ``<file>.lock``, which also holds the pid of
the process that has it, so a second process is told at once who has the file. The kernel
drops the lock when the process ends, however it ends (``kill -9`` included): there is no
stale lock to clean up, and the ``.lock`` file left behind is harmless. The companion file
is locked rather than the file itself because state files are replaced on every save.

Within one process the lock is counted: a second user of the same file in the same process
(e.g. a service restarted in a test) shares it, unless the lock is ``exclusive``.
Where the OS has no ``flock`` (Windows), nothing is locked.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "run.jsonl")
>>> with FileLock(path):
...     FileLock(path, exclusive=True).acquire()
Traceback (most recent call last):
...
hf_access.core.errors.FileInUseError: ...run.jsonl is in use by process ...: one process per file
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from types import TracebackType

from .errors import FileInUseError

_HAVE_FLOCK: bool
try:
    import fcntl

    _HAVE_FLOCK = True
except ImportError:  # pragma: no cover - Windows: no flock
    _HAVE_FLOCK = False

__all__ = ["FileLock"]

_held: dict[str, tuple[int, int]] = {}  # lock file -> (fd, holders in this process)
_guard = threading.Lock()


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode("ascii").strip() or "x")
    return None


class FileLock:
    """The lock of ``path`` (a context manager; :meth:`acquire` raises
    :class:`~hf_access.FileInUseError` at once when another process holds it)."""

    def __init__(self, path: str | os.PathLike[str], *, exclusive: bool = False) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.exclusive = exclusive
        self._mine = False

    def acquire(self) -> None:
        if self._mine or not _HAVE_FLOCK:
            self._mine = True
            return
        key = os.path.abspath(self.lock_path)
        with _guard:
            if key in _held:
                fd, count = _held[key]
                if self.exclusive:
                    raise FileInUseError(str(self.path), os.getpid())
                _held[key] = (fd, count + 1)
                self._mine = True
                return
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _read_pid(fd)
                os.close(fd)
                raise FileInUseError(str(self.path), pid) from None
            except BaseException:
                os.close(fd)
                raise
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            _held[key] = (fd, 1)
            self._mine = True

    def release(self) -> None:
        if not self._mine:
            return
        self._mine = False
        if not _HAVE_FLOCK:
            return
        key = os.path.abspath(self.lock_path)
        with _guard:
            fd, count = _held.pop(key, (-1, 0))
            if count > 1:
                _held[key] = (fd, count - 1)
            elif fd >= 0:
                os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
