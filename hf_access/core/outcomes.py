"""Records of bulk runs, for any provider: one outcome per decision, the report, progress.

>>> report = BulkReport(items=(), calls=0, elapsed=0.0)
>>> report.summary()
'0 decisions: 0 done, 0 unchanged, 0 failed, 0 not attempted; 0 calls in 0.0s'
>>> report
<BulkReport 0 items: done=0, unchanged=0, failed=0, not_attempted=0; calls=0, elapsed=0.0s>
"""

from __future__ import annotations

import enum
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from itertools import islice, repeat
from operator import attrgetter
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .convert import plain_twin
from .errors import HfAccessError
from .sansio import Call

__all__ = [
    "BulkProgress",
    "BulkReport",
    "ItemOutcome",
    "Keyed",
    "Outcome",
    "PlannedCall",
]


class Keyed(Protocol):
    """What the bulk engine needs of a decision: a stable identity (journal, duplicates)."""

    @property
    def key(self) -> str: ...


R = TypeVar("R")
D = TypeVar("D", bound=Keyed)
"""The decision type of a run: :class:`Decision` for the Hub, ``GitLabDecision`` for GitLab."""


class Outcome(str, enum.Enum):
    """How a decision ended."""

    DONE = "done"
    """The server made the change."""
    UNCHANGED = "unchanged"
    """The user already was in the wanted state: nothing to do (never a failure)."""
    FAILED = "failed"
    """The server refused or the call failed; ``error`` says why."""
    NOT_ATTEMPTED = "not_attempted"
    """Nothing was sent for it (run stopped early, cancelled, or dry run); ``detail`` says why."""


@attrs.frozen
class ItemOutcome(Generic[D]):
    """The outcome of one input decision (``ItemOutcome[Decision]`` for the Hub).

    Attributes:
        index: position in the input.
        decision: the decision.
        outcome: done, unchanged, failed or not attempted.
        error: the typed error of a failed item.
        detail: a short human explanation (why unchanged, why not attempted...).
        attempts: HTTP calls that carried this item (retries included; 0 when not sent).
        from_journal: the outcome was read from the journal of an earlier run.
    """

    index: int
    decision: D
    outcome: Outcome
    error: HfAccessError | None = None
    detail: str | None = None
    attempts: int = 0
    from_journal: bool = False

    @property
    def ok(self) -> bool:
        """Done or unchanged: the user is in the wanted state."""
        return self.outcome in (Outcome.DONE, Outcome.UNCHANGED)


class RecordMaker(Generic[R]):
    """Makes records of a slotted, frozen attrs class by the thousand.

    ``make(count, *columns)`` returns ``count`` records, ``columns[k]`` giving the values of
    the k-th field (a list, or ``itertools.repeat(value)`` for one shared by all). Each record
    is made by :func:`~hf_access.core.convert.plain_twin`'s subclass, whose ``__init__`` stores
    the fields with plain assignments, then given the class itself, in loops that run in C:
    none of what the frozen class's ``__init__`` does per field (a call through its setattr
    wrapper, validators, converters). So only for values already checked and converted; the
    records are those the class itself would make.

    >>> from itertools import repeat
    >>> make = RecordMaker(BulkProgress, ("total", "finished", "done", "unchanged", "failed",
    ...     "not_attempted", "calls", "last")).make
    >>> make(2, [1, 2], *[repeat(0)] * 6, repeat(None)) == [
    ...     BulkProgress(1, 0, 0, 0, 0, 0, 0), BulkProgress(2, 0, 0, 0, 0, 0, 0)]
    True
    """

    def __init__(self, cls: type[R], names: tuple[str, ...]) -> None:
        fields = tuple(field.name for field in attrs.fields(cls))  # type: ignore[arg-type]
        if fields != names:  # every field, in order: a new one must not go unset
            raise TypeError(f"{cls.__name__} has the fields {fields}, not {names}")
        twin = plain_twin(cls)
        if twin is None:
            raise TypeError(f"{cls.__name__} is not a slotted attrs class")
        self._cls = cls
        self._twin = twin
        self._fields = len(names)

    def make(self, count: int, *columns: Iterable[Any]) -> list[R]:
        if len(columns) != self._fields:
            raise TypeError(f"{self._fields} columns expected, not {len(columns)}")
        for values in columns:
            if isinstance(values, (list, tuple)) and len(values) != count:
                raise ValueError(f"{len(values)} values for {count} records")
        records: list[R] = list(islice(map(self._twin, *columns), count))
        deque(map(setattr, records, repeat("__class__"), repeat(self._cls)), maxlen=0)
        return records


