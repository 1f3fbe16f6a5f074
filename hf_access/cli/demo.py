"""``hf-access demo``: the main job end to end against an embedded fake Hub.

Nothing to configure: the fake Hub runs in this process on 127.0.0.1 with a scaled-down
quota, so the run shows the rate limiter at work and still ends in well under a minute.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from ..core.outcomes import BulkReport
from ..core.ratelimit import RateLimiter
from ..hub.bulk import Decision
from ..hub.client import AccessSession
from ..hub.models import AccessRequest
from . import demo_data, output
from .runner import EXIT_FAILED, EXIT_OK, Settings, run

if TYPE_CHECKING:
    from ..testing import FakeHub

__all__ = ["demo_cmd"]

FREE_QUOTA, FREE_WINDOW = 1000, 300


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "no wait"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _windows(calls: int, quota: int) -> int:
    return max(1, math.ceil(calls / quota))


def _output_dir(wanted: str | None) -> Path:
    if wanted is not None:
        path = Path(wanted)
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = Path("demo-output")
    try:
        path.mkdir(exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="hf-access-demo-"))


def _sample_table(requests: Sequence[AccessRequest]) -> Table:
    table = Table(title="A sample of the requests:", title_justify="left", header_style="bold")
    for header, width in (("user", 24), ("e-mail", 34), ("Company", 22)):
        table.add_column(header, overflow="ellipsis", max_width=width)
    table.add_column("Country", no_wrap=True, min_width=7)
    table.add_column("Intended use", no_wrap=True, min_width=12)
    for request in requests:
        fields = request.fields
        table.add_row(
            request.label,
            request.email or "",
            *(str(fields.get(name) or "") for name in ("Company", "Country", "Intended use")),
        )
    return table


class _Demo:
    def __init__(
        self, console: Console, *, requests: int, repos: int, quota: int, window: int, out: Path
    ) -> None:
        self.con = console
        self.total = requests
        self.repos = demo_data.demo_repos(repos)
        self.quota = quota
        self.window = window
        self.out = out
        self.started = time.perf_counter()

    def step(self, number: int, title: str) -> None:
        self.con.print()
        self.con.rule(f"[bold cyan]{number}. {title}", align="left", style="cyan")

    def seed(self, hub: FakeHub) -> None:
        started = time.perf_counter()
        crowd = demo_data.people(max(10, math.ceil(self.total * 0.75)))
        for person in crowd:
            hub.add_user(person.name, fullname=person.fullname, email=person.email)
        for repo in self.repos:
            hub.add_repo(repo.repo_id, repo_type=repo.repo_type, gated="manual")
        for repo, person, fields in demo_data.requests_of(self.repos, crowd, self.total):
            hub.ask_access(repo.repo_id, person.name, repo_type=repo.repo_type, fields=fields)
        self.con.print(
            f"Seeded {self.total:,} pending requests from {len(crowd):,} users on "
            f"{len(self.repos)} repos in {time.perf_counter() - started:.1f} s "
            "(gate form: Company, Country, Intended use; e-mails on many domains)."
        )

    async def list_pending(self, hub: AccessSession) -> dict[str, list[AccessRequest]]:
        pending: dict[str, list[AccessRequest]] = {}
        table = Table(header_style="bold")
        for column in ("repo", "type", "pending", "calls"):
            table.add_column(column, justify="right" if column in ("pending", "calls") else "left")
        with output.CountingBar(self.con) as bar:
            for repo in self.repos:
                before = hub.calls
                with bar.task(f"listing {repo.repo_id}") as counter:
                    found = []
                    async for request in hub.iter_requests(
                        repo.repo_id, "pending", repo_type=repo.repo_type
                    ):
                        found.append(request)
                        counter.advance()
                pending[repo.repo_id] = found
                table.add_row(
                    repo.repo_id, repo.repo_type, f"{len(found):,}", str(hub.calls - before)
                )
        self.con.print(table)
        self.con.print(_sample_table(next(iter(pending.values()))[:6]))
        return pending

    def screen(self, pending: dict[str, list[AccessRequest]]) -> list[Decision]:
        domains = ", ".join(demo_data.DENY_DOMAINS)
        self.con.print(
            f"Rule: reject disposable e-mail domains ({domains}) and forms without a Company; "
            "accept everyone else."
        )
        decisions: list[Decision] = []
        tally: Counter[tuple[str, str]] = Counter()
        types = {r.repo_id: r.repo_type for r in self.repos}
        for repo_id, requests in pending.items():
            for request in requests:
                verdict = demo_data.screen(request)
                decisions.append(
                    Decision(repo_id, request.label, verdict.action, verdict.reason, types[repo_id])
                )
                tally[(verdict.action.value, verdict.reason or "")] += 1
        table = Table(header_style="bold")
        table.add_column("verdict")
        table.add_column("reason given to the user")
        table.add_column("requests", justify="right")
        for (action, reason), count in sorted(tally.items()):
            table.add_row(action, reason or "-", f"{count:,}")
        self.con.print(table)
        return decisions

    async def decide(
        self, hub: AccessSession, decisions: Sequence[Decision]
    ) -> BulkReport[Decision]:
        self.con.print(
            f"Deciding {len(decisions):,} requests through the batch route (100 users per call, "
            f"16 calls at a time, every call through the shared rate limiter)..."
        )
        bar = output.BulkBar(self.con, "accept/reject", len(decisions))
        with bar:
            report = await hub.decide_many(decisions, on_progress=bar.update)
        self.con.print(output.summary_line(report))
        if isinstance(hub.limiter, RateLimiter) and hub.limiter.stats.waits:
            self.con.print(
                "The demo's quota ran out during the run: the limiter held the calls until "
                "the next window instead of collecting 429s."
            )
        return report

    async def export(self, hub: AccessSession, report: BulkReport[Decision]) -> None:
        table = Table(header_style="bold")
        for column in ("repo", "accepted", "rejected", "pending", "file"):
            table.add_column(column, justify="left" if column in ("repo", "file") else "right")
        for repo in self.repos:
            entries = await hub.access_report(repo.repo_id, repo_type=repo.repo_type)
            path = self.out / f"access-report-{repo.repo_id.replace('/', '-')}.csv"
            with path.open("w", encoding="utf-8", newline="") as stream:
                output.write_rows((output.report_row(e) for e in entries), "csv", stream)
            counts = Counter(e.status.value for e in entries)
            table.add_row(
                repo.repo_id,
                f"{counts['accepted']:,}",
                f"{counts['rejected']:,}",
                f"{counts['pending']:,}",
                path.name,
            )
        outcomes = self.out / "decisions.jsonl"
        with outcomes.open("w", encoding="utf-8") as stream:
            output.write_rows((output.outcome_row(i) for i in report.items), "jsonl", stream)
        self.con.print(table)
        self.con.print(f"Reports and per-user outcomes ({outcomes.name}) written to {self.out}/")

    def cost(self, calls: int, rate_limited: int, decided: int, list_calls: int) -> None:
        naive = decided + list_calls
        table = Table(header_style="bold")
        table.add_column("")
        table.add_column("calls", justify="right")
        table.add_column(f"windows\n{self.quota}/{self.window}s (demo)", justify="right")
        table.add_column(f"windows\n{FREE_QUOTA:,}/{FREE_WINDOW}s (free)", justify="right")
        table.add_column("waiting on\nthe free plan", justify="right")
        for label, count in (("hf-access (batch)", calls), ("one call per user", naive)):
            free = _windows(count, FREE_QUOTA)
            table.add_row(
                label,
                f"{count:,}",
                f"{_windows(count, self.quota):,}",
                f"{free:,}",
                _duration((free - 1) * FREE_WINDOW),
            )
        self.con.print(table)
        self.con.print(
            f"{naive / max(calls, 1):.0f}x fewer calls; 429 answers received: {rate_limited}."
        )

    async def main(self) -> int:
        from ..testing import FakeHub

        con = self.con
        con.print("[bold]hf-access demo[/]: bulk access decisions against an embedded fake Hub")
        hub_server = FakeHub(quota=self.quota, window=self.window)
        self.seed(hub_server)
        async with hub_server:
            con.print(
                f"Fake Hub on {hub_server.url} (in this process; no token or network needed). "
                f"Rate limit: {self.quota} calls per {self.window} s window, the free plan's "
                f"{FREE_QUOTA:,} per {FREE_WINDOW} s scaled down so the demo ends quickly."
            )
            async with AccessSession(token=hub_server.token, endpoint=hub_server.url) as hub:
                self.step(1, "What is pending")
                pending = await self.list_pending(hub)
                list_calls = hub.calls
                self.step(2, "Screening")
                decisions = self.screen(pending)
                self.step(3, "Bulk accept and reject")
                report = await self.decide(hub, decisions)
                self.step(4, "Access reports")
                await self.export(hub, report)
                self.step(5, "Calls used")
                self.cost(hub.calls, hub_server.counters.rate_limited, len(decisions), list_calls)
        elapsed = time.perf_counter() - self.started
        con.print()
        con.print(f"[bold green]Done[/] in {elapsed:.1f} s. Files are in {self.out}/")
        return EXIT_OK if report.ok else EXIT_FAILED


@click.command("demo", short_help="See the main job end to end (embedded fake Hub).")
@click.option("--requests", type=click.IntRange(10), default=30_000, hidden=True)
@click.option("--repos", type=click.IntRange(1, 3), default=3, hidden=True)
@click.option("--quota", type=click.IntRange(1), default=100, hidden=True)
@click.option("--window", type=click.IntRange(1), default=5, hidden=True)
@click.option("--output-dir", metavar="PATH", default=None, hidden=True)
@click.pass_obj
def demo_cmd(
    settings: Settings,
    requests: int,
    repos: int,
    quota: int,
    window: int,
    output_dir: str | None,
) -> None:
    """Run the main job end to end against an embedded fake Hub (no token, no network)."""
    out = _output_dir(output_dir)
    console = Console(file=sys.stdout, highlight=False)
    if not console.is_terminal:
        console = Console(file=sys.stdout, highlight=False, width=100)
    demo = _Demo(console, requests=requests, repos=repos, quota=quota, window=window, out=out)
    raise SystemExit(run(settings, demo.main))
