"""What the command prints: machine formats on stdout, people's text and progress on stderr."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..core.outcomes import BulkProgress, BulkReport, ItemOutcome, PlannedCall
from ..hub.convert import to_jsonable
from ..hub.models import AccessRequest, ReportEntry

__all__ = [
    "BulkBar",
    "CountingBar",
    "err_console",
    "neutralise",
    "out_console",
    "outcome_row",
    "plan_row",
    "print_table",
    "report_row",
    "request_row",
    "summary_line",
    "write_rows",
]

JsonRow = dict[str, Any]


def err_console() -> Console:
    """People's output: stderr, bars and colour only when it is a terminal."""
    return Console(stderr=True, highlight=False, soft_wrap=False)


def out_console(file: IO[str] | None = None) -> Console:
    return Console(file=file or sys.stdout, highlight=False)


# -- rows -------------------------------------------------------------------------------------


def _granted(value: Any) -> str | None:
    if isinstance(value, Mapping):
        name = value.get("username") or value.get("fullname")
        return str(name) if name is not None else None
    return None


def request_row(request: AccessRequest) -> JsonRow:
    """An access request as a JSON-ready dict (snake_case keys, ISO times)."""
    data: JsonRow = to_jsonable(request)
    return data


def report_row(entry: ReportEntry) -> JsonRow:
    """An access report entry as a JSON-ready dict."""
    data: JsonRow = to_jsonable(entry)
    return data


def outcome_row(item: ItemOutcome[Any]) -> JsonRow:
    """One decision's outcome, flat, for json/jsonl/csv."""
    d = item.decision
    return {
        "index": item.index,
        "repo_id": d.repo_id,
        "repo_type": d.repo_type.value,
        "user": d.user,
        "action": d.action.value,
        "reason": d.reason,
        "outcome": item.outcome.value,
        "error": str(item.error) if item.error is not None else None,
        "error_type": type(item.error).__name__ if item.error is not None else None,
        "detail": item.detail,
        "attempts": item.attempts,
        "from_journal": item.from_journal,
    }


def plan_row(call: PlannedCall) -> JsonRow:
    body = dict(call.body) if isinstance(call.body, Mapping) else call.body
    return {"method": call.method, "path": call.call.target, "items": call.items, "body": body}


# -- formats ----------------------------------------------------------------------------------


def _flat(row: Mapping[str, Any]) -> dict[str, str]:
    """A row for CSV: nested ``fields`` become ``field:Name`` columns, ``granted_by`` a name."""
    flat: dict[str, str] = {}
    for key, value in row.items():
        if key == "fields" and isinstance(value, Mapping):
            for name, field_value in value.items():
                flat[f"field:{name}"] = "" if field_value is None else str(field_value)
        elif key == "granted_by":
            flat[key] = _granted(value) or ""
        elif isinstance(value, list | tuple):
            flat[key] = ";".join(str(v) for v in value)
        elif isinstance(value, bool):
            flat[key] = "true" if value else "false"
        elif isinstance(value, Mapping):  # a call's body: JSON, as sent
            flat[key] = json.dumps(value, ensure_ascii=False)
        else:
            flat[key] = "" if value is None else str(value)
    return {key: neutralise(value) for key, value in flat.items()}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting with one of these is a formula to a spreadsheet."""


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet will show as text: a leading ``'`` before a formula start.

    Requesters choose their names and form answers, which reach spreadsheets through CSV::

        >>> print(neutralise("=HYPERLINK(1)"), neutralise("-2+3"), neutralise("alice"))
        '=HYPERLINK(1) '-2+3 alice
    """
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def write_rows(rows: Iterable[JsonRow], fmt: str, stream: IO[str]) -> int:
    """Write rows as ``json`` (one array), ``jsonl`` (streamed) or ``csv``; return the count."""
    count = 0
    if fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count
    materialised = list(rows)
    if fmt == "json":
        json.dump(materialised, stream, ensure_ascii=False, indent=2)
        stream.write("\n")
        return len(materialised)
    if fmt == "csv":
        flat = [_flat(row) for row in materialised]
        columns: dict[str, None] = {}
        for row in flat:
            columns.update(dict.fromkeys(row))
        writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        return len(flat)
    raise ValueError(f"unknown format {fmt!r}")


