"""``hf-access accept|reject|cancel|reset|grant``: one bulk run over users and repos.

The run's machinery is shared with ``hf-access gitlab approve|deny`` (any provider's run and
:class:`~hf_access.BulkReport`): :func:`drive_bulk` confirms, shows the progress bar, handles
Ctrl-C and prints the summary; :func:`split_targets` and :func:`gather_users` read the inputs.
"""

from __future__ import annotations

import asyncio
import re
import select
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import attrs
import click

from ..core.engine import Engine
from ..core.outcomes import BulkProgress, BulkReport, ItemOutcome, Outcome
from ..hub.bulk import Decision
from ..hub.models import Action, RepoType
from . import output
from .inputs import UserLine, parse_repos, parse_users
from .output import JsonRow
from .runner import (
    EXIT_DECLINED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    HUB_CREDENTIALS,
    USAGE_ERRORS,
    Credentials,
    Settings,
    print_error,
    run,
)
from .targets import parse_repo, repo_type_option

__all__ = [
    "CONFIRM_ABOVE",
    "BulkJob",
    "action_commands",
    "bulk_exit_code",
    "confirm_changes",
    "describe_change",
    "drive_bulk",
    "gather_users",
    "print_failures",
    "print_plan",
    "read_input",
    "resume_hint",
    "show_report",
    "split_targets",
    "stdin_is_interactive",
]

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
        targets = [parse_repo(repo, repo_type) for repo in self.repos]  # datasets/org/name too
        return [
            Decision(
                repo_id,
                line.user,
                self.action,
                (line.reason or self.reason) if takes_reason else None,
                rtype,
            )
            for repo_id, rtype in targets
            for line in self.users
        ]


# -- shared by the bulk commands of both providers --------------------------------------------


def read_input(path: str, option: str) -> str:
    """The text of a file given to ``option`` (``-``: stdin); a usage error if unreadable."""
    name = "standard input" if path == "-" else path
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        message = f"cannot read {path}: {error.strerror}"
        raise click.BadParameter(message, param_hint=f"'{option}'") from None
    except UnicodeDecodeError as error:
        message = (
            f"{name} is not UTF-8 text (byte {error.start}: {error.object[error.start]:#04x}); "
            "save it as UTF-8"
        )
        raise click.BadParameter(message, param_hint=f"'{option}'") from None


def split_targets(
    args: Sequence[str],
    given: Sequence[str],
    targets_file: str | None,
    *,
    noun: str = "repo",
    options: tuple[str, str] = ("--repo", "--repos-file"),
    is_target: Callable[[str], bool] | None = None,
) -> tuple[list[str], list[str]]:
    """``(targets, the other arguments)``: TARGET is the first argument unless ``options``
    name the targets, then every argument is a user (``is_target`` spots a mix-up)."""
    metavar, either = noun.upper(), "/".join(options)
    targets = list(given)
    if targets_file is not None:
        targets.extend(parse_repos(read_input(targets_file, options[1])))
    rest = list(args)
    if given or targets_file is not None:
        if is_target is not None and any(is_target(arg) for arg in rest):
            raise click.UsageError(
                f"give the {noun}s either as {metavar} or with {either}, not both"
            )
        if not targets:
            raise click.UsageError(f"{targets_file} lists no {noun}")
    else:
        if not rest:
            raise click.UsageError(f"missing {metavar} (or {either})")
        targets.append(rest.pop(0))
    return list(dict.fromkeys(targets)), rest


def gather_users(names: Sequence[str], from_file: str | None, *, after: str) -> list[UserLine]:
    """The users named as arguments, then those of ``--from-file``; at least one."""
    users = [UserLine(name, origin=f"argument {name!r}") for name in names]
    if from_file is not None:
        source = "standard input" if from_file == "-" else from_file
        read = parse_users(read_input(from_file, "--from-file"), source=source)
        if not read and not users:
            raise click.UsageError(
                f"{source} (--from-file) holds no users: only blank lines and # comments"
            )
        users.extend(read)
    if not users:
        raise click.UsageError(f"no users given: name them after {after} or use --from-file")
    return users


_DECISION = re.compile(r"decision (\d+): ")


def cite_origin(error: ValueError, users: Sequence[UserLine]) -> ValueError:
    """``decision 7: ...`` from the library -> ``users.csv:9: ...`` (the file and its line).

    Decisions are made repo by repo, each over every user in order.
    """
    match = _DECISION.match(str(error))
    if match is None or not users:
        return error
    origin = users[int(match.group(1)) % len(users)].origin
    if origin is None:
        return error
    return ValueError(f"{origin}: {str(error)[match.end() :]}")


def describe_change(verb: str, users: int, targets: Sequence[str], noun: str) -> str:
    """``accept 150 users on 2 repo(s) (a/b, a/c; 300 decisions)``, for the confirmation."""
    shown = ", ".join(targets[:3]) + (" ..." if len(targets) > 3 else "")
    what = f"{verb} {users:,} users on {len(targets)} {noun}(s) ({shown}"
    return what + (f"; {users * len(targets):,} decisions)" if len(targets) > 1 else ")")


