"""Screening services: watch repos, decide new requests by policy, keep an audit trail.

>>> import asyncio
>>> from hf_access import AccessSession
>>> from hf_access.screening.autoapprove import AutoApprover
>>> from hf_access.screening.policy import Policy
>>> async def main() -> None:
...     async with AccessSession() as hub:
...         approver = AutoApprover(
...             hub, ["my-org/gated-model"], Policy.from_toml("policy.toml"),
...             audit_log="audit.jsonl", state_file="approver.json",
...         )
...         report = await approver.run_once()   # or: await approver.run() until cancelled
...         print(report.summary())

Each pass polls the pending lists (see :mod:`hf_access.hub.watch`), evaluates the policy on every
new request, sends the decisions grouped per repo, action and reason as batch calls (up to
100 users per call; ``hold`` sends nothing) and appends one JSON line per decision to the
audit log, then saves the position. Every request is decided once, across restarts when a
``state_file`` is given: a decided request leaves the pending list, and the position skips
the held ones.

* Held requests stay pending for a human and are not evaluated again, unless
  ``recheck_held=True``: then they are evaluated again on every poll of their repo while they
  are pending (a request held again writes no new audit line).
* A batch call that fails (after the session's retries) is logged with outcome ``error``
  and its requests are evaluated again on the next pass if still pending; an item the Hub
  refuses (``request_not_found``: withdrawn meanwhile) is final.
* ``dry_run=True`` sends nothing, logs ``"outcome": "dry_run"`` and never writes the state
  file (it reads it), so a dry run never uses up requests.
* Only requests that arrive after the first pass are decided: the first pass of a repo with no
  saved position leaves the requests already pending alone (counted in
  :attr:`PassReport.left_alone`), unless ``include_existing=True`` decides them too.
* Requests of repos that hide their requesters are addressed by request id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..core.convert import format_time
from ..core.errors import HfAccessError, RequestNotFoundError, UserNotFoundError
from ..core.filelock import FileLock
from ..hub.bulk import Decision
from ..hub.models import Action, RepoType, RequestStatus
from ..hub.watch import DEFAULT_CONCURRENCY, FATAL, PollOptions, Watcher, WatchEvent, WatchState
from ..hub.wire import UserRef, user_label
from .coordination import Coordinator, NotLeading, Term, event_id
from .policy import Policy, PolicyDecision, Verdict

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..hub.client import AccessSession

__all__ = ["AuditRecord", "AutoApprover", "PassReport"]

log = logging.getLogger("hf_access")

_CODES = {RequestNotFoundError: "request_not_found", UserNotFoundError: "user_not_found"}
_ACTION = {
    PolicyDecision.ACCEPT: Action.ACCEPT,
    PolicyDecision.REJECT: Action.REJECT,
    PolicyDecision.RESET: Action.RESET,
}


@attrs.frozen
class AuditRecord:
    """One decision, as written to the audit log.

    ``outcome``: ``ok`` (the Hub applied it), ``error`` (see ``error``), ``held`` (nothing
    sent), ``dry_run`` (would have been sent) or ``recovered`` (sent by a process or a leader
    replica that died before logging the outcome; the next one found the request decided).
    In the file, an ``intent`` line is written (and fsync-ed) before each decision is sent,
    and its outcome line after: an intent with no outcome is settled on restart.
    """

    time: datetime
    repo_id: str
    repo_type: RepoType
    user: str | None
    request_id: str | None
    decision: PolicyDecision
    reason: str | None
    rule: str | None
    outcome: str
    error: str | None = None
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "time": format_time(self.time),
            "repo": self.repo_id,
            "repo_type": self.repo_type.value,
            "user": self.user,
            "request_id": self.request_id,
            "decision": self.decision.value,
            "reason": self.reason,
            "rule": self.rule,
            "outcome": self.outcome,
            "error": self.error,
            "dry_run": self.dry_run,
        }

    def line(self) -> str:
        """A one-line human summary."""
        who = UserRef.of_request(self.user, self.request_id).label
        why = f" ({self.reason})" if self.reason else ""
        err = f": {self.error}" if self.error else ""
        return (
            f"{self.decision.value:<6} {self.repo_id} {who} [rule {self.rule}]{why} "
            f"-> {self.outcome}{err}"
        )


@attrs.frozen
class PassReport:
    """What one pass decided: the audit records (in order), calls spent and time taken."""

    records: tuple[AuditRecord, ...]
    calls: int
    elapsed: float
    rechecked: int = 0
    left_alone: int = 0
    """Requests already pending when their repo was first polled, left for a human."""

    def __repr__(self) -> str:
        return f"<PassReport {self.summary()}>"  # counts, not the audit records

    def count(self, decision: PolicyDecision) -> int:
        return sum(1 for r in self.records if r.decision is decision)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.records if r.outcome == "error")

    def summary(self) -> str:
        """``3 decisions: 1 accept, 1 reject, 0 reset, 1 hold; 0 failed; 4 calls in 0.1s``"""
        counts = ", ".join(f"{self.count(d)} {d.value}" for d in PolicyDecision)
        n = len(self.records)
        return (
            f"{n} decision{'s' * (n != 1)}: {counts}; {self.failed} failed; "
            f"{self.calls} call{'s' * (self.calls != 1)} in {self.elapsed:.1f}s"
        )


def _intent_key(line: dict[str, Any]) -> tuple[Any, ...]:
    return (line.get("repo_type"), line.get("repo"), line.get("request_id"), line.get("user"))


def _open_intents(path: Path) -> list[dict[str, Any]]:
    """The intent lines of an audit log that no outcome line follows (in order)."""
    open_: dict[tuple[Any, ...], dict[str, Any]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue  # a line torn by a kill: not an outcome either
        if not isinstance(line, dict) or line.get("dry_run"):
            continue
        if line.get("outcome") == "intent":
            open_[_intent_key(line)] = line
        else:
            open_.pop(_intent_key(line), None)
    return list(open_.values())


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _quiet(event: WatchEvent, record: AuditRecord) -> bool:
    """A held request held again (``recheck_held``) writes no new audit line."""
    return event.again and record.outcome == "held"


class AutoApprover:
    """Decide new access requests of ``repos`` with ``policy`` (see the module doc).

    Args:
        hub: an open :class:`~hf_access.AccessSession` (write token).
        repos: ``"org/name"`` (of ``repo_type``) or ``"datasets/org/name"``.
        policy: the :class:`~hf_access.screening.policy.Policy`.
        dry_run: send nothing; log what would be done.
        audit_log: a JSON-lines file, appended to (``None``: no file).
        state_file: the position, so that restarts decide nothing twice.
        recheck_held: evaluate held requests again while they are pending.
        on_record: called with each :class:`AuditRecord` (e.g. to print it).
        coordinator: one replica of several decides (see
            :mod:`hf_access.screening.coordination`); the others stand by.
        now: the wall clock for audit times.
        options: how the watch polls, :class:`~hf_access.hub.watch.PollOptions` (documented
            there with their defaults): ``interval``, ``max_interval``, ``backoff``,
            ``repo_type``, ``include_existing`` (also decide the requests already pending
            when a repo is first polled; a saved position wins), ``page_size``,
            ``concurrency`` (polls, and decisions sent at once), ``clock``, ``sleep``.
    """

    def __init__(
        self,
        hub: AccessSession,
        repos: Iterable[str],
        policy: Policy,
        *,
        dry_run: bool = False,
        audit_log: str | Path | None = None,
        state_file: str | Path | None = None,
        recheck_held: bool = False,
        on_record: Callable[[AuditRecord], None] | None = None,
        now: Callable[[], datetime] = _utcnow,
        coordinator: Coordinator | None = None,
        **options: Unpack[PollOptions],
    ) -> None:
        concurrency = options.get("concurrency", DEFAULT_CONCURRENCY)
        self.hub, self.policy, self.dry_run = hub, policy, dry_run
        self._term = Term(coordinator) if coordinator is not None else None
        self.audit_log = Path(audit_log) if audit_log else None
        self.recheck_held, self.on_record, self._now = recheck_held, on_record, now
        self._limit = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._intents_settled = dry_run or self.audit_log is None
        if state_file and not dry_run:  # one process per state file, before reading it
            FileLock(state_file).acquire()  # held until the process ends (shared in it)
        state = WatchState.load(state_file) if state_file else None
        self.watcher = Watcher(
            hub, repos, state=state, state_file=None if dry_run else state_file, **options
        )

    async def run_once(self) -> PassReport:
        """Poll every repo now, decide what is new, return the report (an empty one on a
        replica that is not the leader)."""
        if self._term is not None and not await self._term.enter(self.watcher, wait=False):
            return PassReport((), 0, 0.0)
        return await self._pass(force=True)

    async def run(self, *, on_pass: Callable[[PassReport], None] | None = None) -> None:
        """Pass after pass, on the watch's backoff schedule, until cancelled; with a
        coordinator, only while this replica leads (it stands by otherwise)."""
        while True:
            if self._term is not None:
                await self._term.enter(self.watcher, wait=True)
            await self.watcher.wait()
            try:
                report = await self._pass(force=False)
            except NotLeading as exc:
                log.warning("standing by: %s", exc)
                continue
            if on_pass is not None:
                on_pass(report)

    async def _pass(self, *, force: bool) -> PassReport:
        started, calls = time.perf_counter(), self.hub.calls
        term = self._term
        if term is not None:
            term.check()
        restored = [] if self._intents_settled else await self._settle_intents()
        alone = sum(self.watcher.left_alone.values())
        events = await self.watcher.poll(force=force)
        alone = sum(self.watcher.left_alone.values()) - alone
        verdicts = await asyncio.gather(*(self._evaluate(e) for e in events))
        done: dict[int, tuple[AuditRecord, bool]] = {}  # event index -> (record, revisit)
        settled, recovered = term.settle(events, self.watcher) if term else ([], [])
        intents: list[str] = []
        try:
            await self._decide(events, verdicts, done, intents)
        finally:  # audit first, then the position (decided requests leave the pending list)
            shown = [self._recovered(item) for item in recovered]
            shown += [done[i][0] for i in sorted(done) if not _quiet(events[i], done[i][0])]
            self._write(shown)
            shown[:0] = restored  # written already, when they were settled
            for i, (_, keep) in done.items():
                (self.watcher.revisit if keep else self.watcher.done)(events[i])
            self.watcher.save()
            if term is not None and not self.dry_run:
                await term.finish([*settled, *intents], self.watcher.state.to_json())
        rechecked = sum(1 for e in events if e.again)
        elapsed = time.perf_counter() - started
        return PassReport(tuple(shown), self.hub.calls - calls, elapsed, rechecked, alone)

    async def _evaluate(self, event: WatchEvent) -> Verdict:
        async with self._limit:
            return await self.policy.evaluate(event.request, repo_id=event.repo_id)

    async def _decide(
        self,
        events: Sequence[WatchEvent],
        verdicts: Sequence[Verdict],
        done: dict[int, tuple[AuditRecord, bool]],
        intents: list[str],
    ) -> None:
        """Send the verdicts through the session's bulk engine (batches of 100 per repo,
        action and reason; one call per user where the Hub has no batch route)."""

        def note(i: int, outcome: str, error: str | None = None, keep: bool = False) -> None:
            done[i] = (self._record(events[i], verdicts[i], outcome, error), keep)

        sent: list[int] = []
        decisions: list[Decision] = []
        for i, (event, verdict) in enumerate(zip(events, verdicts, strict=True)):
            if verdict.decision is PolicyDecision.HOLD:
                note(i, "held", keep=self.recheck_held)
            elif self.dry_run:
                note(i, "dry_run")
            else:
                sent.append(i)
                action = _ACTION[verdict.decision]
                user = user_label(event.request)
                decisions.append(
                    Decision(event.repo_id, user, action, verdict.reason, event.repo_type)
                )
        if not decisions:
            return
        if self._term is not None:  # a fenced record of what is about to be sent
            items = [self._intent_item(events[i], verdicts[i]) for i in sent]
            intents.append(await self._term.begin(items))
        # The intent is on disk before anything is sent; the outcome follows the call, so
        # every decision the Hub applied has a line even if this process dies in between.
        self._write([self._record(events[i], verdicts[i], "intent", quiet=True) for i in sent])
        run = self.hub.start_bulk(decisions, concurrency=self._concurrency)
        try:
            report = await run
        except asyncio.CancelledError:  # applied or not: look at the unsettled ones next time
            for i, item in zip(sent, run.report().items, strict=True):
                if item.ok:
                    note(i, "ok")
                else:
                    note(i, "error", "cancelled while sending: outcome unknown", keep=True)
            raise
        fatal: HfAccessError | None = None
        for i, item in zip(sent, report.items, strict=True):
            error = item.error
            if item.ok:
                note(i, "ok")
            elif isinstance(error, RequestNotFoundError | UserNotFoundError):
                note(i, "error", error.error_code or _CODES[type(error)])  # final: e.g. withdrawn
            elif isinstance(error, FATAL):
                fatal = fatal or error
                note(i, "error", str(error), keep=True)
            else:  # the call failed, or was not attempted: decide again on a later pass
                note(i, "error", str(error) if error else item.detail, keep=True)
        if fatal is not None:
            raise fatal

    def _record(
        self,
        event: WatchEvent,
        verdict: Verdict,
        outcome: str,
        error: str | None = None,
        *,
        quiet: bool = False,
    ) -> AuditRecord:
        request = event.request
        record = AuditRecord(
            self._now(),
            event.repo_id,
            event.repo_type,
            request.username,
            request.request_id,
            verdict.decision,
            verdict.reason,
            verdict.rule,
            outcome,
            error,
            self.dry_run,
        )
        if self.on_record is not None and not quiet and not _quiet(event, record):
            self.on_record(record)
        return record

    async def _settle_intents(self) -> list[AuditRecord]:
        """Intents of an earlier process with no outcome line (it died between the call and
        the audit): read each target list once, and log them ``recovered`` when the Hub shows
        the decision applied, ``error`` otherwise (the request is decided again while it is
        pending, since the position was not saved either)."""
        open_ = _open_intents(self.audit_log) if self.audit_log is not None else []
        self._intents_settled = True
        lists: dict[tuple[RepoType, str, RequestStatus], set[str]] = {}
        records: list[AuditRecord] = []
        for item in open_:
            rtype, decision = RepoType(item["repo_type"]), PolicyDecision(item["decision"])
            status = _ACTION[decision].target_status
            where = (rtype, str(item["repo"]), status)
            if where not in lists:
                listed = await self.hub.list_requests(where[1], status, repo_type=rtype)
                lists[where] = {r.request_id for r in listed if r.request_id} | {
                    f"user:{r.username}" for r in listed if r.username
                }
            found = lists[where]
            applied = item.get("request_id") in found or f"user:{item.get('user')}" in found
            record = AuditRecord(
                self._now(),
                str(item["repo"]),
                rtype,
                item.get("user"),
                item.get("request_id"),
                decision,
                item.get("reason"),
                item.get("rule"),
                "recovered" if applied else "error",
                None if applied else "not applied before a restart: decided again if pending",
            )
            if self.on_record is not None:
                self.on_record(record)
            records.append(record)
        self._write(records)  # at once: a kill later in this pass does not undo them
        return records

    @staticmethod
    def _intent_item(event: WatchEvent, verdict: Verdict) -> dict[str, Any]:
        request = event.request
        return {
            "id": event_id(event),
            "stream": event.stream.key,
            "repo": event.repo_id,
            "repo_type": event.repo_type.value,
            "user": request.username,
            "request_id": request.request_id,
            "decision": verdict.decision.value,
            "reason": verdict.reason,
            "rule": verdict.rule,
        }

    def _recovered(self, item: dict[str, Any]) -> AuditRecord:
        record = AuditRecord(
            self._now(),
            item["repo"],
            RepoType(item["repo_type"]),
            item["user"],
            item["request_id"],
            PolicyDecision(item["decision"]),
            item["reason"],
            item["rule"],
            "recovered",
        )
        if self.on_record is not None:
            self.on_record(record)
        return record

    def _write(self, records: Sequence[AuditRecord]) -> None:
        if self.audit_log is None or not records:
            return
        with self.audit_log.open("a", encoding="utf-8") as log_file:
            for record in records:
                log_file.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            log_file.flush()
            os.fsync(log_file.fileno())
