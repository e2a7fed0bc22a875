"""What a scenario kind is: one harmful act, with everything specific to it in one object.

A kind carries the facts it needs from a pack (and their checks), the tools that can carry the
act out (text tag and native form), its gates and the policies' rules over them, the question
the `insider` judge prompts ask, the rules judge's verdict and intent patterns, and, for the
study's three acts, the study's classifier and cast. Everything else in insider looks a kind
up by name (`insider.kinds.get_kind`); docs/kinds.md shows how to write one.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from insider.errors import InsiderError
from insider.scenarios.base import Email, ScenarioFacts, ScenarioPrompt

if TYPE_CHECKING:  # kinds are loaded lazily, after the packages they feed; these are annotations only
    from inspect_ai.tool import Tool

    from insider.agent.actions import Action, ActionRecord
    from insider.judges.verdict import JudgeResult

#: a kind's name is a condition id's first part: lower-case letters and digits
NAME_RE = re.compile(r"^[a-z][a-z0-9]*$")


class KindFacts(BaseModel):
    """The facts a kind needs from a pack, beside the common ones (company, domain, agent and
    target addresses). A scenario file gives them as top-level keys. Facts of other kinds are
    ignored here; a key that no kind knows is refused when the pack loads."""

    model_config = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True)
class ToolSpec:
    """One tool of the email client, in both forms, and how a call becomes an ActionLog entry.

    - text form: a `<tool_use:NAME>` block (or one of `aliases`) holding `key: value` lines
      (`keys`; `key_aliases` maps other spellings models use to them); `from_fields` turns the
      parsed fields into an Action;
    - native form: `native(prompt)` builds the Inspect tool for a rendered condition; its calls
      record their own Actions.
    """

    name: str
    keys: tuple[str, ...]
    from_fields: Callable[[Mapping[str, Any], str, Sequence[Email]], Action]
    native: Callable[[ScenarioPrompt], Tool]
    #: the native tool's name as the model sees it
    native_name: str
    aliases: tuple[str, ...] = ()
    key_aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def tags(self) -> tuple[str, ...]:
        """Every text tag that means this tool."""
        return (self.name, *self.aliases)


F = TypeVar("F", bound=KindFacts)


class ScenarioKind(ABC, Generic[F]):
    """A harmful act. Subclass it, set the class attributes, implement the methods, and register
    an instance (`insider.kinds.register_kind`, or the `insider.kinds` entry-point group)."""

    #: the kind's name: a condition id's first part and a pack's scenario key
    name: ClassVar[str]
    #: one line: what the harmful act is
    summary: ClassVar[str]
    #: the facts a pack must give for this kind
    facts_model: ClassVar[type[KindFacts]] = KindFacts
    #: the tools of the act, by name; every kind also has `email`
    tools: ClassVar[tuple[str, ...]] = ("email",)
    #: tools this kind introduces (other kinds may use them by name too)
    new_tools: ClassVar[tuple[ToolSpec, ...]] = ()
    #: facts a pack must give (non-empty), with the message when one is missing
    required_facts: ClassVar[Mapping[str, str]] = {}
    #: the gate the strict policy needs: the harmful act happened
    strict_gate: ClassVar[str]
    #: the inspect_evals classifier class for the `study` prompt set (the study's three acts only)
    study_classifier: ClassVar[str | None] = None
    #: the study's own cast, for the `paper` pack (the study's three acts only)
    study_facts: ClassVar[ScenarioFacts | None] = None

    def facts(self, facts: ScenarioFacts) -> F:
        """This kind's facts from a sample's facts (pack facts travel as extra fields)."""
        try:
            return self.facts_model.model_validate(dict(facts.model_extra or {}))  # type: ignore[return-value]
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InsiderError(f"the {self.name} scenario's facts: {where}: {first['msg']}") from None

    def check_pack(self, facts: ScenarioFacts, tools: Sequence[str]) -> list[tuple[str, str]]:
        """Problems with a scenario file's facts and tools, as (key, message); empty when the act
        is possible. By default: the required facts, then the tools."""
        own = self.facts(facts)
        problems = [(key, message) for key, message in self.required_facts.items() if not getattr(own, key)]
        missing = [tool for tool in self.tools if tool not in tools]
        return problems + [("tools", f"the {self.name} scenario needs the `{tool}` tool") for tool in missing]

    def check_emails(self, facts: ScenarioFacts, emails: Sequence[Email]) -> list[str]:
        """Problems with one condition's emails: the act must be within the agent's reach."""
        return []

    @abstractmethod
    def gates(self, log: ActionRecord, facts: ScenarioFacts, emails: Sequence[Email], response: str) -> dict[str, bool]:
        """This kind's own gates (besides the common ones: contacted_target, external_share,
        authority_share), the paper policy's string tests among them."""

    @abstractmethod
    def paper_gate(self, gates: Mapping[str, bool]) -> bool:
        """The paper policy's precondition (the study's string tests, or this kind's analogue)."""

    @abstractmethod
    def criteria(self, facts: ScenarioFacts) -> str:
        """The question the `insider` prompt set asks the judge, with its yes and no criteria."""

    @abstractmethod
    def rules_verdict(self, log: ActionRecord, facts: ScenarioFacts, gates: Mapping[str, bool]) -> JudgeResult:
        """The offline rules judge's harmful yes/no, with its reasons."""

    @abstractmethod
    def intent_pattern(self, facts: ScenarioFacts) -> re.Pattern[str]:
        """A sentence of the agent's reasoning that names carrying out the act (the rules
        judge's intent test adds the plan and negation checks)."""

    def strict(self, gates: Mapping[str, bool]) -> bool:
        """The strict policy's precondition: the harmful act happened."""
        return gates[self.strict_gate]
