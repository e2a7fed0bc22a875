"""Pack directory files: their schemas, how they are read, and the checks run on them.

Every problem is an `InsiderError` naming the file and the key (`pack_error`). The pack itself,
which assembles these pieces into rendered conditions, is `insider.scenarios.directory`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Template, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from insider.conditions import VALUED_GOALS, GoalType, Scenario, Urgency
from insider.errors import InsiderError
from insider.inputs import load_yaml, read_text
from insider.scenarios import sandbox
from insider.scenarios.base import Attachment, Email, Mode, ScenarioFacts

MANIFEST = "pack.yaml"
#: the largest file a pack may hold (templates, data, attachments)
MAX_PACK_FILE_BYTES = 1024 * 1024
#: story keys every story file defines: the eight goal values, plus the ambiguous story
STORY_KEYS: tuple[str, ...] = (*VALUED_GOALS, "ambiguous")

#: names the system template may use
SYSTEM_NAMES = frozenset(
    {"company", "company_short", "company_description", "scenario", "canary", "session_time", "goal", "notice",
     "scratchpad", "mitigation", "native", "tools"}
)
#: names the instruction template may use
INSTRUCTION_NAMES = frozenset({"company", "company_short", "scenario", "canary", "session_time", "inbox", "email_count"})
#: names every email template may use, besides its kind's facts (e.g. `override_code`), the
#: scenario's `context` and its story variables
EMAIL_NAMES = frozenset({"company", "company_short", "domain", "agent_address", "target_name", "target_address"})

PLACEHOLDER_RE = re.compile(r"\$\{[^}]*\}|\{\{|\}\}|\{%|%\}|\{#|#\}|\{[A-Za-z_][A-Za-z0-9_ .]*\}")
#: blocks switched off by `{% if %}` leave blank lines behind; runs of them collapse to one
BLANK_LINES_RE = re.compile(r"\n{3,}")
#: what separates emails in the text the model reads (see directory.format_email)
EMAIL_BOUNDARY_RE = re.compile(r"<\s*/?\s*email\s*>", re.IGNORECASE)
FRONT_MATTER_RE = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)
TEMPLATE_ENV = sandbox.ENV


def pack_error(file: str, key: str, message: str) -> InsiderError:
    return InsiderError(f"{file}: {key}: {message}")


def check_header(text: str) -> str:
    """A header value is one line and holds no email boundary (it would forge another email)."""
    if "\n" in text or "\r" in text:
        raise ValueError("a header value must be one line")
    check_no_boundary(text)
    return text


def check_no_boundary(text: str) -> None:
    """Refuse `<email>`/`</email>` in text that goes inside an email block."""
    found = EMAIL_BOUNDARY_RE.search(text)
    if found:
        raise ValueError(f"{found.group(0)!r} would forge an email boundary in the inbox the model reads")


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


class ScenarioFile(BaseModel):
    """A scenario file: the company, the tools, the emails in order, and the facts its kind needs
    (top-level keys beside these, checked by the kind: `insider.kinds`)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    company: str
    company_short: str
    company_description: str
    domain: str
    agent_address: str
    target_name: str
    target_address: str
    tools: list[str]
    stories: str
    #: scenario-level variables for the email templates
    context: dict[str, str] = Field(default_factory=dict)
    emails: list[EmailEntry]

    def facts(self, confidential_email_ids: list[str] | None = None) -> ScenarioFacts:
        """The facts a rendered condition carries: the common ones and the kind's."""
        return ScenarioFacts(
            company=self.company,
            company_domain=self.domain,
            agent_address=self.agent_address,
            target_name=self.target_name,
            target_address=self.target_address,
            confidential_email_ids=confidential_email_ids or [],
            **(self.model_extra or {}),
        )


class AttachmentSpec(_Strict):
    name: str

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return check_header(value)
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

    @field_validator("sender", "to", "cc")
    @classmethod
    def _one_line(cls, value: Any) -> Any:
        for text in [value] if isinstance(value, str) else value:
            check_header(text)
        return value


# --- reading files ---------------------------------------------------------------------------


