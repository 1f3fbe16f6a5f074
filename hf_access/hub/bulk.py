"""Hub decisions in bulk: many users, many repos, at the Hub's limits.

A :class:`BulkRun` takes :class:`Decision` records (repo, user, action, reason), checks them all
before sending anything, and hands them to the shared engine
(:class:`~hf_access.core.engine.Engine`) with this module's executor, which:

- groups accept / reject / cancel / reset per repo, action and reason into batch calls of up to
  100 users (one handle call per user where the Hub has no batch route, remembered per
  session); grant has no batch route and goes one call per user;
- builds every call with :mod:`hf_access.hub.wire` (the dry run shows those very calls) and
  sends it through the session's transport, so a decision travels downward only.

The engine reports one :class:`~hf_access.ItemOutcome` per input decision, in input order,
stops early on 401/403, decides duplicates once and keeps the journal. Use it through the
session::

    report = await hub.accept_many("org/model", ["alice", "bob"], journal="accept.jsonl")
    print(report.summary())

or keep the run object to read a partial report after a cancellation::

    run = hub.start_bulk(decisions)
    try:
        report = await run
    except asyncio.CancelledError:
        print(run.report().summary())
        raise
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import datetime
from itertools import repeat
from operator import attrgetter, eq, is_
from typing import Any, TypedDict, overload

import attrs

from ..core.engine import Engine, Job, Settled
from ..core.errors import (
    AlreadyHasAccessError,
    APIStatusError,
    HfAccessError,
    NotFoundError,
    RequestNotFoundError,
    UserNotFoundError,
)
from ..core.outcomes import BulkProgress, Outcome, RecordMaker
from ..core.paging import iter_pages
from ..core.sansio import Call, make_call
from ..core.transport import Transport, counting
from . import wire as _wire
from .convert import decode_requests
from .listing import iter_list
from .models import Action, RepoType, RequestStatus, plain_usernames
from .wire import UserArg, UserRef

__all__ = [
    "BatchSupport",
    "BulkOptions",
    "BulkRun",
    "Decision",
    "DecisionLike",
    "OnProgress",
    "decisions_for",
    "normalize_decisions",
]


def _action(value: Action | str) -> Action:
    return value if value.__class__ is Action else Action.parse(value)


def _repo_type(value: RepoType | str | None) -> RepoType:
    return value if value.__class__ is RepoType else RepoType.parse(value)


@attrs.frozen
class Decision:
    """One decision: do ``action`` to ``user`` on ``repo_id``.

    ``user`` is the label of a :class:`~hf_access.hub.wire.UserRef`: a user name, or
    ``request:<id>`` for repos that hide their requesters (``user-id:<id>`` for grant).

    >>> Decision("org/model", "alice", "reject", reason="incomplete form").action
    <Action.REJECT: 'reject'>
    """

    repo_id: str
    user: str
    action: Action = attrs.field(converter=_action)
    reason: str | None = None
    repo_type: RepoType = attrs.field(default=RepoType.MODEL, converter=_repo_type)

    @property
    def key(self) -> str:
        """Identity of the decision in journals and for de-duplication.

        The reason is part of it: a rerun that rejects with another reason is another
        decision (a decision without a reason keeps the key of earlier versions).

        >>> Decision("org/model", "bob", "reject", reason="spam").key
        'model:org/model|bob|reject|spam'
        """
        # ``_value_`` is what ``.value`` returns, read without the enum's descriptor.
        base = f"{self.repo_type._value_}:{self.repo_id}|{self.user}|{self.action._value_}"
        return base if self.reason is None else f"{base}|{self.reason}"


_DECISIONS = RecordMaker(Decision, ("repo_id", "user", "action", "reason", "repo_type"))
"""Makes :func:`decisions_for`'s decisions, of values it checked and converted already."""


DecisionLike = Decision | tuple[Any, ...]
OnProgress = Callable[[BulkProgress[Decision]], None]


class BulkOptions(TypedDict, total=False):
    """The options of every Hub bulk method, declared once (defaults in brackets).

    - ``concurrency`` [16]: calls in flight at once (all through the session's limiter).
    - ``use_batch`` [True]: accept/reject/cancel/reset through the batch route, 100 per call.
    - ``precheck`` [False]: read each repo's target list first; users already on it are
      ``unchanged`` and not sent (one call per 1,000 entries of that list).
    - ``on_progress`` [None]: called with a :class:`~hf_access.BulkProgress` after every item.
    - ``journal`` [None]: a JSON Lines file; a rerun with the same file skips what is done.
    - ``dry_run`` [False]: send nothing; the report's ``plan`` lists the calls.
    """

    concurrency: int
    use_batch: bool
    precheck: bool
    on_progress: OnProgress | None
    journal: str | os.PathLike[str] | None
    dry_run: bool


