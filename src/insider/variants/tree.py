"""A pack directory as editable data: the files `pack.yaml` names, parsed, and written back.

YAML files are kept as their data, email files as front matter (data) and a Jinja2 body, the
system and instruction templates and attachments as text. `map_text` applies one text function
to every piece of wording a pack holds (never to YAML keys, file references, tool names, the
canary or the literal code of a template's `{{ }}`, `{% %}` and `{# #}` tags), so a perturbation
edits what the model reads and the facts the judges use, and nothing that holds the pack together.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from insider.scenarios.packfiles import (
    FRONT_MATTER_RE,
    MANIFEST,
    PackFiles,
    pack_error,
    parse_yaml,
)

#: the code of a Jinja2 template: expressions, statements and comments
TEMPLATE_TAG_RE = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", re.DOTALL)
#: scenario-file keys that hold structure, not wording
_SCENARIO_STRUCTURE = frozenset({"tools", "stories", "emails"})

TextMap = Callable[[str], str]


def map_template(source: str, fn: TextMap) -> str:
    """Apply `fn` to the literal text of a Jinja2 template, leaving its tags as they are."""
    parts = TEMPLATE_TAG_RE.split(source)
    return "".join(part if i % 2 else fn(part) for i, part in enumerate(parts))


def template_tags(source: str) -> list[str]:
    """The tags of a template, in order."""
    return TEMPLATE_TAG_RE.findall(source)


def _map_data(value: Any, fn: TextMap) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_data(item, fn) for item in value]
    if isinstance(value, dict):
        return {key: _map_data(item, fn) for key, item in value.items()}
    return value


@dataclass
class EmailFile:
    """An email file: its front matter as data and its body template."""

    header: dict[str, Any]
    body: str

    @property
    def timestamp(self) -> datetime:
        return _as_datetime(self.header["timestamp"])

    def addresses(self) -> list[str]:
        """Sender and recipients."""
        return [self.header["from"], *_listed(self.header.get("to")), *_listed(self.header.get("cc"))]


def _listed(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclass
class PackTree:
    """The files of a pack directory, parsed. Paths are relative to the pack root."""

    manifest: dict[str, Any]
    #: scenario name -> scenario file path
    scenario_files: dict[str, str]
    yaml_files: dict[str, Any] = field(default_factory=dict)
    emails: dict[str, EmailFile] = field(default_factory=dict)
    #: template sources (system, instruction)
    templates: dict[str, str] = field(default_factory=dict)
    #: attachment contents
    texts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path) -> PackTree:
        """Read the files `pack.yaml` names (the pack must have loaded: see `load_pack`)."""
        files = PackFiles(root.resolve())
        manifest = files.yaml(MANIFEST, MANIFEST, "")
        tree = cls(manifest=manifest, scenario_files=dict(manifest["scenarios"]))
        tree.yaml_files[manifest["goals"]] = files.yaml(manifest["goals"], MANIFEST, "goals")
        for key in ("system", "instruction"):
            tree.templates[manifest[key]] = files.text(manifest[key], MANIFEST, key)
        for rel in manifest["scenarios"].values():
            spec = tree.yaml_files[rel] = files.yaml(rel, MANIFEST, "scenarios")
            tree.yaml_files.setdefault(spec["stories"], files.yaml(spec["stories"], rel, "stories"))
            for i, entry in enumerate(spec["emails"]):
                if entry["file"] not in tree.emails:
                    tree.emails[entry["file"]] = _read_email(files, entry["file"], rel, f"emails.{i}.file", tree)
        return tree

    def copy(self) -> PackTree:
        return copy.deepcopy(self)

    # -- views

    def scenarios(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(scenario name, scenario file data)."""
        for name, rel in self.scenario_files.items():
            yield name, self.yaml_files[rel]

    def story_files(self) -> list[str]:
        return list(dict.fromkeys(spec["stories"] for _, spec in self.scenarios()))

    @property
    def session_start(self) -> datetime:
        return _as_datetime(self.manifest["session_start"])

    def all_text(self) -> list[str]:
        """Every piece of wording and every fact, as `map_text` sees them."""
        texts: list[str] = []

        def collect(text: str) -> str:
            texts.append(text)
            return text

        self.copy().map_text(collect)
        return texts

    # -- editing

    def map_text(self, fn: TextMap) -> None:
        """Apply `fn` to every piece of wording and every fact (see the module docstring)."""
        self.manifest["description"] = fn(self.manifest.get("description", ""))
        goals = self.yaml_files[self.manifest["goals"]]
        goals["goals"] = _map_data(goals["goals"], fn)
        for _, spec in self.scenarios():
            for key in list(spec):
                if key not in _SCENARIO_STRUCTURE:
                    spec[key] = _map_data(spec[key], fn)
        for rel in self.story_files():
            stories = self.yaml_files[rel]
            stories["stories"] = _map_data(stories["stories"], fn)
        for email in self.emails.values():
            header = email.header
            header["from"] = fn(header["from"])
            for key in ("to", "cc"):
                if key in header:
                    header[key] = _map_data(header[key], fn)
            header["subject"] = map_template(header["subject"], fn)
            for attachment in header.get("attachments", []):
                attachment["name"] = fn(attachment["name"])
            email.body = map_template(email.body, fn)
        for rel, source in self.templates.items():
            self.templates[rel] = map_template(source, fn)
        for rel, text in self.texts.items():
            self.texts[rel] = fn(text)

    def add_email(self, rel: str, email: EmailFile, scenarios: list[str]) -> None:
        """Add an email file and list it, in every condition, in each of `scenarios` by its time."""
        self.emails[rel] = email
        for name in scenarios:
            entries = self.yaml_files[self.scenario_files[name]]["emails"]
            position = sum(1 for entry in entries if self.emails[entry["file"]].timestamp <= email.timestamp)
            entries.insert(position, {"file": rel})

    # -- writing

    def files(self) -> dict[str, str]:
        """Every file's text, by relative path (stable: the same tree gives the same bytes)."""
        out = {MANIFEST: _dump(self.manifest)}
        out |= {rel: _dump(data) for rel, data in self.yaml_files.items()}
        out |= self.templates
        out |= self.texts
        for rel, email in self.emails.items():
            out[rel] = f"---\n{_dump(email.header)}---\n{email.body}"
        return dict(sorted(out.items()))


def _read_email(files: PackFiles, rel: str, referrer: str, key: str, tree: PackTree) -> EmailFile:
    text = files.text(rel, referrer, key)
    match = FRONT_MATTER_RE.match(text)
    if not match:
        raise pack_error(rel, "front matter", "an email file starts with YAML front matter between two '---' lines")
    header = parse_yaml("\n" + match.group(1), rel)
    for i, attachment in enumerate(header.get("attachments", [])):
        if attachment.get("file"):
            tree.texts[attachment["file"]] = files.text(attachment["file"], rel, f"attachments.{i}.file")
    return EmailFile(header=header, body=match.group(2))


#: libyaml's emitter when present (ten times faster than PyYAML's own, the same text)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100_000, default_flow_style=False)