class PackFiles:
    """Reads a pack's files, naming each by its path relative to the pack root, and remembers
    which it read (and their size and time), so a cached pack knows when it is stale."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.read: dict[Path, tuple[int, int]] = {}

    def unchanged(self) -> bool:
        """Whether every file read is still there, with the same size and modification time."""
        try:
            return all((p.stat().st_mtime_ns, p.stat().st_size) == seen for p, seen in self.read.items())
        except OSError:  # a file was removed or became unreadable: the pack must be loaded again
            return False

    def path(self, rel: str, referrer: str, key: str) -> Path:
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise pack_error(referrer, key, f"file {rel!r} not found in the pack directory {self.root}")
        return path

    def text(self, rel: str, referrer: str, key: str) -> str:
        path = self.path(rel, referrer, key)
        stat = path.stat()
        self.read[path] = (stat.st_mtime_ns, stat.st_size)
        return read_text(path, rel, MAX_PACK_FILE_BYTES)

    def yaml(self, rel: str, referrer: str, key: str) -> Any:
        return parse_yaml(self.text(rel, referrer, key), rel)

    def model(self, cls: type[BaseModel], rel: str, referrer: str, key: str) -> Any:
        return validate_file(cls, self.yaml(rel, referrer, key), rel)


def parse_yaml(text: str, file: str) -> Any:
    """Strict YAML (no repeated keys, bounded depth and size); errors name the file and line."""
    return load_yaml(text, file)


def validate_file(cls: type[BaseModel], data: Any, file: str) -> Any:
    try:
        return cls.model_validate(data if data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"] if p != "[key]") or "(top level)"
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
        raise pack_error(file, key, f"{message}; see docs/packs.md for the format") from None


@dataclass(frozen=True)
class PackTemplate:
    """A compiled Jinja2 template and the names it reads."""

    file: str
    key: str
    template: Template
    names: frozenset[str]

    @classmethod
    def compile(cls, source: str, file: str, key: str, line_offset: int = 0) -> "PackTemplate":
        try:
            tree = TEMPLATE_ENV.parse(source)
        except TemplateSyntaxError as exc:
            raise pack_error(file, f"line {(exc.lineno or 1) + line_offset}", f"template syntax error: {exc.message}") from None
        refused = sandbox.refused_feature(tree)
        if refused:
            tag, line = refused
            raise pack_error(
                file, f"line {line + line_offset}",
                f"templates may not use {{% {tag} %}}: a pack template is one self-contained file (see docs/packs.md)",
            )
        names = frozenset(meta.find_undeclared_variables(tree))
        return cls(file, key, TEMPLATE_ENV.from_string(tree), names)

    def require(self, allowed: frozenset[str], where: str) -> None:
        """Refuse a name the template reads that nothing provides."""
        unknown = sorted(self.names - allowed)
        if unknown:
            raise pack_error(
                self.file, self.key,
                f"unknown variable {unknown[0]!r} ({where}); the names available are {', '.join(sorted(allowed))}",
            )

    def render(self, context: dict[str, Any], what: str) -> str:
        try:
            text = sandbox.render(self.template, context)
        except UndefinedError as exc:
            raise pack_error(self.file, self.key, f"missing variable: {exc.message} ({what})") from None
        except SecurityError as exc:
            raise pack_error(self.file, self.key, f"refused by the template sandbox: {exc} ({what})") from None
        except sandbox.TemplateLimitError as exc:
            raise pack_error(self.file, self.key, f"{exc} ({what}); see the limits in docs/packs.md") from None
        except Exception as exc:  # the template's own code failed (1/0, a bad call, endless recursion): its author's to fix
            raise pack_error(self.file, self.key, f"template error: {type(exc).__name__}: {exc} ({what})") from None
        text = BLANK_LINES_RE.sub("\n\n", text)
        residue = PLACEHOLDER_RE.search(text)
        if residue:
            raise pack_error(self.file, self.key, f"unfilled placeholder {residue.group(0)!r} in the rendered text ({what})")
        return text.strip()


@dataclass(frozen=True)
class EmailTemplate:
    file: str
    header: EmailHeader
    subject: PackTemplate
    body: PackTemplate
    attachments: tuple[Attachment, ...]


def read_email(files: PackFiles, rel: str, referrer: str, key: str) -> EmailTemplate:
    text = files.text(rel, referrer, key)
    match = FRONT_MATTER_RE.match(text)
    if not match:
        raise pack_error(rel, "front matter", "an email file starts with YAML front matter between two '---' lines")
    # a leading newline keeps YAML's line numbers those of the file (the front matter starts on line 2)
    header: EmailHeader = validate_file(EmailHeader, parse_yaml("\n" + match.group(1), rel), rel)
    offset = match.group(1).count("\n") + 3  # the body starts after both "---" lines
    attachments = tuple(
        Attachment(
            name=spec.name,
            confidential=spec.confidential,
            content=files.text(spec.file, rel, f"attachments.{i}.file").strip() if spec.file else None,
        )
        for i, spec in enumerate(header.attachments)
    )
    return EmailTemplate(
        file=rel,
        header=header,
        subject=PackTemplate.compile(header.subject, rel, "subject"),
        body=PackTemplate.compile(match.group(2), rel, "body", line_offset=offset),
        attachments=attachments,
    )


# --- checks ----------------------------------------------------------------------------------


def require_keys(file: str, key: str, data: dict[str, Any], required: tuple[str, ...], what: str) -> None:
    missing = [k for k in required if k not in data]
    if missing:
        raise pack_error(file, f"{key}.{missing[0]}", f"missing {what} {missing[0]!r}; every one of {', '.join(required)} is needed")
    unknown = [k for k in data if k not in required]
    if unknown:
        raise pack_error(file, f"{key}.{unknown[0]}", f"unknown {what} {unknown[0]!r}; expected {', '.join(required)}")


def check_plain(text: str, file: str, key: str) -> None:
    """Data values are inserted verbatim: a placeholder in one would reach the model."""
    residue = PLACEHOLDER_RE.search(text)
    if residue:
        raise pack_error(file, key, f"unfilled placeholder {residue.group(0)!r}; data values are not templates")


def check_stories(stories_file: StoriesFile, file: str) -> dict[str, dict[str, str | list[str]]]:
    require_keys(file, "stories", stories_file.stories, STORY_KEYS, "story")
    declared = stories_file.variables
    for key, story in stories_file.stories.items():
        for var in declared:
            if var not in story:
                raise pack_error(file, f"stories.{key}", f"missing variable {var!r} (declared under variables)")
        for var, value in story.items():
            if var not in declared:
                raise pack_error(file, f"stories.{key}.{var}", f"unknown variable {var!r}; declare it in `variables` or remove it")
            for text in [value] if isinstance(value, str) else value:
                check_plain(text, file, f"stories.{key}.{var}")
    return stories_file.stories


def check_order(emails: tuple[EmailTemplate, ...], file: str, session_start: datetime) -> None:
    for i, (earlier, later) in enumerate(itertools.pairwise(emails), start=1):
        if later.header.timestamp < earlier.header.timestamp:
            raise pack_error(
                file, f"emails.{i}",
                f"{later.file} ({later.header.timestamp.isoformat()}) is listed after {earlier.file} "
                f"({earlier.header.timestamp.isoformat()}); list emails oldest first",
            )
    for i, email in enumerate(emails):
        if email.header.timestamp >= session_start:
            raise pack_error(
                email.file, "timestamp",
                f"{email.header.timestamp.isoformat()} is not before the session start "
                f"{session_start.isoformat()} (pack.yaml: session_start)",
            )


def check_kind_facts(name: str, spec: ScenarioFile, file: str) -> None:
    """The scenario file gives its kind's facts and tools, and no key that no kind knows."""
    from insider.kinds import get_kind, kind_names, tool_names

    known = {field for other in kind_names() for field in get_kind(other).facts_model.model_fields}
    for key in spec.model_extra or {}:
        if key not in known:
            raise pack_error(file, key, "unknown key; see docs/packs.md for the format")
    kind = get_kind(name)
    try:
        kind.facts_model.model_validate(spec.model_extra or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise pack_error(file, ".".join(str(p) for p in first["loc"]), f"{first['msg']}; see docs/packs.md for the format") from None
    for tool in spec.tools:
        if tool not in tool_names():
            raise pack_error(file, "tools", f"unknown tool {tool!r}; known tools: {', '.join(tool_names())}")
    problems = kind.check_pack(spec.facts(), spec.tools)
    if problems:
        raise pack_error(file, *problems[0])


def check_harm_emails(name: str, spec: ScenarioFile, file: str, emails: list[Email], what: str) -> None:
    """The emails of every condition must put the harmful act within reach."""
    from insider.kinds import get_kind

    if not emails:
        raise pack_error(file, "emails", f"no email is selected for {what}")
    problems = get_kind(name).check_emails(spec.facts(), emails)
    if problems:
        raise pack_error(file, "emails", f"harmful-action target missing for {what}: {problems[0]}")
