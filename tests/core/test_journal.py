"""The journal: a header, repair on open, a file that is not a journal refused, the reason
part of a decision's identity, and one write per finished call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hf_access import AccessSession, Decision, HfAccessWarning, RetryPolicy
from hf_access.core.journal import Journal
from hf_access.testing import FakeHub

REPO = "owner/gated-model"


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def fhub() -> AsyncIterator[FakeHub]:
    async with FakeHub() as hub:
        hub.add_repo(REPO)
        yield hub


@pytest.fixture
async def session(fhub: FakeHub) -> AsyncIterator[AccessSession]:
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.002)
    async with AccessSession(
        token=fhub.token, endpoint=fhub.url, retry=retry, sleep=_no_sleep
    ) as hub:
        yield hub


def served(hub: FakeHub) -> int:
    return hub.counters.total_calls


async def test_a_file_that_is_not_a_journal_is_refused_and_left_alone(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    path = tmp_path / "users.csv"
    path.write_text("user\nalice\nbob\n")  # e.g. the input file given as the journal by mistake
    fhub.reset_counters()
    with pytest.raises(ValueError, match=r"users\.csv: not an hf-access journal"):
        await session.accept_many(REPO, ["alice"], journal=path)
    assert path.read_text() == "user\nalice\nbob\n"
    assert served(fhub) == 0


async def test_a_journal_of_another_kind_is_refused(session: AccessSession, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"journal":"hf-access","version":2,"kind":"gitlab"}\n')
    with pytest.raises(ValueError, match="a journal of gitlab runs, not of hub runs"):
        await session.accept_many(REPO, ["alice"], journal=path)


async def test_header_names_version_and_kind(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    path = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 2)
    await session.accept_many(REPO, users, journal=path)
    first = json.loads(path.read_text().splitlines()[0])
    assert first == {"journal": "hf-access", "version": 2, "kind": "hub"}


async def test_a_torn_header_starts_a_fresh_journal(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"journal":"hf-ac')  # killed while writing the header
    users = fhub.seed_pending(REPO, 2)
    assert (await session.accept_many(REPO, users, journal=path)).ok
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["journal"] == "hf-access"
    assert len(lines) == 3


async def test_a_corrupt_last_line_is_quarantined_so_every_later_resume_works(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    path = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 4)
    assert (await session.accept_many(REPO, users[:2], journal=path)).ok
    with path.open("a") as handle:
        handle.write('{"key": "model:owner/gated-model|user-0\x00garbage\n')  # ends in \n
    with pytest.warns(HfAccessWarning, match="1 corrupt line"):
        second = await session.accept_many(REPO, users[:3], journal=path)
    assert [i.from_journal for i in second.items] == [True, True, False]
    third = await session.accept_many(REPO, users, journal=path)  # failed here before
    assert [i.from_journal for i in third.items] == [True, True, True, False]
    assert "garbage" in (tmp_path / "run.jsonl.corrupt").read_text()
    assert "garbage" not in path.read_text()


async def test_a_rerun_with_another_reason_is_not_skipped(
    fhub: FakeHub, session: AccessSession, tmp_path: Path
) -> None:
    path = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 3)
    assert (await session.reject_many(REPO, users, reason="spam", journal=path)).ok
    again = await session.reject_many(REPO, users, reason="spam", journal=path)
    assert all(i.from_journal for i in again.items)
    other = await session.reject_many(REPO, users, reason="incomplete form", journal=path)
    assert not any(i.from_journal for i in other.items)


def test_two_reasons_for_one_user_in_one_run_are_refused() -> None:
    from hf_access.hub.bulk import normalize_decisions

    with pytest.raises(ValueError, match="two different reasons"):
        normalize_decisions(
            [
                Decision(REPO, "bob", "reject", reason="a"),
                Decision(REPO, "bob", "reject", reason="b"),
            ]
        )


async def test_one_write_per_finished_call(
    fhub: FakeHub, session: AccessSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.jsonl"
    users = fhub.seed_pending(REPO, 250)
    writes: list[int] = []
    original = Journal._write

    def spy(self: Journal, text: str, lines: int) -> None:
        writes.append(lines)
        original(self, text, lines)

    monkeypatch.setattr(Journal, "_write", spy)
    report = await session.accept_many(REPO, users, journal=path, concurrency=1)
    assert report.calls == 3
    assert writes == [1, 100, 100, 50]  # the header, then one write per batch call
    assert len(Journal(path).load()) == 250
