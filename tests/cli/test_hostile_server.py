"""The command line against servers that answer badly: one ``error:`` line, exit code 1 (a
server fault, not a usage error), and never the token (issue 11, rows 6 and 16)."""

from __future__ import annotations

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from hf_access.cli.app import cli

from ..core._hostile import Handler, threaded
from .conftest import REPO, SECRET


def run_against(handler: Handler, *args: str, verbose: bool = False) -> Result:
    with threaded(handler) as server:
        head = ["--endpoint", server.url, "--token", SECRET] + (["-v"] if verbose else [])
        return CliRunner().invoke(cli, [*head, *args], catch_exceptions=False)


def one_error_line(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    return errors[0]


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/", "http://h:1:2/", "http://[::1/"])
def test_a_malformed_redirect_is_one_line_and_exit_1(location: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    result = run_against(handler, "list", REPO)
    assert result.exit_code == 1
    assert "malformed" in one_error_line(result)


def test_deeply_nested_json_is_one_line_and_exit_1() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"[" * 100_000 + b"]" * 100_000, content_type="application/json")

    result = run_against(handler, "list", REPO)
    assert result.exit_code == 1
    one_error_line(result)


def test_a_server_echoing_the_token_never_gets_it_printed() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        seen = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
        return web.json_response({"error": f"no, you sent {seen}"}, status=400)

    for args in (("list", REPO), ("accept", REPO, "alice", "--no-batch")):
        result = run_against(handler, *args, verbose=True)
        assert SECRET not in result.output
        assert "[token hidden]" in result.output