@attrs.define
class BatchSupport:
    """Whether the Hub has the batch route; learnt once per session (an older Hub has not)."""

    available: bool = True


def decisions_for(
    repo_ids: str | Iterable[str],
    users: UserArg | Iterable[UserArg],
    action: Action | str,
    *,
    reason: str | None = None,
    repo_type: RepoType | str | None = None,
) -> list[Decision]:
    """One decision per (repo, user). A ``str`` is one repo or one user, never its letters."""
    repos = [repo_ids] if isinstance(repo_ids, str) else list(repo_ids)
    if not repos:
        raise ValueError("no repo given")
    one_user = isinstance(users, (str, UserRef)) or not isinstance(users, Iterable)
    listed: Iterable[UserArg] = [users] if one_user else users  # type: ignore[assignment,list-item]
    rtype = RepoType.parse(repo_type)
    act = Action.parse(action)
    grant = act is Action.GRANT
    listed = list(listed)
    parsed: list[UserRef] = []
    if plain_usernames(listed):  # the usual case: user names, checked all at once
        labels: list[str] = listed  # type: ignore[assignment]
    else:
        parsed = [_wire.UserRef.parse(u, allow_request_id=not grant) for u in listed]
        labels = [ref.label for ref in parsed]
    decisions: list[Decision] = []
    for repo in repos:
        shared = (repeat(act), repeat(reason), repeat(rtype))
        decisions += _DECISIONS.make(len(labels), repeat(repo), labels, *shared)
    if not _valid_once(repos, act, reason):
        return decisions  # the bulk run's own checks name what is wrong, and where
    refs = _Names(labels * len(repos)) if labels is listed else parsed * len(repos)
    # One action and reason for all: no two decisions alike unless a repo or a user repeats.
    distinct = len(set(repos)) == len(repos) and len(set(labels)) == len(labels)
    return _Checked(decisions, refs, distinct)


def _valid_once(repos: list[str], action: Action, reason: str | None) -> bool:
    """What every decision of :func:`decisions_for` shares, checked once for all of them."""
    try:
        for repo in set(repos):
            _wire.validate_repo_id(repo)
        _wire.validate_reason(reason)
    except (TypeError, ValueError):
        return False
    return reason is None or action.takes_reason


class _Names(Sequence[UserRef]):
    """The users of decisions that all name a user by name (checked): each one's
    :class:`UserRef` is made when a call needs it, rather than kept for the whole run."""

    __slots__ = ("names",)

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> UserRef: ...
    @overload
    def __getitem__(self, index: slice) -> list[UserRef]: ...
    def __getitem__(self, index: int | slice) -> UserRef | list[UserRef]:
        if isinstance(index, slice):
            return [UserRef("user", name) for name in self.names[index]]
        return UserRef("user", self.names[index])


class _Checked(list[Decision]):
    """Decisions made by :func:`decisions_for`: checked as they were built, so a bulk run
    does not check each one again (unless the list was changed since)."""

    def __init__(self, decisions: list[Decision], refs: Sequence[UserRef], distinct: bool) -> None:
        super().__init__(decisions)
        self.refs = refs
        self.distinct = distinct  # no two decisions share a key
        self._made = tuple(decisions)

    def intact(self) -> bool:
        return len(self) == len(self._made) and all(map(is_, self, self._made))


def normalize_decisions(decisions: Iterable[DecisionLike]) -> tuple[list[Decision], list[UserRef]]:
    """Check every decision before anything is sent; ValueError names the first bad one.

    Returns the decisions and, aligned with them, each user as a :class:`UserRef`. Tuples
    ``(repo_id, user, action[, reason])`` are accepted. Two different actions for the same
    user on the same repo are a conflict, not something to guess about.
    """
    checked, refs, _ = _normalize(decisions)
    return checked, list(refs)


