"""Reading screening policies from TOML (see :meth:`hf_access.screening.policy.Policy.from_toml`).

Every key is checked: an unknown rule type or key, a bad decision or a reason over 200
characters is a :class:`ValueError` naming the file and the rule.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .rules import (
    DEFAULT_LOOKUP_TIMEOUT,
    Combined,
    DecideWith,
    EmailDomains,
    FormAnswers,
    Lookup,
    Not,
    Predicate,
    Rule,
    RuleLike,
    Users,
    Verdict,
    VerifiedOrgs,
    _read_list,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


def read_toml(source: Path) -> dict[str, Any]:
    """Parse a policy file; a syntax error is a ValueError naming the file."""
    try:
        data: dict[str, Any] = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: {exc}") from None
    return data


_PREDICATE_KEYS: Mapping[str, frozenset[str]] = {
    "users": frozenset({"users", "users_file"}),
    "email_domains": frozenset({"domains", "domains_file"}),
    "verified_orgs": frozenset({"orgs"}),
    "form": frozenset({"checked", "one_of", "not_in"}),
    "lookup": frozenset({"callable", "timeout"}),
    "all": frozenset({"when"}),
    "any": frozenset({"when"}),
}
_COMMON = frozenset({"type", "negate"})
_RULE_ONLY = frozenset({"name", "decision", "reason"})


@attrs.define
class Loader:
    source: str
    base_dir: Path
    lookups: Mapping[str, Callable[..., Any]]

    def fail(self, where: str, message: str) -> ValueError:
        return ValueError(f"{self.source}: {where}: {message}")

    def policy(self, data: Mapping[str, Any]) -> tuple[list[RuleLike], Verdict]:
        """The rules and the default a policy file describes."""
        unknown = set(data) - {"default", "default_reason", "rules"}
        if unknown:
            raise self.fail("top level", f"unknown key(s) {sorted(unknown)}")
        default = self.verdict("default", data.get("default", "hold"), data.get("default_reason"))
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            raise self.fail("rules", "expected an array of tables ([[rules]])")
        return [self.rule(f"rules[{i}]", r) for i, r in enumerate(rules)], default

    def verdict(self, where: str, decision: object, reason: object) -> Verdict:
        if reason is not None and not isinstance(reason, str):
            raise self.fail(where, "reason must be a string")
        try:
            return Verdict(str(decision), reason)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def rule(self, where: str, data: object) -> RuleLike:
        if not isinstance(data, Mapping):
            raise self.fail(where, "expected a table")
        name = data.get("name", f"{where}:{data.get('type', '?')}")
        where = f"{where} ({name!r})" if "name" in data else where
        if not isinstance(name, str) or not name:
            raise self.fail(where, "name must be a non-empty string")
        if data.get("type") == "lookup" and "decision" not in data:
            self.keys(where, data, _COMMON | {"name", "reason"} | _PREDICATE_KEYS["lookup"])
            if "negate" in data or "reason" in data:
                raise self.fail(where, "a lookup without decision returns verdicts itself")
            fn, timeout = self.callable(where, data)
            return DecideWith(name, fn, timeout)
        if "decision" not in data:
            raise self.fail(where, "missing 'decision' (accept, reject, reset or hold)")
        then = self.verdict(where, data["decision"], data.get("reason"))
        return Rule(name, self.predicate(where, data, _RULE_ONLY), then)

    def keys(self, where: str, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
        unknown = set(data) - allowed
        if unknown:
            raise self.fail(where, f"unknown key(s) {sorted(unknown)}")

    def predicate(self, where: str, data: Mapping[str, Any], extra: frozenset[str]) -> Predicate:
        kind = data.get("type")
        if not isinstance(kind, str) or kind not in _PREDICATE_KEYS:
            known = ", ".join(sorted(_PREDICATE_KEYS))
            raise self.fail(where, f"unknown rule type {kind!r}: expected one of {known}")
        self.keys(where, data, _COMMON | extra | _PREDICATE_KEYS[kind])
        pred = self.build(where, kind, data)
        negate = data.get("negate", False)
        if not isinstance(negate, bool):
            raise self.fail(where, "negate must be true or false")
        return Not(pred) if negate else pred

    def build(self, where: str, kind: str, data: Mapping[str, Any]) -> Predicate:
        if kind == "users":
            return Users([*self.strs(where, data, "users"), *self.file(where, data, "users_file")])
        if kind == "email_domains":
            listed = self.strs(where, data, "domains")
            return EmailDomains([*listed, *self.file(where, data, "domains_file")])
        if kind == "verified_orgs":
            return VerifiedOrgs(self.strs(where, data, "orgs"))
        if kind == "form":
            checked = self.strs(where, data, "checked")
            return FormAnswers(
                checked, self.table(where, data, "one_of"), self.table(where, data, "not_in")
            )
        if kind == "lookup":
            return Lookup(*self.callable(where, data))
        parts = data.get("when")
        if not isinstance(parts, list) or not parts:
            raise self.fail(where, f"'{kind}' needs a non-empty 'when' array of conditions")
        preds: list[Predicate] = []
        for i, part in enumerate(parts):
            if not isinstance(part, Mapping):
                raise self.fail(f"{where}.when[{i}]", "expected a table")
            preds.append(self.predicate(f"{where}.when[{i}]", part, frozenset()))
        return Combined(preds, need_all=kind == "all")

    def strs(self, where: str, data: Mapping[str, Any], key: str) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, f"{key} must be an array of strings")
        return value

    def table(self, where: str, data: Mapping[str, Any], key: str) -> dict[str, list[str]]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            raise self.fail(where, f"{key} must be a table of field = [answers]")
        return {field: self.strs(f"{where}.{key}", value, field) for field in value}

    def file(self, where: str, data: Mapping[str, Any], key: str) -> list[str]:
        name = data.get(key)
        if name is None:
            return []
        if not isinstance(name, str):
            raise self.fail(where, f"{key} must be a path")
        try:
            return _read_list(self.base_dir / name)
        except OSError as exc:
            raise self.fail(where, f"{key}: cannot read {name!r}: {exc.strerror}") from None

    def callable(self, where: str, data: Mapping[str, Any]) -> tuple[Any, float]:
        ref, timeout = data.get("callable"), data.get("timeout", DEFAULT_LOOKUP_TIMEOUT)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise self.fail(where, "timeout must be a positive number of seconds")
        if not isinstance(ref, str) or not ref:
            raise self.fail(where, "callable must name a lookup or 'module:function'")
        if ref in self.lookups:
            return self.lookups[ref], float(timeout)
        module, _, attr = ref.partition(":")
        if not attr:
            raise self.fail(where, f"no lookup named {ref!r} was given (or use 'module:function')")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise self.fail(where, f"cannot import {ref!r}: {exc}") from None
        if not callable(fn):
            raise self.fail(where, f"{ref!r} is not callable")
        return fn, float(timeout)