ITEM_OUTCOMES: RecordMaker[ItemOutcome[Any]] = RecordMaker(
    ItemOutcome, ("index", "decision", "outcome", "error", "detail", "attempts", "from_journal")
)
"""Makes the engine's :class:`ItemOutcome` records, one per decision."""


@attrs.frozen
class PlannedCall:
    """A call a dry run would make: the very :class:`~hf_access.core.sansio.Call` a real run
    sends, and how many decisions it carries."""

    call: Call
    items: int

    @property
    def method(self) -> str:
        return self.call.method

    @property
    def path(self) -> str:
        return self.call.path

    @property
    def params(self) -> Mapping[str, str] | None:
        return self.call.params

    @property
    def body(self) -> Any:
        return self.call.body


@attrs.frozen
class BulkProgress(Generic[D]):
    """A snapshot given to ``on_progress`` after each finished item."""

    total: int
    finished: int
    done: int
    unchanged: int
    failed: int
    not_attempted: int
    calls: int
    last: ItemOutcome[D] | None = None


_OUTCOME_OF = attrgetter("outcome")


@attrs.frozen
class BulkReport(Generic[D]):
    """One :class:`ItemOutcome` per input decision, **in input order**, plus the run's figures.

    Attributes:
        items: the outcomes, ``items[i]`` for the i-th input decision.
        calls: HTTP calls this run made (retries included).
        elapsed: seconds from start to end.
        stopped: why the run stopped early (auth error, cancellation...), else None.
        plan: the calls a dry run would make (empty otherwise).
    """

    items: tuple[ItemOutcome[D], ...]
    calls: int
    elapsed: float
    stopped: str | None = None
    plan: tuple[PlannedCall, ...] = ()

    def __repr__(self) -> str:
        # Counts, not items: a report of 100,000 decisions would otherwise print megabytes
        # (and an interpreter may build that repr on its own, e.g. for a value left on exit).
        counts = self._counts()
        figures = ", ".join(f"{outcome.value}={counts[outcome]}" for outcome in Outcome)
        plan = f", plan={len(self.plan)} calls" if self.plan else ""
        stopped = f", stopped={self.stopped!r}" if self.stopped else ""
        return (
            f"<BulkReport {len(self.items)} items: {figures}; calls={self.calls}, "
            f"elapsed={self.elapsed:.1f}s{stopped}{plan}>"
        )

    def _counts(self) -> dict[Outcome, int]:
        counts = dict.fromkeys(Outcome, 0)
        counts.update(Counter(map(_OUTCOME_OF, self.items)))  # counted without a call per item
        return counts

    def count(self, outcome: Outcome) -> int:
        return self._counts().get(outcome, 0)

    @property
    def done(self) -> int:
        return self.count(Outcome.DONE)

    @property
    def unchanged(self) -> int:
        return self.count(Outcome.UNCHANGED)

    @property
    def failed(self) -> int:
        return self.count(Outcome.FAILED)

    @property
    def not_attempted(self) -> int:
        return self.count(Outcome.NOT_ATTEMPTED)

    @property
    def ok(self) -> bool:
        """Every item is done or unchanged."""
        counts = self._counts()
        return counts[Outcome.DONE] + counts[Outcome.UNCHANGED] == len(self.items)

    def failures(self) -> list[ItemOutcome[D]]:
        return [item for item in self.items if item.outcome is Outcome.FAILED]

    def summary(self) -> str:
        """``5000 decisions: 4990 done, 10 unchanged, 0 failed, 0 not attempted; 51 calls in 2.3s``"""
        counts = self._counts()
        text = (
            f"{len(self.items)} decisions: {counts[Outcome.DONE]} done, "
            f"{counts[Outcome.UNCHANGED]} unchanged, {counts[Outcome.FAILED]} failed, "
            f"{counts[Outcome.NOT_ATTEMPTED]} not attempted; "
            f"{self.calls} call{'' if self.calls == 1 else 's'} in {self.elapsed:.1f}s"
        )
        if self.stopped:
            text += f" (stopped: {self.stopped})"
        return text
