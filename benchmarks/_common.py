"""Shared pieces of the benchmarks: a fake Hub in its own process, request traces, tables."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aiohttp
import attrs


@contextmanager
def fake_hub_process(*options: str) -> Iterator[str]:
    """Run ``python -m hf_access.testing serve *options``; yield its URL once it listens.

    Long option lists (thousands of ``--user``) are fine: they go on the command line.
    The server's stderr goes to a temporary file, shown if it fails to start.
    """
    command = [sys.executable, "-m", "hf_access.testing", "serve", *options]
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()  # the first line, once it listens
            if not line.startswith("listening on "):
                errors.seek(0)
                raise RuntimeError(f"the fake Hub did not start: {line!r} {errors.read()}")
            yield line.removeprefix("listening on ")
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Trace:
    """Timestamps (``time.time()``, the fake Hub's clock) of every request of an aiohttp session.

    ``starts`` holds when each request left, ``ends`` when its answer came and its status.
    """

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[tuple[float, int]] = []
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._start)
        self.config.on_request_end.append(self._end)

    async def _start(self, session: Any, context: Any, params: Any) -> None:
        self.starts.append(time.time())

    async def _end(self, session: Any, context: Any, params: Any) -> None:
        self.ends.append((time.time(), params.response.status))

    def statuses(self) -> Counter[int]:
        return Counter(status for _, status in self.ends)

    def sent_per_window(self, window: float, *, after: float = 0.0) -> Counter[int]:
        """Requests sent per fixed window (aligned on the epoch, as the fake Hub's)."""
        return Counter(int(t // window) for t in self.starts if t >= after)

    def session(self, limit: int = 64) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0)
        return aiohttp.ClientSession(connector=connector, trace_configs=[self.config])


@attrs.define
class Row:
    """One line of the final table."""

    scenario: str
    measured: str
    target: str
    ok: bool


def print_table(rows: Sequence[Row]) -> None:
    headers = ("scenario", "measured", "target", "result")
    cells = [(r.scenario, r.measured, r.target, "pass" if r.ok else "FAIL") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for cell in cells:
        print("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))


def machine() -> str:
    """A one-line description of where the benchmark ran."""
    import platform

    import aiohttp as http

    cpus = os.cpu_count() or 0
    return (
        f"Python {platform.python_version()}, aiohttp {http.__version__}, "
        f"{cpus} CPU{'s' if cpus != 1 else ''}, {platform.system()} {platform.machine()}"
    )


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:,.0f} s"