def _short_time(value: Any) -> str:
    text = "" if value is None else str(value)
    return text[:19].replace("T", " ")


RICH_TABLE_ROWS = 1000
"""Above this many rows the table is drawn as plain aligned text (rich takes ~0.5 ms a row)."""

_COLUMNS = ("user", "status", "requested", "email", "fields")


def _cells(request: AccessRequest) -> tuple[str, ...]:
    fields = ", ".join(f"{k}={v}" for k, v in request.fields.items())
    requested = request.timestamp.strftime("%Y-%m-%d %H:%M") if request.timestamp else ""
    return (request.label, request.status.value, requested, request.email or "", fields)


def requests_table(requests: Sequence[AccessRequest], *, title: str | None = None) -> Table:
    """A table of access requests for people (the ``table`` format)."""
    return _rich_table(_COLUMNS, [_cells(r) for r in requests], title=title)


def _rich_table(
    columns: Sequence[str], rows: Iterable[Sequence[str]], *, title: str | None = None
) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold", expand=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def print_table(
    console: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
) -> None:
    """The ``table`` format of any listing: a rich table, or aligned plain text for long ones."""
    if len(rows) <= RICH_TABLE_ROWS:
        console.print(_rich_table(columns, rows, title=title))
        return
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    stream = console.file
    if title:
        stream.write(title + "\n")
    for row in (columns, tuple("-" * w for w in widths), *rows):
        stream.write(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def print_requests(
    console: Console, requests: Sequence[AccessRequest], *, title: str | None = None
) -> None:
    """The ``table`` format of Hub requests (see :func:`print_table`)."""
    print_table(console, _COLUMNS, [_cells(r) for r in requests], title=title)


# -- summaries --------------------------------------------------------------------------------


def plural(count: int, noun: str) -> str:
    """``1 call``, ``2,000 calls``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def summary_line(report: BulkReport[Any]) -> str:
    """``120 decisions: 117 done, 2 unchanged, 1 failed, 0 not attempted; 3 calls in 0.4s``"""
    line = (
        f"{plural(len(report.items), 'decision')}: {report.done:,} done, "
        f"{report.unchanged:,} unchanged, {report.failed:,} failed, "
        f"{report.not_attempted:,} not attempted; "
        f"{plural(report.calls, 'call')} in {report.elapsed:.1f}s"
    )
    journaled = sum(1 for item in report.items if item.from_journal)
    if journaled:
        line += f" ({journaled:,} taken from the journal)"
    if report.stopped:
        # "PermissionDeniedError: 403: ..." -> the class name; the error line gives the rest.
        reason = report.stopped.split(": ", 1)[0] if "Error: " in report.stopped else report.stopped
        line += f"; stopped: {reason}"
    return line


# -- progress ---------------------------------------------------------------------------------


class BulkBar:
    """A progress bar fed by a bulk run's ``on_progress`` (a no-op off a terminal)."""

    def __init__(self, console: Console, description: str, total: int) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[done]} done[/] [red]{task.fields[failed]} failed[/]"),
            TextColumn("{task.fields[calls]} calls"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(
            description, total=total, done=0, failed=0, calls=0
        )

    def __enter__(self) -> BulkBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, progress: BulkProgress[Any]) -> None:
        self._progress.update(
            self._task,
            completed=progress.finished,
            total=progress.total,
            done=progress.done + progress.unchanged,
            failed=progress.failed,
            calls=progress.calls,
        )


class CountingBar:
    """A spinner with a running count, for listings whose length is not known in advance."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.completed:,.0f} so far"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=True,
        )

    @contextmanager
    def task(self, description: str) -> Iterator[_Counter]:
        task = self._progress.add_task(description, total=None)
        try:
            yield _Counter(self._progress, task)
        finally:
            self._progress.remove_task(task)

    def __enter__(self) -> CountingBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


class _Counter:
    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: int = 1) -> None:
        self._progress.advance(self._task, amount)
