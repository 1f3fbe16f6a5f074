"""``hf-access gitlab list|approve|deny`` against a fake GitLab served from a thread."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hf_access.cli import bulk_cmd, output
from hf_access.cli.app import cli
from hf_access.core.outcomes import BulkProgress
from hf_access.testing.gitlab import FakeGitLab

PROJECT = "acme/app"
GROUP = "acme"
SECRET = "glpat-CLItestGitLabSECRET0123456789"  # distinctive: it must never be printed
HUB_SECRET = "hf_CLItestHubSECRETnotForGitLab0123"


def all_output(result: Result) -> str:
    return f"{result.stdout}\n{result.stderr}"


class GitLabCli:
    """Runs ``hf-access gitlab ...`` in-process against one fake GitLab, with an owner token."""

    def __init__(self, gitlab: FakeGitLab) -> None:
        self.gitlab = gitlab

    def __call__(
        self,
        *args: str,
        token: str | None = SECRET,
        url: bool = True,
        head: tuple[str, ...] = (),
        input: str | None = None,
        env: dict[str, str | None] | None = None,
    ) -> Result:
        group: list[str] = ["gitlab"]
        if url:
            group += ["--url", self.gitlab.url]
        if token is not None:
            group += ["--token", token]
        return CliRunner().invoke(
            cli, [*head, *group, *args], input=input, env=env, catch_exceptions=False
        )

    def calls(self) -> int:
        return sum(self.gitlab.counters.values())

    def members(self, target: str = PROJECT, *, kind: str = "project") -> dict[str, int]:
        return self.gitlab.state(target, kind=kind).members

    def pending(self, target: str = PROJECT, *, kind: str = "project") -> tuple[str, ...]:
        return self.gitlab.state(target, kind=kind).requests


@pytest.fixture(autouse=True)
def _no_gitlab_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the developer's GitLab token or instance."""
    for name in ("GITLAB_TOKEN", "GITLAB_URL"):
        monkeypatch.delenv(name, raising=False)


def _seed(gitlab: FakeGitLab) -> None:
    gitlab.add_project(PROJECT)  # creates the group "acme" too
    gitlab.seed_requests(PROJECT, 5)  # user-000000 .. user-000004
    gitlab.seed_requests(GROUP, 2, prefix="grp", kind="group")
    gitlab.add_token(SECRET, "owner2", 50)  # owner of every project and group


@pytest.fixture
def gl(fake_gitlab_thread: FakeGitLab) -> GitLabCli:
    """The plugin's thread-served fake GitLab, seeded: 5 requests on acme/app, 2 on acme."""
    _seed(fake_gitlab_thread)
    return GitLabCli(fake_gitlab_thread)


# -- list -------------------------------------------------------------------------------------


def test_list_table(gl: GitLabCli) -> None:
    result = gl("list", PROJECT)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "acme/app: pending requests"
    assert lines[2].split() == [
        "┃",
        "user",
        "┃",
        "id",
        "┃",
        "name",
        "┃",
        "state",
        "┃",
        "requested",
        "┃",
    ]
    assert sum("user-00000" in line for line in lines) == 5
    assert result.stderr == "5 pending requests on acme/app (1 call)\n"


def test_list_json_of_a_group(gl: GitLabCli) -> None:
    result = gl("list", GROUP, "--group", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["username"] for row in rows] == ["grp-000000", "grp-000001"]
    assert rows[0]["id"] == gl.gitlab.user("grp-000000").id
    assert rows[0]["requested_at"].endswith("Z")
    assert result.stderr == "2 pending requests on group acme (1 call)\n"


@pytest.mark.parametrize("flag", ["--page-size", "--per-page"])  # --per-page: its old name
def test_list_jsonl_follows_pages(gl: GitLabCli, flag: str) -> None:
    result = gl("list", PROJECT, "--format", "jsonl", flag, "2")
    assert result.exit_code == 0, result.stderr
    names = [json.loads(line)["username"] for line in result.stdout.splitlines()]
    assert names == [f"user-00000{i}" for i in range(5)]
    assert gl.gitlab.counters["list_requests"] == 3
    assert "(3 calls)" in result.stderr


