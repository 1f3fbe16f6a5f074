"""``hf-access relay``: deliver access-request events as signed webhooks; ``status``, ``replay``."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime, timezone
from typing import Any

import click

from ..hub.watch import DEFAULT_INTERVAL
from ..screening.relay import DeliveryPolicy, Outbox, Relay
from .runner import EXIT_OK, EXIT_USAGE, Settings, print_error, run
from .targets import with_repo_type

__all__ = ["relay_group"]

SECRET_ENV = "HF_ACCESS_WEBHOOK_SECRET"
OUTBOX_ENV = "HF_ACCESS_RELAY_OUTBOX"
DEFAULT_OUTBOX = "hf-access-relay.db"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``72h``, ``3d`` -> seconds.

    >>> parse_duration("72h")
    259200.0
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a duration such as 90s, 30m, 72h or 3d")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_since(text: str, *, now: float) -> float:
    """An ISO 8601 time (UTC when no zone is given), or a duration ago (``2h``)."""
    try:
        return now - parse_duration(text)
    except click.BadParameter:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a time (2026-12-01T10:00:00Z) nor a duration (2h)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _secrets(given: tuple[str, ...]) -> list[str]:
    # several --secret (or space-separated ones in the variable) sign together: rotation
    return [part for value in given for part in value.split()]


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _RelayGroup(click.Group):
    """``hf-access relay REPO...`` is ``hf-access relay run REPO...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(
    "relay",
    cls=_RelayGroup,
    short_help="Deliver access-request events as signed webhooks (Standard Webhooks).",
)
def relay_group() -> None:
    """Turn access requests into signed webhooks: POSTs to your service, at least once.

    \b
    Examples:
      export HF_ACCESS_WEBHOOK_SECRET=whsec_...
      hf-access relay my-org/gated-model --to https://example.org/hooks/hf
      hf-access relay my-org/model --to URL --statuses pending,accepted,rejected
      hf-access relay status
      hf-access relay replay --since 2h

    hf-access relay REPO... is short for hf-access relay run REPO....
    """


_outbox_option = click.option(
    "--outbox",
    type=click.Path(dir_okay=False),
    default=DEFAULT_OUTBOX,
    show_default=True,
    envvar=OUTBOX_ENV,
    help=f"The SQLite outbox (also {OUTBOX_ENV}).",
)


@with_repo_type
@relay_group.command("run")
@click.argument("repos", nargs=-1, required=True, metavar="REPO...")
@click.option("--to", "url", required=True, metavar="URL", help="The receiver's URL.")
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    envvar=SECRET_ENV,
    metavar="SECRET",
    help=f"The whsec_ signing secret (better: {SECRET_ENV}); twice while rotating. Never printed.",
)
@_outbox_option
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_INTERVAL,
    show_default=True,
    help="Seconds between polls of the Hub.",
)
@click.option(
    "--statuses",
    default="pending",
    show_default=True,
    metavar="LIST",
    help="Lists to relay, comma-separated: pending (created), accepted, rejected, reset.",
)
@click.option(
    "--max-age",
    default="72h",
    show_default=True,
    help="Retry an event this long (90s, 30m, 72h, 3d), then give it up (dead letter).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds each delivery attempt may take.",
)
@click.option(
    "--retry-delay",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="Seconds before the first retry; doubled on each (with jitter), at most 30 min.",
)
@click.option(
    "--include-existing", is_flag=True, help="Also relay what is already listed at the start."
)
@click.option("--enable", is_flag=True, help="Send again to an endpoint that answered 410 Gone.")
@click.option("--once", is_flag=True, help="One poll and one delivery pass, then exit.")
@click.pass_obj
def run_cmd(
    settings: Settings,
    repos: tuple[str, ...],
    url: str,
    secrets: tuple[str, ...],
    outbox: str,
    interval: float,
    statuses: str,
    max_age: str,
    timeout: float,
    retry_delay: float,
    include_existing: bool,
    enable: bool,
    once: bool,
) -> None:
    """Poll REPO... and deliver each new access request to --to as a signed webhook.

    REPO is org/name (of --repo-type) or datasets/org/name. Every event is kept in
    the outbox until delivered, so a restart loses nothing and re-sends with the same
    webhook-id. Runs until interrupted (or one pass with --once).
    """
    keys = _secrets(secrets)
    if not keys:
        raise click.UsageError(f"give the signing secret with --secret or {SECRET_ENV}")
    policy = DeliveryPolicy(
        first_delay=retry_delay, max_age=parse_duration(max_age), timeout=timeout
    )
    wanted = [s.strip() for s in statuses.split(",") if s.strip()]

    async def work() -> int:
        async with (
            settings.session() as session,
            Relay(
                session,
                list(repos),
                to=url,
                secret=keys,
                outbox=outbox,
                statuses=wanted,
                repo_type=settings.repo_type,
                interval=interval,
                include_existing=include_existing,
                policy=policy,
                enable=enable,
            ) as relay,
        ):
            click.echo(f"relaying {', '.join(repos)} ({', '.join(wanted)}); {relay!r}", err=True)
            try:
                if once:
                    await relay.poll(force=True)
                    await relay.deliver()
                else:
                    await relay.run()
            finally:
                stats = relay.stats()
                click.echo(
                    f"delivered {relay.delivered}, failed attempts {relay.failed}, dead"
                    f" {relay.dead}; outbox: {stats.pending} pending, {stats.delivered}"
                    f" delivered, {stats.dead} dead",
                    err=True,
                )
        return EXIT_OK

    raise SystemExit(run(settings, work))


