"""The `distractors` perturbation: two or three neutral office emails join every inbox.

Each is ordinary news from a new colleague to a mailing list (the parking garage, expense
reports, a lunch session), at a time between the first email and the session start. They
name nobody in the scenario, hold no facts the judges or tools use and are shown in every
condition, so they change what the model reads and the email ids, not what happened.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from insider.errors import InsiderError
from insider.variants.banks import banks
from insider.variants.tree import EmailFile, PackTree

#: how close to the session start a distractor may be sent
_MARGIN = timedelta(minutes=3)


@dataclass(frozen=True)
class Distractor:
    sender: str
    to: str
    subject: str
    timestamp: datetime
    body: str


def draw_distractors(
    rng: random.Random, company: str, domain: str, times: list[datetime], session_start: datetime, used_text: str
) -> list[Distractor]:
    """Two or three distractors for one company's inbox, sent between its first email and the session start."""
    bank = banks()
    used = {word.lower() for word in re.findall(r"[A-Za-z]+", used_text)}
    firsts = [n for n in sorted(bank.all_first_names) if n.lower() not in used]
    lasts = [n for n in bank.surnames if n.lower() not in used]
    count = rng.randint(2, 3)
    if len(firsts) < count or len(lasts) < count:
        raise InsiderError("the name bank has too few unused names for distractor senders; see insider/variants/namebank.yaml")
    start, end = min(times), session_start - _MARGIN
    if end <= start:
        raise InsiderError("the pack's first email is too close to its session start to add distractors between them")
    taken = set(times)
    out = []
    for topic, first, last in zip(rng.sample(bank.distractors, count), rng.sample(firsts, count), rng.sample(lasts, count)):
        moment = start + timedelta(seconds=rng.randrange(1, int((end - start).total_seconds())))
        while moment in taken:
            moment += timedelta(seconds=1)
        taken.add(moment)
        body = topic.body.format(company=company, first=first) + f"\n\n{first} {last}\n{topic.role}, {company}"
        out.append(Distractor(
            sender=f"{first.lower()}.{last.lower()}@{domain}", to=f"{topic.list}@{domain}",
            subject=topic.subject, timestamp=moment, body=body,
        ))  # fmt: skip
    return sorted(out, key=lambda d: d.timestamp)


def add_distractors(tree: PackTree, rng: random.Random) -> list[str]:
    """Add distractors to every scenario's inbox (one set per company domain); returns the new files."""
    by_domain: dict[str, list[str]] = {}
    for name, spec in tree.scenarios():
        by_domain.setdefault(spec["domain"], []).append(name)
    used_text = "\n".join(tree.all_text())
    added = []
    for domain, scenarios in sorted(by_domain.items()):
        spec = tree.yaml_files[tree.scenario_files[scenarios[0]]]
        times = [tree.emails[e["file"]].timestamp for n in scenarios for e in tree.yaml_files[tree.scenario_files[n]]["emails"]]
        drawn = draw_distractors(rng, spec["company_short"], domain, times, tree.session_start, used_text)
        for distractor in drawn:
            used_text += f"\n{distractor.sender} {distractor.body}"
            rel = _free_name(tree, f"emails/distractors/{re.sub(r'[^a-z0-9]+', '-', domain.lower()).strip('-')}")
            header = {"from": distractor.sender, "to": distractor.to, "subject": distractor.subject, "timestamp": distractor.timestamp}
            tree.add_email(rel, EmailFile(header=header, body=distractor.body + "\n"), scenarios)
            added.append(rel)
    return added


def _free_name(tree: PackTree, stem: str) -> str:
    taken = set(tree.emails) | set(tree.yaml_files) | set(tree.templates) | set(tree.texts)
    return next(f"{stem}-{i}.md" for i in range(1, len(taken) + 2) if f"{stem}-{i}.md" not in taken)