def test_list_csv(gl: GitLabCli) -> None:
    result = gl("list", PROJECT, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["username"] for row in rows] == [f"user-00000{i}" for i in range(5)]
    assert rows[0]["locked"] == "false"


def test_list_of_an_empty_project(gl: GitLabCli) -> None:
    gl.gitlab.add_project("acme/empty")
    result = gl("list", "acme/empty", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert result.stderr == "0 pending requests on acme/empty (1 call)\n"


def test_list_of_a_missing_project_is_exit_1_one_line(gl: GitLabCli) -> None:
    result = gl("list", "acme/missing")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: 404: 404 Project Not Found")
    assert len(result.stderr.splitlines()) == 1


# -- approve and deny -------------------------------------------------------------------------


def test_approve_named_users(gl: GitLabCli) -> None:
    result = gl("approve", PROJECT, "user-000000", "user-000001")
    assert result.exit_code == 0, result.stderr
    assert gl.members() == {"user-000000": 30, "user-000001": 30}  # developer by default
    assert gl.pending() == ("user-000002", "user-000003", "user-000004")
    assert result.stdout == ""
    assert result.stderr.startswith(
        "approve: 2 decisions: 2 done, 0 unchanged, 0 failed, 0 not attempted;"
    )
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(("level", "number"), [("reporter", 20), ("MAINTAINER", 40), ("10", 10)])
def test_approve_access_level(gl: GitLabCli, level: str, number: int) -> None:
    result = gl("approve", PROJECT, "user-000000", "--access-level", level)
    assert result.exit_code == 0, result.stderr
    assert gl.members() == {"user-000000": number}


def test_approve_by_user_id(gl: GitLabCli) -> None:
    first, second = (gl.gitlab.user(f"user-00000{i}").id for i in (0, 1))
    result = gl("approve", PROJECT, str(first), f"id:{second}", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["user"] for row in rows] == [first, second]
    assert set(gl.members()) == {"user-000000", "user-000001"}
    assert gl.gitlab.counters["list_users"] == 0  # ids need no look-up


def test_approve_outcomes_and_exit_1(gl: GitLabCli) -> None:
    assert gl("approve", PROJECT, "user-000000").exit_code == 0
    gl.gitlab.add_user("bystander")
    result = gl(
        "approve", PROJECT, "user-000000", "user-000001", "bystander", "ghost", "--format", "json"
    )
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(r["user"], r["outcome"]) for r in rows] == [
        ("user-000000", "unchanged"),
        ("user-000001", "done"),
        ("bystander", "failed"),
        ("ghost", "failed"),
    ]
    assert rows[0]["detail"] == "already a member (developer)"
    assert rows[2]["error_type"] == "RequestNotFoundError"
    assert rows[3]["error_type"] == "UserNotFoundError"
    assert rows[1]["access_level"] == 30
    assert "approve: 4 decisions: 1 done, 1 unchanged, 2 failed, 0 not attempted" in result.stderr
    assert "  failed: bystander on acme/app: " in result.stderr
    assert "  failed: ghost on acme/app: " in result.stderr


def test_deny_outcomes(gl: GitLabCli) -> None:
    gl.gitlab.add_member(PROJECT, "member1", 30)
    gl.gitlab.add_user("bystander")
    result = gl("deny", PROJECT, "user-000000", "bystander", "member1", "--format", "csv")
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["user"], r["outcome"]) for r in rows] == [
        ("user-000000", "done"),
        ("bystander", "unchanged"),
        ("member1", "failed"),
    ]
    assert rows[0]["access_level"] == ""
    assert "user-000000" not in gl.pending()
    assert gl.members() == {"member1": 30}  # deny removes no member
    again = gl("deny", PROJECT, "user-000000")
    assert again.exit_code == 0, again.stderr
    assert "0 done, 1 unchanged" in again.stderr


