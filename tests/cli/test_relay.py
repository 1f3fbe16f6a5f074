"""``hf-access relay`` (one pass), ``relay status`` and ``relay replay``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import Result

from hf_access.webhooks import verify

from .conftest import REPO, SECRET, Cli

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Sink:
    def __init__(self, status: int = 204) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        self.status = status
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                message = verify(dict(self.headers.items()), body, WEBHOOK_SECRET)
                sink.bodies.append((message.id, body))
                self.send_response(sink.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def sink() -> Iterator[Sink]:
    receiver = Sink()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def relay_once(run: Cli, sink: Sink, outbox: Path, *extra: str, secret: bool = True) -> Result:
    args = ["relay", REPO, "--to", sink.url, "--outbox", str(outbox), "--once", *extra]
    env = {"HF_ACCESS_WEBHOOK_SECRET": WEBHOOK_SECRET if secret else None}
    return run(*args, env=env)


def test_one_pass_delivers_the_backlog_then_status_and_replay(
    run: Cli, sink: Sink, tmp_path: Path
) -> None:
    outbox = tmp_path / "relay.db"
    result = relay_once(run, sink, outbox, "--include-existing")
    assert result.exit_code == 0, result.output
    users = [json.loads(body)["data"]["user"] for _, body in sink.bodies]
    assert users == [f"user-{i:06d}" for i in range(5)]
    assert "delivered 5" in result.output
    text = f"{result.output}"
    assert WEBHOOK_SECRET[6:] not in text
    assert SECRET not in text

    status = run("relay", "status", "--outbox", str(outbox), "--format", "json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.output) | {"oldest_pending": None} == {
        "pending": 0,
        "delivered": 5,
        "dead": 0,
        "oldest_pending": None,
        "disabled": {},
        "dead_letters": [],
    }
    again = relay_once(run, sink, outbox)  # nothing new: nothing sent twice
    assert again.exit_code == 0
    assert len(sink.bodies) == 5

    first_id = sink.bodies[0][0]
    replay = run("relay", "replay", "--outbox", str(outbox), "--id", first_id)
    assert replay.exit_code == 0, replay.output
    assert "1 event(s) queued again" in replay.output
    relay_once(run, sink, outbox)
    assert [i for i, _ in sink.bodies].count(first_id) == 2

    since = run("relay", "replay", "--outbox", str(outbox), "--since", "1h")
    assert "5 event(s) queued again" in since.output
    unknown = run("relay", "replay", "--outbox", str(outbox), "--id", "msg_nope")
    assert unknown.exit_code == 1
    text_status = run("relay", "status", "--outbox", str(outbox))
    assert "pending    5" in text_status.output


def test_a_new_request_after_the_first_pass_is_delivered(
    run: Cli, sink: Sink, tmp_path: Path
) -> None:
    outbox = tmp_path / "relay.db"
    assert relay_once(run, sink, outbox).exit_code == 0
    assert sink.bodies == []  # the backlog is not relayed without --include-existing
    run.hub.add_user("newcomer")
    run.hub.ask_access(REPO, "newcomer")
    assert relay_once(run, sink, outbox).exit_code == 0
    assert [json.loads(b)["data"]["user"] for _, b in sink.bodies] == ["newcomer"]


def test_usage_errors(run: Cli, sink: Sink, tmp_path: Path) -> None:
    outbox = tmp_path / "relay.db"
    no_secret = relay_once(run, sink, outbox, secret=False)
    assert no_secret.exit_code == 2
    assert "HF_ACCESS_WEBHOOK_SECRET" in no_secret.output
    bad_status = relay_once(run, sink, outbox, "--statuses", "pending,granted")
    assert bad_status.exit_code == 2
    assert "granted" in bad_status.output
    bad_age = relay_once(run, sink, outbox, "--max-age", "soon")
    assert bad_age.exit_code == 2
    both = run("relay", "replay", "--outbox", str(outbox), "--id", "x", "--since", "1h")
    assert both.exit_code == 2
    junk = tmp_path / "junk.db"
    junk.write_text("not a database " * 100)
    status = run("relay", "status", "--outbox", str(junk))
    assert status.exit_code == 2
    assert "not a relay outbox" in status.output


def test_a_secret_on_the_command_line_is_never_echoed(run: Cli, sink: Sink, tmp_path: Path) -> None:
    outbox = tmp_path / "relay.db"
    result = run(
        "relay",
        REPO,
        "--to",
        sink.url,
        "--secret",
        WEBHOOK_SECRET,
        "--outbox",
        str(outbox),
        "--once",
        "--include-existing",
        "-h",
    )
    assert WEBHOOK_SECRET not in result.output
    done = relay_once(run, sink, outbox, "--include-existing")
    assert WEBHOOK_SECRET[6:] not in done.output
