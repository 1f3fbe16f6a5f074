"""The command line speaks its own words: options and environment variables, never the
library's arguments; ``--repo-type`` and ``datasets/`` work in every command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hf_access.cli.app import cli
from hf_access.testing import FakeHub

from .conftest import REPO, Cli


def test_no_token_names_the_environment_and_the_option(run: Cli) -> None:
    result = run("list", REPO, token=None)
    assert result.exit_code == 2
    assert "this command needs a token: set HF_TOKEN or --token" in result.stderr
    assert "token=" not in result.stderr


def test_plain_http_names_the_endpoint_option() -> None:
    args = ["--endpoint", "http://hub.example.test", "--token", "hf_x", "list", REPO]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "refusing to send a token over plain http" in result.stderr
    assert "give --endpoint (or HF_ENDPOINT) an https:// or loopback address" in result.stderr
    assert "allow_insecure_http" not in result.stderr


@pytest.mark.parametrize("command", [["list", REPO], ["accept", REPO, "user-000000"]])
def test_a_401_says_to_check_the_token(run: Cli, command: list[str]) -> None:
    result = run(*command, token="hf_not_a_real_token")
    assert result.exit_code == 2
    assert "check HF_TOKEN or --token" in result.stderr
    assert "hf_not_a_real_token" not in result.output


def test_gitlab_names_its_own_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    args = ["gitlab", "--url", "http://127.0.0.1:9", "list", "acme/app"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "set GITLAB_TOKEN or 'hf-access gitlab --token'" in result.stderr
    assert "token=" not in result.stderr


@pytest.fixture
def data(hub: FakeHub) -> FakeHub:
    hub.add_repo("acme/data", repo_type="dataset")
    hub.seed_pending("acme/data", 3, prefix="d", repo_type="dataset")
    return hub


@pytest.mark.parametrize(
    "where",
    [
        ["datasets/acme/data"],
        ["acme/data", "--repo-type", "dataset"],
        ["--repo-type", "dataset", "acme/data"],
    ],
)
def test_datasets_in_any_position_for_list(run: Cli, data: FakeHub, where: list[str]) -> None:
    result = run("list", *where, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3


def test_global_repo_type_still_works(run: Cli, data: FakeHub) -> None:
    result = run("--repo-type", "dataset", "report", "acme/data")
    assert result.exit_code == 0, result.output
    assert "3 entries" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["accept", "datasets/acme/data", "d-000000"],
        ["accept", "acme/data", "d-000000", "--repo-type", "dataset"],
        ["accept", "--repo", "datasets/acme/data", "d-000000"],
    ],
)
def test_datasets_in_any_position_for_decisions(run: Cli, data: FakeHub, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert data.request_status("acme/data", "d-000000", repo_type="dataset") == "accepted"


def test_report_gating_and_sync_take_the_prefix_too(run: Cli, data: FakeHub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert "3 entries" in run("report", "datasets/acme/data").stderr
    assert run("gating", "acme/data", "--repo-type", "dataset").stdout.startswith(
        "acme/data: gated manual"
    )
    users = tmp_path / "users.txt"
    users.write_text("d-000001\n", encoding="utf-8")
    plan = run("sync", "datasets/acme/data", "--users-file", str(users), "--plan")
    assert plan.exit_code == 0, plan.output


def test_grant_offers_only_options_that_apply(run: Cli) -> None:
    grant = run("grant", "--help").stdout
    assert "--no-batch" not in grant
    assert "--reason" not in grant
    assert "--repo-type" in grant
    assert "--no-batch" in run("accept", "--help").stdout


def test_help_texts_share_one_style() -> None:
    import click

    def walk(command: click.Command, path: str):  # type: ignore[no-untyped-def]
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}")

    for path, command in walk(cli, "hf-access"):
        assert "`" not in (command.help or ""), path  # no reST markup in --help
        summary = command.get_short_help_str(limit=200)
        assert summary.endswith((".", ")")), (path, summary)  # as listed by the group's --help
        for param in command.params:
            if isinstance(param, click.Option) and param.help:
                assert param.help.rstrip().endswith((".", ")")), (path, param.name)
