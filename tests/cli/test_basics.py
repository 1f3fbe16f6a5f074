"""Global options, errors as one line, exit codes, the token never shown, the cli extra."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

import hf_access
from hf_access.cli import MISSING_EXTRA
from hf_access.cli.app import cli
from hf_access.testing import FakeHub

from .conftest import REPO, SECRET, Cli


def all_output(result: object) -> str:
    return f"{getattr(result, 'stdout', '')}\n{getattr(result, 'stderr', '')}"


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert hf_access.__version__ in result.stdout


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("list", "accept", "reject", "cancel", "reset", "grant", "report", "gating"):
        assert name in result.stdout
    assert "fake-hub" in result.stdout
    assert "demo" in result.stdout


def test_click_usage_errors_are_one_line_too() -> None:
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 2
    assert result.stderr == "error: Missing argument 'REPO'. (see 'hf-access list --help')\n"
    result = CliRunner().invoke(cli, ["list", REPO, "--format", "xml"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Invalid value for '--format'")


def test_no_token_is_a_usage_error_on_one_line(run: Cli) -> None:
    result = run("list", REPO, token=None)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: this command needs a token: set HF_TOKEN or --token")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_token_exit_2_and_never_printed(run: Cli) -> None:
    bad = "hf_NOTaVALIDtokenXYZ987654321"
    for verbose in ([], ["-v"], ["-vv"]):
        result = run(*verbose, "list", REPO, token=bad)
        assert result.exit_code == 2
        assert "401" in result.stderr
        assert bad not in all_output(result)
        if verbose:
            assert "Traceback" in result.stderr  # -v shows where it failed


def test_token_never_printed_in_any_output(run: Cli, tmp_path: object) -> None:
    outputs = [
        run("-vv", "list", REPO, "--format", "json"),
        run("-v", "accept", REPO, "user-000000", "nobody-1", "--format", "json"),
        run("-v", "accept", REPO, "user-000001", "--dry-run", "--format", "json"),
        run("-v", "report", REPO),
        run("-v", "gating", REPO),
        run("-v", "list", "acme/missing"),
    ]
    for result in outputs:
        assert SECRET not in all_output(result)
    assert any("DEBUG" in r.stderr for r in outputs)  # the logs were really on


def test_token_from_environment(run: Cli) -> None:
    result = run("list", REPO, "--format", "json", token=None, env={"HF_TOKEN": SECRET})
    assert result.exit_code == 0, result.stderr


def test_endpoint_from_environment(run: Cli) -> None:
    result = run("list", REPO, endpoint=False, env={"HF_ENDPOINT": run.hub.url})
    assert result.exit_code == 0, result.stderr


def test_read_token_is_permission_denied_exit_2(run: Cli) -> None:
    run.hub.add_user("reader")
    run.hub.add_token("hf_reader", user="reader", role="read")
    result = run("accept", REPO, "user-000000", token="hf_reader")
    assert result.exit_code == 2
    assert "error: 403" in result.stderr
    assert run.statuses()["user-000000"] == "pending"


def test_unknown_repo_is_exit_1_one_line(run: Cli) -> None:
    result = run("list", "acme/missing")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: 404 [RepoNotFound]")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "not-a-repo"], "invalid repo id"),
        (["list", REPO, "--search", "x" * 300], "search is limited"),
        (["reject", REPO, "user-000000", "--reason", "r" * 201], "at most 200"),
        (["accept", REPO, "bad name!"], "invalid user name"),
    ],
)
def test_bad_input_is_exit_2_before_sending(run: Cli, args: list[str], message: str) -> None:
    run.hub.reset_counters()
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert run.hub.counters.total_calls == 0


def test_repo_type_option(run: Cli) -> None:
    run.hub.add_repo("acme/data", repo_type="dataset")
    run.hub.seed_pending("acme/data", 2, repo_type="dataset")
    result = run("--repo-type", "dataset", "accept", "acme/data", "user-000000")
    assert result.exit_code == 0, result.stderr
    assert run.statuses("acme/data", repo_type="dataset")["user-000000"] == "accepted"


def test_fake_hub_delegates_to_the_testing_server() -> None:
    result = CliRunner().invoke(cli, ["fake-hub", "--help"])
    assert result.exit_code == 0
    assert "--seed-pending" in result.stdout
    bad = CliRunner().invoke(cli, ["fake-hub", "--fail-rate", "3"])
    assert bad.exit_code == 2


@pytest.mark.slow
def test_fake_hub_serves_until_interrupted(tmp_path: object) -> None:
    # The real process: start, read the announced URL, list through it, stop with SIGINT.
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "hf_access.cli", "fake-hub", "--repo", REPO, "--seed-pending", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        result = CliRunner().invoke(
            cli,
            ["--endpoint", url, "--token", FakeHub().token, "list", REPO, "--format", "jsonl"],
        )
        assert result.exit_code == 0, result.stderr
        assert len(result.stdout.splitlines()) == 3
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


@pytest.mark.slow
def test_core_library_does_not_import_click_or_rich() -> None:
    code = "import sys, hf_access; assert 'click' not in sys.modules and 'rich' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.slow
def test_missing_extra_gives_a_clear_message() -> None:
    code = (
        "import sys; sys.modules['click'] = None\n"
        "from hf_access.cli import main\n"
        "main(['--help'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == MISSING_EXTRA
    assert "Traceback" not in proc.stderr
