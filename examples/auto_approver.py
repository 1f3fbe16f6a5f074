"""Screen access requests with a policy: a demo on a local fake Hub, or a real run.

    python examples/auto_approver.py                  # demo: embedded fake Hub, no network
    python examples/auto_approver.py my-org/gated-model [--apply] [--forever]

Given a repo (argument or ``HF_ACCESS_REPO``) it runs on the real Hub (``HF_ENDPOINT`` if set),
with the token from ``HF_TOKEN`` or ``huggingface-cli login``, like the other examples. There
it decides only requests that arrive after its first run, and it is a dry run (nothing sent, the audit log says what would be done)
unless ``--apply`` is given. The policy is ``policy.toml`` next to this file.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from tempfile import TemporaryDirectory

from hf_access import AccessSession, AutoApprover, HfAccessError, Policy, RateLimiter
from hf_access.testing import FakeHub

HERE = Path(__file__).parent
POLICY = HERE / "policy.toml"
REPO = "owner/gated-model"
FORM = {"I agree to the license": True, "Intended use": "research", "Country": "FR"}

# (name, e-mail, verified orgs, gate form answers), arriving one after the other
ARRIVALS: list[list[tuple[str, str, tuple[str, ...], dict[str, object]]]] = [
    [
        ("alice", "alice@cs.stanford.edu", (), FORM),
        ("mallory", "mallory@example.org", (), FORM),
        ("bob", "bob@mailinator.com", (), FORM),
    ],
    [
        ("carol", "carol@acme.com", ("acme-research",), FORM),
        ("dave", "dave@uni.edu", (), {**FORM, "Intended use": "commercial"}),
        ("erin", "erin@gmail.com", (), FORM),
    ],
    [("frank", "frank@ox.ac.uk", (), FORM)],
]


class DemoClock:
    """Fake time for the demo: the watch's waits pass at once."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def demo() -> None:
    clock = DemoClock()
    async with FakeHub(clock=clock) as fake:
        print(f"talking to a fake Hub at {fake.url} (in this process, no network)")
        fake.add_repo(REPO)
        with TemporaryDirectory() as tmp:
            audit_log = Path(tmp) / "audit.jsonl"
            limiter = RateLimiter(clock=clock, sleep=clock.sleep)
            async with AccessSession(
                fake.token, fake.url, sleep=clock.sleep, limiter=limiter
            ) as hub:
                for number, wave in enumerate(ARRIVALS, 1):
                    for name, email, orgs, fields in wave:
                        clock.now += 7  # requesters arrive over time
                        fake.add_user(name, email=email, verified_orgs=orgs)
                        fake.ask_access(REPO, name, fields=fields)
                    # A new approver each pass, as after a restart: the state file remembers.
                    approver = AutoApprover(
                        hub,
                        [REPO],
                        Policy.from_toml(POLICY),
                        audit_log=audit_log,
                        state_file=Path(tmp) / "state.json",
                        include_existing=True,  # pass 1 decides the first wave too
                        clock=clock,
                        sleep=clock.sleep,
                        now=lambda: datetime.fromtimestamp(clock.now, timezone.utc),
                        on_record=lambda r: print("  ", r.line()),
                    )
                    print(f"pass {number}:")
                    report = await approver.run_once()
                    print("  ", report.summary())
            print("\naudit log:")
            print(audit_log.read_text(), end="")
        print("\nfinal statuses:", {u: r.status for u, r in fake.snapshot(REPO).items()})


async def real(repo: str, *, apply: bool, forever: bool) -> int:
    async with AccessSession() as hub:  # HF_TOKEN / token file, HF_ENDPOINT
        print(f"talking to the Hub at {hub.endpoint}", file=sys.stderr)
        approver = AutoApprover(
            hub,
            [repo],
            Policy.from_toml(POLICY),
            dry_run=not apply,
            audit_log="audit.jsonl",
            state_file=None if not apply else "approver-state.json",
            on_record=lambda record: print(record.line(), flush=True),
        )
        if forever:
            await approver.run(on_pass=lambda report: print(report.summary(), file=sys.stderr))
            return 0
        report = await approver.run_once()
        if report.left_alone:  # a first run: the backlog is for a human
            print(f"left {report.left_alone} pending requests alone", file=sys.stderr)
        print(report.summary(), file=sys.stderr)
        return 1 if report.failed else 0


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    repo = args[0] if args else os.environ.get("HF_ACCESS_REPO")
    if repo:
        try:
            return asyncio.run(real(repo, apply="--apply" in argv, forever="--forever" in argv))
        except (HfAccessError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
    asyncio.run(demo())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
