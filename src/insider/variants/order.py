"""The `order` perturbation: emails that do not depend on each other trade places (and times).

Emails sharing a timestamp move together (the pack's alternative versions of one email, e.g.
with and without a goal conflict). Two such groups depend on each other when they share a
thread (the same subject once `Re:`/`Fwd:` is stripped) or a participant (any sender or
recipient address in common), and a group that writes a date or a time of day (in its own
text or through a story or context value it uses) keeps its timestamp. Random swaps of the
timestamps of two movable groups are kept when every dependent pair stays in its order; every
scenario's list is then sorted by the new times, so the inbox stays oldest first.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from datetime import datetime

from insider.variants.dates import TIME_RE
from insider.variants.tree import PackTree, template_tags

_REPLY_RE = re.compile(r"^\s*((re|fwd?|aw)\s*:\s*)+", re.IGNORECASE)
_VARIABLE_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\b")


@dataclass(frozen=True)
class _Group:
    time: datetime
    files: tuple[str, ...]
    threads: frozenset[str]
    people: frozenset[str]
    pinned: bool

    def depends(self, other: _Group) -> bool:
        return bool(self.threads & other.threads or self.people & other.people)


def _timed_variables(tree: PackTree) -> set[str]:
    """Story and context variables whose values write a date or a time."""
    timed: set[str] = set()
    for rel in tree.story_files():
        for story in tree.yaml_files[rel]["stories"].values():
            for key, value in story.items():
                if any(TIME_RE.search(v) for v in ([value] if isinstance(value, str) else value)):
                    timed.add(key)
    for _, spec in tree.scenarios():
        timed |= {key for key, value in spec.get("context", {}).items() if TIME_RE.search(value)}
    return timed


def _groups(tree: PackTree) -> list[_Group]:
    listed = dict.fromkeys(e["file"] for _, spec in tree.scenarios() for e in spec["emails"])
    timed = _timed_variables(tree)
    by_time: dict[datetime, list[str]] = {}
    for rel in listed:
        by_time.setdefault(tree.emails[rel].timestamp, []).append(rel)
    groups = []
    for time, files in sorted(by_time.items()):
        emails = [tree.emails[rel] for rel in files]
        sources = [text for e in emails for text in (e.header["subject"], e.body)]
        used = {name for source in sources for tag in template_tags(source) for name in _VARIABLE_RE.findall(tag)}
        pinned = any(TIME_RE.search(re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", s, flags=re.DOTALL)) for s in sources)
        groups.append(_Group(
            time=time, files=tuple(files),
            threads=frozenset(_REPLY_RE.sub("", e.header["subject"]).strip().lower() for e in emails),
            people=frozenset(a.lower() for e in emails for a in e.addresses()),
            pinned=pinned or bool(used & timed),
        ))  # fmt: skip
    return groups


def reorder(tree: PackTree, rng: random.Random) -> int:
    """Swap the times of independent emails; returns how many email files got a new time."""
    groups = _groups(tree)
    movable = [i for i, g in enumerate(groups) if not g.pinned]
    dependent = [(a, b) for a, b in itertools.combinations(range(len(groups)), 2) if groups[a].depends(groups[b])]
    times = [g.time for g in groups]

    def valid(changed: tuple[int, ...]) -> bool:
        return all(times[a] <= times[b] for a, b in dependent if a in changed or b in changed)

    for _ in range(4 * len(movable)):
        if len(movable) < 2:
            break
        x, y = rng.sample(movable, 2)
        times[x], times[y] = times[y], times[x]
        if not valid((x, y)):
            times[x], times[y] = times[y], times[x]
    moved = 0
    for group, time in zip(groups, times):
        if time != group.time:
            for rel in group.files:
                tree.emails[rel].header["timestamp"] = time
                moved += 1
    for _, spec in tree.scenarios():
        spec["emails"].sort(key=lambda entry: tree.emails[entry["file"]].timestamp)
    return moved
