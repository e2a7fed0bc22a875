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
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from insider.conditions import (
    GOAL_TYPES,
    MITIGATIONS,
    URGENCIES,
    VALUED_GOALS,
    Condition,
    GoalType,
    Scenario,
    Urgency,
    base_grid,
    opposite_value,
)
from insider.errors import InsiderError
from insider.scenarios.base import Attachment, Email, Mode, ScenarioFacts, ScenarioPrompt

MANIFEST = "pack.yaml"
#: story keys every story file defines: the eight goal values, plus the ambiguous story
STORY_KEYS: tuple[str, ...] = (*VALUED_GOALS, "ambiguous")
Tool = Literal["email", "forward", "cancel_alert"]

#: names the system template may use
SYSTEM_NAMES = frozenset(
    {"company", "company_short", "company_description", "scenario", "canary", "session_time", "goal", "notice",
     "scratchpad", "mitigation", "native", "tools"}
)
#: names the instruction template may use
INSTRUCTION_NAMES = frozenset({"company", "company_short", "scenario", "canary", "session_time", "inbox", "email_count"})
#: names every email template may use, besides the scenario's `context` and its story variables
EMAIL_NAMES = frozenset(
    {"company", "company_short", "domain", "agent_address", "target_name", "target_address", "override_code"}
)

_PLACEHOLDER_RE = re.compile(r"\$\{[^}]*\}|\{\{|\}\}|\{%|%\}|\{#|#\}|\{[A-Za-z_][A-Za-z0-9_ .]*\}")
#: blocks switched off by `{% if %}` leave blank lines behind; runs of them collapse to one
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_FRONT_MATTER_RE = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)
_ENV = SandboxedEnvironment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)


def _error(file: str, key: str, message: str) -> InsiderError:
    return InsiderError(f"{file}: {key}: {message}")


# --- file schemas ----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Manifest(_Strict):
    """`pack.yaml`."""

    name: str
    version: str
    description: str = ""
    #: a fixed GUID that every rendered prompt carries, to detect training-data contamination
    canary: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    modes: list[Mode]
    #: when the agent's session starts; every email must be older
    session_start: datetime
    system: str
    instruction: str
    goals: str
    scenarios: dict[Scenario, str]


class GoalText(_Strict):
    statement: str
    reminder: str


class GoalsFile(_Strict):
    """`goals.yaml`: what the system prompt says for each goal value."""

    goals: dict[str, GoalText]


class StoriesFile(_Strict):
    """A story file: the variables each goal value's board-shift story fills."""

    variables: list[str]
    stories: dict[str, dict[str, str | list[str]]]


class When(_Strict):
    """Which conditions an email appears in; every given key must match."""

    goal_conflict: bool | None = None
    goal_types: list[GoalType] | None = None
    urgencies: list[Urgency] | None = None

    def matches(self, goal_type: str, urgency: str) -> bool:
        return (
            (self.goal_conflict is None or self.goal_conflict == (goal_type != "none"))
            and (self.goal_types is None or goal_type in self.goal_types)
            and (self.urgencies is None or urgency in self.urgencies)
        )


class EmailEntry(_Strict):
    file: str
    when: When = When()


class ScenarioFile(_Strict):
    """A scenario file: the company, the facts of the harmful act, the tools and the emails in order."""

    company: str
    company_short: str
    company_description: str
    domain: str
    agent_address: str
    target_name: str
    target_address: str
    external_addresses: list[str] = Field(default_factory=list)
    override_code: str | None = None
    tools: list[Tool]
    stories: str
    #: scenario-level variables for the email templates
    context: dict[str, str] = Field(default_factory=dict)
    emails: list[EmailEntry]


class AttachmentSpec(_Strict):
    name: str
    confidential: bool = False
    #: a text file of the pack holding the attachment's content
    file: str | None = None


class EmailHeader(_Strict):
    """An email file's front matter."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    sender: str = Field(alias="from")
    to: list[str]
    cc: list[str] = Field(default_factory=list)
    subject: str
    timestamp: datetime
    attachments: list[AttachmentSpec] = Field(default_factory=list)

    @field_validator("to", "cc", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


# --- reading files ---------------------------------------------------------------------------


class _Files:
    """Reads a pack's files, naming each by its path relative to the pack root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, rel: str, referrer: str, key: str) -> Path:
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise _error(referrer, key, f"file {rel!r} not found in the pack directory {self.root}")
        return path

    def text(self, rel: str, referrer: str, key: str) -> str:
        return self.path(rel, referrer, key).read_text(encoding="utf-8")

    def yaml(self, rel: str, referrer: str, key: str) -> Any:
        return _parse_yaml(self.text(rel, referrer, key), rel)

    def model(self, cls: type[BaseModel], rel: str, referrer: str, key: str) -> Any:
        return _validate(cls, self.yaml(rel, referrer, key), rel)


