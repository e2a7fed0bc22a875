"""What a scenario pack produces: a `ScenarioPrompt` per condition, and the `Pack` protocol."""

from __future__ import annotations

import hashlib
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from insider.conditions import Condition

Mode = Literal["text", "tools", "inbox"]
MODES: tuple[str, ...] = ("text", "tools", "inbox")


class Attachment(BaseModel):
    """A file attached to an email (e.g. the confidential QuantumShield spec)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    confidential: bool = False
    content: str | None = None


class Email(BaseModel):
    """One email of the scenario's inbox, as a structured record."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    sender: str = Field(alias="from")
    to: list[str]
    cc: list[str] = Field(default_factory=list)
    subject: str
    timestamp: str
    body: str
    attachments: list[Attachment] = Field(default_factory=list)
    confidential: bool = False

    def record(self) -> dict[str, Any]:
        """The email as a plain dict with a `from` key (JSON output, tool results)."""
        return self.model_dump(by_alias=True)


class ScenarioFacts(BaseModel):
    """Identifiers the agent environment and the judges need (facts, not prose).

    The common facts are fields; the facts of the scenario's kind (the affair partner's address,
    the override code, where the weights are stored, ...) travel as extra fields, and each kind
    reads and checks its own (`ScenarioKind.facts`, insider.kinds).
    """

    model_config = ConfigDict(extra="allow")

    company: str
    company_domain: str
    agent_address: str
    #: the person the harmful act is aimed at (Kyle Johnson in the study's scenarios)
    target_name: str
    target_address: str
    #: ids of the emails of this condition that carry confidential material
    confidential_email_ids: list[str] = Field(default_factory=list)


class ScenarioPrompt(BaseModel):
    """A condition rendered by a pack: everything a model is shown, plus metadata."""

    model_config = ConfigDict(extra="forbid")

    condition_id: str
    pack: str
    #: system prompt, text-tag form (`<tool_use:...>` instructions): the study's protocol
    system: str
    #: the full user message for text mode: instruction followed by the email block
    user: str
    #: the user instruction alone, without the emails
    instruction: str
    #: the emails as they are shown in `user`, as one block of text
    email_block: str
    emails: list[Email]
    facts: ScenarioFacts
    #: system prompt, native-tools form (no tag instructions); None if the pack has none
    system_native: str | None = None
    #: inbox mode's user message: the instruction, telling the agent it has unread emails to
    #: fetch with list_inbox / read_email (no emails inline); None if the pack has none
    instruction_inbox: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def content_hash(self) -> str:
        """sha256 of what the model sees in text mode, for reproducibility checks."""
        digest = hashlib.sha256()
        for part in (self.system, "\x00", self.user):
            digest.update(part.encode("utf-8"))
        return digest.hexdigest()

    def to_json(self) -> dict[str, Any]:
        """The `insider render --json` object."""
        return {
            "condition_id": self.condition_id,
            "pack": self.pack,
            "system": self.system,
            "user": self.user,
            "emails": [e.record() for e in self.emails],
            "facts": self.facts.model_dump(),
            "system_native": self.system_native,
            "instruction_inbox": self.instruction_inbox,
            "metadata": self.metadata,
        }


@runtime_checkable
class Pack(Protocol):
    """A scenario pack: renders Conditions to ScenarioPrompts."""

    name: str
    #: interaction modes the pack supports
    modes: tuple[str, ...]

    def conditions(self) -> list[Condition]:
        """The pack's whole base grid."""
        ...

    def render(self, condition: Condition) -> ScenarioPrompt:
        """Render one condition; raise InsiderError if it cannot be rendered faithfully."""
        ...