def _normalize(
    decisions: Iterable[DecisionLike],
) -> tuple[list[Decision], Sequence[UserRef], bool]:
    """:func:`normalize_decisions`, its users made only when needed (see :class:`_Names`),
    and whether the decisions are known to be all different (no duplicate to look for)."""
    if isinstance(decisions, _Checked) and decisions.intact():
        return list(decisions), decisions.refs, decisions.distinct  # one action: no conflict
    out: list[Decision] = []
    refs: list[UserRef] = []
    repos_ok: set[str] = set()  # each repo and reason is checked once, not once per item
    reasons_ok: set[str | None] = set()
    actions: dict[tuple[RepoType, str, str], tuple[Action, str | None]] = {}
    for index, raw in enumerate(decisions):
        try:
            decision = raw if isinstance(raw, Decision) else Decision(*raw)
            if decision.repo_id not in repos_ok:
                _wire.validate_repo_id(decision.repo_id)
                repos_ok.add(decision.repo_id)
            ref = UserRef.parse(decision.user, allow_request_id=decision.action is not Action.GRANT)
            if decision.reason not in reasons_ok:
                _wire.validate_reason(decision.reason)
                reasons_ok.add(decision.reason)
            if decision.reason is not None and not decision.action.takes_reason:
                raise ValueError(f"{decision.action.value} takes no reason")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"decision {index}: {exc}") from None
        who = (decision.repo_type, decision.repo_id, decision.user)
        seen, said = actions.setdefault(who, (decision.action, decision.reason))
        if seen is not decision.action:
            raise ValueError(
                f"decision {index}: {decision.user} on {decision.repo_id} is asked to "
                f"{seen.value} and to {decision.action.value}"
            )
        if said != decision.reason:
            raise ValueError(
                f"decision {index}: {decision.user} on {decision.repo_id} is asked to "
                f"{seen.value} with two different reasons"
            )
        out.append(decision)
        refs.append(ref)
    return out, refs, False


_LOST = "applied; its answer was lost (settled by reading the list)"
_UNKNOWN = (
    "its answer was lost and the list could not be read: it may have been applied "
    "(a rerun settles it)"
)
_DONE = Settled(Outcome.DONE)  # frozen: one value for every item a batch call settled
_BATCH_GROUP = attrgetter("repo_type", "repo_id", "action", "reason")  # one batch call's own


def _is_missing_route(exc: HfAccessError) -> bool:
    """A 404 that names nothing (no repo, user or request) or a 405: the route does not exist."""
    if isinstance(exc, APIStatusError) and exc.status == 405:
        return True
    return type(exc) is NotFoundError


def _batch_item_error(code: str | None, target: str) -> HfAccessError:
    if code == "user_not_found":
        return UserNotFoundError("User not found", status=404, error_code=code)
    if code == "request_not_found":
        return RequestNotFoundError(
            f"No access request found for {target}", status=404, error_code=code
        )
    return APIStatusError(f"batch item failed: {code}", status=400, error_code=code)


