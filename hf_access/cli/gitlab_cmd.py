"""``hf-access gitlab list|approve|deny``: access requests to GitLab projects and groups.

The same conventions as the Hub's commands: machine formats on stdout, counts, progress and
errors on stderr, one-line errors, exit codes 0/1/2/130, a confirmation above
:data:`~hf_access.cli.bulk_cmd.CONFIRM_ABOVE` changes. The GitLab token comes from
``--token`` (after ``gitlab``) or ``GITLAB_TOKEN`` and is never printed; the global
``--token`` is the Hub's and is never sent to GitLab.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import attrs
import click

from ..gitlab import (
    AccessLevel,
    GitLabAccessRequest,
    GitLabDecision,
    GitLabSession,
    TargetKind,
    decisions_for,
)
from ..gitlab import wire as _wire
from . import gitlab_support as cli_support
from . import output
from .bulk_cmd import (
    BulkJob,
    describe_change,
    drive_bulk,
    gather_users,
    run_options,
    split_targets,
)
from .runner import EXIT_OK, EXIT_USAGE, GITLAB_CREDENTIALS, Settings, print_error, run

__all__ = ["gitlab_group"]

_COLUMNS = ("user", "id", "name", "state", "requested")


@attrs.frozen
class GitLabSettings:
    """The ``gitlab`` group's options, with the global ones (``-v``) kept in ``hub``.

    The token is kept out of ``repr`` so that no traceback or debug print can show it.
    """

    hub: Settings
    url: str | None = None
    token: str | None = attrs.field(default=None, repr=False)

    def session(self) -> GitLabSession:
        limiter = self.hub.fleet.gitlab_limiter(self.token, self.url)
        return GitLabSession(self.token, self.url, limiter=limiter)


@click.group("gitlab", short_help="Access requests to GitLab projects and groups.")
@click.option(
    "--url",
    metavar="URL",
    help="The GitLab instance (default: GITLAB_URL, else https://gitlab.com).",
)
@click.option(
    "--token",
    metavar="TOKEN",
    help="A GitLab token, maintainer or owner of the targets (default: GITLAB_TOKEN). "
    "Never printed. The global --token is the Hub's and is not sent to GitLab.",
)
@click.pass_context
def gitlab_group(ctx: click.Context, url: str | None, token: str | None) -> None:
    """List, approve and deny access requests to GitLab projects and groups.

    TARGET is a project's full path (group/subgroup/project) or numeric id; with --group,
    a group's path or id.

    \b
    Examples:
      hf-access gitlab list acme/app --format csv > pending.csv
      hf-access gitlab approve acme/app alice 42 --access-level reporter
      hf-access gitlab deny acme --group --from-file spam.txt --yes
    """
    hub = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    ctx.obj = GitLabSettings(hub=hub, url=url, token=token)


def _kind(is_group: bool) -> TargetKind:
    return TargetKind.GROUP if is_group else TargetKind.PROJECT


def _place(target: str, kind: TargetKind) -> str:
    """``acme/app`` for a project, ``group acme`` for a group."""
    return f"group {target}" if kind is TargetKind.GROUP else target


_GROUP_OPTION = click.option(
    "--group", "is_group", is_flag=True, help="TARGET is a group (default: a project)."
)


# -- list -------------------------------------------------------------------------------------


def _cells(request: GitLabAccessRequest) -> tuple[str, ...]:
    when = request.requested_at.strftime("%Y-%m-%d %H:%M") if request.requested_at else ""
    return (request.username, str(request.id), request.name or "", request.state or "", when)


@gitlab_group.command("list", short_help="List the pending access requests of a project or group.")
@click.argument("target")
@_GROUP_OPTION
@click.option(
    "--page-size",
    "--per-page",
    "page_size",
    type=click.IntRange(1, _wire.MAX_PAGE_SIZE),
    default=_wire.DEFAULT_PAGE_SIZE,
    show_default=True,
    help="Requests per call (--per-page is its old name).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "csv"]),
    default="table",
    show_default=True,
)
@click.pass_obj
def list_cmd(
    settings: GitLabSettings, target: str, is_group: bool, page_size: int, fmt: str
) -> None:
    """List the pending access requests of a project (or, with --group, a group).

    json, csv and jsonl go to stdout (jsonl is streamed); counts go to stderr. The csv's
    'username' column feeds 'approve --from-file' as it is.
    """
    kind = _kind(is_group)
    place = _place(target, kind)

    async def work() -> int:
        collected: list[GitLabAccessRequest] = []
        async with settings.session() as gl:
            pages = gl.iter_requests(target, kind=kind, page_size=page_size)
            with output.CountingBar(output.err_console()) as bar, bar.task(place) as counter:
                async for request in pages:
                    counter.advance()
                    collected.append(request)
                    if fmt == "jsonl":
                        row = cli_support.request_row(request)
                        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            calls = gl.calls
        if fmt == "table":
            rows = [_cells(r) for r in collected]
            title = f"{place}: pending requests"
            output.print_table(output.out_console(), _COLUMNS, rows, title=title)
        elif fmt != "jsonl":
            rows_out = (cli_support.request_row(r) for r in collected)
            output.write_rows(rows_out, fmt, sys.stdout)
        found = output.plural(len(collected), "pending request")
        click.echo(f"{found} on {place} ({output.plural(calls, 'call')})", err=True)
        return EXIT_OK

    raise SystemExit(run(settings.hub, work, credentials=GITLAB_CREDENTIALS))


# -- approve and deny -------------------------------------------------------------------------


def _access_level(ctx: click.Context, param: click.Parameter, value: str) -> AccessLevel:
    try:
        return AccessLevel.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _who(decision: GitLabDecision) -> str:
    return f"{decision.user_label} on {decision.target}"


def _users(names: Sequence[str], from_file: str | None) -> list[int | str]:
    """Arguments, then the file's users (one a line, or a CSV's user/username column)."""
    return [
        cli_support.parse_user(line.user) for line in gather_users(names, from_file, after="TARGET")
    ]


def _decide(action: str) -> click.Command:
    approving = action == "approve"
    params: list[click.Parameter] = [
        click.Argument(["args"], nargs=-1, metavar="[TARGET] [USER]..."),
        click.Option(
            ["--target", "target_opts"],
            multiple=True,
            metavar="T",
            help="A project (or group) to act on (repeat for several); then every argument "
            "is a user.",
        ),
        click.Option(
            ["--targets-file"], metavar="PATH", help="Targets, one per line ('-' for stdin)."
        ),
        click.Option(
            ["--from-file", "from_file"],
            metavar="PATH",
            help="Users: one per line, or a CSV with a 'user' or 'username' column "
            "('-' for stdin).",
        ),
        click.Option(
            ["--group", "is_group"],
            is_flag=True,
            help="The targets are groups (default: projects).",
        ),
    ]
    if approving:
        params.append(
            click.Option(
                ["--access-level", "level"],
                metavar="LEVEL",
                default="developer",
                show_default=True,
                callback=_access_level,
                help="The role given: guest, reporter, developer, maintainer, owner or a number.",
            )
        )
    params += run_options(concurrency=8, batching=False)

    @click.pass_obj
    def callback(
        settings: GitLabSettings,
        args: tuple[str, ...],
        target_opts: tuple[str, ...],
        targets_file: str | None,
        from_file: str | None,
        is_group: bool,
        concurrency: int,
        journal: str | None,
        dry_run: bool,
        assume_yes: bool,
        fmt: str,
        level: AccessLevel | None = None,
    ) -> None:
        kind = _kind(is_group)
        try:
            targets, rest = split_targets(
                args,
                target_opts,
                targets_file,
                noun="target",
                options=("--target", "--targets-file"),
            )
            users = _users(rest, from_file)
            decisions = decisions_for(targets, users, action, kind=kind, access_level=level)
        except ValueError as error:
            print_error(error, verbose=settings.hub.verbose, credentials=GITLAB_CREDENTIALS)
            raise SystemExit(EXIT_USAGE) from None
        job = BulkJob(
            label=action,
            what=describe_change(action, len(users), targets, kind.value),
            total=len(decisions),
            row=cli_support.outcome_row,
            who=_who,
            journal=journal,
            dry_run=dry_run,
            assume_yes=assume_yes,
            fmt=fmt,
            verbose=settings.hub.verbose,
            credentials=GITLAB_CREDENTIALS,
        )

        async def work() -> int:
            async with settings.session() as gl:
                return await drive_bulk(
                    job,
                    lambda on_progress: gl.start_bulk(
                        decisions,
                        concurrency=concurrency,
                        on_progress=on_progress,
                        journal=journal,
                        dry_run=dry_run,
                    ),
                )

        raise SystemExit(run(settings.hub, work, credentials=GITLAB_CREDENTIALS))

    summary = (
        "Approve access requests: the users become members (developer by default)."
        if approving
        else "Deny access requests: the requests are deleted (members are left alone)."
    )
    return click.Command(
        action,
        callback=callback,
        params=params,
        help=summary + "\n\nTARGET is a project's path or id (with --group, a group's); users "
        "are user names, or user ids (digits or id:N).",
        short_help=summary.split(":")[0].rstrip(".") + ".",
    )


gitlab_group.add_command(_decide("approve"))
gitlab_group.add_command(_decide("deny"))
