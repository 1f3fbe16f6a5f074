"""``--redis URL`` on the command line: the quota shared under the token's user, watch as a
replica of a fleet (only the leader decides), the URL's password never printed."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hf_access.cli.app import cli
from hf_access.testing import FakeHub

from .conftest import RedisServer

REPO = "acme/model"
SECRET = "hf_FleetCLIsecretTOKEN0123456789"


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_TOKEN", "HF_ENDPOINT", "HF_TOKEN_PATH", "HF_ACCESS_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as server:
        server.add_repo(REPO)
        server.seed_pending(REPO, 4)
        server.add_user("carol")
        server.add_token(SECRET, user="carol", role="write", namespaces=["acme"])
        yield server


def invoke(hub: FakeHub, *args: str, env: dict[str, str] | None = None) -> Result:
    head = ["--endpoint", hub.url, "--token", SECRET]
    return CliRunner().invoke(cli, [*head, *args], env=env, catch_exceptions=False)


def test_a_bulk_command_spends_the_users_shared_quota(
    hub: FakeHub, shared_redis: RedisServer, redis_url: str
) -> None:
    result = invoke(hub, "accept", REPO, "user-000000", "user-000001", "--yes",
                    env={"HF_ACCESS_REDIS_URL": redis_url})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert hub.request_status(REPO, "user-000001") == "accepted"
    # The window lives under the token's user (asked once with whoami), never the token.
    keys = shared_redis.command("KEYS", "*")
    assert b"hf-access:limiter:{hub:carol}" in keys
    assert SECRET.encode() not in keys


def test_a_gitlab_command_spends_the_users_shared_quota(
    shared_redis: RedisServer, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hf_access.testing.gitlab import FakeGitLab

    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    secret = "glpat-FleetCLIsecret0123456789"
    with FakeGitLab() as gitlab:
        gitlab.add_project("acme/app")
        gitlab.seed_requests("acme/app", 2)
        gitlab.add_token(secret, "maintainer1", 40)
        args = ["--redis", redis_url, "gitlab", "--url", gitlab.url, "--token", secret]
        result = CliRunner().invoke(cli, [*args, "list", "acme/app"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # Named after the token's user (GET /user, once), never the token or a digest of it.
    keys = shared_redis.command("KEYS", "*")
    assert b"hf-access:limiter:{gitlab:127.0.0.1:maintainer1}" in keys
    assert secret.encode() not in keys


def test_an_explicit_key(hub: FakeHub, shared_redis: RedisServer, redis_url: str) -> None:
    result = invoke(hub, "--redis", redis_url, "--redis-key", "hub:team", "list", REPO)
    assert result.exit_code == 0, result.output
    assert b"hf-access:limiter:{hub:team}" in shared_redis.command("KEYS", "*")


def test_watch_replicas_decide_once(hub: FakeHub, redis_url: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('default = "accept"\n')
    first = invoke(
        hub, "--redis", redis_url, "watch", REPO, "--policy", str(policy), "--once",
        "--include-existing",
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    assert sum(hub.request_status(REPO, f"user-00000{i}") == "accepted" for i in range(4)) == 4
    # Its lead was given back at exit; the next replica continues from the shared position.
    hub.seed_pending(REPO, 1, prefix="late")
    second = invoke(hub, "--redis", redis_url, "watch", REPO, "--policy", str(policy), "--once")
    assert second.exit_code == 0, second.output
    assert "late-000000" in second.output
    assert "user-000000" not in second.output


def test_an_unreachable_redis_never_shows_its_password(hub: FakeHub) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://:pa55word-secret@127.0.0.1:{port}/0"
    result = invoke(hub, "--redis", url, "--redis-key", "hub:carol", "list", REPO)
    assert result.exit_code == 0, result.output  # the local fallback carries the command
    assert "pa55word-secret" not in result.output
