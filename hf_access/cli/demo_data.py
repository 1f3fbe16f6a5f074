"""The demo's made-up population and its screening rule (pure and seeded: same data every run)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import attrs

from ..hub.models import AccessRequest, Action

__all__ = [
    "DENY_DOMAINS",
    "DemoRepo",
    "Person",
    "Verdict",
    "demo_repos",
    "people",
    "requests_of",
    "screen",
]

_FIRST = (
    "ada", "alan", "amara", "ana", "bo", "chen", "dara", "elif", "emma", "farid", "grace",
    "hana", "ines", "ivan", "jun", "kemal", "lea", "lin", "luca", "maya", "mei", "nadia",
    "noor", "olga", "omar", "pablo", "priya", "ravi", "sara", "sofia", "tariq", "yuki",
)  # fmt: skip
_LAST = (
    "abe", "bauer", "costa", "diallo", "evans", "fischer", "garcia", "haddad", "ito", "jensen",
    "kim", "kowalski", "lopez", "martin", "nguyen", "novak", "okafor", "patel", "rossi",
    "santos", "schmidt", "silva", "tanaka", "wang", "weber", "yilmaz", "zhang",
)  # fmt: skip
_WORK = (
    ("acme-ai.example", "ACME AI"), ("globex.example", "Globex"), ("initech.example", "Initech"),
    ("umbrella-labs.example", "Umbrella Labs"), ("cyberdyne.example", "Cyberdyne"),
)  # fmt: skip
_SCHOOLS = (("uni-heidelberg.example", "Heidelberg University"), ("mit.example", "MIT"),
            ("tokyo-u.example", "University of Tokyo"), ("ens.example", "ENS"))  # fmt: skip
_WEBMAIL = ("gmail.example", "outlook.example", "proton.example")
DENY_DOMAINS = ("mailinator.com", "tempmail.dev", "trashmail.io")
"""Disposable e-mail domains: the demo rejects requests from them."""
_COUNTRIES = ("US", "FR", "DE", "IN", "JP", "BR", "NG", "CN", "GB", "KR", "CA", "ES")
_USAGE = ("research", "research", "education", "commercial", "personal")


@attrs.frozen
class Person:
    name: str
    fullname: str
    email: str
    company: str
    country: str


@attrs.frozen
class DemoRepo:
    repo_id: str
    repo_type: str
    share: float  # part of the requests this repo receives


def demo_repos(count: int) -> list[DemoRepo]:
    """Up to 3 repos (2 models and a dataset) sharing the requests about 47/35/18 %."""
    catalogue = [
        DemoRepo("acme-ai/atlas-70b", "model", 0.4713),
        DemoRepo("acme-ai/atlas-8b", "model", 0.3512),
        DemoRepo("acme-ai/speech-commands-xl", "dataset", 0.1775),
    ]
    chosen = catalogue[: max(1, min(count, len(catalogue)))]
    total = sum(r.share for r in chosen)
    return [attrs.evolve(r, share=r.share / total) for r in chosen]


def people(count: int, *, seed: int = 7) -> list[Person]:
    """``count`` made-up requesters: work, school and webmail addresses, some disposable."""
    rng = random.Random(seed)
    out: list[Person] = []
    for i in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = f"{first}-{last}-{i:05d}"
        roll = rng.random()
        if roll < 0.06:
            domain, company = rng.choice(DENY_DOMAINS), rng.choice(("", "Freelance", "Self"))
        elif roll < 0.45:
            domain, company = rng.choice(_WORK)
        elif roll < 0.70:
            domain, company = rng.choice(_SCHOOLS)
        else:
            domain = rng.choice(_WEBMAIL)
            company = "" if rng.random() < 0.12 else rng.choice(("Independent", "Startup", "NGO"))
        out.append(
            Person(
                name=name,
                fullname=f"{first.title()} {last.title()}",
                email=f"{first}.{last}{i}@{domain}",
                company=company,
                country=rng.choice(_COUNTRIES),
            )
        )
    return out


def requests_of(
    repos: Sequence[DemoRepo], crowd: Sequence[Person], total: int, *, seed: int = 11
) -> list[tuple[DemoRepo, Person, Mapping[str, object]]]:
    """Who asks for which repo, with the gate form's fields (Company, Country, usage)."""
    rng = random.Random(seed)
    out: list[tuple[DemoRepo, Person, Mapping[str, object]]] = []
    start = 0
    for number, repo in enumerate(repos):
        size = total - len(out) if number == len(repos) - 1 else round(total * repo.share)
        for offset in range(size):
            person = crowd[(start + offset) % len(crowd)]
            fields = {
                "Company": person.company,
                "Country": person.country,
                "Intended use": rng.choice(_USAGE),
            }
            out.append((repo, person, fields))
        start += size // 2  # repos share part of their requesters
    return out


@attrs.frozen
class Verdict:
    action: Action
    reason: str | None = None


def screen(request: AccessRequest) -> Verdict:
    """The demo's rule: reject disposable e-mail domains and forms without a company."""
    domain = (request.email or "").rpartition("@")[2].lower()
    if domain in DENY_DOMAINS:
        return Verdict(Action.REJECT, "disposable e-mail address")
    if not str(request.fields.get("Company") or "").strip():
        return Verdict(Action.REJECT, "the form's Company field is empty")
    return Verdict(Action.ACCEPT)
