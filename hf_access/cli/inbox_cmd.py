"""``hf-access inbox``: every gated repo of some namespaces, where requests wait first."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import timedelta

import click

from ..hub.inbox import InboxRow
from ..hub.models import RepoType
from . import output
from .output import JsonRow
from .runner import EXIT_FAILED, EXIT_OK, Settings, run
from .targets import with_repo_type

__all__ = ["format_age", "inbox_cmd", "inbox_json", "sort_rows"]

_COLUMNS = ("repo", "type", "gating", "pending", "oldest", "24h", "7d", "decided in", "note")


def format_age(age: timedelta | None) -> str:
    """A short age for the table: ``3d 4h``, ``5h 12m``, ``7m``, ``<1m``, or ``-``.

    >>> format_age(timedelta(days=3, hours=4, minutes=5))
    '3d 4h'
    >>> format_age(timedelta(seconds=20))
    '<1m'
    """
    if age is None:
        return "-"
    minutes = int(age.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m" if mins else "<1m"


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def inbox_json(row: InboxRow) -> JsonRow:
    """One row for json/csv: ISO times and ages in seconds."""
    return {
        "namespace": row.namespace,
        "repo_id": row.repo_id,
        "repo_type": row.repo_type.value,
        "gating": row.gating.value,
        "private": row.private,
        "manageable": row.manageable,
        "pending": row.pending,
        "oldest_pending": row.oldest_pending.isoformat() if row.oldest_pending else None,
        "oldest_pending_age_s": _seconds(row.oldest_pending_age),
        "received_24h": row.received_24h,
        "received_7d": row.received_7d,
        "median_decision_s": _seconds(row.median_decision),
        "decided": row.decided,
        "note": row.note,
    }


def sort_rows(rows: Sequence[InboxRow], by: str) -> list[InboxRow]:
    """Where to look first: ``oldest`` (longest wait first) or ``pending`` (most first).
    Repos with nothing pending follow, and repos without figures come last."""

    def key(row: InboxRow) -> tuple[int, float, float]:
        if row.pending is None:
            return (2, 0.0, 0.0)
        waited = _seconds(row.oldest_pending_age) or 0.0
        if not row.pending:
            return (1, 0.0, 0.0)
        if by == "pending":
            return (0, -row.pending, -waited)
        return (0, -waited, -row.pending)

    return sorted(rows, key=key)


def _cells(row: InboxRow) -> tuple[str, ...]:
    def number(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    return (
        row.repo_id + (" (private)" if row.private else ""),
        row.repo_type.value,
        row.gating.value,
        number(row.pending),
        format_age(row.oldest_pending_age),
        number(row.received_24h),
        number(row.received_7d),
        format_age(row.median_decision),
        row.note or "",
    )


@with_repo_type
@click.command("inbox", short_help="Every gated repo of some namespaces: what waits where.")
@click.argument("namespaces", nargs=-1, metavar="[NAMESPACE]...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="A table (for people), json or csv.",
)
@click.option(
    "--sort",
    "sort_by",
    type=click.Choice(["oldest", "pending"]),
    default="oldest",
    show_default=True,
    help="oldest: the longest wait first; pending: the most requests first.",
)
@click.pass_obj
def inbox_cmd(settings: Settings, namespaces: tuple[str, ...], fmt: str, sort_by: str) -> None:
    """Every gated repo of the NAMESPACEs (default: your user and the organisations you
    manage), with its pending requests, the oldest one's wait, requests of the last 24 hours
    and 7 days, and the median time to a decision.

    \b
    Examples:
      hf-access inbox
      hf-access inbox my-org --sort pending
      hf-access --repo-type dataset inbox my-org --format csv > inbox.csv

    Repos your token cannot manage are listed as such.
    """
    types = [settings.repo_type] if settings.repo_type else [t.value for t in RepoType]

    async def work() -> int:
        rows: list[InboxRow] = []
        console = output.err_console()
        async with settings.session() as session:
            with output.CountingBar(console) as bar, bar.task("gated repos") as counter:
                async for row in session.inbox(namespaces or None, repo_types=types):
                    rows.append(row)
                    counter.advance()
            calls = session.calls
        rows = sort_rows(rows, sort_by)
        if fmt == "table":
            cells = [_cells(row) for row in rows]
            output.print_table(output.out_console(), _COLUMNS, cells, title="Inbox")
        else:
            output.write_rows((inbox_json(row) for row in rows), fmt, sys.stdout)
        pending = sum(row.pending or 0 for row in rows)
        unmanaged = sum(1 for row in rows if not row.manageable)
        line = (
            f"{output.plural(len(rows), 'gated repo')}, {output.plural(pending, 'pending request')}"
        )
        if unmanaged:
            line += f"; {unmanaged:,} the token cannot manage"
        click.echo(f"{line} ({output.plural(calls, 'call')})", err=True)
        unread = any(row.manageable and row.pending is None for row in rows)
        return EXIT_FAILED if unread else EXIT_OK

    raise SystemExit(run(settings, work))
