"""kill -9 the relay (a real ``hf-access relay`` process) at random points, several times, while
requesters keep arriving through the fake Hub: nothing is lost, ids are stable, nothing dies."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import standardwebhooks

from hf_access.screening._outbox import Outbox
from hf_access.testing import FakeHub

SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUta2lsbC10ZXN0LTAxMjM0NQ=="
REPOS = ("owner/crash-a", "owner/crash-b")


class Sink:
    """A receiver in a thread: verifies each delivery, fails some at random (500)."""

    def __init__(self, seed: int) -> None:
        self.got: list[tuple[str, dict[str, object]]] = []
        self.bad = 0
        self.lock = threading.Lock()
        rng = random.Random(seed)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    event = standardwebhooks.Webhook(SECRET).verify(body, headers)
                except standardwebhooks.WebhookVerificationError:
                    with sink.lock:
                        sink.bad += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                with sink.lock:
                    fail = rng.random() < 0.15
                    if not fail:
                        sink.got.append((headers["webhook-id"], event))
                self.send_response(500 if fail else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def snapshot(self) -> list[tuple[str, dict[str, object]]]:
        with self.lock:
            return list(self.got)


@pytest.fixture
def sink() -> Iterator[Sink]:
    receiver = Sink(seed=7)
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def start_relay(hub: FakeHub, sink: Sink, outbox: Path, home: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
        "HF_HOME": str(home),
        "HF_ACCESS_WEBHOOK_SECRET": SECRET,
    }
    command = [sys.executable, "-m", "hf_access.cli", "relay", *REPOS, "--to", sink.url]
    command += ["--outbox", str(outbox), "--interval", "0.1", "--include-existing"]
    command += ["--retry-delay", "0.05"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _pending(outbox: Path) -> int:
    box = Outbox(outbox)
    try:
        return box.stats().pending
    finally:
        box.close()


@pytest.mark.slow
def test_kill_9_at_random_points_loses_nothing(sink: Sink, tmp_path: Path) -> None:
    rng = random.Random(2026)
    outbox = tmp_path / "relay.db"
    asked: list[tuple[str, str]] = []
    with FakeHub() as hub:
        for repo in REPOS:
            hub.add_repo(repo)

        def arrive(count: int) -> None:
            for _ in range(count):
                name = f"req-{len(asked):03d}"
                repo = rng.choice(REPOS)
                hub.add_user(name)
                hub.ask_access(repo, name, fields={"n": len(asked)})
                asked.append((repo, name))

        arrive(3)  # already pending at the first start
        working_rounds = 0
        for round_ in range(6):
            before = len(sink.snapshot())
            relay = start_relay(hub, sink, outbox, tmp_path)
            if round_ % 2:  # at work: once something was delivered, a little later
                limit = time.monotonic() + 30
                while len(sink.snapshot()) == before and time.monotonic() < limit:
                    arrive(1)
                    time.sleep(0.05)  # pacing the requesters (bounded by the limit)
                deadline = time.monotonic() + rng.uniform(0.0, 0.3)
            else:  # anywhere: start-up, first poll, or at work
                deadline = time.monotonic() + rng.uniform(0.1, 1.2)
            while time.monotonic() < deadline:
                arrive(1)
                time.sleep(0.05)
            relay.send_signal(signal.SIGKILL)
            relay.wait(timeout=10)
            assert relay.returncode == -signal.SIGKILL
            working_rounds += len(sink.snapshot()) > before
        assert working_rounds >= 3  # the kills hit a relay at work, not only at start-up
        arrive(3)
        relay = start_relay(hub, sink, outbox, tmp_path)
        try:
            deadline = time.monotonic() + 60
            wanted = set(asked)
            while time.monotonic() < deadline:  # bounded: the relay catches up, or we fail
                got = {(e["data"]["repo_id"], e["data"]["user"]) for _, e in sink.snapshot()}  # type: ignore[index]
                # Delivered at the receiver is not yet marked so in the outbox: wait for both,
                # so the kill below cannot fall between a delivery and its mark.
                if got >= wanted and _pending(outbox) == 0:
                    break
                assert relay.poll() is None, relay.stderr.read() if relay.stderr else ""
                time.sleep(0.05)
        finally:
            relay.send_signal(signal.SIGKILL)
            relay.wait(timeout=10)
    deliveries = sink.snapshot()
    assert sink.bad == 0
    by_request: dict[tuple[str, str], set[str]] = {}
    first_seen: dict[str, list[str]] = {}
    for webhook_id, event in deliveries:
        data = event["data"]
        key = (data["repo_id"], data["user"])  # type: ignore[index]
        if webhook_id not in {i for ids in by_request.values() for i in ids}:
            first_seen.setdefault(key[0], []).append(data["requested_at"])  # type: ignore[index]
        by_request.setdefault(key, set()).add(webhook_id)
    assert set(by_request) == set(asked)  # every request delivered at least once
    assert all(len(ids) == 1 for ids in by_request.values())  # one stable id each
    assert len({webhook_id for webhook_id, _ in deliveries}) == len(asked)  # de-dup: once each
    for repo, stamps in first_seen.items():  # first deliveries in order per repo
        assert stamps == sorted(stamps), repo
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "hf_access.cli",
            "relay",
            "status",
            "--outbox",
            str(outbox),
            "--format",
            "json",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    summary = json.loads(status.stdout)
    assert summary["dead"] == 0
    assert summary["pending"] == 0
    assert summary["delivered"] == len(asked)