def test_deny_takes_no_access_level(gl: GitLabCli) -> None:
    result = gl("deny", PROJECT, "user-000000", "--access-level", "guest")
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_group_targets(gl: GitLabCli) -> None:
    result = gl("approve", GROUP, "--group", "grp-000000", "--access-level", "owner")
    assert result.exit_code == 0, result.stderr
    assert gl.members(GROUP, kind="group") == {"grp-000000": 50}
    result = gl("deny", GROUP, "--group", "grp-000001")
    assert result.exit_code == 0, result.stderr
    assert gl.pending(GROUP, kind="group") == ()


def test_several_targets(gl: GitLabCli, tmp_path: Path) -> None:
    gl.gitlab.add_project("acme/lib")
    gl.gitlab.seed_requests("acme/lib", 2)
    result = gl("approve", "--target", PROJECT, "--target", "acme/lib", "user-000000")
    assert result.exit_code == 0, result.stderr
    assert "user-000000" in gl.members("acme/lib")
    assert "user-000000" in gl.members(PROJECT)
    targets = tmp_path / "targets.txt"
    targets.write_text(f"# both\n{PROJECT}\nacme/lib\n")
    result = gl("deny", "--targets-file", str(targets), "user-000001", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [row["target"] for row in json.loads(result.stdout)] == [PROJECT, "acme/lib"]


def test_dry_run_sends_nothing(gl: GitLabCli) -> None:
    before = gl.calls()
    result = gl("approve", PROJECT, "user-000000", "7", "--access-level", "reporter", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "PUT /projects/acme%2Fapp/access_requests/{user-000000}/approve?access_level=20  (1 user)",
        "PUT /projects/acme%2Fapp/access_requests/7/approve?access_level=20  (1 user)",
    ]
    assert "dry run: 2 decisions would take 2 calls; nothing was sent" in result.stderr
    plan = json.loads(gl("deny", PROJECT, "user-000001", "--dry-run", "--format", "json").stdout)
    assert plan == [
        {
            "method": "DELETE",
            "path": "/projects/acme%2Fapp/access_requests/{user-000001}",
            "items": 1,
            "body": None,
        }
    ]
    assert gl("approve", PROJECT, "user-000002", "--dry-run", token=None).exit_code == 0
    assert gl.calls() == before
    assert gl.members() == {}
    assert len(gl.pending()) == 5


# -- inputs -----------------------------------------------------------------------------------


def test_from_file_with_comments(gl: GitLabCli, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# approved on Monday\nuser-000000\n\n  user-000001  \n# user-000002\n")
    result = gl("approve", PROJECT, "user-000003", "--from-file", str(users))
    assert result.exit_code == 0, result.stderr
    assert set(gl.members()) == {"user-000000", "user-000001", "user-000003"}


def test_from_file_takes_the_list_csv(gl: GitLabCli, tmp_path: Path) -> None:
    listing = gl("list", PROJECT, "--format", "csv")
    pending = tmp_path / "pending.csv"
    pending.write_text(listing.stdout)
    result = gl("deny", PROJECT, "--from-file", str(pending))
    assert result.exit_code == 0, result.stderr
    assert gl.pending() == ()


def test_from_stdin(gl: GitLabCli) -> None:
    result = gl("approve", PROJECT, "--from-file", "-", input="user-000000\nuser-000004\n")
    assert result.exit_code == 0, result.stderr
    assert set(gl.members()) == {"user-000000", "user-000004"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approve"], "missing TARGET (or --target/--targets-file)"),
        (["approve", PROJECT], "no users given: name them after TARGET or use --from-file"),
        (["deny", "--from-file", "/nonexistent/users.txt", PROJECT], "cannot read"),
        (["approve", PROJECT, "x", "--access-level", "boss"], "unknown access level 'boss'"),
    ],
)
def test_usage_errors_are_one_line(gl: GitLabCli, args: list[str], message: str) -> None:
    result = gl(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.stderr.strip().endswith(f"(see 'hf-access gitlab {args[0]} --help')")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approve", PROJECT, "bad name!"], "invalid user name"),
        (["approve", PROJECT, "id:x"], "invalid user id"),
        (["deny", "bad target!", "alice"], "bad target!"),
        (["list", "bad target!"], "bad target!"),
    ],
)
def test_bad_input_is_exit_2_before_sending(gl: GitLabCli, args: list[str], message: str) -> None:
    before = gl.calls()
    result = gl(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert gl.calls() == before


# -- confirmation, journal, Ctrl-C ------------------------------------------------------------


@pytest.fixture
def many(gl: GitLabCli, tmp_path: Path) -> Path:
    names = gl.gitlab.seed_requests(PROJECT, 101, prefix="many")
    path = tmp_path / "many.txt"
    path.write_text("".join(f"{name}\n" for name in names))
    return path


def test_more_than_100_needs_yes_without_a_terminal(gl: GitLabCli, many: Path) -> None:
    before = gl.calls()
    result = gl("approve", PROJECT, "--from-file", str(many))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: refusing to approve 101 users on 1 project(s) (acme/app) without "
        "confirmation (stdin is not a terminal): add --yes\n"
    )
    assert gl.calls() == before
    result = gl("approve", PROJECT, "--from-file", str(many), "--yes")
    assert result.exit_code == 0, result.stderr
    assert len(gl.members()) == 101


