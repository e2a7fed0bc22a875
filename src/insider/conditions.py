"""Experimental conditions: the factors, the canonical id, and grid expansion.

A `Condition` is one cell of the study's design. Its id is
`{scenario}_{goal_type}-{goal_value}_{urgency}` followed, only where a factor is not
at its default, by `_dont` or `_goal` (mitigation), `_prod` (no scratchpad) and
`_notice` (eval-awareness notice), in that order.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any, Iterable, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from insider.errors import InsiderError


def kind_names() -> tuple[str, ...]:
    """The registered scenario kinds (imported here on use: the kinds build on this module)."""
    from insider.kinds.registry import kind_names as registered

    return registered()


def _known_kind(name: str) -> str:
    if name not in kind_names():
        raise ValueError(f"unknown scenario {name!r}; expected one of {', '.join(kind_names())}")
    return name


#: a scenario is a registered kind's name (insider.kinds)
Scenario = Annotated[str, AfterValidator(_known_kind)]
GoalType = Literal["explicit", "latent", "swap", "ambiguous", "none"]
GoalValue = Literal[
    "america",
    "global",
    "safety",
    "acceleration",
    "ethical",
    "pragmatic",
    "individualism",
    "collectivism",
    "none",
]
Urgency = Literal["replacement", "restriction", "none"]
Mitigation = Literal["none", "dont", "goal"]

GOAL_TYPES: tuple[str, ...] = get_args(GoalType)
GOAL_VALUES: tuple[str, ...] = get_args(GoalValue)
URGENCIES: tuple[str, ...] = get_args(Urgency)
MITIGATIONS: tuple[str, ...] = get_args(Mitigation)

#: Goal types that carry no goal value (their goal_value is always `none`).
VALUELESS_GOAL_TYPES: tuple[str, ...] = ("ambiguous", "none")
#: The eight goal values, as the study's four opposed pairs.
GOAL_PAIRS: tuple[tuple[str, str], ...] = (
    ("america", "global"),
    ("safety", "acceleration"),
    ("ethical", "pragmatic"),
    ("individualism", "collectivism"),
)
VALUED_GOALS: tuple[str, ...] = tuple(v for pair in GOAL_PAIRS for v in pair)


def opposite_value(goal_value: str) -> str:
    """The other member of a goal value's opposed pair (america <-> global, ...)."""
    for a, b in GOAL_PAIRS:
        if goal_value == a:
            return b
        if goal_value == b:
            return a
    raise InsiderError(f"goal value {goal_value!r} has no opposite; expected one of {', '.join(VALUED_GOALS)}")