def _open(outbox: str) -> Outbox:
    try:
        return Outbox(outbox)
    except ValueError as error:
        print_error(error)
        raise SystemExit(EXIT_USAGE) from None


@relay_group.command("status")
@_outbox_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def status_cmd(outbox: str, fmt: str) -> None:
    """Show the outbox: pending, delivered and dead events, disabled endpoints."""
    with _open(outbox) as box:
        stats = box.stats()
        dead = box.dead_letters()
    if fmt == "json":
        doc: dict[str, Any] = {
            "pending": stats.pending,
            "delivered": stats.delivered,
            "dead": stats.dead,
            "oldest_pending": _when(stats.oldest_pending) if stats.oldest_pending else None,
            "disabled": dict(stats.disabled),
            "dead_letters": [
                {"id": i, "repo": r, "type": t, "attempts": a, "error": e, "died_at": _when(d)}
                for i, r, t, a, e, d in dead
            ],
        }
        click.echo(json.dumps(doc, indent=1))
        return
    click.echo(f"pending    {stats.pending}  (oldest seen {_when(stats.oldest_pending)})")
    click.echo(f"delivered  {stats.delivered}")
    click.echo(f"dead       {stats.dead}")
    for endpoint, reason in stats.disabled.items():
        click.echo(f"disabled   {endpoint}: {reason}")
    for event_id, repo, kind, attempts, error, died in dead:
        click.echo(f"  dead {event_id} {repo} {kind}: {attempts} attempts, {error} ({_when(died)})")


@relay_group.command("replay")
@_outbox_option
@click.option("--since", metavar="T", help="Events seen since T (2026-12-01T10:00:00Z, or 2h).")
@click.option("--id", "event_id", metavar="ID", help="The event with this webhook-id.")
def replay_cmd(outbox: str, since: str | None, event_id: str | None) -> None:
    """Queue delivered or dead events again (same webhook-id); the relay sends them."""
    if (since is None) == (event_id is None):
        raise click.UsageError("give exactly one of --since and --id")
    now = time.time()
    moment = parse_since(since, now=now) if since is not None else None
    with _open(outbox) as box:
        count = box.replay(now=now, since=moment, event_id=event_id)
    click.echo(f"{count} event(s) queued again; a running relay sends them within its interval")
    if count == 0 and event_id is not None:
        sys.exit(1)
