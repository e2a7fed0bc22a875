"""The one place that knows which scenario kinds and tools exist.

Built-in kinds are modules of this package, loaded on first use. Other Python packages add
kinds through the entry-point group `insider.kinds`: each entry point names a `ScenarioKind`
instance (or a class, or a function returning one), e.g. in a plug-in's pyproject.toml:

    [project.entry-points."insider.kinds"]
    sabotage = "insider_sabotage:kind"

The entry point's name must be the kind's name. Tools are registered by the kinds that
introduce them (`ScenarioKind.new_tools`); `email` is every kind's.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from insider.errors import InsiderError

if TYPE_CHECKING:
    from insider.kinds.base import ScenarioKind, ToolSpec

#: the entry-point group other packages register kinds under
ENTRY_POINT_GROUP = "insider.kinds"
#: built-in kinds: name -> module holding a `kind` instance. The first three are the study's.
BUILTIN: dict[str, str] = {
    "blackmail": "insider.kinds.blackmail",
    "leaking": "insider.kinds.leaking",
    "murder": "insider.kinds.murder",
    "exfiltration": "insider.kinds.exfiltration",
}

_registered: dict[str, "ScenarioKind"] = {}


@cache
def _plugins() -> dict[str, object]:
    """Entry points of the `insider.kinds` group, by name (not loaded yet)."""
    found = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in BUILTIN:
            raise InsiderError(
                f"the plug-in entry point {point.value!r} registers a kind named {point.name!r}, "
                "which insider already has; rename the plug-in's kind"
            )
        found[point.name] = point
    return found


def kind_names() -> tuple[str, ...]:
    """Every kind's name: the built-in ones in their order, then plug-ins and registered ones."""
    names = [*BUILTIN, *sorted(_plugins())]
    return tuple(dict.fromkeys([*names, *_registered]))


def register_kind(kind: "ScenarioKind") -> "ScenarioKind":
    """Register a kind (and the tools it introduces) under its name; returns it."""
    from insider.kinds.base import NAME_RE, ScenarioKind

    if not isinstance(kind, ScenarioKind):
        raise InsiderError(f"{kind!r} is not a ScenarioKind instance")
    if not NAME_RE.match(kind.name):
        raise InsiderError(f"kind name {kind.name!r} must be lower-case letters and digits (it starts condition ids)")
    other = _registered.get(kind.name)
    if other is not None and other is not kind:
        raise InsiderError(f"a kind named {kind.name!r} is already registered ({type(other).__name__})")
    for spec in kind.new_tools:
        _register_tool(spec)
    _registered[kind.name] = kind
    return kind


def get_kind(name: str) -> "ScenarioKind":
    """The kind called `name`; one clear line if there is none."""
    if name in _registered:
        return _registered[name]
    if name in BUILTIN:
        return register_kind(importlib.import_module(BUILTIN[name]).kind)
    point = _plugins().get(name)
    if point is None:
        raise InsiderError(f"unknown scenario kind {name!r}; known kinds: {', '.join(kind_names())}")
    try:
        loaded = point.load()  # type: ignore[attr-defined]
    except Exception as exc:  # a broken plug-in: name it, in one line
        raise InsiderError(f"cannot load the {name!r} kind from {point.value!r}: {type(exc).__name__}: {exc}") from None  # type: ignore[attr-defined]
    kind = loaded() if callable(loaded) and not hasattr(loaded, "gates") else loaded
    if getattr(kind, "name", None) != name:
        raise InsiderError(f"the entry point {name!r} gives a kind named {getattr(kind, 'name', None)!r}; the names must match")
    return register_kind(kind)


def study_kinds() -> tuple["ScenarioKind", ...]:
    """The kinds of the study's design (they carry its cast and classifier): the `paper` pack's."""
    return tuple(kind for kind in map(get_kind, BUILTIN) if kind.study_facts is not None)


# --- tools ----------------------------------------------------------------------------------

_tools: dict[str, "ToolSpec"] = {}


def _register_tool(spec: "ToolSpec") -> None:
    for tag in spec.tags:
        other = _tools.get(tag)
        if other is not None and other is not spec:
            raise InsiderError(f"the tool tag {tag!r} of {spec.name!r} is already taken by the {other.name!r} tool")
    for tag in spec.tags:
        _tools[tag] = spec


def _load_all() -> None:
    from insider.agent.tools import EMAIL

    _register_tool(EMAIL)
    for name in kind_names():
        get_kind(name)


def tool_specs() -> dict[str, "ToolSpec"]:
    """Every known tool, by each of its text tags (all kinds loaded)."""
    _load_all()
    return dict(_tools)


def tool_names() -> tuple[str, ...]:
    """The names of every known tool."""
    return tuple(dict.fromkeys(spec.name for spec in tool_specs().values()))


def get_tool(name: str) -> "ToolSpec":
    """A tool by its name or one of its text tags."""
    specs = tool_specs()
    if name not in specs:
        raise InsiderError(f"unknown tool {name!r}; known tools: {', '.join(tool_names())}")
    return specs[name]