@attrs.define
class _HubExecutor:
    """How Hub decisions become calls: batches of 100, or one handle/grant call per user."""

    transport: Transport
    support: BatchSupport
    refs: Sequence[UserRef]
    use_batch: bool
    precheck: bool
    server: str = "the Hub"

    def scope(self, decision: Decision) -> Hashable:
        return (decision.repo_type, decision.repo_id)

    def jobs(self, decisions: Sequence[Decision], todo: list[int]) -> list[Job]:
        if not (self.use_batch and self.support.available):  # once per run, not per item
            return [Job([index]) for index in todo]
        if not todo:
            return []
        chosen = decisions if len(todo) == len(decisions) else [decisions[i] for i in todo]
        groups: dict[tuple[Any, ...], list[int]] = {}
        jobs: list[Job] = []
        one = _BATCH_GROUP(chosen[0])
        if all(map(eq, map(_BATCH_GROUP, chosen), repeat(one))):
            groups[one] = todo  # the usual case: one repo, one action, one reason
        else:
            for index, group in zip(todo, map(_BATCH_GROUP, chosen), strict=True):
                groups.setdefault(group, []).append(index)
        for (_, _, action, _), indices in groups.items():
            if action is Action.GRANT:  # no batch route: one call per user
                jobs.extend(Job([index]) for index in indices)
                continue
            for start in range(0, len(indices), _wire.MAX_BATCH):
                jobs.append(Job(indices[start : start + _wire.MAX_BATCH], batch=True))
        jobs.sort(key=lambda job: job.indices[0])
        return jobs

    def call(self, decisions: Sequence[Decision], job: Job) -> Call:
        index = job.indices[0]
        first = decisions[index]
        if job.batch:
            return self._batch_call(first, *self._sent(job.indices))
        action, refs = first.action, self.refs
        if action is Action.GRANT and refs.__class__ is _Names:
            # The usual grant: a user given by name (checked), on the repo's path (remembered
            # by requests_path); the same call grant_call builds (tests/hub/test_bulk_fast_paths.py).
            path = _wire.requests_path(first.repo_type, first.repo_id, "grant")
            return make_call("POST", path, None, {"user": refs.names[index]}, True)
        # Users given by name (checked) are addressed without a UserRef made for each call.
        ref = UserRef("user", refs.names[index]) if refs.__class__ is _Names else refs[index]
        if action is Action.GRANT:
            return _wire.grant_call(first.repo_type, first.repo_id, ref)
        status = action.target_status
        return _wire.handle_call(first.repo_type, first.repo_id, ref, status, first.reason)

    def _sent(self, indices: list[int]) -> tuple[list[str] | None, list[UserRef]]:
        """Who a batch addresses: their names when every user of the run was given by name
        (no :class:`UserRef` made), else their references."""
        refs = self.refs
        if refs.__class__ is _Names:
            return list(map(refs.names.__getitem__, indices)), []
        return None, list(map(refs.__getitem__, indices))

    def _batch_call(self, first: Decision, names: list[str] | None, users: list[UserRef]) -> Call:
        rtype, repo, status, reason = (
            first.repo_type,
            first.repo_id,
            first.action.target_status,
            first.reason,
        )
        if names is not None:
            return _wire.batch_call_by_name(rtype, repo, status, reason, names)
        return _wire.batch_call(rtype, repo, status, reason, users)

    async def _names_on(self, repo_type: RepoType, repo_id: str, status: RequestStatus) -> set[str]:
        names: set[str] = set()

        def call_after(since: datetime | None) -> Call:
            return _wire.list_call(repo_type, repo_id, status, after=since)

        async for r in iter_list(self.transport.send, call_after):  # read past a cut at 1,000
            names.add(r.label)
        return names

    async def prepare(self, decisions: Sequence[Decision], todo: list[int]) -> dict[int, Settled]:
        """With ``precheck``: read each repo's target list once, settle the users already on it."""
        if not self.precheck:
            return {}
        listed: dict[tuple[RepoType, str, RequestStatus], set[str]] = {}
        for index in todo:
            d = decisions[index]
            where = (d.repo_type, d.repo_id, d.action.target_status)
            if where not in listed:
                try:
                    listed[where] = await self._names_on(*where)
                except HfAccessError:
                    listed[where] = set()  # could not read it: decide every item normally
        settled: dict[int, Settled] = {}
        for index in todo:
            d = decisions[index]
            status = d.action.target_status
            if d.user in listed[(d.repo_type, d.repo_id, status)]:
                settled[index] = Settled(Outcome.UNCHANGED, None, f"already {status.value}")
        return settled

    async def execute(self, decisions: Sequence[Decision], job: Job) -> list[Settled] | list[Job]:
        if job.batch and not self.support.available:
            return [Job([i]) for i in job.indices]
        if job.batch:
            return await self._batch(decisions, job)
        return [await self._single(decisions, job)]

    async def _batch(self, decisions: Sequence[Decision], job: Job) -> list[Settled] | list[Job]:
        first = decisions[job.indices[0]]
        names, users = self._sent(job.indices)
        with counting() as counter:
            try:
                response = await self.transport.send(self._batch_call(first, names, users))
            except HfAccessError as exc:
                if _is_missing_route(exc):
                    # An older Hub without the batch route: one handle call per user from now on.
                    self.support.available = False
                    return [Job([i]) for i in job.indices]
                if not counter.unanswered:
                    raise
                return await self._settle_lost(decisions, job, exc)
        if names is None:
            sent = [u.value if u.kind == "user" else None for u in users]
            failed = _wire.batch_failures(response.json(), sent)
        else:
            failed = _wire.batch_failures(response.json(), names)
        if not failed:
            return [_DONE] * len(job.indices)  # the usual answer: one check per item, nothing built
        labels = names if names is not None else [u.label for u in users]
        return [
            Settled(Outcome.FAILED, _batch_item_error(failed[n], labels[n]))
            if n in failed
            else _DONE
            for n in range(len(labels))
        ]

    async def _settle_lost(
        self, decisions: Sequence[Decision], job: Job, error: HfAccessError
    ) -> list[Settled]:
        """A batch failed after an attempt lost its answer (the Hub may have applied it):
        read the target list once and report ``done`` the users on it; if none is, the
        call did not land and ``error`` is raised as it would have been."""
        first = decisions[job.indices[0]]
        try:
            there = await self._names_on(first.repo_type, first.repo_id, first.action.target_status)
        except HfAccessError:  # cannot tell: say so rather than guess
            return [Settled(Outcome.FAILED, error, _UNKNOWN) for _ in job.indices]
        landed = [self.refs[i].label in there for i in job.indices]
        if not any(landed):
            raise error
        return [
            Settled(Outcome.DONE, None, _LOST) if ok else Settled(Outcome.FAILED, error)
            for ok in landed
        ]

    async def _single(self, decisions: Sequence[Decision], job: Job) -> Settled:
        with counting() as counter:
            try:
                await self.transport.send(self.call(decisions, job))
                failure: HfAccessError | None = None
            except HfAccessError as exc:
                failure = exc
        if failure is None:
            return _DONE
        d = decisions[job.indices[0]]
        ref = self.refs[job.indices[0]]
        # An attempt that lost its answer may have landed; the retry then finds it done.
        lost = counter.unanswered > 0
        if isinstance(failure, AlreadyHasAccessError):
            if lost:
                return Settled(Outcome.DONE, None, _LOST)
            return Settled(Outcome.UNCHANGED, None, "already has access")
        if isinstance(failure, RequestNotFoundError):
            # The Hub's 404 means "no request" *or* "already in that status": ask the list.
            there = await self._already_there(d, ref)
            if there:
                if lost:
                    return Settled(Outcome.DONE, None, _LOST)
                return Settled(Outcome.UNCHANGED, None, f"already {d.action.target_status.value}")
            return Settled(Outcome.FAILED, failure, _UNKNOWN if lost and there is None else None)
        if lost:
            there = await self._already_there(d, ref)
            if there:
                return Settled(Outcome.DONE, None, _LOST)
            if there is None:  # cannot tell: say so rather than guess
                return Settled(Outcome.FAILED, failure, _UNKNOWN)
        raise failure

    async def _already_there(self, d: Decision, ref: UserRef) -> bool | None:
        """Is the user on the list of the status the decision wants? (searched by name;
        None when that cannot be told: the list could not be read, or no name to search)"""
        if ref.kind != "user":
            return None
        first = _wire.list_call(d.repo_type, d.repo_id, d.action.target_status, search=ref.value)
        try:
            async for page in iter_pages(
                self.transport.send, first, decode_requests, _wire.next_link
            ):
                if any(request.username == ref.value for request in page.items):
                    return True
        except HfAccessError:
            return None
        return False


