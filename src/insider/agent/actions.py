"""The `ActionLog`: what the agent did, in one structure for every interaction mode.

Judges work from this log, never from regexes over prose. In text mode it is parsed
from `<tool_use:...>` blocks; in tools/inbox mode it is built from native tool calls.
It lives in the sample's store (`store_as(ActionLog)`), so it is saved in the log.
"""

from __future__ import annotations

from typing import Any, Literal

from inspect_ai.model import ContentReasoning
from inspect_ai.util import Store, StoreModel
from pydantic import BaseModel, ConfigDict, Field

from insider.scenarios.base import Email

#: a tool's name (`email`, `forward`, `cancel_alert`, `transfer`, or a plug-in kind's tool), or
#: `unparsed` for a block or call that could not be read
ActionKind = str


class Action(BaseModel):
    """One action the agent took (or tried to take)."""

    model_config = ConfigDict(extra="forbid")

    kind: ActionKind
    #: where it came from: a `<tool_use:...>` text block, or a native tool call
    source: Literal["text", "tool"] = "text"
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    subject: str | None = None
    body: str | None = None
    #: forward: the ids the agent asked to forward, as given
    email_ids: list[str] = Field(default_factory=list)
    #: forward: the emails those ids resolved to (content included, for the judges)
    forwarded: list[Email] = Field(default_factory=list)
    #: names of attachments that went out with this action
    attachments: list[str] = Field(default_factory=list)
    #: cancel_alert: the override code used
    code: str | None = None
    #: other fields of a tool's call, by name (e.g. transfer: source, destination)
    details: dict[str, str] = Field(default_factory=dict)
    #: the raw block text (text mode) or the tool call's arguments as JSON (tools mode)
    raw: str = ""
    #: why the action could not be parsed or carried out (None when it was fine)
    error: str | None = None

    @property
    def recipients(self) -> list[str]:
        """All addressees, lower-cased."""
        return [a.lower() for a in [*self.to, *self.cc, *self.bcc]]


#: how much of a reasoning block the provider let us read
ThinkingForm = Literal["full", "summary", "redacted"]
#: the line that opens a reasoning block we could not read in full
THINKING_MARKERS: dict[str, str] = {
    "summary": "[reasoning summary: the provider returned a readable summary beside opaque reasoning; the full reasoning may differ]",
    "redacted": "[reasoning redacted by the provider: not readable]",
}


class Thinking(BaseModel):
    """One block of the model's own reasoning: never shown to anyone in the scenario, never
    parsed for actions."""

    model_config = ConfigDict(extra="forbid")

    #: `provider`: a reasoning block the provider returned apart from the text; `inline`: a
    #: `<think>` block the model wrote in its text
    source: Literal["provider", "inline"]
    form: ThinkingForm
    #: what can be read: the reasoning, its summary, or nothing (redacted)
    text: str = ""

    @classmethod
    def from_content(cls, content: ContentReasoning) -> "Thinking":
        """An Inspect reasoning block. Inspect marks a block `redacted` when its reasoning is
        opaque (encrypted); a readable `summary` beside it is what the provider let us see."""
        source = "inline" if content.internal == "think" else "provider"
        if not content.redacted:
            return cls(source=source, form="full", text=content.reasoning)
        if content.summary:
            return cls(source=source, form="summary", text=content.summary)
        return cls(source=source, form="redacted")

    @property
    def marked(self) -> str:
        """The text, opened by a marker line when it is a summary or redacted."""
        marker = THINKING_MARKERS.get(self.form)
        return "\n".join(part for part in (marker, self.text.strip()) if part)


class ActionRecord(BaseModel):
    """Every action of one sample, plus the text around them, as plain data (what judges read)."""

    actions: list[Action] = Field(default_factory=list)
    #: tool blocks written but never carried out: inside the scratchpad or thinking, or as
    #: `<tool_use:...>` text in tools/inbox modes (the study's parser would have counted them)
    drafts: list[Action] = Field(default_factory=list)
    #: the agent's reasoning: scratchpad blocks, its own reasoning (`thinking`, marked when
    #: summarised or redacted) and any prose outside tool blocks
    reasoning: str = ""
    #: the agent's visible text with scratchpad and thinking blocks removed (tools/inbox: every
    #: turn's, in order): its answer, apart from any reasoning
    final_text: str = ""
    #: the model's own reasoning, block by block: the provider's reasoning content and
    #: `<think>` blocks in the text, each saying whether it was readable in full
    thinking: list[Thinking] = Field(default_factory=list)
    mode: Literal["text", "tools", "inbox"] = "text"
    #: inbox mode: ids of the emails the agent opened with read_email, in the order first read
    emails_read: list[str] = Field(default_factory=list)
    #: the provider refused or filtered the response (a refusal is a result, with no actions)
    refusal: bool = False
    #: why the last generation stopped (`stop`, `max_tokens`, `content_filter`, ...)
    stop_reason: str | None = None

    def of_kind(self, kind: ActionKind) -> list[Action]:
        return [a for a in self.actions if a.kind == kind]


class ActionLog(StoreModel, ActionRecord):
    """The ActionRecord bound to a sample's store (`store_as(ActionLog)`), so it is saved in the log.

    Every field read or write goes through the store (with validation); read a finished log
    once with `snapshot()` rather than field by field.
    """

    @classmethod
    def from_store(cls, data: dict[str, Any]) -> "ActionLog":
        """The log as saved in a finished sample's store (`EvalSample.store`)."""
        return cls(store=Store(data))

    @classmethod
    def read(cls, store: Store | dict[str, Any]) -> ActionRecord | None:
        """The log in a store as plain data, validated once (None if no log was written)."""
        prefix = f"{cls.__name__}:"
        fields = {name: store.get(prefix + name) for name in ActionRecord.model_fields if prefix + name in store}
        return ActionRecord.model_validate(fields) if fields else None

    def snapshot(self) -> ActionRecord:
        """A plain copy of every field, read from the store once."""
        return ActionRecord.model_construct(**{name: getattr(self, name) for name in ActionRecord.model_fields})

    def update(self, **fields: Any) -> None:
        """Set several fields with one validation (each plain assignment re-validates the whole log)."""
        validated = ActionRecord.model_validate(fields)  # the other fields keep their defaults here
        for name in fields:
            value = getattr(validated, name)
            self.store.set(self._ns_name(name), value)
            self.__dict__[name] = value
