"""Policy rules, evaluated without any loop or server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hf_access import AccessRequest, RequestStatus
from hf_access.screening.policy import (
    DecideWith,
    Policy,
    PolicyDecision,
    Rule,
    Verdict,
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

EXAMPLE = Path(__file__).parents[2] / "examples" / "policy.toml"


def req(user: str | None = "alice", **kw: Any) -> AccessRequest:
    return AccessRequest(kw.pop("request_id", f"id-{user}"), user, RequestStatus.PENDING, **kw)


def run(policy: Policy, request: AccessRequest) -> Verdict:
    return asyncio.run(policy.evaluate(request, repo_id="org/model"))


def test_first_matching_rule_wins_and_is_named() -> None:
    policy = Policy(
        [
            Rule("deny", users(["Mallory"]), reject("Blocked.")),
            Rule("staff", email_domains(["acme.com"]), accept()),
            Rule("catch-all-acme", email_domains(["acme.com"]), reject("never reached")),
        ]
    )
    assert run(policy, req("mallory", email="m@acme.com")) == Verdict("reject", "Blocked.", "deny")
    assert run(policy, req("bob", email="bob@ACME.com")) == Verdict("accept", None, "staff")


def test_default_is_hold_and_configurable() -> None:
    assert run(Policy([]), req()) == Verdict(PolicyDecision.HOLD, None, "default")
    policy = Policy([], default=reject("Sorry."))
    assert run(policy, req()) == Verdict("reject", "Sorry.", "default")


def test_email_domains_match_subdomains_only_on_dot_boundary() -> None:
    pred = email_domains(["example.org", "@corp.io", "*.edu"])
    check = lambda email: asyncio.run(pred.test(req(email=email), "r"))  # noqa: E731
    assert check("a@example.org")
    assert check("a@mail.example.org")
    assert not check("a@badexample.org")
    assert check("a@corp.io")
    assert check("a@cs.mit.edu")
    assert not check(None)
    assert not check("not-an-email")


def test_user_and_domain_lists_from_files(tmp_path: Path) -> None:
    (tmp_path / "deny.txt").write_text("# blocked people\nmallory  # spam\n\nEve\n")
    (tmp_path / "domains.txt").write_text("mailinator.com\n")
    pred = users(["trudy"], file=tmp_path / "deny.txt")
    assert all(asyncio.run(pred.test(req(u), "r")) for u in ("mallory", "eve", "trudy"))
    assert not asyncio.run(pred.test(req("alice"), "r"))
    assert not asyncio.run(pred.test(req(None), "r"))  # hidden requester
    dom = email_domains(file=tmp_path / "domains.txt")
    assert asyncio.run(dom.test(req(email="x@mailinator.com"), "r"))


def test_verified_orgs() -> None:
    pred = verified_orgs(["ACME"])
    assert asyncio.run(pred.test(req(verified_orgs=("acme", "other")), "r"))
    assert not asyncio.run(pred.test(req(verified_orgs=()), "r"))


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"I agree": True, "Use": "Research", "Country": "FR"}, True),
        ({"i agree ": "on", "use": ["research", "education"], "country": "fr"}, True),
        ({"I agree": False, "Use": "research", "Country": "FR"}, False),
        ({"Use": "research", "Country": "FR"}, False),  # box missing
        ({"I agree": "yes", "Use": "commercial", "Country": "FR"}, False),
        ({"I agree": "yes", "Use": ["research", "commercial"], "Country": "FR"}, False),
        ({"I agree": "yes", "Use": "research", "Country": "KP"}, False),
        ({"I agree": "yes", "Use": "research"}, False),  # country unanswered
        ({"I agree": "yes", "Use": "research", "Country": ""}, False),
    ],
)
def test_form_answers(fields: dict[str, object], ok: bool) -> None:
    pred = form(
        checked=["I agree"],
        one_of={"Use": ["research", "education"]},
        not_in={"Country": ["KP", "IR"]},
    )
    assert asyncio.run(pred.test(req(fields=fields), "r")) is ok


def test_combinators() -> None:
    partner = verified_orgs(["acme"]) & ~email_domains(["gmail.com"])
    either = users(["bob"]) | verified_orgs(["acme"])
    a = req(verified_orgs=("acme",), email="a@acme.com")
    b = req(verified_orgs=("acme",), email="a@gmail.com")
    assert asyncio.run(partner.test(a, "r"))
    assert not asyncio.run(partner.test(b, "r"))
    assert asyncio.run(either.test(req("bob"), "r"))
    assert not asyncio.run(either.test(req("carol"), "r"))


def test_lookup_that_raises_holds_and_never_reaches_later_rules() -> None:
    async def broken(request: AccessRequest, repo_id: str) -> bool:
        raise ConnectionError("crm down")

    policy = Policy(
        [Rule("crm", lookup(broken), reject("unpaid")), Rule("all", users(["alice"]), accept())]
    )
    verdict = run(policy, req())
    assert verdict.decision is PolicyDecision.HOLD
    assert verdict.rule == "crm"
    assert "crm down" in (verdict.reason or "")


def test_lookup_that_times_out_holds() -> None:
    async def slow(request: AccessRequest, repo_id: str) -> bool:
        await asyncio.Event().wait()  # never answers
        return True

    policy = Policy([Rule("slow", lookup(slow, timeout=0.01), accept())], default=accept())
    verdict = run(policy, req())
    assert verdict == Verdict("hold", "rule 'slow' timed out", "slow")


def test_lookup_sync_and_async_truth_values() -> None:
    seen: list[tuple[str | None, str]] = []

    def paid(request: AccessRequest, repo_id: str) -> bool:
        seen.append((request.username, repo_id))
        return request.username == "alice"

    policy = Policy([Rule("paid", lookup(paid), accept())])
    assert run(policy, req("alice")).decision is PolicyDecision.ACCEPT
    assert run(policy, req("bob")).decision is PolicyDecision.HOLD
    assert seen == [("alice", "org/model"), ("bob", "org/model")]


def test_decide_with_outside_service() -> None:
    async def compliance(request: AccessRequest, repo_id: str) -> Verdict | None:
        if request.username == "eve":
            return reject("Export control.")
        return None if request.username == "bob" else accept()

    policy = Policy([DecideWith("compliance", compliance)], default=reset("Ask again."))
    assert run(policy, req("eve")) == Verdict("reject", "Export control.", "compliance")
    assert run(policy, req("alice")) == Verdict("accept", None, "compliance")
    assert run(policy, req("bob")) == Verdict("reset", "Ask again.", "default")


def test_verdict_validation() -> None:
    with pytest.raises(ValueError, match="at most 200"):
        reject("x" * 201)
    with pytest.raises(ValueError, match="unknown decision"):
        Verdict("maybe")
    assert hold().decision is PolicyDecision.HOLD


# -- TOML ----------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def test_example_policy_loads_and_decides() -> None:
    policy = Policy.from_toml(EXAMPLE)
    form_ok = {"I agree to the license": True, "Intended use": "research", "Country": "FR"}
    assert run(policy, req("mallory", email="m@x.org", fields=form_ok)).decision == "reject"
    assert (
        run(policy, req("a", email="a@mailinator.com", fields=form_ok)).rule == "disposable-email"
    )
    verdict = run(policy, req("b", email="b@uni.edu", fields={"Country": "FR"}))
    assert (verdict.decision, verdict.rule) == ("reject", "form-incomplete")
    assert (
        run(
            policy, req("c", email="c@x.org", fields=form_ok, verified_orgs=("acme-research",))
        ).decision
        == "accept"
    )
    assert run(policy, req("d", email="d@uni.edu", fields=form_ok)).rule == "academic"
    assert run(policy, req("e", email="e@gmail.com", fields=form_ok)).rule == "default"


def test_toml_all_any_negate_and_lookups(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
default = "reject"
default_reason = "Not eligible."

[[rules]]
name = "checked-by-crm"
type = "lookup"
callable = "crm"
timeout = 1.5

[[rules]]
name = "partner-with-form"
type = "all"
decision = "accept"
[[rules.when]]
type = "verified_orgs"
orgs = ["acme"]
[[rules.when]]
type = "form"
checked = ["Agree"]

[[rules]]
name = "no-form"
type = "form"
negate = true
checked = ["Agree"]
decision = "hold"
""",
    )

    async def crm(request: AccessRequest, repo_id: str) -> Verdict | None:
        return reset("Update your details.") if request.username == "old" else None

    policy = Policy.from_toml(path, lookups={"crm": crm})
    assert isinstance(policy.rules[0], DecideWith)
    assert policy.rules[0].timeout == 1.5
    assert run(policy, req("old")).decision == "reset"
    partner = req("p", verified_orgs=("acme",), fields={"Agree": True})
    assert run(policy, partner) == Verdict("accept", None, "partner-with-form")
    assert run(policy, req("n", fields={})).rule == "no-form"
    assert run(policy, req("x", fields={"Agree": True})) == Verdict(
        "reject", "Not eligible.", "default"
    )


