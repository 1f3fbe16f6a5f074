"""Access as code: plans for every mix, apply, dry run, idempotence, validation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hf_access import (
    AccessPlan,
    AccessSession,
    AccessSource,
    Action,
    Outcome,
    PermissionDeniedError,
    RemoveMode,
    RepoNotFoundError,
    RequestStatus,
    UserNotFoundError,
)
from hf_access.testing import FakeHub

from ._sync_support import REPO, SOURCE, add_users, new_hub, seed, statuses, writes

MIX = {
    "pen": "pending",
    "acc": "accepted",
    "res": "reset",
    "rej": "rejected",
    "old": "accepted",  # accepted but not on the list
    "old2": "accepted",
    "wait": "pending",  # pending, not on the list: left pending
}
WANTED = ["new", "pen", "acc", "res", "rej"]


@pytest.fixture
async def hub() -> AsyncIterator[FakeHub]:
    async with new_hub() as fake:
        seed(fake, REPO, MIX)
        add_users(fake, ["new"])
        yield fake


@pytest.fixture
async def session(hub: FakeHub) -> AsyncIterator[AccessSession]:
    async with AccessSession(token=hub.token, endpoint=hub.url) as client:
        yield client


def by_action(plan: AccessPlan) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for change in plan.changes:
        out.setdefault(change.action.value, []).append(change.user)
    return out


async def test_plan_of_every_mix_with_cancel(hub: FakeHub, session: AccessSession) -> None:
    plan = await session.plan_access(REPO, WANTED)
    assert by_action(plan) == {
        "grant": ["new"],
        "accept": ["pen", "res"],
        "cancel": ["old", "old2"],
    }
    assert plan.grant == ("new",)
    assert plan.accept == ("pen", "res")
    assert plan.remove == ("old", "old2")
    assert {c.user: c.current for c in plan.changes} == {
        "new": None,
        "pen": RequestStatus.PENDING,
        "res": RequestStatus.RESET,
        "old": RequestStatus.ACCEPTED,
        "old2": RequestStatus.ACCEPTED,
    }
    assert plan.unchanged == 1  # acc
    assert plan.rejected == ("rej",)
    assert plan.counts() == {
        "wanted": 5,
        "grant": 1,
        "accept": 2,
        "remove": 2,
        "unchanged": 1,
        "rejected": 1,
        "kept": 0,
        "missing": 0,
        "hidden": 0,
        "changes": 5,
    }
    assert len(plan) == 5
    assert not plan.in_sync
    assert plan.reads == 4  # one page per status
    assert writes(hub) == 0  # planning never writes
    diff = plan.diff()
    assert "+ new  grant (no request)" in diff
    assert "+ res  accept (reset)" in diff
    assert "- old  cancel (accepted)" in diff
    assert "! rej  rejected: left rejected" in diff
    assert diff.splitlines()[-1] == (
        "acme/model: 1 to grant, 2 to accept, 2 to remove (cancel); 1 unchanged "
        "(1 on the list rejected, left so)"
    )


@pytest.mark.parametrize(
    ("mode", "reason", "after"),
    [
        ("cancel", None, "pending"),
        ("reject", "partnership ended", "rejected"),
        ("reset", "please ask again", "reset"),
        ("keep", None, "accepted"),
    ],
)
async def test_apply_moves_the_unlisted_away_by_each_mode(
    hub: FakeHub, session: AccessSession, mode: str, reason: str | None, after: str
) -> None:
    plan = await session.plan_access(REPO, WANTED, remove=mode, reason=reason)
    if mode == "keep":
        assert plan.remove == ()
        assert plan.kept == ("old", "old2")
        assert "not on the list kept" in plan.summary()
    else:
        assert plan.remove == ("old", "old2")
        assert {d.reason for d in plan.decisions() if d.user.startswith("old")} == {reason}
    report = await session.apply_plan(plan)
    assert report.ok, report.failures()
    now = statuses(hub)
    assert now["old"] == now["old2"] == after
    assert {u: now[u] for u in ["new", "pen", "acc", "res"]} == dict.fromkeys(
        ["new", "pen", "acc", "res"], "accepted"
    )
    assert now["rej"] == "rejected"
    assert now["wait"] == "pending"
    record = hub.snapshot_of(REPO, "old")
    assert record is not None
    assert (record.rejection_reason or record.reset_reason) == reason


async def test_rejected_users_are_accepted_only_when_asked(
    hub: FakeHub, session: AccessSession
) -> None:
    plan = await session.plan_access(REPO, ["rej"], remove="keep", include_rejected=True)
    assert by_action(plan) == {"accept": ["rej"]}
    assert plan.rejected == ()
    await session.apply_plan(plan)
    assert hub.request_status(REPO, "rej") == "accepted"


async def test_names_that_do_not_exist_fail_at_apply_only(
    hub: FakeHub, session: AccessSession
) -> None:
    plan = await session.plan_access(REPO, ["ghost", "new"], remove="keep")
    assert plan.grant == ("ghost", "new")  # the Hub alone knows who exists
    report = await session.apply_plan(plan)
    outcome = {item.decision.user: item for item in report.items}
    assert outcome["new"].outcome is Outcome.DONE
    assert outcome["ghost"].outcome is Outcome.FAILED
    assert isinstance(outcome["ghost"].error, UserNotFoundError)
    assert hub.request_status(REPO, "new") == "accepted"


async def test_second_apply_makes_no_write_call(hub: FakeHub, session: AccessSession) -> None:
    first = await session.apply_plan(await session.plan_access(REPO, WANTED, remove="reject"))
    assert first.done == 5
    hub.reset_counters()
    again = await session.plan_access(REPO, WANTED, remove="reject")
    assert again.in_sync
    assert again.summary() == (
        "acme/model is in sync with a list of 5 users (5 users wanted) "
        "(1 on the list rejected, left so)"
    )
    report = await session.apply_plan(again)
    assert (len(report.items), report.calls) == (0, 0)
    assert writes(hub) == 0
    assert hub.counters.total_calls == 4  # the four lists, read once each


async def test_dry_run_shows_the_calls_and_sends_none(hub: FakeHub, session: AccessSession) -> None:
    plan = await session.plan_access(REPO, WANTED, remove="reset", reason="new terms")
    before = statuses(hub)
    report = await session.apply_plan(plan, dry_run=True)
    assert writes(hub) == 0
    assert statuses(hub) == before
    assert report.stopped == "dry run"
    shapes = sorted((call.path.rsplit("/", 1)[-1], call.items) for call in report.plan)
    assert shapes == [("batch", 2), ("batch", 2), ("grant", 1)]
    bodies = [call.body for call in report.plan if call.body.get("status") == "reset"]
    assert bodies == [
        {
            "status": "reset",
            "resetReason": "new terms",
            "requests": [{"user": "old"}, {"user": "old2"}],
        }
    ]


async def test_accepts_go_in_batches_of_100(hub: FakeHub, session: AccessSession) -> None:
    names = hub.seed_pending(REPO, 250, prefix="many")
    plan = await session.plan_access(REPO, names, remove="keep")
    assert len(plan.accept) == 250
    hub.reset_counters()
    report = await session.apply_plan(plan)
    assert report.done == 250
    assert hub.counters.calls == {"batch": 3}


async def test_the_accepted_users_of_another_repo(hub: FakeHub, session: AccessSession) -> None:
    seed(hub, SOURCE, {"acc": "accepted", "pen": "accepted", "new": "accepted", "x": "pending"})
    source = AccessSource.from_repo(SOURCE)
    plan = await session.plan_access(REPO, source)
    assert plan.source == "the accepted users of acme/model-v1"
    assert plan.wanted == 3
    assert by_action(plan) == {"grant": ["new"], "accept": ["pen"], "cancel": ["old", "old2"]}
    assert plan.reads == 5  # the source's accepted list, then the target's four lists


async def test_hidden_requesters_are_addressed_by_request_id() -> None:
    async with new_hub() as hub:
        hub.add_repo("acme/hidden", hide_requesters=True)
        seed(hub, "acme/hidden", {"ann": "pending", "bob": "accepted", "cat": "accepted"})
        rid = {name: r.request_id for name, r in hub.snapshot("acme/hidden").items()}
        async with AccessSession(token=hub.token, endpoint=hub.url) as session:
            # A list of names cannot be matched with nameless requests: they are left alone.
            plan = await session.plan_access("acme/hidden", ["bob"], remove="reject")
            assert plan.hidden == 2
            assert by_action(plan) == {"grant": ["bob"]}
            assert "2 hidden requesters not matched" in plan.summary()
            # A list that names requests is matched by id, and removes the others by id.
            wanted = [f"request:{rid['ann']}", f"request:{rid['bob']}", "request:abc123"]
            plan = await session.plan_access("acme/hidden", wanted, remove="reject")
            assert by_action(plan) == {
                "accept": [f"request:{rid['ann']}"],
                "reject": [f"request:{rid['cat']}"],
            }
            assert plan.missing == ("request:abc123",)
            assert plan.unchanged == 1
            report = await session.apply_plan(plan)
            assert report.ok, report.failures()
        assert statuses(hub, "acme/hidden") == {
            "ann": "accepted",
            "bob": "accepted",
            "cat": "rejected",
        }


async def test_source_repo_hiding_its_requesters_is_counted() -> None:
    async with new_hub() as hub:
        hub.add_repo("acme/hidden", hide_requesters=True)
        seed(hub, "acme/hidden", {"ann": "accepted"})
        async with AccessSession(token=hub.token, endpoint=hub.url) as session:
            plan = await session.plan_access(REPO, AccessSource.from_repo("acme/hidden"))
        assert (plan.wanted, plan.source_hidden, plan.in_sync) == (0, 1, True)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("bad repo", ["ann"]), "invalid repo id"),
        ((REPO, ["not a name"]), "user 0"),
        ((REPO, "ann"), "not one string"),
        ((REPO, ["user-id:0123456789abcdef01234567"]), "name the user"),
    ],
)
async def test_bad_input_fails_before_any_call(
    hub: FakeHub, session: AccessSession, args: tuple[object, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        await session.plan_access(*args)  # type: ignore[arg-type]
    assert hub.counters.total_calls == 0


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"remove": "delete"}, "unknown remove mode"),
        ({"remove": "cancel", "reason": "x"}, "reason goes with"),
        ({"remove": "reject", "reason": "x" * 201}, "at most 200"),
    ],
)
async def test_bad_options_fail_before_any_call(
    hub: FakeHub, session: AccessSession, options: dict[str, str], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        await session.plan_access(REPO, ["ann"], **options)  # type: ignore[arg-type]
    assert hub.counters.total_calls == 0


def test_remove_modes_map_to_actions() -> None:
    assert [m.action for m in RemoveMode] == [Action.REJECT, Action.CANCEL, Action.RESET, None]
    assert AccessSource.from_users(["a", "b", "a"]).describe() == "a list of 2 users"
    with pytest.raises(ValueError, match="invalid repo id"):
        AccessSource.from_repo("nope")


async def test_diff_is_capped(hub: FakeHub, session: AccessSession) -> None:
    plan = await session.plan_access(REPO, WANTED)
    lines = plan.diff(limit=2).splitlines()
    assert lines[2] == "  ... and 4 more"
    assert len(lines) == 4


async def test_a_list_that_cannot_be_read_fails_the_plan(hub: FakeHub) -> None:
    hub.add_user("reader")
    hub.add_token("hf_reader", user="reader", role="read")
    async with AccessSession(token=hub.token, endpoint=hub.url) as session:
        with pytest.raises(RepoNotFoundError):
            await session.plan_access("acme/missing", ["ann"])
    async with AccessSession(token="hf_reader", endpoint=hub.url) as session:
        with pytest.raises(PermissionDeniedError):
            await session.plan_access(REPO, AccessSource.from_repo(SOURCE))
    assert writes(hub) == 0