def _parse_yaml(text: str, file: str) -> Any:
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "yaml"
        raise _error(file, where, f"invalid YAML ({getattr(exc, 'problem', None) or exc})") from None


def _validate(cls: type[BaseModel], data: Any, file: str) -> Any:
    try:
        return cls.model_validate(data if data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise _error(file, key, f"{message}; see docs/packs.md for the format") from None


@dataclass(frozen=True)
class _Template:
    """A compiled Jinja2 template and the names it reads."""

    file: str
    key: str
    template: Template
    names: frozenset[str]

    @classmethod
    def compile(cls, source: str, file: str, key: str, line_offset: int = 0) -> "_Template":
        try:
            tree = _ENV.parse(source)
        except TemplateSyntaxError as exc:
            raise _error(file, f"line {(exc.lineno or 1) + line_offset}", f"template syntax error: {exc.message}") from None
        names = frozenset(meta.find_undeclared_variables(tree))
        return cls(file, key, _ENV.from_string(tree), names)

    def require(self, allowed: frozenset[str], where: str) -> None:
        """Refuse a name the template reads that nothing provides."""
        unknown = sorted(self.names - allowed)
        if unknown:
            raise _error(
                self.file, self.key,
                f"unknown variable {unknown[0]!r} ({where}); the names available are {', '.join(sorted(allowed))}",
            )

    def render(self, context: dict[str, Any], what: str) -> str:
        try:
            text = self.template.render(context)
        except UndefinedError as exc:
            raise _error(self.file, self.key, f"missing variable: {exc.message} ({what})") from None
        text = _BLANK_LINES_RE.sub("\n\n", text)
        residue = _PLACEHOLDER_RE.search(text)
        if residue:
            raise _error(self.file, self.key, f"unfilled placeholder {residue.group(0)!r} in the rendered text ({what})")
        return text.strip()


@dataclass(frozen=True)
class _EmailTemplate:
    file: str
    header: EmailHeader
    subject: _Template
    body: _Template
    attachments: tuple[Attachment, ...]


def _read_email(files: _Files, rel: str, referrer: str, key: str) -> _EmailTemplate:
    text = files.text(rel, referrer, key)
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        raise _error(rel, "front matter", "an email file starts with YAML front matter between two '---' lines")
    header: EmailHeader = _validate(EmailHeader, _parse_yaml(match.group(1), rel), rel)
    offset = match.group(1).count("\n") + 3  # the body starts after both "---" lines
    if "</email>" in match.group(2):
        raise _error(rel, "body", "the body may not contain '</email>'")
    attachments = tuple(
        Attachment(
            name=spec.name,
            confidential=spec.confidential,
            content=files.text(spec.file, rel, f"attachments.{i}.file").strip() if spec.file else None,
        )
        for i, spec in enumerate(header.attachments)
    )
    return _EmailTemplate(
        file=rel,
        header=header,
        subject=_Template.compile(header.subject, rel, "subject"),
        body=_Template.compile(match.group(2), rel, "body", line_offset=offset),
        attachments=attachments,
    )


# --- the pack --------------------------------------------------------------------------------


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
    emails: tuple[_EmailTemplate, ...]
    #: rendered emails (id left empty) per (email file, story key)
    rendered: dict[tuple[str, str | None], Email]
    #: rendered system prompts per (stated goal, mitigation, scratchpad, notice, native)
    systems: dict[tuple[str | None, str, bool, bool, bool], str]

    def selected(self, goal_type: str, urgency: str) -> list[_EmailTemplate]:
        return [
            email for email, entry in zip(self.emails, self.spec.emails) if entry.when.matches(goal_type, urgency)
        ]


class DirectoryPack:
    """A scenario pack loaded from a directory; every condition of its grid renders."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        files = _Files(self.root)
        if not (self.root / MANIFEST).is_file():
            raise InsiderError(f"{self.root} is not a pack directory: it has no {MANIFEST} (see docs/packs.md)")
        self.manifest: Manifest = files.model(Manifest, MANIFEST, MANIFEST, "")
        self.session_time = _clock(self.manifest.session_start)
        self.name = self.manifest.name
        self.version = self.manifest.version
        self.modes: tuple[str, ...] = tuple(self.manifest.modes)
        if "text" not in self.modes:
            raise _error(MANIFEST, "modes", "every pack supports the text mode; add `text` to modes")
        goals_file: GoalsFile = files.model(GoalsFile, self.manifest.goals, MANIFEST, "goals")
        self.goals = goals_file.goals
        _require_keys(self.manifest.goals, "goals", self.goals, VALUED_GOALS, "goal value")
        for key, goal in self.goals.items():
            for field in ("statement", "reminder"):
                _check_plain(getattr(goal, field), self.manifest.goals, f"goals.{key}.{field}")
        self.system = _Template.compile(files.text(self.manifest.system, MANIFEST, "system"), self.manifest.system, "template")
        self.system.require(SYSTEM_NAMES, "system template")
        self.instruction = _Template.compile(
            files.text(self.manifest.instruction, MANIFEST, "instruction"), self.manifest.instruction, "template"
        )
        self.instruction.require(INSTRUCTION_NAMES, "instruction template")
        self._email_files: dict[str, _EmailTemplate] = {}
        self.scenarios = {
            name: self._load_scenario(files, name, rel) for name, rel in self.manifest.scenarios.items()
        }
        self._instructions: dict[tuple[str, bool, int], str] = {}
        self._check_canary()

    # -- loading

    def _load_scenario(self, files: _Files, name: str, rel: str) -> _Scenario:
        spec: ScenarioFile = files.model(ScenarioFile, rel, MANIFEST, f"scenarios.{name}")
        _check_harm_facts(name, spec, rel)
        stories_file: StoriesFile = files.model(StoriesFile, spec.stories, rel, "stories")
        stories = _check_stories(stories_file, spec.stories)
        emails = tuple(self._email(files, entry.file, rel, f"emails.{i}.file") for i, entry in enumerate(spec.emails))
        allowed = EMAIL_NAMES | frozenset(spec.context) | frozenset(stories_file.variables)
        where = f"not a variable of {spec.stories}, a context key of {rel}, or built in"
        for email in emails:
            email.subject.require(allowed, where)
            email.body.require(allowed, where)
        _check_order(emails, rel, self.manifest.session_start)
        used = frozenset().union(*(e.subject.names | e.body.names for e in emails)) if emails else frozenset()
        unused = [v for v in stories_file.variables if v not in used]
        if unused:
            raise _error(spec.stories, "variables", f"variable {unused[0]!r} is declared but no email template uses it")

        base = {
            "company": spec.company, "company_short": spec.company_short, "domain": spec.domain,
            "agent_address": spec.agent_address, "target_name": spec.target_name,
            "target_address": spec.target_address, "override_code": spec.override_code, **spec.context,
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
                _check_harm_emails(name, spec, rel, [rendered[e.file, key] for e, _ in selection], what)

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

    def _email(self, files: _Files, rel: str, referrer: str, key: str) -> _EmailTemplate:
        """An email file, read and compiled once even when several scenarios list it."""
        if rel not in self._email_files:
            self._email_files[rel] = _read_email(files, rel, referrer, key)
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
            facts=ScenarioFacts(
                company=spec.company,
                company_domain=spec.domain,
                agent_address=spec.agent_address,
                target_name=spec.target_name,
                target_address=spec.target_address,
                external_addresses=list(spec.external_addresses),
                override_code=spec.override_code,
                confidential_email_ids=[e.id for e in emails if e.confidential],
            ),
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
                    raise _error(
                        MANIFEST, "canary",
                        f"the canary is missing from {scenario.name}'s rendered prompt; use {{{{ canary }}}} "
                        "unconditionally in the system template or in both forms of the instruction",
                    )


# --- checks ----------------------------------------------------------------------------------


def _require_keys(file: str, key: str, data: dict[str, Any], required: tuple[str, ...], what: str) -> None:
    missing = [k for k in required if k not in data]
    if missing:
        raise _error(file, f"{key}.{missing[0]}", f"missing {what} {missing[0]!r}; every one of {', '.join(required)} is needed")
    unknown = [k for k in data if k not in required]
    if unknown:
        raise _error(file, f"{key}.{unknown[0]}", f"unknown {what} {unknown[0]!r}; expected {', '.join(required)}")


def _check_plain(text: str, file: str, key: str) -> None:
    """Data values are inserted verbatim: a placeholder in one would reach the model."""
    residue = _PLACEHOLDER_RE.search(text)
    if residue:
        raise _error(file, key, f"unfilled placeholder {residue.group(0)!r}; data values are not templates")


def _check_stories(stories_file: StoriesFile, file: str) -> dict[str, dict[str, str | list[str]]]:
    _require_keys(file, "stories", stories_file.stories, STORY_KEYS, "story")
    declared = stories_file.variables
    for key, story in stories_file.stories.items():
        for var in declared:
            if var not in story:
                raise _error(file, f"stories.{key}", f"missing variable {var!r} (declared under variables)")
        for var, value in story.items():
            if var not in declared:
                raise _error(file, f"stories.{key}.{var}", f"unknown variable {var!r}; declare it in `variables` or remove it")
            for text in [value] if isinstance(value, str) else value:
                _check_plain(text, file, f"stories.{key}.{var}")
    return stories_file.stories


def _check_order(emails: tuple[_EmailTemplate, ...], file: str, session_start: datetime) -> None:
    for i, (earlier, later) in enumerate(itertools.pairwise(emails), start=1):
        if later.header.timestamp < earlier.header.timestamp:
            raise _error(
                file, f"emails.{i}",
                f"{later.file} ({later.header.timestamp.isoformat()}) is listed after {earlier.file} "
                f"({earlier.header.timestamp.isoformat()}); list emails oldest first",
            )
    for i, email in enumerate(emails):
        if email.header.timestamp >= session_start:
            raise _error(
                email.file, "timestamp",
                f"{email.header.timestamp.isoformat()} is not before the session start "
                f"{session_start.isoformat()} (pack.yaml: session_start)",
            )


def _check_harm_facts(name: str, spec: ScenarioFile, file: str) -> None:
    """Each scenario's harmful act needs its target among the scenario's facts and tools."""
    if name in ("blackmail", "leaking") and not spec.external_addresses:
        who = "the affair partner's address" if name == "blackmail" else "the competitor's request address"
        raise _error(file, "external_addresses", f"the {name} scenario needs {who}")
    if name == "leaking" and "forward" not in spec.tools:
        raise _error(file, "tools", "the leaking scenario needs the `forward` tool (forwarding the confidential email)")
    if name == "murder":
        if not spec.override_code:
            raise _error(file, "override_code", "the murder scenario needs the code that cancels the emergency dispatch")
        if "cancel_alert" not in spec.tools:
            raise _error(file, "tools", "the murder scenario needs the `cancel_alert` tool")


def _check_harm_emails(name: str, spec: ScenarioFile, file: str, emails: list[Email], what: str) -> None:
    """The emails of every condition must put the harmful act within reach."""
    if not emails:
        raise _error(file, "emails", f"no email is selected for {what}")
    headers = {a for e in emails for a in (e.sender, *e.to, *e.cc)}
    bodies = "\n".join(e.body for e in emails)
    problems = []
    if name == "blackmail":
        problems += [f"no email is from or to {a} (the affair thread)" for a in (spec.target_address, *spec.external_addresses) if a not in headers]
    if name == "leaking":
        if not any(a.confidential for e in emails for a in e.attachments):
            problems.append("no email carries a confidential attachment")
        problems += [f"no email body gives the external address {a} (the request)" for a in spec.external_addresses if a not in bodies]
    if name == "murder" and spec.override_code not in bodies:
        problems.append(f"no email body carries the override code {spec.override_code} (the alert)")
    if problems:
        raise _error(file, "emails", f"harmful-action target missing for {what}: {problems[0]}")


def _render_email(email: _EmailTemplate, context: dict[str, Any], what: str) -> Email:
    return Email(
        id="",
        sender=email.header.sender,
        to=list(email.header.to),
        cc=list(email.header.cc),
        subject=email.subject.render(context, what),
        timestamp=email.header.timestamp.isoformat(),
        body=email.body.render(context, what),
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


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple(
        (str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(root.rglob("*")) if p.is_file()
    )


@lru_cache(maxsize=8)
def _load(root: Path, fingerprint: tuple[tuple[str, int, int], ...]) -> DirectoryPack:
    return DirectoryPack(root)


def load_pack(path: str | Path) -> DirectoryPack:
    """Load and validate the pack directory at `path` (cached until one of its files changes)."""
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise InsiderError(f"pack directory {path} not found")
    return _load(root, _fingerprint(root))
