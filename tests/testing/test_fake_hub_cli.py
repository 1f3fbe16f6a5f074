"""``python -m hf_access.testing serve``: options, the ``listening on`` line, clean stops."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from hf_access.testing import OWNER_TOKEN
from hf_access.testing.__main__ import build_parser, describe, main, make_hub


def _get(url: str, token: str) -> tuple[int, dict[str, str], object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _first_line(process: subprocess.Popen[str], timeout: float = 30.0) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the server printed nothing in time"
    return process.stdout.readline()


@pytest.fixture
def server() -> Iterator[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "hf_access.testing", "serve", "--port", "0"]
    command += ["--repo", "acme/model", "--repo", "acme/other", "--seed-pending", "3"]
    command += ["--token", "hf_read:read", "--token", "hf_extra", "--user", "alice"]
    command += ["--quota", "50", "--window", "60"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_and_stops_on_signal(
    server: subprocess.Popen[str], signum: signal.Signals
) -> None:
    line = _first_line(server)
    assert line.startswith("listening on http://127.0.0.1:")
    url = line.removeprefix("listening on ").strip()
    assert int(url.rsplit(":", 1)[1]) > 0
    assert server.stdout is not None  # the rest was printed (and flushed) with the first line
    assert [server.stdout.readline().strip() for _ in range(5)] == [
        "owner token: hf_fake_owner_token (user owner, write on every namespace)",
        "--token: read token of user owner",
        "--token: write token of user owner on every namespace",
        "repos (model, gated manual): acme/model, acme/other",
        "pending requests on each repo: user-000000, user-000001, user-000002",
    ]
    assert server.stdout.readline().strip() == "users: owner, alice"
    pending = f"{url}/api/models/acme/model/user-access-request/pending"
    status, headers, body = _get(pending, OWNER_TOKEN)
    assert status == 200
    assert [item["user"]["user"] for item in body] == [  # type: ignore[attr-defined]
        "user-000000",
        "user-000001",
        "user-000002",
    ]
    assert headers["RateLimit-Policy"] == '"fixed window";"api";q=50;w=60'
    other = f"{url}/api/models/acme/other/user-access-request/pending"
    assert len(_get(other, "hf_extra")[2]) == 3  # type: ignore[arg-type]
    assert _get(pending, "hf_read")[0] == 403
    server.send_signal(signum)
    assert server.wait(10) == 0


def test_parser_reads_every_option() -> None:
    options = build_parser().parse_args(
        [
            "serve",
            "--port=8765",
            "--repo=a/b",
            "--repo-type=dataset",
            "--gated=auto",
            "--hide-requesters",
            "--seed-pending=2",
            "--token=t1:read",
            "--token=t2:write:bob",
            "--user=carol",
            "--latency-ms=1.5",
            "--fail-rate=0.1",
            "--drop-rate=0.01",
            "--drop-after-rate=0.02",
            "--seed=9",
            "--quota=10",
            "--window=30",
        ]
    )
    assert options.token == [("t1", "read", "owner", None), ("t2", "write", "bob", None)]
    assert options.drop_after_rate == 0.02
    hub = make_hub(options)
    repo = hub.repo("a/b", repo_type="dataset")
    assert (repo.gated, repo.hide_requesters) == ("auto", True)
    assert sorted(hub.snapshot("a/b", repo_type="dataset")) == ["user-000000", "user-000001"]
    assert hub.user("carol").name == "carol"
    assert hub.user("bob").name == "bob"


def test_start_up_lines_name_the_owner_token_repos_and_users() -> None:
    options = build_parser("hf-access fake-hub").parse_args(
        [
            "--repo=acme/data",
            "--repo-type=dataset",
            "--gated=auto",
            "--hide-requesters",
            "--seed-pending=1000",
            "--token=t1:write:bob",
            "--token=t2:write:carol:acme,carol",
            "--user=alice",
        ]
    )
    lines = describe(options)
    assert lines[0] == "owner token: hf_fake_owner_token (user owner, write on every namespace)"
    assert lines[1:] == [
        "--token: write token of user bob on bob/...",
        "--token: write token of user carol on acme/..., carol/...",
        "repos (dataset, gated auto, requesters hidden): acme/data",
        "pending requests on each repo: user-000000, user-000001, ..., user-000999 (1000)",
        "users: owner, alice, bob, carol",
    ]
    assert "t1" not in "\n".join(lines)  # the tokens given on the command line are not repeated
    empty = describe(build_parser("x").parse_args([]))
    assert empty[1:] == ["repos: none (add some with --repo NS/NAME)", "users: owner"]


def test_help_names_the_command_that_runs_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"], prog="hf-access fake-hub")
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hf-access fake-hub [-h]")
    assert "python -m" not in out
    assert "--drop-after-rate" in out
    from click.testing import CliRunner

    from hf_access.cli.app import cli

    result = CliRunner().invoke(cli, ["fake-hub", "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("usage: hf-access fake-hub")
    bad = CliRunner().invoke(cli, ["fake-hub", "--drop-after-rate", "2"])
    assert bad.exit_code == 2
    assert "hf-access fake-hub: error" in bad.stderr


def test_namespaces_of_a_write_token() -> None:
    options = build_parser().parse_args(["serve", "--repo=acme/m", "--token=t:write:bob:acme"])
    hub = make_hub(options)
    assert options.token == [("t", "write", "bob", ("acme",))]
    assert hub.user("bob").name == "bob"


@pytest.mark.parametrize("bad", ["--token=x:admin", "--fail-rate=2", "--token=::"])
def test_bad_options_exit_2(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", bad])
    assert exited.value.code == 2


def test_bad_repo_id_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--repo", "no-slash"]) == 2
    assert "namespace/name" in capsys.readouterr().err
