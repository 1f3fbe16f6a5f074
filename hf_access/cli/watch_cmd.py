"""``hf-access watch``: decide new access requests by a policy as they arrive."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import click

from ..hub.client import AccessSession
from ..hub.models import RepoType
from ..screening.autoapprove import AutoApprover, PassReport
from ..screening.coordination import Coordinator
from ..screening.policy import Policy
from .runner import Settings, run


@click.command("watch", short_help="Decide new access requests by a policy, as they arrive.")
@click.argument("repos", nargs=-1, required=True, metavar="REPO...")
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The policy file (TOML).",
)
@click.option("--once", is_flag=True, help="One pass, then exit (1 if a decision failed).")
@click.option(
    "--dry-run", is_flag=True, help="Send nothing; the audit log says what would be done."
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False),
    default=None,
    help="Append one JSON line per decision to this file.",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Remember the position here, so that restarts decide nothing twice.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=1.0),
    default=30.0,
    show_default=True,
    help="Seconds between polls (backs off to 600 while idle).",
)
@click.option("--recheck-held", is_flag=True, help="Evaluate held requests again while pending.")
@click.pass_obj
def watch_cmd(
    settings: Settings,
    repos: tuple[str, ...],
    policy_path: str,
    once: bool,
    dry_run: bool,
    audit_log: str | None,
    state_file: str | None,
    interval: float,
    recheck_held: bool,
) -> None:
    """Watch REPO... for new access requests and decide them by --policy.

    REPO is ``org/name`` (of --repo-type) or ``datasets/org/name``. Without --once it runs
    until interrupted; each decision is printed on stdout, summaries go to stderr.
    """

    async def work() -> int:
        async with settings.session() as session:
            return await run_watch_command(
                session,
                list(repos),
                policy_path,
                once=once,
                dry_run=dry_run,
                audit_log=audit_log,
                state_file=state_file,
                repo_type=settings.repo_type,
                interval=interval,
                recheck_held=recheck_held,
                coordinator=settings.fleet.coordinator(repos),
            )

    raise SystemExit(run(settings, work))


async def run_watch_command(
    hub: AccessSession,
    repos: Sequence[str],
    policy_path: str | Path,
    *,
    once: bool = False,
    dry_run: bool = False,
    audit_log: str | Path | None = None,
    state_file: str | Path | None = None,
    repo_type: RepoType | str | None = None,
    interval: float = 30.0,
    recheck_held: bool = False,
    coordinator: Coordinator | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``hf-access watch``: decisions to ``out`` (stdout), pass summaries to ``err`` (stderr).

    Returns 0 when every decision was applied (or dry run), 1 when some failed. Raises
    :class:`ValueError` for an invalid policy and the Hub's errors (auth, missing repo), as
    the CLI's runner expects. Without ``once`` it runs until cancelled (Ctrl-C).
    """
    out, err = out or sys.stdout, err or sys.stderr
    approver = AutoApprover(
        hub,
        repos,
        Policy.from_toml(policy_path),
        dry_run=dry_run,
        audit_log=audit_log,
        state_file=state_file,
        repo_type=repo_type,
        interval=interval,
        recheck_held=recheck_held,
        on_record=lambda record: print(record.line(), file=out, flush=True),
        coordinator=coordinator,
    )
    if once:
        report = await approver.run_once()
        print(report.summary(), file=err, flush=True)
        return 1 if report.failed else 0

    def summary(report: PassReport) -> None:
        if report.records:
            print(report.summary(), file=err, flush=True)

    await approver.run(on_pass=summary)
    return 0  # pragma: no cover - run() ends only by an error or cancellation