def confirm_changes(what: str, count: int, assume_yes: bool) -> int | None:
    """None to go on, else the exit code (declined or impossible to ask)."""
    if assume_yes or count <= CONFIRM_ABOVE:
        return None
    if not stdin_is_interactive():
        print_error(f"refusing to {what} without confirmation (stdin is not a terminal): add --yes")
        return EXIT_USAGE
    try:
        with _interruptible():
            agreed = _confirm(f"About to {what}. Continue?")
    except (click.Abort, KeyboardInterrupt, EOFError):  # Ctrl-C (or no more input) at the prompt
        click.echo("\ninterrupted: nothing was sent", err=True)
        return EXIT_INTERRUPTED
    if not agreed:
        click.echo("declined: nothing was changed", err=True)
        return EXIT_DECLINED
    return None


def _confirm(question: str) -> bool:
    """``click.confirm``, waiting for the answer in short slices on a real terminal.

    Ctrl-C may be delivered to another thread of the process (aiohttp's resolver, an
    executor): a read blocked in the main thread would not notice it until Enter. Waking every
    0.2 s lets Python run the signal handler, so the first Ctrl-C stops the prompt at once.
    """
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's input)
        return click.confirm(question, default=False, err=True)
    while True:
        click.echo(f"{question} [y/N]: ", nl=False, err=True)
        while not select.select([fd], [], [], 0.2)[0]:
            pass
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        answer = line.strip().lower()
        if answer in ("y", "yes"):
            return True
        if answer in ("", "n", "no"):
            return False
        click.echo("Error: invalid input", err=True)


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C raises at once while the prompt blocks the event loop.

    asyncio.run's own SIGINT handler only cancels the main task, which cannot happen while a
    blocking prompt holds the loop: the first Ctrl-C would do nothing.
    """
    try:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


ProgressHook = Callable[[BulkProgress[Any]], None]
StartRun = Callable[[ProgressHook], Engine[Any]]
"""Creates the run (checking every decision) with the bar's progress callback."""


@attrs.frozen
class BulkJob:
    """How one command's bulk run is confirmed and shown, whatever the provider."""

    label: str
    """``accept``, ``approve``...: the bar's label and the summary's prefix."""
    what: str
    """What the confirmation asks about (see :func:`describe_change`)."""
    total: int
    row: Callable[[ItemOutcome[Any]], JsonRow]
    """An outcome as a row of ``--format json|jsonl|csv``."""
    who: Callable[[Any], str]
    """A decision, for the failure lines: ``alice on acme/model``."""
    journal: str | None = None
    dry_run: bool = False
    assume_yes: bool = False
    fmt: str = "text"
    verbose: int = 0
    credentials: Credentials = HUB_CREDENTIALS
    """How the command line takes the token, for the error of a run stopped by auth."""


async def drive_bulk(job: BulkJob, start: StartRun) -> int:
    """Confirm, run with a progress bar, print the outcome; the exit code.

    Ctrl-C (a cancellation) ends the run cleanly: the partial report, its summary and how to
    resume are printed, and the code is 130.
    """
    bar = output.BulkBar(output.err_console(), job.label, job.total)
    run_ = start(bar.update)
    if not job.dry_run:
        refused = confirm_changes(job.what, job.total, job.assume_yes)
        if refused is not None:
            return refused
    interrupted = False
    showing: AbstractContextManager[object] = nullcontext() if job.dry_run else bar
    with showing:
        try:
            report = await run_
        except asyncio.CancelledError:
            interrupted = True
            report = run_.report()
    return show_report(job, report, interrupted=interrupted)


def show_report(job: BulkJob, report: BulkReport[Any], *, interrupted: bool = False) -> int:
    """The plan of a dry run, or the outcomes, summary, failures and resume hint; exit code."""
    if job.dry_run:
        print_plan(report, job.fmt)
        calls = len(report.plan)
        click.echo(
            f"dry run: {output.plural(job.total, 'decision')} would take "
            f"{output.plural(calls, 'call')}; nothing was sent",
            err=True,
        )
        return EXIT_OK
    if job.fmt != "text":
        output.write_rows((job.row(i) for i in report.items), job.fmt, sys.stdout)
    click.echo(f"{job.label}: {output.summary_line(report)}", err=True)
    if not any(isinstance(i.error, USAGE_ERRORS) for i in report.items):
        print_failures(report, job.who)
    if interrupted:
        click.echo(resume_hint(report, job.journal), err=True)
        return EXIT_INTERRUPTED
    return bulk_exit_code(report, job.verbose, job.credentials)


