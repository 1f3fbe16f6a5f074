"""``hf-access watch``: decide new access requests by a policy as they arrive."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TextIO

import attrs
import click

from ..hub.client import AccessSession
from ..hub.models import RepoType
from ..hub.watch import DEFAULT_INCLUDE_EXISTING, DEFAULT_INTERVAL, DEFAULT_MAX_INTERVAL
from ..screening.autoapprove import AutoApprover, PassReport
from ..screening.coordination import Coordinator
from ..screening.policy import Policy, PolicyDecision
from .runner import EXIT_FAILED, EXIT_OK, EXIT_TERMINATED, Settings, run
from .targets import with_repo_type


@with_repo_type
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
    default=DEFAULT_INTERVAL,
    show_default=True,
    help=f"Seconds between polls (backs off to {DEFAULT_MAX_INTERVAL:g} while idle).",
)
@click.option("--recheck-held", is_flag=True, help="Evaluate held requests again while pending.")
@click.option(
    "--include-existing",
    is_flag=True,
    help="Also decide the requests already pending on the first run (default: only new ones).",
)
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
    include_existing: bool,
) -> None:
    """Watch REPO... for new access requests and decide them by --policy.

    REPO is org/name (of --repo-type) or datasets/org/name. The first run decides only
    requests that arrive after it starts and leaves those already pending alone, unless
    --include-existing is given; --state-file carries the position to later runs. Without
    --once it runs until Ctrl-C or SIGTERM (exit 130 or 143, after a summary); each decision is
    printed on stdout, the start-up lines and summaries on stderr.
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
                include_existing=include_existing,
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
    interval: float = DEFAULT_INTERVAL,
    recheck_held: bool = False,
    coordinator: Coordinator | None = None,
    include_existing: bool = DEFAULT_INCLUDE_EXISTING,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``hf-access watch``: decisions to ``out`` (stdout), start-up lines and summaries to
    ``err`` (stderr).

    Returns 0 when every decision was applied (or dry run), 1 when some failed, 143 when a
    continuous watch is stopped by SIGTERM. Raises :class:`ValueError` for an invalid policy
    and the Hub's errors (auth, missing repo), as the CLI's runner expects. Without ``once``
    it runs until cancelled (Ctrl-C: the summary, then the cancellation goes on).
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
        include_existing=include_existing,
        on_record=lambda record: print(record.line(), file=out, flush=True),
        coordinator=coordinator,
    )

    def say(text: str) -> None:
        print(text, file=err, flush=True)

    if not once:
        say(
            f"watching {', '.join(repos)} with policy {policy_path}, every {interval:g}s "
            f"(backing off to {DEFAULT_MAX_INTERVAL:g}s while idle); "
            f"state file: {state_file or 'none'}"
            + ("; dry run: nothing is sent" if dry_run else "")
        )
    say(_first_run_line(approver, include_existing))
    totals = _Totals()

    def after_pass(report: PassReport) -> None:
        totals.add(report)
        if report.left_alone:
            n = report.left_alone
            say(
                f"left {n} pending request{'s' * (n != 1)} alone: pending before the watch "
                "started (--include-existing decides them)"
            )

    if once:
        report = await approver.run_once()
        after_pass(report)
        say(report.summary())
        return EXIT_FAILED if report.failed else EXIT_OK

    def summary(report: PassReport) -> None:
        after_pass(report)
        if report.records:
            say(report.summary())

    try:
        await _until_stopped(approver.run(on_pass=summary))
    except (asyncio.CancelledError, KeyboardInterrupt):  # Ctrl-C: the summary, then exit 130
        say(totals.summary())
        raise
    say(totals.summary())
    return EXIT_TERMINATED  # run() ends only by an error, a cancellation or SIGTERM


def _first_run_line(approver: AutoApprover, include_existing: bool) -> str:
    watcher = approver.watcher
    if len(watcher.resumed) == len(watcher.streams):
        return "resuming from the state file: deciding requests that arrived since the last run"
    if include_existing:
        return "first run: deciding the requests already pending too (--include-existing)"
    return (
        "first run: deciding only requests that arrive from now on; those already pending are "
        "left alone (--include-existing decides them)"
    )


@attrs.define
class _Totals:
    passes: int = 0
    decisions: int = 0
    failed: int = 0
    calls: int = 0
    counts: dict[PolicyDecision, int] = attrs.field(factory=dict)

    def add(self, report: PassReport) -> None:
        self.passes += 1
        self.decisions += len(report.records)
        self.failed += report.failed
        self.calls += report.calls
        for decision in PolicyDecision:
            self.counts[decision] = self.counts.get(decision, 0) + report.count(decision)

    def summary(self) -> str:
        counts = ", ".join(f"{self.counts.get(d, 0)} {d.value}" for d in PolicyDecision)
        return (
            f"watch stopped after {self.passes} pass{'es' * (self.passes != 1)}: "
            f"{self.decisions} decision{'s' * (self.decisions != 1)}: {counts}; "
            f"{self.failed} failed; {self.calls} call{'s' * (self.calls != 1)}"
        )


async def _until_stopped(work: Awaitable[None]) -> bool:
    """Run ``work`` until it is cancelled (Ctrl-C) or SIGTERM arrives; True for SIGTERM.

    Ctrl-C's cancellation goes on after the caller's ``finally`` blocks: re-raised here, it
    lets :func:`asyncio.run` raise KeyboardInterrupt (exit 130); SIGTERM cancels the same way
    but ends normally, so the caller prints its summary and exits 143.
    """
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        handled = True
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
        handled = False
    try:
        await work
    except asyncio.CancelledError:
        if not terminated:
            raise
        if task is not None and hasattr(task, "uncancel"):
            task.uncancel()
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGTERM)
    return terminated