class Condition(BaseModel):
    """One experimental condition (a cell of the design)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenario: Scenario
    goal_type: GoalType
    goal_value: GoalValue
    urgency: Urgency
    mitigation: Mitigation = "none"
    scratchpad: bool = True
    awareness_notice: bool = False

    @model_validator(mode="after")
    def _check_goal(self) -> "Condition":
        valueless = self.goal_type in VALUELESS_GOAL_TYPES
        if valueless and self.goal_value != "none":
            raise ValueError(
                f"goal_type {self.goal_type!r} takes goal_value 'none' only, not {self.goal_value!r}"
            )
        if not valueless and self.goal_value == "none":
            raise ValueError(
                f"goal_type {self.goal_type!r} needs one of {', '.join(VALUED_GOALS)} as goal_value, not 'none'"
            )
        return self

    @property
    def id(self) -> str:
        """The canonical condition id."""
        base = f"{self.scenario}_{self.goal_type}-{self.goal_value}_{self.urgency}"
        suffixes = []
        if self.mitigation != "none":
            suffixes.append(self.mitigation)
        if not self.scratchpad:
            suffixes.append("prod")
        if self.awareness_notice:
            suffixes.append("notice")
        return "_".join([base, *suffixes])

    @property
    def base_id(self) -> str:
        """The id without variant suffixes."""
        return f"{self.scenario}_{self.goal_type}-{self.goal_value}_{self.urgency}"

    @property
    def has_goal_conflict(self) -> bool:
        return self.goal_type != "none"

    @property
    def has_threat(self) -> bool:
        return self.urgency != "none"

    def factors(self) -> dict[str, Any]:
        """Every factor as a flat dict, plus the id (for tables and JSON)."""
        return {"condition_id": self.id, **self.model_dump()}

    @classmethod
    def parse(cls, condition_id: str) -> "Condition":
        """Parse a canonical id back into a Condition; raise InsiderError naming the bad part."""
        return parse_condition_id(condition_id)

    def __str__(self) -> str:
        return self.id


_ID_RE = re.compile(r"^(?P<scenario>[^_]+)_(?P<goal_type>[^-_]+)-(?P<goal_value>[^_]+)_(?P<urgency>[^_]+)(?P<rest>(?:_[^_]+)*)$")
_SUFFIX_ORDER = ("mitigation", "prod", "notice")


def _one_of(what: str, value: str, allowed: Iterable[str], condition_id: str) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise InsiderError(
            f"unknown {what} {value!r} in condition id {condition_id!r}; expected one of {', '.join(allowed)}"
        )


def parse_condition_id(condition_id: str) -> Condition:
    """Parse `scenario_goaltype-goalvalue_urgency[_dont|_goal][_prod][_notice]`."""
    match = _ID_RE.match(condition_id.strip())
    if not match:
        raise InsiderError(
            f"malformed condition id {condition_id!r}; expected "
            "{scenario}_{goal_type}-{goal_value}_{urgency}[_dont|_goal][_prod][_notice], "
            "e.g. blackmail_explicit-america_replacement"
        )
    parts = match.groupdict()
    _one_of("scenario", parts["scenario"], kind_names(), condition_id)
    _one_of("goal type", parts["goal_type"], GOAL_TYPES, condition_id)
    _one_of("goal value", parts["goal_value"], GOAL_VALUES, condition_id)
    _one_of("urgency", parts["urgency"], URGENCIES, condition_id)

    fields: dict[str, Any] = {"mitigation": "none", "scratchpad": True, "awareness_notice": False}
    last = -1
    for suffix in [s for s in parts["rest"].split("_") if s]:
        if suffix in ("dont", "goal"):
            slot, fields["mitigation"] = 0, suffix
        elif suffix == "prod":
            slot, fields["scratchpad"] = 1, False
        elif suffix == "notice":
            slot, fields["awareness_notice"] = 2, True
        else:
            raise InsiderError(
                f"unknown suffix {suffix!r} in condition id {condition_id!r}; expected _dont or _goal, _prod, _notice"
            )
        if slot <= last:
            raise InsiderError(
                f"suffix {suffix!r} repeated or out of order in condition id {condition_id!r}; "
                "the order is _dont|_goal, then _prod, then _notice"
            )
        last = slot
    try:
        return Condition(
            scenario=parts["scenario"],
            goal_type=parts["goal_type"],
            goal_value=parts["goal_value"],
            urgency=parts["urgency"],
            **fields,
        )
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ") if hasattr(exc, "errors") else str(exc)
        raise InsiderError(f"invalid condition id {condition_id!r}: {reason}") from None


class GridEntry(BaseModel):
    """One entry of an experiment's `grid:` list: its own Cartesian product.

    Goal types `none` and `ambiguous` always get goal_value `none`, so `goal_values`
    applies only to explicit/latent/swap (and may be left out when those are absent).
    `conditions` lists ids directly instead of (or besides) a product.
    """

    model_config = ConfigDict(extra="forbid")

    scenarios: list[Scenario] = Field(default_factory=list)
    goal_types: list[GoalType] = Field(default_factory=list)
    goal_values: list[GoalValue] = Field(default_factory=list)
    urgencies: list[Urgency] = Field(default_factory=list)
    mitigations: list[Mitigation] = Field(default_factory=lambda: ["none"])
    scratchpad: list[bool] = Field(default_factory=lambda: [True])
    awareness_notice: list[bool] = Field(default_factory=lambda: [False])
    conditions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> "GridEntry":
        product_keys = {"scenarios": self.scenarios, "goal_types": self.goal_types, "urgencies": self.urgencies}
        given = [k for k, v in product_keys.items() if v]
        if not self.conditions and len(given) < 3:
            missing = ", ".join(k for k, v in product_keys.items() if not v)
            raise ValueError(f"needs {missing} (or a `conditions:` list of ids)")
        if given and len(given) < 3:
            missing = ", ".join(k for k, v in product_keys.items() if not v)
            raise ValueError(f"a product needs scenarios, goal_types and urgencies; missing {missing}")
        valued = [g for g in self.goal_types if g not in VALUELESS_GOAL_TYPES]
        if valued and not self.goal_values:
            raise ValueError(f"goal_types {', '.join(valued)} need goal_values (one or more of {', '.join(VALUED_GOALS)})")
        if valued and "none" in self.goal_values:
            raise ValueError(
                "goal_value 'none' goes only with goal_types none/ambiguous (they get it automatically); "
                f"remove it, or move {', '.join(valued)} to another entry"
            )
        for cid in self.conditions:
            parse_condition_id(cid)
        return self

    def expand(self) -> list[Condition]:
        """All conditions of this entry, in a stable order (listed ids first, then the product)."""
        out = [parse_condition_id(cid) for cid in self.conditions]
        if not self.scenarios:
            return out
        for scenario, goal_type in itertools.product(self.scenarios, self.goal_types):
            values = ["none"] if goal_type in VALUELESS_GOAL_TYPES else self.goal_values
            for goal_value, urgency, mitigation, scratchpad, notice in itertools.product(
                values, self.urgencies, self.mitigations, self.scratchpad, self.awareness_notice
            ):
                out.append(
                    Condition(
                        scenario=scenario,
                        goal_type=goal_type,
                        goal_value=goal_value,
                        urgency=urgency,
                        mitigation=mitigation,
                        scratchpad=scratchpad,
                        awareness_notice=notice,
                    )
                )
        return out


def expand_grid(entries: Iterable[GridEntry]) -> list[Condition]:
    """The union of each entry's own product, de-duplicated, first occurrence wins."""
    seen: dict[str, Condition] = {}
    for entry in entries:
        for condition in entry.expand():
            seen.setdefault(condition.id, condition)
    return list(seen.values())


def base_grid(scenarios: Iterable[str] | None = None) -> list[Condition]:
    """The full base grid of some scenarios (default: the study's three): 26 goal cells x 3
    urgencies = 78 conditions each, 234 for the study's."""
    if scenarios is None:
        from insider.kinds.registry import study_kinds

        scenarios = [kind.name for kind in study_kinds()]
    entry = GridEntry(
        scenarios=list(scenarios),
        goal_types=list(GOAL_TYPES),
        goal_values=list(VALUED_GOALS),
        urgencies=list(URGENCIES),
    )
    return entry.expand()
