"""A real redis-server for the fleet tests: started on a free port of 127.0.0.1, stopped after.

The server keeps nothing on disk (no RDB, no AOF) and works in its own temporary directory.
Where no ``redis-server`` binary (or no redis-py) can be had, these tests are skipped with the
reason; ``make test`` installs both where the machine allows it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

pytest.importorskip(
    "redis", reason="the fleet tests need redis-py: pip install -e '.[redis]' (make test does)"
)

from hf_access.testing import FakeHub


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process that a test may kill (-9) and start again on the same port."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--logfile", str(self.workdir / "redis.log"),
                "--daemonize", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.workdir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited at start:\n{log}")
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not answer within 10 s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """Send one command (RESP) and return the raw first reply."""
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        with socket.create_connection(("127.0.0.1", self.port), timeout=2.0) as s:
            s.sendall(b"".join(parts))
            return s.recv(65536)

    def kill(self) -> None:
        """Kill -9: no goodbye to the clients."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture(scope="session")
def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "no redis-server on PATH: the fleet tests run against a real Redis "
            "(apt-get install redis-server; `make test` installs it when run as root)"
        )
    return binary


def _server(binary: str, tmp: Path) -> Iterator[RedisServer]:
    server = RedisServer(binary, tmp)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def shared_redis(
    redis_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    yield from _server(redis_binary, tmp_path_factory.mktemp("redis"))


@pytest.fixture
def redis_url(shared_redis: RedisServer) -> str:
    """The shared server's URL, emptied for this test."""
    if not shared_redis.ping():  # a test killed it: bring it back
        shared_redis.start()
    assert shared_redis.command("FLUSHALL").startswith(b"+OK")
    return shared_redis.url


@pytest.fixture
def own_redis(redis_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, to kill and restart."""
    yield from _server(redis_binary, tmp_path)


@pytest.fixture
async def fake_hub() -> AsyncIterator[FakeHub]:
    async with FakeHub(quota=20, window=2) as hub:
        hub.add_repo("owner/model")
        yield hub
