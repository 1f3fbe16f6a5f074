"""Accept every user listed in a file, in batches of 100, resumably.

Run it as is: it starts a fake Hub in this process, writes a sample user list and accepts
those users. Against the real Hub, give a repo (argument or ``HF_ACCESS_REPO``) and a token
with write access (``HF_TOKEN`` or ``huggingface-cli login``)::

    python examples/bulk_approve.py                               # fake Hub, sample list
    python examples/bulk_approve.py users.txt --repo my-org/gated-model

The file holds one user name per line (blank lines and ``# comments`` ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from hf_access import AccessSession, BulkProgress, BulkReport, Outcome
from hf_access.testing import FakeHub


def read_users(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def show_progress(progress: BulkProgress) -> None:
    if progress.finished % 100 == 0 or progress.finished == progress.total:
        print(f"  {progress.finished}/{progress.total} decided, {progress.calls} calls so far")


async def approve(session: AccessSession, repo: str, users: list[str], journal: Path) -> BulkReport:
    report = await session.accept_many(repo, users, journal=journal, on_progress=show_progress)
    print(report.summary())
    for item in report.items:
        if item.outcome is Outcome.FAILED:
            print(f"  failed: {item.decision.user}: {item.error}")
    return report


async def with_fake_hub(users_file: Path | None, workdir: Path) -> BulkReport:
    repo = "demo-org/gated-model"
    async with FakeHub() as hub:
        hub.add_repo(repo)
        names = hub.seed_pending(repo, 300)
        if users_file is None:
            users_file = workdir / "users.txt"
            users_file.write_text("# users approved by the review board\n" + "\n".join(names[:250]))
            print(f"wrote a sample list of 250 users to {users_file}")
        print(f"talking to a fake Hub at {hub.url} (in this process, no network)")
        print(f"{len(names)} pending requests on {repo}")
        async with AccessSession(token=hub.token, endpoint=hub.url) as session:
            report = await approve(session, repo, read_users(users_file), workdir / "journal.jsonl")
        accepted = sum(1 for r in hub.snapshot(repo).values() if r.status == "accepted")
        print(f"the Hub now lists {accepted} accepted users")
        return report


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("users_file", nargs="?", type=Path, help="one user name per line")
    parser.add_argument("--repo", default=os.environ.get("HF_ACCESS_REPO"), help="ns/name")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.repo is None:
            report = await with_fake_hub(args.users_file, Path(tmp))
        else:
            if args.users_file is None:
                parser.error("give the file of users to accept on the real Hub")
            journal = Path(f"accept-{args.repo.replace('/', '-')}.journal.jsonl")
            print(f"accepting on {args.repo}; rerun to resume (journal: {journal})")
            async with AccessSession() as session:  # HF_TOKEN / token file, HF_ENDPOINT
                print(f"talking to the Hub at {session.endpoint}")
                report = await approve(session, args.repo, read_users(args.users_file), journal)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
