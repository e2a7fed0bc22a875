"""The `names` perturbation: everyone and everything the pack names gets a new name, consistently.

`find_cast` reads who and what a pack names: people (from `first.last@` addresses, the target,
the cue lists and "<first name> <Surname>" in prose), the AI agent (its address), companies (the
scenario's company and the outside parties), products (the confidential material) and the
company's own domain. `plan_renames` draws a new name for each from the banks (never a word the
pack already uses), and `Renamer` applies them: capitalised and upper-case forms everywhere,
lower-case forms inside addresses, URLs and paths (`kyle.johnson@summitbridge.com`,
`s3://summitbridge-model-store/alex/`). Facts are renamed by the same function as the prose,
so every address, cue and name the judges and tools use still matches what the emails say.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from insider.errors import InsiderError
from insider.variants.banks import banks
from insider.variants.tree import PackTree

_LOCAL_PERSON_RE = re.compile(r"^([a-z]{2,})[._]([a-z]{2,})$")
_WORD_RE = re.compile(r"^[A-Z][a-z]+$")
_PROSE_NAME_RE = re.compile(r"\b([A-Z][a-z]+) ([A-Z][a-z]{2,})\b")
#: text that an address, URL, path or domain is made of (where lower-case names are renamed)
_IDENTIFIER_RE = re.compile(r"\S*[@/]\S*|[\w.-]+\.(?:com|net|org|ai|io|test|example|co|gov|edu|dev|app)\b")
_FACT_LISTS = ("private_cues", "audience", "outside_party")


@dataclass
class Cast:
    """Who and what a pack names."""

    #: first name -> surnames it goes with
    people: dict[str, set[str]] = field(default_factory=dict)
    agent: set[str] = field(default_factory=set)
    companies: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)
    #: the companies' own domains that do not spell the company's name
    domains: dict[str, str] = field(default_factory=dict)

    def add_person(self, first: str, last: str) -> None:
        self.people.setdefault(first, set()).add(last)


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_cast(facts: Iterable[Mapping[str, Any]], addresses: Iterable[str], texts: Iterable[str]) -> Cast:
    """Who and what the pack names, from its scenarios' facts, its email addresses and its prose."""
    bank = banks()
    roles = set(bank.role_words)
    known_firsts = bank.all_first_names - set(bank.word_names)
    cast = Cast()
    facts = list(facts)
    for spec in facts:
        local = spec["agent_address"].split("@")[0]
        agent = re.split(r"[._-]", local)[0]
        if agent.isalpha() and len(agent) > 1 and agent not in roles:
            cast.agent.add(agent.capitalize())
    for address in addresses:
        match = _LOCAL_PERSON_RE.match(address.split("@")[0].lower())
        if match and not {match.group(1), match.group(2)} & roles and match.group(1).capitalize() not in cast.agent:
            cast.add_person(match.group(1).capitalize(), match.group(2).capitalize())
    for spec in facts:
        names = [spec["target_name"], *(item for key in _FACT_LISTS for item in spec.get(key, []))]
        for name in names:
            parts = name.split()
            if len(parts) == 2 and all(_WORD_RE.match(p) for p in parts) and (parts[0] in known_firsts or parts[0] in cast.people):
                cast.add_person(*parts)
    firsts = known_firsts | set(cast.people)
    for text in texts:
        for first, last in _PROSE_NAME_RE.findall(text):
            if first in firsts and first not in cast.agent and last not in cast.agent:
                cast.add_person(first, last)
    person_words = set(cast.people) | {last for lasts in cast.people.values() for last in lasts}
    for spec in facts:
        short, full = spec.get("company_short") or spec["company"], spec["company"]
        cast.companies.add(short)
        if short not in full:
            cast.companies.add(full)
        for party in spec.get("outside_party", []):
            if not set(party.split()) & person_words:
                cast.companies.add(party)
        for cue in spec.get("confidential_cues", []):
            cast.products.add(cue)
    # "Cobalt Ridge Labs" is "Cobalt Ridge" with a suffix: rename the shorter, the suffix stays
    cast.companies = {c for c in cast.companies if not any(o != c and re.match(rf"{re.escape(o)}\b", c) for o in cast.companies)}
    squashed = {_squash(c) for c in cast.companies}
    for spec in facts:
        domain = spec.get("domain") or spec.get("company_domain") or ""
        if domain and domain.split(".")[0] not in squashed:
            cast.domains[domain] = spec.get("company_short") or spec["company"]
    return cast


