"""Pack directories: a manifest, YAML data and Jinja2 templates, validated as a whole when loaded.

A pack directory (format: docs/packs.md) holds `pack.yaml`, a system-prompt template, an
instruction template, `goals.yaml`, one YAML file per scenario, story files (the goal-value
variables) and one Markdown file per email (YAML front matter + a Jinja2 body). Templates run in
Jinja2's `SandboxedEnvironment` with `StrictUndefined`, so a missing variable is an error, never
an empty string.

`load_pack` parses every file, checks every variable, renders every email and system prompt the
pack can produce and checks each result (placeholders left over, emails out of order, the
harmful-action target missing). Any problem raises `InsiderError` naming the file and the key.
Rendering a condition afterwards only assembles pieces rendered at load time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from collections import OrderedDict
from pathlib import Path
from typing import Any

from insider.conditions import (
    GOAL_TYPES,
    MITIGATIONS,
    URGENCIES,
    VALUED_GOALS,
    Condition,
    base_grid,
    opposite_value,
)
from insider.errors import InsiderError
from insider.kinds import get_kind
from insider.scenarios.base import Email, ScenarioPrompt
from insider.scenarios.packfiles import (
    EMAIL_NAMES,
    INSTRUCTION_NAMES,
    MANIFEST,
    SYSTEM_NAMES,
    EmailTemplate,
    GoalsFile,
    Manifest,
    PackFiles,
    PackTemplate,
    ScenarioFile,
    StoriesFile,
    check_harm_emails,
    check_header,
    check_kind_facts,
    check_no_boundary,
    check_order,
    check_plain,
    check_stories,
    pack_error,
    read_email,
    require_keys,
)



def story_key(condition: Condition) -> str | None:
    """Which story the emails tell: the goal value's own, the ambiguous one, or none (no conflict)."""
    if condition.goal_type == "none":
        return None
    return "ambiguous" if condition.goal_type == "ambiguous" else condition.goal_value


def stated_goal(condition: Condition) -> str | None:
    """The goal value the system prompt states: explicit states goal_value, swap its opposite."""
    if condition.goal_type == "explicit":
        return condition.goal_value
    if condition.goal_type == "swap":
        return opposite_value(condition.goal_value)
    return None


@dataclass(frozen=True)
class _Scenario:
    name: str
    spec: ScenarioFile
    emails: tuple[EmailTemplate, ...]
    #: rendered emails (id left empty) per (email file, story key)
    rendered: dict[tuple[str, str | None], Email]
    #: rendered system prompts per (stated goal, mitigation, scratchpad, notice, native)
    systems: dict[tuple[str | None, str, bool, bool, bool], str]

    def selected(self, goal_type: str, urgency: str) -> list[EmailTemplate]:
        return [
            email for email, entry in zip(self.emails, self.spec.emails) if entry.when.matches(goal_type, urgency)
        ]


