"""Reading user lists and repo lists given to the command (pure: text in, values out)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import attrs

__all__ = ["UserLine", "parse_repos", "parse_users"]

_USER_COLUMNS = ("user", "username")


@attrs.frozen
class UserLine:
    """One user read from a file, with the row's own reason when a CSV gives one."""

    user: str
    reason: str | None = None
    origin: str | None = attrs.field(default=None, eq=False, repr=False)
    """Where it was read: ``users.csv:4`` (a file and its line), for error messages."""


def _numbered(lines: Iterable[str]) -> list[tuple[int, str]]:
    """``(line number, line)`` without blank lines and ``#`` comments (spaces stripped)."""
    kept = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            kept.append((number, line))
    return kept


def _meaningful(lines: Iterable[str]) -> list[str]:
    """Lines without blank ones and ``#`` comments (surrounding spaces stripped)."""
    return [line for _, line in _numbered(lines)]


def parse_users(text: str, *, source: str = "the user list") -> list[UserLine]:
    """Users from a file's text: one name per line, or a CSV with a ``user`` column.

    Blank lines and lines starting with ``#`` are ignored. A CSV is recognised by its header
    (a ``user`` or ``username`` column, any case); its ``reason`` column, when present, gives
    a reason per row (an empty cell means "use --reason")::

        >>> parse_users("# accepted on 5 Oct\\nalice\\n\\nbob\\n")
        [UserLine(user='alice', reason=None), UserLine(user='bob', reason=None)]
        >>> parse_users("email,User,reason\\na@x.org,alice,\\nb@y.org,bob,spam\\n")
        [UserLine(user='alice', reason=None), UserLine(user='bob', reason='spam')]
    """
    numbered = _numbered(text.splitlines())
    if not numbered:
        return []
    lines = [line for _, line in numbered]
    header = next(csv.reader([lines[0]]))
    names = [cell.strip().lower() for cell in header]
    column = next((names.index(c) for c in _USER_COLUMNS if c in names), None)
    if column is None:
        if len(header) > 1:
            raise ValueError(
                f"{source}:{numbered[0][0]}: looks like a CSV header but has no 'user' column "
                f"(columns: {', '.join(cell.strip() for cell in header)})"
            )
        return [UserLine(line, origin=f"{source}:{number}") for number, line in numbered]
    reason_column = names.index("reason") if "reason" in names else None
    users: list[UserLine] = []
    reader = csv.reader(io.StringIO("\n".join(lines[1:])))
    for row in reader:
        number = numbered[min(reader.line_num, len(numbered) - 1)][0]  # the row's last line
        if not any(cell.strip() for cell in row):
            continue
        if column >= len(row) or not row[column].strip():
            raise ValueError(f"{source}:{number}: no user name in column {header[column]!r}")
        reason = None
        if reason_column is not None and reason_column < len(row):
            reason = row[reason_column].strip() or None
        users.append(UserLine(row[column].strip(), reason, origin=f"{source}:{number}"))
    return users


def parse_repos(text: str) -> list[str]:
    """Repo ids from a file: one per line, blank lines and ``#`` comments ignored.

    >>> parse_repos("acme/a\\n# old\\nacme/b  \\n")
    ['acme/a', 'acme/b']
    """
    return _meaningful(text.splitlines())