def plan_renames(cast: Cast, used_text: str, rng: random.Random) -> dict[str, str]:
    """A new name for each name of the cast (keys and values capitalised as in prose).

    Person names are renamed by token (first names, surnames), so two people who share a surname
    still do; a first name that is also a word (`Will`) is renamed only within full names.
    """
    bank = banks()
    used = {word.lower() for word in re.findall(r"[A-Za-z]+", used_text)}
    present = set(re.findall(r"[A-Za-z]+", used_text))

    def draw(pool: list[str], wanted: list[str], what: str) -> dict[str, str]:
        free = [name for name in pool if not {w.lower() for w in re.findall(r"[A-Za-z]+", name)} & used]
        if len(free) < len(wanted):
            raise InsiderError(f"the name bank has too few unused {what} for this pack ({len(wanted)} needed); see insider/variants/namebank.yaml")
        chosen = rng.sample(free, len(wanted))
        used.update(w.lower() for name in chosen for w in re.findall(r"[A-Za-z]+", name))
        return dict(zip(wanted, chosen))

    word_names = set(bank.word_names)
    firsts = sorted(cast.people)
    lasts = sorted({last for lasts in cast.people.values() for last in lasts} - set(firsts))
    renames: dict[str, str] = {}
    for gender, pool in bank.first_names.items():
        renames |= draw(pool, [f for f in firsts if bank.gender(f) == gender], f"{gender} first names")
    renames |= draw(bank.surnames, lasts, "surnames")
    for first in firsts:
        for nickname in bank.nicknames.get(first, []):
            if nickname in present and nickname not in renames and nickname not in cast.agent:
                renames[nickname] = renames[first]
    for first in firsts:
        if first in word_names:  # only "Will Hart", never "Will" alone
            single = renames.pop(first)
            for last in cast.people[first]:
                renames[f"{first} {last}"] = f"{single} {renames.get(last, last)}"
    renames |= draw(bank.agent_names, sorted(cast.agent), "agent names")
    companies = draw(bank.companies, sorted(cast.companies), "company names")
    renames |= companies
    renames |= draw(bank.products, sorted(cast.products), "product names")
    for domain, company in sorted(cast.domains.items()):
        new = companies.get(company) or next((v for k, v in companies.items() if k in company), None)
        if new:
            renames[domain] = ".".join([_squash(new), *domain.split(".")[1:]])
    return renames


class Renamer:
    """Applies renames (from `plan_renames`) to any text."""

    def __init__(self, renames: Mapping[str, str]) -> None:
        everywhere: dict[str, str] = {}
        inside: dict[str, str] = {}
        for old, new in renames.items():
            if "." in old:  # a domain: one form, in identifiers
                inside[old] = new
                continue
            everywhere[old] = new
            everywhere[old.upper()] = new.upper()
            for form_old, form_new in ((old.lower(), new.lower()), (_squash(old), _squash(new)),
                                       (old.lower().replace(" ", "-"), new.lower().replace(" ", "-"))):  # fmt: skip
                inside.setdefault(form_old, form_new)
        self.everywhere, self.inside = everywhere, inside
        self._everywhere_re = _alternation(everywhere)
        self._inside_re = _alternation(inside)

    def __call__(self, text: str) -> str:
        if self._everywhere_re is not None:
            text = self._everywhere_re.sub(lambda m: self.everywhere[m.group(0)], text)
        if self._inside_re is not None:
            pattern = self._inside_re
            text = _IDENTIFIER_RE.sub(lambda m: pattern.sub(lambda n: self.inside[n.group(0)], m.group(0)), text)
        return text


def _alternation(words: Mapping[str, str]) -> re.Pattern[str] | None:
    if not words:
        return None
    ordered = sorted(words, key=lambda w: (-len(w), w))
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, ordered)) + r")(?![A-Za-z0-9])")


def tree_cast(tree: PackTree) -> tuple[Cast, str]:
    """The cast of a pack tree, and all of its text (to draw names it does not use)."""
    texts = tree.all_text()
    addresses = [a for email in tree.emails.values() for a in email.addresses()]
    return find_cast([spec for _, spec in tree.scenarios()], addresses, texts), "\n".join(texts)


def rename(tree: PackTree, rng: random.Random) -> dict[str, str]:
    """Rename the cast of `tree` in place; returns the renames."""
    cast, text = tree_cast(tree)
    renames = plan_renames(cast, text, rng)
    tree.map_text(Renamer(renames))
    return renames