def test_confirmation_prompt(gl: GitLabCli, many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_cmd, "stdin_is_interactive", lambda: True)
    declined = gl("deny", PROJECT, "--from-file", str(many), input="n\n")
    assert declined.exit_code == 3
    assert "About to deny 101 users on 1 project(s) (acme/app). Continue?" in declined.stderr
    assert "nothing was changed" in declined.stderr
    assert len(gl.pending()) == 106
    accepted = gl("deny", PROJECT, "--from-file", str(many), input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert len(gl.pending()) == 5


def test_journal_resume(gl: GitLabCli, tmp_path: Path) -> None:
    journal = tmp_path / "approve.jsonl"
    first = gl("approve", PROJECT, "user-000000", "ghost", "--journal", str(journal))
    assert first.exit_code == 1
    assert journal.exists()
    gl.gitlab.add_request(PROJECT, "ghost")
    approvals = gl.gitlab.counters["approve"]
    second = gl(
        "approve", PROJECT, "user-000000", "ghost", "--journal", str(journal), "--format", "json"
    )
    assert second.exit_code == 0, second.stderr
    rows = json.loads(second.stdout)
    assert [(r["from_journal"], r["outcome"]) for r in rows] == [(True, "done"), (False, "done")]
    assert "(1 taken from the journal)" in second.stderr
    assert gl.gitlab.counters["approve"] == approvals + 1  # only ghost was sent
    assert set(gl.members()) == {"user-000000", "ghost"}


def test_ctrl_c_prints_the_partial_report_then_the_journal_resumes(
    gl: GitLabCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "deny.jsonl"
    users = [f"user-00000{i}" for i in range(5)]
    update = output.BulkBar.update
    fired: list[int] = []

    def interrupting(self: output.BulkBar, progress: BulkProgress[Any]) -> None:
        update(self, progress)
        if progress.finished == 2 and not fired:
            fired.append(progress.finished)
            signal.raise_signal(signal.SIGINT)  # Ctrl-C: asyncio cancels the command's task

    monkeypatch.setattr(output.BulkBar, "update", interrupting)
    args = ["deny", PROJECT, *users, "--concurrency", "1", "--journal", str(journal)]
    result = gl(*args)
    assert result.exit_code == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert "deny: 5 decisions: 2 done, 0 unchanged, 0 failed, 3 not attempted" in result.stderr
    assert "stopped: cancelled" in result.stderr
    assert (
        f"interrupted: 2 of 5 decisions finished. Run the same command again to resume: "
        f"the journal {journal} skips what is done." in result.stderr
    )
    assert {"user-000000", "user-000001"}.isdisjoint(gl.pending())

    monkeypatch.setattr(output.BulkBar, "update", update)
    resumed = gl(*args)
    assert resumed.exit_code == 0, resumed.stderr
    assert "(2 taken from the journal)" in resumed.stderr
    assert gl.pending() == ()


# -- tokens and errors ------------------------------------------------------------------------


def test_bad_token_is_exit_2_on_one_line(gl: GitLabCli) -> None:
    bad = "glpat-NOTaVALIDtokenXYZ987654321"
    result = gl("list", PROJECT, token=bad)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: 401: 401 Unauthorized")
    assert len(result.stderr.splitlines()) == 1
    approvals = gl.gitlab.counters["approve"]
    result = gl("approve", PROJECT, "user-000000", "user-000001", token=bad)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].startswith("error: 401")
    assert "stopped: AuthenticationError" in result.stderr
    assert "failed:" not in result.stderr  # the cause is said once, on the error line
    assert gl.gitlab.counters["approve"] == approvals
    assert bad not in all_output(result)


def test_token_without_rights_is_exit_2(gl: GitLabCli) -> None:
    gl.gitlab.add_token("glpat-nobody", "nobody", 0)
    result = gl("approve", PROJECT, "user-000000", token="glpat-nobody")
    assert result.exit_code == 2
    assert "error: 403" in result.stderr
    assert gl.members() == {}


def test_the_global_token_is_not_sent_to_gitlab(gl: GitLabCli) -> None:
    result = gl("list", PROJECT, token=None, head=("--token", HUB_SECRET))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: this command needs a token")
    assert "GITLAB_TOKEN" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert HUB_SECRET not in all_output(result)


def test_token_and_url_from_the_environment(gl: GitLabCli) -> None:
    env: dict[str, str | None] = {"GITLAB_TOKEN": SECRET, "GITLAB_URL": gl.gitlab.url}
    result = gl("list", PROJECT, "--format", "json", token=None, url=False, env=env)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 5


def test_token_never_printed(gl: GitLabCli) -> None:
    outputs = [
        gl("list", PROJECT, "--format", "json", head=("-vv",)),
        gl("approve", PROJECT, "user-000000", "ghost", "--format", "json", head=("-v",)),
        gl("deny", PROJECT, "user-000001", "--dry-run", "--format", "json", head=("-v",)),
        gl("deny", PROJECT, "bad name!", head=("-v",)),
        gl("list", "acme/missing", head=("-v",)),
        gl("list", PROJECT, token=SECRET + "x", head=("-v",)),
    ]
    for result in outputs:
        assert SECRET not in all_output(result)
    assert any("DEBUG" in r.stderr for r in outputs)  # the logs were really on


def test_help_names_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "gitlab" in result.stdout
    result = CliRunner().invoke(cli, ["gitlab", "--help"])
    assert result.exit_code == 0
    for name in ("list", "approve", "deny", "GITLAB_TOKEN", "GITLAB_URL"):
        assert name in result.stdout


# -- the plugin's async fixture ---------------------------------------------------------------


async def test_the_async_fixture_serves_the_command(fake_gitlab: FakeGitLab) -> None:
    _seed(fake_gitlab)
    command = GitLabCli(fake_gitlab)
    result = await asyncio.to_thread(command, "approve", PROJECT, "user-000000")  # own loop
    assert result.exit_code == 0, result.stderr
    assert fake_gitlab.state(PROJECT).members == {"user-000000": 30}
