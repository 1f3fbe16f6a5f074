"""Bad input is stopped before the wire: whole matches, the Hub's repo-id rules, reasons
counted as the Hub counts them, and a ``str`` where users are expected is one user."""

from __future__ import annotations

import pytest

from hf_access import AccessSession, Decision
from hf_access.hub import wire
from hf_access.hub.bulk import decisions_for, normalize_decisions
from hf_access.testing import FakeHub

from ._bulk_helpers import REPO, calls

EMOJI = "\N{GRINNING FACE}"  # outside the BMP: 2 UTF-16 code units, 1 Python character


@pytest.mark.parametrize("repo_id", ["org/model\n", "org\n/model", "org/model.git", "org/-x"])
def test_repo_ids_the_hub_refuses_are_refused(repo_id: str) -> None:
    with pytest.raises(ValueError, match="invalid repo id"):
        wire.validate_repo_id(repo_id)


@pytest.mark.parametrize("repo_id", ["org/_model", "_org/model_", "org/model.gitx", "a/b"])
def test_repo_ids_the_hub_accepts_are_accepted(repo_id: str) -> None:
    assert wire.validate_repo_id(repo_id) == repo_id


@pytest.mark.parametrize(
    "user", ["alice\n", "request:abc\n", "user-id:" + "a" * 24 + "\n", "request:\n"]
)
def test_a_final_newline_is_not_a_name(user: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        wire.UserRef.parse(user)


def test_reason_length_counts_utf16_code_units() -> None:
    assert wire.validate_reason(EMOJI * 100) == EMOJI * 100  # 200 units: the Hub's limit
    with pytest.raises(ValueError, match="202 UTF-16 code units"):
        wire.validate_reason(EMOJI * 101)  # 101 characters, 202 units: the Hub refuses it
    with pytest.raises(ValueError, match="decision 0: reason is 202"):
        normalize_decisions([Decision(REPO, "alice", "reject", reason=EMOJI * 101)])


async def test_nothing_is_sent_for_bad_input(fhub: FakeHub, session: AccessSession) -> None:
    fhub.reset_counters()
    with pytest.raises(ValueError, match="invalid repo id"):
        await session.accept_many(REPO + "\n", ["alice"])
    with pytest.raises(ValueError, match="invalid user name"):
        await session.accept_many(REPO, ["alice\n"])
    with pytest.raises(ValueError, match="invalid user name"):
        await session.grant(REPO, "bob\n")
    with pytest.raises(ValueError, match="UTF-16"):
        await session.reject(REPO, "alice", reason=EMOJI * 101)
    assert calls(fhub) == {}


def test_a_string_is_one_user_in_decisions_for() -> None:
    assert [d.user for d in decisions_for(REPO, "alice", "accept")] == ["alice"]
    assert [d.user for d in decisions_for([REPO], "request:abc", "reject")] == ["request:abc"]


async def test_many_helpers_take_a_string_as_one_user(
    fhub: FakeHub, session: AccessSession
) -> None:
    fhub.add_user("bob")
    plan = await session.accept_many(REPO, "alice", dry_run=True)
    assert [item.decision.user for item in plan.items] == ["alice"]
    report = await session.grant_many(REPO, "bob")
    assert [item.decision.user for item in report.items] == ["bob"]
    assert report.done == 1
    assert set(fhub.snapshot(REPO)) == {"bob"}


async def test_batch_takes_a_string_as_one_user(fhub: FakeHub, session: AccessSession) -> None:
    [alice] = fhub.seed_pending(REPO, 1)
    results = await session.batch(REPO, "accepted", alice)
    assert [r.target for r in results] == [alice]
    assert fhub.snapshot(REPO)[alice].status == "accepted"