def print_plan(report: BulkReport[Any], fmt: str) -> None:
    if fmt in ("json", "jsonl", "csv"):
        output.write_rows((output.plan_row(call) for call in report.plan), fmt, sys.stdout)
        return
    for call in report.plan:
        noun = "user" if call.items == 1 else "users"
        click.echo(f"{call.method} {call.call.target}  ({call.items} {noun})")


def print_failures(report: BulkReport[Any], who: Callable[[Any], str], limit: int = 20) -> None:
    """Failed users grouped by error, so that one cause is printed once."""
    groups: dict[str, list[str]] = {}
    for item in report.failures():
        groups.setdefault(str(item.error or item.detail), []).append(who(item.decision))
    for shown, (error, names) in enumerate(groups.items()):
        if shown == limit:
            click.echo(f"  ... and {len(groups) - limit} more errors (see --format json)", err=True)
            break
        listed = ", ".join(names[:3]) + (f" and {len(names) - 3:,} more" if len(names) > 3 else "")
        click.echo(f"  failed: {listed}: {error}", err=True)


def bulk_exit_code(
    report: BulkReport[Any], verbose: int, credentials: Credentials = HUB_CREDENTIALS
) -> int:
    """2 (and the error line) when an auth, config or input error stopped the run; 1 when
    an item failed or was not attempted; else 0."""
    fatal = next(
        (i.error for i in report.items if isinstance(i.error, USAGE_ERRORS)),
        None,
    )
    if fatal is not None:
        print_error(fatal, verbose=verbose, credentials=credentials)
        return EXIT_USAGE
    if report.failed or report.not_attempted:
        return EXIT_FAILED
    return EXIT_OK


def resume_hint(report: BulkReport[Any], journal: str | None) -> str:
    finished = sum(1 for i in report.items if i.outcome is not Outcome.NOT_ATTEMPTED)
    text = f"interrupted: {finished:,} of {len(report.items):,} decisions finished."
    if journal:
        return f"{text} Run the same command again to resume: the journal {journal} skips what is done."
    return (
        f"{text} Running the same command again is safe (users already in the wanted state "
        "count as unchanged); add --journal PATH to skip finished users."
    )


# -- the Hub's commands -----------------------------------------------------------------------


def _gather(
    action: Action,
    args: Sequence[str],
    repo_opts: Sequence[str],
    repos_file: str | None,
    from_file: str | None,
    reason: str | None,
) -> _Plan:
    repos, rest = split_targets(args, repo_opts, repos_file, is_target=lambda arg: "/" in arg)
    users = gather_users(rest, from_file, after="REPO")
    return _Plan(action, tuple(repos), tuple(users), reason)


def _hub_who(decision: Decision) -> str:
    return f"{decision.user} on {decision.repo_id}"


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
    decisions = plan.decisions(RepoType.parse(settings.repo_type))  # ValueError: exit 2
    job = BulkJob(
        label=plan.action.value,
        what=describe_change(_VERB[plan.action], len(plan.users), plan.repos, "repo"),
        total=len(decisions),
        row=output.outcome_row,
        who=_hub_who,
        journal=journal,
        dry_run=dry_run,
        assume_yes=assume_yes,
        fmt=fmt,
        verbose=settings.verbose,
    )
    async with settings.session() as session:
        try:
            return await drive_bulk(
                job,
                lambda on_progress: session.start_bulk(
                    decisions,
                    concurrency=concurrency,
                    use_batch=use_batch,
                    precheck=precheck,
                    on_progress=on_progress,
                    journal=journal,
                    dry_run=dry_run,
                ),
            )
        except ValueError as error:  # a decision refused before anything was sent
            raise cite_origin(error, plan.users) from None


def run_options(
    *, concurrency: int, batching: bool, precheck: bool | None = None
) -> list[click.Parameter]:
    """The options every bulk command shares (the Hub's and GitLab's); ``batching`` adds
    --no-batch, ``precheck`` (default: as ``batching``) adds --precheck."""
    precheck = batching if precheck is None else precheck
    options: list[click.Parameter] = [
        click.Option(
            ["--concurrency"],
            type=click.IntRange(1, 256),
            default=concurrency,
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
    ]
    if batching:
        options.append(
            click.Option(
                ["--no-batch"], is_flag=True, help="One call per user instead of batches of 100."
            )
        )
    if precheck:
        options.append(
            click.Option(
                ["--precheck"],
                is_flag=True,
                help="Read the target list first and skip users already there.",
            )
        )
    options += [
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
    return options


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
    # grant has no batch route (one call per user): --no-batch would change nothing
    params += run_options(concurrency=16, batching=action is not Action.GRANT, precheck=True)
    params.append(repo_type_option())

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
        precheck: bool,
        assume_yes: bool,
        fmt: str,
        no_batch: bool = False,
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
        + "\n\nREPO is namespace/name (of --repo-type) or datasets/namespace/name; users are Hub "
        "user names (or request:<id>).",
        short_help=_HELP[action].split(":")[0].rstrip(".") + ".",
    )


def action_commands() -> list[click.Command]:
    return [_make(action) for action in Action]
