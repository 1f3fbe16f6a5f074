"""Screening policies: rules that decide access requests, first match wins.

A :class:`Policy` is an ordered list of rules and a default. Each rule pairs a condition (a
:class:`Predicate`) with what to do when it holds (a :class:`Verdict`: accept, reject or reset
with a reason, or hold). The first rule that matches decides, and the verdict names it; when
none matches the default applies (``hold`` unless told otherwise). A rule that fails (an
outside lookup that raises or times out) **holds** the request: it never decides.

>>> import asyncio
>>> from hf_access import AccessRequest, RequestStatus
>>> from hf_access.screening.policy import Policy, Rule, email_domains, reject, verified_orgs, accept
>>> policy = Policy([
...     Rule("disposable", email_domains(["mailinator.com"]), reject("Disposable e-mail.")),
...     Rule("partners", verified_orgs(["acme"]), accept()),
... ])
>>> alice = AccessRequest("r1", "alice", RequestStatus.PENDING, verified_orgs=("acme",))
>>> asyncio.run(policy.evaluate(alice))
Verdict(decision=<PolicyDecision.ACCEPT: 'accept'>, reason=None, rule='partners')
>>> bob = AccessRequest("r2", "bob", RequestStatus.PENDING, email="bob@example.org")
>>> asyncio.run(policy.evaluate(bob)).decision
<PolicyDecision.HOLD: 'hold'>

Policies also load from TOML with :meth:`Policy.from_toml` (see ``examples/policy.toml``);
an unknown rule type or key, a bad decision or a reason over 200 characters is a
:class:`ValueError` naming the file and the rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..hub.models import AccessRequest
from ._policy_toml import Loader, read_toml
from .rules import (
    Combined,
    DecideWith,
    EmailDomains,
    FormAnswers,
    Lookup,
    Not,
    PolicyDecision,
    Predicate,
    Rule,
    RuleLike,
    Users,
    Verdict,
    VerifiedOrgs,
    _failure_reason,
    _rules,
    accept,
    email_domains,
    form,
    hold,
    lookup,
    reject,
    reset,
    users,
    verified_orgs,
)

__all__ = [
    "Combined",
    "DecideWith",
    "EmailDomains",
    "FormAnswers",
    "Lookup",
    "Not",
    "Policy",
    "PolicyDecision",
    "Predicate",
    "Rule",
    "RuleLike",
    "Users",
    "Verdict",
    "VerifiedOrgs",
    "accept",
    "email_domains",
    "form",
    "hold",
    "lookup",
    "reject",
    "reset",
    "users",
    "verified_orgs",
]

log = logging.getLogger("hf_access.screening")


@attrs.frozen
class Policy:
    """Ordered rules, first match wins; ``default`` when none matches (hold)."""

    rules: tuple[RuleLike, ...] = attrs.field(converter=_rules)
    default: Verdict = attrs.field(factory=hold)

    async def evaluate(self, request: AccessRequest, *, repo_id: str = "") -> Verdict:
        """The verdict for one request; a rule that raises or times out holds it."""
        for rule in self.rules:
            try:
                verdict = await rule.apply(request, repo_id)
            except Exception as exc:
                log.warning("%s: %s on %s: holding", repo_id, rule.name, request.label)
                return Verdict(PolicyDecision.HOLD, _failure_reason(rule.name, exc), rule.name)
            if verdict is not None:
                return verdict
        return attrs.evolve(self.default, rule="default")

    @classmethod
    def from_toml(
        cls, path: str | Path, *, lookups: Mapping[str, Callable[..., Any]] | None = None
    ) -> Policy:
        """Load a policy file; list files are found relative to it (see the module doc)."""
        source = Path(path)
        data = read_toml(source)
        return cls.from_dict(data, source=str(source), base_dir=source.parent, lookups=lookups)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "<policy>",
        base_dir: str | Path | None = None,
        lookups: Mapping[str, Callable[..., Any]] | None = None,
    ) -> Policy:
        """Build a policy from the TOML structure (already parsed)."""
        rules, default = Loader(source, Path(base_dir or "."), lookups or {}).policy(data)
        return cls(rules, default)
