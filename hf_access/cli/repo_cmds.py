"""``hf-access list``, ``report`` and ``gating``: reading a repo's requests and settings."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click

from ..hub.models import AccessRequest, GatingMode, NotificationsMode, RequestStatus
from . import output
from .runner import EXIT_OK, Settings, run
from .targets import hub_repo, with_repo_type

__all__ = ["gating_cmd", "list_cmd", "report_cmd"]

_STATUSES = [s.value for s in RequestStatus]


@contextmanager
def _destination(path: str | None) -> Iterator[IO[str]]:
    if path is None or path == "-":
        yield sys.stdout
        return
    with Path(path).open("w", encoding="utf-8", newline="") as stream:
        yield stream


@with_repo_type
@click.command("list")
@click.argument("repo")
@click.option(
    "--status",
    type=click.Choice([*_STATUSES, "all"]),
    default="pending",
    show_default=True,
    help="Which list to read.",
)
@click.option("--search", "-q", metavar="Q", help="Only requests matching Q (the Hub's search).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "jsonl"]),
    default="table",
    show_default=True,
    help="Requests as a table (for people), json, csv or jsonl (streamed).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Stop after this many requests.")
@click.pass_obj
def list_cmd(
    settings: Settings,
    repo: str,
    status: str,
    search: str | None,
    fmt: str,
    limit: int | None,
) -> None:
    """List a repo's access requests (pending by default).

    json, csv and jsonl go to stdout (jsonl is streamed); counts go to stderr.
    """
    statuses = _STATUSES if status == "all" else [status]

    async def work() -> int:
        console = output.err_console()
        collected: list[AccessRequest] = []
        repo_id, rtype = hub_repo(repo, settings.repo_type)
        async with settings.session() as session:
            with output.CountingBar(console) as bar:
                for name in statuses:
                    if limit is not None and len(collected) >= limit:
                        break
                    pages = session.iter_requests(repo_id, name, repo_type=rtype, search=search)
                    with bar.task(f"{name} on {repo}") as counter:
                        async for request in pages:
                            counter.advance()
                            collected.append(request)
                            if fmt == "jsonl":
                                sys.stdout.write(_jsonl(request))
                            if limit is not None and len(collected) >= limit:
                                break
                    await _close(pages)
            calls = session.calls
        if fmt == "table":
            title = f"{repo}: {status} requests" + (f" matching {search!r}" if search else "")
            output.print_requests(output.out_console(), collected, title=title)
        elif fmt != "jsonl":
            output.write_rows((output.request_row(r) for r in collected), fmt, sys.stdout)
        found = output.plural(len(collected), f"{status} request")
        spent = output.plural(calls, "call")
        if limit is not None and len(collected) >= limit:  # stopped early: there may be more
            click.echo(f"the first {found} on {repo}, as --limit {limit} asks ({spent})", err=True)
        else:
            click.echo(f"{found} on {repo} ({spent})", err=True)
        return EXIT_OK

    raise SystemExit(run(settings, work))


async def _close(pages: AsyncIterator[AccessRequest]) -> None:
    """Close a listing left early (``--limit``) so its connection is released now."""
    aclose = getattr(pages, "aclose", None)
    if aclose is not None:
        await aclose()


def _jsonl(request: AccessRequest) -> str:
    return json.dumps(output.request_row(request), ensure_ascii=False) + "\n"


@with_repo_type
@click.command("report")
@click.argument("repo")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="json (one array) or csv, with one row per request.",
)
@click.option(
    "--output", "-o", "path", metavar="PATH", help="Write to this file instead of stdout."
)
@click.pass_obj
def report_cmd(settings: Settings, repo: str, fmt: str, path: str | None) -> None:
    """Export the access report: every request in every status."""

    async def work() -> int:
        repo_id, rtype = hub_repo(repo, settings.repo_type)
        async with settings.session() as session:
            entries = await session.access_report(repo_id, repo_type=rtype)
        with _destination(path) as stream:
            count = output.write_rows((output.report_row(e) for e in entries), fmt, stream)
        by_status: dict[str, int] = {}
        for entry in entries:
            by_status[entry.status.value] = by_status.get(entry.status.value, 0) + 1
        counts = ", ".join(f"{n:,} {s}" for s, n in sorted(by_status.items())) or "empty"
        where = f" to {path}" if path and path != "-" else ""
        click.echo(f"access report of {repo}: {count:,} entries ({counts}){where}", err=True)
        return EXIT_OK

    raise SystemExit(run(settings, work))


@with_repo_type
@click.command("gating")
@click.argument("repo")
@click.option(
    "--set",
    "mode",
    type=click.Choice([m.value for m in GatingMode]),
    help="Change the gating mode.",
)
@click.option(
    "--notify",
    type=click.Choice([m.value for m in NotificationsMode]),
    help="When the Hub e-mails the owners about new requests.",
)
@click.option("--notify-email", metavar="ADDR", help="Where those e-mails go.")
@click.pass_obj
def gating_cmd(
    settings: Settings,
    repo: str,
    mode: str | None,
    notify: str | None,
    notify_email: str | None,
) -> None:
    """Show the gating mode of a repo, or change gating settings."""

    async def work() -> int:
        repo_id, rtype = hub_repo(repo, settings.repo_type)
        async with settings.session() as session:
            changing = mode is not None or notify is not None or notify_email is not None
            if changing:
                await session.set_gating(
                    repo_id,
                    mode,
                    repo_type=rtype,
                    notifications_mode=notify,
                    notifications_email=notify_email,
                )
            current = await session.get_gating(repo_id, repo_type=rtype)
        changes = []
        if notify is not None:
            changes.append(f"notifications {notify}")
        if notify_email is not None:
            changes.append(f"notification e-mail {notify_email}")
        click.echo(f"{repo}: gated {current.value}")
        if changes:
            click.echo(f"updated: {', '.join(changes)}", err=True)
        return EXIT_OK

    raise SystemExit(run(settings, work))