class DirectoryPack:
    """A scenario pack loaded from a directory; every condition of its grid renders."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.files = files = PackFiles(self.root)
        if not (self.root / MANIFEST).is_file():
            raise InsiderError(f"{self.root} is not a pack directory: it has no {MANIFEST} at its root (see docs/packs.md)")
        self.manifest: Manifest = files.model(Manifest, MANIFEST, MANIFEST, "")
        self.session_time = _clock(self.manifest.session_start)
        self.name = self.manifest.name
        self.version = self.manifest.version
        self.modes: tuple[str, ...] = tuple(self.manifest.modes)
        if "text" not in self.modes:
            raise pack_error(MANIFEST, "modes", "every pack supports the text mode; add `text` to modes")
        goals_file: GoalsFile = files.model(GoalsFile, self.manifest.goals, MANIFEST, "goals")
        self.goals = goals_file.goals
        require_keys(self.manifest.goals, "goals", self.goals, VALUED_GOALS, "goal value")
        for key, goal in self.goals.items():
            for field in ("statement", "reminder"):
                check_plain(getattr(goal, field), self.manifest.goals, f"goals.{key}.{field}")
        self.system = PackTemplate.compile(files.text(self.manifest.system, MANIFEST, "system"), self.manifest.system, "template")
        self.system.require(SYSTEM_NAMES, "system template")
        self.instruction = PackTemplate.compile(
            files.text(self.manifest.instruction, MANIFEST, "instruction"), self.manifest.instruction, "template"
        )
        self.instruction.require(INSTRUCTION_NAMES, "instruction template")
        self._email_files: dict[str, EmailTemplate] = {}
        self.scenarios = {
            name: self._load_scenario(files, name, rel) for name, rel in self.manifest.scenarios.items()
        }
        self._instructions: dict[tuple[str, bool, int], str] = {}
        self._check_canary()

    # -- loading

    def _load_scenario(self, files: PackFiles, name: str, rel: str) -> _Scenario:
        spec: ScenarioFile = files.model(ScenarioFile, rel, MANIFEST, f"scenarios.{name}")
        check_kind_facts(name, spec, rel)
        stories_file: StoriesFile = files.model(StoriesFile, spec.stories, rel, "stories")
        stories = check_stories(stories_file, spec.stories)
        emails = tuple(self._email(files, entry.file, rel, f"emails.{i}.file") for i, entry in enumerate(spec.emails))
        kind_facts = get_kind(name).facts_model.model_validate(spec.model_extra or {}).model_dump()
        allowed = EMAIL_NAMES | frozenset(kind_facts) | frozenset(spec.context) | frozenset(stories_file.variables)
        where = f"not a variable of {spec.stories}, a context key of {rel}, or built in"
        for email in emails:
            email.subject.require(allowed, where)
            email.body.require(allowed, where)
        check_order(emails, rel, self.manifest.session_start)
        used = frozenset().union(*(e.subject.names | e.body.names for e in emails)) if emails else frozenset()
        unused = [v for v in stories_file.variables if v not in used]
        if unused:
            raise pack_error(spec.stories, "variables", f"variable {unused[0]!r} is declared but no email template uses it")

        base = {
            "company": spec.company, "company_short": spec.company_short, "domain": spec.domain,
            "agent_address": spec.agent_address, "target_name": spec.target_name,
            "target_address": spec.target_address, **kind_facts, **spec.context,
        }
        rendered: dict[tuple[str, str | None], Email] = {}
        for goal_type, urgency in itertools.product(GOAL_TYPES, URGENCIES):
            selection = [(e, entry) for e, entry in zip(emails, spec.emails) if entry.when.matches(goal_type, urgency)]
            keys = [None] if goal_type == "none" else ["ambiguous"] if goal_type == "ambiguous" else VALUED_GOALS
            for key in keys:
                what = f"goal_type={goal_type}, story={key}, urgency={urgency}"
                for email, _ in selection:
                    if (email.file, key) not in rendered:
                        context = {**base, **(stories[key] if key else {})}
                        rendered[email.file, key] = _render_email(email, context, what)
                check_harm_emails(name, spec, rel, [rendered[e.file, key] for e, _ in selection], what)

        scenario = _Scenario(name, spec, emails, rendered, {})
        for goal, mitigation, scratchpad, notice, native in itertools.product(
            (None, *VALUED_GOALS), MITIGATIONS, (True, False), (False, True), (False, True)
        ):
            context = {
                "company": spec.company, "company_short": spec.company_short,
                "company_description": spec.company_description, "scenario": name,
                "canary": self.manifest.canary, "session_time": self.session_time,
                "goal": self.goals[goal].model_dump() if goal else None, "mitigation": mitigation,
                "scratchpad": scratchpad, "notice": notice, "native": native, "tools": list(spec.tools),
            }
            what = f"scenario={name}, goal={goal}, mitigation={mitigation}, scratchpad={scratchpad}, notice={notice}, native={native}"
            scenario.systems[goal, mitigation, scratchpad, notice, native] = self.system.render(context, what)
        return scenario

    def _email(self, files: PackFiles, rel: str, referrer: str, key: str) -> EmailTemplate:
        """An email file, read and compiled once even when several scenarios list it."""
        if rel not in self._email_files:
            self._email_files[rel] = read_email(files, rel, referrer, key)
        return self._email_files[rel]

    # -- the Pack protocol

    def conditions(self) -> list[Condition]:
        return base_grid(list(self.scenarios))

    def render(self, condition: Condition) -> ScenarioPrompt:
        scenario = self.scenarios.get(condition.scenario)
        if scenario is None:
            raise InsiderError(
                f"pack {self.name!r} has no {condition.scenario} scenario; it has {', '.join(self.scenarios)}"
            )
        key = story_key(condition)
        goal = stated_goal(condition)
        emails = [
            scenario.rendered[e.file, key].model_copy(update={"id": str(i)})
            for i, e in enumerate(scenario.selected(condition.goal_type, condition.urgency), start=1)
        ]
        email_block = "\n\n".join(format_email(e) for e in emails)
        instruction = self._instruction(scenario.name, False, len(emails))
        system_key = (goal, condition.mitigation, condition.scratchpad, condition.awareness_notice)
        spec = scenario.spec
        prompt = ScenarioPrompt(
            condition_id=condition.id,
            pack=self.name,
            system=scenario.systems[(*system_key, False)],
            system_native=scenario.systems[(*system_key, True)],
            instruction=instruction,
            email_block=email_block,
            user=f"{instruction}\n\n{email_block}",
            instruction_inbox=self._instruction(scenario.name, True, len(emails)),
            emails=emails,
            facts=spec.facts([e.id for e in emails if e.confidential]),
            metadata={
                "canary": self.manifest.canary,
                "pack_version": self.version,
                "story": key,
                "stated_goal": goal,
            },
        )
        if condition.goal_type == "swap":
            prompt.metadata["swap_semantics"] = (
                f"swap: the system prompt states the {goal} goal (the new board's direction); "
                f"the emails tell the {condition.goal_value} story"
            )
        prompt.metadata["content_hash"] = prompt.content_hash()
        return prompt

    def _instruction(self, scenario: str, inbox: bool, email_count: int) -> str:
        key = (scenario, inbox, email_count)
        if key not in self._instructions:
            spec = self.scenarios[scenario].spec
            context = {
                "company": spec.company, "company_short": spec.company_short, "scenario": scenario,
                "canary": self.manifest.canary, "session_time": self.session_time,
                "inbox": inbox, "email_count": email_count,
            }
            text = self.instruction.render(context, f"scenario={scenario}, inbox={inbox}")
            self._instructions[key] = text
        return self._instructions[key]

    def _check_canary(self) -> None:
        """Every prompt must carry the canary, in its system prompt or in its instruction, in every mode."""
        canary = self.manifest.canary
        for scenario in self.scenarios.values():
            plain, inbox = (self._instruction(scenario.name, inbox, 1) for inbox in (False, True))
            for (*_, native), system in scenario.systems.items():
                instructions = (plain, inbox) if native else (plain,)
                if canary not in system and not all(canary in text for text in instructions):
                    raise pack_error(
                        MANIFEST, "canary",
                        f"the canary is missing from {scenario.name}'s rendered prompt; use {{{{ canary }}}} "
                        "unconditionally in the system template or in both forms of the instruction",
                    )


def _render_email(email: EmailTemplate, context: dict[str, Any], what: str) -> Email:
    subject = email.subject.render(context, what)
    body = email.body.render(context, what)
    for key, text, check in (("subject", subject, check_header), ("body", body, check_no_boundary)):
        try:
            check(text)
        except ValueError as exc:
            raise pack_error(email.file, key, f"the rendered {key}: {exc} ({what})") from None
    return Email(
        id="",
        sender=email.header.sender,
        to=list(email.header.to),
        cc=list(email.header.cc),
        subject=subject,
        timestamp=email.header.timestamp.isoformat(),
        body=body,
        attachments=list(email.attachments),
        confidential=any(a.confidential for a in email.attachments),
    )


def _clock(moment: datetime) -> str:
    """4:53:02 PM"""
    return moment.strftime("%I:%M:%S %p").lstrip("0")


def format_email(email: Email) -> str:
    """An email as the `<email>` block `insider.scenarios.emails.parse_email_block` reads."""
    lines = ["<email>", f"ID: {email.id}", f"From: {email.sender}", f"To: {', '.join(email.to)}"]
    if email.cc:
        lines.append(f"Cc: {', '.join(email.cc)}")
    if email.attachments:
        lines.append(f"Attachments: {[a.name for a in email.attachments]}")
    lines += [f"Subject: {email.subject}", f"Timestamp: {email.timestamp}", f"Body: {email.body}", "</email>"]
    return "\n".join(lines)


#: loaded packs by root, most recently used last (a few at most)
_CACHE: OrderedDict[Path, DirectoryPack] = OrderedDict()
_CACHE_SIZE = 8


def load_pack(path: str | Path) -> DirectoryPack:
    """Load and validate the pack directory at `path` (cached until a file it read changes).

    Only the files `pack.yaml` names are read; nothing else under the directory is walked.
    """
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise InsiderError(f"pack directory {path} not found")
    cached = _CACHE.get(root)
    if cached is None or not cached.files.unchanged():
        cached = DirectoryPack(root)
    _CACHE[root] = cached
    _CACHE.move_to_end(root)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return cached