def test_toml_lookup_by_import_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[rules]]\ntype = "lookup"\ncallable = "os.path:isabs"\ndecision = "accept"\n',
    )
    policy = Policy.from_toml(path)
    assert policy.rules[0].name == "rules[0]:lookup"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[rules]]\ntype = "emial"\ndecision = "accept"\n',
            r"rules\[0\]: unknown rule type 'emial'",
        ),
        (
            '[[rules]]\nname = "long"\ntype = "users"\nusers = ["a"]\ndecision = "reject"\nreason = "'
            + "x" * 201
            + '"\n',
            r"rules\[0\] \('long'\): reason is 201 characters",
        ),
        ('[[rules]]\ntype = "users"\nusers = ["a"]\n', r"missing 'decision'"),
        (
            '[[rules]]\ntype = "users"\nusers = ["a"]\ndecision = "maybe"\n',
            r"unknown decision 'maybe'",
        ),
        (
            '[[rules]]\ntype = "users"\nuser = ["a"]\ndecision = "accept"\n',
            r"unknown key\(s\) \['user'\]",
        ),
        (
            '[[rules]]\ntype = "users"\nusers = "a"\ndecision = "accept"\n',
            r"users must be an array of strings",
        ),
        (
            '[[rules]]\ntype = "users"\nusers_file = "nope.txt"\ndecision = "accept"\n',
            r"users_file: cannot read 'nope.txt'",
        ),
        ('[[rules]]\ntype = "lookup"\ncallable = "crm"\n', r"no lookup named 'crm'"),
        ('[[rules]]\ntype = "lookup"\ncallable = "no_such_mod:fn"\n', r"cannot import"),
        ('[[rules]]\ntype = "lookup"\ncallable = "os:sep"\n', r"is not callable"),
        (
            '[[rules]]\ntype = "lookup"\ncallable = "os:getcwd"\ntimeout = 0\n',
            r"timeout must be a positive",
        ),
        ('[[rules]]\ntype = "all"\ndecision = "accept"\n', r"needs a non-empty 'when'"),
        (
            '[[rules]]\ntype = "any"\ndecision = "accept"\n[[rules.when]]\ntype = "x"\n',
            r"rules\[0\]\.when\[0\]: unknown rule type 'x'",
        ),
        ('default = "yes"\n', r"default: unknown decision"),
        ("rulez = []\n", r"top level: unknown key"),
        ("rules = [\n", r"policy.toml: "),
    ],
)
def test_toml_validation_errors_name_the_location(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as info:
        Policy.from_toml(path)
    assert str(path) in str(info.value)
