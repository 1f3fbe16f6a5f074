"""``hf-access accept|reject|cancel|reset|grant``: one bulk run over users and repos."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import attrs
import click

from ..bulk import BulkRun
from ..bulk_models import Action, BulkReport, Decision, Outcome
from ..models import RepoType
from . import output
from .inputs import UserLine, parse_repos, parse_users
from .runner import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    USAGE_ERRORS,
    Settings,
    print_error,
    run,
)

__all__ = ["CONFIRM_ABOVE", "action_commands", "stdin_is_interactive"]

CONFIRM_ABOVE = 100
"""A run that changes more users than this asks for confirmation (``--yes`` skips it)."""

_HELP = {
    Action.ACCEPT: "Accept access requests: the users get access.",
    Action.REJECT: "Reject requests (or revoke access): the users cannot ask again.",
    Action.CANCEL: "Move requests back to pending (accepted users lose access).",
    Action.RESET: "Reset requests: the users lose access and must ask again.",
    Action.GRANT: "Give users access without a request (one call per user).",
}

_VERB = {
    Action.ACCEPT: "accept",
    Action.REJECT: "reject",
    Action.CANCEL: "cancel the requests of",
    Action.RESET: "reset",
    Action.GRANT: "grant access to",
}


def stdin_is_interactive() -> bool:
    """Whether a confirmation can be asked (tests replace this)."""
    return sys.stdin is not None and sys.stdin.isatty()


@attrs.frozen
class _Plan:
    action: Action
    repos: tuple[str, ...]
    users: tuple[UserLine, ...]
    reason: str | None

    def decisions(self, repo_type: RepoType) -> list[Decision]:
        takes_reason = self.action.takes_reason
        return [
            Decision(
                repo,
                line.user,
                self.action,
                (line.reason or self.reason) if takes_reason else None,
                repo_type,
            )
            for repo in self.repos
            for line in self.users
        ]


def _read_text(path: str, option: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        message = f"cannot read {path}: {error.strerror}"
        raise click.BadParameter(message, param_hint=f"'{option}'") from None


def _gather(
    action: Action,
    args: Sequence[str],
    repo_opts: Sequence[str],
    repos_file: str | None,
    from_file: str | None,
    reason: str | None,
) -> _Plan:
    repos = list(repo_opts)
    if repos_file is not None:
        repos.extend(parse_repos(_read_text(repos_file, "--repos-file")))
    rest = list(args)
    if repo_opts or repos_file is not None:
        if any("/" in arg for arg in rest):
            raise click.UsageError(
                "give the repos either as REPO or with --repo/--repos-file, not both"
            )
        if not repos:
            raise click.UsageError(f"{repos_file} lists no repo")
    else:
        if not rest:
            raise click.UsageError("missing REPO (or --repo/--repos-file)")
        repos.append(rest.pop(0))
    users = [UserLine(name) for name in rest]
    if from_file is not None:
        source = "standard input" if from_file == "-" else from_file
        users.extend(parse_users(_read_text(from_file, "--from-file"), source=source))
    if not users:
        raise click.UsageError("no users given: name them after REPO or use --from-file")
    return _Plan(action, tuple(dict.fromkeys(repos)), tuple(users), reason)


def _confirm(plan: _Plan, count: int, assume_yes: bool) -> int | None:
    """None to go on, else the exit code (declined or impossible to ask)."""
    if assume_yes or count <= CONFIRM_ABOVE:
        return None
    repos = ", ".join(plan.repos[:3]) + (" ..." if len(plan.repos) > 3 else "")
    what = f"{_VERB[plan.action]} {len(plan.users):,} users on {len(plan.repos)} repo(s) ({repos}"
    what += f"; {count:,} decisions)" if len(plan.repos) > 1 else ")"
    if not stdin_is_interactive():
        print_error(f"refusing to {what} without confirmation (stdin is not a terminal): add --yes")
        return EXIT_USAGE
    if not click.confirm(f"About to {what}. Continue?", default=False, err=True):
        click.echo("aborted: nothing was changed", err=True)
        return EXIT_FAILED
    return None


def _print_plan(report: BulkReport[Decision], fmt: str) -> None:
    if fmt in ("json", "jsonl", "csv"):
        output.write_rows((output.plan_row(call) for call in report.plan), fmt, sys.stdout)
        return
    for call in report.plan:
        noun = "user" if call.items == 1 else "users"
        click.echo(f"{call.method} {call.path}  ({call.items} {noun})")


def _print_failures(report: BulkReport[Decision], limit: int = 20) -> None:
    """Failed users grouped by error, so that one cause is printed once."""
    groups: dict[str, list[str]] = {}
    for item in report.failures():
        d = item.decision
        groups.setdefault(str(item.error or item.detail), []).append(f"{d.user} on {d.repo_id}")
    for shown, (error, who) in enumerate(groups.items()):
        if shown == limit:
            click.echo(f"  ... and {len(groups) - limit} more errors (see --format json)", err=True)
            break
        names = ", ".join(who[:3]) + (f" and {len(who) - 3:,} more" if len(who) > 3 else "")
        click.echo(f"  failed: {names}: {error}", err=True)


def _exit_code(report: BulkReport[Decision], verbose: int) -> int:
    fatal = next(
        (i.error for i in report.items if isinstance(i.error, USAGE_ERRORS)),
        None,
    )
    if fatal is not None:
        print_error(fatal, verbose=verbose)
        return EXIT_USAGE
    if report.failed or report.not_attempted:
        return EXIT_FAILED
    return EXIT_OK


def _resume_hint(report: BulkReport[Decision], journal: str | None) -> str:
    finished = sum(1 for i in report.items if i.outcome is not Outcome.NOT_ATTEMPTED)
    text = f"interrupted: {finished:,} of {len(report.items):,} decisions finished."
    if journal:
        return f"{text} Run the same command again to resume: the journal {journal} skips what is done."
    return (
        f"{text} Running the same command again is safe (users already in the wanted state "
        "count as unchanged); add --journal PATH to skip finished users."
    )


async def _execute(
    settings: Settings,
    plan: _Plan,
    *,
    concurrency: int,
    use_batch: bool,
    precheck: bool,
    journal: str | None,
    dry_run: bool,
    assume_yes: bool,
    fmt: str,
) -> int:
    decisions = plan.decisions(RepoType.parse(settings.repo_type))
    console = output.err_console()
    async with settings.session() as session:
        bar = output.BulkBar(console, plan.action.value, len(decisions))
        run_: BulkRun = session.start_bulk(
            decisions,
            concurrency=concurrency,
            use_batch=use_batch,
            precheck=precheck,
            on_progress=bar.update,
            journal=journal,
            dry_run=dry_run,
        )
        if not dry_run:
            refused = _confirm(plan, len(decisions), assume_yes)
            if refused is not None:
                return refused
        interrupted = False
        showing: AbstractContextManager[object] = nullcontext() if dry_run else bar
        with showing:
            try:
                report = await run_
            except asyncio.CancelledError:
                interrupted = True
                report = run_.report()
    if dry_run:
        _print_plan(report, fmt)
        calls = len(report.plan)
        click.echo(
            f"dry run: {len(decisions):,} decisions would take {calls:,} calls; nothing was sent",
            err=True,
        )
        return EXIT_OK
    if fmt != "text":
        output.write_rows((output.outcome_row(i) for i in report.items), fmt, sys.stdout)
    click.echo(f"{plan.action.value}: {output.summary_line(report)}", err=True)
    if not any(isinstance(i.error, USAGE_ERRORS) for i in report.items):
        _print_failures(report)
    if interrupted:
        click.echo(_resume_hint(report, journal), err=True)
        return EXIT_INTERRUPTED
    return _exit_code(report, settings.verbose)


def _make(action: Action) -> click.Command:
    params: list[click.Parameter] = [
        click.Argument(["args"], nargs=-1, metavar="[REPO] [USER]..."),
        click.Option(
            ["--repo", "repo_opts"],
            multiple=True,
            metavar="NS/NAME",
            help="A repo to act on (repeat for several); then every argument is a user.",
        ),
        click.Option(
            ["--repos-file"],
            metavar="PATH",
            help="Repo ids, one per line ('-' for stdin).",
        ),
        click.Option(
            ["--from-file", "from_file"],
            metavar="PATH",
            help="Users: one name per line, or a CSV with a 'user' column ('-' for stdin).",
        ),
    ]
    if action.takes_reason:
        params.append(
            click.Option(
                ["--reason"],
                help="Reason given to the users (at most 200 characters); "
                "a 'reason' column of a CSV overrides it per user.",
            )
        )
    params += [
        click.Option(
            ["--concurrency"],
            type=click.IntRange(1, 256),
            default=16,
            show_default=True,
            help="Calls in flight at once.",
        ),
        click.Option(
            ["--journal"],
            metavar="PATH",
            help="Record finished users in this file; rerunning with it resumes.",
        ),
        click.Option(
            ["--dry-run"], is_flag=True, help="Print the calls that would be made; send nothing."
        ),
        click.Option(
            ["--no-batch"], is_flag=True, help="One call per user instead of batches of 100."
        ),
        click.Option(
            ["--precheck"],
            is_flag=True,
            help="Read the target list first and skip users already there.",
        ),
        click.Option(
            ["--yes", "-y", "assume_yes"],
            is_flag=True,
            help=f"Do not ask before changing more than {CONFIRM_ABOVE} users.",
        ),
        click.Option(
            ["--format", "fmt"],
            type=click.Choice(["text", "json", "jsonl", "csv"]),
            default="text",
            show_default=True,
            help="Per-user outcomes (or the dry run's calls) on stdout.",
        ),
    ]

    @click.pass_obj
    def callback(
        settings: Settings,
        args: tuple[str, ...],
        repo_opts: tuple[str, ...],
        repos_file: str | None,
        from_file: str | None,
        concurrency: int,
        journal: str | None,
        dry_run: bool,
        no_batch: bool,
        precheck: bool,
        assume_yes: bool,
        fmt: str,
        reason: str | None = None,
    ) -> None:
        try:
            plan = _gather(action, args, repo_opts, repos_file, from_file, reason)
        except ValueError as error:
            print_error(error, verbose=settings.verbose)
            raise SystemExit(EXIT_USAGE) from None
        code = run(
            settings,
            lambda: _execute(
                settings,
                plan,
                concurrency=concurrency,
                use_batch=not no_batch,
                precheck=precheck,
                journal=journal,
                dry_run=dry_run,
                assume_yes=assume_yes,
                fmt=fmt,
            ),
        )
        raise SystemExit(code)

    return click.Command(
        action.value,
        callback=callback,
        params=params,
        help=_HELP[action]
        + "\n\nREPO is namespace/name; users are Hub user names (or request:<id>).",
        short_help=_HELP[action].split(":")[0].rstrip("."),
    )


def action_commands() -> list[click.Command]:
    return [_make(action) for action in Action]