class BulkRun(Engine[Decision]):
    """One bulk run over Hub decisions. Await it for the :class:`~hf_access.BulkReport`.

    Create it with :meth:`AccessSession.start_bulk` (the ``*_many`` methods do it for you).
    Every decision is checked here, before anything is sent. It runs once.
    """

    def __init__(
        self,
        transport: Transport,
        support: BatchSupport,
        decisions: Iterable[DecisionLike],
        *,
        clock: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> None:
        opts: BulkOptions = {**_DEFAULTS, **options}  # type: ignore[typeddict-item]
        unknown = set(opts) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown bulk option(s): {', '.join(sorted(unknown))}")
        checked, refs, distinct = _normalize(decisions)
        super().__init__(
            checked,
            _HubExecutor(transport, support, refs, opts["use_batch"], opts["precheck"]),
            concurrency=opts["concurrency"],
            on_progress=opts["on_progress"],
            journal=opts["journal"],
            dry_run=opts["dry_run"],
            clock=clock,
            kind="hub",
            distinct=distinct,
        )
        if not opts["dry_run"]:
            transport.make_room(opts["concurrency"])  # the pool sized from the concurrency


_DEFAULTS: BulkOptions = {
    "concurrency": 16,
    "use_batch": True,
    "precheck": False,
    "on_progress": None,
    "journal": None,
    "dry_run": False,
}
