"""Both fake servers: warning-free on every aiohttp, quiet when a client disconnects."""

from __future__ import annotations

import ast
import asyncio
import logging
import pathlib
import socket
import struct

import aiohttp
import pytest

from hf_access import testing
from hf_access.testing import FakeHub
from hf_access.testing.gitlab import FakeGitLab

SOURCES = sorted(pathlib.Path(testing.__file__).parent.rglob("*.py"))


def test_no_string_keys_on_requests_or_apps() -> None:
    # aiohttp 3.14 warns (NotAppKeyWarning) on string keys of an Application, a Request or a
    # Response; under a user's `filterwarnings = error` that warning became a 500 answer.
    # web.RequestKey does not exist on aiohttp 3.9, so the fakes keep no per-request state.
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
                assert node.value.id not in ("request", "app", "response"), (
                    f"{path.name}:{node.lineno}: store state elsewhere than {node.value.id}[...]"
                )


@pytest.mark.filterwarnings("error")
async def test_every_route_answers_without_a_warning_turned_error() -> None:
    async with FakeHub() as hub, FakeGitLab() as gl, aiohttp.ClientSession() as session:
        hub.add_repo("acme/model")
        hub.seed_pending("acme/model", 2)
        hub.add_user("alice")
        hub.add_token("hf_alice", user="alice", role="read")
        gl.add_project("acme/app")
        gl.seed_requests("acme/app", 2)
        owner = {"Authorization": f"Bearer {hub.token}"}
        alice = {"Authorization": "Bearer hf_alice"}
        access = f"{hub.url}/api/models/acme/model/user-access-request"
        calls = [
            ("GET", f"{access}/pending", owner, None),
            ("POST", f"{access}/handle", owner, {"user": "user-000000", "status": "accepted"}),
            ("POST", f"{access}/grant", owner, {"user": "alice"}),
            ("POST", f"{access}/batch", owner, {"status": "rejected", "requests": [{"user": "x"}]}),
            ("GET", f"{hub.url}/acme/model/user-access-report", owner, None),
            ("PUT", f"{hub.url}/api/models/acme/model/settings", owner, {"gated": "manual"}),
            ("GET", f"{hub.url}/api/models/acme/model?expand[]=gated", {}, None),
            ("POST", f"{hub.url}/acme/model/ask-access", alice, None),
            ("POST", f"{access}/cancel", alice, None),
        ]
        root = {"PRIVATE-TOKEN": gl.token}
        api = f"{gl.url}/api/v4/projects/acme%2Fapp"
        uid = gl.user("user-000000").id
        calls += [
            ("GET", f"{api}/access_requests", root, None),
            ("PUT", f"{api}/access_requests/{uid}/approve", root, None),
            ("DELETE", f"{api}/access_requests/{uid + 1}", root, None),
            ("GET", f"{api}/members/{uid}", root, None),
            ("GET", f"{gl.url}/api/v4/user", root, None),
            ("GET", f"{gl.url}/api/v4/users?username=root", {}, None),
        ]
        for method, url, headers, body in calls:
            async with session.request(
                method, url, headers=headers, json=body, allow_redirects=False
            ) as response:
                assert response.status < 500, (method, url, await response.text())


async def _send_half_a_body(port: int, head: str) -> None:
    """Send a request whose body is cut short, then reset the connection."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode() + b'Content-Length: 1000\r\n\r\n{"user')
    await writer.drain()
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset
    writer.close()


async def _until_logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    async def poll() -> None:
        while not any(text in record.getMessage() for record in caplog.records):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout=10)


async def test_a_client_hanging_up_mid_body_logs_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeHub() as hub, FakeGitLab() as gl:
        hub.add_repo("acme/model")
        gl.add_project("acme/app")
        gl.add_request("acme/app", "alice")
        uid = gl.user("alice").id
        await _send_half_a_body(
            hub.port,
            "POST /api/models/acme/model/user-access-request/handle HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {hub.token}\r\nContent-Type: application/json\r\n",
        )
        await _until_logged(caplog, "fake Hub: client gone")
        await _send_half_a_body(
            gl.port,
            f"PUT /api/v4/projects/1/access_requests/{uid}/approve HTTP/1.1\r\nHost: x\r\n"
            f"PRIVATE-TOKEN: {gl.token}\r\nContent-Type: application/json\r\n",
        )
        await _until_logged(caplog, "fake GitLab: client gone")
        assert gl.state("acme/app").requests == ("alice",)  # nothing was decided
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert noisy == []


async def test_idle_waits_for_a_killed_clients_last_call() -> None:
    from hf_access.testing import Faults

    async with FakeHub(faults=Faults(latency_ms=150)) as hub:
        hub.add_repo("acme/model")
        [user] = hub.seed_pending("acme/model", 1)
        assert not hub.busy
        # A client that sends its call and vanishes, as a process killed mid-call would.
        _, writer = await asyncio.open_connection("127.0.0.1", hub.port)
        body = b'{"user": "%s", "status": "accepted"}' % user.encode()
        writer.write(
            b"POST /api/models/acme/model/user-access-request/handle HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {hub.token}\r\n".encode()
            + b"Content-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()
        assert hub.busy
        await hub.idle()
        assert not hub.busy
        # Applied, or dropped with its connection (as the aiohttp in use does): no handler is
        # left to change it.
        assert hub.request_status("acme/model", user) in ("accepted", "pending")


async def test_idle_gives_up_on_a_connection_held_open() -> None:
    async with FakeHub() as hub:
        _, writer = await asyncio.open_connection("127.0.0.1", hub.port)
        try:
            with pytest.raises(TimeoutError, match=r"still busy after 0\.05s"):
                await hub.idle(timeout=0.05)
        finally:
            writer.close()
        await hub.idle()
