"""A policy that accepts with a reason is refused when built; a blocking lookup cannot
freeze the loop and its timeout applies."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from hf_access import AccessRequest, RequestStatus
from hf_access.screening.policy import (
    DecideWith,
    Policy,
    PolicyDecision,
    Rule,
    Verdict,
    accept,
    lookup,
    users,
)


def req(name: str) -> AccessRequest:
    return AccessRequest(f"r-{name}", name, RequestStatus.PENDING)


def test_accept_with_a_reason_is_refused_from_code() -> None:
    with pytest.raises(ValueError, match="accept takes no reason"):
        Verdict("accept", "welcome")
    with pytest.raises(ValueError, match="accept takes no reason"):
        accept("welcome")  # type: ignore[arg-type]
    assert Verdict("hold", "a human looks").reason == "a human looks"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            '[[rules]]\nname = "staff"\ntype = "users"\nnames = ["a"]\n'
            'decision = "accept"\nreason = "hi"\n',
            r"rules\[0\] \('staff'\)",
        ),
        ('default = "accept"\ndefault_reason = "hi"\n', "default"),
    ],
)
def test_accept_with_a_reason_is_refused_from_toml(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"policy\.toml: {where}: accept takes no reason"):
        Policy.from_toml(path)


def test_reasons_are_counted_in_utf16_code_units() -> None:
    with pytest.raises(ValueError, match="202 UTF-16 code units"):
        Verdict("reject", "\N{GRINNING FACE}" * 101)


async def test_a_blocking_lookup_does_not_freeze_the_loop_and_times_out() -> None:
    release = threading.Event()

    def blocking(request: AccessRequest, repo_id: str) -> bool:
        release.wait(10)  # a slow outside service, called without async
        return True

    policy = Policy([Rule("slow", lookup(blocking, timeout=0.05), accept())])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        verdict = await policy.evaluate(req("alice"))
    finally:
        release.set()
        task.cancel()
    assert verdict.decision is PolicyDecision.HOLD
    assert verdict.reason == "rule 'slow' timed out"
    assert time.monotonic() - started < 5  # the timeout applied (not the 10 s block)
    assert ticks >= 2  # the loop kept running meanwhile


async def test_sync_lookups_and_deciders_still_decide() -> None:
    def decide(request: AccessRequest, repo_id: str) -> Verdict | None:
        return Verdict("reject", "no") if request.username == "eve" else None

    policy = Policy(
        [
            DecideWith("outside", decide),  # type: ignore[arg-type]
            Rule("named", users(["alice"]) & lookup(lambda r, repo: True), accept()),
        ]
    )
    assert (await policy.evaluate(req("eve"))).decision is PolicyDecision.REJECT
    assert (await policy.evaluate(req("alice"))).rule == "named"
    assert (await policy.evaluate(req("bob"))).decision is PolicyDecision.HOLD


async def test_an_error_in_a_sync_lookup_holds() -> None:
    def broken(request: AccessRequest, repo_id: str) -> bool:
        raise RuntimeError("service down")

    verdict = await Policy([Rule("svc", lookup(broken), accept())]).evaluate(req("alice"))
    assert verdict.decision is PolicyDecision.HOLD
    assert "service down" in (verdict.reason or "")
