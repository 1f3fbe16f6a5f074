"""Export a repo's access report (every request, every status) to CSV.

Run it as is: it starts a fake Hub in this process with a few decided requests and writes
the report to a temporary file. Against the real Hub, give a repo (argument or
``HF_ACCESS_REPO``) and a token (``HF_TOKEN`` or ``huggingface-cli login``)::

    python examples/export_report.py
    python examples/export_report.py my-org/gated-model --output report.csv
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

from hf_access import AccessSession, ReportEntry
from hf_access.testing import FakeHub

COLUMNS = ["user", "fullname", "email", "status", "requested", "reviewed", "granted_by"]


def write_csv(entries: list[ReportEntry], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for e in entries:
            writer.writerow(
                [
                    e.username or "",
                    e.fullname or "",
                    e.email or "",
                    e.status.value,
                    e.time.isoformat() if e.time else "",
                    e.reviewed_at.isoformat() if e.reviewed_at else "",
                    e.granted_by.username if e.granted_by and e.granted_by.username else "",
                ]
            )


async def export(session: AccessSession, repo: str, path: Path) -> list[ReportEntry]:
    entries = await session.access_report(repo)
    write_csv(entries, path)
    counts = Counter(e.status.value for e in entries)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{repo}: {len(entries)} entries ({summary}) written to {path}")
    return entries


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", default=os.environ.get("HF_ACCESS_REPO"))
    parser.add_argument("--output", type=Path, help="CSV file (default: a temporary file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.output or Path(tmp) / "access-report.csv"
        if args.repo is not None:
            async with AccessSession() as session:  # HF_TOKEN / token file, HF_ENDPOINT
                print(f"talking to the Hub at {session.endpoint}")
                await export(session, args.repo, path)
            return 0
        repo = "demo-org/gated-model"
        async with FakeHub() as hub:
            hub.add_repo(repo)
            users = hub.seed_pending(repo, 40)
            print(f"talking to a fake Hub at {hub.url} (in this process, no network)")
            print(f"40 requests on {repo}")
            async with AccessSession(token=hub.token, endpoint=hub.url) as session:
                await session.accept_many(repo, users[:25])
                await session.reject_many(repo, users[25:30], reason="incomplete form")
                entries = await export(session, repo, path)
        print(path.read_text(encoding="utf-8").splitlines()[1])  # the first row
        return 0 if len(entries) == 40 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
