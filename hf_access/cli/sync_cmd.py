"""``hf-access sync``: make a repo's access equal to a list, as a plan, then apply it.

The plan is computed from the repo's lists (no write); ``--plan`` prints it and stops.
Otherwise the plan is shown, confirmed when it changes more than 100 users (as every bulk
command does), and applied through the same bulk run as ``accept``/``reject``: batches of
100, a progress bar, Ctrl-C with a resume hint, ``--journal`` to resume.
"""

from __future__ import annotations

import json
import sys

import click

from ..hub.bulk import Decision
from ..hub.sync import AccessPlan, AccessSource, RemoveMode
from . import output
from .bulk_cmd import BulkJob, drive_bulk, read_input
from .inputs import parse_users
from .output import JsonRow
from .runner import EXIT_OK, EXIT_USAGE, Settings, print_error, run
from .targets import hub_repo, with_repo_type

__all__ = ["plan_json", "sync_cmd"]

_DIFF_SHOWN = 40
"""Lines of the plan shown before applying it (``--plan`` shows every line)."""


def plan_json(plan: AccessPlan) -> JsonRow:
    """The plan as JSON: figures, then every change and every reported user."""
    return {
        "repo_id": plan.repo_id,
        "repo_type": plan.repo_type.value,
        "source": plan.source,
        "remove": plan.remove_mode.value,
        "reason": plan.reason,
        "in_sync": plan.in_sync,
        "counts": plan.counts(),
        "changes": [
            {
                "user": change.user,
                "action": change.action.value,
                "current": change.current.value if change.current else None,
            }
            for change in plan.changes
        ],
        "rejected": list(plan.rejected),
        "kept": list(plan.kept),
        "missing": list(plan.missing),
        "hidden": plan.hidden,
        "source_hidden": plan.source_hidden,
        "reads": plan.reads,
    }


def _who(decision: Decision) -> str:
    return f"{decision.user} on {decision.repo_id}"


def _what(plan: AccessPlan) -> str:
    counts = plan.counts()
    return (
        f"change the access of {len(plan):,} users on {plan.repo_id} "
        f"({counts['grant']:,} grant, {counts['accept']:,} accept, "
        f"{counts['remove']:,} {plan.remove_mode.value})"
    )


def _notes(plan: AccessPlan) -> None:
    """What the plan reports without changing: rejected users, hidden requesters."""
    if plan.rejected:
        shown = ", ".join(plan.rejected[:5]) + (" ..." if len(plan.rejected) > 5 else "")
        click.echo(
            f"note: {output.plural(len(plan.rejected), 'user')} on the list "
            f"{'is' if len(plan.rejected) == 1 else 'are'} rejected on {plan.repo_id} and "
            f"stay rejected (--include-rejected accepts them): {shown}",
            err=True,
        )
    if plan.source_hidden:
        click.echo(
            f"note: {output.plural(plan.source_hidden, 'accepted request')} of the source "
            "repo hide their requester and cannot be copied",
            err=True,
        )


async def _sync(
    settings: Settings,
    repo: str,
    source: AccessSource,
    *,
    remove: str,
    reason: str | None,
    include_rejected: bool,
    plan_only: bool,
    assume_yes: bool,
    journal: str | None,
    fmt: str,
) -> int:
    repo_id, rtype = hub_repo(repo, settings.repo_type)
    async with settings.session() as session:
        plan = await session.plan_access(
            repo_id,
            source,
            remove=remove,
            reason=reason,
            include_rejected=include_rejected,
            repo_type=rtype,
        )
        reads = output.plural(plan.reads, "call")
        if plan_only or plan.in_sync:
            if fmt == "json":
                json.dump(plan_json(plan), sys.stdout, ensure_ascii=False, indent=2)
                sys.stdout.write("\n")
            else:
                click.echo(plan.diff() if plan_only else plan.summary())
            _notes(plan)
            tail = "nothing was changed" if plan_only else "nothing to do"
            click.echo(f"plan read in {reads}; {tail}", err=True)
            return EXIT_OK
        if fmt == "text":
            click.echo(plan.diff(limit=_DIFF_SHOWN), err=True)
        else:
            click.echo(plan.summary(), err=True)
        _notes(plan)
        job = BulkJob(
            label="sync",
            what=_what(plan),
            total=len(plan),
            row=output.outcome_row,
            who=_who,
            journal=journal,
            assume_yes=assume_yes,
            fmt=fmt,
            verbose=settings.verbose,
        )
        return await drive_bulk(
            job,
            lambda on_progress: session.start_bulk(
                plan.decisions(), on_progress=on_progress, journal=journal
            ),
        )


@with_repo_type
@click.command("sync", short_help="Make a repo's access equal to a list (plan, then apply).")
@click.argument("repo")
@click.option(
    "--users-file",
    metavar="PATH",
    help="The users who should have access: one name per line, or a CSV with a 'user' "
    "column ('-' for stdin).",
)
@click.option(
    "--from-repo",
    metavar="NS/NAME",
    help="Give access to the users accepted on this repo (e.g. the previous version).",
)
@click.option(
    "--remove",
    type=click.Choice([m.value for m in RemoveMode]),
    default=RemoveMode.CANCEL.value,
    show_default=True,
    help="What to do to accepted users not on the list (keep: remove no one).",
)
@click.option("--reason", help="Reason sent with --remove reject|reset (at most 200 characters).")
@click.option(
    "--include-rejected",
    is_flag=True,
    help="Accept users on the list who were rejected (default: report them, leave them).",
)
@click.option("--plan", "plan_only", is_flag=True, help="Print the plan; send no write.")
@click.option(
    "--yes", "-y", "assume_yes", is_flag=True, help="Do not ask before changing over 100 users."
)
@click.option("--journal", metavar="PATH", help="Record finished users; rerunning resumes.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the plan (with --plan) or the per-user outcomes on stdout.",
)
@click.pass_obj
def sync_cmd(
    settings: Settings,
    repo: str,
    users_file: str | None,
    from_repo: str | None,
    remove: str,
    reason: str | None,
    include_rejected: bool,
    plan_only: bool,
    assume_yes: bool,
    journal: str | None,
    fmt: str,
) -> None:
    """Make REPO's access equal to a list: grant users with no request, accept pending or
    reset ones, and move away accepted users who are not on it (--remove).

    \b
    Examples:
      hf-access sync org/model --users-file partners.txt --plan
      hf-access sync org/model-v2 --from-repo org/model-v1 --remove keep --yes
      hf-access sync org/model --users-file hr.csv --remove reject --reason "contract ended"

    Running it again with the same list changes nothing and says the repo is in sync.
    """
    if (users_file is None) == (from_repo is None):
        raise click.UsageError("give exactly one of --users-file and --from-repo")
    try:
        source: AccessSource
        if users_file is not None:
            where = "standard input" if users_file == "-" else users_file
            lines = parse_users(read_input(users_file, "--users-file"), source=where)
            source = AccessSource.from_users(line.user for line in lines)
        else:
            assert from_repo is not None
            from_id, from_type = hub_repo(from_repo, settings.repo_type)
            source = AccessSource.from_repo(from_id, repo_type=from_type)
    except ValueError as error:
        print_error(error, verbose=settings.verbose)
        raise SystemExit(EXIT_USAGE) from None

    code = run(
        settings,
        lambda: _sync(
            settings,
            repo,
            source,
            remove=remove,
            reason=reason,
            include_rejected=include_rejected,
            plan_only=plan_only,
            assume_yes=assume_yes,
            journal=journal,
            fmt=fmt,
        ),
    )
    raise SystemExit(code)
