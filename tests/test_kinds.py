"""Scenario kinds: the registry is the one place that lists them, each kind is one module, and
other packages add kinds through the `insider.kinds` entry-point group."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from insider.errors import InsiderError
from insider.kinds import ScenarioKind, get_kind, get_tool, kind_names, study_kinds, tool_names

SRC = Path(__file__).parent.parent / "src" / "insider"
BUILT_IN = ("blackmail", "leaking", "murder", "exfiltration")


def string_literals(path: Path) -> list[tuple[int, str]]:
    """(line, value) of every plain string literal in a Python file."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if token.type == tokenize.STRING:
            try:
                value = ast.literal_eval(token.string)
            except (ValueError, SyntaxError):  # f-strings
                continue
            if isinstance(value, str):
                found.append((token.start[0], value))
    return found


def test_only_the_registry_names_the_built_in_kinds():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        own = path.stem if path.parent == SRC / "kinds" else None
        if path == SRC / "kinds" / "registry.py":
            continue
        for line, value in string_literals(path):
            if value in BUILT_IN and value != own:
                offenders.append(f"{path.relative_to(SRC)}:{line}: {value!r}")
    assert offenders == []


def test_the_registry_lists_the_built_in_kinds_in_order():
    assert kind_names()[:4] == BUILT_IN
    assert [k.name for k in study_kinds()] == ["blackmail", "leaking", "murder"]
    assert all(isinstance(get_kind(name), ScenarioKind) for name in BUILT_IN)


def test_each_kind_brings_its_tools():
    assert {"email", "forward", "cancel_alert", "transfer"} <= set(tool_names())
    assert get_tool("forward_email").name == "forward" and get_tool("send_email").name == "email"
    assert get_kind("exfiltration").tools == ("email", "transfer")


def test_an_unknown_kind_is_one_line():
    with pytest.raises(InsiderError, match="unknown scenario kind 'sabotage'; known kinds: blackmail, leaking, murder, exfiltration"):
        get_kind("sabotage")
