"""The bulk methods' shortcuts for the usual case give what the long way gives."""

from __future__ import annotations

import pickle
from itertools import repeat

import attrs
import pytest

from hf_access import Decision, DecodeError
from hf_access.core.outcomes import ITEM_OUTCOMES, ItemOutcome, Outcome, RecordMaker
from hf_access.core.sansio import Call
from hf_access.hub import wire
from hf_access.hub.bulk import (
    BatchSupport,
    _HubExecutor,
    _Names,
    _normalize,
    decisions_for,
    normalize_decisions,
)
from hf_access.hub.models import Action, RepoType, plain_usernames
from hf_access.hub.wire import UserRef


def test_decisions_of_plain_names_are_those_the_class_makes() -> None:
    names = ["alice", "bob_2", "c.d-e", "x" * 96]
    made = decisions_for(["org/a", "org/b"], names, "reject", reason="spam", repo_type="dataset")
    expected = [
        Decision(repo, name, "reject", reason="spam", repo_type="dataset")
        for repo in ("org/a", "org/b")
        for name in names
    ]
    assert list(made) == expected
    assert [hash(d) for d in made] == [hash(d) for d in expected]
    decisions, refs = normalize_decisions(made)
    assert decisions == expected
    assert refs == [UserRef("user", name) for name in names] * 2


@pytest.mark.parametrize(
    "names",
    [
        ["alice", "bad--name"],
        ["alice", "bad..name"],
        ["alice", "-dash"],
        ["alice", "x" * 97],
        ["alice", "two\nlines"],
        ["alice", "trailing\n"],
        ["alice", ""],
    ],
)
def test_a_bad_name_among_plain_ones_is_still_refused(names: list[str]) -> None:
    assert not plain_usernames(names)
    with pytest.raises(ValueError, match="invalid user name"):
        decisions_for("org/a", names, "accept")


def test_names_that_are_not_all_plain_take_the_long_way() -> None:
    assert not plain_usernames([])
    assert not plain_usernames(["alice", 3])
    assert not plain_usernames(["alice", "request:abc123"])
    made = decisions_for("org/a", ["alice", "request:abc123"], "cancel")
    _, refs = normalize_decisions(made)
    assert refs == [UserRef("user", "alice"), UserRef("requestId", "abc123")]


def test_duplicates_are_still_found_among_plain_names() -> None:
    made = decisions_for("org/a", ["alice", "bob", "alice"], "accept")
    assert len(made) == 3
    assert not made.distinct  # type: ignore[attr-defined]
    assert decisions_for("org/a", ["alice", "bob"], "accept").distinct  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "answer",
    [
        {"ok": True},
        [{"ok": True}],
        [{"ok": True}, "ok"],
        [{"ok": True}, {"ok": 1}],
        [{"ok": True}, {"error": "x"}],
        [{"ok": True}, {"ok": True, "user": "mallory"}],
    ],
)
def test_a_broken_batch_answer_is_named_as_decode_batch_names_it(answer: object) -> None:
    users = [UserRef("user", "alice"), UserRef("user", "bob")]
    with pytest.raises(DecodeError) as long_way:
        wire.decode_batch(answer, users)
    with pytest.raises(DecodeError) as short_way:
        wire.batch_failures(answer, ["alice", "bob"])
    assert str(short_way.value) == str(long_way.value)


def test_batch_failures_reads_failed_items_and_ids() -> None:
    answer = [
        {"ok": True, "user": "alice"},
        {"ok": False, "error": "user_not_found"},
        {"ok": False, "user": "carol"},  # a user named by id: answered with its name
    ]
    assert wire.batch_failures(answer, ["alice", "bob", None]) == {
        1: "user_not_found",
        2: None,
    }
    assert wire.batch_failures([{"ok": True, "user": "carol"}], [None]) == {}


def test_batch_call_by_name_is_batch_call_of_user_refs() -> None:
    args = (RepoType.SPACE, "org/s", Action.REJECT.target_status, "spam")
    names = ["alice", "bob"]
    by_name = wire.batch_call_by_name(*args, names)
    assert by_name == wire.batch_call(*args, [UserRef("user", n) for n in names])
    with pytest.raises(ValueError, match="a batch takes 1 to 100 users"):
        wire.batch_call_by_name(*args, [])


def test_record_maker_makes_the_records_the_class_makes() -> None:
    decisions = decisions_for("org/a", ["alice", "bob"], "accept")
    made = ITEM_OUTCOMES.make(
        2,
        [4, 7],
        decisions,
        repeat(Outcome.DONE),
        repeat(None),
        repeat("ok"),
        repeat(1),
        repeat(False),
    )
    assert made == [
        ItemOutcome(4, decisions[0], Outcome.DONE, None, "ok", 1, False),
        ItemOutcome(7, decisions[1], Outcome.DONE, None, "ok", 1, False),
    ]
    with pytest.raises(ValueError, match="1 values for 2 records"):
        ITEM_OUTCOMES.make(2, [4], decisions, *[repeat(None)] * 5)
    with pytest.raises(TypeError, match="columns expected"):
        ITEM_OUTCOMES.make(2, [4, 7])
    with pytest.raises(TypeError, match="has the fields"):
        RecordMaker(ItemOutcome, ("index", "decision"))
    assert all(type(item) is ItemOutcome for item in made)  # the class's own, not a maker's
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made[0].index = 5  # type: ignore[misc]
    assert made[0] == pickle.loads(pickle.dumps(made[0]))
    with pytest.raises(TypeError, match="not a slotted attrs class"):
        RecordMaker(_Unslotted, ("x",))


@attrs.frozen(slots=False)
class _Unslotted:
    x: int


@pytest.mark.parametrize("repo_type", [None, "dataset", "space"])
def test_a_grant_by_name_is_the_call_grant_call_builds(repo_type: str | None) -> None:
    """The executor's quick grant (a path made once per repo, the body built from the name)
    sends what the wire builder would, for every repo of a run and each of its users."""
    names = ["alice", "bob-2", "c.d"]
    decisions = decisions_for(["org/a", "org/b"], names, "grant", repo_type=repo_type)
    plain, refs, _ = _normalize(decisions)
    assert isinstance(refs, _Names)  # the quick path is the one under test
    executor = _HubExecutor(None, BatchSupport(), refs, True, False)  # type: ignore[arg-type]
    jobs = executor.jobs(plain, list(range(len(plain))))
    assert [job.batch for job in jobs] == [False] * len(plain)  # no batch route for grants
    for job in jobs:
        d = plain[job.indices[0]]
        expected = wire.grant_call(d.repo_type, d.repo_id, UserRef("user", d.user))
        made = executor.call(plain, job)
        assert made == expected
        assert type(made) is Call
        assert made.content == expected.content
