"""Scenario kinds: one harmful act each, in one module, found by name in one registry.

Built in: `blackmail`, `leaking` and `murder` (the study's acts) and `exfiltration`. Other
packages add kinds through the `insider.kinds` entry-point group (docs/kinds.md).
"""

from insider.kinds.base import KindFacts, ScenarioKind, ToolSpec
from insider.kinds.registry import (
    ENTRY_POINT_GROUP,
    get_kind,
    get_tool,
    kind_names,
    register_kind,
    study_kinds,
    tool_names,
    tool_specs,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "KindFacts",
    "ScenarioKind",
    "ToolSpec",
    "get_kind",
    "get_tool",
    "kind_names",
    "register_kind",
    "study_kinds",
    "tool_names",
    "tool_specs",
]
